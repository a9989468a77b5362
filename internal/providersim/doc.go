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
// Where the documentation is silent the simulator makes a choice and says
// so at the code: the PKCE failure answer, the Bitbucket denial
// description, the JWT issuer-not-found answer and the Bitbucket code
// lifetime among them.
//
// Routing is one http.ServeMux with provider-prefixed patterns, and the
// user/token model is provider-neutral (a token has a kind, an owner and a
// lifetime), so git smart HTTP hosting and webhook delivery can be added
// as more routes and token kinds. The simulator never logs tokens,
// secrets, codes or parameter values.
package providersim
