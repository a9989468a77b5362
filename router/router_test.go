package router_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrunner/openrunner/router"
)

func TestRouter_Errors(t *testing.T) {
	_, live := MustBackend(t, "i-1", Hello("i-1"))
	r, srv := MustRouter(t, router.Options{})
	c := NewClient(t)
	arn := "arn:aws:apprunner:us-east-1:000000000000:service/my-svc/0123456789abcdef0123456789abcdef"

	t.Run("ErrUnknownHost", func(t *testing.T) {
		res := Do(t, c, "GET", srv.URL, "nope.us-east-1.localhost:8080", "")
		if got, want := res.Code, http.StatusNotFound; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if got, want := res.Body, "No service has the host \"nope.us-east-1.localhost\".\n"; got != want {
			t.Fatalf("body=%q, want %q", got, want)
		}
	})
	t.Run("ErrPaused", func(t *testing.T) {
		MustSetRoute(t, r, router.Route{ServiceARN: arn, Hosts: []string{testHost}, Paused: true, Instances: []router.Instance{live}})
		res := Do(t, c, "GET", srv.URL, testHost, "")
		if got, want := res.Code, http.StatusServiceUnavailable; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if got, want := res.Body, "Service \"my-svc\" is paused. Resume it to serve requests again.\n"; got != want {
			t.Fatalf("body=%q, want %q", got, want)
		}
	})
	t.Run("ErrNoHealthyInstance", func(t *testing.T) {
		MustSetRoute(t, r, router.Route{ServiceARN: arn, Hosts: []string{testHost}, ServiceName: "named"})
		res := Do(t, c, "GET", srv.URL, testHost, "")
		if got, want := res.Code, http.StatusServiceUnavailable; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if got, want := res.Body, "Service \"named\" has no healthy instance to serve this request. Try again shortly.\n"; got != want {
			t.Fatalf("body=%q, want %q", got, want)
		}
	})
	t.Run("ErrConnectionRefused", func(t *testing.T) {
		MustSetRoute(t, r, router.Route{ServiceARN: arn, Hosts: []string{testHost}, Instances: []router.Instance{DeadInstance(t, "dead")}})
		res := Do(t, c, "GET", srv.URL, testHost, "")
		if got, want := res.Code, http.StatusBadGateway; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if got, want := res.Body, "Service \"my-svc\": could not connect to an instance.\n"; got != want {
			t.Fatalf("body=%q, want %q", got, want)
		}
	})
	t.Run("Stats", func(t *testing.T) {
		s := MustServiceStats(t, r, arn)
		if got, want := s.Requests, uint64(3); got != want {
			t.Errorf("Requests=%d, want %d", got, want)
		}
		if got, want := s.Unavailable, uint64(2); got != want {
			t.Errorf("Unavailable=%d, want %d", got, want)
		}
		if got, want := s.Failed, uint64(1); got != want {
			t.Errorf("Failed=%d, want %d", got, want)
		}
		if got, want := s.InFlight, int64(0); got != want {
			t.Errorf("InFlight=%d, want %d", got, want)
		}
		if got, want := s.ServiceARN, arn; got != want {
			t.Errorf("ServiceARN=%q, want %q", got, want)
		}
		if got, want := s.Hosts, []string{testHost}; !slices.Equal(got, want) {
			t.Errorf("Hosts=%q, want %q", got, want)
		}
	})
	t.Run("DeleteRoute", func(t *testing.T) {
		r.DeleteRoute("arn:of-another-service") // unknown: nothing happens
		if got, want := Do(t, c, "GET", srv.URL, testHost, "").Code, http.StatusBadGateway; got != want {
			t.Fatalf("after deleting another service: status=%d, want %d", got, want)
		}
		r.DeleteRoute(arn)
		if got, want := Do(t, c, "GET", srv.URL, testHost, "").Code, http.StatusNotFound; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if _, ok := r.Stats(arn); ok {
			t.Fatal("Stats found a deleted route")
		}
		// A route set again starts its counters afresh.
		MustSetRoute(t, r, router.Route{ServiceARN: arn, Hosts: []string{testHost}, Instances: []router.Instance{live}})
		if got := MustServiceStats(t, r, arn).Requests; got != 0 {
			t.Fatalf("Requests=%d after DeleteRoute and SetRoute, want 0", got)
		}
	})
}

