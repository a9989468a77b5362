// Command fuzz sends generated hostile App Runner requests (package
// internal/fuzzapi) to a running OpenRunner and prints what it saw; it
// exits 1 if any answer broke a rule (a 5xx, no answer, a 4xx without an
// AWS __type). bench/fuzz.sh runs it against a built server.
//
//	go run ./bench/fuzz -url http://127.0.0.1:4590 -n 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/openrunner/openrunner/internal/fuzzapi"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:4590", "OpenRunner API URL")
	n := flag.Int("n", 1000000, "requests to send")
	workers := flag.Int("workers", 8, "concurrent connections")
	seed := flag.Uint64("seed", 1, "the run's sequence")
	model := flag.String("model", "wire/model/apprunner-2020-05-15.json", "the App Runner model")
	flag.Parse()
	m, err := fuzzapi.LoadModel(*model)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	res := fuzzapi.Run(context.Background(), fuzzapi.Options{URL: *url, Model: m, Requests: *n, Workers: *workers, Seed: *seed})
	fmt.Print(res.Summary())
	if res.Failures > 0 {
		os.Exit(1)
	}
}
