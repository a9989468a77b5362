package api

import (
	"context"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// taggable are the resource types App Runner lets callers tag.
var taggable = map[string]bool{
	openrunner.ResourceConnection:               true,
	openrunner.ResourceService:                  true,
	openrunner.ResourceAutoScalingConfiguration: true,
	openrunner.ResourceObservabilityConfig:      true,
	openrunner.ResourceVpcConnector:             true,
	openrunner.ResourceVpcIngressConnection:     true,
}

// taggableARN checks that arn names a taggable resource of the caller.
func taggableARN(ctx context.Context, arn string) error {
	a, err := ownedARN(ctx, arn, "")
	if err != nil {
		return err
	}
	if !taggable[a.Type] {
		return openrunner.Errorf(openrunner.EINVALID, "Resources of type %s can't be tagged. ARN: '%s'", a.Type, openrunner.Truncate(arn, 200))
	}
	return nil
}

// TagResource implements wire.AppRunner.
func (s *Server) TagResource(ctx context.Context, in *wire.TagResourceInput) (*wire.TagResourceOutput, error) {
	if err := taggableARN(ctx, *in.ResourceArn); err != nil {
		return nil, err
	}
	tags, err := domainTags(in.Tags)
	if err != nil {
		return nil, err
	}
	if err := s.Tags.TagResource(ctx, *in.ResourceArn, tags); err != nil {
		return nil, err
	}
	return &wire.TagResourceOutput{}, nil
}

// UntagResource implements wire.AppRunner.
func (s *Server) UntagResource(ctx context.Context, in *wire.UntagResourceInput) (*wire.UntagResourceOutput, error) {
	if err := taggableARN(ctx, *in.ResourceArn); err != nil {
		return nil, err
	}
	if err := s.Tags.UntagResource(ctx, *in.ResourceArn, in.TagKeys); err != nil {
		return nil, err
	}
	return &wire.UntagResourceOutput{}, nil
}

// ListTagsForResource implements wire.AppRunner.
func (s *Server) ListTagsForResource(ctx context.Context, in *wire.ListTagsForResourceInput) (*wire.ListTagsForResourceOutput, error) {
	if err := taggableARN(ctx, *in.ResourceArn); err != nil {
		return nil, err
	}
	tags, err := s.Tags.ListTags(ctx, *in.ResourceArn)
	if err != nil {
		return nil, err
	}
	out := &wire.ListTagsForResourceOutput{Tags: make([]wire.Tag, 0, len(tags))}
	for _, t := range tags {
		out.Tags = append(out.Tags, wire.Tag{Key: wire.Ptr(t.Key), Value: wire.Ptr(t.Value)})
	}
	return out, nil
}

// domainTags converts wire tags; within one request the last value of a
// repeated key wins, as with TagResource's upsert. The model does not mark a
// Tag's Key as required, but a tag without one means nothing: it is rejected
// with Coral's text. An absent Value means "".
func domainTags(in []wire.Tag) ([]openrunner.Tag, error) {
	out := make([]openrunner.Tag, 0, len(in))
	for i, t := range in {
		if t.Key == nil {
			return nil, openrunner.Errorf(openrunner.EINVALID,
				"1 validation error detected: Value null at 'tags.%d.member.key' failed to satisfy constraint: Member must not be null", i+1)
		}
		out = append(out, openrunner.Tag{Key: *t.Key, Value: wire.Deref(t.Value)})
	}
	return out, nil
}
