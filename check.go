package openrunner

// The checks every store makes of a new configuration before it writes
// anything, whatever its database.

// CheckSizes fills in c's default sizes and checks its bounds; maxSize is
// the quota of instances per service.
func (c *AutoScalingConfiguration) CheckSizes(maxSize int) error {
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.MinSize == 0 {
		c.MinSize = DefaultMinSize
	}
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxSize
	}
	switch {
	case c.MaxConcurrency < 1 || c.MaxConcurrency > MaxMaxConcurrency:
		return Errorf(EINVALID, "MaxConcurrency must be from 1 to %d; it is %d.", MaxMaxConcurrency, c.MaxConcurrency)
	case c.MinSize < 1 || c.MinSize > MaxMinSize:
		return Errorf(EINVALID, "MinSize must be from 1 to %d; it is %d.", MaxMinSize, c.MinSize)
	case c.MaxSize < 1 || c.MaxSize > maxSize:
		return Errorf(EINVALID, "MaxSize must be from 1 to %d (the quota of instances per service); it is %d.", maxSize, c.MaxSize)
	case c.MaxSize < c.MinSize:
		return Errorf(EINVALID, "MaxSize (%d) must be greater than or equal to MinSize (%d).", c.MaxSize, c.MinSize)
	}
	return nil
}

// CheckNew checks the name and trace vendor of an observability
// configuration about to be created.
func (c *ObservabilityConfiguration) CheckNew() error {
	switch {
	case c.Name == ReservedObservabilityName:
		return Errorf(EINVALID,
			"The observability configuration name %s is reserved by App Runner. Choose another name.", c.Name)
	case c.TraceVendor != "" && c.TraceVendor != TraceVendorXRay:
		return Errorf(EINVALID,
			"TraceConfiguration.Vendor must be %s; it is '%s'.", TraceVendorXRay, Truncate(c.TraceVendor, 64))
	}
	return nil
}
