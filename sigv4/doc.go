// Package sigv4 verifies AWS Signature Version 4 (AWS4-HMAC-SHA256) signed
// HTTP requests, from the Authorization header or a presigned query string,
// the way AWS JSON services such as App Runner do.
package sigv4
