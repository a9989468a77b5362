// Package webhook receives the push deliveries of GitHub and Bitbucket Cloud
// repository webhooks, verifies their HMAC signatures and turns them into
// Push values, and registers (Register) and removes (Unregister) those
// webhooks with the providers' REST APIs, so that source-code services
// redeploy when their branch is pushed. Hooks ties these to OpenRunner's
// stores: one delivery URL and derived secret per connection, the
// registration of a service's repository, and the choice of the services
// a push concerns. The REST calls go through package forge.
//
// Receiving follows GitHub's "Webhook events and payloads" and "Validating
// webhook deliveries" (X-GitHub-Event, X-GitHub-Delivery,
// X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256 of the raw body,
// payloads capped at 25 MB) and Bitbucket Cloud's "Event payloads" and
// webhook secrets (X-Event-Key repo:push, X-Request-UUID, X-Hub-Signature =
// "sha256=" + hex HMAC-SHA256). Registering follows GitHub's REST
// "Repository webhooks" and Bitbucket's REST 2.0 "Webhooks" resources.
//
// Where the providers' documentation is silent the package makes a choice
// and says so at the code (marked UNCONFIRMED).
package webhook
