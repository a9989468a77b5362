package sigv4

import "context"

// Credential is one access key known to the server.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// AccountID is the AWS account (12 digits) the key belongs to; it is
	// reported in Identity and not otherwise interpreted.
	AccountID string
	// SessionToken, when set, must be presented by every request signed with
	// this key as X-Amz-Security-Token (temporary credentials). When empty,
	// requests must not carry a security token.
	SessionToken string
}

// CredentialStore finds credentials by access key id. It reports ok=false
// for an unknown key; err is for failures of the store itself.
// Implementations must be safe for concurrent use.
type CredentialStore interface {
	LookupCredential(ctx context.Context, accessKeyID string) (c Credential, ok bool, err error)
}

// StaticCredentials is a map-backed CredentialStore, keyed by access key id.
// It must not be modified while in use.
type StaticCredentials map[string]Credential

// LookupCredential implements CredentialStore.
func (s StaticCredentials) LookupCredential(_ context.Context, accessKeyID string) (Credential, bool, error) {
	c, ok := s[accessKeyID]
	if ok && c.AccessKeyID == "" {
		c.AccessKeyID = accessKeyID
	}
	return c, ok, nil
}
