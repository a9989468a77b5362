package providersim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ghToken authenticates a REST request with a token (Bearer, token or
// Basic with the token as password). It writes GitHub's 401 and returns
// nil when the token is missing, unknown, revoked or expired.
func (s *Sim) ghToken(w http.ResponseWriter, r *http.Request, doc string) *token {
	scheme, _, secret := credential(r)
	if scheme == "" {
		ghError(w, http.StatusUnauthorized, msgRequiresAuth, doc)
		return nil
	}
	t, ok := s.tokens[secret]
	if !ok || !t.kind.github() || t.kind == ghRefresh || !t.live(s.clock()) {
		ghError(w, http.StatusUnauthorized, msgBadCredentials, ghDocsREST)
		return nil
	}
	return t
}

func (s *Sim) ghGetUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.ghToken(w, r, ghDocsGetUser)
	if t == nil {
		return
	}
	if t.kind == ghInstallation {
		markAuth(r, fmt.Sprintf("installation:%d", t.installationID))
		ghError(w, http.StatusForbidden, msgNotAccessibleByApp, ghDocsGetUser)
		return
	}
	markAuth(r, t.login)
	if t.kind == ghOAuth || t.kind == ghPAT {
		w.Header().Set("X-OAuth-Scopes", strings.ReplaceAll(t.scope, ",", ", "))
	}
	writeJSON(w, http.StatusOK, s.ghAccountJSON(s.users[t.login], true))
}

// ghAccountJSON renders a user or organization as the REST API does.
func (s *Sim) ghAccountJSON(u *User, full bool) map[string]any {
	api, web := s.GitHubAPIURL(), s.GitHubURL()
	kind := "users"
	m := map[string]any{
		"login":               u.Login,
		"id":                  u.ID,
		"node_id":             u.nodeID(),
		"avatar_url":          fmt.Sprintf("%s/avatars/u/%d?v=4", web, u.ID),
		"gravatar_id":         "",
		"url":                 fmt.Sprintf("%s/%s/%s", api, kind, u.Login),
		"html_url":            web + "/" + u.Login,
		"followers_url":       fmt.Sprintf("%s/users/%s/followers", api, u.Login),
		"following_url":       fmt.Sprintf("%s/users/%s/following{/other_user}", api, u.Login),
		"gists_url":           fmt.Sprintf("%s/users/%s/gists{/gist_id}", api, u.Login),
		"starred_url":         fmt.Sprintf("%s/users/%s/starred{/owner}{/repo}", api, u.Login),
		"subscriptions_url":   fmt.Sprintf("%s/users/%s/subscriptions", api, u.Login),
		"organizations_url":   fmt.Sprintf("%s/users/%s/orgs", api, u.Login),
		"repos_url":           fmt.Sprintf("%s/users/%s/repos", api, u.Login),
		"events_url":          fmt.Sprintf("%s/users/%s/events{/privacy}", api, u.Login),
		"received_events_url": fmt.Sprintf("%s/users/%s/received_events", api, u.Login),
		"type":                u.Type,
		"user_view_type":      "public",
		"site_admin":          false,
	}
	if full {
		m["name"] = u.Name
		m["company"] = nil
		m["blog"] = ""
		m["location"] = nil
		m["email"] = u.Email
		m["hireable"] = nil
		m["bio"] = nil
		m["twitter_username"] = nil
		m["public_repos"] = 0
		m["public_gists"] = 0
		m["followers"] = 0
		m["following"] = 0
		m["created_at"] = "2011-01-25T18:44:36Z"
		m["updated_at"] = "2011-01-25T18:44:36Z"
	}
	return m
}

