package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// DefaultTimeout is the request timeout when Options.Timeout is zero: App
// Runner's fixed limit of 120 seconds.
const DefaultTimeout = 120 * time.Second

// flushInterval bounds how long response bytes wait in the router's buffer
// before being sent to the client. ReverseProxy already relays streamed
// responses (no Content-Length, or text/event-stream) chunk by chunk without
// waiting; this covers a response of known length whose body trickles in.
// It is not -1 (flush after every write) because that costs every response
// an extra goroutine and write syscall: measured 3.6 writes per request
// against 2.5 with this setting.
const flushInterval = 10 * time.Millisecond

// StatusClientClosedRequest is the status the router logs (nginx's 499) for
// a request whose client went away before the instance answered.
const StatusClientClosedRequest = 499

// Options configures a Router. The zero value is ready to use.
type Options struct {
	// Timeout bounds each request, from the moment the router receives it
	// until the response body has been relayed. An instance that has not
	// answered by then gets the client a 504; a response cut short is
	// aborted. Upgraded connections are exempt once upgraded. Zero means
	// DefaultTimeout (120 s).
	Timeout time.Duration
	// Transport carries requests to instances. Nil means a transport from
	// NewTransport, shared by all routes. The router's retry rule (see the
	// package doc) relies on dial failures surfacing as *net.OpError with
	// Op "dial", as http.Transport reports them.
	Transport http.RoundTripper
	// TrustForwardedHeaders keeps the X-Forwarded-Host and X-Forwarded-Proto
	// headers a client sends instead of overwriting them. Set it only when
	// every client is a proxy you run (a TLS terminator in front of the
	// router); otherwise clients could claim any host or scheme.
	// X-Forwarded-For is always appended to, never replaced.
	TrustForwardedHeaders bool
	// Logger receives warnings about failing instances and, at Debug level,
	// one access-log line per request. Nil discards everything.
	Logger *slog.Logger
	// Now returns the current time, for access-log durations and Stats.At.
	// Nil means time.Now. (Request timeouts, queue timeouts and the Latency
	// histogram use the runtime's monotonic clock.)
	Now func() time.Time

	// QueueSize is the most requests that wait in one service's queue,
	// for a free slot (every instance at MaxConcurrency) or for a cold
	// start (Route.Activate); a request that finds the queue full gets 429
	// at once. Zero means DefaultQueueSize (100). Negative disables the
	// queue: 429 at once when every instance is full, and 503 at once
	// (after calling OnDemand) when an activating route has no instance.
	QueueSize int
	// QueueTimeout is how long a request waits in its service's queue for
	// a slot before it gets 429. Zero means DefaultQueueTimeout (10 s).
	QueueTimeout time.Duration
	// ColdStartTimeout is how long a request for an activating route
	// without instances waits for one before it gets 503. Zero means
	// DefaultColdStartTimeout (60 s).
	//
	// Time spent waiting counts against Timeout: a request waits no longer
	// than Timeout, whatever QueueTimeout and ColdStartTimeout say.
	ColdStartTimeout time.Duration
	// OnDemand, if set, is called with a service's ARN when a request
	// arrives for its route while the route activates (Route.Activate) and
	// has no instance, so that an autoscaler starts one. It runs in a
	// goroutine of its own, at most once per 100 ms per service; the router
	// does not wait for it. Instances it starts reach the waiting requests
	// through SetRoute.
	OnDemand func(serviceARN string)
	// Tracers traces the requests of routes with a Trace; nil traces
	// nothing.
	Tracers Tracers
}

