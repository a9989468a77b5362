package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHeaderValuesMatchesTextproto(t *testing.T) {
	names := []string{
		"host", "x-amz-date", "X-AMZ-DATE", "content-type", "x-amz-target", "x--y", "-x", "x-", "a1-b2",
		"x_y", "x y", "x\x80y", "x:y", "", "ü", "x.y-z", strings.Repeat("ab-", 30), strings.Repeat("a", 64),
	}
	for range 2000 {
		b := make([]byte, rand.IntN(12))
		for i := range b {
			b[i] = "aZ-_ .:~é\x00q"[rand.IntN(12)]
		}
		names = append(names, string(b))
	}
	for _, name := range names {
		h := http.Header{textproto.CanonicalMIMEHeaderKey(name): {"v"}}
		if got := headerValues(h, name); len(got) != 1 {
			t.Errorf("headerValues(%q) found nothing; textproto key %q", name, textproto.CanonicalMIMEHeaderKey(name))
		}
	}
}

// referenceQuery is the canonical query as aws-sdk-go-v2 computes it: parse
// with url.ParseQuery, encode each name and value, sort after encoding.
func referenceQuery(raw string) string {
	q, _ := url.ParseQuery(raw)
	enc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, enc(k)+"="+enc(v))
		}
	}
	slices.SortFunc(pairs, func(a, b string) int {
		ak, av, _ := strings.Cut(a, "=")
		bk, bv, _ := strings.Cut(b, "=")
		if c := strings.Compare(ak, bk); c != 0 {
			return c
		}
		return strings.Compare(av, bv)
	})
	return strings.Join(pairs, "&")
}

