package openrunner

import (
	"context"
	"strings"
	"time"
)

// Service statuses (model enum ServiceStatus).
const (
	ServiceCreateFailed        = "CREATE_FAILED"
	ServiceRunning             = "RUNNING"
	ServiceDeleted             = "DELETED"
	ServiceDeleteFailed        = "DELETE_FAILED"
	ServicePaused              = "PAUSED"
	ServiceOperationInProgress = "OPERATION_IN_PROGRESS"
)

// DefaultMaxServices is App Runner's default quota of services per account
// and Region; CREATE_FAILED services count.
const DefaultMaxServices = 30

// Service is an App Runner service: the configuration its users asked for
// and where its current revision runs.
type Service struct {
	Scope  Scope
	ID     string // 32 lowercase hex digits
	Name   string
	Status string
	// URLPrefix is the ServiceUrl's first label: 10 characters [a-z0-9].
	// The ServiceUrl is URLPrefix + "." + region + "." + base domain.
	URLPrefix string

	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt time.Time // zero unless DELETED

	// Config is the configuration of the revision that serves (or, while
	// the first deployment is in progress or failed, the one asked for).
	Config ServiceConfig
	// AutoScalingConfigurationARN is the full ARN of the auto scaling
	// configuration revision the service uses.
	AutoScalingConfigurationARN string
	// KMSKey is EncryptionConfiguration.KmsKey; empty for the default key.
	KMSKey string

	// Active is the revision that serves; nil before the first successful
	// deployment.
	Active *Revision

	// Desired is what the service should be; Observed is what the
	// reconciler last saw.
	Desired  DesiredState
	Observed ObservedState

	Seq int64 // store-assigned creation order
}

// DesiredState is what a service should be, beside its Active revision.
// Operations write it when they start (Paused), the reconciler when it has
// prepared a deployment's revision (Rollout), the autoscaler when demand
// changes (Instances).
type DesiredState struct {
	// Paused: no instance runs and the ServiceUrl answers 503.
	Paused bool `json:",omitempty"`
	// Rollout is the revision being rolled out, once pulled or built; nil
	// when no deployment is under way or it is still being prepared.
	Rollout *Revision `json:",omitempty"`
	// RolloutOperation is the operation whose deployment Rollout is.
	RolloutOperation string `json:",omitempty"`
	// MinSize and MaxSize bound Instances (the auto scaling
	// configuration's).
	MinSize int `json:",omitempty"`
	MaxSize int `json:",omitempty"`
	// Instances is how many instances the active revision should run.
	Instances int `json:",omitempty"`
	// MaxConcurrency is how many requests one instance serves at once.
	MaxConcurrency int `json:",omitempty"`
	// ScaleToZero: the autoscaler may take the service to zero instances
	// once idle for ScaleToZeroAfter (0: the server's default); the first
	// request then waits for an instance to start.
	ScaleToZero      bool          `json:",omitempty"`
	ScaleToZeroAfter time.Duration `json:",omitempty"`
}

// Count returns the instances the active revision should run: Instances
// held between MinSize and MaxSize, and at least 1, except for a
// scale-to-zero service that the autoscaler took to zero.
func (d DesiredState) Count() int {
	n := d.Instances
	if d.ScaleToZero && n == 0 {
		return 0
	}
	if n < d.MinSize {
		n = d.MinSize
	}
	if d.MaxSize > 0 && n > d.MaxSize {
		n = d.MaxSize
	}
	return max(n, 1)
}

// ObservedState is what the reconciler saw of a service at its last pass.
type ObservedState struct {
	// Ready counts the ready instances per revision id.
	Ready map[string]int `json:",omitempty"`
	// Error is why the last pass could not converge; "" when it did or is
	// progressing.
	Error string    `json:",omitempty"`
	At    time.Time `json:",omitempty"`
}

// URL returns the ServiceUrl App Runner reports, a host name without
// scheme: <prefix>.<region>.<base domain>, lowercase.
func (s *Service) URL(baseDomain string) string {
	return strings.ToLower(s.URLPrefix + "." + s.Scope.Region + "." + baseDomain)
}

// ARN returns arn:aws:apprunner:<region>:<account>:service/<name>/<id>.
func (s *Service) ARN() string { return NewARN(s.Scope, ResourceService, s.Name, s.ID) }

// ServiceConfig is everything of a service that a deployment applies.
type ServiceConfig struct {
	Source        SourceConfig
	Instance      InstanceConfig
	HealthCheck   HealthCheckConfig
	Network       NetworkConfig
	Observability ObservabilityConfig
}

