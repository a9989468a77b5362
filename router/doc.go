// Package router is OpenRunner's data plane: an HTTP reverse proxy that
// serves each service at its hosts (its ServiceUrl host, and its custom
// domains) and spreads requests over the service's healthy instances.
//
// A [Router] is a [net/http.Handler]. The control plane tells it what to
// serve with [Router.SetRoute] (one [Route] per service, keyed by its
// ServiceARN: its hosts, the healthy instances of the revision that takes
// traffic, whether the service is paused, its MaxConcurrency, and whether
// it activates from zero instances),
// [Router.DeleteRoute] and [Router.Drain]. A host belongs to at most one
// service at a time: SetRoute refuses a host that another service's route
// lists, so moving a host between services takes two calls, the first
// dropping it. Health checking is the caller's job: a Route lists only
// instances that passed it, so a new revision receives traffic exactly when
// the deployer puts its instances in the Route.
//
// # Request path
//
// For each request the router:
//
//  1. Looks the Host header up in the index of every route's hosts,
//     ignoring case, a trailing dot and the port. The lookup reads an
//     immutable map through an atomic pointer and takes no lock. Unknown
//     host: 404.
//  2. Answers 503 if the service is paused, or has no healthy instance and
//     does not activate (see Queueing and activation).
//  3. Picks the instance with the fewest requests in flight (ties go round
//     robin) whose in-flight count is below MaxConcurrency. If every
//     instance is at its limit, or other requests of the service already
//     wait, the request waits in the service's queue.
//  4. Proxies over one shared, tuned [net/http.Transport]: the Host header
//     is passed through unchanged, X-Forwarded-For is appended to,
//     X-Forwarded-Host and X-Forwarded-Proto are set, hop-by-hop headers
//     are dropped, and every chunk of a response body is sent on to the
//     client as soon as it arrives (a small body costs one write). The
//     router relays ordinary requests itself (proxy.go), sharing the
//     client's header values rather than copying them, and leaves protocol
//     upgrades (WebSocket) to [net/http/httputil.ReverseProxy].
//     Informational responses (1xx) other than 101 are not relayed.
//  5. Applies the request timeout (120 s by default, App Runner's fixed
//     limit) to the whole exchange, time in the queue included: if the
//     instance has not sent response
//     headers by then the client gets 504; a response already under way is
//     cut off. An upgraded connection is exempt once the instance has
//     accepted the upgrade; it counts as one request in flight until it
//     closes.
//  6. Maps other upstream failures to 502, and a client that went away to
//     499 (logged only).
//
// Error responses written by the router are short plain-text sentences that
// name the service; internal causes go to the log only.
//
// # Queueing and activation
//
// Each service has a bounded FIFO queue. A request that finds every
// instance at MaxConcurrency waits there, and gets a slot as soon as a
// request on one of the route's instances ends or a SetRoute adds capacity
// (more instances, a higher MaxConcurrency); requests arriving while others
// wait queue behind them rather than take the freed slots. A request gets
// 429 Too Many Requests with Retry-After: 1 when it has waited
// [Options.QueueTimeout] (10 s by default), or at once when the queue
// already holds [Options.QueueSize] requests (100 by default); overload
// produces no other status. A client that leaves while queued is taken out
// of the queue (499, logged only).
//
// A route with [Route.Activate] belongs to a service that scaled to zero
// and starts an instance on demand. A request that finds it without
// instances waits in the same queue, for up to [Options.ColdStartTimeout]
// (60 s by default), and the router calls [Options.OnDemand] (in its own
// goroutine, at most once per 100 ms per service) so that the autoscaler
// starts an instance; the SetRoute that lists it serves the waiting requests
// in order. A SetRoute that leaves the route without instances and without
// Activate (the cold start failed) answers them 503, and so does a cold
// start that takes too long: a failed activation is unavailability, not
// overload. A route that is paused, deleted or left without instances (and
// not activating) answers the requests waiting for it as a new request
// would be answered (503, 404).
//
// The request path stays lock-free while the service has capacity: the
// queue's lock is taken only by requests that must wait, by requests
// ending while others wait, and by route changes.
//
// # Retries
//
// A request is retried once, on another instance of the service's route as
// it is then, when the connection to the first instance could not be opened (the
// dial failed: refused, unreachable, timed out) and not one byte of the
// request body was read. Both conditions mean the instance never saw the
// request, so the retry is safe for any method. Nothing else is retried:
// once a request may have reached an instance, a retry could run it twice.
//
// # Deployments and draining
//
// SetRoute replaces a service's route atomically, hosts included. Requests
// already on an instance that the new route drops run to completion; new
// requests go only to the new instances. A deployer stops an old instance
// only after [Router.WaitIdle] reports it idle. To stop one instance of a
// service that goes on (scale-down, replacement), the runtime calls
// [Router.Drain], which takes the instance out of every route at once and
// then waits like WaitIdle. The router guarantees that once an instance that
// no route lists has been seen idle it receives no further request, so a
// redeploy or a scale-down under steady load loses no request. A request
// that races with an instance stopped without draining (or crashing) is
// covered by the dial retry above.
//
// # Serving
//
// Serve a Router with an [net/http.Server] that has a ReadHeaderTimeout and
// no WriteTimeout: the router's own timeout bounds each request, and a
// WriteTimeout would also cut streamed responses and upgraded connections.
// With a base domain under localhost (abc123defg.us-east-1.localhost),
// browsers and curl reach the router on the loopback address with no DNS
// set-up; other clients can send the Host header to 127.0.0.1.
//
// # Metrics
//
// [Router.Stats] returns per-service and per-instance counters (in flight,
// waiting in the queue, totals, throttled, unavailable, failed, responses
// by status class whoever wrote them, clients that left) and a latency
// histogram with fixed buckets ([LatencyBuckets]), summed over the
// service's hosts. They survive SetRoute, host changes included, and
// DeleteRoute resets them. [Router.Services] lists the routed services.
// Neither takes a lock, so an autoscaler or a metrics exporter can sample
// them as often as it likes; the counters are updated with atomic
// operations on the request path.
package router
