package autoscale

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

// base is a service with MaxConcurrency 10 (target 7), one ready instance,
// MinSize 1 and MaxSize 25, with data, at t0.
func base(mod func(*Input)) Input {
	in := Input{HaveData: true, Ready: 1, Current: 1, MinSize: 1, MaxSize: 25, MaxConcurrency: 10, Now: t0}
	if mod != nil {
		mod(&in)
	}
	return in
}

func TestDecide(t *testing.T) {
	load := func(stable, panic float64) func(*Input) {
		return func(in *Input) { in.StableAverage, in.PanicAverage = stable, panic }
	}
	tests := []struct {
		name      string
		in        Input
		desired   int
		panicking bool
		reason    Reason
	}{
		{"no data keeps current", base(func(in *Input) { in.HaveData, in.Current, in.StableAverage = false, 4, 1000 }), 4, false, ReasonNoData},
		{"no data keeps zero under scale to zero", base(func(in *Input) { in.HaveData, in.Current, in.MinSize, in.ScaleToZero = false, 0, 0, true }), 0, false, ReasonNoData},
		{"no data still honours a lowered MaxSize", base(func(in *Input) { in.HaveData, in.Current, in.MaxSize = false, 9, 5 }), 5, false, ReasonMaxSize},
		{"no data keeps panic state", base(func(in *Input) { in.HaveData, in.Current, in.LastPanic = false, 3, t0.Add(-time.Second) }), 3, true, ReasonNoData},
		{"steady load at target", base(load(7, 7)), 1, false, ReasonStable},
		{"just above target", base(load(7.01, 7)), 2, false, ReasonStable},
		{"one more instance than one ready is already 2x: panic", base(load(7.01, 7.01)), 2, true, ReasonPanic},
		{"exact multiple of target is not rounded up", base(func(in *Input) { in.Ready, in.Current, in.StableAverage, in.PanicAverage = 3, 3, 21, 21 }), 3, false, ReasonStable},
		{"scale up at once, below the panic threshold", base(func(in *Input) { in.Ready, in.Current, in.StableAverage, in.PanicAverage = 2, 2, 20, 20 }), 3, false, ReasonStable},
		{"panic at 2x ready", base(load(7, 14)), 2, true, ReasonPanic},
		{"below 2x ready: no panic", base(func(in *Input) { in.Ready, in.Current, in.StableAverage, in.PanicAverage = 2, 2, 14, 21 }), 2, false, ReasonStable},
		{"exactly 2x ready: panic", base(func(in *Input) { in.Ready, in.Current, in.StableAverage, in.PanicAverage = 2, 2, 14, 27 }), 4, true, ReasonPanic},
		{"panic never goes below current", base(func(in *Input) {
			in.Ready, in.Current, in.StableAverage, in.PanicAverage, in.LastPanic = 8, 8, 0, 0, t0.Add(-10*time.Second)
		}), 8, true, ReasonPanic},
		{"panic ends a stable window after the threshold was last reached", base(func(in *Input) {
			in.Ready, in.Current, in.StableAverage, in.PanicAverage, in.LastPanic = 8, 8, 28, 0, t0.Add(-60*time.Second)
		}), 4, false, ReasonStable},
		{"panic uses the ready count, not the desired one", base(func(in *Input) { in.Ready, in.Current, in.PanicAverage, in.StableAverage = 1, 4, 20, 20 }), 4, true, ReasonPanic},
		{"scale down at most by half", base(func(in *Input) { in.Ready, in.Current = 16, 16 }), 8, false, ReasonScaleDownRate},
		{"scale down by half of odd rounds up", base(func(in *Input) { in.Ready, in.Current = 5, 5 }), 3, false, ReasonScaleDownRate},
		{"scale down within half is direct", base(func(in *Input) { in.Ready, in.Current, in.StableAverage = 10, 10, 40 }), 6, false, ReasonStable},
		{"scale down rate 4", base(func(in *Input) { in.Ready, in.Current, in.MaxScaleDownRate = 16, 16, 4 }), 4, false, ReasonScaleDownRate},
		{"scale up rate caps at rate x ready", base(func(in *Input) { in.MaxScaleUpRate, in.MaxSize, in.StableAverage = 3, 0, 70 }), 3, false, ReasonScaleUpRate},
		{"scale up rate never lowers current", base(func(in *Input) { in.Current, in.MaxScaleUpRate, in.StableAverage = 5, 2, 70 }), 5, false, ReasonScaleUpRate},
		{"MinSize floor", base(func(in *Input) { in.MinSize, in.Current, in.Ready = 3, 3, 3 }), 3, false, ReasonMinSize},
		{"MinSize raises current", base(func(in *Input) { in.MinSize, in.StableAverage = 4, 7 }), 4, false, ReasonMinSize},
		{"MinSize 0 without scale to zero means 1", base(func(in *Input) { in.MinSize, in.Ready, in.Current = 0, 0, 0 }), 1, false, ReasonMinSize},
		{"MaxSize cap", base(func(in *Input) { in.MaxSize, in.Ready, in.Current, in.StableAverage = 5, 5, 5, 70 }), 5, false, ReasonMaxSize},
		{"MaxSize cap in panic", base(func(in *Input) { in.MaxSize, in.PanicAverage, in.StableAverage = 5, 700, 700 }), 5, true, ReasonMaxSize},
		{"MaxSize below current", base(func(in *Input) { in.MaxSize, in.Ready, in.Current, in.StableAverage = 3, 6, 6, 42 }), 3, false, ReasonMaxSize},
		{"MinSize above MaxSize: MaxSize wins", base(func(in *Input) { in.MinSize, in.MaxSize = 9, 4 }), 4, false, ReasonMinSize},
		{"MaxConcurrency 4: 16 clients want 6", base(func(in *Input) {
			in.MaxConcurrency, in.Ready, in.Current, in.StableAverage, in.PanicAverage = 4, 6, 6, 16, 16
		}), 6, false, ReasonStable},
		{"MaxConcurrency 4: 16 clients bounded to MaxSize 5", base(func(in *Input) {
			in.MaxConcurrency, in.MaxSize, in.Ready, in.Current, in.StableAverage, in.PanicAverage = 4, 5, 5, 5, 16, 16
		}), 5, false, ReasonMaxSize},
		{"scale to zero after the idle period", base(func(in *Input) {
			in.MinSize, in.ScaleToZero, in.ScaleToZeroAfter, in.IdleSince = 0, true, 5*time.Minute, t0.Add(-5*time.Minute)
		}), 0, false, ReasonScaleToZero},
		{"no scale to zero before the idle period", base(func(in *Input) {
			in.MinSize, in.ScaleToZero, in.ScaleToZeroAfter, in.IdleSince = 0, true, 5*time.Minute, t0.Add(-5*time.Minute+time.Second)
		}), 1, false, ReasonScaleDownRate},
		{"scale to zero skips the scale-down rate", base(func(in *Input) {
			in.Ready, in.Current, in.MinSize, in.ScaleToZero, in.ScaleToZeroAfter, in.IdleSince = 6, 6, 0, true, time.Minute, t0.Add(-time.Hour)
		}), 0, false, ReasonScaleToZero},
		{"scale to zero with a zero IdleSince", base(func(in *Input) { in.MinSize, in.ScaleToZero, in.ScaleToZeroAfter = 0, true, time.Minute }), 0, false, ReasonScaleToZero},
		{"scale to zero below MinSize", base(func(in *Input) { in.MinSize, in.ScaleToZero = 2, true }), 0, false, ReasonScaleToZero},
		{"no scale to zero when not enabled", base(func(in *Input) { in.MinSize, in.Ready, in.Current, in.IdleSince = 0, 0, 0, t0.Add(-time.Hour) }), 1, false, ReasonMinSize},
		{"one request in the stable window keeps one", base(func(in *Input) {
			in.MinSize, in.ScaleToZero, in.IdleSince, in.StableAverage = 0, true, t0.Add(-time.Hour), 1.0/60
		}), 1, false, ReasonStable},
		{"from zero: a waiting request gives one at once", base(func(in *Input) {
			in.Ready, in.Current, in.MinSize, in.ScaleToZero, in.StableAverage, in.PanicAverage = 0, 0, 0, true, 1.0/60, 1.0/6
		}), 1, false, ReasonStable},
		{"from zero: a crowd panics straight to capacity", base(func(in *Input) {
			in.Ready, in.Current, in.MinSize, in.ScaleToZero, in.StableAverage, in.PanicAverage = 0, 0, 0, true, 2, 30
		}), 5, true, ReasonPanic},
		{"poke at zero without data", base(func(in *Input) {
			in.HaveData, in.Ready, in.Current, in.MinSize, in.ScaleToZero, in.Poked = false, 0, 0, 0, true, true
		}), 1, false, ReasonPoked},
		{"poke beats an expired idle period", base(func(in *Input) {
			in.Ready, in.Current, in.MinSize, in.ScaleToZero, in.IdleSince, in.Poked = 0, 0, 0, true, t0.Add(-time.Hour), true
		}), 1, false, ReasonPoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.in)
			if d.Desired != tt.desired || d.Panicking != tt.panicking || d.Reason != tt.reason {
				t.Errorf("Decide = %d panicking=%v (%s), want %d panicking=%v (%s)",
					d.Desired, d.Panicking, d.Reason, tt.desired, tt.panicking, tt.reason)
			}
			if d.Panicking == d.LastPanic.IsZero() {
				t.Errorf("Panicking %v but LastPanic %v", d.Panicking, d.LastPanic)
			}
		})
	}
}

