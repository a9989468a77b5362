package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"time"
)

const (
	// sessionCookie holds the session id.
	sessionCookie = "openrunner_session"
	// signInCookie holds the token of the sign-in form, which protects
	// sign-in against login CSRF before there is a session.
	signInCookie = "openrunner_signin"
	// cookiePath limits the console's cookies to the console, so the API
	// and the data plane on the same host never receive them.
	cookiePath = "/console/"

	// SessionLifetime is how long a session lasts at most after sign-in.
	SessionLifetime = 12 * time.Hour
	// SessionIdleTimeout ends a session that has not been used for this
	// long; every request made with it starts the period again.
	SessionIdleTimeout = time.Hour

	// maxSessions bounds the in-memory store. Only a person who knows an
	// access key can create sessions, so the bound is a safety net; when it
	// is reached the session closest to expiring is dropped.
	maxSessions = 10000
)

// session is a signed-in browser. The secret access key is never kept:
// only the account it proved and the console's own choices.
type session struct {
	key         string // hash of the cookie value; the store's map key
	accountID   string
	accessKeyID string
	csrf        string
	created     time.Time

	// The fields below change while the session is in use; store.mu
	// guards them.
	lastSeen time.Time
	region   string
	flashes  []flash
	form     createForm
	// handshakes maps the hash of each started handshake's OAuth state to
	// the Region it was started in: the callback must finish it in that
	// Scope even if the person switched Region meanwhile.
	handshakes map[string]string
}

// flash is a one-time message shown on the next page.
type flash struct {
	Kind string // "success" or "error"
	Text string
}

// createForm is what the person typed into the create form, kept so that a
// rejected form comes back filled in.
type createForm struct {
	Name     string
	Provider string
}

// sessionView is a copy of a session's fields, taken under the store's
// lock, that a handler reads without locking.
type sessionView struct {
	key         string
	accountID   string
	accessKeyID string
	csrf        string
	region      string
}

// binding is the value that ties a provider handshake to this browser
// session: derived from the session's key (itself a hash of the cookie
// value), so neither the cookie nor the key leaves the console.
func (s sessionView) binding() string {
	sum := sha256.Sum256([]byte("openrunner console handshake binding\x00" + s.key))
	return hex.EncodeToString(sum[:])
}

// sessionStore keeps sessions in memory. Sessions end when the process
// does, which signs everyone out: acceptable for a console whose sign-in
// is a single form.
type sessionStore struct {
	now func() time.Time
	// shared, when set, keeps the sessions where every server finds them
	// instead of in m.
	shared *sharedSessions

	mu sync.Mutex
	m  map[string]*session
}

func newSessionStore(now func() time.Time) *sessionStore {
	return &sessionStore{now: now, m: map[string]*session{}}
}

// newToken returns 256 random bits, URL-safe base64 encoded.
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// storeKey is the map key of a cookie value. Keeping only a hash means a
// dump of the process's memory does not hand out live cookies, and the map
// lookup never compares secret values.
func storeKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create starts a session and returns the cookie value.
func (st *sessionStore) create(accountID, accessKeyID, region string) (id string, err error) {
	if id, err = newToken(); err != nil {
		return "", err
	}
	csrf, err := newToken()
	if err != nil {
		return "", err
	}
	now := st.now()
	s := &session{
		key: storeKey(id), accountID: accountID, accessKeyID: accessKeyID, csrf: csrf,
		created: now, lastSeen: now, region: region,
	}
	if st.shared != nil {
		return id, st.shared.save(s)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.m) >= maxSessions {
		st.sweepLocked(now)
	}
	if len(st.m) >= maxSessions {
		st.evictOldestLocked()
	}
	st.m[s.key] = s
	return id, nil
}

// expired reports whether s has ended at now.
func (s *session) expired(now time.Time) bool {
	return !now.Before(s.created.Add(SessionLifetime)) || !now.Before(s.lastSeen.Add(SessionIdleTimeout))
}

// sweepLocked drops every ended session.
func (st *sessionStore) sweepLocked(now time.Time) {
	for k, s := range st.m {
		if s.expired(now) {
			delete(st.m, k)
		}
	}
}

// evictOldestLocked drops the session that would end first.
func (st *sessionStore) evictOldestLocked() {
	var oldest *session
	end := func(s *session) time.Time {
		abs, idle := s.created.Add(SessionLifetime), s.lastSeen.Add(SessionIdleTimeout)
		if abs.Before(idle) {
			return abs
		}
		return idle
	}
	for _, s := range st.m {
		if oldest == nil || end(s).Before(end(oldest)) {
			oldest = s
		}
	}
	if oldest != nil {
		delete(st.m, oldest.key)
	}
}

