package sigv4_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/openrunner/openrunner/sigv4"
)

const (
	testAKID    = "AKIDEXAMPLE"
	testSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testAccount = "123456789012"
	testRegion  = "us-east-1"
	testService = "apprunner"
	testHost    = "apprunner.us-east-1.amazonaws.com"
	testTarget  = "AppRunner.ListServices"
	testJSON    = `{"MaxResults":10}`
)

// signTime is 20201120T190525Z.
var signTime = time.Date(2020, 11, 20, 19, 5, 25, 0, time.UTC)

func testCredentials() sigv4.StaticCredentials {
	return sigv4.StaticCredentials{
		testAKID: {AccessKeyID: testAKID, SecretAccessKey: testSecret, AccountID: testAccount},
		"AKIDTEMPORARY": {
			AccessKeyID: "AKIDTEMPORARY", SecretAccessKey: "temporary-secret", AccountID: "210987654321",
			SessionToken: "session-token-value",
		},
	}
}

// newVerifier returns a verifier whose clock is a minute after signTime.
func newVerifier() *sigv4.Verifier {
	return &sigv4.Verifier{
		Credentials: testCredentials(),
		Service:     testService,
		Now:         func() time.Time { return signTime.Add(time.Minute) },
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// newAPIRequest returns a request as a server receives it (RequestURI set)
// for an App Runner JSON call.
func newAPIRequest(method, target string, body []byte) *http.Request {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	r.Host = testHost
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	r.Header.Set("X-Amz-Target", testTarget)
	return r
}

type signOpts struct {
	akid, secret, token string
	service, region     string
	at                  time.Time
	payloadHash         string // "" = sha256 of the body
}

func defaultSignOpts() signOpts {
	return signOpts{akid: testAKID, secret: testSecret, service: testService, region: testRegion, at: signTime}
}

// sign signs r with aws-sdk-go-v2's signer.
func sign(t testing.TB, r *http.Request, body []byte, o signOpts) {
	t.Helper()
	if o.payloadHash == "" {
		o.payloadHash = sha256Hex(body)
	}
	creds := aws.Credentials{AccessKeyID: o.akid, SecretAccessKey: o.secret, SessionToken: o.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, o.payloadHash, o.service, o.region, o.at); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
}

// signedAPIRequest returns a header-signed App Runner call.
func signedAPIRequest(t testing.TB, body []byte) *http.Request {
	t.Helper()
	r := newAPIRequest(http.MethodPost, "/", body)
	sign(t, r, body, defaultSignOpts())
	return r
}

// wantOK verifies r and checks the identity.
func wantOK(t *testing.T, v *sigv4.Verifier, r *http.Request, body []byte, akid string) {
	t.Helper()
	id, err := v.Verify(r, body)
	if err != nil {
		t.Fatalf("Verify: %v\nAuthorization: %s", err, r.Header.Get("Authorization"))
	}
	if id == nil || id.AccessKeyID != akid || id.Region != testRegion || id.AccountID == "" {
		t.Fatalf("Verify identity = %+v", id)
	}
}

// wantErr verifies r and checks the error's type, status and (if msg is not
// empty) that its message contains msg.
func wantErr(t *testing.T, v *sigv4.Verifier, r *http.Request, body []byte, typ string, status int, msg string) *sigv4.Error {
	t.Helper()
	id, err := v.Verify(r, body)
	if err == nil {
		t.Fatalf("Verify succeeded (%+v), want %s", id, typ)
	}
	if id != nil {
		t.Errorf("Verify returned identity %+v with error", id)
	}
	var e *sigv4.Error
	if !errors.As(err, &e) {
		t.Fatalf("Verify error %T %v is not *sigv4.Error", err, err)
	}
	if e.Type != typ || e.Status != status || !strings.Contains(e.Message, msg) {
		t.Fatalf("Verify error = %s %d %q, want %s %d containing %q", e.Type, e.Status, e.Message, typ, status, msg)
	}
	checkNoSecrets(t, e, r)
	return e
}

// checkNoSecrets checks that an error message contains neither a secret nor
// the signature the client sent.
func checkNoSecrets(t testing.TB, e *sigv4.Error, r *http.Request) {
	t.Helper()
	for _, secret := range []string{testSecret, "temporary-secret", "session-token-value"} {
		if strings.Contains(e.Message, secret) || strings.Contains(e.Error(), secret) {
			t.Fatalf("error message leaks a secret: %q", e.Message)
		}
	}
	sig := r.URL.Query().Get("X-Amz-Signature")
	if _, after, ok := strings.Cut(r.Header.Get("Authorization"), "Signature="); ok {
		sig = after
	}
	if len(sig) >= 8 && strings.Contains(e.Message, sig) {
		t.Fatalf("error message echoes the signature: %q", e.Message)
	}
}
