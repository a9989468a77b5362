package router

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// NewTransport returns the http.Transport the router uses by default, tuned
// for many concurrent requests to a few local instances: keep-alive
// connections with a large idle pool per instance, a short dial timeout (an
// instance is near; a retry goes elsewhere), no environment proxy, and no
// transparent gzip (the client's Accept-Encoding goes to the instance as
// sent, and compressed responses come back as they are).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          0, // no global cap; the per-instance cap applies
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// roundTripperFunc adapts a function to http.RoundTripper.
type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// roundTrip sends the outgoing request to the instance chosen by ServeHTTP,
// and retries once on another instance when the connection could not be
// opened and the body is untouched (see the package doc).
func (r *Router) roundTrip(out *http.Request) (*http.Response, error) {
	st := stateOf(out.Context())
	if st == nil {
		return nil, errors.New("router: request has no routing state")
	}
	var body *trackedBody
	if out.Body != nil && out.Body != http.NoBody {
		body = &trackedBody{r: out.Body}
		out.Body = body
	}
	if st.span != nil {
		st.injectTrace(out.Header) // a retry sends the same headers
	}
	b := st.backend
	out.URL.Scheme, out.URL.Host = b.url.Scheme, b.url.Host
	b.requests.Add(1)
	res, err := r.transport.RoundTrip(out)
	if err == nil {
		return res, nil
	}
	if st.client.Err() != nil {
		return nil, err // the client left; not the instance's fault
	}
	b.failures.Add(1)
	if !isDialError(err) || (body != nil && body.read.Load()) || st.Err() != nil {
		return nil, err
	}
	// Prefer the service's current route: during a redeploy the failed
	// instance may be an old one that was just stopped.
	rt := st.route
	if cur := r.current(rt); cur != nil {
		rt = cur
	}
	rt, nb, _ := r.acquire(rt, b)
	if nb == nil {
		return nil, err
	}
	r.release(b, st.route.queue)
	st.route, st.backend, st.retried = rt, nb, true
	r.logger.LogAttrs(st.client, slog.LevelDebug, "retrying on another instance",
		slog.String("host", normalizeHost(out.Host)), slog.String("service", rt.serviceARN), slog.String("failed", b.id), slog.String("instance", nb.id), slog.Any("error", err))

	// A copy, because the transport may still hold the first request while
	// an abandoned dial completes.
	retry := *out
	u := *out.URL
	retry.URL = &u
	retry.URL.Scheme, retry.URL.Host = nb.url.Scheme, nb.url.Host
	nb.requests.Add(1)
	res, err = r.transport.RoundTrip(&retry)
	if err != nil && st.client.Err() == nil {
		nb.failures.Add(1)
	}
	return res, err
}

// trackedBody records whether the request body has been read, so a request
// whose connection failed can be replayed only if the instance cannot have
// seen any of it. Close does nothing: ReverseProxy closes the client's body
// itself when the request ends, and the transport closing it after a failed
// dial must not stop the retry from sending it.
type trackedBody struct {
	r    io.ReadCloser
	read atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

func (b *trackedBody) Close() error { return nil }

// bufferSize is the size of the buffers that copy response bodies, the
// size ReverseProxy allocates when it has no pool.
const bufferSize = 32 << 10

// buffers recycles the copy buffers of ReverseProxy, which would otherwise
// allocate 32 KiB per request. It pools array pointers, which fit in an
// interface without allocating.
var buffers = sync.Pool{New: func() any { return new([bufferSize]byte) }}

// bufferPool is ReverseProxy's view of buffers.
type bufferPool struct{}

func (bufferPool) Get() []byte { return buffers.Get().(*[bufferSize]byte)[:] }

func (bufferPool) Put(b []byte) {
	if cap(b) >= bufferSize {
		buffers.Put((*[bufferSize]byte)(b[:bufferSize]))
	}
}