// SourceConfig is where a service's code or image comes from. Exactly one
// of Image and Code is set.
type SourceConfig struct {
	Image                  *ImageSource
	Code                   *CodeSource
	AutoDeploymentsEnabled bool
	AccessRoleARN          string // AuthenticationConfiguration.AccessRoleArn
	ConnectionARN          string // AuthenticationConfiguration.ConnectionArn
}

// ImageSource is SourceConfiguration.ImageRepository.
type ImageSource struct {
	Identifier     string // any OCI image reference
	RepositoryType string // ECR or ECR_PUBLIC
	Port           string // default "8080"
	Env            map[string]string
	Secrets        map[string]string // name → Secrets Manager or SSM ARN
	StartCommand   string
}

// CodeSource is SourceConfiguration.CodeRepository.
type CodeSource struct {
	RepositoryURL   string
	VersionType     string // BRANCH
	VersionValue    string // the branch
	SourceDirectory string
	// ConfigurationSource is REPOSITORY (apprunner.yaml) or API (Values).
	ConfigurationSource string
	Values              *CodeValues
}

// CodeValues is CodeConfiguration.CodeConfigurationValues.
type CodeValues struct {
	Runtime      string
	BuildCommand string
	StartCommand string
	Port         string
	Env          map[string]string
	Secrets      map[string]string
}

// InstanceConfig is InstanceConfiguration, with Cpu and Memory normalized to
// App Runner's numeric units ("1024" for 1 vCPU, "2048" for 2 GB).
type InstanceConfig struct {
	CPU             string
	Memory          string
	InstanceRoleARN string
}

// HealthCheckConfig is HealthCheckConfiguration with defaults filled in.
type HealthCheckConfig struct {
	Protocol           string // TCP or HTTP
	Path               string
	Interval           int // seconds
	Timeout            int // seconds
	HealthyThreshold   int
	UnhealthyThreshold int
}

// NetworkConfig is NetworkConfiguration.
type NetworkConfig struct {
	EgressType           string // DEFAULT or VPC
	VpcConnectorARN      string
	IsPubliclyAccessible bool
	IPAddressType        string // IPV4 or DUAL_STACK
}

// ObservabilityConfig is ServiceObservabilityConfiguration.
type ObservabilityConfig struct {
	Enabled          bool
	ConfigurationARN string
	// TraceVendor is the configuration revision's TraceConfiguration
	// vendor, copied when the service starts to use the revision
	// (revisions are immutable); "" means no tracing.
	TraceVendor string `json:",omitempty"`
}

// Traced reports whether the service's requests are traced.
func (o ObservabilityConfig) Traced() bool { return o.Enabled && o.TraceVendor != "" }

// Revision is one deployed version of a service: a configuration and the
// exact image it ran. Instances carry the revision id as a label.
type Revision struct {
	ID         string // 32 lowercase hex digits
	Config     ServiceConfig
	ImageID    string // the runtime's image identity (Image.ID)
	DeployedAt time.Time
	// Build is set for revisions built from source code: what was built
	// and how its instances start.
	Build *BuiltRevision `json:",omitempty"`
	// Secrets holds the values of the revision's secret references, read
	// once when it was deployed and sealed by the vault (a JSON object of
	// variable name → value): restarts and scale-outs of the revision get
	// the same values, and no value is ever stored in clear.
	Secrets []byte `json:",omitempty"`
}

// BuiltRevision is what a source-code revision was built from and how its
// instances run: the run section of its apprunner.yaml (or API values).
type BuiltRevision struct {
	CommitID     string            // the commit that was built
	Image        string            // Image.Ref of the build
	StartCommand string            // run.command
	Port         int               // run.network.port
	PortEnv      string            // run.network.env
	Env          map[string]string // run.env and resolved secrets
}

// Operation types (model enum OperationType).
const (
	OperationCreateService   = "CREATE_SERVICE"
	OperationUpdateService   = "UPDATE_SERVICE"
	OperationStartDeployment = "START_DEPLOYMENT"
	OperationPauseService    = "PAUSE_SERVICE"
	OperationResumeService   = "RESUME_SERVICE"
	OperationDeleteService   = "DELETE_SERVICE"
)

// Operation statuses (model enum OperationStatus).
const (
	OperationPending            = "PENDING"
	OperationInProgress         = "IN_PROGRESS"
	OperationFailed             = "FAILED"
	OperationSucceeded          = "SUCCEEDED"
	OperationRollbackInProgress = "ROLLBACK_IN_PROGRESS"
	OperationRollbackFailed     = "ROLLBACK_FAILED"
	OperationRollbackSucceeded  = "ROLLBACK_SUCCEEDED"
)

