package openrunner

import "context"

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
