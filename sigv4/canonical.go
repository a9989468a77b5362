package sigv4

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// scratch holds the buffers of one verification; it is pooled so that
// verifying a request does not allocate.
type scratch struct {
	canon   []byte   // the canonical request
	query   []byte   // the canonical query string
	qbuf    []byte   // encoded query parameters, before sorting
	qpairs  []qpair  // offsets into qbuf
	sts     []byte   // HMAC inner pad followed by the string to sign
	tmp     []string // one-element value slice for the host header
	payload []byte   // a payload hash sent by the client
}

// qpair locates an encoded name=value pair in scratch.qbuf: the name is
// qbuf[start:eq], the value qbuf[eq+1:end].
type qpair struct{ start, eq, end int }

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
		canon: make([]byte, 0, 1024),
		sts:   make([]byte, 0, 256),
		tmp:   make([]string, 1),
	}
}}

// maxPooledBuffer keeps unusually large buffers out of the pool.
const maxPooledBuffer = 64 << 10

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	if cap(s.canon) > maxPooledBuffer || cap(s.qbuf) > maxPooledBuffer || cap(s.query) > maxPooledBuffer ||
		cap(s.sts) > maxPooledBuffer || cap(s.qpairs) > maxPooledBuffer/8 {
		return
	}
	scratchPool.Put(s)
}

// unreserved reports whether c is an RFC 3986 unreserved character, the only
// characters SigV4 leaves unescaped.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const upperhex = "0123456789ABCDEF"

func appendEscaped(dst []byte, c byte) []byte {
	if unreserved(c) {
		return append(dst, c)
	}
	return append(dst, '%', upperhex[c>>4], upperhex[c&15])
}

// appendCanonicalURI appends the canonical URI of a non-S3 service: the
// request path as sent (already percent-encoded once) encoded once more,
// leaving only unreserved characters and '/' as they are. This is what
// aws-sdk-go-v2 (httpbinding.EscapePath) and botocore (quote(path, safe='/~'))
// do.
func appendCanonicalURI(dst []byte, path string) []byte {
	if path == "" {
		return append(dst, '/')
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c == '/' {
			dst = append(dst, c)
		} else {
			dst = appendEscaped(dst, c)
		}
	}
	return dst
}

// normalizePath removes "." and ".." segments and empty segments (repeated
// slashes) from an escaped path, keeping a leading and trailing slash, as
// botocore and the JavaScript and Java SDKs do before signing for services
// other than S3.
func normalizePath(p string) string {
	if p == "" {
		return "/"
	}
	segs := make([]string, 0, strings.Count(p, "/")+1)
	for rest := p; ; {
		seg, tail, more := strings.Cut(rest, "/")
		switch seg {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, seg)
		}
		if !more {
			break
		}
		rest = tail
	}
	var b strings.Builder
	b.Grow(len(p))
	if p[0] == '/' {
		b.WriteByte('/')
	}
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(s)
	}
	if p[len(p)-1] == '/' && len(segs) > 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// appendQueryComponent decodes s the way url.QueryUnescape does ('+' is a
// space) and appends it encoded the SigV4 way (RFC 3986, upper-case hex,
// space as %20). It reports false if s has a malformed escape.
func appendQueryComponent(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '+':
			dst = append(dst, "%20"...)
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return dst, false
			}
			dst = appendEscaped(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = appendEscaped(dst, c)
		}
	}
	return dst, true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// canonicalQuery computes the canonical query string of raw into s.query:
// every parameter decoded and re-encoded per RFC 3986, sorted by encoded name
// and then value, "name=value" joined with '&'. Parameters that Go's
// url.ParseQuery drops (containing ';' or a malformed escape) are dropped
// here too, so the canonical query covers exactly what the handler sees, and
// matches what aws-sdk-go-v2 signs. When presigned, X-Amz-Signature is left
// out.
func (s *scratch) canonicalQuery(raw string, presigned bool) {
	s.query = s.query[:0]
	if raw == "" {
		return
	}
	s.qbuf, s.qpairs = s.qbuf[:0], s.qpairs[:0]
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if seg == "" || strings.IndexByte(seg, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		start := len(s.qbuf)
		buf, ok := appendQueryComponent(s.qbuf, k)
		if !ok {
			s.qbuf = buf[:start]
			continue
		}
		eq := len(buf)
		if presigned && string(buf[start:eq]) == "X-Amz-Signature" {
			s.qbuf = buf[:start]
			continue
		}
		buf = append(buf, '=')
		buf, ok = appendQueryComponent(buf, v)
		if !ok {
			s.qbuf = buf[:start]
			continue
		}
		s.qbuf = buf
		s.qpairs = append(s.qpairs, qpair{start, eq, len(buf)})
	}
	q := s.qbuf
	slices.SortFunc(s.qpairs, func(a, b qpair) int {
		if c := bytes.Compare(q[a.start:a.eq], q[b.start:b.eq]); c != 0 {
			return c
		}
		return bytes.Compare(q[a.eq+1:a.end], q[b.eq+1:b.end])
	})
	for i, p := range s.qpairs {
		if i > 0 {
			s.query = append(s.query, '&')
		}
		s.query = append(s.query, q[p.start:p.end]...)
	}
}

