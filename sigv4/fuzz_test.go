package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	fuzzAKID    = "AKIDEXAMPLE"
	fuzzSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	fuzzHost    = "apprunner.us-east-1.amazonaws.com"
	fuzzService = "apprunner"
)

var fuzzTime = time.Date(2020, 11, 20, 19, 5, 25, 0, time.UTC)

func FuzzParseAuthorization(f *testing.F) {
	for _, h := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20201120/us-east-1/apprunner/aws4_request, " +
			"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=AKID/20201120/us-east-1/apprunner/aws4_request,SignedHeaders=host,Signature=00",
		"AWS4-HMAC-SHA256 Credential=AKID /20201120/us-east-1/apprunner/aws4_request, SignedHeaders=host, Signature=00",
		"AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=, Signature=",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f, SignedHeaders=host, Signature=x, Credential=y",
		"AWS4-HMAC-SHA256 Signature",
		"AWS4-HMAC-SHA256",
		"AWS AKIAI2HBJEUM7LRSTWOQ:qaNdqGsI6bq4Hi+9Gzovwyjbh0E=",
		"Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
		"",
		" ",
		"AWS4-HMAC-SHA256 ,,, \t",
	} {
		f.Add(h, true)
		f.Add(h, false)
	}
	f.Fuzz(func(t *testing.T, h string, hasDate bool) {
		a, err := parseAuthorization(h, hasDate)
		if err != nil {
			if err.Type != TypeIncompleteSignature || err.Status != http.StatusBadRequest || err.Message == "" {
				t.Fatalf("unexpected error %+v", err)
			}
			checkMessage(t, err.Message, h)
			return
		}
		if !hasDate {
			t.Fatal("accepted without a date")
		}
		if a.accessKeyID+"/"+a.scope != a.credential ||
			a.scopeDate+"/"+a.region+"/"+a.service+"/"+a.terminator != a.scope {
			t.Fatalf("inconsistent credential parse: %+v", a)
		}
		if !strings.Contains(h, "Signature="+a.signature) || !strings.Contains(h, "SignedHeaders="+a.signedHeaders) {
			t.Fatalf("parameters not taken from the header: %+v", a)
		}
	})
}

// checkMessage checks that an error message is one printable line and does
// not echo the signature or other unparsed parts of what the client sent.
func checkMessage(t *testing.T, msg, sent string) {
	t.Helper()
	for i := 0; i < len(msg); i++ {
		if msg[i] < 0x20 || msg[i] >= 0x7f {
			t.Fatalf("message has byte %#x: %q", msg[i], msg)
		}
	}
	if len(msg) > 600 {
		t.Fatalf("message too long: %d bytes", len(msg))
	}
	if _, sig, ok := strings.Cut(sent, "Signature="); ok {
		sig, _, _ = strings.Cut(sig, ",")
		if len(sig) >= 8 && strings.Contains(msg, sig) {
			t.Fatalf("message echoes the signature: %q", msg)
		}
	}
	if strings.Contains(msg, fuzzSecret) {
		t.Fatalf("message leaks the secret: %q", msg)
	}
}

// fuzzRequest builds a request as a server would receive it from the fuzz
// inputs. headers holds "Name: value" lines.
func fuzzRequest(method, target, host, headers string, body []byte, clientSide bool) *http.Request {
	r := &http.Request{
		Method:        method,
		Host:          host,
		Header:        http.Header{},
		RequestURI:    target,
		ContentLength: int64(len(body)),
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		u = &url.URL{Path: target}
	}
	r.URL = u
	if clientSide {
		r.RequestURI = ""
	}
	for _, line := range strings.Split(headers, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			r.Header.Add(k, strings.TrimSpace(v))
		}
	}
	return r
}

// formatHeaders renders h as fuzzRequest's header lines.
func formatHeaders(h http.Header) string {
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String()
}

type fuzzSeed struct {
	method, target, host, headers string
	body                          []byte
	clientSide                    bool
}

