package providersim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	ghDocsRepoHooks = "https://docs.github.com/rest/repos/webhooks"
	// deliveryTimeout: GitHub gives a receiver 10 seconds to answer.
	deliveryTimeout = 10 * time.Second
	msgBBLackScopes = "Your credentials lack one or more required privilege scopes."
)

// Hook is a repository webhook registered through the REST API.
type Hook struct {
	Provider string
	// ID is GitHub's numeric hook ID (as a string) or Bitbucket's hook
	// UUID, braces included.
	ID          string
	Repo        string // owner/name
	URL         string
	ContentType string // GitHub: "json" or "form"; Bitbucket: "json"
	Events      []string
	Active      bool
	Description string
	CreatedAt   time.Time
	secret      string
}

type hook struct {
	Hook
	repo *Repo
}

// Delivery is one attempt to deliver a webhook, kept for assertions.
type Delivery struct {
	// ID is the X-GitHub-Delivery or X-Request-UUID value, the same for a
	// redelivery.
	ID       string
	Provider string
	HookID   string // the hook's ID, or "app:<id>" for a GitHub App webhook
	Event    string // "push", "ping" or "repo:push"
	URL      string
	Header   http.Header
	Body     []byte
	Attempt  int // 1 for the first attempt, then 2, 3... for redeliveries
	Time     time.Time
	// Status is the receiver's HTTP status, 0 if the request failed (Err).
	Status int
	Err    string
}

// Hooks lists the registered repository hooks.
func (s *Sim) Hooks() []Hook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Hook, 0, len(s.hooks))
	for _, h := range s.hooks {
		c := h.Hook
		c.Events = slices.Clone(h.Events)
		out = append(out, c)
	}
	return out
}

// Deliveries returns every delivery attempt so far, in order.
func (s *Sim) Deliveries() []Delivery {
	s.WaitDeliveries()
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// WaitDeliveries waits for asynchronous deliveries (GitHub's ping on hook
// creation) to finish. Push deliveries are made before Commit returns.
func (s *Sim) WaitDeliveries() { s.deliverWG.Wait() }

// Redeliver sends a past delivery again with the same ID, headers and
// body (Bitbucket's X-Attempt-Number goes up), as the providers'
// "Redeliver" / "Resend request" buttons do, and returns the new attempt.
func (s *Sim) Redeliver(deliveryID string) (Delivery, error) {
	s.WaitDeliveries()
	s.mu.Lock()
	var last *Delivery
	for i := range s.deliveries {
		if s.deliveries[i].ID == deliveryID {
			last = &s.deliveries[i]
		}
	}
	if last == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("providersim: Redeliver: no delivery %q", deliveryID)
	}
	d := Delivery{ID: last.ID, Provider: last.Provider, HookID: last.HookID, Event: last.Event,
		URL: last.URL, Header: last.Header.Clone(), Body: slices.Clone(last.Body), Attempt: last.Attempt + 1}
	s.mu.Unlock()
	if d.Provider == "bitbucket" {
		d.Header.Set("X-Attempt-Number", strconv.Itoa(d.Attempt))
	}
	return s.send(d), nil
}

// send posts d and records the attempt.
func (s *Sim) send(d Delivery) Delivery {
	d.Time = s.Now()
	client := &http.Client{
		Timeout: deliveryTimeout,
		// Neither provider follows redirects when delivering.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequest(http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err == nil {
		req.Header = d.Header.Clone()
		var resp *http.Response
		resp, err = client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			d.Status = resp.StatusCode
		}
	}
	if err != nil {
		d.Err = err.Error()
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	if s.opts.Logf != nil {
		s.opts.Logf("providersim: deliver %s %s -> %d", d.Provider, d.Event, d.Status)
	}
	return d
}

