package api

import (
	"context"
	"strconv"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// Observability configurations: the four operations, and how a service
// names one. Choices where App Runner is unconfirmed are in
// docs/decisions.md ("Observability configurations and tracing").

// observability returns the observability configuration store.
func (s *Server) observability() (openrunner.ObservabilityConfigurationService, error) {
	if s.Observability == nil {
		return nil, openrunner.Errorf(openrunner.ENOTIMPLEMENTED, "This OpenRunner has no observability configuration store.")
	}
	return s.Observability, nil
}

// CreateObservabilityConfiguration implements wire.AppRunner.
func (s *Server) CreateObservabilityConfiguration(ctx context.Context, in *wire.CreateObservabilityConfigurationInput) (*wire.CreateObservabilityConfigurationOutput, error) {
	store, err := s.observability()
	if err != nil {
		return nil, err
	}
	tags, err := domainTags(in.Tags)
	if err != nil {
		return nil, err
	}
	c := &openrunner.ObservabilityConfiguration{Name: *in.ObservabilityConfigurationName}
	if in.TraceConfiguration != nil {
		c.TraceVendor = string(wire.Deref(in.TraceConfiguration.Vendor))
	}
	if err := store.CreateObservabilityConfiguration(ctx, c, tags); err != nil {
		return nil, err
	}
	return &wire.CreateObservabilityConfigurationOutput{ObservabilityConfiguration: wireObservability(c)}, nil
}

// DescribeObservabilityConfiguration implements wire.AppRunner: deleted
// revisions are described too, as INACTIVE.
func (s *Server) DescribeObservabilityConfiguration(ctx context.Context, in *wire.DescribeObservabilityConfigurationInput) (*wire.DescribeObservabilityConfigurationOutput, error) {
	store, err := s.ownedObservability(ctx, *in.ObservabilityConfigurationArn)
	if err != nil {
		return nil, err
	}
	c, err := store.FindObservabilityConfiguration(ctx, *in.ObservabilityConfigurationArn)
	if err != nil {
		return nil, err
	}
	return &wire.DescribeObservabilityConfigurationOutput{ObservabilityConfiguration: wireObservability(c)}, nil
}

// ListObservabilityConfigurations implements wire.AppRunner: active
// revisions in creation order; LatestOnly defaults to false, as for auto
// scaling configurations.
func (s *Server) ListObservabilityConfigurations(ctx context.Context, in *wire.ListObservabilityConfigurationsInput) (*wire.ListObservabilityConfigurationsOutput, error) {
	store, err := s.observability()
	if err != nil {
		return nil, err
	}
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	f := openrunner.ObservabilityConfigurationFilter{
		Name: in.ObservabilityConfigurationName, LatestOnly: wire.Deref(in.LatestOnly), Limit: maxResults(in.MaxResults),
	}
	const op = "ListObservabilityConfigurations"
	query := []string{queryKey(in.ObservabilityConfigurationName), strconv.FormatBool(f.LatestOnly)}
	if in.NextToken != nil {
		if f.After, err = s.Pages.Parse(scope, op, query, *in.NextToken); err != nil {
			return nil, err
		}
	}
	page, err := store.FindObservabilityConfigurations(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &wire.ListObservabilityConfigurationsOutput{
		ObservabilityConfigurationSummaryList: make([]wire.ObservabilityConfigurationSummary, len(page.Configurations)),
	}
	for i, c := range page.Configurations {
		out.ObservabilityConfigurationSummaryList[i] = wire.ObservabilityConfigurationSummary{
			ObservabilityConfigurationArn:      wire.Ptr(c.ARN()),
			ObservabilityConfigurationName:     wire.Ptr(c.Name),
			ObservabilityConfigurationRevision: wire.Ptr(int32(c.Revision)),
		}
	}
	if page.Next != 0 {
		out.NextToken = wire.Ptr(s.Pages.Make(scope, op, query, page.Next))
	}
	return out, nil
}

// DeleteObservabilityConfiguration implements wire.AppRunner.
func (s *Server) DeleteObservabilityConfiguration(ctx context.Context, in *wire.DeleteObservabilityConfigurationInput) (*wire.DeleteObservabilityConfigurationOutput, error) {
	store, err := s.ownedObservability(ctx, *in.ObservabilityConfigurationArn)
	if err != nil {
		return nil, err
	}
	c, err := store.DeleteObservabilityConfiguration(ctx, *in.ObservabilityConfigurationArn)
	if err != nil {
		return nil, err
	}
	return &wire.DeleteObservabilityConfigurationOutput{ObservabilityConfiguration: wireObservability(c)}, nil
}

// ownedObservability checks that arn is an observability configuration ARN
// of the caller and returns the store.
func (s *Server) ownedObservability(ctx context.Context, arn string) (openrunner.ObservabilityConfigurationService, error) {
	store, err := s.observability()
	if err != nil {
		return nil, err
	}
	a, err := ownedARN(ctx, arn, openrunner.ResourceObservabilityConfig)
	if err != nil {
		return nil, err
	}
	if len(a.Path) > 3 {
		return nil, invalidObservabilityARN(arn)
	}
	return store, nil
}

func invalidObservabilityARN(arn string) error {
	return openrunner.Errorf(openrunner.EINVALID, "The observability configuration ARN you specified isn't valid. ARN: '%s'", openrunner.Truncate(arn, 1011))
}

// serviceObservability turns the ObservabilityConfiguration of a
// CreateService or UpdateService into the service's: nil when the request
// has none (an update keeps the current one). Enabled needs the ARN of an
// active revision of the caller (a full ARN, …/name/revision or …/name for
// the latest), which is stored as its full ARN with its trace vendor.
// Disabled drops any ARN. Neither operation models
// ResourceNotFoundException, so an unknown configuration is EINVALID.
func (s *Server) serviceObservability(ctx context.Context, in *wire.ServiceObservabilityConfiguration) (*openrunner.ObservabilityConfig, error) {
	if in == nil || !wire.Deref(in.ObservabilityEnabled) {
		if in == nil {
			return nil, nil
		}
		return &openrunner.ObservabilityConfig{}, nil
	}
	arn := wire.Deref(in.ObservabilityConfigurationArn)
	if arn == "" {
		return nil, openrunner.Errorf(openrunner.EINVALID,
			"ObservabilityConfigurationArn is required when ObservabilityEnabled is true.")
	}
	store, err := s.ownedObservability(ctx, arn)
	if err != nil {
		return nil, invalidObservabilityARN(arn)
	}
	c, err := store.FindObservabilityConfiguration(ctx, arn)
	switch {
	case openrunner.ErrorCode(err) == openrunner.ENOTFOUND:
		return nil, invalidObservabilityARN(arn)
	case err != nil:
		return nil, err
	case c.Status != openrunner.ObservabilityActive:
		return nil, openrunner.Errorf(openrunner.EINVALID, "The observability configuration you specified has been deleted. ARN: '%s'", c.ARN())
	}
	return &openrunner.ObservabilityConfig{Enabled: true, ConfigurationARN: c.ARN(), TraceVendor: c.TraceVendor}, nil
}

func wireObservability(c *openrunner.ObservabilityConfiguration) *wire.ObservabilityConfiguration {
	out := &wire.ObservabilityConfiguration{
		ObservabilityConfigurationArn:      wire.Ptr(c.ARN()),
		ObservabilityConfigurationName:     wire.Ptr(c.Name),
		ObservabilityConfigurationRevision: wire.Ptr(int32(c.Revision)),
		Latest:                             wire.Ptr(c.Latest),
		Status:                             wire.Ptr(wire.ObservabilityConfigurationStatus(c.Status)),
		CreatedAt:                          wire.NewTimestamp(c.CreatedAt),
	}
	if c.TraceVendor != "" {
		out.TraceConfiguration = &wire.TraceConfiguration{Vendor: wire.Ptr(wire.TracingVendor(c.TraceVendor))}
	}
	if !c.DeletedAt.IsZero() {
		out.DeletedAt = wire.NewTimestamp(c.DeletedAt)
	}
	return out
}
