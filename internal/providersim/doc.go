// Package providersim is an HTTP simulator of the GitHub and Bitbucket
// Cloud endpoints that OpenRunner's source connections use: the OAuth
// consent handshakes, token exchange and refresh, GitHub App installation
// tokens, and the "who am I" API calls, so tests never reach github.com or
// bitbucket.org.
//
// A Sim serves, on one loopback httptest.Server:
//
//	{URL}/github            stand-in for https://github.com
//	{URL}/github-api        stand-in for https://api.github.com
//	{URL}/bitbucket         stand-in for https://bitbucket.org
//	{URL}/bitbucket-api/2.0 stand-in for https://api.bitbucket.org/2.0
//
// Each endpoint follows the provider's public documentation:
//
// GitHub (docs.github.com):
//   - GET/POST /login/oauth/authorize, POST /login/oauth/access_token:
//     "Authorizing OAuth apps" (web application flow; responses shaped by
//     the Accept header; code lifetime 10 minutes), "Generating a user
//     access token for a GitHub App" (code_challenge/code_challenge_method
//     S256 and code_verifier, PKCE as announced in the changelog of
//     2025-07-14; response parameters expires_in 28800, refresh_token ghr_,
//     refresh_token_expires_in 15897600), "Refreshing user access tokens"
//     (grant_type=refresh_token; the used refresh token and the old access
//     token stop working), "Troubleshooting authorization request errors"
//     (access_denied, redirect_uri_mismatch redirects) and "Troubleshooting
//     OAuth app access token request errors" (incorrect_client_credentials,
//     redirect_uri_mismatch, bad_verification_code, answered with 200).
//   - GET/POST /apps/{slug}/installations/new: "About the setup URL"
//     (installation_id and setup_action) and "Generating a user access
//     token when a user installs your app".
//   - GET /user: REST "Get the authenticated user" (Bearer or token
//     scheme; 401 "Bad credentials"; 403 "Resource not accessible by
//     integration" for installation tokens; X-OAuth-Scopes).
//   - GET /user/installations: REST "List app installations accessible to
//     the user access token" (a GitHub App user access token is required).
//   - GET /app, GET /app/installations, GET /app/installations/{id}, POST
//     /app/installations/{id}/access_tokens: "Generating a JSON Web Token
//     (JWT) for a GitHub App" (RS256; iat; exp no more than 10 minutes
//     ahead; iss the app ID or client ID), "Generating an installation
//     access token for a GitHub App" (1-hour ghs_ tokens, down-scoping with
//     permissions, repositories, repository_ids, at most 500) and REST
//     "Create an installation access token for an app" (201, token,
//     expires_at, permissions, repository_selection).
//
// Bitbucket Cloud (developer.atlassian.com, support.atlassian.com):
//   - GET/POST /site/oauth2/authorize, POST /site/oauth2/access_token:
//     "OAuth 2.0" for Bitbucket Cloud (authorization code grant; client
//     key and secret by HTTP Basic; grant_type=refresh_token), "Use OAuth
//     on Bitbucket Cloud" (consumer callback URL; a redirect_uri must
//     extend it), the token lifetime clarification by Bitbucket staff
//     (expires_in 7200) and "OAuth 2.0 and API authentication changes for
//     Bitbucket Cloud" (from 4 May 2026: rotating refresh tokens, unused
//     ones expiring after 3 months, "scope" instead of "scopes";
//     Options.BitbucketLegacyTokens restores the earlier behaviour).
//   - GET /2.0/user: REST "Get current user" (Bearer access token; 401
//     "Access token expired. ..." for an expired one) and "Using API
//     tokens" (HTTP Basic with the Atlassian account email and the API
//     token).
//
// Source hosting (git.go, hooks.go), added with Sim.AddRepo:
//   - {GitHubURL}/{owner}/{repo}.git and {BitbucketURL}/{workspace}/{slug}.git:
//     git smart HTTP, reads only (info/refs?service=git-upload-pack and
//     git-upload-pack, served by git http-backend through net/http/cgi;
//     receive-pack answers 403). HTTP Basic is required, 401 with
//     WWW-Authenticate: Basic otherwise. GitHub: "Authenticating as a
//     GitHub App installation" (x-access-token:<ghs_ token>, which needs the
//     contents permission; the simulator insists on that username) and
//     "Managing your personal access tokens" (any username with a ghp_,
//     gho_ or ghu_ token; classic tokens need the repo scope, a ghu_ token
//     an installation of its app on the owner). Bitbucket: "Use OAuth on
//     Bitbucket Cloud" (x-token-auth:<access token>, scope repository) and
//     "Using API tokens" (<username>:<api token> or
//     x-bitbucket-api-token-auth). Repositories are private; a valid
//     credential without access gets 404 "Repository not found."
//   - GitHub GET/POST /repos/{owner}/{repo}/hooks, GET/DELETE
//     /repos/{owner}/{repo}/hooks/{hook_id}: REST "Repository webhooks"
//     (name "web", config.url/content_type/secret/insecure_ssl, events
//     default ["push"], content_type default form, 201 with the secret
//     masked, 422 "Validation Failed"; classic tokens need
//     read:/write:/admin:repo_hook or repo, else 404; app tokens the
//     repository_hooks permission, else 403 "Resource not accessible by
//     integration"). A new hook is pinged asynchronously ("ping" event).
//   - Bitbucket GET/POST /2.0/repositories/{workspace}/{repo_slug}/hooks,
//     GET/DELETE .../hooks/{uid}: REST "Webhooks" (url, description,
//     active, events, secret; the secret is write-only, reads give
//     secret_set). OAuth tokens need the webhook scope (403 "Your
//     credentials lack one or more required privilege scopes." with
//     detail.required); API tokens by Basic are taken as having it.
//   - Deliveries (Repo.Commit, Sim.Redeliver): GitHub "Webhook events and
//     payloads" (push payload; X-GitHub-Event, X-GitHub-Delivery,
//     X-GitHub-Hook-ID, User-Agent GitHub-Hookshot/...) and "Validating
//     webhook deliveries" (X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
//     the raw body>, plus legacy X-Hub-Signature sha1=); GitHub App
//     webhooks (GitHubApp.WebhookURL) add "installation". Bitbucket "Event
//     payloads" (repo:push; X-Event-Key, X-Hook-UUID, X-Request-UUID,
//     X-Attempt-Number) and "Manage webhooks"/"Enhanced webhook security"
//     (X-Hub-Signature: sha256=<hex HMAC-SHA256>, none without a secret).
//     A redelivery keeps the delivery ID (Bitbucket's attempt number goes up).
//
// Where the documentation is silent the simulator makes a choice and says
// so at the code: the PKCE failure answer, the Bitbucket denial
// description, the JWT issuer-not-found answer and the Bitbucket code
// lifetime among them.
//
// Routing is one http.ServeMux with provider-prefixed patterns, and the
// user/token model is provider-neutral (a token has a kind, an owner and a
// lifetime). The simulator never logs tokens,
// secrets, codes or parameter values.
package providersim
