package openrunner

import (
	"context"
	"log/slog"
)

// HandshakeService approves connections with their provider (GitHub or
// Bitbucket): a person through the provider's OAuth consent in a browser, or
// a token for machines. On success the connection is AVAILABLE and holds a
// sealed credential; on failure it is ERROR with the provider's reason in
// StatusMessage.
type HandshakeService interface {
	// BeginHandshake starts the OAuth web flow for the connection with that
	// ARN in the Scope of ctx, and returns the provider URL to send the
	// person's browser to. binding ties the flow to the browser session that
	// started it (FinishHandshake must present the same value). Returns
	// ENOTFOUND for an unknown connection, EINVALIDSTATE unless the
	// connection is PENDING_HANDSHAKE or ERROR, and EINVALID when OAuth is
	// not configured for the provider (the message says which settings).
	BeginHandshake(ctx context.Context, arn, binding string) (authorizeURL string, err error)

	// FinishHandshake completes a flow from the provider's redirect to the
	// callback: state and either code or the provider's error and
	// description. A bad, expired, replayed or foreign state is EINVALID and
	// changes no connection. Otherwise the connection becomes AVAILABLE, or
	// ERROR with the reason, and is returned (with a nil error when it is
	// AVAILABLE; the returned error explains an ERROR).
	FinishHandshake(ctx context.Context, binding, state, code, providerError, providerErrorDescription string) (*Connection, error)

	// HandshakeWithToken completes the handshake of the connection with that
	// ARN, in the Scope of ctx, with a credential instead of a browser: a
	// GitHub token, a Bitbucket access token, or a Bitbucket
	// "username:api-token" pair. The provider verifies it (GET /user). The
	// connection becomes AVAILABLE, or ERROR with the provider's reason,
	// which the returned error carries (EINVALID).
	HandshakeWithToken(ctx context.Context, arn, token string) (*Connection, error)

	// AccessToken returns a usable credential for the connection's provider
	// API and git, refreshing an expired OAuth token (and storing the new
	// pair atomically) first. A credential the provider no longer accepts
	// sets the connection to ERROR and returns EINVALIDSTATE.
	AccessToken(ctx context.Context, arn string) (ProviderCredential, error)
}

// ProviderCredential is what OpenRunner presents to a provider for a
// connection. It must never be logged, returned by an API or written
// anywhere in clear.
type ProviderCredential struct {
	Provider string // ProviderGitHub or ProviderBitbucket
	// Token is a bearer token (OAuth access token, personal access token or
	// installation token); Username is set only for a Bitbucket API token,
	// which is used with HTTP Basic authentication.
	Token    string
	Username string
}

// String hides the credential, so printing one by mistake leaks nothing.
func (c ProviderCredential) String() string {
	return "ProviderCredential{" + c.Provider + " [redacted]}"
}

// GoString hides the credential from %#v as well.
func (c ProviderCredential) GoString() string { return c.String() }

// LogValue hides the credential from slog.
func (c ProviderCredential) LogValue() slog.Value { return slog.StringValue(c.String()) }