// fuzzSeeds signs a few requests with aws-sdk-go-v2 at fuzzTime, so the
// fuzzer starts from requests that verify.
func fuzzSeeds(tb testing.TB) []fuzzSeed {
	creds := aws.Credentials{AccessKeyID: fuzzAKID, SecretAccessKey: fuzzSecret}
	var seeds []fuzzSeed
	for _, c := range []struct {
		method, target, body string
		presign              bool
	}{
		{"POST", "/", `{"MaxResults":10}`, false},
		{"GET", "/a%20b/../c?b=2&a=x+y&a=%2F", "", false},
		{"POST", "/", `{}`, true},
		{"GET", "/x?X-Amz-Expires=300&q=1", "", true},
	} {
		r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		r.Host = fuzzHost
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		r.Header.Set("X-Amz-Target", "AppRunner.ListServices")
		sum := sha256.Sum256([]byte(c.body))
		if c.presign {
			signed, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, unsignedPayload, fuzzService, "us-east-1", fuzzTime)
			if err != nil {
				tb.Fatal(err)
			}
			u, _ := url.Parse(signed)
			hdr.Del("Host")
			seeds = append(seeds, fuzzSeed{c.method, u.RequestURI(), fuzzHost, formatHeaders(hdr), []byte(c.body), false})
			continue
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), fuzzService, "us-east-1", fuzzTime); err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, fuzzSeed{c.method, c.target, fuzzHost, formatHeaders(r.Header), []byte(c.body), false})
	}
	// Unsigned and half-signed requests.
	seeds = append(seeds,
		fuzzSeed{"POST", "/", fuzzHost, "X-Amz-Target: AppRunner.ListServices\n", nil, false},
		fuzzSeed{"GET", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00", fuzzHost, "", nil, true},
		fuzzSeed{"POST", "http://h/p?q", "h", "Authorization: Bearer x\nDate: Fri, 20 Nov 2020 19:05:25 GMT\n", nil, false},
	)
	return seeds
}

func newFuzzVerifier() *Verifier {
	return &Verifier{
		Credentials: StaticCredentials{fuzzAKID: {SecretAccessKey: fuzzSecret, AccountID: "123456789012"}},
		Service:     fuzzService,
		Now:         func() time.Time { return fuzzTime.Add(time.Minute) },
	}
}

func TestFuzzSeedsVerify(t *testing.T) {
	v := newFuzzVerifier()
	for i, s := range fuzzSeeds(t)[:4] {
		r := fuzzRequest(s.method, s.target, s.host, s.headers, s.body, s.clientSide)
		if _, err := v.Verify(r, s.body); err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
}

var knownTypes = []string{
	TypeMissingAuthenticationToken, TypeIncompleteSignature, TypeInvalidSignature, TypeUnrecognizedClient,
}

func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.method, s.target, s.host, s.headers, s.body, s.clientSide)
	}
	v := newFuzzVerifier()
	f.Fuzz(func(t *testing.T, method, target, host, headers string, body []byte, clientSide bool) {
		r := fuzzRequest(method, target, host, headers, body, clientSide)
		before := formatHeaders(r.Header)
		id, err := v.Verify(r, body)
		if formatHeaders(r.Header) != before {
			t.Fatal("Verify modified the request headers")
		}
		if err == nil {
			if id == nil || id.AccessKeyID != fuzzAKID || id.AccountID != "123456789012" || !validRegion(id.Region) {
				t.Fatalf("bad identity %+v", id)
			}
			return
		}
		if id != nil {
			t.Fatalf("identity %+v with error %v", id, err)
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not *Error: %v", err, err)
		}
		if !slices.Contains(knownTypes, e.Type) || (e.Status != 400 && e.Status != 403) || e.Message == "" {
			t.Fatalf("unexpected error %+v", e)
		}
		checkMessage(t, e.Message, r.Header.Get("Authorization"))
		if sig := r.URL.Query().Get("X-Amz-Signature"); len(sig) >= 8 && strings.Contains(e.Message, sig) {
			t.Fatalf("message echoes the signature: %q", e.Message)
		}
	})
}

// TestWriteFuzzCorpus regenerates the committed seed corpora under
// testdata/fuzz when SIGV4_WRITE_FUZZ_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SIGV4_WRITE_FUZZ_CORPUS") != "1" {
		t.Skip("set SIGV4_WRITE_FUZZ_CORPUS=1 to regenerate testdata/fuzz")
	}
	write := func(fuzzName string, i int, values ...any) {
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, v := range values {
			switch v := v.(type) {
			case string:
				fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
			case []byte:
				fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
			case bool:
				fmt.Fprintf(&b, "bool(%t)\n", v)
			}
		}
		dir := filepath.Join("testdata", "fuzz", fuzzName)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range fuzzSeeds(t) {
		write("FuzzVerify", i, s.method, s.target, s.host, s.headers, s.body, s.clientSide)
		if a := fuzzRequest(s.method, s.target, s.host, s.headers, s.body, s.clientSide).Header.Get("Authorization"); a != "" {
			write("FuzzParseAuthorization", i, a, true)
		}
	}
}
