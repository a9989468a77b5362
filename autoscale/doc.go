// Package autoscale decides how many instances a service should run from
// the concurrency it sees, in the manner of Knative's pod autoscaler (KPA),
// with App Runner's configuration (MinSize, MaxSize, MaxConcurrency) and an
// optional scale to zero.
//
// # Measuring demand
//
// Demand is concurrency: the requests being served by a service's
// instances plus the requests the router holds while it waits for a free
// instance. A sampler records it at least once a second into a Window,
// which keeps one bucket per second for the longest window in use. Two
// averages come out of it: over the stable window (60 s by default) and
// over the panic window (6 s). Each second counts once, however many
// samples it got; seconds without a sample are skipped rather than taken
// as zero, and a window without any sample means "no data".
//
// # Deciding
//
// Decide is a pure function of the averages, the instance counts, the
// configuration and the time. Each instance should run at TargetPercent
// (70 %) of MaxConcurrency, so a window asks for ceil(average / target)
// instances. Then:
//
//   - Normally the stable window's answer is used. Going up is immediate
//     (at most MaxScaleUpRate times the ready instances in one step); going
//     down is at most by half per decision (MaxScaleDownRate 2), so a long
//     quiet period shrinks the service step by step to MinSize. Because the
//     stable average trails demand by up to a minute, a lull of a few
//     seconds removes only its share of the minute, and the full
//     scale-down comes a stable window after the demand fell.
//   - A burst is seen first by the short panic window. When it asks for at
//     least PanicThreshold (2) times the ready instances, the service
//     panics: the count follows the panic window and never goes down. Each
//     decision that reaches the threshold again prolongs the panic; a whole
//     stable window without reaching it ends the panic, by which time the
//     burst is part of the stable average.
//   - The result lies within MinSize and MaxSize. MinSize is at least 1;
//     only scale to zero goes below it.
//   - Without data the count stays as it is: a broken sampler never scales
//     a service.
//
// # Scale to zero
//
// With ScaleToZero a service goes to zero instances once the stable window
// holds nothing but zeros and no demand was seen for ScaleToZeroAfter. One
// request anywhere in the stable window keeps an instance. When a request
// arrives at a service with no instance, the router holds it and calls
// Autoscaler.Poke: the next decision asks for at least one instance
// without waiting for a sample, and the held request then counts as
// concurrency like any other.
//
// # Running it
//
// An Autoscaler holds the per-service state (window, panic state, idle
// time, poke) and calls Decide. It has no goroutine and reads no clock of
// its own: the caller records samples and asks for decisions every Tick
// (2 s), passing the times, so tests run minutes of scaling in
// milliseconds on a fake clock.
package autoscale