func TestRouter_HostMatching(t *testing.T) {
	_, in := MustBackend(t, "i-1", Hello("i-1"))
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{"ABC123defg.us-east-1.localhost:9999"}, Instances: []router.Instance{in}})
	c := NewClient(t)
	for _, host := range []string{testHost, "ABC123DEFG.US-EAST-1.LOCALHOST", testHost + ":8080", testHost + ".", testHost + ".:80"} {
		if got, want := Do(t, c, "GET", srv.URL, host, "").Body, "hello from i-1"; got != want {
			t.Errorf("Host %q: body=%q, want %q", host, got, want)
		}
	}
	if got, want := Do(t, c, "GET", srv.URL, "xabc123defg.us-east-1.localhost", "").Code, http.StatusNotFound; got != want {
		t.Errorf("status=%d, want %d", got, want)
	}
}

func TestRouter_SetRouteValidation(t *testing.T) {
	r := router.New(router.Options{})
	u := MustParseURL(t, "http://127.0.0.1:1")
	for name, rt := range map[string]router.Route{
		"ErrNoServiceARN":  {Hosts: []string{testHost}, Instances: []router.Instance{{ID: "a", URL: u}}},
		"ErrNoHost":        {ServiceARN: testARN, Instances: []router.Instance{{ID: "a", URL: u}}},
		"ErrEmptyHost":     {ServiceARN: testARN, Hosts: []string{testHost, ":8080"}},
		"ErrNoID":          {ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{{URL: u}}},
		"ErrNoURL":         {ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{{ID: "a"}}},
		"ErrBadScheme":     {ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{{ID: "a", URL: MustParseURL(t, "ftp://h")}}},
		"ErrDuplicateID":   {ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{{ID: "a", URL: u}, {ID: "a", URL: u}}},
		"ErrNegativeLimit": {ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if err := r.SetRoute(rt); err == nil {
				t.Fatal("SetRoute succeeded")
			}
		})
	}
	t.Run("ErrIDWithOtherURL", func(t *testing.T) {
		MustSetRoute(t, r, router.Route{ServiceARN: "one", Hosts: []string{"one.localhost"}, Instances: []router.Instance{{ID: "a", URL: u}}})
		err := r.SetRoute(router.Route{ServiceARN: "two", Hosts: []string{"two.localhost"}, Instances: []router.Instance{{ID: "a", URL: MustParseURL(t, "http://127.0.0.1:2")}}})
		if err == nil {
			t.Fatal("SetRoute succeeded")
		}
		if _, ok := r.Stats("two"); ok {
			t.Fatal("a failed SetRoute added a route")
		}
	})
}

func TestRouter_ForwardedHeaders(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	var gotHost string
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got, gotHost = r.Header.Clone(), r.Host
		mu.Unlock()
	})
	send := func(t *testing.T, trust bool) (http.Header, string) {
		r, srv := MustRouter(t, router.Options{TrustForwardedHeaders: trust})
		MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}})
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		req.Host = testHost + ":8443"
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "evil.example")
		req.Header.Set("Forwarded", "for=198.51.100.1")
		res, err := NewClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		return got, gotHost
	}
	t.Run("OK", func(t *testing.T) {
		h, host := send(t, false)
		for _, c := range []struct{ name, got, want string }{
			{"Host", host, testHost + ":8443"},
			{"X-Forwarded-For", h.Get("X-Forwarded-For"), "203.0.113.7, 127.0.0.1"},
			{"X-Forwarded-Proto", h.Get("X-Forwarded-Proto"), "http"},
			{"X-Forwarded-Host", h.Get("X-Forwarded-Host"), testHost + ":8443"},
			{"Forwarded", h.Get("Forwarded"), ""},
		} {
			if c.got != c.want {
				t.Errorf("%s=%q, want %q", c.name, c.got, c.want)
			}
		}
	})
	t.Run("TrustForwardedHeaders", func(t *testing.T) {
		h, _ := send(t, true)
		for _, c := range []struct{ name, got, want string }{
			{"X-Forwarded-For", h.Get("X-Forwarded-For"), "203.0.113.7, 127.0.0.1"},
			{"X-Forwarded-Proto", h.Get("X-Forwarded-Proto"), "https"},
			{"X-Forwarded-Host", h.Get("X-Forwarded-Host"), "evil.example"},
		} {
			if c.got != c.want {
				t.Errorf("%s=%q, want %q", c.name, c.got, c.want)
			}
		}
	})
}

