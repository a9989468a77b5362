package autoscale

import (
	"math"
	"time"
)

// Defaults used by Decide for zero-valued fields of Input and by the
// Autoscaler for its zero-valued fields.
const (
	DefaultTargetPercent    = 70.0
	DefaultPanicThreshold   = 2.0
	DefaultMaxScaleDownRate = 2.0
	DefaultMaxScaleUpRate   = 1000.0
	DefaultMaxConcurrency   = 100
	DefaultStableWindow     = 60 * time.Second
	DefaultPanicWindow      = 6 * time.Second
	DefaultTick             = 2 * time.Second
)

// Input is everything one scaling decision depends on.
type Input struct {
	// StableAverage and PanicAverage are the mean concurrency (requests in
	// flight plus requests queued, summed over the service's instances)
	// over the stable and the panic windows.
	StableAverage, PanicAverage float64
	// HaveData reports whether the stable window holds any sample; without
	// data Decide keeps Current.
	HaveData bool
	// Ready is the number of instances serving now; Current is the desired
	// count decided last time (it may exceed Ready while instances start).
	Ready, Current int
	// MinSize and MaxSize bound the result. MaxSize 0 means no upper bound.
	// MinSize below 1 counts as 1: only scale to zero goes lower.
	MinSize, MaxSize int
	// MaxConcurrency is the most requests one instance serves at once
	// (0 means DefaultMaxConcurrency).
	MaxConcurrency int
	// TargetPercent of MaxConcurrency is the per-instance target (0 means
	// DefaultTargetPercent).
	TargetPercent float64
	// PanicThreshold is the ratio of panic-window demand to ready capacity
	// at which panic mode starts (0 means DefaultPanicThreshold).
	PanicThreshold float64
	// MaxScaleDownRate limits a decrease to Current/rate, rounded up, per
	// decision; MaxScaleUpRate limits an increase to rate × Ready. Values
	// of 1 or less (down) or 0 or less (up) mean the defaults.
	MaxScaleDownRate, MaxScaleUpRate float64
	// Now is the time of the decision.
	Now time.Time
	// LastPanic is the last time the panic threshold was reached, as
	// returned by the previous Decision; zero when not panicking.
	LastPanic time.Time
	// StableWindow is how long panic lasts after the threshold was last
	// reached (0 means DefaultStableWindow).
	StableWindow time.Duration
	// ScaleToZero allows zero instances once demand has been zero for
	// ScaleToZeroAfter since IdleSince (and over the whole stable window).
	// A zero IdleSince means no demand was ever seen.
	ScaleToZero      bool
	IdleSince        time.Time
	ScaleToZeroAfter time.Duration
	// Poked reports demand at a service that may have no instance (a
	// request is waiting in the router): the result is at least 1, with or
	// without data.
	Poked bool
}

// Decision is the outcome of Decide.
type Decision struct {
	// Desired is the instance count to run.
	Desired int
	// Panicking reports panic mode; LastPanic is the value to pass back as
	// Input.LastPanic next time.
	Panicking bool
	LastPanic time.Time
	// Target is the per-instance concurrency target.
	Target float64
	// Concurrency is the average the decision used (panic window while
	// panicking, stable window otherwise).
	Concurrency float64
	// Reason names the rule that settled Desired.
	Reason Reason
}

// A Reason names the rule that settled a Decision's Desired count.
type Reason string

// The reasons Decide gives.
const (
	ReasonNoData        Reason = "no data: keep current"
	ReasonStable        Reason = "stable window average"
	ReasonPanic         Reason = "panic: panic window average, never below current"
	ReasonScaleUpRate   Reason = "capped by the scale-up rate"
	ReasonScaleDownRate Reason = "held by the scale-down rate"
	ReasonMinSize       Reason = "raised to MinSize"
	ReasonMaxSize       Reason = "capped at MaxSize"
	ReasonScaleToZero   Reason = "idle: scale to zero"
	ReasonPoked         Reason = "demand at zero instances: at least 1"
)

