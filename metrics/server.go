package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Server is what one server says of itself, when several share a
// database: each is scraped on its own.
type Server struct {
	// ID names the server, as in leases.
	ID string
	// Store names the database ("sqlite", "postgres"); StoreUp reports
	// whether it answers.
	Store   string
	StoreUp bool
	// Leases counts the services this server reconciles.
	Leases int
}

var (
	dServerLeases = prometheus.NewDesc("openrunner_server_leases",
		"Services this server holds the lease of, and so reconciles and runs instances of.", []string{"server"}, nil)
	dStoreUp = prometheus.NewDesc("openrunner_server_store_up",
		"1 when this server's database answers, else 0.", []string{"server", "store"}, nil)
)

// serverCollector reports a Server.
type serverCollector struct{ server func() Server }

func (c serverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dServerLeases
	ch <- dStoreUp
}

func (c serverCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.server()
	up := 0.0
	if s.StoreUp {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(dServerLeases, prometheus.GaugeValue, float64(s.Leases), s.ID)
	ch <- prometheus.MustNewConstMetric(dStoreUp, prometheus.GaugeValue, up, s.ID, s.Store)
}
