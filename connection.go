package openrunner

import (
	"context"
	"time"
)

// Connection provider types (model enum ProviderType).
const (
	ProviderGitHub    = "GITHUB"
	ProviderBitbucket = "BITBUCKET"
)

// Connection statuses (model enum ConnectionStatus).
const (
	ConnectionPendingHandshake = "PENDING_HANDSHAKE"
	ConnectionAvailable        = "AVAILABLE"
	ConnectionError            = "ERROR"
	ConnectionDeleted          = "DELETED"
)

// DefaultMaxConnections is App Runner's default quota of connections per
// account and Region.
const DefaultMaxConnections = 10

// Connection is an App Runner connection to a source code provider.
type Connection struct {
	Scope        Scope
	ID           string // 32 lowercase hex digits
	Name         string // unique among live connections of the Scope
	ProviderType string
	Status       string
	CreatedAt    time.Time

	// StatusMessage says why a connection is in ERROR; empty otherwise.
	StatusMessage string
	// ProviderAccount is the provider user (GitHub login, Bitbucket
	// username) whose authorization the connection holds, once AVAILABLE.
	ProviderAccount string

	// Seq orders connections by creation; the store assigns it. Listings
	// page by it (ConnectionFilter.After).
	Seq int64
}

// ARN returns the connection's ARN:
// arn:aws:apprunner:<region>:<account>:connection/<name>/<id>.
func (c *Connection) ARN() string {
	return NewARN(c.Scope, ResourceConnection, c.Name, c.ID)
}

// ConnectionFilter selects connections for FindConnections.
type ConnectionFilter struct {
	Name *string // exact name

	// After continues a listing after the connection with this position
	// (Connection.Seq of the last item of the previous page); 0 starts
	// at the beginning.
	After int64
	// Limit is the most connections to return; 0 means all.
	Limit int
}

// ConnectionPage is one page of FindConnections.
type ConnectionPage struct {
	Connections []*Connection
	// Next is the position to pass as ConnectionFilter.After for the next
	// page, or 0 when there are no more connections.
	Next int64
}

// ConnectionService stores connections. All methods act in the Scope of ctx.
type ConnectionService interface {
	// CreateConnection stores c (with a fresh ID, PENDING_HANDSHAKE and
	// CreatedAt set by the store) together with its tags, atomically.
	// Returns ECONFLICT if a live connection of the Scope has c.Name and
	// EQUOTA if the Scope already has the maximum number of connections.
	CreateConnection(ctx context.Context, c *Connection, tags []Tag) error

	// FindConnections returns connections in creation order.
	FindConnections(ctx context.Context, f ConnectionFilter) (ConnectionPage, error)

	// FindConnectionByARN returns the live connection with that ARN.
	// Returns ENOTFOUND if there is none.
	FindConnectionByARN(ctx context.Context, arn string) (*Connection, error)

	// UpdateConnection applies upd to the live connection with that ARN and
	// returns the result. Returns ENOTFOUND if there is none.
	UpdateConnection(ctx context.Context, arn string, upd ConnectionUpdate) (*Connection, error)

	// FindConnectionSecret returns the connection's sealed provider
	// credential. Returns ENOTFOUND if the connection does not exist or holds
	// no credential.
	FindConnectionSecret(ctx context.Context, arn string) ([]byte, error)

	// DeleteConnection deletes the connection with that ARN, its tags and
	// any stored credentials, and returns it with Status DELETED.
	// Returns ENOTFOUND if there is none.
	DeleteConnection(ctx context.Context, arn string) (*Connection, error)
}

// ConnectionUpdate is a partial update of a connection; nil fields are
// left as they are. All fields are written in one transaction.
type ConnectionUpdate struct {
	Status          *string
	StatusMessage   *string
	ProviderAccount *string
	// Secret replaces the sealed provider credential (see package vault);
	// ClearSecret removes it.
	Secret      []byte
	ClearSecret bool
}
