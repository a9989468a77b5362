package reconcile

import (
	"maps"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/router"
)

// Environment variables a traced revision's instances get, so that an app
// instrumented with an OpenTelemetry SDK joins the router's traces.
const (
	EnvOTLPEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvServiceName  = "OTEL_SERVICE_NAME"
	EnvPropagators  = "OTEL_PROPAGATORS"
	// Propagators are W3C trace context and X-Ray, the two headers the
	// router sends.
	Propagators = "tracecontext,xray"
)

// routeTrace says how the router traces rev's requests: nil unless its
// configuration enables observability with a trace configuration.
func routeTrace(svc *openrunner.Service, rev *openrunner.Revision) *router.Trace {
	if rev == nil || !rev.Config.Observability.Traced() {
		return nil
	}
	return &router.Trace{ServiceName: svc.Name, RevisionID: rev.ID}
}

// tracingEnv adds the OpenTelemetry variables to a traced revision's
// instance environment. A variable the service sets itself wins.
func (c *Controller) tracingEnv(in *openrunner.InstanceSpec, svc *openrunner.Service, rev *openrunner.Revision) {
	if !rev.Config.Observability.Traced() {
		return
	}
	env := map[string]string{EnvServiceName: svc.Name, EnvPropagators: Propagators}
	if c.OTLPEndpoint != "" {
		env[EnvOTLPEndpoint] = c.OTLPEndpoint
	}
	maps.Copy(env, in.Env)
	in.Env = env
}

// sayTracing tells a deployment's log that a traced revision's traces
// have nowhere to go when this server has no collector; the deployment
// goes on.
func (c *Controller) sayTracing(svc *openrunner.Service, op *openrunner.Operation, rev *openrunner.Revision) {
	if rev.Config.Observability.Traced() && c.OTLPEndpoint == "" {
		c.eventf(svc, op, "Tracing is enabled by the observability configuration %s, but this OpenRunner has no --otlp-endpoint: traces have nowhere to go.",
			rev.Config.Observability.ConfigurationARN)
	}
}
