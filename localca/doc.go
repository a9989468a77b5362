// Package localca is OpenRunner's local certificate authority: the root
// that signs the certificates the router serves for ServiceUrl hosts (and,
// when ACME is off, for custom domains), so that
//
//	curl --cacert <(openrunner ca) https://<ServiceUrl>/
//
// works without any public CA.
//
// Open creates the CA in a directory of the data dir on first start: an
// ECDSA P-256 root valid for ten years, named "OpenRunner Local CA <id>".
// The root certificate is root.crt (0644); its private key is root.key.sealed,
// sealed with the vault (bound to the context "localca-root-key") when a
// Vault is given, or root.key, PEM, mode 0600, without one. Both are written
// atomically (temporary file, fsync, rename), the key first: the
// certificate's presence is what commits a new CA, so a crash between the
// two makes the next start create a new one instead of serving a root
// whose key is lost. Later starts load the same root.
//
// Leaves are short-lived (DefaultLeafLifetime, 7 days) and kept in memory
// only: issuing one costs well under a millisecond, so a restart simply
// issues them again. Leaf returns the cached leaf for a set of names and
// issues a new one once the cached one is past two thirds of its lifetime,
// so certificates renew while the server runs, by the injected clock.
// Issue always signs a new leaf, for callers that cache on their own.
package localca
