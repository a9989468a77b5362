// Package metrics serves OpenRunner's figures in the Prometheus text
// format at /_openrunner/metrics: App Runner's CloudWatch service metrics
// (ActiveInstances, Concurrency, Requests by status class, throttled
// requests, RequestLatency), per service, labelled service_name and
// service_arn. It reads them at each scrape from a Source; nothing is
// kept here. The server's Go runtime and process figures (go_*, process_*)
// come with them.
package metrics

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Service is what one service's metrics are made of at a scrape.
type Service struct {
	Name, ARN string
	// Active counts the ready instances of the active revision; Desired
	// is the count the reconciler converges on.
	Active, Desired int
	// Concurrency is the requests in flight plus those waiting.
	Concurrency float64
	// Responses counts the responses by class, "2xx", "4xx", "5xx".
	Responses map[string]uint64
	// Throttled counts the 429s of overload.
	Throttled uint64
	// Latency is the request duration histogram: cumulative counts per
	// upper bound in seconds, the count and the sum.
	Latency Histogram
}

// Histogram is a cumulative histogram, as Prometheus takes it.
type Histogram struct {
	Buckets map[float64]uint64
	Count   uint64
	Sum     float64
}

// Source lists the services to report. It is called once per scrape.
type Source func(ctx context.Context) ([]Service, error)

var (
	labels  = []string{"service_name", "service_arn"}
	dActive = prometheus.NewDesc("openrunner_service_active_instances",
		"Instances of the service's active revision that serve traffic (App Runner's ActiveInstances).", labels, nil)
	dDesired = prometheus.NewDesc("openrunner_service_desired_instances",
		"Instances the service should run, as the autoscaler decided.", labels, nil)
	dConcurrency = prometheus.NewDesc("openrunner_service_concurrency",
		"Requests being served or waiting for an instance (App Runner's Concurrency).", labels, nil)
	dRequests = prometheus.NewDesc("openrunner_service_requests_total",
		"Responses sent, by status class (App Runner's Requests and 2xx/4xx/5xxStatusResponses).", append(labels, "code_class"), nil)
	dThrottled = prometheus.NewDesc("openrunner_service_throttled_requests_total",
		"Requests answered 429 because every instance was at its maximum concurrency.", labels, nil)
	dDuration = prometheus.NewDesc("openrunner_service_request_duration_seconds",
		"Time from receiving a request to the end of its response (App Runner's RequestLatency).", labels, nil)
)

// collector turns a Source into Prometheus metrics.
type collector struct {
	source Source
	logger *slog.Logger
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dActive, dDesired, dConcurrency, dRequests, dThrottled, dDuration} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	services, err := c.source(ctx)
	if err != nil {
		c.logger.Warn("metrics: listing services", "error", err)
		return
	}
	for _, s := range services {
		lv := []string{s.Name, s.ARN}
		ch <- prometheus.MustNewConstMetric(dActive, prometheus.GaugeValue, float64(s.Active), lv...)
		ch <- prometheus.MustNewConstMetric(dDesired, prometheus.GaugeValue, float64(s.Desired), lv...)
		ch <- prometheus.MustNewConstMetric(dConcurrency, prometheus.GaugeValue, s.Concurrency, lv...)
		for _, class := range []string{"2xx", "4xx", "5xx"} {
			ch <- prometheus.MustNewConstMetric(dRequests, prometheus.CounterValue, float64(s.Responses[class]), append(lv, class)...)
		}
		ch <- prometheus.MustNewConstMetric(dThrottled, prometheus.CounterValue, float64(s.Throttled), lv...)
		ch <- prometheus.MustNewConstHistogram(dDuration, s.Latency.Count, s.Latency.Sum, s.Latency.Buckets, lv...)
	}
}

// Options configure a Handler.
type Options struct {
	// Token, when set, must come as "Authorization: Bearer <token>".
	Token string
	// Logger receives scrape errors; nil discards them.
	Logger *slog.Logger
	// Server, when set, adds this server's own figures (its leases, its
	// database's state).
	Server func() Server
}

// NewHandler serves the metrics of source. With a Token, a request without
// it gets 401.
func NewHandler(source Source, opts Options) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	// And the server's own figures (go_*, process_*): heap, goroutines,
	// resident memory, open file descriptors.
	reg.MustRegister(&collector{source: source, logger: logger}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.Server != nil {
		reg.MustRegister(serverCollector{server: opts.Server})
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)})
	if opts.Token == "" {
		return h
	}
	want := []byte("Bearer " + opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="openrunner metrics"`)
			http.Error(w, "The metrics need the bearer token of --metrics-token-file.", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
