package openrunner

import (
	"context"
	"time"
)

// VPC connector statuses (model enum VpcConnectorStatus, UPPERCASE on the
// wire).
const (
	VpcConnectorActive   = "ACTIVE"
	VpcConnectorInactive = "INACTIVE"
)

// VPC ingress connection statuses (model enum VpcIngressConnectionStatus).
const (
	IngressAvailable       = "AVAILABLE"
	IngressPendingCreation = "PENDING_CREATION"
	IngressPendingUpdate   = "PENDING_UPDATE"
	IngressPendingDeletion = "PENDING_DELETION"
	IngressFailedCreation  = "FAILED_CREATION"
	IngressFailedUpdate    = "FAILED_UPDATE"
	IngressFailedDeletion  = "FAILED_DELETION"
	IngressDeleted         = "DELETED"
)

// App Runner's default VPC quotas per account and Region
// (apprunner-api.md §4).
const (
	DefaultMaxVpcConnectors = 10
	// DefaultMaxVpcIngressConnections is OpenRunner's default: App
	// Runner's table says 1 per account, which would allow one private
	// service per account; docs/decisions.md explains the choice.
	DefaultMaxVpcIngressConnections = 30
)

// VpcConnector is an App Runner VPC connector: the subnets (and security
// groups) that the instances of VPC-egress services are attached to. App
// Runner has one revision per name, always 1.
type VpcConnector struct {
	Scope          Scope
	Name           string
	Revision       int    // always 1
	ID             string // 32 lowercase hex digits
	Subnets        []string
	SecurityGroups []string
	Status         string // VpcConnectorActive or VpcConnectorInactive
	CreatedAt      time.Time
	DeletedAt      time.Time // zero while ACTIVE

	Seq int64 // store-assigned creation order
}

// ARN returns arn:aws:apprunner:<region>:<account>:vpcconnector/<name>/<revision>/<id>.
func (c *VpcConnector) ARN() string {
	return NewARN(c.Scope, ResourceVpcConnector, c.Name, "1", c.ID)
}

// VpcIngressConnection is an App Runner VPC ingress connection: it makes a
// private service reachable from one VPC at DomainName.
type VpcIngressConnection struct {
	Scope      Scope
	Name       string
	ID         string // 32 lowercase hex digits
	ServiceARN string
	// VpcID and VpcEndpointID are IngressVpcConfiguration. On Docker the
	// VpcID names the network the service is reachable on.
	VpcID         string
	VpcEndpointID string
	// DomainName is where the service answers inside the VPC.
	DomainName string
	Status     string
	// StatusMessage says why the connection is in a FAILED_* status.
	StatusMessage string
	CreatedAt     time.Time
	DeletedAt     time.Time // zero until DELETED

	Seq int64 // store-assigned creation order
}

// ARN returns arn:aws:apprunner:<region>:<account>:vpcingressconnection/<name>/<id>.
func (c *VpcIngressConnection) ARN() string {
	return NewARN(c.Scope, ResourceVpcIngressConnection, c.Name, c.ID)
}

// Live reports whether the connection is not DELETED.
func (c *VpcIngressConnection) Live() bool { return c.Status != IngressDeleted }

// VpcConnectorFilter selects VPC connectors for FindVpcConnectors.
type VpcConnectorFilter struct {
	After int64 // continue after this Seq; 0 starts at the beginning
	Limit int   // 0: all
}

// VpcConnectorPage is one page of FindVpcConnectors.
type VpcConnectorPage struct {
	Connectors []*VpcConnector
	Next       int64 // 0 when there are no more
}

// VpcIngressConnectionFilter selects VPC ingress connections for
// FindVpcIngressConnections; nil fields match any.
type VpcIngressConnectionFilter struct {
	ServiceARN    *string
	VpcEndpointID *string

	After int64 // continue after this Seq; 0 starts at the beginning
	Limit int   // 0: all
}

// VpcIngressConnectionPage is one page of FindVpcIngressConnections.
type VpcIngressConnectionPage struct {
	Connections []*VpcIngressConnection
	Next        int64 // 0 when there are no more
}

