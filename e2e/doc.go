// Package e2e holds OpenRunner's black-box tests: whole servers driven
// through the real AWS SDK for Go (aws-sdk-go-v2/service/apprunner) and raw
// HTTP. The AWS CLI and boto3 scripts beside them drive a built binary.
package e2e
