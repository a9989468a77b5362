package openrunner

import (
	"context"
	"time"
)

// Secrets Manager version stages the embedded store moves.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

// Secret is a Secrets Manager secret of the embedded store. Its values are
// kept sealed (SecretVersion.Sealed): stores never see them in clear.
type Secret struct {
	ARN         string // arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random>
	Name        string
	Description string
	KMSKeyID    string // recorded, not used: the vault seals every value
	CreatedAt   time.Time
	ChangedAt   time.Time
	// DeleteAt is when a secret scheduled for deletion (DeleteSecret with a
	// recovery window) goes; zero for a live secret.
	DeleteAt  time.Time
	DeletedAt time.Time // when DeleteSecret scheduled it
	Tags      []Tag
	// Versions are ordered oldest first.
	Versions []SecretVersion
}

// SecretVersion is one value of a secret.
type SecretVersion struct {
	ID        string   // the version id (a UUID, or the caller's ClientRequestToken)
	Stages    []string // AWSCURRENT, AWSPREVIOUS, custom labels
	CreatedAt time.Time
	// Sealed is the value, sealed by the vault (a kind byte, then the
	// SecretString or SecretBinary).
	Sealed []byte
}

// Version returns the version with the given id, or the one carrying
// stage when id is empty, and reports whether there is one.
func (s *Secret) Version(id, stage string) (*SecretVersion, bool) {
	for i := len(s.Versions) - 1; i >= 0; i-- {
		v := &s.Versions[i]
		if id != "" && v.ID != id {
			continue
		}
		if stage == "" && id != "" {
			return v, true
		}
		for _, st := range v.Stages {
			if st == stage {
				return v, true
			}
		}
	}
	return nil, false
}

// SecretService stores the embedded Secrets Manager's secrets. Secrets are
// only visible in their own Scope (from ctx); id is a secret's name or ARN.
type SecretService interface {
	// CreateSecret stores a new secret. Returns ECONFLICT if a secret of that
	// name exists in the Scope (live or scheduled for deletion).
	CreateSecret(ctx context.Context, s *Secret) error

	// FindSecret returns the secret named id. Returns ENOTFOUND if there is
	// none.
	FindSecret(ctx context.Context, id string) (*Secret, error)

	// FindSecrets returns the Scope's secrets ordered by name.
	FindSecrets(ctx context.Context) ([]*Secret, error)

	// UpdateSecret applies fn to the secret named id and stores the result,
	// in one transaction. fn may change anything but ARN and Name. Returns
	// ENOTFOUND if there is no such secret, or fn's error (nothing is
	// written then).
	UpdateSecret(ctx context.Context, id string, fn func(*Secret) error) (*Secret, error)

	// DeleteSecret removes the secret named id for good. Returns ENOTFOUND
	// if there is none.
	DeleteSecret(ctx context.Context, id string) error
}

// SSM parameter types (model enum ParameterType).
const (
	ParameterString       = "String"
	ParameterStringList   = "StringList"
	ParameterSecureString = "SecureString"
)

// Parameter is an SSM Parameter Store parameter of the embedded store, at
// its latest version, with its earlier versions. Values are sealed by the
// vault whatever their type.
type Parameter struct {
	Name           string // with its leading slash if it has one
	Type           string // ParameterString, ParameterStringList or ParameterSecureString
	Description    string
	KeyID          string // SecureString only: recorded, not used
	AllowedPattern string
	DataType       string // "text" by default
	Tier           string // "Standard" by default
	Labels         []string
	// History holds every version, oldest first; the last is current.
	History []ParameterVersion
}

// ParameterVersion is one version of a parameter.
type ParameterVersion struct {
	Version    int64
	ModifiedAt time.Time
	Sealed     []byte
}

// Current returns the parameter's latest version.
func (p *Parameter) Current() ParameterVersion { return p.History[len(p.History)-1] }

// ParameterService stores the embedded Parameter Store's parameters.
// Parameters are only visible in their own Scope (from ctx).
type ParameterService interface {
	// PutParameter calls fn with the parameter named name (nil if there is
	// none) and stores what it returns, in one transaction. Returns fn's
	// error (nothing is written then).
	PutParameter(ctx context.Context, name string, fn func(old *Parameter) (*Parameter, error)) (*Parameter, error)

	// FindParameter returns the parameter named name. Returns ENOTFOUND if
	// there is none.
	FindParameter(ctx context.Context, name string) (*Parameter, error)

	// FindParameters returns the Scope's parameters whose names start with
	// prefix, ordered by name.
	FindParameters(ctx context.Context, prefix string) ([]*Parameter, error)

	// DeleteParameter removes the parameter named name. Returns ENOTFOUND if
	// there is none.
	DeleteParameter(ctx context.Context, name string) error
}

// SecretResolver reads the values RuntimeEnvironmentSecrets and
// apprunner.yaml run.secrets refer to: a Secrets Manager secret ARN
// (optionally with the :json-key:version-stage:version-id suffix), an SSM
// parameter ARN, or a parameter name in the service's own Region.
type SecretResolver interface {
	// ResolveSecret returns the value ref names, for a service in scope.
	// Its errors say why in words safe to show (they never contain a
	// value): ENOTFOUND for a missing secret, version, parameter or JSON
	// key, EINVALID for a malformed reference or one the service may not
	// read (another account).
	ResolveSecret(ctx context.Context, scope Scope, ref string) (string, error)
}

// Sealer seals values at rest, bound to a context string (vault.Vault is
// one).
type Sealer interface {
	Seal(plaintext []byte, context string) []byte
	Open(sealed []byte, context string) ([]byte, error)
}
