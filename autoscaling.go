package openrunner

import (
	"context"
	"strconv"
	"time"
)

// Auto scaling configuration statuses. App Runner returns them in lower
// case on the wire, unlike the model's enum (ACTIVE, INACTIVE).
const (
	AutoScalingActive   = "active"
	AutoScalingInactive = "inactive"
)

// The AWS-provided default auto scaling configuration that every account
// and Region starts with: DefaultConfiguration revision 1, with a fixed id.
const (
	DefaultAutoScalingName = "DefaultConfiguration"
	DefaultAutoScalingID   = "00000000000000000000000000000001"
)

// Auto scaling bounds and defaults (the model's ASConfig shapes and docs).
const (
	DefaultMaxConcurrency = 100
	MaxMaxConcurrency     = 200
	DefaultMinSize        = 1
	MaxMinSize            = 25
	// DefaultMaxSize is both the default MaxSize and App Runner's default
	// ceiling on it (a quota: Quotas.AutoScalingMaxSize).
	DefaultMaxSize = 25
)

// App Runner's default auto scaling quotas per account and Region.
const (
	// DefaultMaxAutoScalingNames is how many names may have active
	// revisions; the AWS-provided revision does not count.
	DefaultMaxAutoScalingNames = 10
	// DefaultMaxAutoScalingRevisions is how many active revisions one name
	// may have (not adjustable in App Runner).
	DefaultMaxAutoScalingRevisions = 5
)

// Tags of an auto scaling configuration that OpenRunner reads (extensions:
// App Runner has no scale to zero).
const (
	// TagMinSize set to "0" lets services using the configuration scale
	// to zero instances once idle.
	TagMinSize = "openrunner:min-size"
	// TagScaleToZeroAfter is how long a service must be idle before it is
	// scaled to zero, as a Go duration ("5m"); absent means the server's
	// default.
	TagScaleToZeroAfter = "openrunner:scale-to-zero-after"
)

// AutoScalingConfiguration is one revision of an App Runner auto scaling
// configuration. Revisions are immutable; a name's revisions share its
// settings' history.
type AutoScalingConfiguration struct {
	Scope    Scope
	Name     string
	Revision int
	ID       string // 32 lowercase hex digits
	// Latest is true only on the highest active revision of the name.
	Latest bool
	Status string // AutoScalingActive or AutoScalingInactive

	MaxConcurrency int
	MinSize        int
	MaxSize        int

	// IsDefault marks the one revision of the Scope that services naming
	// no configuration get.
	IsDefault bool
	// HasAssociatedService is true while a service that is not DELETED
	// uses the revision.
	HasAssociatedService bool

	CreatedAt time.Time
	DeletedAt time.Time // zero while active

	// Seq orders revisions by creation; the store assigns it. Listings page
	// by it (AutoScalingConfigurationFilter.After).
	Seq int64
}

// ARN returns arn:aws:apprunner:<region>:<account>:autoscalingconfiguration/<name>/<revision>/<id>.
func (c *AutoScalingConfiguration) ARN() string {
	return NewARN(c.Scope, ResourceAutoScalingConfiguration, c.Name, strconv.Itoa(c.Revision), c.ID)
}

// AutoScalingConfigurationFilter selects active revisions for
// FindAutoScalingConfigurations.
type AutoScalingConfigurationFilter struct {
	Name       *string // exact name
	LatestOnly bool    // only each name's latest revision

	After int64 // continue after this Seq; 0 starts at the beginning
	Limit int   // 0: all
}

// AutoScalingConfigurationPage is one page of FindAutoScalingConfigurations.
type AutoScalingConfigurationPage struct {
	Configurations []*AutoScalingConfiguration
	Next           int64 // 0 when there are no more
}

// AutoScalingConfigurationService stores auto scaling configurations. All
// methods act in the Scope of ctx, whose AWS-provided default
// (DefaultConfiguration/1) the store creates before first use. Every method
// is one transaction. ARNs may be full revision ARNs, …/<name>/<revision>
// or …/<name> (the latest active revision), as App Runner accepts.
type AutoScalingConfigurationService interface {
	// CreateAutoScalingConfiguration stores a new revision of c.Name with
	// c's sizes, and its tags. The store sets ID, Revision (the name's
	// highest active revision plus 1), Status active, Latest, IsDefault
	// (false), CreatedAt and Seq. Returns EINVALID for sizes out of bounds
	// and EQUOTA at the names or revisions quota.
	CreateAutoScalingConfiguration(ctx context.Context, c *AutoScalingConfiguration, tags []Tag) error

	// FindAutoScalingConfiguration returns the revision an ARN names: for a
	// full ARN that revision in any status, for …/<name> the latest active
	// revision. Returns ENOTFOUND if there is none.
	FindAutoScalingConfiguration(ctx context.Context, arn string) (*AutoScalingConfiguration, error)

	// DefaultAutoScalingConfiguration returns the Scope's default revision.
	DefaultAutoScalingConfiguration(ctx context.Context) (*AutoScalingConfiguration, error)

	// FindAutoScalingConfigurations returns active revisions in creation
	// order.
	FindAutoScalingConfigurations(ctx context.Context, f AutoScalingConfigurationFilter) (AutoScalingConfigurationPage, error)

	// DeleteAutoScalingConfiguration makes the revision the ARN names
	// inactive (with all the name's active revisions if allRevisions, which
	// needs a name-only ARN) and removes its tags; it returns the named
	// revision as deleted. Returns ENOTFOUND for an unknown ARN, and
	// EINVALID for a revision already deleted, in use by a service, or the
	// default.
	DeleteAutoScalingConfiguration(ctx context.Context, arn string, allRevisions bool) (*AutoScalingConfiguration, error)

	// SetDefaultAutoScalingConfiguration makes the active revision the ARN
	// names the Scope's default, and the previous default not, and returns
	// it. Returns ENOTFOUND if there is no such active revision.
	SetDefaultAutoScalingConfiguration(ctx context.Context, arn string) (*AutoScalingConfiguration, error)

	// FindServicesForAutoScalingConfiguration returns the services, not
	// DELETED, that use the revision the ARN names, in creation order.
	// Returns ENOTFOUND for an unknown ARN.
	FindServicesForAutoScalingConfiguration(ctx context.Context, arn string, f ServiceFilter) (ServicePage, error)
}
