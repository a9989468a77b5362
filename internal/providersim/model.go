package providersim

import (
	"encoding/base64"
	"fmt"
	"time"
)

// User is a simulated person (or, with Type "Organization", a GitHub
// organization). The same login exists on GitHub and Bitbucket.
type User struct {
	Login string
	// Type is "User" or "Organization" (GitHub's account types).
	Type string
	// ID is the numeric GitHub account ID.
	ID    int64
	Name  string
	Email string // also the Atlassian account email for Bitbucket API tokens
	// BitbucketUUID is the Bitbucket account UUID, braces included.
	BitbucketUUID string
	// BitbucketAccountID is the Atlassian account ID.
	BitbucketAccountID string
	// Members lists the logins of an organization's members.
	Members []string
}

// nodeID is the GitHub GraphQL node ID of an account ("04:User1" in
// base64), which REST responses carry as node_id.
func (u *User) nodeID() string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("04:%s%d", u.Type, u.ID)))
}

// AddUser creates a person with generated IDs, name and email
// (login@example.com) and returns it. Adding an existing login returns the
// existing user.
func (s *Sim) AddUser(login string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.addAccount(login, "User")
}

// AddGitHubOrg creates a GitHub organization whose members are the given
// users (created if missing). Installations on it are visible to members
// through GET /user/installations.
func (s *Sim) AddGitHubOrg(login string, members ...string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range members {
		s.addAccount(m, "User")
	}
	org := s.addAccount(login, "Organization")
	org.Members = append(org.Members, members...)
	return *org
}

// User returns the user or organization with that login.
func (s *Sim) User(login string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[login]
	if !ok {
		return User{}, false
	}
	return *u, true
}

func (s *Sim) addAccount(login, typ string) *User {
	if u, ok := s.users[login]; ok {
		return u
	}
	s.nextUserID++
	u := &User{
		Login:              login,
		Type:               typ,
		ID:                 s.nextUserID,
		Name:               login,
		Email:              login + "@example.com",
		BitbucketUUID:      "{" + uuid4() + "}",
		BitbucketAccountID: randHex(24),
	}
	s.users[login] = u
	s.userOrder = append(s.userOrder, login)
	return u
}

// people lists the logins of users (not organizations), in creation order.
func (s *Sim) people() []string {
	var out []string
	for _, l := range s.userOrder {
		if s.users[l].Type == "User" {
			out = append(out, l)
		}
	}
	return out
}

func uuid4() string {
	h := randHex(32)
	b := []byte(h)
	b[12] = '4'
	b[16] = "89ab"[int(b[16])%4]
	h = string(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// tokenKind says which provider issued a token and what it is.
type tokenKind int

const (
	ghPAT          tokenKind = iota + 1 // ghp_: personal access token (classic)
	ghOAuth                             // gho_: OAuth app user token
	ghUser                              // ghu_: GitHub App user access token
	ghRefresh                           // ghr_: refresh token for a ghu_/gho_ token
	ghInstallation                      // ghs_: installation access token
	bbAccess                            // Bitbucket OAuth access token
	bbRefresh                           // Bitbucket OAuth refresh token
	bbAPIToken                          // Bitbucket (Atlassian) API token
)

func (k tokenKind) github() bool { return k >= ghPAT && k <= ghInstallation }

// token is anything the simulator issued that authenticates a caller.
type token struct {
	kind           tokenKind
	login          string // the user it acts for; "" for installation tokens
	clientID       string // the OAuth client (app or consumer) it was issued to
	installationID int64
	scope          string // as returned to the client
	permissions    map[string]string
	repositories   []string // installation tokens down-scoped by name
	repositoryIDs  []int64
	expires        time.Time // zero: never
	revoked        bool
	pair           string // refresh token of an access token, and vice versa
}

// live reports whether t may be used at time now.
func (t *token) live(now time.Time) bool {
	return !t.revoked && !t.expired(now)
}

func (t *token) expired(now time.Time) bool {
	return !t.expires.IsZero() && !now.Before(t.expires)
}

// issue stores a new token with the given prefix and returns its value.
func (s *Sim) issue(prefix string, t *token) string {
	v := prefix + randString(36, alnum)
	s.tokens[v] = t
	return v
}

// RevokeToken makes a token (or refresh token, or API token) unusable: a
// later request with it answers as for an unknown token.
func (s *Sim) RevokeToken(value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[value]; ok {
		t.revoked = true
	}
}

// RevokeAuthorization revokes every token the user holds through an OAuth
// client (GitHub app client ID or Bitbucket consumer key), as when the user
// removes the app's authorization in their settings.
func (s *Sim) RevokeAuthorization(login, clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.login == login && t.clientID == clientID {
			t.revoked = true
		}
	}
	delete(s.grants, login+"\x00"+clientID)
}

// ExpireAccessTokens ends the life of every access token that has one
// (GitHub expiring user tokens and installation tokens, Bitbucket access
// tokens) as of now. Refresh tokens, PATs and API tokens are untouched.
func (s *Sim) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	for _, t := range s.tokens {
		if t.kind == ghRefresh || t.kind == bbRefresh || t.expires.IsZero() {
			continue
		}
		if now.Before(t.expires) {
			t.expires = now
		}
	}
}

// authCode is an OAuth authorization code waiting to be exchanged.
type authCode struct {
	provider    string
	clientID    string
	login       string
	redirectURI string // as given to /authorize; "" if none was given
	scope       string
	challenge   string // PKCE S256 code_challenge
	expires     time.Time
	used        bool
}

// pendingConsent is a consent page that was shown and not yet answered.
type pendingConsent struct {
	provider    string // "github", "bitbucket", "github-install"
	clientID    string
	redirectURI string // where to send the user (already validated)
	givenURI    string // redirect_uri as given, for the code
	state       string
	hasState    bool
	scope       string
	challenge   string
	appID       int64  // install flow
	login       string // who the page was shown to
}

// newPending stores p and returns its ID, which the page posts back.
func (s *Sim) newPending(p *pendingConsent) string {
	id := randString(32, alnum)
	s.pending[id] = p
	return id
}