func hmacHex(newHash func() hash.Hash, secret string, body []byte) string {
	m := hmac.New(newHash, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ghDelivery builds a GitHub delivery: headers as documented in "Webhook
// events and payloads" (delivery headers) and "Validating webhook
// deliveries" (X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256 of the
// body; X-Hub-Signature the legacy SHA-1 one).
func ghDelivery(hookID, targetType string, targetID int64, target, contentType, secret, event string, payload any) Delivery {
	raw, _ := json.Marshal(payload)
	body := raw
	h := http.Header{}
	h.Set("User-Agent", "GitHub-Hookshot/providersim")
	h.Set("Accept", "*/*")
	if contentType == "form" {
		body = []byte("payload=" + url.QueryEscape(string(raw)))
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		h.Set("Content-Type", "application/json")
	}
	id := uuid4()
	h.Set("X-GitHub-Event", event)
	h.Set("X-GitHub-Delivery", id)
	h.Set("X-GitHub-Hook-ID", hookID)
	h.Set("X-GitHub-Hook-Installation-Target-Type", targetType)
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(targetID, 10))
	if secret != "" {
		h.Set("X-Hub-Signature", "sha1="+hmacHex(sha1.New, secret, body))
		h.Set("X-Hub-Signature-256", "sha256="+hmacHex(sha256.New, secret, body))
	}
	return Delivery{ID: id, Provider: "github", HookID: hookID, Event: event, URL: target, Header: h, Body: body, Attempt: 1}
}

// bbDelivery builds a Bitbucket Cloud delivery: headers as in "Event
// payloads" (X-Event-Key, X-Hook-UUID, X-Request-UUID, X-Attempt-Number)
// and, with a secret, X-Hub-Signature = "sha256=" + hex HMAC-SHA256 of the
// body ("Manage webhooks", webhook secrets); unsigned without one.
func bbDelivery(h *hook, payload any) Delivery {
	body, _ := json.Marshal(payload)
	hd := http.Header{}
	hd.Set("User-Agent", "Bitbucket-Webhooks/2.0")
	hd.Set("Content-Type", "application/json")
	id := uuid4()
	hd.Set("X-Event-Key", "repo:push")
	hd.Set("X-Hook-UUID", trimBraces(h.ID))
	hd.Set("X-Request-UUID", id)
	hd.Set("X-Attempt-Number", "1")
	if h.secret != "" {
		hd.Set("X-Hub-Signature", "sha256="+hmacHex(sha256.New, h.secret, body))
	}
	return Delivery{ID: id, Provider: "bitbucket", HookID: h.ID, Event: "repo:push", URL: h.URL, Header: hd, Body: body, Attempt: 1}
}

func trimBraces(s string) string {
	if len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}' {
		return s[1 : len(s)-1]
	}
	return s
}

// deliverPush delivers ev to every active hook of repo subscribed to push
// and, for GitHub, to the webhook of every app installed on the owner.
// It runs without s.mu held, so receivers may call the simulator.
func (s *Sim) deliverPush(repo *Repo, ev *pushEvent) {
	var out []Delivery
	s.mu.Lock()
	for _, h := range s.hooks {
		if h.repo != repo || !h.Active {
			continue
		}
		if repo.Provider == "github" && (slices.Contains(h.Events, "push") || slices.Contains(h.Events, "*")) {
			out = append(out, ghDelivery(h.ID, "repository", repo.ID, h.URL, h.ContentType, h.secret, "push", s.ghPushPayload(repo, ev, nil)))
		}
		if repo.Provider == "bitbucket" && slices.Contains(h.Events, "repo:push") {
			out = append(out, bbDelivery(h, s.bbPushPayload(repo, ev)))
		}
	}
	if repo.Provider == "github" {
		for _, id := range slices.Sorted(maps.Keys(s.installations)) {
			in := s.installations[id]
			app := s.ghApps[in.AppID]
			if app == nil || app.WebhookURL == "" || !slices.Contains(in.Events, "push") || !strings.EqualFold(in.Account, repo.Owner) {
				continue
			}
			out = append(out, ghDelivery(strconv.FormatInt(app.ID, 10), "integration", app.ID, app.WebhookURL, "json", app.WebhookSecret, "push", s.ghPushPayload(repo, ev, in)))
		}
	}
	s.mu.Unlock()
	for _, d := range out {
		s.send(d)
	}
}

// --- payloads ---

