package daemon

import (
	"context"
	"time"

	"github.com/openrunner/openrunner/router"
	"github.com/openrunner/openrunner/tracing"
)

// openTracing sets up the export of traced services' spans to
// Config.OTLPEndpoint; without one the router traces nothing.
func (d *Daemon) openTracing() (router.Tracers, error) {
	if d.cfg.OTLPEndpoint == "" {
		return nil, nil
	}
	t, err := tracing.New(tracing.Options{Endpoint: d.cfg.OTLPEndpoint, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	d.tracing = t
	d.logger.Info("exporting traces", "otlp_endpoint", t.Endpoint())
	return t, nil
}

// closeTracing flushes the spans not yet exported, waiting at most 5 s
// for the collector. A collector that is gone costs the spans, not the
// shutdown: the failure is logged.
func (d *Daemon) closeTracing() error {
	if d.tracing == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.tracing.Close(ctx); err != nil {
		d.logger.Warn("flushing traces", "otlp_endpoint", d.tracing.Endpoint(), "error", err)
	}
	d.tracing = nil
	return nil
}