// Router is the data plane's HTTP handler: it serves every route's hosts by
// proxying to that route's instances. Its methods are safe for concurrent
// use. Create one with New.
type Router struct {
	timeout        time.Duration
	transport      http.RoundTripper
	trustForwarded bool
	logger         *slog.Logger
	now            func() time.Time
	proxy          *httputil.ReverseProxy

	queueSize        int // negative: no queue
	queueTimeout     time.Duration
	coldStartTimeout time.Duration
	onDemand         func(serviceARN string)
	tracers          Tracers
	epoch            time.Time // monotonic origin of reqState.began and waitQueue.lastDemand

	// table holds the routes by host and by service. A table is never
	// modified once stored: writers copy it under mu and store the copy, so
	// the request path reads it without a lock.
	table atomic.Pointer[table]

	ingress ingress // VPC ingress domains, for Private

	mu       sync.Mutex          // serializes route writers
	backends map[string]*backend // every routed or draining instance, by ID; guarded by mu
}

// New returns a Router configured by opts, with no routes.
func New(opts Options) *Router {
	r := &Router{
		timeout:        opts.Timeout,
		transport:      opts.Transport,
		trustForwarded: opts.TrustForwardedHeaders,
		logger:         opts.Logger,
		now:            opts.Now,
		backends:       make(map[string]*backend),

		queueSize:        opts.QueueSize,
		queueTimeout:     opts.QueueTimeout,
		coldStartTimeout: opts.ColdStartTimeout,
		onDemand:         opts.OnDemand,
		tracers:          opts.Tracers,
		epoch:            time.Now(),
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.queueSize == 0 {
		r.queueSize = DefaultQueueSize
	}
	if r.queueTimeout <= 0 {
		r.queueTimeout = DefaultQueueTimeout
	}
	if r.coldStartTimeout <= 0 {
		r.coldStartTimeout = DefaultColdStartTimeout
	}
	if r.transport == nil {
		r.transport = NewTransport()
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.table.Store(&table{hosts: map[string]*route{}, services: map[string]*route{}})
	r.proxy = &httputil.ReverseProxy{
		Rewrite:        r.rewrite,
		Transport:      roundTripperFunc(r.roundTrip),
		FlushInterval:  flushInterval,
		BufferPool:     bufferPool{},
		ErrorHandler:   r.proxyError,
		ModifyResponse: r.modifyResponse,
		// ReverseProxy logs only oddities (copy errors in tests, a bad
		// trailer); send them to our logger rather than the global one.
		ErrorLog: slog.NewLogLogger(r.logger.Handler(), slog.LevelWarn),
	}
	return r
}

// reqState is the routing state of one proxied request. It is the request's
// context, so that the ReverseProxy hooks (which see only the outgoing
// request) can find it without another allocation.
type reqState struct {
	context.Context // the client's context plus the request timeout

	client  context.Context // the client's context, to tell "client left" from "timed out"
	route   *route
	stats   *serviceStats
	backend *backend  // the instance the request is on; changed by a retry
	start   time.Time // for the access log, from Options.Now
	began   int64     // when the router received the request, ns since Router.epoch, for Latency
	status  int
	log     bool // whether to write an access-log line
	retried bool

	// Upgrade requests only: the request timeout runs on a timer that
	// stops once the instance accepts the upgrade.
	upgraded bool
	timedOut atomic.Bool
	timer    *time.Timer

	// Traced requests only: the server span and the route's tracing.
	span  trace.Span
	trace *traceRoute
}

type stateKey struct{}

// Value returns the reqState itself for stateKey and defers to the embedded
// context otherwise.
func (s *reqState) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return s
	}
	return s.Context.Value(key)
}

func stateOf(ctx context.Context) *reqState {
	s, _ := ctx.Value(stateKey{}).(*reqState)
	return s
}

// expired reports whether the request timeout has passed.
func (s *reqState) expired() bool {
	return s.timedOut.Load() || errors.Is(s.Err(), context.DeadlineExceeded)
}

// ServeHTTP routes req by its Host header; see the package doc.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rt := r.lookup(req.Host)
	if rt == nil || rt.private {
		// A private service's hosts answer exactly as unknown ones do.
		r.reply(w, req, http.StatusNotFound, fmt.Sprintf("No service has the host %q.", trimHost(req.Host)))
		return
	}
	r.serve(w, req, rt)
}

