package openrunner

import (
	"context"
	"time"
)

// Stores is every store of OpenRunner's state, opened on one database by a
// store package (sqlite, postgres). The daemon gets all of them from here,
// so which database holds the state is decided in one place.
type Stores struct {
	Connections ConnectionService
	Tags        TagService
	Services    ServiceService
	Leases      LeaseService
	AutoScaling AutoScalingConfigurationService
	Meta        MetaService
	// Observability, VPC, CustomDomains, Blobs, Secrets and Parameters
	// came with their features.
	Observability ObservabilityConfigurationService
	VPC           VPCService
	CustomDomains CustomDomainService
	Blobs         BlobService
	Secrets       SecretService
	Parameters    ParameterService
	// Routes, Notifier and Ephemeral are set only when Shared.
	Routes    RouteService
	Notifier  Notifier
	Ephemeral EphemeralService

	// Kind names the database: "sqlite" or "postgres".
	Kind string
	// Shared reports whether several servers may use the database at once:
	// then whatever belongs to one server (its name in leases, the
	// instances it runs) is kept beside it, not in the database.
	Shared bool
	// Ping checks that the database answers.
	Ping func(context.Context) error
	// Close closes the database.
	Close func() error
}

// MetaService stores small facts about the database itself, such as the
// proof of which master key sealed its secrets.
type MetaService interface {
	// Meta returns the value stored under key, or nil if there is none.
	Meta(ctx context.Context, key string) ([]byte, error)
	// SetMeta stores value under key.
	SetMeta(ctx context.Context, key string, value []byte) error
	// AddMeta stores value under key unless a value is stored there
	// already, and returns the value stored, so that several servers
	// starting together agree on one.
	AddMeta(ctx context.Context, key string, value []byte) ([]byte, error)
}

// SharedRoute is the route a service's lease holder gives its router,
// shared through the store so that every server's router sends the
// service's traffic to the holder's instances. Route is the route as
// package cluster encodes it. Version orders the writes of all servers:
// every PutRoute stores a higher one than any before it.
type SharedRoute struct {
	ServiceARN string
	Holder     string
	Route      []byte
	Version    int64
}

// RouteService stores the routes the lease holders set. Only a database
// several servers share implements it.
type RouteService interface {
	// PutRoute stores r, replacing the service's route, and returns the
	// Version it stored (r.Version is ignored).
	PutRoute(ctx context.Context, r SharedRoute) (int64, error)
	// DeleteRoute removes the service's route; removing none is no error.
	DeleteRoute(ctx context.Context, serviceARN string) error
	// FindRoutes returns every stored route, by ServiceARN.
	FindRoutes(ctx context.Context) ([]SharedRoute, error)
}

// Notifier carries short messages to every server on the database, each
// delivered at most once to every listener that is connected when it is
// committed: kicks and route changes, which the periodic resync backs up.
type Notifier interface {
	// Notify sends payload on channel.
	Notify(ctx context.Context, channel, payload string) error
	// Listen calls receive for every message on channels until ctx ends,
	// reconnecting by itself after a lost connection; connected runs on
	// every (re)connection, when messages may have been missed.
	Listen(ctx context.Context, channels []string, receive func(channel, payload string), connected func())
}

// EphemeralService keeps short-lived records that every server sharing a
// database must see: console sessions and started OAuth handshakes, so a
// browser's next request or a provider's redirect may reach any server.
// Records are grouped by kind; an expired record reads as none.
type EphemeralService interface {
	// PutEphemeral stores value under kind and key until expires.
	PutEphemeral(ctx context.Context, kind, key string, value []byte, expires time.Time) error
	// FindEphemeral returns the value, or nil when there is none.
	FindEphemeral(ctx context.Context, kind, key string) ([]byte, error)
	// TakeEphemeral removes and returns the value (nil when there is
	// none) atomically: of several servers taking one key, one gets it.
	TakeEphemeral(ctx context.Context, kind, key string) ([]byte, error)
	// DeleteEphemeral removes the value; removing none is no error.
	DeleteEphemeral(ctx context.Context, kind, key string) error
}
