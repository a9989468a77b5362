package e2e_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

func tagString(tags []types.Tag) string {
	var b strings.Builder
	for _, t := range tags {
		fmt.Fprintf(&b, "%s=%s;", aws.ToString(t.Key), aws.ToString(t.Value))
	}
	return b.String()
}

func TestTags(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	conn := createConn(t, c, "tagged", types.ProviderTypeGithub,
		types.Tag{Key: aws.String("team"), Value: aws.String("web")}, types.Tag{Key: aws.String("empty"), Value: aws.String("")})
	arn := conn.ConnectionArn

	list := func() string {
		t.Helper()
		out, err := c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		return tagString(out.Tags)
	}
	if got, want := list(), "empty=;team=web;"; got != want {
		t.Fatalf("tags on create = %s, want %s", got, want)
	}
	if _, err := c.TagResource(ctx, &apprunner.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{
		{Key: aws.String("team"), Value: aws.String("api")}, {Key: aws.String("env"), Value: aws.String(strings.Repeat("v", 256))},
	}}); err != nil {
		t.Fatal(err)
	}
	if got, want := list(), "empty=;env="+strings.Repeat("v", 256)+";team=api;"; got != want {
		t.Fatalf("tags after TagResource = %s, want %s", got, want)
	}
	if _, err := c.UntagResource(ctx, &apprunner.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"env", "never-set"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := list(), "empty=;team=api;"; got != want {
		t.Fatalf("tags after UntagResource = %s, want %s", got, want)
	}

	t.Run("Invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			tags  []types.Tag
			frags []string
		}{
			{"ReservedPrefix", []types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("x")}}, []string{"'tags.1.member.key'", "regular expression pattern: ^(?!aws:).+"}},
			{"KeyTooLong", []types.Tag{{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("x")}}, []string{"length less than or equal to 128"}},
			{"EmptyKey", []types.Tag{{Key: aws.String(""), Value: aws.String("x")}}, []string{"length greater than or equal to 1"}},
			{"ValueTooLong", []types.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 257))}}, []string{"'tags.1.member.value'", "length less than or equal to 256"}},
			{"MissingKey", []types.Tag{{Value: aws.String("x")}}, []string{"Value null at 'tags.1.member.key'"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.TagResource(ctx, &apprunner.TagResourceInput{ResourceArn: arn, Tags: tc.tags})
				wantAPIError(t, err, "InvalidRequestException", tc.frags...)
			})
		}
		if got, want := list(), "empty=;team=api;"; got != want {
			t.Fatalf("failed calls changed the tags: %s", got)
		}
	})

	t.Run("Limit50", func(t *testing.T) {
		var tags []types.Tag
		for i := range 48 {
			tags = append(tags, types.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")})
		}
		if _, err := c.TagResource(ctx, &apprunner.TagResourceInput{ResourceArn: arn, Tags: tags}); err != nil {
			t.Fatalf("50 tags must be allowed: %v", err)
		}
		_, err := c.TagResource(ctx, &apprunner.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("one-too-many"), Value: aws.String("v")}}})
		wantAPIError(t, err, "InvalidRequestException", "at most 50 tags")
	})

	t.Run("UnknownAndMalformed", func(t *testing.T) {
		unknown := aws.String("arn:aws:apprunner:us-east-1:000000000000:connection/nope/0123456789abcdef0123456789abcdef")
		otherAccount := aws.String(strings.Replace(aws.ToString(arn), "000000000000", "123456789012", 1))
		for _, a := range []*string{unknown, otherAccount} {
			_, err := c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: a})
			wantAPIError(t, err, "ResourceNotFoundException")
			_, err = c.TagResource(ctx, &apprunner.TagResourceInput{ResourceArn: a, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			wantAPIError(t, err, "ResourceNotFoundException")
			_, err = c.UntagResource(ctx, &apprunner.UntagResourceInput{ResourceArn: a, TagKeys: []string{"k"}})
			wantAPIError(t, err, "ResourceNotFoundException")
		}
		for _, a := range []string{"arn:aws:apprunner:us-east-1:000000000000", "garbage", "arn:aws:apprunner:us-east-1:000000000000:operation/x"} {
			_, err := c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: aws.String(a)})
			wantAPIError(t, err, "InvalidRequestException")
		}
	})

	t.Run("GoneWithResource", func(t *testing.T) {
		if _, err := c.DeleteConnection(ctx, &apprunner.DeleteConnectionInput{ConnectionArn: arn}); err != nil {
			t.Fatal(err)
		}
		_, err := c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: arn})
		wantAPIError(t, err, "ResourceNotFoundException")
	})
}
