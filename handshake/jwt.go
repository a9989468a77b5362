package handshake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"time"
)

// parseRSAKey reads a GitHub App private key: PEM, PKCS#1 ("RSA PRIVATE
// KEY", what GitHub hands out) or PKCS#8 ("PRIVATE KEY"). Errors never
// quote the key.
func parseRSAKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("the GitHub App private key is not PEM")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the GitHub App private key is not a valid PKCS#1 RSA key")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the GitHub App private key is not a valid PKCS#8 key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("the GitHub App private key must be an RSA key (GitHub signs app JWTs with RS256)")
		}
		return rk, nil
	default:
		return nil, errors.New("the GitHub App private key must be a PEM block of type RSA PRIVATE KEY or PRIVATE KEY")
	}
}

// appJWT returns a GitHub App JWT signed with RS256. GitHub documents: iat
// in the past (60 s recommended, against clock drift), exp at most 10
// minutes ahead, iss the app ID.
func appJWT(key *rsa.PrivateKey, appID int64, now time.Time) (string, error) {
	enc := base64.RawURLEncoding
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	payload, err := json.Marshal(map[string]int64{
		"iat": now.Add(-60 * time.Second).Unix(),
		// 9 minutes, not 10: a signer clock slightly ahead of GitHub's
		// would otherwise produce "exp is too far in the future".
		"exp": now.Add(9 * time.Minute).Unix(),
		"iss": appID,
	})
	if err != nil {
		return "", err
	}
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}
