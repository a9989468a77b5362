package openrunner

import "context"

// MaxTagsPerResource is how many tags one resource may carry (the AWS-wide
// standard; App Runner does not document its own number).
const MaxTagsPerResource = 50

// Tag is a key-value label on a taggable resource.
type Tag struct {
	Key   string
	Value string
}

// TagService manages the tags of every taggable resource (connections,
// services, auto scaling, observability configurations, VPC connectors and
// VPC ingress connections). Resources are named by ARN and are only visible
// in their own Scope (from ctx).
type TagService interface {
	// TagResource adds tags to the resource, replacing the value of keys it
	// already has. Returns ENOTFOUND if no live resource has that ARN in the
	// caller's Scope, and EINVALID if the resource would exceed
	// MaxTagsPerResource.
	TagResource(ctx context.Context, arn string, tags []Tag) error

	// UntagResource removes the given keys; absent keys are ignored.
	// Returns ENOTFOUND like TagResource.
	UntagResource(ctx context.Context, arn string, keys []string) error

	// ListTags returns the resource's tags ordered by key. Returns ENOTFOUND
	// like TagResource.
	ListTags(ctx context.Context, arn string) ([]Tag, error)
}
