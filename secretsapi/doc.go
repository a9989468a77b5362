// Package secretsapi is OpenRunner's embedded secret store, spoken to with
// AWS's own APIs: the Secrets Manager operations of wire/secretsmanager and
// the Parameter Store operations of wire/ssm, over the root package's
// SecretService and ParameterService, with every value sealed by the vault
// before it reaches the store. The same types are the embedded backend of
// package secretref, which resolves services' secret references.
//
// What the embedded store leaves out of the real services (KMS keys,
// rotation, replication, resource policies, parameter policies) is listed
// in docs/extensions.md.
package secretsapi
