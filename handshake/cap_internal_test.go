package handshake

import (
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// TestPendingCapPerAccount: one account starting many handshakes only
// displaces its own oldest ones, never another account's.
func TestPendingCapPerAccount(t *testing.T) {
	s := &Service{pending: map[string]*pendingHandshake{}}
	now := time.Unix(1_800_000_000, 0)
	other := &pendingHandshake{scope: openrunner.Scope{AccountID: "222222222222", Region: "us-east-1"}, expires: now.Add(time.Minute)}
	s.pending["other"] = other
	for i := range maxPendingPerAccount + 50 {
		s.capAccountLocked("111111111111")
		s.pending[string(rune('a'+i%26))+time.Duration(i).String()] = &pendingHandshake{
			scope: openrunner.Scope{AccountID: "111111111111", Region: "us-east-1"}, expires: now.Add(time.Duration(i) * time.Second),
		}
	}
	n := 0
	for _, p := range s.pending {
		if p.scope.AccountID == "111111111111" {
			n++
		}
	}
	if n != maxPendingPerAccount {
		t.Fatalf("account has %d pending handshakes, want %d", n, maxPendingPerAccount)
	}
	if s.pending["other"] != other {
		t.Fatal("another account's handshake was evicted")
	}
}
