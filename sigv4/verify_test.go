package sigv4_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/openrunner/openrunner/sigv4"
)

func TestVerifySDKHeaderSigned(t *testing.T) {
	v := newVerifier()
	body := []byte(testJSON)
	r := signedAPIRequest(t, body)
	wantOK(t, v, r, body, testAKID)

	// Verify is repeatable (the signing key is cached) and does not modify r.
	auth := r.Header.Get("Authorization")
	wantOK(t, v, r, body, testAKID)
	if r.Header.Get("Authorization") != auth {
		t.Fatal("Verify modified the request")
	}
}

func TestVerifySDKPathsAndQueries(t *testing.T) {
	targets := []string{
		"/",
		"/2020-05-15/services",
		"/a%20b/c",
		"/foo/../bar",
		"/./a/./b/",
		"/a//b//",
		"/%E2%82%AC/~user/",
		"/path;param=1",
		"/a+b:c@d!$'()*,=",
		"/encoded%2Fslash/x",
		"/%7Euser",
		"/?b=2&a=1",
		"/?a=2&a=1&a=10",
		"/?key=val%20ue&x=a+b&y=%2B",
		"/?empty&z=&=v",
		"/?%41=1&A=0",
		"/?q=%E2%82%AC&Param2=value2&Param1=value1",
		"/?a/b=c-d&a-b=c/d",
		"/?a=b;c&d=e",
		"/?bad=%zz&good=1",
		"/?a=b&&c=d&",
		"/?X-Amz-Target=foo",
		"/services/svc%2F1?next=tok%3D%3D&max=5",
	}
	v := newVerifier()
	for _, target := range targets {
		for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
			t.Run(method+" "+target, func(t *testing.T) {
				var body []byte
				if method == http.MethodPost {
					body = []byte(testJSON)
				}
				r := newAPIRequest(method, target, body)
				sign(t, r, body, defaultSignOpts())
				wantOK(t, v, r, body, testAKID)

				// The same request as a client holds it: no RequestURI.
				r.RequestURI = ""
				wantOK(t, v, r, body, testAKID)
			})
		}
	}
}

func TestVerifySDKHeaders(t *testing.T) {
	v := newVerifier()
	body := []byte(testJSON)
	r := newAPIRequest(http.MethodPost, "/", body)
	r.Header.Set("X-Custom", "  a   b  ")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", " two  three ")
	r.Header.Set("X-Empty", "")
	r.Header.Set("User-Agent", "unsigned/1.0")
	sign(t, r, body, defaultSignOpts())
	for _, h := range []string{"x-custom", "x-multi", "x-empty", "content-length", "x-amz-target", "content-type"} {
		if !strings.Contains(r.Header.Get("Authorization"), h) {
			t.Fatalf("%s not signed: %s", h, r.Header.Get("Authorization"))
		}
	}
	wantOK(t, v, r, body, testAKID)

	// Unsigned headers may change; signed ones may not.
	r.Header.Set("User-Agent", "other/2.0")
	wantOK(t, v, r, body, testAKID)
	r.Header.Set("X-Custom", "a b")
	wantOK(t, v, r, body, testAKID) // same canonical value
	r.Header.Set("X-Custom", "a  c")
	wantErr(t, v, r, body, sigv4.TypeInvalidSignature, 403, "does not match")
}

func TestVerifySessionToken(t *testing.T) {
	v := newVerifier()
	body := []byte(testJSON)
	o := defaultSignOpts()
	o.akid, o.secret, o.token = "AKIDTEMPORARY", "temporary-secret", "session-token-value"

	r := newAPIRequest(http.MethodPost, "/", body)
	sign(t, r, body, o)
	wantOK(t, v, r, body, "AKIDTEMPORARY")

	o.token = "session-token-other"
	r = newAPIRequest(http.MethodPost, "/", body)
	sign(t, r, body, o)
	wantErr(t, v, r, body, sigv4.TypeUnrecognizedClient, 403, "The security token included in the request is invalid.")

	o.token = ""
	r = newAPIRequest(http.MethodPost, "/", body)
	sign(t, r, body, o)
	wantErr(t, v, r, body, sigv4.TypeUnrecognizedClient, 403, "The security token included in the request is invalid.")

	// A key without a session token does not accept one.
	o = defaultSignOpts()
	o.token = "unexpected"
	r = newAPIRequest(http.MethodPost, "/", body)
	sign(t, r, body, o)
	wantErr(t, v, r, body, sigv4.TypeUnrecognizedClient, 403, "The security token included in the request is invalid.")
}

