package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
)

// benchLeaseTTL is the lease TTL of BenchmarkTakeover: long enough to be
// realistic, short enough to run a few times.
const benchLeaseTTL = 5 * time.Second

// BenchmarkTakeover measures the time from kill -9 of the server holding a
// running image service's lease until a surviving server holds it and its
// router serves the service from the new holder's instance (s/takeover),
// with a lease TTL of 5 s and the default 10 s resync: survivors look for
// lapsed leases every second, so the resync is not what bounds it. The
// target is at most the TTL plus 2 s.
func BenchmarkTakeover(b *testing.B) {
	var total time.Duration
	for i := range b.N {
		b.StopTimer()
		e := newEnv(b, 2, "--lease-ttl", benchLeaseTTL.String(), "--resync-interval", "10s")
		out, err := e.servers[0].client.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(fmt.Sprintf("bench-%d", i)), SourceConfiguration: e.imageSource()})
		if err != nil {
			b.Fatal(err)
		}
		svc := waitStatus(b, e.servers[1], out.Service.ServiceArn, time.Minute)
		if svc.Status != types.ServiceStatusRunning {
			b.Fatalf("status %s", svc.Status)
		}
		holder := e.serverOf(e.leaseHolder(b, aws.ToString(svc.ServiceArn)))
		survivor := e.servers[0]
		if survivor == holder {
			survivor = e.servers[1]
		}
		waitServes(b, survivor, aws.ToString(svc.ServiceUrl), imageMessage, 10*time.Second)
		b.StartTimer()
		killed := time.Now()
		holder.kill()
		for e.leaseHolder(b, aws.ToString(svc.ServiceArn)) != survivor.id {
			time.Sleep(10 * time.Millisecond)
		}
		// Served by the survivor's own instance: its route names it.
		waitServes(b, survivor, aws.ToString(svc.ServiceUrl), imageMessage, time.Minute)
		took := time.Since(killed)
		b.StopTimer()
		total += took
		b.Logf("takeover %v (TTL %v)", took.Round(time.Millisecond), benchLeaseTTL)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/takeover")
}
