package e2e_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/sampleapp"
	"github.com/openrunner/openrunner/internal/testutil"
)

// Autoscaling windows of the tests: short, so they run in seconds.
const (
	scaleStable    = 4 * time.Second
	scalePanic     = time.Second
	scaleQueueWait = 100 * time.Millisecond
	holdMillis     = 200 // each request holds its instance this long
)

// TestAutoscaling drives a service whose auto scaling configuration has
// MaxConcurrency 4, MinSize 1 and MaxSize 5 with clients whose requests
// each hold an instance 200 ms, on Docker (an image service) and on host
// processes (a source-code service), and on the Kubernetes test cluster (an
// image service, its Deployment's replicas): it scales out under load, stops at
// MaxSize with 429s only after the queue timeout, scales back in once
// idle (also across a restart of the server mid-scale), never fails a
// request otherwise, and, moved to a scale-to-zero
// configuration, goes to zero and serves the first request after that.
func TestAutoscaling(t *testing.T) {
	for _, runtime := range []string{"docker", "process", "kubernetes"} {
		t.Run(runtime, func(t *testing.T) {
			image := testImage
			cfg := daemon.Config{Listen: freeAddr(t), RouterListen: freeAddr(t), Autoscale: daemon.AutoscaleConfig{
				StableWindow: scaleStable, PanicWindow: scalePanic, QueueTimeout: scaleQueueWait, ScaleToZeroAfter: time.Hour}}
			switch runtime {
			case "docker":
				needDocker(t)
			case "kubernetes": // an image service on the test cluster
				k := newKubeEnv(t)
				cfg.Kubernetes, image = k.cfg.Kubernetes, k.image
			}
			e := newSourceEnv(t, runtime, cfg)
			asc := createASC(t, e.c, "burst", 4, 1, 5).AutoScalingConfigurationArn
			var src *types.SourceConfiguration
			// Pods request what an instance is configured with: on the
			// 2-core test node five fit at a quarter vCPU.
			var small *types.InstanceConfiguration
			if runtime == "kubernetes" {
				small = &types.InstanceConfiguration{Cpu: aws.String("0.25 vCPU"), Memory: aws.String("0.5 GB")}
			}
			if runtime != "process" {
				src = imageSource(image, nil, "")
			} else {
				repo := e.repoFor(t, "github", "sleepy", sampleapp.Go("v1").Files)
				src = codeSource(repo.CloneURL(), "main", "", e.conns["github"], nil)
			}
			out, err := e.c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("scaled-" + runtime),
				SourceConfiguration: src, AutoScalingConfigurationArn: asc, InstanceConfiguration: small,
				HealthCheckConfiguration: &types.HealthCheckConfiguration{Protocol: types.HealthCheckProtocolTcp, Interval: aws.Int32(1),
					Timeout: aws.Int32(1), HealthyThreshold: aws.Int32(1), UnhealthyThreshold: aws.Int32(3)}})
			if err != nil {
				t.Fatal(err)
			}
			arn := out.Service.ServiceArn
			t.Cleanup(func() { _, _ = e.c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: arn}) })
			svc := waitStatus(t, e.c, arn)
			if svc.Status != types.ServiceStatusRunning {
				t.Fatalf("status %s; log:\n%s", svc.Status, e.serviceLog(t, *arn, false))
			}
			host := *svc.ServiceUrl
			counts := func() (active, desired int) { return instanceCounts(t, e.d.URL(), *arn) }

			// 16 clients: past twice the capacity of one instance (target
			// 2.8), the panic window scales out at once.
			l := startLoad(e.d.RouterURL(), host, 16)
			l.watch(func() int { return first(counts()) })
			start := time.Now()
			waitCounts(t, counts, 30*time.Second, func(a, _ int) bool { return a >= 4 }, "at least 4 active instances under 16 clients")
			t.Logf("16 clients: %d active instances after %s", first(counts()), time.Since(start).Round(time.Millisecond))

			// 40 clients: 5 instances at most, the rest waits and gets 429
			// once it has waited the queue timeout.
			l.add(24)
			time.Sleep(3 * time.Second)
			waitCounts(t, counts, 30*time.Second, func(a, d int) bool { return a == 5 && d == 5 }, "5 active instances under 40 clients")
			time.Sleep(time.Second)
			res := l.stop()
			if res.maxActive > 5 {
				t.Errorf("%d instances ran at once; MaxSize is 5", res.maxActive)
			}
			if res.other > 0 {
				t.Fatalf("%d requests failed with another status than 429: %v", res.other, res.codes)
			}
			if res.throttled == 0 {
				t.Errorf("no request got 429 with 40 clients over a capacity of 20: %v", res.codes)
			}
			if res.fastest429 < scaleQueueWait {
				t.Errorf("a 429 came after %s, before the queue timeout of %s", res.fastest429, scaleQueueWait)
			}

			// A restart mid-scale (5 desired): the new server adopts the
			// instances and converges on the stored count.
			if err := e.d.Close(); err != nil {
				t.Fatal(err)
			}
			e.d = testutil.MustRunDaemon(t, e.cfg)
			waitCounts(t, counts, 30*time.Second, func(a, d int) bool { return d > 1 && a == d }, "the desired count after a restart")

			// Idle: back to MinSize after the stable window, draining.
			waitCounts(t, counts, 3*scaleStable+20*time.Second, func(a, d int) bool { return a == 1 && d == 1 }, "1 instance once idle")
			log := e.serviceLog(t, *arn, false)
			for _, want := range []string{"[AppRunner] Scaling service from 1 to ", "instances (concurrency ", ", target 2.8).", " to 1 instances"} {
				if !strings.Contains(log, want) {
					t.Errorf("the service log lacks %q:\n%s", want, log)
				}
			}

			// Scale to zero: moved to a configuration tagged for it (no
			// rebuild), the idle service goes to zero; a request wakes it.
			zero := createASC(t, e.c, "to-zero", 4, 1, 5,
				types.Tag{Key: aws.String("openrunner:min-size"), Value: aws.String("0")},
				types.Tag{Key: aws.String("openrunner:scale-to-zero-after"), Value: aws.String("2s")}).AutoScalingConfigurationArn
			if _, err := e.c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: arn, AutoScalingConfigurationArn: zero}); err != nil {
				t.Fatal(err)
			}
			if s := waitStatus(t, e.c, arn); s.Status != types.ServiceStatusRunning {
				t.Fatalf("after the update: %s", s.Status)
			}
			if runtime == "process" {
				// Only the configuration changed: nothing was built again.
				if n := strings.Count(e.serviceLog(t, *arn, false), "Successfully built your application source code"); n != 1 {
					t.Errorf("%d builds, want the first one only", n)
				}
			}
			waitCounts(t, counts, 3*scaleStable+20*time.Second, func(a, d int) bool { return a == 0 && d == 0 }, "zero instances once idle")
			if s, _ := e.c.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: arn}); s.Service.Status != types.ServiceStatusRunning {
				t.Errorf("at zero the status is %s, want RUNNING", s.Service.Status)
			}
			coldStart := time.Now()
			if code, body := get(t, e.d.RouterURL(), host, "/"); code != 200 {
				t.Fatalf("first request at zero: %d %q", code, body)
			}
			t.Logf("cold start from zero to the first response: %s", time.Since(coldStart).Round(time.Millisecond))
		})
	}
}

