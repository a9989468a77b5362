package autoscale

import (
	"fmt"
	"testing"
	"time"
)

func BenchmarkDecide(b *testing.B) {
	in := base(func(in *Input) { in.Ready, in.Current, in.StableAverage, in.PanicAverage = 4, 4, 30, 45 })
	var sink int
	for i := 0; b.Loop(); i++ {
		in.Now = t0.Add(time.Duration(i) * time.Second)
		sink += Decide(in).Desired
	}
	_ = sink
}

// BenchmarkAutoscalerTick measures one tick for a fleet: per service, one
// sample recorded and one decision taken. ns/service is per service.
func BenchmarkAutoscalerTick(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			a := &Autoscaler{}
			names := make([]string, n)
			st := ServiceState{Ready: 3, Current: 3, MinSize: 1, MaxSize: 25, MaxConcurrency: 10}
			for i := range names {
				names[i] = fmt.Sprint("svc-", i)
				for s := range 60 { // a full stable window of history
					a.Record(names[i], float64(i%40), t0.Add(time.Duration(s)*time.Second))
				}
			}
			now := t0.Add(time.Minute)
			for b.Loop() {
				now = now.Add(time.Second)
				for i, name := range names {
					a.Record(name, float64(i%40), now)
					a.Decide(name, st, now)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/service")
		})
	}
}
