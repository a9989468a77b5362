package api

import (
	"context"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// Deployer converges services on what the store says they should be
// (package reconcile).
type Deployer interface {
	// Kick tells the deployer the service changed: it has a new operation
	// or desired state.
	Kick(serviceARN string)
}

// DefaultAutoScalingConfigurationARN returns the ARN of the AWS-provided
// default auto scaling configuration, the same in every account and Region.
func DefaultAutoScalingConfigurationARN(s openrunner.Scope) string {
	return openrunner.NewARN(s, openrunner.ResourceAutoScalingConfiguration, "DefaultConfiguration", "1", "00000000000000000000000000000001")
}

// CreateService implements wire.AppRunner.
func (s *Server) CreateService(ctx context.Context, in *wire.CreateServiceInput) (*wire.CreateServiceOutput, error) {
	if s.RuntimeError != "" {
		return nil, openrunner.Errorf(openrunner.EINVALID, "%s", s.RuntimeError)
	}
	if s.Services == nil {
		return s.Unimplemented.CreateService(ctx, in)
	}
	var cfg openrunner.ServiceConfig
	var err error
	if cfg.Source, err = applySource(cfg.Source, in.SourceConfiguration, true); err != nil {
		return nil, err
	}
	if err := s.checkConnection(ctx, cfg.Source); err != nil {
		return nil, err
	}
	if cfg.Instance, err = applyInstance(cfg.Instance, in.InstanceConfiguration); err != nil {
		return nil, err
	}
	cfg.HealthCheck = applyHealthCheck(cfg.HealthCheck, in.HealthCheckConfiguration)
	if cfg.Network, err = applyNetwork(cfg.Network, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	if err := s.checkVpcConnector(ctx, cfg.Network); err != nil {
		return nil, err
	}
	if obs, err := s.serviceObservability(ctx, in.ObservabilityConfiguration); err != nil {
		return nil, err
	} else if obs != nil {
		cfg.Observability = *obs
	}
	// No configuration: the account's current default. The store checks
	// again, atomically, that the revision is still active.
	asc, err := s.serviceASC(ctx, in.AutoScalingConfigurationArn)
	if err != nil {
		return nil, err
	}
	tags, err := domainTags(in.Tags)
	if err != nil {
		return nil, err
	}
	svc := &openrunner.Service{Name: *in.ServiceName, Config: cfg, AutoScalingConfigurationARN: asc.ARN()}
	if err := s.applyASC(ctx, &svc.Desired, asc); err != nil {
		return nil, err
	}
	svc.Desired.Instances = asc.MinSize
	if in.EncryptionConfiguration != nil {
		svc.KMSKey = wire.Deref(in.EncryptionConfiguration.KmsKey)
	}
	op := &openrunner.Operation{Type: openrunner.OperationCreateService, Desired: &cfg}
	if err := s.Services.CreateService(ctx, svc, op, tags); err != nil {
		return nil, err
	}
	s.Deployer.Kick(svc.ARN())
	return &wire.CreateServiceOutput{OperationId: wire.Ptr(op.ID), Service: s.wireService(ctx, svc)}, nil
}

// DescribeService implements wire.AppRunner.
func (s *Server) DescribeService(ctx context.Context, in *wire.DescribeServiceInput) (*wire.DescribeServiceOutput, error) {
	if s.Services == nil {
		return s.Unimplemented.DescribeService(ctx, in)
	}
	if _, err := ownedARN(ctx, *in.ServiceArn, openrunner.ResourceService); err != nil {
		return nil, err
	}
	svc, err := s.Services.FindServiceByARN(ctx, *in.ServiceArn)
	if err != nil {
		return nil, err
	}
	return &wire.DescribeServiceOutput{Service: s.wireService(ctx, svc)}, nil
}

// ListServices implements wire.AppRunner.
func (s *Server) ListServices(ctx context.Context, in *wire.ListServicesInput) (*wire.ListServicesOutput, error) {
	if s.Services == nil {
		return s.Unimplemented.ListServices(ctx, in)
	}
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	f := openrunner.ServiceFilter{Limit: maxResults(in.MaxResults)}
	if in.NextToken != nil {
		if f.After, err = s.Pages.Parse(scope, "ListServices", nil, *in.NextToken); err != nil {
			return nil, err
		}
	}
	page, err := s.Services.FindServices(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &wire.ListServicesOutput{ServiceSummaryList: make([]wire.ServiceSummary, 0, len(page.Services))}
	for _, svc := range page.Services {
		w := s.wireServiceBase(svc)
		out.ServiceSummaryList = append(out.ServiceSummaryList, wire.ServiceSummary{
			ServiceName: w.ServiceName, ServiceId: w.ServiceId, ServiceArn: w.ServiceArn, ServiceUrl: w.ServiceUrl,
			CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Status: w.Status,
		})
	}
	if page.Next != 0 {
		out.NextToken = wire.Ptr(s.Pages.Make(scope, "ListServices", nil, page.Next))
	}
	return out, nil
}

// DeleteService implements wire.AppRunner.
func (s *Server) DeleteService(ctx context.Context, in *wire.DeleteServiceInput) (*wire.DeleteServiceOutput, error) {
	if s.Services == nil {
		return s.Unimplemented.DeleteService(ctx, in)
	}
	if err := s.ingressBlocksDelete(ctx, *in.ServiceArn); err != nil {
		return nil, err
	}
	svc, op, err := s.startOperation(ctx, *in.ServiceArn, openrunner.OperationDeleteService, func(svc *openrunner.Service) error {
		return noOperationInProgress(svc)
	})
	if err != nil {
		return nil, err
	}
	return &wire.DeleteServiceOutput{OperationId: wire.Ptr(op.ID), Service: s.wireService(ctx, svc)}, nil
}

// PauseService implements wire.AppRunner. Pausing a paused service is a
// no-op answered without an OperationId, as App Runner does.
func (s *Server) PauseService(ctx context.Context, in *wire.PauseServiceInput) (*wire.PauseServiceOutput, error) {
	if s.Services == nil {
		return s.Unimplemented.PauseService(ctx, in)
	}
	svc, op, err := s.startOperation(ctx, *in.ServiceArn, openrunner.OperationPauseService, func(svc *openrunner.Service) error {
		if svc.Status == openrunner.ServicePaused {
			return errNoop
		}
		if err := noOperationInProgress(svc); err != nil {
			return err
		}
		if svc.Status != openrunner.ServiceRunning {
			return openrunner.Errorf(openrunner.EINVALIDSTATE, "You can pause a service only when it's RUNNING. Current status: %s", svc.Status)
		}
		svc.Desired.Paused = true
		return nil
	})
	if err == errNoop {
		return &wire.PauseServiceOutput{Service: s.wireService(ctx, svc)}, nil
	} else if err != nil {
		return nil, err
	}
	return &wire.PauseServiceOutput{OperationId: wire.Ptr(op.ID), Service: s.wireService(ctx, svc)}, nil
}

// ResumeService implements wire.AppRunner. Resuming a running service is a
// no-op answered without an OperationId.
func (s *Server) ResumeService(ctx context.Context, in *wire.ResumeServiceInput) (*wire.ResumeServiceOutput, error) {
	if s.Services == nil {
		return s.Unimplemented.ResumeService(ctx, in)
	}
	svc, op, err := s.startOperation(ctx, *in.ServiceArn, openrunner.OperationResumeService, func(svc *openrunner.Service) error {
		if svc.Status == openrunner.ServiceRunning {
			return errNoop
		}
		if err := noOperationInProgress(svc); err != nil {
			return err
		}
		if svc.Status != openrunner.ServicePaused {
			return openrunner.Errorf(openrunner.EINVALIDSTATE, "You can resume a service only when it's PAUSED. Current status: %s", svc.Status)
		}
		svc.Desired.Paused = false
		return nil
	})
	if err == errNoop {
		return &wire.ResumeServiceOutput{Service: s.wireService(ctx, svc)}, nil
	} else if err != nil {
		return nil, err
	}
	return &wire.ResumeServiceOutput{OperationId: wire.Ptr(op.ID), Service: s.wireService(ctx, svc)}, nil
}

// ListOperations implements wire.AppRunner: newest first.
func (s *Server) ListOperations(ctx context.Context, in *wire.ListOperationsInput) (*wire.ListOperationsOutput, error) {
	if s.Services == nil {
		return s.Unimplemented.ListOperations(ctx, in)
	}
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := ownedARN(ctx, *in.ServiceArn, openrunner.ResourceService); err != nil {
		return nil, err
	}
	query := []string{*in.ServiceArn}
	f := openrunner.OperationFilter{Limit: maxResults(in.MaxResults)}
	if in.NextToken != nil {
		if f.Before, err = s.Pages.Parse(scope, "ListOperations", query, *in.NextToken); err != nil {
			return nil, err
		}
	}
	page, err := s.Services.FindOperations(ctx, *in.ServiceArn, f)
	if err != nil {
		return nil, err
	}
	out := &wire.ListOperationsOutput{OperationSummaryList: make([]wire.OperationSummary, 0, len(page.Operations))}
	for _, op := range page.Operations {
		sum := wire.OperationSummary{
			Id: wire.Ptr(op.ID), Type: wire.Ptr(wire.OperationType(op.Type)), Status: wire.Ptr(wire.OperationStatus(op.Status)),
			TargetArn: wire.Ptr(op.ServiceARN), StartedAt: wire.NewTimestamp(op.StartedAt), UpdatedAt: wire.NewTimestamp(op.UpdatedAt),
		}
		if !op.EndedAt.IsZero() {
			sum.EndedAt = wire.NewTimestamp(op.EndedAt)
		}
		out.OperationSummaryList = append(out.OperationSummaryList, sum)
	}
	if page.Next != 0 {
		out.NextToken = wire.Ptr(s.Pages.Make(scope, "ListOperations", query, page.Next))
	}
	return out, nil
}

// UpdateService implements wire.AppRunner: a partial update applied by a
// deployment; the response already shows the new configuration.
func (s *Server) UpdateService(ctx context.Context, in *wire.UpdateServiceInput) (*wire.UpdateServiceOutput, error) {
	if s.Services == nil {
		return s.Unimplemented.UpdateService(ctx, in)
	}
	// A new configuration takes effect with the operation: the store
	// writes its bounds with it, and checks under its write lock that the
	// revision is still active.
	var asc *openrunner.AutoScalingConfiguration
	var ascDesired openrunner.DesiredState
	if in.AutoScalingConfigurationArn != nil {
		var err error
		if asc, err = s.serviceASC(ctx, in.AutoScalingConfigurationArn); err != nil {
			return nil, err
		}
		if err := s.applyASC(ctx, &ascDesired, asc); err != nil {
			return nil, err
		}
	}
	obs, err := s.serviceObservability(ctx, in.ObservabilityConfiguration)
	if err != nil {
		return nil, err
	}
	var desired openrunner.ServiceConfig
	svc, op, err := s.startOperation(ctx, *in.ServiceArn, openrunner.OperationUpdateService, func(svc *openrunner.Service) error {
		if err := noOperationInProgress(svc); err != nil {
			return err
		}
		if svc.Status != openrunner.ServiceRunning && svc.Status != openrunner.ServiceCreateFailed {
			return openrunner.Errorf(openrunner.EINVALIDSTATE, "You can update a service only when it's RUNNING or CREATE_FAILED. Current status: %s", svc.Status)
		}
		cfg := svc.Config
		var err error
		if cfg.Source, err = applySource(cfg.Source, in.SourceConfiguration, false); err != nil {
			return err
		}
		if cfg.Instance, err = applyInstance(cfg.Instance, in.InstanceConfiguration); err != nil {
			return err
		}
		cfg.HealthCheck = applyHealthCheck(cfg.HealthCheck, in.HealthCheckConfiguration)
		if cfg.Network, err = applyNetwork(cfg.Network, in.NetworkConfiguration); err != nil {
			return err
		}
		if err := s.checkVpcConnector(ctx, cfg.Network); err != nil {
			return err
		}
		if obs != nil {
			cfg.Observability = *obs
		}
		if err := s.checkConnection(ctx, cfg.Source); err != nil {
			return err
		}
		desired = cfg
		if asc != nil {
			svc.AutoScalingConfigurationARN = asc.ARN()
			d := &svc.Desired
			d.MinSize, d.MaxSize, d.MaxConcurrency = ascDesired.MinSize, ascDesired.MaxSize, ascDesired.MaxConcurrency
			d.ScaleToZero, d.ScaleToZeroAfter = ascDesired.ScaleToZero, ascDesired.ScaleToZeroAfter
		}
		return nil
	}, func(op *openrunner.Operation) { op.Desired = &desired })
	if err != nil {
		return nil, err
	}
	out := s.wireService(ctx, svc)
	wireServiceConfig(out, desired)
	return &wire.UpdateServiceOutput{OperationId: wire.Ptr(op.ID), Service: out}, nil
}

// StartDeployment implements wire.AppRunner. The model has no
// InvalidStateException for it, so a paused or busy service is
// InvalidRequestException.
func (s *Server) StartDeployment(ctx context.Context, in *wire.StartDeploymentInput) (*wire.StartDeploymentOutput, error) {
	if s.Services == nil {
		return s.Unimplemented.StartDeployment(ctx, in)
	}
	_, op, err := s.startOperation(ctx, *in.ServiceArn, openrunner.OperationStartDeployment, func(svc *openrunner.Service) error {
		switch svc.Status {
		case openrunner.ServiceRunning, openrunner.ServiceCreateFailed:
			return nil
		case openrunner.ServiceOperationInProgress:
			return openrunner.Errorf(openrunner.EINVALID, "The service %s has an operation in progress. Wait until it ends, then start the deployment.", svc.Name)
		default:
			return openrunner.Errorf(openrunner.EINVALID, "You can start a deployment only when the service is RUNNING or CREATE_FAILED. Current status: %s", svc.Status)
		}
	}, nil)
	if err != nil {
		return nil, err
	}
	return &wire.StartDeploymentOutput{OperationId: wire.Ptr(op.ID)}, nil
}

// errNoop makes StartOperation write nothing for an idempotent call.
var errNoop = openrunner.Errorf(openrunner.EINVALIDSTATE, "no operation needed")

// startOperation stores a new operation of type typ for the service once
// check accepts the service, and kicks the deployer. With errNoop it
// returns the unchanged service.
func (s *Server) startOperation(ctx context.Context, arn, typ string, check func(*openrunner.Service) error, prepare ...func(*openrunner.Operation)) (*openrunner.Service, *openrunner.Operation, error) {
	if _, err := ownedARN(ctx, arn, openrunner.ResourceService); err != nil {
		return nil, nil, err
	}
	var current *openrunner.Service
	op := &openrunner.Operation{Type: typ}
	svc, err := s.Services.StartOperation(ctx, arn, op, func(svc *openrunner.Service) error {
		current = svc
		if err := check(svc); err != nil {
			return err
		}
		for _, p := range prepare {
			if p != nil {
				p(op)
			}
		}
		return nil
	})
	if err == errNoop {
		return current, nil, errNoop
	} else if err != nil {
		return nil, nil, err
	}
	s.Deployer.Kick(arn)
	return svc, op, nil
}

// noOperationInProgress refuses a second operation while one runs.
func noOperationInProgress(svc *openrunner.Service) error {
	if svc.Status == openrunner.ServiceOperationInProgress {
		return openrunner.Errorf(openrunner.EINVALIDSTATE,
			"The service %s has an operation in progress. Wait until it ends (ListOperations shows it), then try again.", svc.Name)
	}
	return nil
}

// wireService renders a service as the API returns it, with its auto
// scaling configuration's current summary.
func (s *Server) wireService(ctx context.Context, svc *openrunner.Service) *wire.Service {
	out := s.wireServiceBase(svc)
	out.AutoScalingConfigurationSummary = s.ascSummary(ctx, svc.AutoScalingConfigurationARN)
	return out
}

// wireServiceBase renders a service without its auto scaling
// configuration (ListServices' summaries do not show it).
func (s *Server) wireServiceBase(svc *openrunner.Service) *wire.Service {
	out := &wire.Service{
		ServiceName: wire.Ptr(svc.Name),
		ServiceId:   wire.Ptr(svc.ID),
		ServiceArn:  wire.Ptr(svc.ARN()),
		Status:      wire.Ptr(wire.ServiceStatus(svc.Status)),
		CreatedAt:   wire.NewTimestamp(svc.CreatedAt),
		UpdatedAt:   wire.NewTimestamp(svc.UpdatedAt),
	}
	if svc.Config.Network.IsPubliclyAccessible {
		out.ServiceUrl = wire.Ptr(svc.URL(s.BaseDomain))
	}
	if !svc.DeletedAt.IsZero() {
		out.DeletedAt = wire.NewTimestamp(svc.DeletedAt)
	}
	if svc.KMSKey != "" {
		out.EncryptionConfiguration = &wire.EncryptionConfiguration{KmsKey: wire.Ptr(svc.KMSKey)}
	}
	wireServiceConfig(out, svc.Config)
	return out
}

// checkConnection makes sure a source-code service names a connection of
// the caller's account and Region that exists (in any status: one that is
// not AVAILABLE fails the deployment, as in App Runner).
func (s *Server) checkConnection(ctx context.Context, src openrunner.SourceConfig) error {
	if src.Code == nil {
		return nil
	}
	arn := src.ConnectionARN
	if _, err := ownedARN(ctx, arn, openrunner.ResourceConnection); err != nil {
		if openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
			return err
		}
	} else if c, err := s.Connections.FindConnectionByARN(ctx, arn); err == nil {
		base := s.ProviderURLs[c.ProviderType]
		if base != "" && !openrunner.OnProvider(src.Code.RepositoryURL, base) {
			return openrunner.Errorf(openrunner.EINVALID, "The repository %s isn't on %s, the provider of the connection %s: its URL must start with %s/.",
				openrunner.Truncate(src.Code.RepositoryURL, 200), c.ProviderType, c.Name, base)
		}
		return nil
	} else if openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		return err
	}
	return openrunner.Errorf(openrunner.EINVALID, "The connection %s doesn't exist in this account and Region. Create it with CreateConnection and complete its handshake.", openrunner.Truncate(arn, 1011))
}
