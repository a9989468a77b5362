// Package vault keeps OpenRunner's secrets: the data directory's master key,
// authenticated encryption of provider tokens at rest (AES-256-GCM), and
// keys derived from the master key for other purposes (such as signing
// pagination tokens).
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the master key's file name in the data directory.
const KeyFile = "secret.key"

// ErrWrongKey means a sealed value was not sealed with this vault's key: the
// data directory was copied without its key file, or the key was replaced.
var ErrWrongKey = errors.New("vault: the secret cannot be decrypted with this data directory's key (was the data directory copied without " + KeyFile + ", or OPENRUNNER_SECRET_KEY changed?)")

// LoadOrCreateKey returns the 32-byte master key. A non-empty override (hex
// or standard base64 of 32 bytes, as given in OPENRUNNER_SECRET_KEY) wins;
// otherwise the key is read from dir/secret.key, which is created with mode
// 0600 on first use. The new file is written atomically (temporary file,
// fsync, rename), so a crash never leaves a truncated key behind.
func LoadOrCreateKey(dir, override string) ([]byte, error) {
	if override != "" {
		return parseKey(override)
	}
	path := filepath.Join(dir, KeyFile)
	buf, err := os.ReadFile(path)
	if err == nil {
		return parseKey(string(buf))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".secret.key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// Link, not rename: if another process created the key meanwhile, keep
	// theirs rather than replacing a key that may already seal data.
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(dir, "")
	} else if err != nil {
		return nil, err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return key, nil
}

func parseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, fmt.Errorf("vault: the secret key must be 32 bytes written as 64 hex digits or base64")
}

// DeriveKey returns a 32-byte key for one purpose, derived from the master
// key with HMAC-SHA256, so that no two uses share key material.
func DeriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("openrunner/" + purpose))
	return m.Sum(nil)
}

// Vault seals and opens secrets with AES-256-GCM.
type Vault struct {
	aead cipher.AEAD
}

// New returns a Vault using a key derived from the master key.
func New(master []byte) (*Vault, error) {
	block, err := aes.NewCipher(DeriveKey(master, "vault"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Vault{aead: aead}, nil
}

// Seal encrypts plaintext, binding it to context (for example the ARN of the
// connection that owns it) so a sealed value cannot be moved to another
// record. The result is nonce || ciphertext || tag.
func (v *Vault) Seal(plaintext []byte, context string) []byte {
	nonce := make([]byte, v.aead.NonceSize(), v.aead.NonceSize()+len(plaintext)+v.aead.Overhead())
	_, _ = rand.Read(nonce)
	return v.aead.Seal(nonce, nonce, plaintext, []byte(context))
}

// Open decrypts a value made by Seal with the same context. It returns
// ErrWrongKey if the value was sealed under another key or context, or was
// altered.
func (v *Vault) Open(sealed []byte, context string) ([]byte, error) {
	n := v.aead.NonceSize()
	if len(sealed) < n+v.aead.Overhead() {
		return nil, ErrWrongKey
	}
	pt, err := v.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, ErrWrongKey
	}
	return pt, nil
}
