package handshake

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/forge"
	"github.com/openrunner/openrunner/vault"
)

// Credential kinds, as written in the sealed document.
const (
	kindOAuth = "oauth" // OAuth access token, possibly with a refresh token
	kindToken = "token" // a bearer token given by a person (PAT, access token)
	kindBasic = "basic" // Bitbucket API token used with HTTP Basic
)

// redacted is what a secret prints as.
const redacted = forge.Redacted

// secret is a token or key that must never be printed. Every way fmt,
// slog and encoding/json can render it yields "[REDACTED]"; the value is
// only reachable through an explicit string conversion.
type secret string

// String implements fmt.Stringer.
func (secret) String() string { return redacted }

// GoString implements fmt.GoStringer, for %#v.
func (secret) GoString() string { return redacted }

// Format implements fmt.Formatter, so no verb (%x, %q, ...) shows the value.
func (secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler. The sealed document is written
// through sealedDoc, which holds plain strings, never through this.
func (secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// credential is a connection's provider credential in memory.
type credential struct {
	Kind          string
	AccessToken   secret
	RefreshToken  secret
	Expiry        time.Time // of the access token; zero: unknown or never
	RefreshExpiry time.Time // of the refresh token; zero: unknown or never
	Username      string    // kindBasic: the user part of "user:api-token"
	// InstallationID is the GitHub App installation the connection uses;
	// AccessToken then holds the user access token that found it.
	InstallationID      int64
	InstallationAccount string
}

// sealedDoc is the JSON document sealed into the store. Its field names are
// a storage format: add fields, never rename them.
type sealedDoc struct {
	Version             int       `json:"v"`
	Kind                string    `json:"kind"`
	AccessToken         string    `json:"access_token"`
	RefreshToken        string    `json:"refresh_token,omitempty"`
	Expiry              time.Time `json:"expiry,omitzero"`
	RefreshExpiry       time.Time `json:"refresh_expiry,omitzero"`
	Username            string    `json:"username,omitempty"`
	InstallationID      int64     `json:"github_installation_id,omitempty"`
	InstallationAccount string    `json:"github_installation_account,omitempty"`
}

// refreshable reports whether c can be renewed with a refresh token.
func (c *credential) refreshable() bool {
	return c.Kind == kindOAuth && c.RefreshToken != ""
}

// expiresSoon reports whether c's access token is expired at now or will
// be within margin.
func (c *credential) expiresSoon(now time.Time, margin time.Duration) bool {
	return !c.Expiry.IsZero() && !now.Add(margin).Before(c.Expiry)
}

// seal encodes c and seals it with v, bound to the connection's ARN so a
// sealed value cannot be moved to another connection.
func seal(v *vault.Vault, arn string, c *credential) ([]byte, error) {
	buf, err := json.Marshal(sealedDoc{
		Version:             1,
		Kind:                c.Kind,
		AccessToken:         string(c.AccessToken),
		RefreshToken:        string(c.RefreshToken),
		Expiry:              c.Expiry.UTC(),
		RefreshExpiry:       c.RefreshExpiry.UTC(),
		Username:            c.Username,
		InstallationID:      c.InstallationID,
		InstallationAccount: c.InstallationAccount,
	})
	if err != nil {
		return nil, err
	}
	defer clear(buf) // best effort: do not leave the plaintext on the heap
	return v.Seal(buf, arn), nil
}

// unseal opens a value made by seal. Errors never include the plaintext.
func unseal(v *vault.Vault, arn string, sealed []byte) (*credential, error) {
	buf, err := v.Open(sealed, arn)
	if err != nil {
		return nil, openrunner.Errorf(openrunner.EINTERNAL,
			"The credential of connection %s cannot be decrypted: was the data directory copied without its secret key, or did OPENRUNNER_SECRET_KEY change?", arn)
	}
	defer clear(buf)
	var d sealedDoc
	if err := json.Unmarshal(buf, &d); err != nil || d.AccessToken == "" {
		// json errors quote offsets and types, not values; still, say nothing.
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "The credential of connection %s is damaged. Complete the handshake again.", arn)
	}
	return &credential{
		Kind:                d.Kind,
		AccessToken:         secret(d.AccessToken),
		RefreshToken:        secret(d.RefreshToken),
		Expiry:              d.Expiry,
		RefreshExpiry:       d.RefreshExpiry,
		Username:            d.Username,
		InstallationID:      d.InstallationID,
		InstallationAccount: d.InstallationAccount,
	}, nil
}
