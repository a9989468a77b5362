package handshake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/vault"
)

// TestSecret checks that a secret never renders its value through fmt,
// slog or encoding/json, even inside a struct.
func TestSecret(t *testing.T) {
	const value = "gho_secretvalue1234567890"
	s := secret(value)
	c := credential{Kind: kindOAuth, AccessToken: s, RefreshToken: s}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "tok", s, "cred", c)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "tok", s, "cred", c)
	j, _ := json.Marshal(c)
	out := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %X %d", s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", c, c, &c), logs.String(), string(j),
	}
	for _, o := range out {
		if strings.Contains(o, value) || strings.Contains(o, fmt.Sprintf("%x", value)) {
			t.Errorf("secret shown: %s", o)
		}
	}
	if !strings.Contains(out[0], redacted) {
		t.Errorf("got %q, want %s", out[0], redacted)
	}
}

// TestSealBinding checks that a sealed credential opens only for the
// connection it was sealed for.
func TestSealBinding(t *testing.T) {
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	const arnA, arnB = "arn:aws:apprunner:us-east-1:111111111111:connection/a/1", "arn:aws:apprunner:us-east-1:111111111111:connection/b/2"
	want := &credential{Kind: kindOAuth, AccessToken: "a", RefreshToken: "r", Expiry: time.Unix(1e9, 0).UTC(), InstallationID: 7}
	sealed, err := seal(v, arnA, want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := unseal(v, arnA, sealed)
	if err != nil || *got != *want {
		t.Fatalf("got %+v, %v", got, err)
	}
	_, err = unseal(v, arnB, sealed)
	if openrunner.ErrorCode(err) != openrunner.EINTERNAL || !strings.Contains(openrunner.ErrorMessage(err), "cannot be decrypted") {
		t.Fatalf("moved credential: %v", err)
	}
}
