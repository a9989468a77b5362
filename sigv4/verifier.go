package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxSkew is the clock skew AWS tolerates between a request's date and
// the server's clock.
const DefaultMaxSkew = 15 * time.Minute

// Verifier verifies AWS Signature Version 4 signatures of requests to one
// service. Set its fields before first use and do not change them after; a
// Verifier must not be copied after first use. It is safe for concurrent use.
type Verifier struct {
	// Credentials resolves access key ids to secrets. Required.
	Credentials CredentialStore
	// Service is the signing name the credential scope must name, such as
	// "apprunner". Required.
	Service string
	// MaxSkew is how far a request's date may be from the server's clock,
	// either way; 0 means DefaultMaxSkew.
	MaxSkew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	keys keyCache
}

// Identity is who signed a verified request.
type Identity struct {
	AccessKeyID string
	AccountID   string
	// Region is the region of the request's credential scope, such as
	// us-east-1.
	Region string
}

// Verify checks r's signature, given in the Authorization header or as a
// presigned query string. body is the full request body, already read by the
// caller (it may be nil or empty); Verify does not read r.Body. It returns
// the signer's identity, or an error that is always an *Error.
//
// The canonical request is computed from r.Method, the path and query of
// r.RequestURI (or r.URL when RequestURI is empty, as for client requests),
// r.Host and r.Header. The path is canonicalized both as aws-sdk-go-v2 does
// (as sent) and, failing that, as botocore and other SDKs do (with dot
// segments and repeated slashes removed). A presigned request without
// X-Amz-Content-Sha256 may sign either UNSIGNED-PAYLOAD or the body's hash.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Identity, error) {
	id, err := v.verify(r, body)
	if err != nil {
		return nil, err
	}
	return id, nil
}

// signedRequest is a request's signing information, whatever the mechanism.
type signedRequest struct {
	auth        authorization
	amzDate     string    // request time in ISO 8601 basic format
	t           time.Time // request time
	presigned   bool
	expires     time.Duration // X-Amz-Expires of a presigned request; 0: none
	token       string        // X-Amz-Security-Token
	payloadHash string        // X-Amz-Content-Sha256
}

var errMisconfigured = errors.New("sigv4: Verifier.Credentials and Verifier.Service must be set")

func (v *Verifier) verify(r *http.Request, body []byte) (*Identity, *Error) {
	if v.Credentials == nil || v.Service == "" {
		return nil, errInternal(errMisconfigured)
	}
	path, rawQuery := requestTarget(r)
	authz := firstHeader(r.Header, "Authorization")
	presigned := queryHasSignature(rawQuery)

	var sr signedRequest
	var err *Error
	switch {
	case authz != "" && presigned:
		return nil, errIncomplete(msgOneMechanism)
	case authz != "":
		sr, err = parseHeaderAuth(r, authz)
	case presigned:
		sr, err = parsePresigned(r, rawQuery)
	default:
		return nil, errMissingToken()
	}
	if err != nil {
		return nil, err
	}
	if err := sr.auth.checkScope(v.Service, sr.amzDate); err != nil {
		return nil, err
	}
	if err := v.checkTime(&sr); err != nil {
		return nil, err
	}

	if sr.auth.accessKeyID == "" {
		return nil, errUnrecognized()
	}
	cred, ok, lerr := v.Credentials.LookupCredential(r.Context(), sr.auth.accessKeyID)
	if lerr != nil {
		return nil, errInternal(lerr)
	}
	if !ok || !tokenMatches(cred.SessionToken, sr.token) {
		return nil, errUnrecognized()
	}

	key := v.keys.signingKey(cred.SecretAccessKey, sr.auth.scopeDate, sr.auth.region, sr.auth.service)
	if !signatureMatches(r, &sr, &key, path, rawQuery, body) {
		return nil, errSignatureMismatch()
	}
	if sr.payloadHash != "" && sr.payloadHash != unsignedPayload {
		// The signature covers the declared hash; the body must have it.
		sum := sha256.Sum256(body)
		var h [64]byte
		hex.Encode(h[:], sum[:])
		if string(h[:]) != sr.payloadHash {
			return nil, errSignatureMismatch()
		}
	}
	accessKeyID := cred.AccessKeyID
	if accessKeyID == "" {
		accessKeyID = sr.auth.accessKeyID
	}
	return &Identity{AccessKeyID: accessKeyID, AccountID: cred.AccountID, Region: sr.auth.region}, nil
}

