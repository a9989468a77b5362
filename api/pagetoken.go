package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"github.com/openrunner/openrunner"
)

// PageTokens makes and checks NextToken values. A token is opaque to
// clients but tamper-evident: it carries the position to continue after and
// an HMAC over that position, the operation, the caller's account and Region
// and the query's filters, so a token cannot be forged, altered, or replayed
// against another query or account.
type PageTokens struct {
	key []byte
}

// NewPageTokens returns PageTokens signing with key (32 bytes; derive it from
// the data directory's master key).
func NewPageTokens(key []byte) *PageTokens {
	return &PageTokens{key: key}
}

const macLen = 16

// Make returns the NextToken for continuing query after position after.
func (p *PageTokens) Make(scope openrunner.Scope, op string, query []string, after int64) string {
	var buf [8 + macLen]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(after))
	copy(buf[8:], p.mac(scope, op, query, buf[:8]))
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

// Parse returns the position a token made by Make for the same scope,
// operation and query continues after. Any other token is EINVALID.
func (p *PageTokens) Parse(scope openrunner.Scope, op string, query []string, token string) (int64, error) {
	buf, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(buf) != 8+macLen || !hmac.Equal(buf[8:], p.mac(scope, op, query, buf[:8])) {
		return 0, errBadToken
	}
	return int64(binary.BigEndian.Uint64(buf[:8])), nil
}

func (p *PageTokens) mac(scope openrunner.Scope, op string, query []string, pos []byte) []byte {
	m := hmac.New(sha256.New, p.key)
	// Length-prefixed fields: no two different queries share an encoding.
	for _, f := range append([]string{scope.AccountID, scope.Region, op}, query...) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		m.Write(n[:])
		m.Write([]byte(f))
	}
	m.Write(pos)
	return m.Sum(nil)[:macLen]
}

// queryKey renders an optional filter for binding into a token; absent and
// empty are different queries.
func queryKey(s *string) string {
	if s == nil {
		return "\x00"
	}
	return "=" + *s
}

// MakeString returns a NextToken carrying an opaque position (such as a log
// cursor), signed like Make's.
func (p *PageTokens) MakeString(scope openrunner.Scope, op string, query []string, pos string) string {
	buf := append([]byte(pos), p.mac(scope, op, query, []byte(pos))...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// ParseString returns the position of a token made by MakeString for the
// same scope, operation and query. Any other token is EINVALID.
func (p *PageTokens) ParseString(scope openrunner.Scope, op string, query []string, token string) (string, error) {
	buf, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(buf) < macLen {
		return "", errBadToken
	}
	pos, mac := buf[:len(buf)-macLen], buf[len(buf)-macLen:]
	if !hmac.Equal(mac, p.mac(scope, op, query, pos)) {
		return "", errBadToken
	}
	return string(pos), nil
}

var errBadToken = openrunner.Errorf(openrunner.EINVALID,
	"The NextToken you specified isn't valid. Use the NextToken from the previous response, with the same request parameters.")
