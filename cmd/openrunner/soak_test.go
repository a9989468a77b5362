package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/internal/sampleapp"
)

// serverMemory is what the server's /_openrunner/metrics and /proc say of
// its memory.
type serverMemory struct {
	goroutines, heapInuse, rss, fds float64
}

func (m serverMemory) String() string {
	return fmt.Sprintf("RSS %.1f MiB, Go heap in use %.1f MiB, %0.f goroutines, %0.f open fds", m.rss/(1<<20), m.heapInuse/(1<<20), m.goroutines, m.fds)
}

func scrapeMemory(t *testing.T, addr string) serverMemory {
	resp, err := http.Get("http://" + addr + "/_openrunner/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m serverMemory
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), " ")
		v, _ := strconv.ParseFloat(value, 64)
		switch name {
		case "go_goroutines":
			m.goroutines = v
		case "go_memstats_heap_inuse_bytes":
			m.heapInuse = v
		case "process_resident_memory_bytes":
			m.rss = v
		case "process_open_fds":
			m.fds = v
		}
	}
	if m.goroutines == 0 || m.rss == 0 {
		t.Fatalf("the metrics lack go_goroutines or process_resident_memory_bytes")
	}
	return m
}

// TestSoakRouter holds many concurrent keep-alive connections through the
// router to one service (a Go app on the process runtime, five instances
// of MaxConcurrency 200) for a while: every request must get a 200, and
// afterwards the server's goroutines and heap must come back to about what
// they were before. OPENRUNNER_SOAK_CONNS and OPENRUNNER_SOAK_DURATION set
// the load (default 200 for 5s; bench/soak.sh runs 1,000 for 60s).
func TestSoakRouter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	conns, duration := 200, 5*time.Second
	if v := os.Getenv("OPENRUNNER_SOAK_CONNS"); v != "" {
		conns, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("OPENRUNNER_SOAK_DURATION"); v != "" {
		duration, _ = time.ParseDuration(v)
	}
	ctx := context.Background()
	d := newChildDriver(t, sampleapp.Go("soak"), "--queue-size", "100000", "--queue-timeout", "60s", "--allow-end-of-support-runtimes")
	c, s := d.c, d.s
	asc, err := c.CreateAutoScalingConfiguration(ctx, &apprunner.CreateAutoScalingConfigurationInput{AutoScalingConfigurationName: aws.String("soak"),
		MaxConcurrency: aws.Int32(200), MinSize: aws.Int32(5), MaxSize: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("soak"), SourceConfiguration: d.source("v1"),
		AutoScalingConfigurationArn: asc.AutoScalingConfiguration.AutoScalingConfigurationArn})
	if err != nil {
		t.Fatal(err)
	}
	w := &want{name: "soak", arn: aws.ToString(out.Service.ServiceArn), status: types.ServiceStatusRunning, version: "v1"}
	d.services = append(d.services, w)
	if got := d.settle(ctx, w, 3*time.Minute); got.status != types.ServiceStatusRunning {
		t.Fatalf("the service is %s", &got)
	}
	host := aws.ToString(out.Service.ServiceUrl)
	runLoad(t, s.router, host, 50, time.Second) // warm the instances' connections
	before := scrapeMemory(t, s.addr)
	res := runLoad(t, s.router, host, conns, duration, func() { t.Logf("during: %s", scrapeMemory(t, s.addr)) })
	t.Logf("%d connections for %v: %d requests (%.0f/s), %d errors; before: %s", conns, duration, res.ok+res.errs, float64(res.ok+res.errs)/duration.Seconds(), res.errs, before)
	if res.errs > 0 || res.ok == 0 {
		t.Errorf("%d errors, first: %s", res.errs, res.first)
	}
	// Memory returned: the goroutines of the connections gone, the heap
	// back near where it was (after the idle upstream connections close
	// and a GC runs).
	var after serverMemory
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		after = scrapeMemory(t, s.addr)
		if after.goroutines <= before.goroutines+20 && after.heapInuse <= 2*before.heapInuse+(16<<20) {
			break
		}
	}
	t.Logf("after: %s", after)
	if after.goroutines > before.goroutines+20 || after.heapInuse > 2*before.heapInuse+(16<<20) {
		t.Errorf("memory not returned: before %s, after %s", before, after)
	}
}

type loadResult struct {
	ok, errs int64
	first    string
}

// runLoad keeps conns keep-alive connections busy with GET / through the
// router for d; mid runs halfway through.
func runLoad(t *testing.T, router, host string, conns int, d time.Duration, mid ...func()) loadResult {
	tr := &http.Transport{MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var res loadResult
	var once sync.Once
	var ok, errs atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, "http://"+router+"/", nil)
			req.Host = host
			for time.Now().Before(stop) {
				resp, err := client.Do(req)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "soak" {
						err = fmt.Errorf("%d %q", resp.StatusCode, b)
					}
				}
				if err != nil {
					errs.Add(1)
					once.Do(func() { res.first = err.Error() })
					continue
				}
				ok.Add(1)
			}
		}()
	}
	for _, f := range mid {
		time.Sleep(d / 2)
		f()
	}
	wg.Wait()
	res.ok, res.errs = ok.Load(), errs.Load()
	return res
}