func TestRouter_Streaming(t *testing.T) {
	for name, length := range map[string]string{
		"Chunked":       "",
		"EventStream":   "",
		"ContentLength": "24", // 3 × len("chunk N\n")
	} {
		t.Run(name, func(t *testing.T) {
			next := make(chan struct{})
			_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				if name == "EventStream" {
					w.Header().Set("Content-Type", "text/event-stream")
				}
				if length != "" {
					w.Header().Set("Content-Length", length)
				}
				for i := range 3 {
					fmt.Fprintf(w, "chunk %d\n", i)
					http.NewResponseController(w).Flush()
					// Wait for the client to have read this chunk: the test
					// deadlocks (and times out) unless chunks arrive one by one.
					select {
					case <-next:
					case <-r.Context().Done():
						return
					}
				}
			})
			r, srv := MustRouter(t, router.Options{})
			MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}})
			req, _ := http.NewRequest("GET", srv.URL+"/", nil)
			req.Host = testHost
			res, err := NewClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			for i := range 3 {
				// A chunk held back by the router would block this read forever.
				timer := time.AfterFunc(5*time.Second, func() { res.Body.Close() })
				line, err := br.ReadString('\n')
				timer.Stop()
				if err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if got, want := line, fmt.Sprintf("chunk %d\n", i); got != want {
					t.Fatalf("line=%q, want %q", got, want)
				}
				next <- struct{}{}
			}
			if rest, _ := io.ReadAll(br); len(rest) != 0 {
				t.Fatalf("trailing data %q", rest)
			}
		})
	}
}

// upgradeEcho is an instance that switches to an "echo" protocol on request
// and then echoes every byte back: enough to prove the router relays an
// upgraded connection both ways, which is all WebSocket needs from it.
func upgradeEcho(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "websocket" {
		http.Error(w, "upgrade required", http.StatusUpgradeRequired)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	if brw.Flush() != nil {
		return
	}
	io.Copy(conn, brw)
}

func TestRouter_WebSocket(t *testing.T) {
	_, in := MustBackend(t, "i-1", upgradeEcho)
	// A short timeout: the upgraded connection must outlive it.
	r, srv := MustRouter(t, router.Options{Timeout: 200 * time.Millisecond})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}})

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", testHost)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.StatusCode, http.StatusSwitchingProtocols; got != want {
		t.Fatalf("status=%d, want %d", got, want)
	}
	echo := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil {
			t.Fatal(err)
		}
		if got := string(buf); got != msg {
			t.Fatalf("echo=%q, want %q", got, msg)
		}
	}
	echo("ping\n")
	if got, want := MustStats(t, r).InFlight, int64(1); got != want {
		t.Errorf("InFlight=%d, want %d", got, want)
	}
	time.Sleep(400 * time.Millisecond) // past the request timeout
	echo("still there\n")
	conn.Close()
	Eventually(t, "the upgraded connection to end", func() bool { return MustStats(t, r).InFlight == 0 })
	// An upgraded connection counts as a 1xx response, and stays out of
	// the latency histogram.
	if s := MustStats(t, r); s.Responses1xx != 1 || s.Responses2xx != 0 || s.Latency.Count != 0 {
		t.Errorf("Responses1xx=%d Responses2xx=%d Latency.Count=%d, want 1, 0, 0", s.Responses1xx, s.Responses2xx, s.Latency.Count)
	}
}

