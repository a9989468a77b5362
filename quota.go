package openrunner

// Quotas are the per-account, per-Region resource limits. App Runner's
// defaults are in DefaultQuotas; operators may raise or lower them. Stores
// read a zero auto scaling field as App Runner's default.
type Quotas struct {
	Connections int // live connections
	Services    int // services that are not DELETED

	// AutoScalingNames limits the names with active auto scaling
	// configuration revisions (the AWS-provided default not counted),
	// AutoScalingRevisions the active revisions of one name, and
	// AutoScalingMaxSize the MaxSize a configuration may ask for.
	AutoScalingNames     int
	AutoScalingRevisions int
	AutoScalingMaxSize   int

	// VpcConnectors limits ACTIVE VPC connectors, VpcIngressConnections
	// the VPC ingress connections that are not DELETED; zero means the
	// default (DefaultMaxVpcConnectors, DefaultMaxVpcIngressConnections).
	VpcConnectors         int
	VpcIngressConnections int
	// ObservabilityNames limits the names with active observability
	// configuration revisions, ObservabilityRevisions the active revisions
	// of one name.
	ObservabilityNames     int
	ObservabilityRevisions int
}

// DefaultQuotas returns App Runner's default quotas.
func DefaultQuotas() Quotas {
	return Quotas{
		Connections: DefaultMaxConnections, Services: DefaultMaxServices,
		AutoScalingNames: DefaultMaxAutoScalingNames, AutoScalingRevisions: DefaultMaxAutoScalingRevisions,
		AutoScalingMaxSize: DefaultMaxSize,
		ObservabilityNames: DefaultMaxObservabilityNames, ObservabilityRevisions: DefaultMaxObservabilityRevisions,
	}
}