func TestTarget(t *testing.T) {
	for _, tt := range []struct {
		maxConc int
		pct     float64
		want    float64
	}{{4, 0, 2.8}, {100, 0, 70}, {0, 0, 70}, {1, 0, 0.7}, {10, 50, 5}, {200, 100, 200}} {
		if got := Target(tt.maxConc, tt.pct); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Target(%d, %v) = %v, want %v", tt.maxConc, tt.pct, got, tt.want)
		}
	}
	if d := Decide(base(func(in *Input) { in.MaxConcurrency = 4 })); math.Abs(d.Target-2.8) > 1e-12 {
		t.Errorf("Decision.Target = %v, want 2.8", d.Target)
	}
}

// sim drives an Autoscaler on a fake clock: four samples a second, a
// decision every tick, and the decided count ready at once.
type sim struct {
	a        *Autoscaler
	now      time.Time
	st       ServiceState
	last     Decision
	lastLoad time.Time // last non-zero sample
	log      []step
}

type step struct {
	at time.Time
	d  Decision
}

func newSim(st ServiceState) *sim {
	a := &Autoscaler{Now: func() time.Time { panic("the Autoscaler read its clock") }}
	return &sim{a: a, now: t0, st: st}
}

// run applies load for d and returns the decisions taken meanwhile.
func (s *sim) run(d time.Duration, load float64) []step {
	const sampleEvery = 250 * time.Millisecond
	tick := s.a.TickInterval()
	start := len(s.log)
	for end := s.now.Add(d); s.now.Before(end); s.now = s.now.Add(sampleEvery) {
		s.a.Record("svc", load, s.now)
		if load > 0 {
			s.lastLoad = s.now
		}
		if s.now.Sub(t0)%tick == 0 {
			s.last = s.a.Decide("svc", s.st, s.now)
			s.st.Current, s.st.Ready = s.last.Desired, s.last.Desired
			s.log = append(s.log, step{s.now, s.last})
		}
	}
	return s.log[start:]
}

