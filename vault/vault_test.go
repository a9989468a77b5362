package vault_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/openrunner/openrunner/vault"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := vault.LoadOrCreateKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, vault.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("key file mode = %o, want 600", got)
	}
	k2, err := vault.LoadOrCreateKey(dir, "")
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load = %x, %v; want the same key", k2, err)
	}
	override := "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	k3, err := vault.LoadOrCreateKey(dir, override)
	if err != nil || k3[31] != 0x1f {
		t.Fatalf("override = %x, %v", k3, err)
	}
	if _, err := vault.LoadOrCreateKey(dir, "too-short"); err == nil {
		t.Fatal("a malformed override must fail")
	}
}

func TestSealOpen(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 32)
	v, err := vault.New(master)
	if err != nil {
		t.Fatal(err)
	}
	sealed := v.Seal([]byte("ghp_secret"), "arn:a")
	if bytes.Contains(sealed, []byte("ghp_secret")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := v.Open(sealed, "arn:a")
	if err != nil || string(got) != "ghp_secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := v.Open(sealed, "arn:b"); !errors.Is(err, vault.ErrWrongKey) {
		t.Fatalf("other context: %v, want ErrWrongKey", err)
	}
	other, _ := vault.New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(sealed, "arn:a"); !errors.Is(err, vault.ErrWrongKey) {
		t.Fatalf("other key: %v, want ErrWrongKey", err)
	}
	if _, err := v.Open(sealed[:5], "arn:a"); !errors.Is(err, vault.ErrWrongKey) {
		t.Fatalf("truncated: %v, want ErrWrongKey", err)
	}
}