func TestVerifyContentSHA256Header(t *testing.T) {
	v := newVerifier()
	body := []byte(testJSON)

	r := newAPIRequest(http.MethodPost, "/", body)
	r.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
	sign(t, r, body, defaultSignOpts())
	wantOK(t, v, r, body, testAKID)
	// The signature covers the declared hash, and the body must match it.
	wantErr(t, v, r, []byte(`{"MaxResults":99}`), sigv4.TypeInvalidSignature, 403, "does not match")

	r = newAPIRequest(http.MethodPost, "/", body)
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	o := defaultSignOpts()
	o.payloadHash = "UNSIGNED-PAYLOAD"
	sign(t, r, body, o)
	wantOK(t, v, r, body, testAKID)
	wantOK(t, v, r, []byte("anything"), testAKID)
}

// TestVerifyOverHTTP sends SDK-signed requests through a real server, so
// that the request is the one net/http builds (Content-Length header,
// RequestURI, Host without the default port...).
func TestVerifyOverHTTP(t *testing.T) {
	v := &sigv4.Verifier{Credentials: testCredentials(), Service: testService}
	type result struct {
		id  *sigv4.Identity
		err error
	}
	results := make(chan result, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		id, err := v.Verify(r, body)
		results <- result{id, err}
	})
	// Mounted under a prefix: StripPrefix rewrites r.URL but the signature
	// covers the path the client sent.
	mux := http.NewServeMux()
	mux.Handle("/", handler)
	mux.Handle("/prefix/", http.StripPrefix("/prefix", handler))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, target := range []string{"/", "/a%20b/c?x=1&y=a+b", "/prefix/x?z=%2F", "/2020-05-15/services"} {
		for _, n := range []int{0, 1, 100, 70000} {
			body := bytes.Repeat([]byte("x"), n)
			r, err := http.NewRequest(http.MethodPost, srv.URL+target, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/x-amz-json-1.0")
			r.Header.Set("X-Amz-Target", testTarget)
			o := defaultSignOpts()
			o.at = time.Now()
			sign(t, r, body, o)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			res := <-results
			if res.err != nil || res.id.AccessKeyID != testAKID {
				t.Errorf("%s with %d bytes: Verify = %+v, %v", target, n, res.id, res.err)
			}
		}
	}
}