// signatureMatches computes the request's signature for each acceptable
// canonicalization and compares it with the one sent.
func signatureMatches(r *http.Request, sr *signedRequest, key *[32]byte, path, rawQuery string, body []byte) bool {
	if !canonicalHeaderList(sr.auth.signedHeaders) {
		// Clients sort the list (botocore, every AWS SDK); requiring it also
		// keeps a repeated name from multiplying a large header into the
		// canonical request.
		return false
	}
	s := getScratch()
	defer putScratch(s)

	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	s.canonicalQuery(rawQuery, sr.presigned)

	// Payload hash candidates.
	var bodyHash [64]byte
	hashBody := func() []byte {
		sum := sha256.Sum256(body)
		hex.Encode(bodyHash[:], sum[:])
		return bodyHash[:]
	}
	var payloads [2][]byte
	n := 1
	switch {
	case sr.payloadHash != "":
		s.payload = append(s.payload[:0], sr.payloadHash...)
		payloads[0] = s.payload
	case !sr.presigned:
		payloads[0] = hashBody()
	default:
		payloads[0], payloads[1] = unsignedPayloadBytes, hashBody()
		n = 2
	}

	for attempt := 0; attempt < 2; attempt++ {
		p := path
		if attempt == 1 {
			if p = normalizePath(path); p == path {
				break
			}
		}
		for _, payload := range payloads[:n] {
			s.canonicalRequest(r, method, p, host, sr.auth.signedHeaders, payload)
			sig := s.signature(key, sr.amzDate, sr.auth.scope)
			if equalSignature(&sig, sr.auth.signature) {
				return true
			}
		}
	}
	return false
}

var unsignedPayloadBytes = []byte(unsignedPayload)

// canonicalHeaderList reports whether a SignedHeaders list is in canonical
// form: non-empty lower-case names in strictly ascending order.
func canonicalHeaderList(list string) bool {
	if list == "" {
		return true
	}
	prev := ""
	for i := 0; ; i++ {
		name, rest, more := strings.Cut(list, ";")
		if name == "" || i > 0 && name <= prev {
			return false
		}
		for j := 0; j < len(name); j++ {
			if c := name[j]; 'A' <= c && c <= 'Z' {
				return false
			}
		}
		if !more {
			return true
		}
		prev, list = name, rest
	}
}