func (s *Sim) installationJSON(in *installation) map[string]any {
	acct := s.users[in.Account]
	html := fmt.Sprintf("%s/settings/installations/%d", s.GitHubURL(), in.ID)
	if acct.Type == "Organization" {
		html = fmt.Sprintf("%s/organizations/%s/settings/installations/%d", s.GitHubURL(), acct.Login, in.ID)
	}
	slug := ""
	if app, ok := s.ghApps[in.AppID]; ok {
		slug = app.Slug
	}
	ts := in.CreatedAt.Format(time.RFC3339)
	return map[string]any{
		"id":                        in.ID,
		"account":                   s.ghAccountJSON(acct, false),
		"repository_selection":      in.RepositorySelection,
		"access_tokens_url":         fmt.Sprintf("%s/app/installations/%d/access_tokens", s.GitHubAPIURL(), in.ID),
		"repositories_url":          s.GitHubAPIURL() + "/installation/repositories",
		"html_url":                  html,
		"app_id":                    in.AppID,
		"app_slug":                  slug,
		"target_id":                 acct.ID,
		"target_type":               acct.Type,
		"permissions":               in.Permissions,
		"events":                    in.Events,
		"created_at":                ts,
		"updated_at":                ts,
		"single_file_name":          nil,
		"has_multiple_single_files": false,
		"single_file_paths":         []string{},
		"suspended_by":              nil,
		"suspended_at":              nil,
	}
}

func (s *Sim) ghUserInstallations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.ghToken(w, r, ghDocsListUserInst)
	if t == nil {
		return
	}
	switch t.kind {
	case ghInstallation:
		markAuth(r, fmt.Sprintf("installation:%d", t.installationID))
		ghError(w, http.StatusForbidden, msgNotAccessibleByApp, ghDocsListUserInst)
		return
	case ghUser:
	default:
		markAuth(r, t.login)
		ghError(w, http.StatusForbidden, msgNoAppUserToken, ghDocsListUserInst)
		return
	}
	markAuth(r, t.login)
	appID := s.ghClients[t.clientID].appID
	var list []*installation
	for _, in := range s.installations {
		acct := s.users[in.Account]
		if in.AppID == appID && (in.Account == t.login || slices.Contains(acct.Members, t.login)) {
			list = append(list, in)
		}
	}
	slices.SortFunc(list, func(a, b *installation) int { return int(a.ID - b.ID) })
	out := make([]map[string]any, 0, len(list))
	for _, in := range list {
		out = append(out, s.installationJSON(in))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(out), "installations": out})
}

// ghAppJWT authenticates a request as a GitHub App by its JWT. It writes
// GitHub's error and returns nil when the JWT is missing or not accepted.
func (s *Sim) ghAppJWT(w http.ResponseWriter, r *http.Request) *ghApp {
	scheme, _, raw := credential(r)
	// "if you are passing a JSON web token (JWT), you must use
	// Authorization: Bearer".
	if scheme != "bearer" {
		ghError(w, http.StatusUnauthorized, msgJWTUndecodable, ghDocsREST)
		return nil
	}
	c, ok := parseAppJWT(raw)
	if !ok {
		ghError(w, http.StatusUnauthorized, msgJWTUndecodable, ghDocsREST)
		return nil
	}
	var app *ghApp
	for _, a := range s.ghApps {
		if c.iss == strconv.FormatInt(a.ID, 10) || c.iss == a.ClientID {
			app = a
		}
	}
	if app == nil {
		// An iss naming no app: status and text as seen in public
		// reports, not in the docs (UNCONFIRMED).
		ghError(w, http.StatusNotFound, "Integration not found", ghDocsREST)
		return nil
	}
	if !c.verify(app.PublicKey) {
		ghError(w, http.StatusUnauthorized, msgJWTUndecodable, ghDocsREST)
		return nil
	}
	if msg := c.checkTimes(s.clock()); msg != "" {
		ghError(w, http.StatusUnauthorized, msg, ghDocsREST)
		return nil
	}
	markAuth(r, fmt.Sprintf("app:%d", app.ID))
	return app
}

