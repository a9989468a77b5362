package e2e_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

// slowTimeouts are short HTTPTimeouts, so that a trickling client is cut
// off in well under a second.
var slowTimeouts = daemon.HTTPTimeouts{ReadHeader: 300 * time.Millisecond, Body: 300 * time.Millisecond, BodyMinRate: 100, Idle: 400 * time.Millisecond}

// slowListeners are the daemon's three listeners, each with a dialer.
func slowListeners(t *testing.T, d *daemon.Daemon) map[string]func() (net.Conn, error) {
	tlsAddr := strings.TrimPrefix(d.RouterTLSURL(), "https://")
	return map[string]func() (net.Conn, error){
		"api":    func() (net.Conn, error) { return net.Dial("tcp", strings.TrimPrefix(d.URL(), "http://")) },
		"router": func() (net.Conn, error) { return net.Dial("tcp", strings.TrimPrefix(d.RouterURL(), "http://")) },
		"router-tls": func() (net.Conn, error) {
			return tls.Dial("tcp", tlsAddr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		},
	}
}

// trickle writes s one byte every interval until the write fails or s is
// done, and returns when the server closed the connection (a read gives
// EOF or an error) and what it read.
func trickle(conn net.Conn, s string, interval time.Duration) (time.Duration, string) {
	start := time.Now()
	go func() {
		for i := 0; i < len(s); i++ {
			if _, err := conn.Write([]byte{s[i]}); err != nil {
				return
			}
			time.Sleep(interval)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(conn)
	return time.Since(start), string(got)
}

// TestSlowLorisCutOff: clients that trickle their headers or their body
// are disconnected by the server within the configured bounds, on the API
// and on both router listeners, while a client sending a body at more than
// the minimum rate gets its answer.
func TestSlowLorisCutOff(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "process", RouterTLSListen: "127.0.0.1:0", HTTPTimeouts: slowTimeouts})
	const bound = 2 * time.Second // trickling everything would take 20 s or more
	for name, dial := range slowListeners(t, d) {
		t.Run(name+"/headers", func(t *testing.T) {
			conn, err := dial()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			took, got := trickle(conn, "POST / HTTP/1.1\r\nHost: x.us-east-1.apprunner.localhost\r\nX-Padding: "+strings.Repeat("a", 400)+"\r\n\r\n", 50*time.Millisecond)
			if took > bound || strings.HasPrefix(got, "HTTP/1.1 2") {
				t.Fatalf("trickled headers: closed after %v (bound %v), read %q", took, bound, got)
			}
		})
		t.Run(name+"/body", func(t *testing.T) {
			conn, err := dial()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			head := "POST / HTTP/1.1\r\nHost: x.us-east-1.apprunner.localhost\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AppRunner.ListConnections\r\nContent-Length: 1000\r\n\r\n"
			if _, err := io.WriteString(conn, head); err != nil {
				t.Fatal(err)
			}
			// 20 bytes/s against a minimum of 100.
			took, got := trickle(conn, strings.Repeat(" ", 1000), 50*time.Millisecond)
			if took > bound {
				t.Fatalf("trickled body: closed after %v (bound %v), read %q", took, bound, got)
			}
			t.Logf("closed after %v", took)
		})
		t.Run(name+"/idle", func(t *testing.T) {
			conn, err := dial()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET /_openrunner/health HTTP/1.1\r\nHost: x.us-east-1.apprunner.localhost\r\n\r\n")
			start := time.Now()
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 ") {
				t.Fatalf("first request: %q, %v", line, err)
			}
			_, _ = io.ReadAll(br)
			if took := time.Since(start); took > bound {
				t.Fatalf("an idle keep-alive connection stayed open %v (bound %v)", took, bound)
			}
		})
	}
	t.Run("api/body-above-min-rate", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(d.URL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := "{}" + strings.Repeat(" ", 148)
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: api\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AppRunner.ListConnections\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
		// 200 bytes/s, above the minimum, for 750 ms: longer than the
		// body timeout alone, within what the rate earns.
		took, got := trickle(conn, body, 5*time.Millisecond)
		if !strings.HasPrefix(got, "HTTP/1.1 4") || !strings.Contains(got, "__type") || took < 700*time.Millisecond {
			t.Fatalf("a body above the minimum rate: after %v read %q", took, got)
		}
	})
}
