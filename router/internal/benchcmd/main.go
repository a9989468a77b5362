// Command benchcmd runs the servers that bench/router.sh loads with wrk: a
// tiny instance, the router in front of it, and a bare
// httputil.ReverseProxy in front of it (the floor for a proxy built on the
// standard library).
//
//	benchcmd backend   -listen 127.0.0.1:9001
//	benchcmd router    -listen 127.0.0.1:9002 -backend http://127.0.0.1:9001 -host abc.us-east-1.localhost
//	benchcmd bareproxy -listen 127.0.0.1:9003 -backend http://127.0.0.1:9001
//	benchcmd router    -listen 127.0.0.1:9004 -backend ... -tls-ca-dir DIR
//
// With -tls-ca-dir the router serves HTTPS as openrunner serve does (package
// edge: HTTP/2 and HTTP/1.1, certificates from a local CA kept in DIR).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/openrunner/openrunner/edge"
	"github.com/openrunner/openrunner/localca"
	"github.com/openrunner/openrunner/router"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchcmd backend|router|bareproxy [flags]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchcmd:", err)
		os.Exit(1)
	}
}

func run(mode string, args []string) error {
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on")
	backend := fs.String("backend", "", "URL of the instance (router, bareproxy)")
	host := fs.String("host", "abc123defg.us-east-1.localhost", "ServiceUrl host to route (router)")
	maxConc := fs.Int("max-concurrency", 100, "MaxConcurrency of the route (router)")
	delay := fs.Duration("delay", 0, "time the backend takes per request (backend)")
	caDir := fs.String("tls-ca-dir", "", "serve HTTPS with a local CA in this directory (router)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var h http.Handler
	var tlsEdge *edge.Edge
	switch mode {
	case "backend":
		body := []byte("hello, world\n")
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if *delay > 0 {
				time.Sleep(*delay)
			}
			w.Write(body)
		})
	case "router", "bareproxy":
		u, err := url.Parse(*backend)
		if err != nil || u.Host == "" {
			return fmt.Errorf("-backend %q: want an http URL", *backend)
		}
		if mode == "bareproxy" {
			h = &httputil.ReverseProxy{
				Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
				Transport: router.NewTransport(),
			}
			break
		}
		r := router.New(router.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
		if err := r.SetRoute(router.Route{ServiceARN: "bench", Hosts: []string{*host}, MaxConcurrency: *maxConc, Instances: []router.Instance{{ID: "i-1", URL: u}}}); err != nil {
			return err
		}
		h = r
		if *caDir != "" {
			ca, err := localca.Open(localca.Options{Dir: *caDir})
			if err != nil {
				return err
			}
			tlsEdge = &edge.Edge{Handler: r, CA: ca, Routed: r.Serves}
		}
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}

	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	if tlsEdge != nil {
		srv.TLSConfig = tlsEdge.TLSConfig()
		go func() { errc <- srv.ListenAndServeTLS("", "") }()
	} else {
		go func() { errc <- srv.ListenAndServe() }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