func (s *Sim) ghGetApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.ghAppJWT(w, r)
	if app == nil {
		return
	}
	ts := app.createdAt.UTC().Format(time.RFC3339)
	writeJSON(w, http.StatusOK, map[string]any{
		"id":           app.ID,
		"slug":         app.Slug,
		"client_id":    app.ClientID,
		"node_id":      base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("03:Integration%d", app.ID))),
		"name":         app.Name,
		"description":  "",
		"external_url": s.GitHubURL() + "/apps/" + app.Slug,
		"html_url":     s.GitHubURL() + "/apps/" + app.Slug,
		"permissions":  app.Permissions,
		"events":       app.Events,
		"created_at":   ts,
		"updated_at":   ts,
	})
}

func (s *Sim) ghAppInstallations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.ghAppJWT(w, r)
	if app == nil {
		return
	}
	out := []map[string]any{}
	ids := slices.Sorted(maps.Keys(s.installations))
	for _, id := range ids {
		if in := s.installations[id]; in.AppID == app.ID {
			out = append(out, s.installationJSON(in))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// appInstallation finds the installation named in the path for app, or
// writes 404.
func (s *Sim) appInstallation(w http.ResponseWriter, r *http.Request, app *ghApp, doc string) *installation {
	id, err := strconv.ParseInt(r.PathValue("installation_id"), 10, 64)
	in, ok := s.installations[id]
	if err != nil || !ok || in.AppID != app.ID {
		ghError(w, http.StatusNotFound, "Not Found", doc)
		return nil
	}
	return in
}

func (s *Sim) ghAppInstallation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.ghAppJWT(w, r)
	if app == nil {
		return
	}
	if in := s.appInstallation(w, r, app, "https://docs.github.com/rest/apps/apps#get-an-installation-for-the-authenticated-app"); in != nil {
		writeJSON(w, http.StatusOK, s.installationJSON(in))
	}
}

var permissionLevel = map[string]int{"read": 1, "write": 2, "admin": 3}

func (s *Sim) ghCreateInstallationToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Repositories  []string          `json:"repositories"`
		RepositoryIDs []int64           `json:"repository_ids"`
		Permissions   map[string]string `json:"permissions"`
	}
	badBody := false
	raw, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if len(bytes.TrimSpace(raw)) > 0 {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			badBody = true
		}
		for k := range fields {
			noteParams(r, k)
		}
		if !badBody && json.Unmarshal(raw, &body) != nil {
			badBody = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.ghAppJWT(w, r)
	if app == nil {
		return
	}
	in := s.appInstallation(w, r, app, ghDocsCreateInstToken)
	if in == nil {
		return
	}
	if badBody {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON", ghDocsCreateInstToken)
		return
	}
	perms := maps.Clone(in.Permissions)
	if len(body.Permissions) > 0 {
		// "The installation access token cannot be granted permissions
		// that the app was not granted."
		for k, lvl := range body.Permissions {
			if permissionLevel[lvl] == 0 || permissionLevel[lvl] > permissionLevel[in.Permissions[k]] {
				ghError(w, http.StatusUnprocessableEntity, msgPermissionsNotGiven, ghDocsCreateInstToken)
				return
			}
		}
		perms = maps.Clone(body.Permissions)
	}
	if len(body.Repositories)+len(body.RepositoryIDs) > ghMaxTokenRepositories {
		ghError(w, http.StatusUnprocessableEntity, "Too many repositories requested; at most 500 can be listed.", ghDocsCreateInstToken)
		return
	}
	selection := in.RepositorySelection
	if len(body.Repositories)+len(body.RepositoryIDs) > 0 {
		selection = "selected"
	}
	expires := s.clock().Add(ghInstallationLifetime).UTC().Truncate(time.Second)
	v := s.issue("ghs_", &token{
		kind:           ghInstallation,
		clientID:       app.ClientID,
		installationID: in.ID,
		permissions:    perms,
		repositories:   slices.Clone(body.Repositories),
		repositoryIDs:  slices.Clone(body.RepositoryIDs),
		expires:        expires,
	})
	writeJSON(w, http.StatusCreated, map[string]any{
		"token":                v,
		"expires_at":           expires.Format(time.RFC3339),
		"permissions":          perms,
		"repository_selection": selection,
	})
}