func TestRouter_Timeout(t *testing.T) {
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	r, srv := MustRouter(t, router.Options{Timeout: 100 * time.Millisecond})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, ServiceName: "slow", Instances: []router.Instance{in}})
	start := time.Now()
	res := Do(t, NewClient(t), "GET", srv.URL, testHost, "")
	if got, want := res.Code, http.StatusGatewayTimeout; got != want {
		t.Fatalf("status=%d, want %d", got, want)
	}
	if got, want := res.Body, "Service \"slow\" did not answer within the request timeout of 100ms.\n"; got != want {
		t.Fatalf("body=%q, want %q", got, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	if got, want := MustStats(t, r).Failed, uint64(1); got != want {
		t.Fatalf("Failed=%d, want %d", got, want)
	}
}

func TestRouter_DefaultTimeout(t *testing.T) {
	// The default is observable only as a message; check it is App Runner's.
	if got, want := router.DefaultTimeout, 120*time.Second; got != want {
		t.Fatalf("DefaultTimeout=%v, want %v", got, want)
	}
}

func TestRouter_ClientGone(t *testing.T) {
	started := make(chan struct{}, 1)
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/", nil)
	req.Host = testHost
	go func() { <-started; cancel() }()
	if _, err := NewClient(t).Do(req); err == nil {
		t.Fatal("request succeeded")
	}
	Eventually(t, "the request to end", func() bool { return MustStats(t, r).InFlight == 0 })
	s := MustStats(t, r)
	if got := s.Failed; got != 0 {
		t.Fatalf("Failed=%d, want 0: a client leaving is not the service failing", got)
	}
	if got := InstanceStats(t, s, "i-1").Failures; got != 0 {
		t.Fatalf("Failures=%d, want 0: a client leaving is not the instance failing", got)
	}
	if s.ClientClosed != 1 || s.Responses4xx != 0 || s.Latency.Count != 0 {
		t.Fatalf("ClientClosed=%d Responses4xx=%d Latency.Count=%d, want 1, 0, 0", s.ClientClosed, s.Responses4xx, s.Latency.Count)
	}
}

func TestRouter_AccessLog(t *testing.T) {
	_, in := MustBackend(t, "i-1", Hello("i-1"))
	var mu sync.Mutex
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "remote" {
				return slog.Attr{}
			}
			return a
		},
	}))
	// Each call to the clock moves it on by 250 ms.
	clock := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(250 * time.Millisecond)
		return clock
	}
	r, srv := MustRouter(t, router.Options{Logger: logger, Now: now})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}})
	Do(t, NewClient(t), "GET", srv.URL, testHost, "")
	Do(t, NewClient(t), "GET", srv.URL, "unknown.localhost", "")
	mu.Lock()
	got := buf.String()
	mu.Unlock()
	want := "level=DEBUG msg=request host=" + testHost + " method=GET path=/path status=200 instance=i-1 retried=false duration=250ms\n" +
		"level=DEBUG msg=request host=unknown.localhost method=GET path=/path status=404\n"
	if got != want {
		t.Fatalf("log:\n%s\nwant:\n%s", got, want)
	}
	at := MustStats(t, r).At
	mu.Lock()
	defer mu.Unlock()
	if got, want := at, clock; !got.Equal(want) {
		t.Fatalf("Stats.At=%v, want %v, from the injected clock", got, want)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestRouter_FailureWarningsRateLimited(t *testing.T) {
	var mu sync.Mutex
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil)) // Info and up
	var clock atomic.Int64
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	clock.Store(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	r, srv := MustRouter(t, router.Options{Logger: logger, Now: now})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{DeadInstance(t, "dead")}})
	c := NewClient(t)
	for range 5 {
		Do(t, c, "GET", srv.URL, testHost, "")
	}
	clock.Add(int64(2 * time.Second))
	Do(t, c, "GET", srv.URL, testHost, "")
	mu.Lock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	mu.Unlock()
	if got, want := len(lines), 2; got != want {
		t.Fatalf("%d log lines, want %d:\n%s", got, want, strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "instance=dead") || strings.Contains(lines[0], "similar") {
		t.Errorf("first warning: %s", lines[0])
	}
	if !strings.Contains(lines[1], "similar_since_last_warning=4") {
		t.Errorf("second warning: %s, want similar_since_last_warning=4", lines[1])
	}
}
