package secretref_test

import (
	"context"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/secretref"
)

var scope = openrunner.Scope{AccountID: "123456789012", Region: "us-east-1"}

const dbARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		want secretref.Ref
	}{
		{dbARN, secretref.Ref{Kind: secretref.KindSecret, Scope: scope, ARN: dbARN}},
		{dbARN + ":password::", secretref.Ref{Kind: secretref.KindSecret, Scope: scope, ARN: dbARN, JSONKey: "password"}},
		{dbARN + ":key:AWSPREVIOUS:", secretref.Ref{Kind: secretref.KindSecret, Scope: scope, ARN: dbARN, JSONKey: "key", Stage: "AWSPREVIOUS"}},
		{dbARN + ":::v-1", secretref.Ref{Kind: secretref.KindSecret, Scope: scope, ARN: dbARN, ID: "v-1"}},
		{"arn:aws:ssm:eu-west-1:123456789012:parameter/app/db", secretref.Ref{Kind: secretref.KindParameter,
			Scope: openrunner.Scope{AccountID: "123456789012", Region: "eu-west-1"}, ARN: "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db", Name: "/app/db"}},
		{"/app/db", secretref.Ref{Kind: secretref.KindParameter, Scope: scope, Name: "/app/db"}},
		{"plain", secretref.Ref{Kind: secretref.KindParameter, Scope: scope, Name: "plain"}},
	} {
		got, err := secretref.Parse(scope, tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v, want %+v", tc.ref, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "a b", "arn:aws:s3:::bucket", dbARN + ":only-key", "arn:aws:ssm:us-east-1:123456789012:parameter/", "arn:aws:secretsmanager::123456789012:secret:x"} {
		if _, err := secretref.Parse(scope, bad); openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("Parse(%q) error = %v, want EINVALID", bad, err)
		}
	}
}

// backend answers from maps, recording nothing: the resolver's own logic
// (JSON keys, cross-account rules) is what is tested here; the embedded
// and AWS backends are tested end to end in package e2e.
type backend struct{ secrets, params map[string]string }

func (b backend) SecretString(_ context.Context, _, _ openrunner.Scope, arn, stage, id string) (string, error) {
	v, ok := b.secrets[arn+"|"+stage+"|"+id]
	if !ok {
		return "", openrunner.Errorf(openrunner.ENOTFOUND, "no such secret")
	}
	return v, nil
}

func (b backend) Parameter(_ context.Context, _, _ openrunner.Scope, name string) (string, error) {
	v, ok := b.params[name]
	if !ok {
		return "", openrunner.Errorf(openrunner.ENOTFOUND, "no such parameter")
	}
	return v, nil
}

func TestResolve(t *testing.T) {
	r := &secretref.Resolver{Backend: backend{
		secrets: map[string]string{dbARN + "||": `{"password":"pw","port":5432,"nested":{"a":1}}`, dbARN + "|AWSPREVIOUS|": `{"password":"old"}`, dbARN + "||v1": "raw"},
		params:  map[string]string{"/app/x": "px", "arn:aws:ssm:us-east-1:123456789012:parameter/app/x": "px-arn"},
	}}
	ctx := context.Background()
	for ref, want := range map[string]string{
		dbARN + ":password::":            "pw",
		dbARN + ":port::":                "5432",
		dbARN + ":nested::":              `{"a":1}`,
		dbARN + ":password:AWSPREVIOUS:": "old",
		dbARN + ":::v1":                  "raw",
		"/app/x":                         "px",
		"arn:aws:ssm:us-east-1:123456789012:parameter/app/x": "px-arn",
	} {
		if got, err := r.ResolveSecret(ctx, scope, ref); err != nil || got != want {
			t.Errorf("ResolveSecret(%q) = %q, %v, want %q", ref, got, err, want)
		}
	}
	for ref, code := range map[string]string{
		dbARN + ":missing::": openrunner.ENOTFOUND,
		dbARN + ":x::v1":     openrunner.EINVALID, // not a JSON object
		"/nope":              openrunner.ENOTFOUND,
		"arn:aws:ssm:us-east-1:999999999999:parameter/app/x": openrunner.EINVALID, // another account
	} {
		if _, err := r.ResolveSecret(ctx, scope, ref); openrunner.ErrorCode(err) != code {
			t.Errorf("ResolveSecret(%q) error = %v, want %s", ref, err, code)
		}
	}
}
