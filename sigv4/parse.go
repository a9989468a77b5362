package sigv4

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	scopeTerminator = "aws4_request"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	amzDateLayout   = "20060102T150405Z"
	// maxExpires is the longest X-Amz-Expires AWS accepts: one week.
	maxExpires = 604800
)

// authorization is the signing information of a request, from the
// Authorization header or the presigned query string. Its strings are
// substrings of what the client sent.
type authorization struct {
	credential    string // the whole Credential value
	accessKeyID   string
	scope         string // date/region/service/terminator, as sent
	scopeDate     string
	region        string
	service       string
	terminator    string
	signedHeaders string
	signature     string
}

// parseAuthorization parses an Authorization header value of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/20201120/us-east-1/apprunner/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
//
// hasDate tells whether the request has an X-Amz-Date or Date header, which
// AWS reports together with missing parameters. Errors are
// IncompleteSignatureException.
func parseAuthorization(h string, hasDate bool) (authorization, *Error) {
	var a authorization
	scheme, rest, _ := strings.Cut(h, " ")
	var haveCred, haveSigned, haveSig bool
	if scheme == algorithm {
		// Like AWS, split on commas and white space: "Credential=AKID /date/..."
		// is a Credential followed by a parameter without an '='.
		for rest != "" {
			i := strings.IndexAny(rest, ", \t")
			if i < 0 {
				i = len(rest)
			}
			part := rest[:i]
			rest = rest[min(i+1, len(rest)):]
			if part == "" {
				continue
			}
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				sum := sha256.Sum256([]byte(h))
				return a, errIncomplete("Invalid key=value pair (missing equal-sign) in Authorization header " +
					"(hashed with SHA-256 and encoded with Base64): '" + base64.StdEncoding.EncodeToString(sum[:]) + "'.")
			}
			switch k {
			case "Credential":
				if !haveCred {
					a.credential, haveCred = v, true
				}
			case "SignedHeaders":
				if !haveSigned {
					a.signedHeaders, haveSigned = v, true
				}
			case "Signature":
				if !haveSig {
					a.signature, haveSig = v, true
				}
			}
		}
	}
	if !haveCred || !haveSigned || !haveSig || !hasDate {
		var b strings.Builder
		if !haveCred {
			b.WriteString("Authorization header requires 'Credential' parameter. ")
		}
		if !haveSig {
			b.WriteString("Authorization header requires 'Signature' parameter. ")
		}
		if !haveSigned {
			b.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
		}
		if !hasDate {
			b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
		}
		b.WriteString("Authorization=")
		b.WriteString(redactAuthorization(h))
		return a, errIncomplete(b.String())
	}
	if err := a.parseCredential(); err != nil {
		return a, err
	}
	return a, nil
}

// parseCredential splits a.credential into the access key id and the four
// scope elements.
func (a *authorization) parseCredential() *Error {
	c := a.credential
	var parts [5]string
	n := 0
	for n < 4 {
		i := strings.IndexByte(c, '/')
		if i < 0 {
			break
		}
		parts[n], c = c[:i], c[i+1:]
		n++
	}
	if n != 4 || strings.IndexByte(c, '/') >= 0 {
		return errIncomplete("Credential must have exactly 5 slash-delimited elements, " +
			"e.g. keyid/date/region/service/term, got '" + echo(a.credential) + "'")
	}
	parts[4] = c
	a.accessKeyID = parts[0]
	a.scope = a.credential[len(parts[0])+1:]
	a.scopeDate, a.region, a.service, a.terminator = parts[1], parts[2], parts[3], parts[4]
	return nil
}

// checkScope checks the credential scope against the verifier's service and
// the request's date (amzDate, in ISO 8601 basic format), and that the host
// header is signed.
func (a *authorization) checkScope(service, amzDate string) *Error {
	if a.terminator != scopeTerminator {
		return errScope("Credential should be scoped with a valid terminator: 'aws4_request', not '" + echo(a.terminator) + "'. ")
	}
	if a.service != service {
		return errScope("Credential should be scoped to correct service: '" + service + "'. ")
	}
	if a.region == "" {
		return errScope("Credential should be scoped to a valid region. ")
	}
	if !validRegion(a.region) {
		return errScope("Credential should be scoped to a valid region, not '" + echo(a.region) + "'. ")
	}
	if a.scopeDate != amzDate[:8] {
		return errScope("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			echo(a.scopeDate) + "' != '" + amzDate[:8] + "', from '" + amzDate + "'.")
	}
	if !signsHost(a.signedHeaders) {
		return errIncomplete(msgHostNotSigned)
	}
	return nil
}

// validRegion is openrunner.ValidRegion: the ARN parser accepts exactly
// the Regions a signature may name.
func validRegion(r string) bool { return openrunner.ValidRegion(r) }

// signsHost reports whether the SignedHeaders list includes host.
func signsHost(signed string) bool {
	for signed != "" {
		var name string
		name, signed, _ = strings.Cut(signed, ";")
		if strings.EqualFold(name, "host") {
			return true
		}
	}
	return false
}

// trimOWS trims spaces and tabs.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// redactAuthorization renders an Authorization header for an error message
// without credentials: only an authentication scheme name (such as
// "AWS4-HMAC-SHA256" or "Bearer") is shown, everything else is elided.
func redactAuthorization(h string) string {
	scheme, rest, found := strings.Cut(h, " ")
	if !found {
		// A lone word is more likely a bare token than a scheme name.
		if h == "" || h == algorithm {
			return h
		}
		return "..."
	}
	if len(scheme) == 0 || len(scheme) > 32 {
		return "..."
	}
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "..."
		}
	}
	if trimOWS(rest) == "" {
		return scheme
	}
	return scheme + " ..."
}

// parseAmzDate parses an ISO 8601 basic format UTC time, 20060102T150405Z,
// strictly and without allocating.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != len(amzDateLayout) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[4:6])
	day, ok3 := num(s[6:8])
	hour, ok4 := num(s[9:11])
	minute, ok5 := num(s[11:13])
	sec, ok6 := num(s[13:15])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // e.g. February 30th
		return time.Time{}, false
	}
	return t, true
}

func errDateFormat(got string) *Error {
	return errIncomplete("Date must be in ISO-8601 'basic format'. Got '" + echo(got) +
		"'. See http://en.wikipedia.org/wiki/ISO_8601")
}