func TestCanonicalQuery(t *testing.T) {
	raws := []string{
		"", "a=1", "b=2&a=1", "a=2&a=1&a=10", "a", "a=", "=v", "&&a=1&", "x=a+b", "x=%2B", "x=%zz&y=1", "a=b;c&d=e",
		"a/b=c-d&a-b=c/d", "%41=1&A=0", "q=%E2%82%AC", "a=%7e~", "a=%20+", "sp ace=x y", "é=ü",
		"X-Amz-Signature=abc&b=1",
	}
	const alphabet = "ab=&%2F+;~ é-A"
	for range 5000 {
		b := make([]byte, rand.IntN(16))
		for i := range b {
			b[i] = alphabet[rand.IntN(len(alphabet))]
		}
		raws = append(raws, string(b))
	}
	s := &scratch{}
	for _, raw := range raws {
		s.canonicalQuery(raw, false)
		if want := referenceQuery(raw); string(s.query) != want {
			t.Fatalf("canonicalQuery(%q) = %q, want %q", raw, s.query, want)
		}
	}
	s.canonicalQuery("X-Amz-Signature=abc&b=1&X-Amz-Signature=d", true)
	if string(s.query) != "b=1" {
		t.Fatalf("presigned query = %q", s.query)
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"":              "/",
		"/":             "/",
		"//":            "/",
		"/a/b":          "/a/b",
		"/a/b/":         "/a/b/",
		"/a/./b/../c":   "/a/c",
		"/a//b///":      "/a/b/",
		"/../x":         "/x",
		"/a/..":         "/",
		"/a/../":        "/",
		"/./":           "/",
		"/a%2F/./b":     "/a%2F/b",
		"/%2E%2E/x":     "/%2E%2E/x",
		"a/b":           "a/b",
		"/.../..../x/.": "/.../..../x",
	} {
		if got := normalizePath(in); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalURI(t *testing.T) {
	for in, want := range map[string]string{
		"":             "/",
		"/":            "/",
		"/a%20b/c":     "/a%2520b/c",
		"/~a-b_c.d":    "/~a-b_c.d",
		"/a+b:c@d!$'(": "/a%2Bb%3Ac%40d%21%24%27%28",
		"/é":           "/%C3%A9",
	} {
		if got := string(appendCanonicalURI(nil, in)); got != want {
			t.Errorf("appendCanonicalURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendHeaderValue(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"a":             "a",
		"  a   b  ":     "a b",
		"\ta \t  b\t":   "a \t b",
		"a,  b":         "a, b",
		"\u00a0x\u00a0": "x",
	} {
		if got := string(appendHeaderValue(nil, in)); got != want {
			t.Errorf("appendHeaderValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSignatureHMAC(t *testing.T) {
	key := deriveKey("secret", "20201120", "us-east-1", "apprunner")
	s := &scratch{canon: []byte("canonical request")}
	got := s.signature(&key, "20201120T190525Z", "20201120/us-east-1/apprunner/aws4_request")

	crHash := sha256.Sum256([]byte("canonical request"))
	sts := "AWS4-HMAC-SHA256\n20201120T190525Z\n20201120/us-east-1/apprunner/aws4_request\n" + hex.EncodeToString(crHash[:])
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(sts))
	if want := hex.EncodeToString(m.Sum(nil)); string(got[:]) != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
	if !equalSignature(&got, string(got[:])) || equalSignature(&got, string(got[:63])) || equalSignature(&got, strings.ToUpper(string(got[:]))) {
		t.Fatal("equalSignature")
	}
}

func TestParseAmzDate(t *testing.T) {
	for _, s := range []string{
		"20201120T190525Z", "20200229T000000Z", "20210229T000000Z", "20201131T000000Z", "20201120T240000Z",
		"20201120T196025Z", "20201120t190525Z", "20201120T190525", "2020112T0190525Z", "+0201120T190525Z",
		"20201320T190525Z", "20201100T190525Z", "00010101T000000Z", "99991231T235959Z",
	} {
		want, werr := time.Parse(amzDateLayout, s)
		got, ok := parseAmzDate(s)
		if ok != (werr == nil) || ok && !got.Equal(want) {
			t.Errorf("parseAmzDate(%q) = %v, %v; time.Parse = %v, %v", s, got, ok, want, werr)
		}
	}
}

func TestKeyCacheBounded(t *testing.T) {
	var c keyCache
	want := deriveKey("s", "20201120", "r0", "svc")
	for i := range maxCachedKeys + 100 {
		region := "r" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		c.signingKey("s", "20201120", region, "svc")
	}
	if len(c.m) > maxCachedKeys {
		t.Fatalf("cache holds %d keys", len(c.m))
	}
	if got := c.signingKey("s", "20201120", "r0", "svc"); got != want {
		t.Fatal("wrong key")
	}
	if got := c.signingKey("s", "20201120", "r0", "svc"); got != want {
		t.Fatal("wrong cached key")
	}
}

func TestEcho(t *testing.T) {
	for in, want := range map[string]string{
		"AKID/20201120":         "AKID/20201120",
		"a'b\"c\\d\x00e\n":      "a?b?c?d?e?",
		strings.Repeat("x", 70): strings.Repeat("x", 64) + "...",
	} {
		if got := echo(in); got != want {
			t.Errorf("echo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRequestTarget(t *testing.T) {
	for _, tc := range []struct {
		requestURI  string
		url         *url.URL
		path, query string
	}{
		{"/a%20b?x=1", nil, "/a%20b", "x=1"},
		{"/", nil, "/", ""},
		{"/?", nil, "/", ""},
		{"http://host/p/q?x", nil, "/p/q", "x"},
		{"https://host", nil, "/", ""},
		{"http://host?x=1", nil, "/", "x=1"},
		{"*", nil, "*", ""},
		{"", &url.URL{Path: "/a b", RawQuery: "y=2"}, "/a%20b", "y=2"},
		{"", &url.URL{Opaque: "//host/x%2Fy", RawQuery: "z"}, "/x%2Fy", "z"},
		{"", &url.URL{}, "/", ""},
		{"", nil, "/", ""},
	} {
		r := &http.Request{RequestURI: tc.requestURI, URL: tc.url}
		if p, q := requestTarget(r); p != tc.path || q != tc.query {
			t.Errorf("requestTarget(%q, %v) = %q, %q; want %q, %q", tc.requestURI, tc.url, p, q, tc.path, tc.query)
		}
	}
}

func TestCanonicalHeaderList(t *testing.T) {
	for list, want := range map[string]bool{
		"host":                                true,
		"content-type;host;x-amz-date":        true,
		"host;content-type":                   false,
		"host;host":                           false,
		"Host":                                false,
		"":                                    true, // rejected earlier: host is not signed
		";host":                               false,
		"host;":                               false,
		"a;a-b;a_b;host;x-amz-content-sha256": true,
	} {
		if got := canonicalHeaderList(list); got != want {
			t.Errorf("canonicalHeaderList(%q) = %v", list, got)
		}
	}
}
