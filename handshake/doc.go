// Package handshake approves App Runner connections with GitHub and
// Bitbucket Cloud: the OAuth web flow a person completes in a browser, a
// token for machines, and the credentials that deploys then use.
//
// Service implements openrunner.HandshakeService on an
// openrunner.ConnectionService (the store) and a vault.Vault.
//
// # Browser handshakes
//
// BeginHandshake makes a state of 256 random bits (base64url) and keeps,
// in memory, the Scope, the connection ARN, the provider, the SHA-256 of
// the browser-session binding, a PKCE code_verifier and an expiry 10
// minutes ahead. In-flight handshakes are not persisted: a restart of
// OpenRunner invalidates them and the person starts again. At most 10,000
// are kept; past that the oldest are dropped.
//
// FinishHandshake consumes the state on first presentation, whether it is
// then accepted or not, and accepts it only before its expiry, in the same
// Scope, with the same binding (compared in constant time). Every refusal
// gives the same EINVALID message and changes no connection. Then a
// provider error (access_denied...) sets the connection to ERROR with the
// provider's description; otherwise the code is exchanged, the token is
// checked with GET /user, and the connection becomes AVAILABLE with the
// account name and the sealed credential in one store update.
//
// # Credentials at rest
//
// A connection's credential is a small JSON document, sealed with the vault
// with the connection ARN as context so it cannot be moved to another
// connection:
//
//	{"v":1, "kind":"oauth"|"token"|"basic", "access_token", "refresh_token",
//	 "expiry", "refresh_expiry", "username", "github_installation_id",
//	 "github_installation_account"}
//
// kind "oauth" comes from the browser flow; "token" is a bearer token given
// to HandshakeWithToken (GitHub token, Bitbucket access token); "basic" is
// a Bitbucket "user:api-token" pair, kept apart as username and token.
// Tokens are held in memory in a type that prints as [REDACTED] through
// fmt, slog and encoding/json; they never appear in logs or errors, and
// texts a provider sends back are scrubbed of anything OpenRunner sent.
// Setting a connection to ERROR also deletes its credential: it is no
// longer accepted, and a new handshake replaces it.
//
// # Access tokens
//
// AccessToken refreshes an OAuth access token that has expired or expires
// within a minute, and stores the new pair before returning it. Both
// providers rotate refresh tokens (GitHub always; Bitbucket Cloud since
// May 2026), so a second refresh with the same refresh token would fail
// and break the connection: all credential changes of one connection are
// serialized by a per-connection lock, and a caller that waited re-reads
// the store and uses the refresh another caller made. The refresh call and
// the store write are not abandoned when the caller's context ends. The
// lock is per process: two OpenRunner processes must not share a data
// directory.
//
// With a GitHub App configured, the browser flow authorizes the App's user
// (no OAuth scopes), then finds the App's installation through GET
// /user/installations with the user token and records its ID. AccessToken
// then returns installation tokens, minted with an RS256 app JWT (iat 60 s
// back, exp 9 minutes ahead, iss the App ID) and cached in memory until 5
// minutes before their expiry. They are not down-scoped: they carry the
// permissions the installation granted.
//
// Verify asks the provider whether the credential still works: GET /user
// (refreshing once on 401/403), or, for a GitHub App connection, minting an
// installation token. A refusal sets ERROR.
//
// # Choices where the providers' documentation is silent or unclear
//
//   - GitHub OAuth apps are asked for the scopes "repo admin:repo_hook":
//     GitHub has no read-only scope for private repositories, "repo" covers
//     reading them and creating webhooks, and admin:repo_hook adds deleting
//     the webhooks OpenRunner creates. GitHub Apps get no scope parameter.
//   - PKCE (S256) is sent to GitHub, which supports it for OAuth apps and
//     GitHub Apps. Bitbucket Cloud documents no PKCE, so none is sent there;
//     the state and binding protect that flow.
//   - redirect_uri is sent to Bitbucket too (it must extend the consumer's
//     callback URL, so it must match CallbackURL), and therefore again in
//     the code exchange, as RFC 6749 §4.1.3 requires.
//   - A Bitbucket token containing ':' is "user:api-token", sent with HTTP
//     Basic exactly as given; Atlassian documents the account email as the
//     user for the REST API. Other Bitbucket tokens are sent as Bearer. The
//     connection's account is the username from GET /2.0/user (then the
//     nickname, then the account ID, when Bitbucket omits it).
//   - GET /user/installations does not say which installation a person just
//     made; when there are several, the most recently created one is used
//     (the one "Install", then "Authorize" produced). Only the first 100
//     are read. None at all is an ERROR asking to install the App.
//   - A provider that cannot be reached, answers 5xx, or rate-limits
//     (429, or 403 with X-RateLimit-Remaining: 0 or Retry-After) says
//     nothing about the credential: the connection is left as it is and
//     EINTERNAL is returned, in FinishHandshake too (the person starts
//     again later). Likewise an OAuth error blaming OpenRunner's own client
//     credentials (incorrect_client_credentials, invalid_client,
//     unauthorized_client) is a configuration error, so that a mistyped
//     client secret cannot set every connection to ERROR at its next
//     refresh.
//   - Any other refusal (OAuth error fields, or 400/401/403 from the token
//     endpoint or GET /user) sets ERROR with the provider's text.
//   - A refresh is attempted even when the stored refresh-token expiry has
//     passed (clocks may disagree); the provider decides.
//   - HandshakeWithToken, like BeginHandshake, only accepts a connection in
//     PENDING_HANDSHAKE or ERROR: App Runner connections do not change once
//     AVAILABLE.
//   - The App JWT's iss is the numeric App ID (GitHub also accepts the
//     client ID).
//
// Settings named in messages: OPENRUNNER_GITHUB_CLIENT_ID,
// OPENRUNNER_GITHUB_CLIENT_SECRET, OPENRUNNER_BITBUCKET_CLIENT_ID and
// OPENRUNNER_BITBUCKET_CLIENT_SECRET.
package handshake
