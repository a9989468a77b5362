// Command providersim runs the provider simulator as a process, for the
// end-to-end scripts (scripts/test, e2e/cli.sh, e2e/boto3_e2e.py) that
// drive a built `openrunner serve` from outside. It is a test tool, not
// shipped.
//
// It starts a Sim on a loopback port of its choosing (httptest picks it),
// adds the user octo and the GitHub repository octo/hello whose first
// commit on main is the Python sample app answering "v1", issues octo a
// token with the repo and admin:repo_hook scopes, and prints one JSON line
// on standard output:
//
//	{"github_url":…, "github_api_url":…, "clone_url":…, "token":…, "control_url":…}
//
// control_url is a second loopback listener:
//
//	POST /commit {"repo":"octo/hello","branch":"main","message":"v2"}
//
// commits the Python sample app answering message to the branch, waits
// for the webhook deliveries and answers {"sha":…, "deliveries":[…]}.
// SIGINT or SIGTERM stops it and removes the hosted repositories.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"syscall"

	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/internal/sampleapp"
)

func main() {
	verbose := flag.Bool("v", false, "log the simulator's requests and deliveries on standard error")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("providersim: ")
	if err := run(*verbose); err != nil {
		log.Fatal(err)
	}
}

func run(verbose bool) error {
	opts := providersim.Options{}
	if verbose {
		opts.Logf = log.Printf
	}
	sim := providersim.New(opts)
	defer sim.Close()
	sim.AddUser("octo")
	repo := sim.AddRepo("github", "octo", "hello", "main")
	if _, err := repo.Commit("main", sampleapp.Python("v1").Files, "v1"); err != nil {
		return err
	}
	token := sim.IssueGitHubToken("octo", "repo", "admin:repo_hook")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /commit", func(w http.ResponseWriter, r *http.Request) { commit(sim, w, r) })
	srv := &http.Server{Handler: mux}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	line, _ := json.Marshal(map[string]string{
		"github_url":     sim.GitHubURL(),
		"github_api_url": sim.GitHubAPIURL(),
		"clone_url":      repo.CloneURL(),
		"token":          token,
		"control_url":    "http://" + ln.Addr().String(),
	})
	fmt.Println(string(line))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	return srv.Shutdown(context.Background())
}

// delivery is what /commit reports of one webhook delivery.
type delivery struct {
	Event  string `json:"event"`
	URL    string `json:"url"`
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// commit serves POST /commit.
func commit(sim *providersim.Sim, w http.ResponseWriter, r *http.Request) {
	var in struct{ Repo, Branch, Message string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Message == "" {
		http.Error(w, `want {"repo":"owner/name","branch":"main","message":"…"}`, http.StatusBadRequest)
		return
	}
	if in.Branch == "" {
		in.Branch = "main"
	}
	owner, name, _ := strings.Cut(in.Repo, "/")
	repo, ok := sim.Repo("github", owner, name)
	if !ok {
		http.Error(w, "no repository "+in.Repo, http.StatusNotFound)
		return
	}
	before := len(sim.Deliveries())
	sha, err := repo.Commit(in.Branch, sampleapp.Python(in.Message).Files, in.Message)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sim.WaitDeliveries()
	out := struct {
		SHA        string     `json:"sha"`
		Deliveries []delivery `json:"deliveries"`
	}{SHA: sha, Deliveries: []delivery{}}
	for _, d := range sim.Deliveries()[before:] {
		out.Deliveries = append(out.Deliveries, delivery{Event: d.Event, URL: d.URL, Status: d.Status, Error: d.Err})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
