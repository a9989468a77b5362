// Package ssm holds the AWS Systems Manager Parameter Store API's request
// and response shapes for the operations OpenRunner's embedded parameter
// store serves, generated from the subset of the SSM service model in
// ../model/ssm-2014-11-06.json (extracted by scripts/extract-model), with
// the JSON codec, validation and dispatcher rules of package wire, whose
// runtime it carries a generated copy of.
package ssm

//go:generate go run ../../internal/wiregen -model ../model/ssm-2014-11-06.json -out . -package ssm -interface SSM -api "SSM Parameter Store" -runtime ..
