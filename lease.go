package openrunner

import (
	"context"
	"time"
)

// Lease says which server reconciles a piece of work (a service) until
// when. A server takes a lease before it acts on a service and renews it
// while it works; if it dies, the lease lapses and another server takes it.
type Lease struct {
	Key     string // what is leased, e.g. "service/" + service ARN
	Holder  string // the server holding it
	Expires time.Time
}

// LeaseService stores leases. Every method works in any Scope, and every
// decision is made by the store atomically, so that several servers on one
// database never both hold a lease.
type LeaseService interface {
	// AcquireLease gives holder the lease on key until now+ttl, and reports
	// whether it did: it does when nobody holds the lease, when its holder
	// let it expire, or when holder holds it already (a renewal). It does
	// not when another holder's lease has not expired.
	AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error)

	// ReleaseLease gives up holder's lease on key, so another server can
	// take it at once. Releasing a lease holder does not hold is not an
	// error, and changes nothing.
	ReleaseLease(ctx context.Context, key, holder string) error

	// FindLeases returns the unexpired leases holder holds, by key.
	FindLeases(ctx context.Context, holder string) ([]Lease, error)

	// FindLapsedLeases returns the leases whose keys start with prefix
	// and whose holders let them expire without releasing them (a server
	// killed or cut off), by key: work for another server to take over.
	FindLapsedLeases(ctx context.Context, prefix string) ([]Lease, error)
}