// ghPushPayload renders a push event as in GitHub's "push" webhook
// payload (ref, before, after, created, deleted, forced, base_ref,
// compare, commits, head_commit, repository, pusher, sender and, for app
// deliveries, installation). s.mu must be held.
func (s *Sim) ghPushPayload(repo *Repo, ev *pushEvent, in *installation) map[string]any {
	web := s.GitHubURL() + "/" + repo.FullName()
	person := map[string]any{"name": ev.pusher.Name, "email": ev.pusher.Email, "username": ev.pusher.Login}
	commit := map[string]any{
		"id": ev.after, "tree_id": ev.tree, "distinct": true, "message": ev.message,
		"timestamp": ev.time.Format(time.RFC3339), "url": web + "/commit/" + ev.after,
		"author": person, "committer": person,
		"added": nonNil(ev.added), "removed": nonNil(ev.removed), "modified": nonNil(ev.modified),
	}
	compare := web + "/compare/" + ev.before[:12] + "..." + ev.after[:12]
	if ev.created {
		compare = web + "/commit/" + ev.after
	}
	owner := s.ghAccountJSON(s.users[repo.Owner], false)
	owner["name"] = s.users[repo.Owner].Name
	owner["email"] = s.users[repo.Owner].Email
	api := s.GitHubAPIURL() + "/repos/" + repo.FullName()
	p := map[string]any{
		"ref": "refs/heads/" + ev.branch, "before": ev.before, "after": ev.after,
		"created": ev.created, "deleted": false, "forced": false, "base_ref": nil,
		"compare": compare, "commits": []any{commit}, "head_commit": commit,
		"repository": map[string]any{
			"id": repo.ID, "node_id": nodeID("010:Repository", repo.ID), "name": repo.Name,
			"full_name": repo.FullName(), "private": true, "visibility": "private", "owner": owner,
			"html_url": web, "description": nil, "fork": false,
			// In push payloads "url" is the web URL and the times are Unix seconds.
			"url": web, "git_url": "git://" + hostOf(s.GitHubURL()) + "/" + repo.FullName() + ".git",
			"ssh_url": "git@" + hostOf(s.GitHubURL()) + ":" + repo.FullName() + ".git", "clone_url": repo.CloneURL(),
			"hooks_url": api + "/hooks", "created_at": repo.CreatedAt.Unix(), "pushed_at": ev.time.Unix(),
			"updated_at": ev.time.Format(time.RFC3339), "default_branch": repo.DefaultBranch,
			"master_branch": repo.DefaultBranch, "archived": false, "disabled": false,
		},
		"pusher": map[string]any{"name": ev.pusher.Login, "email": ev.pusher.Email},
		"sender": s.ghAccountJSON(s.users[ev.pusher.Login], false),
	}
	if in != nil {
		p["installation"] = map[string]any{"id": in.ID, "node_id": nodeID("023:Installation", in.ID)}
	}
	return p
}

// bbPushPayload renders a repo:push event as in Bitbucket Cloud's "Event
// payloads" (actor, repository, push.changes[] with new, old, links,
// created, forced, closed, commits, truncated). s.mu must be held.
func (s *Sim) bbPushPayload(repo *Repo, ev *pushEvent) map[string]any {
	api := s.BitbucketAPIURL() + "/repositories/" + repo.FullName()
	web := s.BitbucketURL() + "/" + repo.FullName()
	ownerAcct := s.users[repo.Owner]
	author := map[string]any{"type": "author", "raw": ev.pusher.Name + " <" + ev.pusher.Email + ">", "user": s.bbUserJSON(s.users[ev.pusher.Login])}
	link := func(h string) map[string]string { return map[string]string{"href": h} }
	commit := map[string]any{
		"type": "commit", "hash": ev.after, "message": ev.message, "date": ev.time.Format(time.RFC3339),
		"author": author,
		"links":  map[string]any{"self": link(api + "/commit/" + ev.after), "html": link(web + "/commits/" + ev.after)},
	}
	if !ev.created {
		commit["parents"] = []any{map[string]any{"type": "commit", "hash": ev.before}}
	} else {
		commit["parents"] = []any{}
	}
	newRef := map[string]any{
		"type": "branch", "name": ev.branch, "target": commit,
		"links": map[string]any{"self": link(api + "/refs/branches/" + ev.branch), "html": link(web + "/branch/" + ev.branch)},
	}
	var oldRef any
	if !ev.created {
		oldRef = map[string]any{
			"type": "branch", "name": ev.branch,
			"target": map[string]any{"type": "commit", "hash": ev.before, "links": map[string]any{"self": link(api + "/commit/" + ev.before)}},
		}
	}
	change := map[string]any{
		"new": newRef, "old": oldRef, "created": ev.created, "forced": false, "closed": false,
		"commits": []any{commit}, "truncated": false,
		"links": map[string]any{
			"commits": link(api + "/commits?include=" + ev.after),
			"html":    link(web + "/branches/compare/" + ev.after + ".." + ev.before),
			"diff":    link(api + "/diff/" + ev.after + ".." + ev.before),
		},
	}
	return map[string]any{
		"actor":      s.bbUserJSON(s.users[ev.pusher.Login]),
		"repository": s.bbRepoJSON(repo, ownerAcct),
		"push":       map[string]any{"changes": []any{change}},
	}
}

