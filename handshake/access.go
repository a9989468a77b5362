package handshake

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/forge"
)

// AccessToken implements openrunner.HandshakeService. It returns
// EINVALIDSTATE for a connection that is not AVAILABLE. For a connection
// approved through a GitHub App it returns an installation token, minted
// with the app's JWT and cached until 5 minutes before it expires; for an
// OAuth credential it returns the access token, refreshed first when it
// expires within a minute. Concurrent calls for one connection refresh or
// mint once. A provider that cannot be reached leaves the connection as
// it is and returns EINTERNAL.
func (s *Service) AccessToken(ctx context.Context, arn string) (openrunner.ProviderCredential, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return openrunner.ProviderCredential{}, err
	}
	conn, cred, err := s.load(ctx, arn)
	if err != nil {
		return openrunner.ProviderCredential{}, err
	}
	provider := conn.ProviderType
	key := lockKey(scope, arn)

	if cred.InstallationID != 0 {
		tok, err := s.installationAccess(ctx, key, arn, cred)
		if err != nil {
			return openrunner.ProviderCredential{}, err
		}
		return openrunner.ProviderCredential{Provider: provider, Token: string(tok)}, nil
	}
	if cred.expiresSoon(s.now(), refreshMargin) {
		if cred, err = s.refresh(ctx, key, arn, cred.AccessToken); err != nil {
			return openrunner.ProviderCredential{}, err
		}
	}
	return providerCredential(provider, cred), nil
}

// providerCredential is what AccessToken hands out for cred.
func providerCredential(provider string, cred *credential) openrunner.ProviderCredential {
	pc := openrunner.ProviderCredential{Provider: provider, Token: string(cred.AccessToken)}
	if cred.Kind == kindBasic {
		pc.Username = cred.Username
	}
	return pc
}

// authOf is how cred authenticates to the provider's REST API.
func authOf(cred *credential) forge.Auth {
	if cred.Kind == kindBasic {
		return forge.Basic(cred.Username, string(cred.AccessToken))
	}
	return forge.Bearer(string(cred.AccessToken))
}

// load returns the connection with that ARN and its unsealed credential.
// A connection that is not AVAILABLE is EINVALIDSTATE.
func (s *Service) load(ctx context.Context, arn string) (*openrunner.Connection, *credential, error) {
	conn, err := s.conns.FindConnectionByARN(ctx, arn)
	if err != nil {
		return nil, nil, err
	}
	if conn.Status != openrunner.ConnectionAvailable {
		msg := fmt.Sprintf("The connection %s is %s, not AVAILABLE.", conn.Name, conn.Status)
		if conn.StatusMessage != "" {
			msg += " " + conn.StatusMessage
		} else if conn.Status == openrunner.ConnectionPendingHandshake {
			msg += " Complete the handshake first."
		}
		return nil, nil, openrunner.Errorf(openrunner.EINVALIDSTATE, "%s", msg)
	}
	sealed, err := s.conns.FindConnectionSecret(ctx, arn)
	if err != nil {
		return nil, nil, err
	}
	cred, err := unseal(s.vault, arn, sealed)
	if err != nil {
		return nil, nil, err
	}
	return conn, cred, nil
}

// refresh renews the OAuth credential of a connection whose access token
// stale expired or was refused. It holds the connection's lock, so
// concurrent callers wait for one refresh and then find its result: with
// rotating refresh tokens (Bitbucket, GitHub) a second refresh with the
// same token would fail and break the connection.
func (s *Service) refresh(ctx context.Context, key, arn string, stale secret) (*credential, error) {
	unlock, err := s.locks.lock(ctx, key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	conn, cred, err := s.load(ctx, arn)
	if err != nil {
		return nil, err
	}
	if cred.AccessToken != stale && !cred.expiresSoon(s.now(), refreshMargin) {
		return cred, nil // refreshed by someone else meanwhile
	}
	provider := conn.ProviderType
	name := forge.Name(provider)
	if !cred.refreshable() {
		_, err := s.fail(ctx, arn, openrunner.EINVALIDSTATE, fmt.Sprintf(
			"%s no longer accepts this connection's authorization: the access token expired and cannot be refreshed. Complete the handshake again.", name))
		return nil, err
	}
	if !s.oauthConfigured(provider) {
		return nil, openrunner.Errorf(openrunner.EINTERNAL,
			"The %s access token of connection %s expired and %s OAuth is not configured to refresh it: set %s.", name, conn.Name, name, clientSettings(provider))
	}

	// Once the provider has rotated the refresh token, the new one must
	// reach the store: neither the HTTP call nor the write may be
	// abandoned because this caller went away (the client's timeout
	// still bounds the call).
	bg := context.WithoutCancel(ctx)
	now := s.now()
	grant, err := s.tokenRequest(bg, provider, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {string(cred.RefreshToken)},
	})
	if rej, ok := errors.AsType[*rejectedError](err); ok {
		_, err := s.fail(ctx, arn, openrunner.EINVALIDSTATE, fmt.Sprintf(
			"%s no longer accepts this connection's authorization: %s. Complete the handshake again.", name, rej.Reason))
		return nil, err
	} else if err != nil {
		return nil, err
	}
	cred.setGrant(grant, now)
	sealed, err := seal(s.vault, arn, cred)
	if err != nil {
		return nil, err
	}
	if _, err := s.conns.UpdateConnection(bg, arn, openrunner.ConnectionUpdate{Secret: sealed}); err != nil {
		s.log.Error("refreshed credential not stored", "arn", arn, "provider", provider, "err", openrunner.ErrorMessage(err))
		return nil, err
	}
	s.log.Info("access token refreshed", "arn", arn, "provider", provider, "expires", cred.Expiry)
	return cred, nil
}