var metricLine = regexp.MustCompile(`^(openrunner_service_(?:active|desired)_instances)\{([^}]*)\} (\d+)$`)

// instanceCounts reads the service's active and desired instances from
// /_openrunner/metrics.
func instanceCounts(t testing.TB, url, arn string) (active, desired int) {
	t.Helper()
	code, body := scrapeMetrics(t, url, "")
	if code != 200 {
		t.Fatalf("metrics: %d %s", code, body)
	}
	for _, line := range strings.Split(body, "\n") {
		m := metricLine.FindStringSubmatch(line)
		if m == nil || !strings.Contains(m[2], `service_arn="`+arn+`"`) {
			continue
		}
		n, _ := strconv.Atoi(m[3])
		if strings.HasSuffix(m[1], "active_instances") {
			active = n
		} else {
			desired = n
		}
	}
	return active, desired
}

func first(a, _ int) int { return a }

// waitCounts polls counts until ok says so, or fails after d.
func waitCounts(t testing.TB, counts func() (int, int), d time.Duration, ok func(active, desired int) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		a, des := counts()
		if ok(a, des) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s: %d active, %d desired", what, d, a, des)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// load is closed-loop clients sending GET /sleep to a service through the
// router, counting what they get.
type load struct {
	url, host string
	stopping  atomic.Bool
	wg        sync.WaitGroup
	mu        sync.Mutex
	res       loadResult
}

type loadResult struct {
	codes      map[int]int
	throttled  int
	other      int           // anything but 200 and 429 (transport errors as 0)
	fastest429 time.Duration // the shortest time a 429 took
	maxActive  int
}

func startLoad(routerURL, host string, clients int) *load {
	l := &load{url: routerURL + fmt.Sprintf("/sleep?ms=%d", holdMillis), host: host, res: loadResult{codes: map[int]int{}, fastest429: time.Hour}}
	l.add(clients)
	return l
}

// add starts n more clients.
func (l *load) add(n int) {
	for range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for !l.stopping.Load() {
				req, _ := http.NewRequest(http.MethodGet, l.url, nil)
				req.Host = l.host
				t0 := time.Now()
				res, err := client.Do(req)
				took := time.Since(t0)
				code := 0
				if err == nil {
					code = res.StatusCode
					res.Body.Close()
				}
				l.mu.Lock()
				l.res.codes[code]++
				switch code {
				case 200:
				case 429:
					l.res.throttled++
					l.res.fastest429 = min(l.res.fastest429, took)
				default:
					l.res.other++
				}
				l.mu.Unlock()
				if code == 429 {
					time.Sleep(20 * time.Millisecond) // as a client honouring Retry-After briefly would
				}
			}
		}()
	}
}