func (s *Sim) bbRepoJSON(repo *Repo, owner *User) map[string]any {
	api := s.BitbucketAPIURL() + "/repositories/" + repo.FullName()
	return map[string]any{
		"type": "repository", "full_name": repo.FullName(), "name": repo.Name, "uuid": repo.UUID,
		"is_private": true, "scm": "git",
		"workspace": map[string]any{"type": "workspace", "slug": repo.Owner, "name": owner.Name, "uuid": owner.BitbucketUUID},
		"owner":     s.bbUserJSON(owner),
		"links": map[string]any{
			"self": map[string]string{"href": api},
			"html": map[string]string{"href": s.BitbucketURL() + "/" + repo.FullName()},
		},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Host
	}
	return u
}

func nodeID(prefix string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s%d", prefix, id)))
}

// --- REST endpoints ---

func (s *Sim) routeHooks(mux *http.ServeMux) {
	gh := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, s.wrap("github", h)) }
	gh("GET /github-api/repos/{owner}/{repo}/hooks", s.ghListHooks)
	gh("POST /github-api/repos/{owner}/{repo}/hooks", s.ghCreateHook)
	gh("GET /github-api/repos/{owner}/{repo}/hooks/{hook_id}", s.ghGetHook)
	gh("DELETE /github-api/repos/{owner}/{repo}/hooks/{hook_id}", s.ghDeleteHook)
	bb := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, s.wrap("bitbucket", h)) }
	bb("GET /bitbucket-api/2.0/repositories/{workspace}/{repo_slug}/hooks", s.bbListHooks)
	bb("POST /bitbucket-api/2.0/repositories/{workspace}/{repo_slug}/hooks", s.bbCreateHook)
	bb("GET /bitbucket-api/2.0/repositories/{workspace}/{repo_slug}/hooks/{uid}", s.bbGetHook)
	bb("DELETE /bitbucket-api/2.0/repositories/{workspace}/{repo_slug}/hooks/{uid}", s.bbDeleteHook)
}

// ghHookRepo authenticates a repository-hooks request and checks the
// caller's access at level ("read", "write", "admin"): classic tokens need
// repo or admin:/write:/read:repo_hook, GitHub App tokens the
// repository_hooks permission, as "Repository webhooks" documents. A
// caller who cannot see the repository gets 404; an app token without
// the permission 403 "Resource not accessible by integration". s.mu must
// be held.
func (s *Sim) ghHookRepo(w http.ResponseWriter, r *http.Request, level string) *Repo {
	t := s.ghToken(w, r, ghDocsRepoHooks)
	if t == nil {
		return nil
	}
	repo := s.repos[repoKey("github", r.PathValue("owner"), r.PathValue("repo"))]
	var a access
	if t.kind == ghInstallation {
		markAuth(r, fmt.Sprintf("installation:%d", t.installationID))
		a = accessNotFound
		if repo != nil {
			a = s.installationCan(t, repo, "repository_hooks", level)
		}
	} else {
		markAuth(r, t.login)
		if t.kind == ghOAuth || t.kind == ghPAT {
			w.Header().Set("X-OAuth-Scopes", t.scope)
			w.Header().Set("X-Accepted-OAuth-Scopes", "admin:repo_hook, read:repo_hook, repo, write:repo_hook")
		}
		a = accessNotFound
		if repo != nil {
			a = s.ghUserCan(t, repo, "repository_hooks", level)
		}
	}
	switch a {
	case accessNotFound:
		ghError(w, http.StatusNotFound, "Not Found", ghDocsRepoHooks)
		return nil
	case accessForbidden:
		ghError(w, http.StatusForbidden, msgNotAccessibleByApp, ghDocsRepoHooks)
		return nil
	}
	return repo
}

