package autoscale

import (
	"sync"
	"time"
)

// ServiceState is what the caller knows about a service at decision time.
type ServiceState struct {
	Ready            int // instances serving now
	Current          int // desired count in force (the last Desired applied)
	MinSize          int
	MaxSize          int // 0: no upper bound
	MaxConcurrency   int // 0: DefaultMaxConcurrency
	ScaleToZero      bool
	ScaleToZeroAfter time.Duration
}

// An Autoscaler keeps, per service, a Window of concurrency samples, the
// panic state and the time demand was last seen, and turns them into
// Decisions with Decide. It runs no goroutine: a sampler calls Record
// (every second or more often) and a loop calls Decide every Tick. All
// times are passed in; Now is used only for a zero time argument.
//
// Set the fields before first use and leave them alone afterwards. The
// zero value is ready to use with the defaults. Methods are safe for
// concurrent use.
type Autoscaler struct {
	Stable time.Duration    // stable window; 0: DefaultStableWindow
	Panic  time.Duration    // panic window; 0: DefaultPanicWindow
	Tick   time.Duration    // decision interval for the caller's loop; 0: DefaultTick
	Now    func() time.Time // clock for zero times; nil: time.Now

	// Tuning passed to Decide; 0 means the default.
	TargetPercent    float64
	PanicThreshold   float64
	MaxScaleDownRate float64
	MaxScaleUpRate   float64

	mu       sync.RWMutex
	services map[string]*service
}

type service struct {
	mu        sync.Mutex
	window    *Window
	lastPanic time.Time
	idleSince time.Time // last time demand was non-zero (or first seen)
	poked     bool
}

// StableWindow returns the stable window in use.
func (a *Autoscaler) StableWindow() time.Duration {
	if a.Stable > 0 {
		return a.Stable
	}
	return DefaultStableWindow
}

// PanicWindow returns the panic window in use.
func (a *Autoscaler) PanicWindow() time.Duration {
	if a.Panic > 0 {
		return a.Panic
	}
	return DefaultPanicWindow
}

// TickInterval returns the interval at which the caller should call Decide.
func (a *Autoscaler) TickInterval() time.Duration {
	if a.Tick > 0 {
		return a.Tick
	}
	return DefaultTick
}

func (a *Autoscaler) at(t time.Time) time.Time {
	if !t.IsZero() {
		return t
	}
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// service returns the state of name, creating it (first seen at at).
func (a *Autoscaler) service(name string, at time.Time) *service {
	a.mu.RLock()
	s := a.services[name]
	a.mu.RUnlock()
	if s != nil {
		return s
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s = a.services[name]; s == nil {
		if a.services == nil {
			a.services = make(map[string]*service)
		}
		s = &service{window: NewWindow(max(a.StableWindow(), a.PanicWindow())), idleSince: at}
		a.services[name] = s
	}
	return s
}

// Record adds a concurrency sample for service: requests in flight at its
// instances plus requests waiting for one in the router, at time at.
func (a *Autoscaler) Record(service string, concurrency float64, at time.Time) {
	at = a.at(at)
	s := a.service(service, at)
	s.mu.Lock()
	s.window.Record(at, concurrency)
	if concurrency > 0 && at.After(s.idleSince) {
		s.idleSince = at
	}
	s.mu.Unlock()
}

// Poke reports demand at service (typically a request waiting for a
// service with no instance): the next Decide returns at least 1, even
// before any sample shows the demand, and the idle period restarts.
func (a *Autoscaler) Poke(service string, at time.Time) {
	at = a.at(at)
	s := a.service(service, at)
	s.mu.Lock()
	s.poked = true
	if at.After(s.idleSince) {
		s.idleSince = at
	}
	s.mu.Unlock()
}

// Decide makes the scaling decision for service at now, given its current
// state, and remembers the panic state for the next call. It has data when
// the stable window holds a sample; a panic window without samples counts
// as zero demand (it can neither start a panic nor, while one lasts,
// lower the count).
func (a *Autoscaler) Decide(service string, st ServiceState, now time.Time) Decision {
	now = a.at(now)
	s := a.service(service, now)
	stableWindow := a.StableWindow()
	s.mu.Lock()
	defer s.mu.Unlock()
	stable, ok := s.window.Average(now, stableWindow)
	panicAvg, _ := s.window.Average(now, a.PanicWindow())
	d := Decide(Input{
		StableAverage:    stable,
		PanicAverage:     panicAvg,
		HaveData:         ok,
		Ready:            st.Ready,
		Current:          st.Current,
		MinSize:          st.MinSize,
		MaxSize:          st.MaxSize,
		MaxConcurrency:   st.MaxConcurrency,
		TargetPercent:    a.TargetPercent,
		PanicThreshold:   a.PanicThreshold,
		MaxScaleDownRate: a.MaxScaleDownRate,
		MaxScaleUpRate:   a.MaxScaleUpRate,
		Now:              now,
		LastPanic:        s.lastPanic,
		StableWindow:     stableWindow,
		ScaleToZero:      st.ScaleToZero,
		IdleSince:        s.idleSince,
		ScaleToZeroAfter: st.ScaleToZeroAfter,
		Poked:            s.poked,
	})
	s.lastPanic = d.LastPanic
	s.poked = false // Desired is at least 1 when poked
	return d
}

// Forget drops everything kept for service (it was deleted).
func (a *Autoscaler) Forget(service string) {
	a.mu.Lock()
	delete(a.services, service)
	a.mu.Unlock()
}

// Services returns how many services the Autoscaler keeps state for.
func (a *Autoscaler) Services() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.services)
}
