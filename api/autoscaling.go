package api

import (
	"context"
	"strconv"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// Auto scaling configurations: the six operations, and how a service gets
// its configuration. Choices where App Runner is unconfirmed are in
// docs/decisions.md ("Auto scaling configurations").

// autoScaling returns the auto scaling configuration store.
func (s *Server) autoScaling() (openrunner.AutoScalingConfigurationService, error) {
	if s.AutoScaling == nil {
		return nil, openrunner.Errorf(openrunner.ENOTIMPLEMENTED, "This OpenRunner has no auto scaling configuration store.")
	}
	return s.AutoScaling, nil
}

// CreateAutoScalingConfiguration implements wire.AppRunner.
func (s *Server) CreateAutoScalingConfiguration(ctx context.Context, in *wire.CreateAutoScalingConfigurationInput) (*wire.CreateAutoScalingConfigurationOutput, error) {
	store, err := s.autoScaling()
	if err != nil {
		return nil, err
	}
	tags, err := domainTags(in.Tags)
	if err != nil {
		return nil, err
	}
	c := &openrunner.AutoScalingConfiguration{
		Name:           *in.AutoScalingConfigurationName,
		MaxConcurrency: intOr(in.MaxConcurrency, openrunner.DefaultMaxConcurrency),
		MinSize:        intOr(in.MinSize, openrunner.DefaultMinSize),
		MaxSize:        intOr(in.MaxSize, openrunner.DefaultMaxSize),
	}
	if err := store.CreateAutoScalingConfiguration(ctx, c, tags); err != nil {
		return nil, err
	}
	return &wire.CreateAutoScalingConfigurationOutput{AutoScalingConfiguration: wireASC(c)}, nil
}

// DescribeAutoScalingConfiguration implements wire.AppRunner: deleted
// revisions are described too, as inactive.
func (s *Server) DescribeAutoScalingConfiguration(ctx context.Context, in *wire.DescribeAutoScalingConfigurationInput) (*wire.DescribeAutoScalingConfigurationOutput, error) {
	store, err := s.ownedASC(ctx, *in.AutoScalingConfigurationArn)
	if err != nil {
		return nil, err
	}
	c, err := store.FindAutoScalingConfiguration(ctx, *in.AutoScalingConfigurationArn)
	if err != nil {
		return nil, err
	}
	return &wire.DescribeAutoScalingConfigurationOutput{AutoScalingConfiguration: wireASC(c)}, nil
}

// ListAutoScalingConfigurations implements wire.AppRunner: active
// revisions in creation order. LatestOnly defaults to false (the Smithy
// model's default).
func (s *Server) ListAutoScalingConfigurations(ctx context.Context, in *wire.ListAutoScalingConfigurationsInput) (*wire.ListAutoScalingConfigurationsOutput, error) {
	store, err := s.autoScaling()
	if err != nil {
		return nil, err
	}
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	f := openrunner.AutoScalingConfigurationFilter{
		Name: in.AutoScalingConfigurationName, LatestOnly: wire.Deref(in.LatestOnly), Limit: maxResults(in.MaxResults),
	}
	query := []string{queryKey(in.AutoScalingConfigurationName), strconv.FormatBool(f.LatestOnly)}
	if in.NextToken != nil {
		if f.After, err = s.Pages.Parse(scope, "ListAutoScalingConfigurations", query, *in.NextToken); err != nil {
			return nil, err
		}
	}
	page, err := store.FindAutoScalingConfigurations(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &wire.ListAutoScalingConfigurationsOutput{
		AutoScalingConfigurationSummaryList: make([]wire.AutoScalingConfigurationSummary, 0, len(page.Configurations)),
	}
	for _, c := range page.Configurations {
		out.AutoScalingConfigurationSummaryList = append(out.AutoScalingConfigurationSummaryList, *wireASCSummary(c))
	}
	if page.Next != 0 {
		out.NextToken = wire.Ptr(s.Pages.Make(scope, "ListAutoScalingConfigurations", query, page.Next))
	}
	return out, nil
}

// DeleteAutoScalingConfiguration implements wire.AppRunner.
func (s *Server) DeleteAutoScalingConfiguration(ctx context.Context, in *wire.DeleteAutoScalingConfigurationInput) (*wire.DeleteAutoScalingConfigurationOutput, error) {
	store, err := s.ownedASC(ctx, *in.AutoScalingConfigurationArn)
	if err != nil {
		return nil, err
	}
	c, err := store.DeleteAutoScalingConfiguration(ctx, *in.AutoScalingConfigurationArn, wire.Deref(in.DeleteAllRevisions))
	if err != nil {
		return nil, err
	}
	return &wire.DeleteAutoScalingConfigurationOutput{AutoScalingConfiguration: wireASC(c)}, nil
}

// UpdateDefaultAutoScalingConfiguration implements wire.AppRunner.
func (s *Server) UpdateDefaultAutoScalingConfiguration(ctx context.Context, in *wire.UpdateDefaultAutoScalingConfigurationInput) (*wire.UpdateDefaultAutoScalingConfigurationOutput, error) {
	store, err := s.ownedASC(ctx, *in.AutoScalingConfigurationArn)
	if err != nil {
		return nil, err
	}
	c, err := store.SetDefaultAutoScalingConfiguration(ctx, *in.AutoScalingConfigurationArn)
	if err != nil {
		return nil, err
	}
	return &wire.UpdateDefaultAutoScalingConfigurationOutput{AutoScalingConfiguration: wireASC(c)}, nil
}

// ListServicesForAutoScalingConfiguration implements wire.AppRunner: the
// services (not DELETED) using the revision, in creation order.
func (s *Server) ListServicesForAutoScalingConfiguration(ctx context.Context, in *wire.ListServicesForAutoScalingConfigurationInput) (*wire.ListServicesForAutoScalingConfigurationOutput, error) {
	store, err := s.ownedASC(ctx, *in.AutoScalingConfigurationArn)
	if err != nil {
		return nil, err
	}
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	query := []string{*in.AutoScalingConfigurationArn}
	f := openrunner.ServiceFilter{Limit: maxResults(in.MaxResults)}
	if in.NextToken != nil {
		if f.After, err = s.Pages.Parse(scope, "ListServicesForAutoScalingConfiguration", query, *in.NextToken); err != nil {
			return nil, err
		}
	}
	page, err := store.FindServicesForAutoScalingConfiguration(ctx, *in.AutoScalingConfigurationArn, f)
	if err != nil {
		return nil, err
	}
	out := &wire.ListServicesForAutoScalingConfigurationOutput{ServiceArnList: make([]string, 0, len(page.Services))}
	for _, svc := range page.Services {
		out.ServiceArnList = append(out.ServiceArnList, svc.ARN())
	}
	if page.Next != 0 {
		out.NextToken = wire.Ptr(s.Pages.Make(scope, "ListServicesForAutoScalingConfiguration", query, page.Next))
	}
	return out, nil
}

// ownedASC checks that arn is an auto scaling configuration ARN of the
// caller and returns the store.
func (s *Server) ownedASC(ctx context.Context, arn string) (openrunner.AutoScalingConfigurationService, error) {
	store, err := s.autoScaling()
	if err != nil {
		return nil, err
	}
	a, err := ownedARN(ctx, arn, openrunner.ResourceAutoScalingConfiguration)
	if err != nil {
		return nil, err
	}
	if len(a.Path) > 3 {
		return nil, invalidASCARN(arn)
	}
	return store, nil
}

func invalidASCARN(arn string) error {
	return openrunner.Errorf(openrunner.EINVALID, "The auto scaling configuration ARN you specified isn't valid. ARN: '%s'", openrunner.Truncate(arn, 1011))
}

// serviceASC returns the active revision a CreateService or UpdateService
// names (a full ARN, …/name/revision or …/name for the latest), or the
// default when arn is nil. Neither operation models
// ResourceNotFoundException, so an unknown configuration is EINVALID.
func (s *Server) serviceASC(ctx context.Context, arn *string) (*openrunner.AutoScalingConfiguration, error) {
	store, err := s.autoScaling()
	if err != nil {
		return nil, err
	}
	if arn == nil {
		return store.DefaultAutoScalingConfiguration(ctx)
	}
	if _, err := s.ownedASC(ctx, *arn); err != nil {
		return nil, invalidASCARN(*arn)
	}
	c, err := store.FindAutoScalingConfiguration(ctx, *arn)
	switch {
	case openrunner.ErrorCode(err) == openrunner.ENOTFOUND:
		return nil, invalidASCARN(*arn)
	case err != nil:
		return nil, err
	case c.Status != openrunner.AutoScalingActive:
		return nil, openrunner.Errorf(openrunner.EINVALID, "The auto scaling configuration you specified has been deleted. ARN: '%s'", c.ARN())
	}
	return c, nil
}

// applyASC sets a service's desired bounds from its configuration and the
// configuration's scale-to-zero tags (OpenRunner extensions):
// openrunner:min-size "0" allows scaling to zero, and
// openrunner:scale-to-zero-after is the idle time before it, a Go duration.
func (s *Server) applyASC(ctx context.Context, d *openrunner.DesiredState, c *openrunner.AutoScalingConfiguration) error {
	d.MinSize, d.MaxSize, d.MaxConcurrency = c.MinSize, c.MaxSize, c.MaxConcurrency
	d.ScaleToZero, d.ScaleToZeroAfter = false, 0
	tags, err := s.Tags.ListTags(ctx, c.ARN())
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil // the AWS-provided default has no tags
	} else if err != nil {
		return err
	}
	var after time.Duration
	for _, t := range tags {
		switch t.Key {
		case openrunner.TagMinSize:
			d.ScaleToZero = t.Value == "0"
		case openrunner.TagScaleToZeroAfter:
			if after, err = time.ParseDuration(t.Value); err != nil || after < 0 {
				return openrunner.Errorf(openrunner.EINVALID,
					"The tag %s of the auto scaling configuration %s must be a duration such as 5m or 30s; it is '%s'.",
					openrunner.TagScaleToZeroAfter, c.ARN(), openrunner.Truncate(t.Value, 100))
			}
		}
	}
	if d.ScaleToZero {
		d.ScaleToZeroAfter = after
	}
	return nil
}

// ascSummary returns the summary DescribeService shows of the service's
// configuration. When the store cannot say, it is read from the ARN.
func (s *Server) ascSummary(ctx context.Context, arn string) *wire.AutoScalingConfigurationSummary {
	if store, err := s.autoScaling(); err == nil {
		if c, err := store.FindAutoScalingConfiguration(ctx, arn); err == nil {
			return wireASCSummary(c)
		}
	}
	sum := &wire.AutoScalingConfigurationSummary{AutoScalingConfigurationArn: wire.Ptr(arn)}
	if a, err := openrunner.ParseARN(arn); err == nil && len(a.Path) == 3 {
		sum.AutoScalingConfigurationName = wire.Ptr(a.Path[0])
		if rev, err := strconv.Atoi(a.Path[1]); err == nil {
			sum.AutoScalingConfigurationRevision = wire.Ptr(int32(rev))
		}
	}
	return sum
}

func wireASC(c *openrunner.AutoScalingConfiguration) *wire.AutoScalingConfiguration {
	out := &wire.AutoScalingConfiguration{
		AutoScalingConfigurationArn:      wire.Ptr(c.ARN()),
		AutoScalingConfigurationName:     wire.Ptr(c.Name),
		AutoScalingConfigurationRevision: wire.Ptr(int32(c.Revision)),
		Latest:                           wire.Ptr(c.Latest),
		Status:                           wire.Ptr(wire.AutoScalingConfigurationStatus(c.Status)),
		MaxConcurrency:                   wire.Ptr(int32(c.MaxConcurrency)),
		MinSize:                          wire.Ptr(int32(c.MinSize)),
		MaxSize:                          wire.Ptr(int32(c.MaxSize)),
		CreatedAt:                        wire.NewTimestamp(c.CreatedAt),
		HasAssociatedService:             wire.Ptr(c.HasAssociatedService),
		IsDefault:                        wire.Ptr(c.IsDefault),
	}
	if !c.DeletedAt.IsZero() {
		out.DeletedAt = wire.NewTimestamp(c.DeletedAt)
	}
	return out
}

func wireASCSummary(c *openrunner.AutoScalingConfiguration) *wire.AutoScalingConfigurationSummary {
	return &wire.AutoScalingConfigurationSummary{
		AutoScalingConfigurationArn:      wire.Ptr(c.ARN()),
		AutoScalingConfigurationName:     wire.Ptr(c.Name),
		AutoScalingConfigurationRevision: wire.Ptr(int32(c.Revision)),
		Status:                           wire.Ptr(wire.AutoScalingConfigurationStatus(c.Status)),
		CreatedAt:                        wire.NewTimestamp(c.CreatedAt),
		HasAssociatedService:             wire.Ptr(c.HasAssociatedService),
		IsDefault:                        wire.Ptr(c.IsDefault),
	}
}

// intOr returns *p, or def when p is nil.
func intOr(p *int32, def int) int {
	if p == nil {
		return def
	}
	return int(*p)
}