// VPCService stores VPC connectors and VPC ingress connections. Methods act
// in the Scope of ctx unless they say otherwise; every method is one
// transaction.
type VPCService interface {
	// CreateVpcConnector stores c with its tags. The store sets ID,
	// Revision 1, Status ACTIVE, CreatedAt and Seq. Returns ECONFLICT if an
	// ACTIVE connector of the Scope has c.Name, EQUOTA at the connectors
	// quota.
	CreateVpcConnector(ctx context.Context, c *VpcConnector, tags []Tag) error

	// FindVpcConnector returns the connector with that ARN, INACTIVE ones
	// included. Returns ENOTFOUND if there is none.
	FindVpcConnector(ctx context.Context, arn string) (*VpcConnector, error)

	// FindVpcConnectors returns the Scope's ACTIVE connectors in creation
	// order.
	FindVpcConnectors(ctx context.Context, f VpcConnectorFilter) (VpcConnectorPage, error)

	// DeleteVpcConnector makes the connector INACTIVE, removes its tags
	// and returns it. Returns ENOTFOUND for an unknown ARN, EINVALID for
	// one already INACTIVE or used by a service that is not DELETED (its
	// configuration, or the one an unfinished operation deploys).
	DeleteVpcConnector(ctx context.Context, arn string) (*VpcConnector, error)

	// CreateVpcIngressConnection stores c with its tags. The store sets ID,
	// Status PENDING_CREATION, CreatedAt and Seq; the caller sets
	// DomainName. Returns ECONFLICT if a connection of the Scope that is
	// not DELETED has c.Name, EINVALID if c.ServiceARN names no service of
	// the Scope that is not DELETED or one that already has a connection
	// that is not DELETED, and EQUOTA at the quota.
	CreateVpcIngressConnection(ctx context.Context, c *VpcIngressConnection, tags []Tag) error

	// FindVpcIngressConnection returns the connection with that ARN,
	// DELETED ones included. Returns ENOTFOUND if there is none.
	FindVpcIngressConnection(ctx context.Context, arn string) (*VpcIngressConnection, error)

	// FindVpcIngressConnections returns the Scope's connections that are
	// not DELETED, in creation order.
	FindVpcIngressConnections(ctx context.Context, f VpcIngressConnectionFilter) (VpcIngressConnectionPage, error)

	// FindVpcIngressConnectionForService returns the service's connection
	// that is not DELETED (a service has at most one), in any Scope: custom
	// domains list it as their VpcDNSTargets. Returns ENOTFOUND if there is
	// none.
	FindVpcIngressConnectionForService(ctx context.Context, serviceARN string) (*VpcIngressConnection, error)

	// UpdateVpcIngressConnection calls apply on the stored connection with
	// that ARN, in any Scope, and stores its VpcID, VpcEndpointID, Status,
	// StatusMessage and DeletedAt, atomically; a connection that becomes
	// DELETED loses its tags. apply may return an error to store nothing.
	// Returns ENOTFOUND for an unknown ARN and whatever apply returns.
	UpdateVpcIngressConnection(ctx context.Context, arn string, apply func(*VpcIngressConnection) error) (*VpcIngressConnection, error)

	// FindVpcIngressConnectionsByStatus returns the connections of every
	// Scope whose status is one of statuses, in creation order.
	FindVpcIngressConnectionsByStatus(ctx context.Context, statuses ...string) ([]*VpcIngressConnection, error)
}

// IngressEndpoint is the network side of one VPC ingress connection: on
// Network, DomainName answers on port 80 by forwarding TCP to Target.
type IngressEndpoint struct {
	ID         string // the connection's id
	Network    string // the runtime's network the connection's VpcID names
	DomainName string
	Target     string // host:port of the router's private listener
}

// IngressRuntime runs the endpoints of VPC ingress connections: on Docker,
// a proxy container per connection with the DomainName as its network
// alias. A Kubernetes runtime would make it a Service in the VPC's
// namespace.
type IngressRuntime interface {
	// NetworkGateway returns the address, on this host, from which a
	// listener is reachable by the network's members only. Returns
	// EINVALID if the network does not exist.
	NetworkGateway(ctx context.Context, network string) (string, error)
	// EnsureIngress makes e's endpoint run (replacing one made for another
	// network, domain or target) and returns its host:port on the network,
	// reachable from this process. Returns EINVALID if the network does
	// not exist.
	EnsureIngress(ctx context.Context, e IngressEndpoint) (string, error)
	// RemoveIngress removes the endpoint of the connection with that id;
	// removing one that is gone is not an error.
	RemoveIngress(ctx context.Context, id string) error
	// Ingresses lists the connection ids of the endpoints that run.
	Ingresses(ctx context.Context) ([]string, error)
}