// headerValues returns the values of header name (any case) in h, without
// allocating for names of ordinary length.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h[textproto.CanonicalMIMEHeaderKey(name)]
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !validHeaderFieldByte(c) {
			// textproto leaves such names as they are.
			return h[name]
		}
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
		upper = c == '-'
	}
	return h[string(buf[:len(name)])]
}

// validHeaderFieldByte reports whether c may appear in a header name (an
// RFC 7230 tchar), like net/textproto's function of the same name.
func validHeaderFieldByte(c byte) bool { return tchar[c] }

var tchar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// firstHeader returns the first value of a header given in canonical form.
func firstHeader(h http.Header, canonicalName string) string {
	if v := h[canonicalName]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// appendHeaderValue appends v trimmed of surrounding white space and with
// runs of spaces collapsed to one, as the SigV4 Trimall function specifies.
func appendHeaderValue(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendCanonicalHeaders appends one "name:value\n" line per name in the
// SignedHeaders list, in the order given. host comes from the request's
// Host; several values of a header are joined with ','.
func (s *scratch) appendCanonicalHeaders(dst []byte, r *http.Request, host, signed string) []byte {
	for signed != "" {
		var name string
		name, signed, _ = strings.Cut(signed, ";")
		dst = append(dst, name...)
		dst = append(dst, ':')
		var values []string
		switch {
		case strings.EqualFold(name, "host"):
			s.tmp[0] = host
			values = s.tmp
		default:
			values = headerValues(r.Header, name)
			if len(values) == 0 && r.ContentLength > 0 && strings.EqualFold(name, "content-length") {
				// Requests built by clients (rather than received by a
				// server) keep the length only in ContentLength.
				dst = strconv.AppendInt(dst, r.ContentLength, 10)
			}
		}
		for i, v := range values {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendHeaderValue(dst, v)
		}
		dst = append(dst, '\n')
	}
	return dst
}

// canonicalRequest builds the canonical request into s.canon; the canonical
// query must already be in s.query.
func (s *scratch) canonicalRequest(r *http.Request, method, path, host, signedHeaders string, payloadHash []byte) {
	b := s.canon[:0]
	b = append(b, method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, path)
	b = append(b, '\n')
	b = append(b, s.query...)
	b = append(b, '\n')
	b = s.appendCanonicalHeaders(b, r, host, signedHeaders)
	b = append(b, '\n')
	b = append(b, signedHeaders...)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	s.canon = b
}

// signature computes the hex signature of the canonical request in s.canon:
// HMAC-SHA256(key, string to sign), with the string to sign
//
//	AWS4-HMAC-SHA256 \n amzDate \n scope \n hex(sha256(canonical request))
func (s *scratch) signature(key *[32]byte, amzDate, scope string) [64]byte {
	crHash := sha256.Sum256(s.canon)
	// HMAC (RFC 2104) with a 32-byte key, computed with sha256.Sum256 over
	// contiguous buffers so that nothing escapes to the heap.
	b := s.sts[:0]
	for i := 0; i < 64; i++ {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		b = append(b, k^0x36)
	}
	b = append(b, algorithm...)
	b = append(b, '\n')
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, crHash[:])
	s.sts = b
	inner := sha256.Sum256(b)
	var outer [64 + sha256.Size]byte
	for i := 0; i < 64; i++ {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		outer[i] = k ^ 0x5c
	}
	copy(outer[64:], inner[:])
	mac := sha256.Sum256(outer[:])
	var out [64]byte
	hex.Encode(out[:], mac[:])
	return out
}

// equalSignature compares a computed hex signature with the one the client
// sent in constant time (the length of a signature is not secret).
func equalSignature(want *[64]byte, got string) bool {
	if len(got) != len(want) {
		return false
	}
	var g [64]byte
	copy(g[:], got)
	return subtle.ConstantTimeCompare(want[:], g[:]) == 1
}