// Target returns the per-instance concurrency target for maxConcurrency
// and targetPercent, with the defaults for values of 0 or less.
func Target(maxConcurrency int, targetPercent float64) float64 {
	if maxConcurrency <= 0 {
		maxConcurrency = DefaultMaxConcurrency
	}
	if targetPercent <= 0 {
		targetPercent = DefaultTargetPercent
	}
	return float64(maxConcurrency) * targetPercent / 100
}

// instancesFor is ceil(conc/target), tolerant of floating-point noise so
// that a concurrency of exactly k targets gives k, not k+1.
func instancesFor(conc, target float64) int {
	if conc <= 0 {
		return 0
	}
	x := conc / target
	n := math.Ceil(x - 1e-9)
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}

// Decide computes the desired instance count. It is a pure function of in.
func Decide(in Input) Decision {
	threshold := in.PanicThreshold
	if threshold <= 0 {
		threshold = DefaultPanicThreshold
	}
	down := in.MaxScaleDownRate
	if down <= 1 {
		down = DefaultMaxScaleDownRate
	}
	up := in.MaxScaleUpRate
	if up <= 0 {
		up = DefaultMaxScaleUpRate
	}
	stableWindow := in.StableWindow
	if stableWindow <= 0 {
		stableWindow = DefaultStableWindow
	}
	current := max(in.Current, 0)
	minSize := max(in.MinSize, 1)
	maxSize := in.MaxSize
	if maxSize > 0 && minSize > maxSize {
		minSize = maxSize
	}
	d := Decision{Target: Target(in.MaxConcurrency, in.TargetPercent), LastPanic: in.LastPanic}

	if !in.HaveData {
		d.Desired, d.Panicking = current, !in.LastPanic.IsZero()
		d.Reason = ReasonNoData
		if in.Poked && d.Desired < 1 {
			d.Desired, d.Reason = 1, ReasonPoked
		}
		// Bounds still hold (a changed configuration applies at once),
		// except that a scaled-to-zero service stays at zero.
		if d.Desired < minSize && !(in.ScaleToZero && d.Desired == 0) {
			d.Desired, d.Reason = minSize, ReasonMinSize
		}
		if maxSize > 0 && d.Desired > maxSize {
			d.Desired, d.Reason = maxSize, ReasonMaxSize
		}
		return d
	}

	stable := instancesFor(in.StableAverage, d.Target)
	panicky := instancesFor(in.PanicAverage, d.Target)
	ready := float64(max(in.Ready, 1))

	// Panic mode: entered (or prolonged) whenever the panic window asks for
	// threshold × the ready instances; left a stable window later.
	if float64(panicky)/ready >= threshold {
		d.LastPanic = in.Now
	} else if !d.LastPanic.IsZero() && in.Now.Sub(d.LastPanic) >= stableWindow {
		d.LastPanic = time.Time{}
	}
	d.Panicking = !d.LastPanic.IsZero()

	var want int
	if d.Panicking {
		want, d.Concurrency, d.Reason = max(current, panicky), in.PanicAverage, ReasonPanic
	} else {
		want, d.Concurrency, d.Reason = stable, in.StableAverage, ReasonStable
	}

	// Scale to zero: idle long enough, nothing in the stable window, no
	// poke. It skips the scale-down rate (1 could never halve to 0).
	idle := in.IdleSince.IsZero() || in.Now.Sub(in.IdleSince) >= in.ScaleToZeroAfter
	if want == 0 && in.ScaleToZero && idle && !in.Poked {
		d.Reason = ReasonScaleToZero
		return d
	}

	// Rate limits, relative to what is running and what was decided.
	if want > current {
		limit := int(math.Min(math.Ceil(up*ready), math.MaxInt32))
		if limit := max(limit, current); want > limit {
			want, d.Reason = limit, ReasonScaleUpRate
		}
	} else if want < current {
		if floor := int(math.Ceil(float64(current) / down)); want < floor {
			want, d.Reason = floor, ReasonScaleDownRate
		}
	}

	// Bounds.
	if in.Poked && want < 1 {
		want, d.Reason = 1, ReasonPoked
	}
	if want < minSize {
		want, d.Reason = minSize, ReasonMinSize
	}
	if maxSize > 0 && want > maxSize {
		want, d.Reason = maxSize, ReasonMaxSize
	}
	d.Desired = want
	return d
}
