package console

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/openrunner/openrunner"
)

// sessionKind is the kind of the shared records of console sessions.
const sessionKind = "console-session"

// sessionRecord is a session as the shared store keeps it, under the hash
// of its cookie value (session.key): the cookie itself is never stored, so
// a copy of the database signs nobody in.
type sessionRecord struct {
	AccountID   string            `json:"account_id"`
	AccessKeyID string            `json:"access_key_id"`
	CSRF        string            `json:"csrf"`
	Created     time.Time         `json:"created"`
	LastSeen    time.Time         `json:"last_seen"`
	Region      string            `json:"region"`
	Flashes     []flash           `json:"flashes,omitempty"`
	Form        createForm        `json:"form"`
	Handshakes  map[string]string `json:"handshakes,omitempty"`
}

// sharedSessions keeps sessions in a store every server shares, so a
// browser stays signed in whichever server its requests reach. Each
// change is a read and a write of the session's record; of two changes of
// one session at once, the last one written wins (a lost flash message at
// worst).
type sharedSessions struct {
	store  openrunner.EphemeralService
	logger *slog.Logger
}

func (sh *sharedSessions) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// load returns the session with that key, nil when there is none.
func (sh *sharedSessions) load(key string) *session {
	ctx, cancel := sh.ctx()
	defer cancel()
	buf, err := sh.store.FindEphemeral(ctx, sessionKind, key)
	if err != nil {
		sh.logger.Warn("console: the session store does not answer", "error", err)
		return nil
	}
	var r sessionRecord
	if buf == nil || json.Unmarshal(buf, &r) != nil {
		return nil
	}
	return &session{key: key, accountID: r.AccountID, accessKeyID: r.AccessKeyID, csrf: r.CSRF, created: r.Created,
		lastSeen: r.LastSeen, region: r.Region, flashes: r.Flashes, form: r.Form, handshakes: r.Handshakes}
}

// save stores s until it would end.
func (sh *sharedSessions) save(s *session) error {
	buf, err := json.Marshal(sessionRecord{AccountID: s.accountID, AccessKeyID: s.accessKeyID, CSRF: s.csrf, Created: s.created,
		LastSeen: s.lastSeen, Region: s.region, Flashes: s.flashes, Form: s.form, Handshakes: s.handshakes})
	if err != nil {
		return err
	}
	end := s.created.Add(SessionLifetime)
	if idle := s.lastSeen.Add(SessionIdleTimeout); idle.Before(end) {
		end = idle
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	if err := sh.store.PutEphemeral(ctx, sessionKind, s.key, buf, end); err != nil {
		sh.logger.Warn("console: the session store does not answer", "error", err)
		return err
	}
	return nil
}

func (sh *sharedSessions) delete(key string) {
	ctx, cancel := sh.ctx()
	defer cancel()
	if err := sh.store.DeleteEphemeral(ctx, sessionKind, key); err != nil {
		sh.logger.Warn("console: the session store does not answer", "error", err)
	}
}
