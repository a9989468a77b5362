package providersim

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// GitHub's answers to a bad app JWT, as GitHub words them (401 bodies).
const (
	msgJWTUndecodable = "A JSON web token could not be decoded"
	msgJWTIatInvalid  = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	msgJWTExpInvalid  = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	msgJWTExpTooFar   = "'Expiration time' claim ('exp') is too far in the future"
)

// jwtMaxLifetime is how far in the future exp may be: "no more than 10
// minutes into the future".
const jwtMaxLifetime = 10 * time.Minute

// jwtClaims are the parsed, still unverified claims of an app JWT.
type jwtClaims struct {
	iss    string
	iat    json.RawMessage
	exp    json.RawMessage
	signed []byte // header.payload
	sig    []byte
}

// parseAppJWT decodes an RS256 JWT without verifying it. ok is false when
// the token is not a decodable RS256 JWT.
func parseAppJWT(raw string) (c jwtClaims, ok bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return c, false
	}
	hdr, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	payload, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return c, false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdr, &h) != nil || h.Alg != "RS256" {
		return c, false
	}
	var p map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	if d.Decode(&p) != nil {
		return c, false
	}
	// iss may be the numeric app ID, the app ID as a string, or the
	// client ID ("The client ID or application ID of your GitHub App").
	if iss, ok := p["iss"]; ok {
		var str string
		if json.Unmarshal(iss, &str) == nil {
			c.iss = str
		} else {
			c.iss = strings.TrimSpace(string(iss))
		}
	}
	c.iat, c.exp = p["iat"], p["exp"]
	c.signed = []byte(parts[0] + "." + parts[1])
	c.sig = sig
	return c, true
}

// verify checks the RS256 signature with key.
func (c jwtClaims) verify(key *rsa.PublicKey) bool {
	sum := sha256.Sum256(c.signed)
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], c.sig) == nil
}

// checkTimes applies GitHub's documented time rules at now and returns
// GitHub's message for the first one broken, or "".
func (c jwtClaims) checkTimes(now time.Time) string {
	iat, ok := jsonInt(c.iat)
	// A small allowance for clock drift between signer and simulator;
	// GitHub recommends back-dating iat by 60 s for the same reason.
	if !ok || iat > now.Add(60*time.Second).Unix() {
		return msgJWTIatInvalid
	}
	exp, ok := jsonNumber(c.exp)
	if !ok || exp <= float64(now.Unix()) {
		return msgJWTExpInvalid
	}
	if exp > float64(now.Add(jwtMaxLifetime).Unix()) {
		return msgJWTExpTooFar
	}
	return ""
}

// jsonInt reads an integral JSON number.
func jsonInt(raw json.RawMessage) (int64, bool) {
	if raw == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// jsonNumber reads any JSON number.
func jsonNumber(raw json.RawMessage) (float64, bool) {
	if raw == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}