// tokenMatches checks the request's security token against the credential's.
func tokenMatches(want, got string) bool {
	if want == "" {
		return got == ""
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// parseHeaderAuth reads the signing information of a request signed with
// the Authorization header.
func parseHeaderAuth(r *http.Request, authz string) (signedRequest, *Error) {
	sr := signedRequest{
		token:       firstHeader(r.Header, "X-Amz-Security-Token"),
		payloadHash: firstHeader(r.Header, "X-Amz-Content-Sha256"),
	}
	amzDate := firstHeader(r.Header, "X-Amz-Date")
	date := firstHeader(r.Header, "Date")
	var err *Error
	if sr.auth, err = parseAuthorization(authz, amzDate != "" || date != ""); err != nil {
		return sr, err
	}
	if amzDate != "" {
		t, ok := parseAmzDate(amzDate)
		if !ok {
			return sr, errDateFormat(amzDate)
		}
		sr.t, sr.amzDate = t, amzDate
		return sr, nil
	}
	// Signers may use the HTTP Date header instead (botocore does when the
	// request has one, writing it as RFC 2822 with a "-0000" zone); the
	// string to sign then has it in basic format.
	t, perr := http.ParseTime(date)
	if perr != nil {
		if t, perr = time.Parse(time.RFC1123Z, date); perr != nil {
			return sr, errDateFormat(date)
		}
	}
	sr.t = t.UTC()
	sr.amzDate = sr.t.Format(amzDateLayout)
	return sr, nil
}

// presignParams are the query parameters of a presigned request, in the
// order AWS reports them missing.
var presignParams = [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"}

// parsePresigned reads the signing information of a presigned request.
func parsePresigned(r *http.Request, rawQuery string) (signedRequest, *Error) {
	sr := signedRequest{presigned: true}
	q, _ := url.ParseQuery(rawQuery) // keeps the well-formed parameters
	var missing strings.Builder
	for _, p := range presignParams {
		if len(q[p]) == 0 {
			missing.WriteString("AWS query-string parameters must include '" + p + "'. ")
		}
	}
	if missing.Len() > 0 {
		missing.WriteString("Re-examine the query-string parameters.")
		return sr, errIncomplete(missing.String())
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != algorithm {
		return sr, errIncomplete("Unsupported AWS 'algorithm': '" + echo(alg) + "'. Only '" + algorithm + "' is supported.")
	}
	sr.auth = authorization{
		credential:    q.Get("X-Amz-Credential"),
		signedHeaders: q.Get("X-Amz-SignedHeaders"),
		signature:     q.Get("X-Amz-Signature"),
	}
	if err := sr.auth.parseCredential(); err != nil {
		return sr, err
	}
	amzDate := q.Get("X-Amz-Date")
	t, ok := parseAmzDate(amzDate)
	if !ok {
		return sr, errDateFormat(amzDate)
	}
	sr.t, sr.amzDate = t, amzDate
	if e, ok := q["X-Amz-Expires"]; ok {
		// ParseInt clamps out-of-range values, which the bounds then reject.
		n, err := strconv.ParseInt(e[0], 10, 64)
		switch {
		case errors.Is(err, strconv.ErrSyntax):
			return sr, errIncomplete("X-Amz-Expires should be a number")
		case n < 1:
			return sr, errIncomplete("X-Amz-Expires must be a positive number of seconds")
		case n > maxExpires:
			return sr, errIncomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800")
		}
		sr.expires = time.Duration(n) * time.Second
	}
	sr.token = q.Get("X-Amz-Security-Token")
	if sr.token == "" {
		sr.token = firstHeader(r.Header, "X-Amz-Security-Token")
	}
	sr.payloadHash = q.Get("X-Amz-Content-Sha256")
	if sr.payloadHash == "" {
		sr.payloadHash = firstHeader(r.Header, "X-Amz-Content-Sha256")
	}
	return sr, nil
}

// checkTime rejects requests whose date is too far from the server's clock,
// and expired presigned requests.
func (v *Verifier) checkTime(sr *signedRequest) *Error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now().UTC()
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if sr.t.After(t.Add(skew)) {
		return errInvalid(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
			sr.t.Format(amzDateLayout), t.Add(skew).Format(amzDateLayout), t.Format(amzDateLayout), formatSkew(skew)))
	}
	window := skew
	if sr.presigned && sr.expires > 0 {
		window = sr.expires
	}
	if sr.t.Before(t.Add(-window)) {
		return errInvalid(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			sr.t.Format(amzDateLayout), t.Add(-window).Format(amzDateLayout), t.Format(amzDateLayout), formatSkew(window)))
	}
	return nil
}

// formatSkew formats a duration the way AWS's skew messages do: "15 min.".
func formatSkew(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min."
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec."
}

// requestTarget returns the escaped path and raw query the client sent. A
// server request has them verbatim in RequestURI, unaffected by handlers
// that rewrite r.URL (such as http.StripPrefix); a client request only has
// r.URL.
func requestTarget(r *http.Request) (path, query string) {
	if uri := r.RequestURI; uri != "" {
		if uri[0] != '/' {
			// Absolute form: scheme://authority/path?query.
			if i := strings.Index(uri, "://"); i >= 0 {
				rest := uri[i+3:]
				j := strings.IndexAny(rest, "/?")
				if j < 0 {
					return "/", ""
				}
				uri = rest[j:]
			}
		}
		path, query, _ = strings.Cut(uri, "?")
		if path == "" {
			path = "/"
		}
		return path, query
	}
	u := r.URL
	if u == nil {
		return "/", ""
	}
	if u.Opaque != "" {
		// As aws-sdk-go-v2 reads a pre-escaped "//host/path" Opaque.
		o := strings.TrimPrefix(u.Opaque, "//")
		if i := strings.IndexByte(o, '?'); i >= 0 {
			o = o[:i]
		}
		if i := strings.IndexByte(o, '/'); i >= 0 {
			path = o[i:]
		}
	} else {
		path = u.EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	return path, u.RawQuery
}

// queryHasSignature reports whether a raw query string carries presigned
// request parameters (X-Amz-Algorithm or X-Amz-Signature).
func queryHasSignature(raw string) bool {
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if strings.IndexByte(seg, ';') >= 0 {
			continue // url.ParseQuery drops these
		}
		k, _, _ := strings.Cut(seg, "=")
		if strings.ContainsAny(k, "%+") {
			var err error
			if k, err = url.QueryUnescape(k); err != nil {
				continue
			}
		}
		if k == "X-Amz-Algorithm" || k == "X-Amz-Signature" {
			return true
		}
	}
	return false
}