// Operation is a durable record of one asynchronous service operation. The
// operations engine drives it step by step and writes each step down, so a
// restarted server resumes, fails or rolls back every unfinished one.
type Operation struct {
	ID         string // dashed UUID
	ServiceARN string
	Type       string
	Status     string
	// Step is the engine's position inside the operation ("resolve-image",
	// "start-instances", ...), for resuming after a crash.
	Step string
	// Desired is the configuration a create, update or deployment rolls
	// out; nil for pause, resume and delete.
	Desired *ServiceConfig
	// Message says why an operation failed or rolled back.
	Message string
	// CommitID is the commit a source-code deployment fetched and built;
	// empty for image services and until the source is fetched.
	CommitID string

	StartedAt time.Time
	UpdatedAt time.Time
	EndedAt   time.Time // zero until it ends

	Seq int64 // store-assigned order
}

// Finished reports whether the operation has reached a final status.
func (o *Operation) Finished() bool {
	switch o.Status {
	case OperationFailed, OperationSucceeded, OperationRollbackFailed, OperationRollbackSucceeded:
		return true
	}
	return false
}

// ServiceFilter selects services for FindServices.
type ServiceFilter struct {
	After int64 // continue after this Seq; 0 starts at the beginning
	Limit int   // 0: all
}

// ServicePage is one page of FindServices.
type ServicePage struct {
	Services []*Service
	Next     int64 // 0 when there are no more
}

// OperationFilter selects operations for FindOperations.
type OperationFilter struct {
	Before int64 // continue with operations older than this Seq; 0: newest
	Limit  int   // 0: all
}

// OperationPage is one page of FindOperations, newest first.
type OperationPage struct {
	Operations []*Operation
	Next       int64 // 0 when there are no more
}

// ServiceService stores services and their operations. Methods act in the
// Scope of ctx unless they say otherwise.
type ServiceService interface {
	// CreateService stores svc together with its first operation op
	// (CREATE_SERVICE) and its tags, atomically. The store sets svc.ID,
	// svc.URLPrefix, the timestamps, Status OPERATION_IN_PROGRESS, and op's
	// ID, ServiceARN, status PENDING and times. Returns ECONFLICT if a
	// service of the Scope that is not DELETED has svc.Name, and EQUOTA at
	// the services quota (CREATE_FAILED services count; DELETED do not).
	CreateService(ctx context.Context, svc *Service, op *Operation, tags []Tag) error

	// FindServiceByARN returns the service, DELETED ones included.
	// Returns ENOTFOUND if there is none.
	FindServiceByARN(ctx context.Context, arn string) (*Service, error)

	// FindServices returns the Scope's services that are not DELETED, in
	// creation order.
	FindServices(ctx context.Context, f ServiceFilter) (ServicePage, error)

	// StartOperation begins op on the service with that ARN: it calls
	// apply (which may change the service and must check the service's
	// state, returning EINVALIDSTATE or EINVALID as the API requires), then
	// stores the service with Status OPERATION_IN_PROGRESS and op as
	// PENDING, atomically. Returns ENOTFOUND for an unknown or DELETED
	// service and whatever apply returns.
	StartOperation(ctx context.Context, arn string, op *Operation, apply func(*Service) error) (*Service, error)

	// UpdateOperation records op's Status, Step and Message. It works in
	// any Scope (the operations engine runs outside requests).
	UpdateOperation(ctx context.Context, op *Operation) error

	// FinishOperation stores op in its final status together with the
	// service's new state (status, active revision, config, desired and
	// observed states, DeletedAt), atomically. It works in any Scope.
	FinishOperation(ctx context.Context, op *Operation, svc *Service) error

	// FindOperations returns the service's operations newest first.
	// Returns ENOTFOUND for an unknown service.
	FindOperations(ctx context.Context, serviceARN string, f OperationFilter) (OperationPage, error)

	// UnfinishedOperations returns every operation of every Scope that has
	// not reached a final status, oldest first, with its service.
	UnfinishedOperations(ctx context.Context) ([]*Operation, error)

	// FindServicesByStatus returns the services of every Scope whose status
	// is one of statuses, in creation order (for recovery on start).
	FindServicesByStatus(ctx context.Context, statuses ...string) ([]*Service, error)

	// FindServiceForOperation returns the service of an operation in any
	// Scope (DELETED included). Returns ENOTFOUND if there is none.
	FindServiceForOperation(ctx context.Context, op *Operation) (*Service, error)

	// UpdateServiceState calls apply on the stored service with that ARN,
	// in any Scope, and stores its Desired and Observed states (nothing
	// else), atomically. apply may return an error to store nothing.
	// Returns ENOTFOUND for an unknown service.
	UpdateServiceState(ctx context.Context, arn string, apply func(*Service) error) (*Service, error)
}