func TestVerifyPresigned(t *testing.T) {
	body := []byte(testJSON)
	for _, tc := range []struct {
		name        string
		target      string
		payloadHash string
		expires     int // 0: no X-Amz-Expires
		header      http.Header
		useURLOnly  bool
	}{
		{name: "unsigned payload", target: "/", payloadHash: "UNSIGNED-PAYLOAD", expires: 300},
		{name: "body hash", target: "/", payloadHash: sha256Hex(body), expires: 60},
		{name: "no expires", target: "/", payloadHash: "UNSIGNED-PAYLOAD"},
		{name: "query", target: "/x/y%20z?b=2&a=1", payloadHash: "UNSIGNED-PAYLOAD", expires: 604800},
		{name: "url only", target: "/x", payloadHash: "UNSIGNED-PAYLOAD", expires: 900, useURLOnly: true},
		{name: "content sha header", target: "/", payloadHash: sha256Hex(body), expires: 900,
			header: http.Header{"X-Amz-Content-Sha256": {sha256Hex(body)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier()
			r := newAPIRequest(http.MethodPost, tc.target, body)
			for k, vs := range tc.header {
				r.Header[k] = vs
			}
			if tc.expires > 0 {
				q := r.URL.Query()
				q.Set("X-Amz-Expires", strconv.Itoa(tc.expires))
				r.URL.RawQuery = q.Encode()
			}
			creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
			signedURL, signedHeaders, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r,
				tc.payloadHash, testService, testRegion, signTime)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(signedURL, "X-Amz-Signature=") {
				t.Fatalf("not presigned: %s", signedURL)
			}
			u, err := url.Parse(signedURL)
			if err != nil {
				t.Fatal(err)
			}
			// The request as the server receives it.
			pr := httptest.NewRequest(http.MethodPost, u.RequestURI(), bytes.NewReader(body))
			pr.Host = testHost
			for k, vs := range signedHeaders {
				if k != "Host" {
					pr.Header[k] = vs
				}
			}
			if tc.useURLOnly {
				pr.RequestURI = ""
			}
			if pr.Header.Get("Authorization") != "" {
				t.Fatal("presigned request has an Authorization header")
			}
			wantOK(t, v, pr, body, testAKID)

			// Absolute-form request target.
			pr.RequestURI = "http://" + testHost + u.RequestURI()
			wantOK(t, v, pr, body, testAKID)
			pr.RequestURI = u.RequestURI()

			if tc.payloadHash != "UNSIGNED-PAYLOAD" {
				wantErr(t, v, pr, []byte("tampered"), sigv4.TypeInvalidSignature, 403, "does not match")
			}

			// Tampering with the query breaks the signature.
			tampered := pr.Clone(context.Background())
			tampered.RequestURI = strings.Replace(pr.RequestURI, "X-Amz-SignedHeaders=", "extra=1&X-Amz-SignedHeaders=", 1)
			wantErr(t, v, tampered, body, sigv4.TypeInvalidSignature, 403, "does not match")

			// Expiry.
			if tc.expires > 0 {
				late := newVerifier()
				late.Now = func() time.Time { return signTime.Add(time.Duration(tc.expires)*time.Second + time.Second) }
				e := wantErr(t, late, pr, body, sigv4.TypeInvalidSignature, 403, "Signature expired: 20201120T190525Z is now earlier than ")
				t.Log(e.Message)
				ok := newVerifier()
				ok.Now = func() time.Time { return signTime.Add(time.Duration(tc.expires) * time.Second) }
				wantOK(t, ok, pr, body, testAKID)
			}
		})
	}
}

func TestPresignedExpiredMessage(t *testing.T) {
	r := presignedRequest(t, "X-Amz-Expires=60")
	v := newVerifier()
	v.Now = func() time.Time { return signTime.Add(20 * time.Minute) }
	wantErr(t, v, r, nil, sigv4.TypeInvalidSignature, 403,
		"Signature expired: 20201120T190525Z is now earlier than 20201120T192425Z (20201120T192525Z - 1 min.)")
}

// presignedRequest returns a presigned GET of "/" (with extra query
// parameters) as the server receives it.
func presignedRequest(t *testing.T, extraQuery string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/?"+extraQuery, nil)
	r.Host = testHost
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	signedURL, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, "UNSIGNED-PAYLOAD", testService, testRegion, signTime)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(signedURL)
	pr := httptest.NewRequest(http.MethodGet, u.RequestURI(), nil)
	pr.Host = testHost
	return pr
}