func TestSteadyLoad(t *testing.T) {
	for _, tt := range []struct {
		load    float64
		maxConc int
		want    int
		panic   bool // demand above MaxSize's capacity keeps panicking
	}{{0.5, 10, 1, false}, {7, 10, 1, false}, {7.5, 10, 2, false}, {20, 10, 3, false}, {70, 10, 10, false},
		{100, 100, 2, false}, {140, 100, 2, false}, {16, 4, 6, false}, {1000, 10, 25, true}} {
		t.Run(fmt.Sprintf("load %g, MaxConcurrency %d", tt.load, tt.maxConc), func(t *testing.T) {
			s := newSim(ServiceState{Ready: 1, Current: 1, MinSize: 1, MaxSize: 25, MaxConcurrency: tt.maxConc})
			s.run(3*time.Minute, tt.load)
			if s.last.Desired != tt.want || s.last.Panicking != tt.panic {
				t.Fatalf("after 3 minutes: %d panicking=%v (%s), want %d", s.last.Desired, s.last.Panicking, s.last.Reason, tt.want)
			}
		})
	}
}

func TestMaxConcurrency4Clients16(t *testing.T) {
	s := newSim(ServiceState{Ready: 1, Current: 1, MinSize: 1, MaxSize: 5, MaxConcurrency: 4})
	steps := s.run(3*time.Minute, 16)
	if s.last.Desired != 5 || s.last.Reason != ReasonMaxSize || math.Abs(s.last.Target-2.8) > 1e-12 {
		t.Fatalf("got %+v, want 5 capped at MaxSize with target 2.8", s.last)
	}
	for _, st := range steps {
		if st.d.Desired > 5 {
			t.Fatalf("%v: desired %d above MaxSize", st.at, st.d.Desired)
		}
	}
}