// watch samples active() every 100 ms while the load runs, keeping the
// highest count in maxActive.
func (l *load) watch(active func() int) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for !l.stopping.Load() {
			n := active()
			l.mu.Lock()
			l.res.maxActive = max(l.res.maxActive, n)
			l.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
}

// stop stops the clients and returns what they got.
func (l *load) stop() loadResult {
	l.stopping.Store(true)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.res
}

// BenchmarkScaledThroughput measures what 16 closed-loop clients get from
// the 200 ms app with 1 instance and with 4 (MinSize = MaxSize), each
// instance at most MaxConcurrency 4, on Docker: 4 instances should carry
// nearly 4 times as much. Run with -benchtime 1x; it reports req/s.
func BenchmarkScaledThroughput(b *testing.B) {
	for _, n := range []int32{1, 4} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			testutil.NeedDockerTestImage(b)
			e := newSourceEnv(b, "docker", daemon.Config{Autoscale: daemon.AutoscaleConfig{QueueTimeout: time.Minute, QueueSize: 1000}})
			asc := createASC(b, e.c, "fixed", 4, n, n).AutoScalingConfigurationArn
			out, err := e.c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(fmt.Sprintf("tp-%d", n)),
				SourceConfiguration: imageSource(testImage, nil, ""), AutoScalingConfigurationArn: asc})
			if err != nil {
				b.Fatal(err)
			}
			svc := waitStatus(b, e.c, out.Service.ServiceArn)
			waitCounts(b, func() (int, int) { return instanceCounts(b, e.d.URL(), *svc.ServiceArn) }, time.Minute,
				func(a, _ int) bool { return a == int(n) }, "all instances")
			b.ResetTimer()
			for range b.N {
				l := startLoad(e.d.RouterURL(), *svc.ServiceUrl, 16)
				t0 := time.Now()
				time.Sleep(5 * time.Second)
				res := l.stop()
				b.ReportMetric(float64(res.codes[200])/time.Since(t0).Seconds(), "req/s")
				if res.other+res.throttled > 0 {
					b.Errorf("failures: %v", res.codes)
				}
			}
		})
	}
}