func TestVerifyErrors(t *testing.T) {
	body := []byte(testJSON)
	fresh := func() *http.Request { return signedAPIRequest(t, body) }
	resign := func(mod func(*signOpts)) *http.Request {
		o := defaultSignOpts()
		mod(&o)
		r := newAPIRequest(http.MethodPost, "/", body)
		sign(t, r, body, o)
		return r
	}
	setAuth := func(r *http.Request, from, to string) *http.Request {
		a := r.Header.Get("Authorization")
		if !strings.Contains(a, from) {
			t.Fatalf("%q not in %q", from, a)
		}
		r.Header.Set("Authorization", strings.Replace(a, from, to, 1))
		return r
	}
	const mismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		body   []byte
		v      func(*sigv4.Verifier)
		typ    string
		status int
		msg    string
	}{
		{name: "no authentication", req: func() *http.Request { return newAPIRequest(http.MethodPost, "/", body) },
			typ: sigv4.TypeMissingAuthenticationToken, status: 403, msg: "Missing Authentication Token"},
		{name: "query without signature", req: func() *http.Request {
			return newAPIRequest(http.MethodPost, "/?X-Amz-Credential=x&X-Amz-Date=y", body)
		}, typ: sigv4.TypeMissingAuthenticationToken, status: 403, msg: "Missing Authentication Token"},
		{name: "unknown key", req: func() *http.Request {
			return resign(func(o *signOpts) { o.akid = "AKIDUNKNOWN" })
		}, typ: sigv4.TypeUnrecognizedClient, status: 403, msg: "The security token included in the request is invalid."},
		{name: "empty key", req: func() *http.Request {
			return setAuth(fresh(), "Credential="+testAKID, "Credential=")
		}, typ: sigv4.TypeUnrecognizedClient, status: 403, msg: "The security token included in the request is invalid."},
		{name: "wrong secret", req: func() *http.Request {
			return resign(func(o *signOpts) { o.secret = "wrong" })
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "tampered body", req: fresh, body: []byte(`{"MaxResults":11}`),
			typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "nil body", req: fresh, body: []byte{},
			typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "tampered target", req: func() *http.Request {
			r := fresh()
			r.Header.Set("X-Amz-Target", "AppRunner.DeleteService")
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "tampered content type", req: func() *http.Request {
			r := fresh()
			r.Header.Set("Content-Type", "application/json")
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "added header value", req: func() *http.Request {
			r := fresh()
			r.Header.Add("X-Amz-Target", "AppRunner.DeleteService")
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "tampered host", req: func() *http.Request {
			r := fresh()
			r.Host = "evil.example.com"
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "tampered method", req: func() *http.Request {
			r := fresh()
			r.Method = http.MethodPut
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "tampered path", req: func() *http.Request {
			r := fresh()
			r.RequestURI = "/other"
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "added query", req: func() *http.Request {
			r := fresh()
			r.RequestURI = "/?a=1"
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "tampered signature", req: func() *http.Request {
			r := fresh()
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			swap := byte('0')
			if last == '0' {
				swap = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(swap))
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "upper-case signature", req: func() *http.Request {
			r := fresh()
			a := r.Header.Get("Authorization")
			i := strings.Index(a, "Signature=") + len("Signature=")
			r.Header.Set("Authorization", a[:i]+strings.ToUpper(a[i:]))
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "short signature", req: func() *http.Request {
			r := fresh()
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-2])
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "unsigned header list changed", req: func() *http.Request {
			return setAuth(fresh(), "SignedHeaders=content-length;", "SignedHeaders=")
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "host not signed", req: func() *http.Request {
			return setAuth(fresh(), ";host;", ";")
		}, typ: sigv4.TypeIncompleteSignature, status: 400,
			msg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "empty signed headers", req: func() *http.Request {
			r := fresh()
			a := r.Header.Get("Authorization")
			i := strings.Index(a, "SignedHeaders=")
			j := strings.Index(a, ", Signature=")
			r.Header.Set("Authorization", a[:i]+"SignedHeaders="+a[j:])
			return r
		}, typ: sigv4.TypeIncompleteSignature, status: 400, msg: "'Host' or ':authority' must be a 'SignedHeader'"},
		{name: "wrong service", req: func() *http.Request {
			return resign(func(o *signOpts) { o.service = "lambda" })
		}, typ: sigv4.TypeInvalidSignature, status: 400, msg: "Credential should be scoped to correct service: 'apprunner'. "},
		{name: "empty region", req: func() *http.Request {
			return setAuth(fresh(), "/us-east-1/", "//")
		}, typ: sigv4.TypeInvalidSignature, status: 400, msg: "Credential should be scoped to a valid region. "},
		{name: "bad region", req: func() *http.Request {
			return resign(func(o *signOpts) { o.region = "us:east" })
		}, typ: sigv4.TypeInvalidSignature, status: 400, msg: "Credential should be scoped to a valid region, not 'us:east'. "},
		{name: "wrong terminator", req: func() *http.Request {
			return setAuth(fresh(), "/aws4_request", "/aws4_requesx")
		}, typ: sigv4.TypeInvalidSignature, status: 400,
			msg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_requesx'. "},
		{name: "scope date mismatch", req: func() *http.Request {
			return setAuth(fresh(), "/20201120/", "/20201121/")
		}, typ: sigv4.TypeInvalidSignature, status: 400,
			msg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20201121' != '20201120', from '20201120T190525Z'."},
		{name: "x-amz-date changed", req: func() *http.Request {
			r := fresh()
			r.Header.Set("X-Amz-Date", "20201120T190526Z")
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch},
		{name: "bad x-amz-date", req: func() *http.Request {
			r := fresh()
			r.Header.Set("X-Amz-Date", "2020-11-20T19:05:25Z")
			return r
		}, typ: sigv4.TypeIncompleteSignature, status: 400, msg: "Date must be in ISO-8601 'basic format'. Got '2020-11-20T19:05:25Z'."},
		{name: "bad date header", req: func() *http.Request {
			r := fresh()
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", "yesterday")
			return r
		}, typ: sigv4.TypeIncompleteSignature, status: 400, msg: "Date must be in ISO-8601 'basic format'. Got 'yesterday'."},
		{name: "date header instead of x-amz-date", req: func() *http.Request {
			r := fresh()
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", signTime.Format(http.TimeFormat))
			return r
		}, typ: sigv4.TypeInvalidSignature, status: 403, msg: mismatch}, // x-amz-date is signed but now empty
		{name: "missing date", req: func() *http.Request {
			r := fresh()
			r.Header.Del("X-Amz-Date")
			return r
		}, typ: sigv4.TypeIncompleteSignature, status: 400,
			msg: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 ..."},
		{name: "expired", req: fresh, v: func(v *sigv4.Verifier) {
			v.Now = func() time.Time { return signTime.Add(20 * time.Minute) }
		}, typ: sigv4.TypeInvalidSignature, status: 403,
			msg: "Signature expired: 20201120T190525Z is now earlier than 20201120T191025Z (20201120T192525Z - 15 min.)"},
		{name: "not yet current", req: fresh, v: func(v *sigv4.Verifier) {
			v.Now = func() time.Time { return signTime.Add(-20 * time.Minute) }
		}, typ: sigv4.TypeInvalidSignature, status: 403,
			msg: "Signature not yet current: 20201120T190525Z is still later than 20201120T190025Z (20201120T184525Z + 15 min.)"},
		{name: "custom skew", req: fresh, v: func(v *sigv4.Verifier) {
			v.MaxSkew = 90 * time.Second
			v.Now = func() time.Time { return signTime.Add(2 * time.Minute) }
		}, typ: sigv4.TypeInvalidSignature, status: 403,
			msg: "Signature expired: 20201120T190525Z is now earlier than 20201120T190555Z (20201120T190725Z - 90 sec.)"},
		{name: "both mechanisms", req: func() *http.Request {
			r := fresh()
			r.RequestURI = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			return r
		}, typ: sigv4.TypeIncompleteSignature, status: 400, msg: "Only one auth mechanism allowed"},
		{name: "store failure", req: fresh, v: func(v *sigv4.Verifier) {
			v.Credentials = failingStore{}
		}, typ: sigv4.TypeInternalFailure, status: 500, msg: "An internal error occurred."},
		{name: "no service", req: fresh, v: func(v *sigv4.Verifier) { v.Service = "" },
			typ: sigv4.TypeInternalFailure, status: 500, msg: "An internal error occurred."},
		{name: "no store", req: fresh, v: func(v *sigv4.Verifier) { v.Credentials = nil },
			typ: sigv4.TypeInternalFailure, status: 500, msg: "An internal error occurred."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier()
			if tc.v != nil {
				tc.v(v)
			}
			b := body
			if tc.body != nil {
				b = tc.body
			}
			wantErr(t, v, tc.req(), b, tc.typ, tc.status, tc.msg)
		})
	}
}

type failingStore struct{}

var errStoreDown = errors.New("store is down")

func (failingStore) LookupCredential(context.Context, string) (sigv4.Credential, bool, error) {
	return sigv4.Credential{}, false, errStoreDown
}

func TestInternalFailureUnwraps(t *testing.T) {
	v := newVerifier()
	v.Credentials = failingStore{}
	body := []byte(testJSON)
	_, err := v.Verify(signedAPIRequest(t, body), body)
	if !errors.Is(err, errStoreDown) {
		t.Fatalf("error %v does not wrap the store's error", err)
	}
	if strings.Contains(err.(*sigv4.Error).Message, "store is down") {
		t.Fatal("internal cause in the message")
	}
}

func TestMalformedAuthorization(t *testing.T) {
	const (
		cred   = "Credential=" + testAKID + "/20201120/us-east-1/apprunner/aws4_request"
		signed = "SignedHeaders=content-type;host;x-amz-date;x-amz-target"
		sig    = "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		reqAll = "Authorization header requires 'Credential' parameter. " +
			"Authorization header requires 'Signature' parameter. " +
			"Authorization header requires 'SignedHeaders' parameter. "
	)
	for _, tc := range []struct {
		name, auth string
		typ        string
		status     int
		msg        string
	}{
		{"bearer token", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", sigv4.TypeIncompleteSignature, 400,
			reqAll + "Authorization=Bearer ..."},
		{"bare token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", sigv4.TypeIncompleteSignature, 400,
			reqAll + "Authorization=..."},
		{"sigv2", "AWS AKIAI2HBJEUM7LRSTWOQ:qaNdqGsI6bq4Hi+9Gzovwyjbh0E=", sigv4.TypeIncompleteSignature, 400,
			reqAll + "Authorization=AWS ..."},
		{"algorithm only", "AWS4-HMAC-SHA256", sigv4.TypeIncompleteSignature, 400,
			reqAll + "Authorization=AWS4-HMAC-SHA256"},
		{"sha512", "AWS4-HMAC-SHA512 " + cred + ", " + signed + ", " + sig, sigv4.TypeIncompleteSignature, 400,
			reqAll + "Authorization=AWS4-HMAC-SHA512 ..."},
		{"lower-case algorithm", "aws4-hmac-sha256 " + cred + ", " + signed + ", " + sig, sigv4.TypeIncompleteSignature, 400, reqAll},
		{"credential only", "AWS4-HMAC-SHA256 " + cred, sigv4.TypeIncompleteSignature, 400,
			"Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 ..."},
		{"no signature", "AWS4-HMAC-SHA256 " + cred + ", " + signed, sigv4.TypeIncompleteSignature, 400,
			"Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 ..."},
		{"no signed headers", "AWS4-HMAC-SHA256 " + cred + ", " + sig, sigv4.TypeIncompleteSignature, 400,
			"Authorization header requires 'SignedHeaders' parameter. Authorization="},
		{"no credential", "AWS4-HMAC-SHA256 " + signed + ", " + sig, sigv4.TypeIncompleteSignature, 400,
			"Authorization header requires 'Credential' parameter. Authorization="},
		{"missing equal sign", "AWS4-HMAC-SHA256 " + cred + ", " + signed + ", Signature", sigv4.TypeIncompleteSignature, 400,
			"Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '"},
		{"space in credential", "AWS4-HMAC-SHA256 Credential=" + testAKID + " /20201120/us-east-1/apprunner/aws4_request, " + signed + ", " + sig,
			sigv4.TypeIncompleteSignature, 400, "Invalid key=value pair (missing equal-sign)"},
		{"short credential", "AWS4-HMAC-SHA256 Credential=" + testAKID + "/20201120/us-east-1, " + signed + ", " + sig,
			sigv4.TypeIncompleteSignature, 400, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + testAKID + "/20201120/us-east-1'"},
		{"long credential", "AWS4-HMAC-SHA256 " + cred + "/x, " + signed + ", " + sig,
			sigv4.TypeIncompleteSignature, 400, "Credential must have exactly 5 slash-delimited elements"},
		{"credential with quote", "AWS4-HMAC-SHA256 Credential=a'b\x01c, " + signed + ", " + sig,
			sigv4.TypeIncompleteSignature, 400, "got 'a?b?c'"},
		{"no spaces after commas", "AWS4-HMAC-SHA256 " + cred + "," + signed + "," + sig, sigv4.TypeInvalidSignature, 403, "does not match"},
		{"trailing comma", "AWS4-HMAC-SHA256 " + cred + ", " + signed + ", " + sig + ",", sigv4.TypeInvalidSignature, 403, "does not match"},
		{"wrong date in scope", "AWS4-HMAC-SHA256 Credential=" + testAKID + "/2020112/us-east-1/apprunner/aws4_request, " + signed + ", " + sig,
			sigv4.TypeInvalidSignature, 400, "Date in Credential scope does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newAPIRequest(http.MethodPost, "/", nil)
			r.Header.Set("X-Amz-Date", "20201120T190525Z")
			r.Header.Set("Authorization", tc.auth)
			e := wantErr(t, newVerifier(), r, nil, tc.typ, tc.status, tc.msg)
			if len(e.Message) > 400 {
				t.Errorf("message too long (%d bytes)", len(e.Message))
			}
			if strings.Contains(e.Message, "eyJzdWIiOiJ4In0") || strings.Contains(e.Message, "qaNdqGsI6bq4Hi") {
				t.Errorf("message echoes a token: %q", e.Message)
			}
		})
	}

	// Without any date header, AWS lists the date too.
	r := newAPIRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", "Bearer x")
	wantErr(t, newVerifier(), r, nil, sigv4.TypeIncompleteSignature, 400, reqAll+
		"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer ...")
}

func TestMalformedPresigned(t *testing.T) {
	good := presignedRequest(t, "X-Amz-Expires=300")
	q, err := url.ParseQuery(strings.TrimPrefix(good.RequestURI, "/?"))
	if err != nil {
		t.Fatal(err)
	}
	with := func(mod func(q url.Values)) *http.Request {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = append([]string(nil), v...)
		}
		mod(q2)
		r := httptest.NewRequest(http.MethodGet, "/?"+q2.Encode(), nil)
		r.Host = testHost
		return r
	}
	v := newVerifier()
	wantOK(t, v, good, nil, testAKID)
	wantOK(t, v, with(func(url.Values) {}), nil, testAKID) // re-encoded, same canonical query

	for _, tc := range []struct {
		name   string
		mod    func(url.Values)
		typ    string
		status int
		msg    string
	}{
		{"no algorithm", func(q url.Values) { q.Del("X-Amz-Algorithm") }, sigv4.TypeIncompleteSignature, 400,
			"AWS query-string parameters must include 'X-Amz-Algorithm'. Re-examine the query-string parameters."},
		{"no signature", func(q url.Values) { q.Del("X-Amz-Signature") }, sigv4.TypeIncompleteSignature, 400,
			"AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters."},
		{"only algorithm", func(q url.Values) {
			for k := range q {
				if k != "X-Amz-Algorithm" {
					q.Del(k)
				}
			}
		}, sigv4.TypeIncompleteSignature, 400,
			"AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. " +
				"AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. " +
				"Re-examine the query-string parameters."},
		{"wrong algorithm", func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA1") }, sigv4.TypeIncompleteSignature, 400,
			"Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'."},
		{"bad credential", func(q url.Values) { q.Set("X-Amz-Credential", "AKID") }, sigv4.TypeIncompleteSignature, 400,
			"Credential must have exactly 5 slash-delimited elements"},
		{"bad date", func(q url.Values) { q.Set("X-Amz-Date", "20201120") }, sigv4.TypeIncompleteSignature, 400,
			"Date must be in ISO-8601 'basic format'. Got '20201120'."},
		{"expires zero", func(q url.Values) { q.Set("X-Amz-Expires", "0") }, sigv4.TypeIncompleteSignature, 400,
			"X-Amz-Expires must be a positive number of seconds"},
		{"expires negative", func(q url.Values) { q.Set("X-Amz-Expires", "-99999999999999999999") }, sigv4.TypeIncompleteSignature, 400,
			"X-Amz-Expires must be a positive number of seconds"},
		{"expires too long", func(q url.Values) { q.Set("X-Amz-Expires", "604801") }, sigv4.TypeIncompleteSignature, 400,
			"X-Amz-Expires must be less than a week (in seconds) that is 604800"},
		{"expires huge", func(q url.Values) { q.Set("X-Amz-Expires", "99999999999999999999") }, sigv4.TypeIncompleteSignature, 400,
			"X-Amz-Expires must be less than a week"},
		{"expires not a number", func(q url.Values) { q.Set("X-Amz-Expires", "1h") }, sigv4.TypeIncompleteSignature, 400,
			"X-Amz-Expires should be a number"},
		{"expires changed", func(q url.Values) { q.Set("X-Amz-Expires", "600") }, sigv4.TypeInvalidSignature, 403, "does not match"},
		{"host not signed", func(q url.Values) { q.Set("X-Amz-SignedHeaders", "x-amz-date") }, sigv4.TypeIncompleteSignature, 400,
			"'Host' or ':authority' must be a 'SignedHeader'"},
		{"wrong service", func(q url.Values) {
			q.Set("X-Amz-Credential", testAKID+"/20201120/us-east-1/ecs/aws4_request")
		}, sigv4.TypeInvalidSignature, 400, "Credential should be scoped to correct service: 'apprunner'. "},
		{"unknown key", func(q url.Values) {
			q.Set("X-Amz-Credential", "AKIDOTHER/20201120/us-east-1/apprunner/aws4_request")
		}, sigv4.TypeUnrecognizedClient, 403, "The security token included in the request is invalid."},
		{"token added", func(q url.Values) { q.Set("X-Amz-Security-Token", "x") }, sigv4.TypeUnrecognizedClient, 403,
			"The security token included in the request is invalid."},
		{"signature changed", func(q url.Values) { q.Set("X-Amz-Signature", strings.Repeat("0", 64)) }, sigv4.TypeInvalidSignature, 403,
			"does not match"},
		{"future", func(q url.Values) { q.Set("X-Amz-Date", "20201120T203000Z") }, sigv4.TypeInvalidSignature, 403,
			"Signature not yet current: 20201120T203000Z is still later than 20201120T192125Z (20201120T190625Z + 15 min.)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, v, with(tc.mod), nil, tc.typ, tc.status, tc.msg)
		})
	}
}

func TestSignedHeadersMustBeCanonical(t *testing.T) {
	body := []byte(testJSON)
	// Sign with a custom, non-canonical list by rewriting a valid
	// Authorization header: the verifier must refuse before building a
	// canonical request from it.
	for _, list := range []string{
		"host;content-length;content-type;x-amz-date;x-amz-target", // unsorted
		"content-length;content-type;host;host;x-amz-date;x-amz-target",
		"content-length;content-type;Host;x-amz-date;x-amz-target",
		";content-length;content-type;host;x-amz-date;x-amz-target",
		"content-length;content-type;host;x-amz-date;x-amz-target;",
		"x-big;" + strings.Repeat("x-big;", 1000) + "host",
	} {
		r := signedAPIRequest(t, body)
		r.Header.Set("X-Big", strings.Repeat("b", 100000))
		a := r.Header.Get("Authorization")
		i := strings.Index(a, "SignedHeaders=") + len("SignedHeaders=")
		j := strings.Index(a, ", Signature=")
		r.Header.Set("Authorization", a[:i]+list+a[j:])
		wantErr(t, newVerifier(), r, body, sigv4.TypeInvalidSignature, 403, "does not match")
	}
}

// TestVerifyNormalizedPath: SDKs other than aws-sdk-go-v2 sign the path with
// dot segments and repeated slashes removed, but send it as written.
func TestVerifyNormalizedPath(t *testing.T) {
	for sent, signed := range map[string]string{
		"/a/./b/../c":  "/a/c",
		"//a//b//":     "/a/b/",
		"/../x?q=1":    "/x?q=1",
		"/a%20b/./c/.": "/a%20b/c",
	} {
		body := []byte(testJSON)
		r := newAPIRequest(http.MethodPost, signed, body)
		sign(t, r, body, defaultSignOpts())
		r.RequestURI = sent
		wantOK(t, newVerifier(), r, body, testAKID)
	}
}