func TestBurstPanicsWithinOneTick(t *testing.T) {
	s := newSim(ServiceState{Ready: 1, Current: 1, MinSize: 1, MaxSize: 25, MaxConcurrency: 10})
	s.run(2*time.Minute, 5)
	if s.last.Desired != 1 || s.last.Panicking {
		t.Fatalf("before the burst: %+v", s.last)
	}
	steps := s.run(s.a.TickInterval()+time.Millisecond, 30) // 30 ≥ 2 × 7
	first := steps[0].d
	if !first.Panicking || first.Desired < 2 {
		t.Fatalf("first tick of the burst: %+v, want panic and a scale-up", first)
	}
	s.run(s.a.PanicWindow(), 30)
	if s.last.Desired != 5 { // ceil(30/7)
		t.Fatalf("a panic window into the burst: %d, want 5", s.last.Desired)
	}
}

func TestNoScaleDownWhilePanicking(t *testing.T) {
	s := newSim(ServiceState{Ready: 1, Current: 1, MinSize: 1, MaxSize: 25, MaxConcurrency: 10})
	s.run(time.Minute, 5)
	s.run(10*time.Second, 60)
	peak := s.last.Desired
	if !s.last.Panicking || peak < 8 {
		t.Fatalf("after the burst: %+v", s.last)
	}
	prev := peak
	for _, st := range s.run(2*time.Minute, 0) {
		if st.d.Panicking && st.d.Desired < prev {
			t.Fatalf("%v: scaled down from %d to %d while panicking", st.at.Sub(t0), prev, st.d.Desired)
		}
		prev = st.d.Desired
	}
}

func TestPanicEndsAfterStableWindow(t *testing.T) {
	s := newSim(ServiceState{Ready: 1, Current: 1, MinSize: 1, MaxSize: 25, MaxConcurrency: 10})
	s.run(time.Minute, 5)
	s.run(10*time.Second, 60)
	lastPanic := s.last.LastPanic
	var ended time.Time
	for _, st := range s.run(3*time.Minute, 5) {
		if !st.d.Panicking {
			ended = st.at
			break
		}
		lastPanic = st.d.LastPanic
	}
	if ended.IsZero() {
		t.Fatal("panic never ended")
	}
	if got := ended.Sub(lastPanic); got < s.a.StableWindow() || got >= s.a.StableWindow()+s.a.TickInterval() {
		t.Fatalf("panic ended %v after the threshold was last reached, want one stable window (%v)", got, s.a.StableWindow())
	}
}

