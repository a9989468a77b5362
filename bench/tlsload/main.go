// Command tlsload measures new TLS handshakes per second: each of -workers
// connections dials, completes a full handshake (no session resumption),
// sends one GET with Connection: close, reads the whole answer and closes,
// over and over for -duration. It prints connections per second and the
// p50/p99 time of one such connection.
//
// The client offers only X25519 and HTTP/1.1, so that every server under
// test does the same key exchange (OpenSSL builds without ML-KEM would
// otherwise cost Go's hybrid share a HelloRetryRequest) and does not verify
// certificates (the client's verification is not the server's cost).
//
//	go run ./bench/tlsload -addr 127.0.0.1:4592 -sni abc.us-east-1.apprunner.localhost -duration 10s
package main

import (
	"bufio"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4592", "TLS address")
	sni := flag.String("sni", "", "server name (and Host header)")
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	workers := flag.Int("workers", 8, "concurrent connections")
	flag.Parse()

	cfg := &tls.Config{ServerName: *sni, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"},
		CurvePreferences: []tls.CurveID{tls.X25519}}
	req := []byte("GET / HTTP/1.1\r\nHost: " + *sni + "\r\nConnection: close\r\n\r\n")
	var errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	stop := time.Now().Add(*duration)
	var wg sync.WaitGroup
	start := time.Now()
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(stop) {
				t0 := time.Now()
				if err := once(*addr, cfg, req); err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintln(os.Stderr, "tlsload:", err)
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		fmt.Fprintln(os.Stderr, "tlsload: no connection succeeded")
		os.Exit(1)
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("handshakes/s %.0f p50_us %d p99_us %d n %d errors %d\n",
		float64(len(lat))/elapsed.Seconds(), q(0.50).Microseconds(), q(0.99).Microseconds(), len(lat), errs.Load())
	if errs.Load() > 0 {
		os.Exit(1)
	}
}

// once makes one connection: handshake, request, whole response, close.
func once(addr string, cfg *tls.Config, req []byte) error {
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	conn := tls.Client(raw, cfg)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := conn.Handshake(); err != nil {
		return err
	}
	if _, err := conn.Write(req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