func (s *Sim) ghHookJSON(h *hook) map[string]any {
	id, _ := strconv.ParseInt(h.ID, 10, 64)
	base := fmt.Sprintf("%s/repos/%s/hooks/%d", s.GitHubAPIURL(), h.repo.FullName(), id)
	config := map[string]any{"url": h.URL, "content_type": h.ContentType, "insecure_ssl": "0"}
	if h.secret != "" {
		config["secret"] = "********" // GitHub masks the secret
	}
	ts := h.CreatedAt.UTC().Format(time.RFC3339)
	return map[string]any{
		"type": "Repository", "id": id, "name": "web", "active": h.Active, "events": h.Events,
		"config": config, "updated_at": ts, "created_at": ts, "url": base,
		"test_url": base + "/test", "ping_url": base + "/pings", "deliveries_url": base + "/deliveries",
		"last_response": map[string]any{"code": nil, "status": "unused", "message": nil},
	}
}

func (s *Sim) ghListHooks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.ghHookRepo(w, r, "read")
	if repo == nil {
		return
	}
	out := []map[string]any{}
	for _, h := range s.hooks {
		if h.repo == repo {
			out = append(out, s.ghHookJSON(h))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) ghCreateHook(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name   string   `json:"name"`
		Active *bool    `json:"active"`
		Events []string `json:"events"`
		Config struct {
			URL         string `json:"url"`
			ContentType string `json:"content_type"`
			Secret      string `json:"secret"`
			InsecureSSL any    `json:"insecure_ssl"`
		} `json:"config"`
	}
	badBody := readJSONBody(w, r, &body)
	s.mu.Lock()
	repo := s.ghHookRepo(w, r, "write")
	if repo == nil {
		s.mu.Unlock()
		return
	}
	if badBody {
		s.mu.Unlock()
		ghError(w, http.StatusBadRequest, "Problems parsing JSON", ghDocsRepoHooks)
		return
	}
	// Validation failures answer 422 "Validation Failed"; the error
	// texts are the simulator's (UNCONFIRMED).
	if body.Config.URL == "" || (body.Name != "" && body.Name != "web") ||
		(body.Config.ContentType != "" && body.Config.ContentType != "json" && body.Config.ContentType != "form") {
		s.mu.Unlock()
		ghValidation(w, "Hook", "custom", "Config must have a url; name must be \"web\"; content_type must be json or form")
		return
	}
	if body.Events == nil {
		body.Events = []string{"push"} // documented default
	}
	if body.Config.ContentType == "" {
		body.Config.ContentType = "form" // documented default
	}
	for _, h := range s.hooks {
		if h.repo == repo && h.URL == body.Config.URL {
			s.mu.Unlock()
			ghValidation(w, "Hook", "custom", "Hook already exists on this repository")
			return
		}
	}
	s.nextHookID++
	h := &hook{repo: repo, Hook: Hook{
		Provider: "github", ID: strconv.FormatInt(s.nextHookID, 10), Repo: repo.FullName(),
		URL: body.Config.URL, ContentType: body.Config.ContentType, Events: slices.Clone(body.Events),
		Active: body.Active == nil || *body.Active, CreatedAt: s.clock(), secret: body.Config.Secret,
	}}
	s.hooks = append(s.hooks, h)
	out := s.ghHookJSON(h)
	// "When you create a new webhook, GitHub sends a ping event": after
	// the response, asynchronously (see WaitDeliveries).
	ping := ghDelivery(h.ID, "repository", repo.ID, h.URL, h.ContentType, h.secret, "ping", map[string]any{
		"zen": "Keep it logically awesome.", "hook_id": s.nextHookID, "hook": out,
		"repository": map[string]any{"id": repo.ID, "name": repo.Name, "full_name": repo.FullName(), "private": true},
		"sender":     s.ghAccountJSON(s.users[principalLogin(r, repo)], false),
	})
	s.deliverWG.Add(1)
	s.mu.Unlock()
	w.Header().Set("Location", out["url"].(string))
	writeJSON(w, http.StatusCreated, out)
	go func() {
		defer s.deliverWG.Done()
		if h.Active {
			s.send(ping)
		}
	}()
}