// serve proxies req to one of rt's instances.
func (r *Router) serve(w http.ResponseWriter, req *http.Request, rt *route) {
	began := time.Now()
	rt.stats.requests.Add(1)
	var b *backend
	res := allFull
	// Requests that arrive while others wait queue behind them.
	if rt.queue.waiting.Load() == 0 {
		rt, b, res = r.acquire(rt, nil)
	}
	if res != acquired {
		var ok bool
		if rt, b, ok = r.wait(w, req, rt, res, began); !ok {
			return
		}
	}

	st := &reqState{client: req.Context(), route: rt, stats: rt.stats, backend: b, began: int64(began.Sub(r.epoch))}
	st.stats.inFlight.Add(1)
	if st.log = r.logger.Enabled(st.client, slog.LevelDebug); st.log {
		st.start = r.now()
	}
	if rt.trace != nil {
		st.startSpan(rt.trace, req, began)
	}
	// The timeout runs from the request's arrival, time in the queue
	// included.
	deadline := began.Add(r.timeout)
	var cancel context.CancelFunc
	if isUpgrade(req) {
		// The timeout covers the upgrade handshake only; modifyResponse
		// stops the timer when the instance switches protocols.
		st.Context, cancel = context.WithCancel(st.client)
		st.timer = time.AfterFunc(time.Until(deadline), func() {
			st.timedOut.Store(true)
			cancel()
		})
	} else {
		st.Context, cancel = context.WithDeadline(st.client, deadline)
	}
	// Deferred so that it also runs when ReverseProxy aborts a response with
	// http.ErrAbortHandler (a body cut short); the panic goes on to net/http.
	defer r.finish(st, cancel, req)
	r.proxy.ServeHTTP(w, req.WithContext(st))
}

// finish releases what ServeHTTP acquired and writes the access log.
func (r *Router) finish(st *reqState, cancel context.CancelFunc, req *http.Request) {
	if st.timer != nil {
		st.timer.Stop()
	}
	cancel()
	st.stats.inFlight.Add(-1)
	if st.upgraded {
		st.stats.responses[1].Add(1)
	} else {
		st.stats.record(st.status, time.Since(r.epoch)-time.Duration(st.began))
	}
	r.release(st.backend, st.route.queue)
	if st.span != nil {
		st.endSpan()
	}
	if st.log {
		r.logger.LogAttrs(st.client, slog.LevelDebug, "request",
			slog.String("host", normalizeHost(req.Host)),
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Int("status", st.status),
			slog.String("instance", st.backend.id),
			slog.Bool("retried", st.retried),
			slog.Duration("duration", r.now().Sub(st.start)),
			slog.String("remote", req.RemoteAddr),
		)
	}
}

// rewrite builds the request to the instance. The instance's address is set
// by roundTrip, which may change it on a retry; the Host header stays the
// client's.
func (r *Router) rewrite(pr *httputil.ProxyRequest) {
	// ReverseProxy has removed the client's X-Forwarded-* headers from Out.
	// Bring X-Forwarded-For back so that SetXForwarded appends to it.
	if xff := pr.In.Header["X-Forwarded-For"]; len(xff) > 0 {
		pr.Out.Header["X-Forwarded-For"] = xff
	}
	pr.SetXForwarded()
	if r.trustForwarded {
		for _, k := range []string{"X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v := pr.In.Header[k]; len(v) > 0 {
				pr.Out.Header[k] = v
			}
		}
	}
}

// modifyResponse records the status, and ends the timeout of an upgraded
// connection.
func (r *Router) modifyResponse(res *http.Response) error {
	st := stateOf(res.Request.Context())
	st.status = res.StatusCode
	if res.StatusCode == http.StatusSwitchingProtocols {
		st.upgraded = true
		if st.timer != nil {
			// If the timer already fired, the context is cancelled and
			// ReverseProxy closes the connection at once: the timeout won.
			st.timer.Stop()
		}
	}
	return nil
}

