// Package wire holds the App Runner API's request and response shapes, as
// Go types generated from the service model (model/apprunner-2020-05-15.json),
// with their JSON encoding, their model validation and an operation
// dispatcher.
//
// Every model structure is a Go struct whose JSON member names are exactly
// the model's (PascalCase, case-sensitive). Scalars are pointers, so that
// "absent" (nil) differs from a zero value: *string, *int32, *bool,
// *Timestamp, and a named string type per enum (*ProviderType). Lists are
// slices, maps are maps and nested structures are pointers. Operation
// inputs are named after the operation as in aws-sdk-go-v2
// (CreateConnectionRequest is CreateConnectionInput, CreateConnectionResponse
// is CreateConnectionOutput).
//
// Dispatch decodes a request body into an operation's input, validates it
// against the model (the error text follows AWS's "1 validation error
// detected: ..." wording) and calls the matching method of an AppRunner
// implementation. Hand-written services embed Unimplemented and override the
// operations they support.
//
// JSON rules, both ways: a member that is absent or null decodes as nil and
// a nil member is omitted when encoding, except that a required list or map
// that is nil encodes as [] or {}, because clients index required members
// without checking. Unknown members are ignored. Decoding is strict
// otherwise: malformed JSON, invalid UTF-8, a value of the wrong JSON type
// or trailing data is a *DecodeError. Every struct has MarshalJSON and
// UnmarshalJSON with these rules, and AppendJSON, the same encoding without
// encoding/json's overhead. Note that the AWS SDKs omit a boolean member
// that is false when its Smithy default is false (IsPubliclyAccessible,
// DeleteAllRevisions, LatestOnly): handlers must read nil as that default.
//
// Patterns are matched against the whole value with Go's RE2 engine. Where
// RE2 cannot express a model pattern the generator uses an equivalent check
// from its override table (internal/wiregen); ImageIdentifier's pattern is
// deliberately not enforced, because OpenRunner accepts any OCI image
// reference, not only Amazon ECR ones (a documented extension).
package wire

//go:generate go run ../internal/wiregen -model model/apprunner-2020-05-15.json -out .