// principalLogin is who created a hook, for the ping's sender: the
// authenticated user, or the repository owner for an installation token.
func principalLogin(r *http.Request, repo *Repo) string {
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		if _, isUser := repo.s.users[ri.principal]; isUser {
			return ri.principal
		}
	}
	return repo.Owner
}

func ghValidation(w http.ResponseWriter, resource, code, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []any{map[string]string{"resource": resource, "code": code, "message": msg}},
		"documentation_url": ghDocsRepoHooks + "#create-a-repository-webhook",
		"status":            "422",
	})
}

// findHook returns the hook with id on repo.
func (s *Sim) findHook(repo *Repo, id string) (int, *hook) {
	for i, h := range s.hooks {
		if h.repo == repo && h.ID == id {
			return i, h
		}
	}
	return -1, nil
}

func (s *Sim) ghGetHook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.ghHookRepo(w, r, "read")
	if repo == nil {
		return
	}
	if _, h := s.findHook(repo, r.PathValue("hook_id")); h != nil {
		writeJSON(w, http.StatusOK, s.ghHookJSON(h))
		return
	}
	ghError(w, http.StatusNotFound, "Not Found", ghDocsRepoHooks)
}

func (s *Sim) ghDeleteHook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.ghHookRepo(w, r, "admin")
	if repo == nil {
		return
	}
	if i, h := s.findHook(repo, r.PathValue("hook_id")); h != nil {
		s.hooks = slices.Delete(s.hooks, i, i+1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ghError(w, http.StatusNotFound, "Not Found", ghDocsRepoHooks)
}

// bbHookRepo authenticates a Bitbucket webhook request: an OAuth access
// token (Bearer) needs the "webhook" scope (403 "Your credentials lack one
// or more required privilege scopes." otherwise); an API token (Basic,
// account email or username) is taken as carrying it. The caller must be
// the workspace or a member of it (404 otherwise, UNCONFIRMED). s.mu must
// be held.
func (s *Sim) bbHookRepo(w http.ResponseWriter, r *http.Request) *Repo {
	scheme, user, secret := credential(r)
	now := s.clock()
	t, ok := s.tokens[secret]
	switch {
	case scheme == "bearer" && ok && t.kind == bbAccess && !t.revoked && t.expired(now):
		bbError(w, http.StatusUnauthorized, msgBBTokenExpired)
		return nil
	case scheme == "bearer" && ok && t.kind == bbAccess && t.live(now):
	case scheme == "basic" && ok && t.kind == bbAPIToken && !t.revoked &&
		(user == t.login || strings.EqualFold(user, s.users[t.login].Email)):
	default:
		w.Header().Set("WWW-Authenticate", `Basic realm="Bitbucket.org HTTP"`)
		bbError(w, http.StatusUnauthorized, msgBBTokenInvalid)
		return nil
	}
	markAuth(r, t.login)
	if t.kind == bbAccess && !hasScope(t.scope, "webhook") {
		writeJSON(w, http.StatusForbidden, map[string]any{"type": "error", "error": map[string]any{
			"message": msgBBLackScopes,
			"detail":  map[string]any{"required": []string{"webhook"}, "granted": scopeFields(t.scope)},
		}})
		return nil
	}
	repo := s.repos[repoKey("bitbucket", r.PathValue("workspace"), r.PathValue("repo_slug"))]
	if repo == nil || !s.isMember(t.login, repo.Owner) {
		bbError(w, http.StatusNotFound, "Repository "+r.PathValue("workspace")+"/"+r.PathValue("repo_slug")+" not found")
		return nil
	}
	return repo
}

func scopeFields(scope string) []string {
	out := []string{}
	for _, f := range bytes.Fields([]byte(scope)) {
		out = append(out, string(f))
	}
	return out
}

// bbHookJSON renders a webhook subscription; the secret is write-only
// ("secret_set" tells whether one is configured).
func (s *Sim) bbHookJSON(h *hook) map[string]any {
	return map[string]any{
		"type": "webhook_subscription", "uuid": h.ID, "url": h.URL, "description": h.Description,
		"subject_type": "repository", "subject": s.bbRepoJSON(h.repo, s.users[h.repo.Owner]),
		"active": h.Active, "created_at": h.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		"events": h.Events, "secret_set": h.secret != "",
		"links": map[string]any{"self": map[string]string{
			"href": s.BitbucketAPIURL() + "/repositories/" + h.repo.FullName() + "/hooks/" + url.PathEscape(h.ID)}},
	}
}

func (s *Sim) bbListHooks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.bbHookRepo(w, r)
	if repo == nil {
		return
	}
	values := []map[string]any{}
	for _, h := range s.hooks {
		if h.repo == repo {
			values = append(values, s.bbHookJSON(h))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"pagelen": 10, "size": len(values), "page": 1, "values": values})
}

