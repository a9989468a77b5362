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
	// Links go to the router's HTTPS listener when it serves one, as App
	// Runner's console links https://<ServiceUrl>; else to its HTTP one.
	switch {
	case d.tls.ln != nil:
		cfg.ServiceLink = serviceLink("https", d.tls.ln.Addr(), "443")
	case d.routerLn != nil:
		cfg.ServiceLink = serviceLink("http", d.routerLn.Addr(), "80")
	}
}

// serviceLink turns a ServiceUrl into a URL on the listener at addr,
// naming its port unless it is the scheme's default.
func serviceLink(scheme string, addr net.Addr, defaultPort string) func(host string) string {
	_, port, _ := net.SplitHostPort(addr.String())
	return func(host string) string {
		if port == defaultPort {
			return scheme + "://" + host + "/"
		}
		return scheme + "://" + host + ":" + port + "/"
	}
}