// installationAccess returns a GitHub App installation token for the
// connection, from the cache or freshly minted under the connection's lock.
func (s *Service) installationAccess(ctx context.Context, key, arn string, cred *credential) (secret, error) {
	if s.appKey == nil {
		return "", openrunner.Errorf(openrunner.EINTERNAL,
			"The connection was approved through a GitHub App, which is not configured: set the GitHub App ID and private key.")
	}
	if tok, ok := s.cachedInstallationToken(key, cred.InstallationID); ok {
		return tok, nil
	}
	unlock, err := s.locks.lock(ctx, key)
	if err != nil {
		return "", err
	}
	defer unlock()
	if tok, ok := s.cachedInstallationToken(key, cred.InstallationID); ok {
		return tok, nil
	}
	tok, expires, err := s.installationToken(ctx, cred.InstallationID)
	if rej, ok := errors.AsType[*rejectedError](err); ok {
		_, err := s.fail(ctx, arn, openrunner.EINVALIDSTATE, fmt.Sprintf(
			"GitHub no longer accepts this connection's authorization: %s (installation %d on %s). Install the GitHub App again and complete the handshake again.",
			rej.Reason, cred.InstallationID, cred.InstallationAccount))
		return "", err
	} else if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.instToks[key] = installationToken{installationID: cred.InstallationID, token: tok, expires: expires}
	s.mu.Unlock()
	s.log.Info("installation token minted", "arn", arn, "installation_id", cred.InstallationID, "expires", expires)
	return tok, nil
}

// cachedInstallationToken returns a cached token for the installation
// that is good for at least installationMargin more.
func (s *Service) cachedInstallationToken(key string, id int64) (secret, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.instToks[key]
	if !ok || t.installationID != id || !s.now().Add(installationMargin).Before(t.expires) {
		return "", false
	}
	return t.token, true
}

func (s *Service) forgetInstallationToken(key string) {
	s.mu.Lock()
	delete(s.instToks, key)
	s.mu.Unlock()
}

// Verify checks with the provider that the connection's credential still
// works, for the deploy path to call before it relies on it. For OAuth and
// token credentials it calls GET /user, refreshing an OAuth token once if
// the provider answers 401 or 403; for a GitHub App connection it looks
// the installation up with the app's JWT. A credential the provider still
// refuses sets the connection to ERROR with the provider's reason and
// returns EINVALIDSTATE. Returns EINVALIDSTATE for a connection that is
// not AVAILABLE, and EINTERNAL (connection unchanged) when the provider
// cannot be reached.
func (s *Service) Verify(ctx context.Context, arn string) error {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return err
	}
	conn, cred, err := s.load(ctx, arn)
	if err != nil {
		return err
	}
	provider := conn.ProviderType
	key := lockKey(scope, arn)
	name := forge.Name(provider)

	if cred.InstallationID != 0 {
		if s.appKey == nil {
			return openrunner.Errorf(openrunner.EINTERNAL,
				"The connection was approved through a GitHub App, which is not configured: set the GitHub App ID and private key.")
		}
		// Minting proves the installation exists and is not suspended;
		// a cached token proves it as of at most an hour ago, so mint.
		s.forgetInstallationToken(key)
		_, err := s.installationAccess(ctx, key, arn, cred)
		return err
	}
	if cred.expiresSoon(s.now(), refreshMargin) {
		if cred, err = s.refresh(ctx, key, arn, cred.AccessToken); err != nil {
			return err
		}
	}
	_, err = s.whoAmI(ctx, provider, authOf(cred))
	rej, rejected := errors.AsType[*rejectedError](err)
	if rejected && cred.refreshable() {
		// The token may have been revoked by a refresh elsewhere, or the
		// clocks disagree: one refresh settles it.
		if cred, err = s.refresh(ctx, key, arn, cred.AccessToken); err != nil {
			return err
		}
		_, err = s.whoAmI(ctx, provider, authOf(cred))
		rej, rejected = errors.AsType[*rejectedError](err)
	}
	if rejected {
		unlock, lerr := s.locks.lock(ctx, key)
		if lerr != nil {
			return lerr
		}
		defer unlock()
		msg := fmt.Sprintf("%s no longer accepts this connection's authorization: %s. Complete the handshake again.", name, rej.Reason)
		if cred.Kind != kindOAuth {
			msg = fmt.Sprintf("%s no longer accepts this connection's token: %s. Complete the handshake again with a valid token.", name, rej.Reason)
		}
		_, err := s.fail(ctx, arn, openrunner.EINVALIDSTATE, msg)
		return err
	}
	return err
}
