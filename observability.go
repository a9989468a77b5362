package openrunner

import (
	"context"
	"strconv"
	"time"
)

// Observability configuration statuses: UPPERCASE on the wire, as the
// model says (unlike auto scaling configurations').
const (
	ObservabilityActive   = "ACTIVE"
	ObservabilityInactive = "INACTIVE"
)

// TraceVendorXRay is the only TraceConfiguration.Vendor App Runner knows.
// OpenRunner exports such traces over OTLP (see package tracing).
const TraceVendorXRay = "AWSXRAY"

// ReservedObservabilityName is the name no caller may create: App Runner
// keeps it for its own default.
const ReservedObservabilityName = "DefaultConfiguration"

// App Runner's default observability configuration quotas per account and
// Region.
const (
	// DefaultMaxObservabilityNames is how many names may have active
	// revisions.
	DefaultMaxObservabilityNames = 10
	// DefaultMaxObservabilityRevisions is how many active revisions one
	// name may have (not adjustable in App Runner).
	DefaultMaxObservabilityRevisions = 10
)

// ObservabilityConfiguration is one revision of an App Runner observability
// configuration. Revisions are immutable and numbered as auto scaling
// configurations' are.
type ObservabilityConfiguration struct {
	Scope    Scope
	Name     string
	Revision int
	ID       string // 32 lowercase hex digits
	// Latest is true only on the highest active revision of the name.
	Latest bool
	Status string // ObservabilityActive or ObservabilityInactive

	// TraceVendor is TraceConfiguration.Vendor; "" when the configuration
	// has no TraceConfiguration (tracing off).
	TraceVendor string

	CreatedAt time.Time
	DeletedAt time.Time // zero while active

	// Seq orders revisions by creation; the store assigns it.
	Seq int64
}

// ARN returns arn:aws:apprunner:<region>:<account>:observabilityconfiguration/<name>/<revision>/<id>.
func (c *ObservabilityConfiguration) ARN() string {
	return NewARN(c.Scope, ResourceObservabilityConfig, c.Name, strconv.Itoa(c.Revision), c.ID)
}

// ObservabilityConfigurationFilter selects active revisions for
// FindObservabilityConfigurations.
type ObservabilityConfigurationFilter struct {
	Name       *string // exact name
	LatestOnly bool    // only each name's latest revision

	After int64 // continue after this Seq; 0 starts at the beginning
	Limit int   // 0: all
}

// ObservabilityConfigurationPage is one page of FindObservabilityConfigurations.
type ObservabilityConfigurationPage struct {
	Configurations []*ObservabilityConfiguration
	Next           int64 // 0 when there are no more
}

// ObservabilityConfigurationService stores observability configurations.
// All methods act in the Scope of ctx; every method is one transaction.
// ARNs may be full revision ARNs, …/<name>/<revision> or …/<name> (the
// latest active revision).
//
// A service uses a revision when its configuration, or the desired
// configuration of its unfinished operation, names the revision's full ARN
// with observability enabled (ServiceConfig.Observability); stores that
// also implement ServiceService check that the revision is active when a
// service starts to use it.
type ObservabilityConfigurationService interface {
	// CreateObservabilityConfiguration stores a new revision of c.Name with
	// c's TraceVendor, and its tags. The store sets ID, Revision (the
	// name's highest active revision plus 1), Status ACTIVE, Latest,
	// CreatedAt and Seq. Returns EINVALID for the reserved name or an
	// unknown vendor, and EQUOTA at the names or revisions quota.
	CreateObservabilityConfiguration(ctx context.Context, c *ObservabilityConfiguration, tags []Tag) error

	// FindObservabilityConfiguration returns the revision an ARN names:
	// for a full ARN that revision in any status, for …/<name> the latest
	// active revision. Returns ENOTFOUND if there is none.
	FindObservabilityConfiguration(ctx context.Context, arn string) (*ObservabilityConfiguration, error)

	// FindObservabilityConfigurations returns active revisions in creation
	// order.
	FindObservabilityConfigurations(ctx context.Context, f ObservabilityConfigurationFilter) (ObservabilityConfigurationPage, error)

	// DeleteObservabilityConfiguration makes the revision the ARN names
	// inactive, removes its tags and returns it as deleted. Returns
	// ENOTFOUND for an unknown ARN, and EINVALID for a revision already
	// deleted or in use by a service that is not DELETED.
	DeleteObservabilityConfiguration(ctx context.Context, arn string) (*ObservabilityConfiguration, error)
}