func TestScaleDownConverges(t *testing.T) {
	t.Run("pure", func(t *testing.T) {
		in := base(func(in *Input) { in.Ready, in.Current, in.MinSize = 16, 16, 2 })
		var got []int
		for range 5 {
			d := Decide(in)
			got = append(got, d.Desired)
			in.Current, in.Ready = d.Desired, d.Desired
		}
		if fmt.Sprint(got) != "[8 4 2 2 2]" {
			t.Fatalf("halving from 16 to MinSize 2: %v", got)
		}
	})
	t.Run("after load stops", func(t *testing.T) {
		s := newSim(ServiceState{Ready: 1, Current: 1, MinSize: 2, MaxSize: 25, MaxConcurrency: 10})
		s.run(3*time.Minute, 140) // 20 instances
		if s.last.Desired != 20 {
			t.Fatalf("under load: %d, want 20", s.last.Desired)
		}
		prev := s.last.Desired
		for _, st := range s.run(5*time.Minute, 0) {
			if st.d.Desired < (prev+1)/2 {
				t.Fatalf("%v: from %d to %d, more than half", st.at.Sub(t0), prev, st.d.Desired)
			}
			prev = st.d.Desired
		}
		if s.last.Desired != 2 {
			t.Fatalf("5 minutes after the load stopped: %d, want MinSize 2", s.last.Desired)
		}
	})
}

func TestScaleToZero(t *testing.T) {
	for _, after := range []time.Duration{0, 30 * time.Second, 5 * time.Minute} {
		t.Run(fmt.Sprintf("ScaleToZeroAfter %v", after), func(t *testing.T) {
			s := newSim(ServiceState{Ready: 1, Current: 1, MaxSize: 25, MaxConcurrency: 10, ScaleToZero: true, ScaleToZeroAfter: after})
			s.run(time.Minute, 10)
			var zeroAt time.Time
			for _, st := range s.run(after+3*time.Minute, 0) {
				idle := st.at.Sub(s.lastLoad)
				if st.d.Desired == 0 {
					zeroAt = st.at
					break
				}
				if idle >= after && idle > s.a.StableWindow()+s.a.TickInterval() {
					t.Fatalf("still %d after %v idle", st.d.Desired, idle)
				}
			}
			if zeroAt.IsZero() {
				t.Fatal("never scaled to zero")
			}
			if idle := zeroAt.Sub(s.lastLoad); idle < after || idle < s.a.StableWindow() {
				t.Fatalf("zero after %v idle, before ScaleToZeroAfter %v or a stable window", idle, after)
			}
		})
	}
}

func TestOneRequestPreventsZero(t *testing.T) {
	s := newSim(ServiceState{Ready: 1, Current: 1, MaxSize: 25, MaxConcurrency: 10, ScaleToZero: true})
	s.run(2*time.Minute, 0)
	if s.last.Desired != 0 {
		t.Fatalf("idle service: %d, want 0", s.last.Desired)
	}
	s.run(250*time.Millisecond, 1) // a single sample of one request
	steps := s.run(2*time.Minute, 0)
	for _, st := range steps {
		inWindow := st.at.Sub(s.lastLoad) < s.a.StableWindow()
		if inWindow && st.d.Desired < 1 {
			t.Fatalf("%v after the request: %d instances", st.at.Sub(s.lastLoad), st.d.Desired)
		}
	}
	if steps[0].d.Desired != 1 {
		t.Fatalf("the request did not bring an instance at once: %+v", steps[0].d)
	}
	if s.last.Desired != 0 {
		t.Fatalf("a window after the request: %d, want 0", s.last.Desired)
	}
}

