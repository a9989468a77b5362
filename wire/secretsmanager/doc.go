// Package secretsmanager holds the AWS Secrets Manager API's request and
// response shapes for the operations OpenRunner's embedded secret store
// serves, generated from the subset of the service model in
// ../model/secretsmanager-2017-10-17.json (extracted by
// scripts/extract-model), with the JSON codec, validation and dispatcher
// rules of package wire, whose runtime it carries a generated copy of.
package secretsmanager

//go:generate go run ../../internal/wiregen -model ../model/secretsmanager-2017-10-17.json -out . -package secretsmanager -interface SecretsManager -api "Secrets Manager" -runtime ..
