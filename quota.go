package openrunner

// Quotas are the per-account, per-Region resource limits. App Runner's
// defaults are in DefaultQuotas; operators may raise or lower them.
type Quotas struct {
	Connections int // live connections
	Services    int // services that are not DELETED
}

// DefaultQuotas returns App Runner's default quotas.
func DefaultQuotas() Quotas {
	return Quotas{Connections: DefaultMaxConnections, Services: DefaultMaxServices}
}
