// Command testapp is the application the runtime conformance suite runs: a
// small HTTP server with no dependencies, built as a static binary so that
// a host-process runtime can run it as it is and the Docker runtime's tests
// can put it alone in a FROM-scratch image.
//
// It listens on $PORT (8080 when unset) and answers:
//
//	GET /                      the greeting (--greeting, default "hello")
//	GET /env?name=X            the value of environment variable X (404 if unset)
//	GET /env-hash?name=X       the SHA-256 of that value, in hex, so that a
//	                           test can check a secret without reading it
//	GET /log?stream=S&text=T   writes T as one line to stdout or stderr
//	GET /sleep?ms=N            answers "slept" after N milliseconds (at most 60 s)
//	GET /health                200 "ok", or 500 once /sick was asked
//	GET /sick                  makes /health answer 500 from then on
//	GET /exit?code=N           answers, then exits with code N (default 1)
//	GET /header?name=X[&name=Y] the values of request headers X, Y, as
//	                           received, one a line ("" for an absent one)
//	GET /stream?n=N&ms=M       N lines "chunk i", each flushed, M ms apart
//	GET /ws                    a WebSocket-style upgrade (101), then echoes
//	                           every byte sent on the connection
//	GET /fetch?url=U           GETs U (5 s timeout) and answers its status and
//	                           body, or 502 with the error (VPC egress tests)
//
// At start it writes "testapp: stdout ready" to stdout and "testapp: stderr
// ready" to stderr. SIGTERM makes it exit 0 unless TESTAPP_IGNORE_SIGTERM=1.
// TESTAPP_EXIT_CODE=N (or --exit-code N) makes it exit with code N at once.
//
// Invoked under the name "sh" as "sh -c COMMAND", it stands in for a shell
// in images that have none: it splits COMMAND on white space and executes
// it with TESTAPP_SHELL=1 added to the environment, so the suite can tell
// whether a runtime ran a StartCommand through /bin/sh.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if filepath.Base(os.Args[0]) == "sh" {
		os.Exit(shell(os.Args[1:]))
	}
	greeting := flag.String("greeting", "hello", "what GET / answers")
	exitCode := flag.Int("exit-code", -1, "exit at once with this code (-1: serve)")
	flag.Parse()

	if s := os.Getenv("TESTAPP_EXIT_CODE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "testapp: bad TESTAPP_EXIT_CODE %q\n", s)
			os.Exit(2)
		}
		*exitCode = n
	}
	if *exitCode >= 0 {
		fmt.Printf("testapp: exiting with code %d\n", *exitCode)
		os.Exit(*exitCode)
	}

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testapp: %v\n", err)
		os.Exit(1)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, *greeting)
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		v, ok := os.LookupEnv(r.URL.Query().Get("name"))
		if !ok {
			http.Error(w, "unset", http.StatusNotFound)
			return
		}
		fmt.Fprint(w, v)
	})
	mux.HandleFunc("GET /env-hash", func(w http.ResponseWriter, r *http.Request) {
		v, ok := os.LookupEnv(r.URL.Query().Get("name"))
		if !ok {
			http.Error(w, "unset", http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, "%x", sha256.Sum256([]byte(v)))
	})
	mux.HandleFunc("GET /sleep", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(min(max(ms, 0), 60000)) * time.Millisecond):
		case <-r.Context().Done():
		}
		fmt.Fprintln(w, "slept")
	})
	mux.HandleFunc("GET /log", func(w http.ResponseWriter, r *http.Request) {
		out := os.Stdout
		if r.URL.Query().Get("stream") == "stderr" {
			out = os.Stderr
		}
		fmt.Fprintln(out, r.URL.Query().Get("text"))
	})
	mux.HandleFunc("GET /fetch", fetch)
	var sick atomic.Bool
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if sick.Load() {
			http.Error(w, "sick", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /sick", func(w http.ResponseWriter, r *http.Request) {
		sick.Store(true)
		fmt.Fprintln(w, "sick")
	})
	mux.HandleFunc("GET /exit", func(w http.ResponseWriter, r *http.Request) {
		code := 1
		if s := r.URL.Query().Get("code"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				http.Error(w, "bad code", http.StatusBadRequest)
				return
			}
			code = n
		}
		fmt.Fprintf(w, "exiting with code %d\n", code)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go func() {
			time.Sleep(50 * time.Millisecond)
			fmt.Printf("testapp: exiting with code %d\n", code)
			os.Exit(code)
		}()
	})
	proxyRoutes(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	sigs := make(chan os.Signal, 1)
	if os.Getenv("TESTAPP_IGNORE_SIGTERM") == "1" {
		// Tests that a runtime kills an instance once the grace period ends.
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	}
	go func() {
		<-sigs
		fmt.Println("testapp: SIGTERM, shutting down")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	fmt.Printf("testapp: stdout ready on port %s\n", port)
	fmt.Fprintln(os.Stderr, "testapp: stderr ready")
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "testapp: %v\n", err)
		os.Exit(1)
	}
}

// shell runs "sh -c COMMAND" for images without a shell: it executes
// COMMAND's words with TESTAPP_SHELL=1 set and returns only on failure.
func shell(args []string) int {
	if len(args) != 2 || args[0] != "-c" {
		fmt.Fprintln(os.Stderr, "testapp sh: usage: sh -c COMMAND")
		return 2
	}
	words := strings.Fields(args[1])
	if len(words) == 0 {
		return 0
	}
	path, err := exec.LookPath(words[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "testapp sh: %v\n", err)
		return 127
	}
	err = syscall.Exec(path, words, append(os.Environ(), "TESTAPP_SHELL=1"))
	fmt.Fprintf(os.Stderr, "testapp sh: %v\n", err)
	return 126
}

// proxyRoutes adds what tests of a proxy in front of the app need: the
// headers it forwards, a streamed response and an upgraded connection.
func proxyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /header", func(w http.ResponseWriter, r *http.Request) {
		var vs []string
		for _, name := range r.URL.Query()["name"] {
			vs = append(vs, r.Header.Get(name))
		}
		fmt.Fprint(w, strings.Join(vs, "\n"))
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		f, _ := w.(http.Flusher)
		for i := range min(max(n, 0), 1000) {
			if i > 0 {
				time.Sleep(time.Duration(min(max(ms, 0), 10000)) * time.Millisecond)
			}
			fmt.Fprintf(w, "chunk %d\n", i)
			if f != nil {
				f.Flush()
			}
		}
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		if brw.Flush() != nil {
			return
		}
		_, _ = io.Copy(conn, brw)
	})
}

// fetch answers GET /fetch?url=U: U's status code and body, or 502 and why
// U could not be fetched.
func fetch(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL.Query().Get("url"), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, "fetch: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(res.Body, 1<<20))
}
