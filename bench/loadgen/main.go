// Command loadgen sends SigV4-signed App Runner requests to a running
// OpenRunner at a fixed rate (open loop) and reports latency percentiles.
// Latency is measured from each request's scheduled start, so a stalled
// server is not hidden by a stalled client (no coordinated omission).
//
//	go run ./bench/loadgen -url http://127.0.0.1:4590 -target ListConnections -rate 5000 -duration 10s
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:4590", "OpenRunner API URL")
	target := flag.String("target", "ListConnections", "operation")
	body := flag.String("body", "{}", "request body")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	workers := flag.Int("workers", 8, "concurrent connections")
	flag.Parse()

	// One signature, replayed: valid for the 15-minute skew window.
	req, _ := http.NewRequest(http.MethodPost, *url+"/", nil)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AppRunner."+*target)
	sum := sha256.Sum256([]byte(*body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		req, hex.EncodeToString(sum[:]), "apprunner", "us-east-1", time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers, MaxConnsPerHost: *workers}}

	n := int(float64(*rate) * duration.Seconds())
	interval := time.Second / time.Duration(*rate)
	lat := make([]time.Duration, n)
	var errs, sent atomic.Int64
	jobs := make(chan int, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				scheduled := start.Add(time.Duration(i) * interval)
				if d := time.Until(scheduled); d > 0 {
					time.Sleep(d)
				}
				r, _ := http.NewRequest(http.MethodPost, *url+"/", bytes.NewReader([]byte(*body)))
				r.Header = req.Header.Clone()
				resp, err := client.Do(r)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					errs.Add(1)
				}
				lat[i] = time.Since(scheduled)
				sent.Add(1)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	fmt.Printf("%s: %d requests in %.2fs = %.0f req/s (target %d/s), errors %d\n", *target, sent.Load(), elapsed.Seconds(),
		float64(sent.Load())/elapsed.Seconds(), *rate, errs.Load())
	fmt.Printf("latency p50 %v  p90 %v  p99 %v  max %v\n", p(0.5).Round(time.Microsecond), p(0.9).Round(time.Microsecond),
		p(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	if errs.Load() > 0 {
		os.Exit(1)
	}
}
