// Package codec is the runtime of the code internal/wiregen generates for
// an AWS JSON API (package wire for App Runner, wire/secretsmanager,
// wire/ssm): a strict allocation-light JSON decoder, the append-style
// encoders, member paths for error messages, and the validator that words
// constraint violations as AWS does. Generated code is its only user; the
// generated packages re-export the types callers see (Timestamp,
// DecodeError, OperationInfo).
package codec