func (s *Sim) bbCreateHook(w http.ResponseWriter, r *http.Request) {
	var body struct {
		URL         string   `json:"url"`
		Description string   `json:"description"`
		Active      *bool    `json:"active"`
		Events      []string `json:"events"`
		Secret      string   `json:"secret"`
	}
	badBody := readJSONBody(w, r, &body)
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.bbHookRepo(w, r)
	if repo == nil {
		return
	}
	// The 400 body's wording is the simulator's (UNCONFIRMED).
	if badBody || body.URL == "" || len(body.Events) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"type": "error", "error": map[string]any{
			"message": "Bad request", "fields": map[string]any{"url": "required", "events": "at least one event is required"},
		}})
		return
	}
	h := &hook{repo: repo, Hook: Hook{
		Provider: "bitbucket", ID: "{" + uuid4() + "}", Repo: repo.FullName(), URL: body.URL,
		ContentType: "json", Events: slices.Clone(body.Events), Active: body.Active == nil || *body.Active,
		Description: body.Description, CreatedAt: s.clock(), secret: body.Secret,
	}}
	s.hooks = append(s.hooks, h)
	out := s.bbHookJSON(h)
	w.Header().Set("Location", out["links"].(map[string]any)["self"].(map[string]string)["href"])
	writeJSON(w, http.StatusCreated, out)
}

func (s *Sim) bbGetHook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.bbHookRepo(w, r)
	if repo == nil {
		return
	}
	if _, h := s.findHook(repo, r.PathValue("uid")); h != nil {
		writeJSON(w, http.StatusOK, s.bbHookJSON(h))
		return
	}
	bbError(w, http.StatusNotFound, "Resource not found")
}

func (s *Sim) bbDeleteHook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.bbHookRepo(w, r)
	if repo == nil {
		return
	}
	if i, h := s.findHook(repo, r.PathValue("uid")); h != nil {
		s.hooks = slices.Delete(s.hooks, i, i+1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	bbError(w, http.StatusNotFound, "Resource not found")
}

// readJSONBody decodes a hook request's JSON body (at most 1 MiB) into v,
// notes its member names in the request log, and reports whether the body
// was not valid JSON for v.
func readJSONBody(w http.ResponseWriter, r *http.Request, v any) (bad bool) {
	raw, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	bad = json.Unmarshal(raw, v) != nil
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) == nil {
		for k := range fields {
			noteParams(r, k)
		}
	}
	return bad
}
