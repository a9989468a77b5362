package memruntime

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
)

// instance is one emulated test app.
type instance struct {
	info       openrunner.Instance // never changes
	env        map[string]string   // never changes
	ignoreTerm bool
	srv        *http.Server

	mu       sync.Mutex
	running  bool
	exitCode int
	reason   string
	sick     bool
	logs     []openrunner.LogLine
	wake     chan struct{} // closed and replaced on every new line and at exit
	done     chan struct{} // closed at exit
}

// log appends one output line.
func (in *instance) log(stream, text string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.logs = append(in.logs, openrunner.LogLine{Time: time.Now(), Stream: stream, Text: text})
	close(in.wake)
	in.wake = make(chan struct{})
}

// exit ends the instance with code, once.
func (in *instance) exit(code int, reason string) {
	in.mu.Lock()
	if !in.running {
		in.mu.Unlock()
		return
	}
	in.running, in.exitCode, in.reason = false, code, reason
	close(in.done)
	close(in.wake)
	in.wake = make(chan struct{})
	in.mu.Unlock()
	// Close, not Shutdown: the app is gone at once, with its connections.
	_ = in.srv.Close()
}

// handler serves the test app's endpoints.
func (in *instance) handler(greeting string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, greeting)
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		v, ok := in.env[r.URL.Query().Get("name")]
		if !ok {
			http.Error(w, "unset", http.StatusNotFound)
			return
		}
		fmt.Fprint(w, v)
	})
	mux.HandleFunc("GET /log", func(w http.ResponseWriter, r *http.Request) {
		stream := "stdout"
		if r.URL.Query().Get("stream") == "stderr" {
			stream = "stderr"
		}
		in.log(stream, r.URL.Query().Get("text"))
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		sick := in.sick
		in.mu.Unlock()
		if sick {
			http.Error(w, "sick", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /sick", func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		in.sick = true
		in.mu.Unlock()
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
		go func() {
			time.Sleep(20 * time.Millisecond)
			in.log("stdout", fmt.Sprintf("testapp: exiting with code %d", code))
			in.exit(code, "exited")
		}()
	})
	return mux
}