// proxyError answers a request that ReverseProxy could not complete: 504 on
// timeout, 499 (not seen by anyone) if the client left, 502 otherwise.
func (r *Router) proxyError(w http.ResponseWriter, out *http.Request, err error) {
	st := stateOf(out.Context())
	rt := st.route
	attrs := []slog.Attr{
		slog.String("host", normalizeHost(out.Host)),
		slog.String("service", rt.serviceARN),
		slog.String("instance", st.backend.id),
		slog.String("method", out.Method),
		slog.String("path", out.URL.Path),
		slog.Any("error", err),
	}
	switch {
	case st.upgraded:
		// The connection was hijacked: there is no response left to write.
		r.logger.LogAttrs(st.client, slog.LevelDebug, "upgraded connection failed", attrs...)
	case st.client.Err() != nil:
		st.status = StatusClientClosedRequest
		w.WriteHeader(StatusClientClosedRequest)
		r.logger.LogAttrs(st.client, slog.LevelDebug, "client closed the request", attrs...)
	case st.expired() || isTimeout(err):
		st.stats.failed.Add(1)
		r.logFailure(st, "instance did not answer within the request timeout", attrs)
		st.status = http.StatusGatewayTimeout
		r.writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("Service %q did not answer within the request timeout of %s.", rt.name, formatSeconds(r.timeout)))
	default:
		st.stats.failed.Add(1)
		r.logFailure(st, "instance failed", attrs)
		st.status = http.StatusBadGateway
		msg := fmt.Sprintf("Service %q: the instance closed the connection or sent an invalid response.", rt.name)
		if isDialError(err) {
			msg = fmt.Sprintf("Service %q: could not connect to an instance.", rt.name)
		}
		r.writeError(w, http.StatusBadGateway, msg)
	}
}

// logFailure logs a failed request at Warn, at most once a second per
// instance so that a dead instance under load does not flood the log; the
// others go to Debug, and the next warning says how many there were.
func (r *Router) logFailure(st *reqState, msg string, attrs []slog.Attr) {
	b := st.backend
	now := r.now().UnixNano()
	last := b.lastWarn.Load()
	if now-last < int64(time.Second) || !b.lastWarn.CompareAndSwap(last, now) {
		b.quiet.Add(1)
		r.logger.LogAttrs(st.client, slog.LevelDebug, msg, attrs...)
		return
	}
	if n := b.quiet.Swap(0); n > 0 {
		attrs = append(attrs, slog.Int64("similar_since_last_warning", n))
	}
	r.logger.LogAttrs(st.client, slog.LevelWarn, msg, attrs...)
}

// reply writes an error the router decided on before proxying, and its
// access-log line, for a request that no route takes (so no Stats).
func (r *Router) reply(w http.ResponseWriter, req *http.Request, code int, msg string) {
	r.writeError(w, code, msg)
	r.logRequest(req, code)
}

// logRequest writes the access-log line of a request the router answered
// itself.
func (r *Router) logRequest(req *http.Request, code int) {
	if r.logger.Enabled(req.Context(), slog.LevelDebug) {
		r.logger.LogAttrs(req.Context(), slog.LevelDebug, "request",
			slog.String("host", req.Host),
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Int("status", code),
			slog.String("remote", req.RemoteAddr),
		)
	}
}

// writeError writes a router-generated error: one plain-text sentence.
func (r *Router) writeError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	http.Error(w, msg, code)
}

// isUpgrade reports whether req asks to switch protocols (WebSocket).
func isUpgrade(req *http.Request) bool {
	if req.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range req.Header["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// isDialError reports whether err means no connection to the instance could
// be opened, so the instance never saw the request.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// isTimeout reports whether err is a network timeout (a dial that timed
// out, for instance).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// formatSeconds formats d for error messages: "120s" rather than "2m0s".
func formatSeconds(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
