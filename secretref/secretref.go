// Package secretref resolves the secret references of App Runner services
// (ImageConfiguration and CodeConfigurationValues RuntimeEnvironmentSecrets,
// apprunner.yaml run.secrets) against a Backend: OpenRunner's embedded
// store (package secretsapi) or real AWS (package awssecrets).
//
// A reference is one of [API RuntimeEnvironmentSecrets; DG:env-variable]:
//
//	arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf
//	arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf:<json-key>:<version-stage>:<version-id>
//	arn:aws:ssm:<region>:<account>:parameter/<name>
//	<name> or /<path>/<name>   (an SSM parameter in the service's Region)
//
// Every part of the suffix may be empty: "db-AbCdEf:password::" is the
// password key of the AWSCURRENT version. A JSON key selects a member of a
// SecretString that is a JSON object; a member that is not a string is
// returned as its JSON text.
package secretref

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/openrunner/openrunner"
)

// Backend reads secrets and parameters. Its errors carry openrunner codes
// and messages safe to show (ENOTFOUND for what does not exist).
type Backend interface {
	// SecretString returns the value of a secret version (by versionID, or
	// stage, or AWSCURRENT when both are empty) as a string; a binary
	// secret's bytes are returned as they are. scope is the account and
	// Region of the secret's ARN; caller is the service's.
	SecretString(ctx context.Context, caller, scope openrunner.Scope, arn, stage, versionID string) (string, error)
	// Parameter returns the decrypted value of a parameter, named by name
	// or ARN, in scope (the service's, or the ARN's Region).
	Parameter(ctx context.Context, caller, scope openrunner.Scope, nameOrARN string) (string, error)
}

// Ref is a parsed reference.
type Ref struct {
	Kind               int // KindSecret or KindParameter
	Scope              openrunner.Scope
	ARN                string // the secret's ARN without the suffix, or the parameter's ARN
	Name               string // the parameter's name (ARN references: after "parameter")
	JSONKey, Stage, ID string // secret suffix parts
}

// Reference kinds.
const (
	KindSecret = iota + 1
	KindParameter
)

// Parse parses ref for a service in scope.
func Parse(scope openrunner.Scope, ref string) (Ref, error) {
	if !strings.HasPrefix(ref, "arn:") {
		if ref == "" || strings.ContainsAny(ref, " :") {
			return Ref{}, openrunner.Errorf(openrunner.EINVALID, "%q is neither an ARN nor a parameter name", ref)
		}
		return Ref{Kind: KindParameter, Scope: scope, Name: ref}, nil
	}
	parts := strings.Split(ref, ":")
	if len(parts) < 6 || parts[3] == "" || parts[4] == "" {
		return Ref{}, openrunner.Errorf(openrunner.EINVALID, "%q is not a valid ARN", ref)
	}
	r := Ref{Scope: openrunner.Scope{Region: parts[3], AccountID: parts[4]}}
	switch {
	case parts[2] == "secretsmanager" && len(parts) >= 7 && parts[5] == "secret" && parts[6] != "":
		if len(parts) != 7 && len(parts) != 10 {
			return Ref{}, openrunner.Errorf(openrunner.EINVALID, "the secret ARN %q must end with the secret's name or with :json-key:version-stage:version-id", strings.Join(parts[:7], ":"))
		}
		r.Kind, r.ARN = KindSecret, strings.Join(parts[:7], ":")
		if len(parts) == 10 {
			r.JSONKey, r.Stage, r.ID = parts[7], parts[8], parts[9]
		}
	case parts[2] == "ssm" && len(parts) == 6 && strings.HasPrefix(parts[5], "parameter/") && len(parts[5]) > len("parameter/"):
		r.Kind, r.ARN, r.Name = KindParameter, ref, strings.TrimPrefix(parts[5], "parameter")
	default:
		return Ref{}, openrunner.Errorf(openrunner.EINVALID, "%q is neither a Secrets Manager secret ARN nor an SSM parameter ARN", ref)
	}
	return r, nil
}

// Resolver implements openrunner.SecretResolver over a Backend.
type Resolver struct {
	Backend Backend
}

var _ openrunner.SecretResolver = (*Resolver)(nil)

// ResolveSecret implements openrunner.SecretResolver.
func (r *Resolver) ResolveSecret(ctx context.Context, scope openrunner.Scope, ref string) (string, error) {
	p, err := Parse(scope, ref)
	if err != nil {
		return "", err
	}
	if p.Kind == KindParameter {
		if p.Scope.AccountID != scope.AccountID {
			// The App Runner model: "Cross-account SSM parameters are not supported."
			return "", openrunner.Errorf(openrunner.EINVALID, "the parameter belongs to account %s: App Runner does not read SSM parameters of another account", p.Scope.AccountID)
		}
		name := p.Name
		if p.ARN != "" {
			name = p.ARN
		}
		return r.Backend.Parameter(ctx, scope, p.Scope, name)
	}
	v, err := r.Backend.SecretString(ctx, scope, p.Scope, p.ARN, p.Stage, p.ID)
	if err != nil || p.JSONKey == "" {
		return v, err
	}
	return jsonKey(v, p.JSONKey)
}

// jsonKey returns member key of the JSON object in v.
func jsonKey(v, key string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &obj); err != nil {
		return "", openrunner.Errorf(openrunner.EINVALID, "the secret's value is not a JSON object, so it has no key %q", key)
	}
	raw, ok := obj[key]
	if !ok {
		return "", openrunner.Errorf(openrunner.ENOTFOUND, "the secret's JSON value has no key %q", key)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	return string(raw), nil
}
