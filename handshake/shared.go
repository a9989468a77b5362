package handshake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/openrunner/openrunner"
)

// pendingKind is the kind of the shared records of started handshakes.
const pendingKind = "handshake"

// sharedPending is a pendingHandshake as the shared store keeps it, sealed
// by the vault (it holds the PKCE verifier) and keyed by a hash of the
// state, so neither the state nor the verifier is readable in the database.
type sharedPending struct {
	Scope    openrunner.Scope `json:"scope"`
	ARN      string           `json:"arn"`
	Provider string           `json:"provider"`
	Binding  []byte           `json:"binding"`
	Verifier string           `json:"verifier"`
	Expires  time.Time        `json:"expires"`
}

func pendingKey(state string) string {
	sum := sha256.Sum256([]byte("openrunner handshake state\x00" + state))
	return hex.EncodeToString(sum[:])
}

// putShared stores a started handshake where every server finds it.
func (s *Service) putShared(ctx context.Context, state string, p *pendingHandshake) error {
	buf, err := json.Marshal(sharedPending{Scope: p.scope, ARN: p.arn, Provider: p.provider, Binding: p.binding[:], Verifier: p.verifier, Expires: p.expires})
	if err != nil {
		return err
	}
	key := pendingKey(state)
	return s.shared.PutEphemeral(ctx, pendingKind, key, s.vault.Seal(buf, pendingKind+"/"+key), p.expires)
}

// takeShared removes and returns the started handshake of state, nil when
// no server has it. Only one caller gets it: a state is used once.
func (s *Service) takeShared(state string) *pendingHandshake {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key := pendingKey(state)
	sealed, err := s.shared.TakeEphemeral(ctx, pendingKind, key)
	if err != nil || sealed == nil {
		if err != nil {
			s.log.Warn("handshake: the shared store does not answer", "error", err)
		}
		return nil
	}
	buf, err := s.vault.Open(sealed, pendingKind+"/"+key)
	if err != nil {
		return nil
	}
	var sp sharedPending
	if err := json.Unmarshal(buf, &sp); err != nil || len(sp.Binding) != sha256.Size {
		return nil
	}
	p := &pendingHandshake{scope: sp.Scope, arn: sp.ARN, provider: sp.Provider, verifier: sp.Verifier, expires: sp.Expires}
	copy(p.binding[:], sp.Binding)
	return p
}
