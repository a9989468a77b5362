package daemon

import (
	"net"

	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/console"
	"github.com/openrunner/openrunner/metrics"
)

// consoleServices gives the console what its service pages use: the App
// Runner operations in-process, the logs, the metrics history and links
// to services through the router. Without services the pages say so.
func (d *Daemon) consoleServices(cfg *console.Config, svc *api.Server) {
	cfg.API = svc
	if d.logs != nil {
		cfg.Logs = d.logs
	}
	if d.metrics != nil {
		d.history = &metrics.History{Source: d.metrics, Interval: d.cfg.MetricsSampleInterval, Now: d.cfg.Now}
		d.history.Start()
		cfg.Metrics, cfg.MetricsInterval = d.history.Series, d.cfg.MetricsSampleInterval
	}
	if d.routerLn != nil {
		_, port, _ := net.SplitHostPort(d.routerLn.Addr().String())
		cfg.ServiceLink = func(host string) string {
			if port == "80" {
				return "http://" + host + "/"
			}
			return "http://" + host + ":" + port + "/"
		}
	}
}