// get returns the live session of the cookie value id and marks it used
// (the idle timeout slides). It reports false for an unknown or ended
// session.
func (st *sessionStore) get(id string) (sessionView, bool) {
	if id == "" {
		return sessionView{}, false
	}
	key := storeKey(id)
	now := st.now()
	if st.shared != nil {
		s := st.shared.load(key)
		if s == nil || s.expired(now) {
			return sessionView{}, false
		}
		s.lastSeen = now
		if st.shared.save(s) != nil {
			return sessionView{}, false
		}
		return sessionView{key: s.key, accountID: s.accountID, accessKeyID: s.accessKeyID, csrf: s.csrf, region: s.region}, true
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[key]
	if !ok {
		return sessionView{}, false
	}
	if s.expired(now) {
		delete(st.m, key)
		return sessionView{}, false
	}
	s.lastSeen = now
	return sessionView{key: s.key, accountID: s.accountID, accessKeyID: s.accessKeyID, csrf: s.csrf, region: s.region}, true
}

// update applies fn to the session with that key, if it still exists.
func (st *sessionStore) update(key string, fn func(*session)) {
	if st.shared != nil {
		if s := st.shared.load(key); s != nil {
			fn(s)
			_ = st.shared.save(s) // logged; the change is lost
		}
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if s, ok := st.m[key]; ok {
		fn(s)
	}
}

// addFlash queues a message for the next page of the session.
func (st *sessionStore) addFlash(key, kind, text string) {
	st.update(key, func(s *session) {
		// A handful is plenty; a loop of failing requests must not grow
		// the session without bound.
		if len(s.flashes) < 5 {
			s.flashes = append(s.flashes, flash{Kind: kind, Text: text})
		}
	})
}

// takePageState removes and returns the session's flashes and kept form.
func (st *sessionStore) takePageState(key string) (flashes []flash, form createForm) {
	st.update(key, func(s *session) {
		flashes, form = s.flashes, s.form
		s.flashes, s.form = nil, createForm{}
	})
	return flashes, form
}

// takeFlashes removes and returns the session's flashes.
func (st *sessionStore) takeFlashes(key string) (flashes []flash) {
	st.update(key, func(s *session) { flashes, s.flashes = s.flashes, nil })
	return flashes
}

// maxHandshakes bounds the handshakes a session remembers; the oldest
// are forgotten first (their callbacks then use the current Region).
const maxHandshakes = 16

// stateKey is how a session remembers an OAuth state.
func stateKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// startHandshake remembers that the handshake with that OAuth state was
// started in region.
func (st *sessionStore) startHandshake(key, state, region string) {
	st.update(key, func(s *session) {
		if s.handshakes == nil {
			s.handshakes = map[string]string{}
		}
		if len(s.handshakes) >= maxHandshakes {
			// Map order is random: any one goes, which is fine for a
			// safety bound nobody reaches by clicking.
			for k := range s.handshakes {
				delete(s.handshakes, k)
				break
			}
		}
		s.handshakes[stateKey(state)] = region
	})
}

// finishHandshake returns the Region the handshake with that OAuth state
// was started in, and forgets it; "" if the session did not start it.
func (st *sessionStore) finishHandshake(key, state string) (region string) {
	st.update(key, func(s *session) {
		k := stateKey(state)
		region = s.handshakes[k]
		delete(s.handshakes, k)
	})
	return region
}

// delete ends a session.
func (st *sessionStore) delete(key string) {
	if st.shared != nil {
		st.shared.delete(key)
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, key)
}

// len reports the number of stored sessions, ended ones included.
func (st *sessionStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.m)
}

// tokenEqual reports whether a form token matches the expected one, in
// constant time. An empty expected token never matches.
func tokenEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// throttle slows down repeated failed sign-ins from one client: each
// failure in a row doubles the delay before the answer, from failDelay up
// to maxFailDelay. A client's record is forgotten after failWindow without
// failures, or at its next successful sign-in.
type throttle struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

const (
	failDelay    = 250 * time.Millisecond
	maxFailDelay = 8 * time.Second
	failWindow   = 15 * time.Minute
	// maxThrottled bounds the clients tracked; past it, the untracked ones
	// share a single record, which only slows them down more.
	maxThrottled = 10000
)

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, m: map[string]*failures{}}
}

// fail records a failed sign-in from client and returns how long to wait
// before answering it.
func (t *throttle) fail(client string) time.Duration {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.m[client]
	if !ok {
		if len(t.m) >= maxThrottled {
			for k, v := range t.m {
				if now.Sub(v.last) >= failWindow {
					delete(t.m, k)
				}
			}
		}
		if len(t.m) >= maxThrottled {
			client = "*"
		}
		if f = t.m[client]; f == nil {
			f = &failures{}
			t.m[client] = f
		}
	}
	if now.Sub(f.last) >= failWindow {
		f.n = 0
	}
	f.n++
	f.last = now
	d := failDelay << min(f.n-1, 6)
	return min(d, maxFailDelay)
}

// succeed forgets client's failures.
func (t *throttle) succeed(client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, client)
}

// clientKey identifies the client of r for throttling: its IP address.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