func TestPokeFromZero(t *testing.T) {
	zero := ServiceState{MaxSize: 25, MaxConcurrency: 10, ScaleToZero: true, ScaleToZeroAfter: time.Minute}
	t.Run("no data at all", func(t *testing.T) {
		a := &Autoscaler{}
		a.Poke("svc", t0)
		if d := a.Decide("svc", zero, t0.Add(time.Millisecond)); d.Desired != 1 || d.Reason != ReasonPoked {
			t.Fatalf("after a poke: %+v", d)
		}
		if d := a.Decide("svc", zero, t0.Add(2*time.Second)); d.Desired != 0 {
			t.Fatalf("a poke counts once: %+v", d)
		}
	})
	t.Run("idle service", func(t *testing.T) {
		s := newSim(zero)
		s.run(5*time.Minute, 0)
		if s.last.Desired != 0 {
			t.Fatalf("idle: %d", s.last.Desired)
		}
		s.a.Poke("svc", s.now)
		d := s.a.Decide("svc", s.st, s.now)
		if d.Desired != 1 {
			t.Fatalf("after a poke: %+v", d)
		}
		s.st.Current, s.st.Ready = 1, 1
		// The poke restarts the idle period: one instance for ScaleToZeroAfter.
		pokedAt := s.now
		for _, st := range s.run(3*time.Minute, 0) {
			if st.at.Sub(pokedAt) < zero.ScaleToZeroAfter && st.d.Desired != 1 {
				t.Fatalf("%v after the poke: %d", st.at.Sub(pokedAt), st.d.Desired)
			}
		}
		if s.last.Desired != 0 {
			t.Fatalf("long after the poke: %d", s.last.Desired)
		}
	})
}

func TestNoDataNoDecision(t *testing.T) {
	a := &Autoscaler{}
	st := ServiceState{Ready: 7, Current: 7, MinSize: 1, MaxSize: 25, MaxConcurrency: 10}
	if d := a.Decide("svc", st, t0); d.Desired != 7 || d.Reason != ReasonNoData {
		t.Fatalf("never sampled: %+v", d)
	}
	a.Record("svc", 0, t0)
	if d := a.Decide("svc", st, t0.Add(time.Second)); d.Desired != 4 {
		t.Fatalf("sampled zero: %+v, want 4", d)
	}
	if d := a.Decide("svc", st, t0.Add(2*time.Minute)); d.Desired != 7 || d.Reason != ReasonNoData {
		t.Fatalf("sampler silent for longer than the window: %+v", d)
	}
}

func TestForget(t *testing.T) {
	a := &Autoscaler{}
	a.Record("a", 50, t0)
	a.Record("b", 50, t0)
	a.Forget("a")
	if n := a.Services(); n != 1 {
		t.Fatalf("Services = %d", n)
	}
	st := ServiceState{Ready: 3, Current: 3, MaxConcurrency: 10}
	if d := a.Decide("a", st, t0); d.Reason != ReasonNoData {
		t.Fatalf("forgotten service kept its data: %+v", d)
	}
}

func TestDefaultsAndClock(t *testing.T) {
	now := t0
	a := &Autoscaler{Now: func() time.Time { return now }}
	if a.StableWindow() != 60*time.Second || a.PanicWindow() != 6*time.Second || a.TickInterval() != 2*time.Second {
		t.Fatal("defaults")
	}
	a.Record("svc", 35, time.Time{}) // zero time: a.Now
	d := a.Decide("svc", ServiceState{Ready: 1, Current: 1}, time.Time{})
	if d.Desired != 1 || math.Abs(d.Concurrency-35) > 1e-9 || d.Target != 70 {
		t.Fatalf("with the injected clock: %+v", d)
	}
}

// TestConcurrentUse is for the race detector.
func TestConcurrentUse(t *testing.T) {
	a := &Autoscaler{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				svc := fmt.Sprint("svc-", (g+i)%5)
				at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
				a.Record(svc, float64(i%30), at)
				switch i % 50 {
				case 7:
					a.Poke(svc, at)
				case 13:
					a.Forget(svc)
				}
				a.Decide(svc, ServiceState{Ready: 1, Current: 1, MaxConcurrency: 10}, at)
			}
		})
	}
	wg.Wait()
}
