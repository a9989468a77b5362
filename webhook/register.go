package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/forge"
)

const (
	// maxAnswer bounds what is read from a provider's answer.
	maxAnswer = 4 << 20
	// maxPages bounds how many pages of hooks are listed; GitHub allows 20
	// hooks per event per repository, so one page of 100 is the norm.
	maxPages = 20
)

// Registration describes the push webhook of one repository.
type Registration struct {
	// Provider is "github" or "bitbucket" (openrunner.ProviderGitHub and
	// ProviderBitbucket are accepted too).
	Provider string
	// APIBase is the provider's REST API root: https://api.github.com, a
	// GitHub Enterprise Server's https://HOST/api/v3, or
	// https://api.bitbucket.org/2.0.
	APIBase string
	// Repository is "owner/name" (GitHub) or "workspace/slug" (Bitbucket).
	Repository string
	// HookURL is where the provider delivers (see URL).
	HookURL string
	// Secret signs the deliveries.
	Secret string
	// Credential authenticates the API calls: Token as a bearer token, or,
	// with Username set (a Bitbucket API token), HTTP Basic.
	Credential openrunner.ProviderCredential
}

// Register makes sure the repository has an active push webhook delivering
// to r.HookURL, and reports whether it created one.
//
// It lists the repository's webhooks first; a webhook with the same URL is
// left as it is (created false). Neither provider shows a webhook's secret
// back, so an existing webhook is trusted to carry r.Secret: OpenRunner's
// delivery URLs name the connection, and its secret is stable. A webhook
// with the URL that is inactive or not subscribed to pushes is an EINVALID
// error asking to fix or delete it, rather than silently changed.
//
// Otherwise it creates one: on GitHub, POST /repos/{owner}/{repo}/hooks with
// name "web", events ["push"] and config {url, content_type "json", secret,
// insecure_ssl "0"}; on Bitbucket, POST
// /repositories/{workspace}/{repo_slug}/hooks with description
// "OpenRunner", events ["repo:push"] and the secret.
//
// A refusal by the provider is EINVALID with a message saying what the
// credential lacks; an unreachable or failing provider is EINTERNAL with a
// message to try again. Errors never contain the credential or the secret.
func Register(ctx context.Context, c *http.Client, r Registration) (created bool, err error) {
	rc, err := newRegistrar(c, r, "register")
	if err != nil {
		return false, err
	}
	if rc.provider == GitHub {
		return rc.github(ctx)
	}
	return rc.bitbucket(ctx)
}

// newRegistrar checks r for Register (action "register", which needs the
// secret) or Unregister (action "remove").
func newRegistrar(c *http.Client, r Registration, action string) (*registrar, error) {
	provider := strings.ToLower(r.Provider)
	owner, name, ok := strings.Cut(r.Repository, "/")
	switch {
	case provider != GitHub && provider != Bitbucket:
		return nil, openrunner.Errorf(openrunner.EINVALID, "Unknown webhook provider %q.", r.Provider)
	case !ok || owner == "" || name == "" || strings.Contains(name, "/"):
		return nil, openrunner.Errorf(openrunner.EINVALID, "The repository %q is not of the form owner/name.", r.Repository)
	case !httpURL(r.APIBase):
		return nil, openrunner.Errorf(openrunner.EINVALID, "The %s API URL %q is not an http(s) URL.", forge.Name(provider), r.APIBase)
	case !httpURL(r.HookURL):
		return nil, openrunner.Errorf(openrunner.EINVALID, "The webhook URL %q is not an http(s) URL.", r.HookURL)
	case action == "register" && r.Secret == "":
		return nil, openrunner.Errorf(openrunner.EINVALID, "A webhook secret is required.")
	case r.Credential.Token == "":
		return nil, openrunner.Errorf(openrunner.EINVALID, "A %s credential is required to %s a webhook.", forge.Name(provider), action)
	}
	if p := strings.ToLower(r.Credential.Provider); p != "" && p != provider {
		return nil, openrunner.Errorf(openrunner.EINVALID, "The credential is for %s, not %s.", forge.Name(p), forge.Name(provider))
	}
	auth := forge.Bearer(r.Credential.Token)
	if r.Credential.Username != "" {
		auth = forge.Basic(r.Credential.Username, r.Credential.Token)
	}
	base := strings.TrimRight(r.APIBase, "/")
	return &registrar{r: r, provider: provider, owner: owner, name: name, base: base, auth: auth,
		api: forge.Client{Provider: provider, BaseURL: base, HTTP: c, MaxBody: maxAnswer}}, nil
}

// registrar carries one Register or Unregister call.
type registrar struct {
	r           Registration
	provider    string
	owner, name string
	base        string
	api         forge.Client
	auth        forge.Auth
}

// hook is a provider webhook, reduced to what Register and Unregister use.
type hook struct {
	id     string // GitHub's numeric ID, Bitbucket's UUID with braces
	url    string
	active bool
	events []string
}

// ghHook is a GitHub repository webhook as the REST API returns it.
type ghHook struct {
	ID     int64    `json:"id"`
	Active bool     `json:"active"`
	Events []string `json:"events"`
	Config struct {
		URL string `json:"url"`
	} `json:"config"`
}

// bbHook is a Bitbucket webhook subscription as the REST API returns it.
type bbHook struct {
	UUID   string   `json:"uuid"`
	URL    string   `json:"url"`
	Active bool     `json:"active"`
	Events []string `json:"events"`
}

// hooksURL is the repository's webhook collection: GitHub's
// /repos/{owner}/{repo}/hooks or Bitbucket's
// /repositories/{workspace}/{repo_slug}/hooks.
func (rc *registrar) hooksURL() string {
	if rc.provider == GitHub {
		return rc.base + "/repos/" + url.PathEscape(rc.owner) + "/" + url.PathEscape(rc.name) + "/hooks"
	}
	return rc.base + "/repositories/" + url.PathEscape(rc.owner) + "/" + url.PathEscape(rc.name) + "/hooks"
}

// matching lists the repository's webhooks, page by page (GitHub's Link
// rel="next", Bitbucket's "next", followed only on the API's origin), and
// returns those delivering to r.HookURL; with first, it stops at the
// first one.
func (rc *registrar) matching(ctx context.Context, first bool) ([]hook, error) {
	next := rc.hooksURL()
	if rc.provider == GitHub {
		next += "?per_page=100"
	}
	var out []hook
	for range maxPages {
		a, err := rc.call(ctx, http.MethodGet, next, nil, http.StatusOK)
		if serr, ok := errors.AsType[*forge.StatusError](err); ok {
			return nil, rc.refusal("list the webhooks of", serr)
		} else if err != nil {
			return nil, err
		}
		hooks, following, err := rc.parseHooks(a)
		if err != nil {
			return nil, err
		}
		for _, h := range hooks {
			if h.url == rc.r.HookURL {
				out = append(out, h)
				if first {
					return out, nil
				}
			}
		}
		if !rc.api.SameOrigin(following) {
			break
		}
		next = following
	}
	return out, nil
}

// parseHooks reads one page of a webhook listing and the URL of the next.
func (rc *registrar) parseHooks(a *forge.Response) (hooks []hook, next string, err error) {
	if rc.provider == GitHub {
		var page []ghHook
		if err := a.Decode(&page); err != nil {
			return nil, "", rc.unreadable("webhook list")
		}
		for _, h := range page {
			hooks = append(hooks, hook{id: strconv.FormatInt(h.ID, 10), url: h.Config.URL, active: h.Active, events: h.Events})
		}
		return hooks, forge.NextLink(a.Header), nil
	}
	var page struct {
		Values []bbHook `json:"values"`
		Next   string   `json:"next"`
	}
	if err := a.Decode(&page); err != nil {
		return nil, "", rc.unreadable("webhook list")
	}
	for _, h := range page.Values {
		hooks = append(hooks, hook{id: h.UUID, url: h.URL, active: h.Active, events: h.Events})
	}
	return hooks, page.Next, nil
}

// find returns the first webhook delivering to r.HookURL, or nil.
func (rc *registrar) find(ctx context.Context) (*hook, error) {
	hooks, err := rc.matching(ctx, true)
	if err != nil || len(hooks) == 0 {
		return nil, err
	}
	return &hooks[0], nil
}

func (rc *registrar) github(ctx context.Context) (bool, error) {
	if h, err := rc.find(ctx); err != nil || h != nil {
		return false, rc.checkExisting(h, err, "push")
	}
	body := map[string]any{
		"name": "web", "active": true, "events": []string{"push"},
		"config": map[string]any{"url": rc.r.HookURL, "content_type": "json", "secret": rc.r.Secret, "insecure_ssl": "0"},
	}
	_, err := rc.call(ctx, http.MethodPost, rc.hooksURL(), body, http.StatusCreated, http.StatusOK)
	serr, refused := errors.AsType[*forge.StatusError](err)
	switch {
	case err == nil:
		return true, nil
	case !refused:
		return false, err
	case serr.Status == http.StatusUnprocessableEntity:
		// A concurrent Register may have created the same hook ("Hook
		// already exists on this repository"): look again.
		if h, err := rc.find(ctx); err != nil || h != nil {
			return false, rc.checkExisting(h, err, "push")
		}
	}
	return false, rc.refusal("create the webhook on", serr)
}

func (rc *registrar) bitbucket(ctx context.Context) (bool, error) {
	if h, err := rc.find(ctx); err != nil || h != nil {
		return false, rc.checkExisting(h, err, "repo:push")
	}
	body := map[string]any{
		"description": "OpenRunner", "url": rc.r.HookURL, "active": true,
		"events": []string{"repo:push"}, "secret": rc.r.Secret,
	}
	_, err := rc.call(ctx, http.MethodPost, rc.hooksURL(), body, http.StatusCreated, http.StatusOK)
	if serr, ok := errors.AsType[*forge.StatusError](err); ok {
		return false, rc.refusal("create the webhook on", serr)
	}
	return err == nil, err
}

// checkExisting turns the outcome of a listing that found h (or failed
// with err) into Register's error: nil for a usable hook.
func (rc *registrar) checkExisting(h *hook, err error, event string) error {
	if err != nil {
		return err
	}
	if !h.active || !(slices.Contains(h.events, event) || slices.Contains(h.events, "*")) {
		return openrunner.Errorf(openrunner.EINVALID,
			"A %s webhook delivering to %s exists on %s but is inactive or not subscribed to %q events. Activate it with that event, or delete it so that OpenRunner creates it again.",
			forge.Name(rc.provider), h.url, rc.r.Repository, event)
	}
	return nil
}

// call sends one authenticated API request with a JSON body (if any). A
// status other than ok is a *forge.StatusError; a call abandoned because
// ctx ended returns ctx's error.
func (rc *registrar) call(ctx context.Context, method, endpoint string, body any, ok ...int) (*forge.Response, error) {
	a, err := rc.api.Do(ctx, forge.Request{Method: method, URL: endpoint, Auth: rc.auth, JSON: body, OK: ok,
		Hide: []string{rc.r.Secret}})
	if _, refused := errors.AsType[*forge.StatusError](err); err != nil && !refused && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return a, err
}

// refusal explains a provider's non-success answer to "<what> owner/repo".
func (rc *registrar) refusal(what string, a *forge.StatusError) error {
	pn, repo := forge.Name(rc.provider), rc.r.Repository
	reason := a.Message
	withReason := func(s string) string {
		if reason == "" {
			return s
		}
		return s + ": " + reason
	}
	switch {
	case a.RateLimited():
		return openrunner.Errorf(openrunner.EINTERNAL, "%s is rate limiting OpenRunner and would not %s %s. Try again later.", pn, what, repo)
	case a.Status >= 500:
		return openrunner.Errorf(openrunner.EINTERNAL, "%s is unavailable (HTTP %d) and would not %s %s. Try again later.", pn, a.Status, what, repo)
	case a.Status == http.StatusUnauthorized:
		return openrunner.Errorf(openrunner.EINVALID, "%s rejected the connection's credential (%s) when asked to %s %s. Complete the connection's handshake again.",
			pn, withReason("HTTP 401"), what, repo)
	}
	var need string
	deleting := what == deleteWhat
	switch {
	case deleting && rc.provider == GitHub && (a.Status == http.StatusNotFound || a.Status == http.StatusForbidden):
		// Unregister asks only after a listing succeeded and the webhook is
		// still there, so a 404 here means too little access, not absence.
		need = fmt.Sprintf("The token can list the webhooks of %s but lacks the admin:repo_hook (or repo) scope needed to delete one, or the GitHub App lacks the Webhooks (repository_hooks) write permission.", repo)
	case deleting && rc.provider == Bitbucket && a.Status == http.StatusForbidden:
		need = fmt.Sprintf("The credential lacks the webhook scope (API tokens: delete:webhook:bitbucket) or admin access to %s.", repo)
		if scopes := bbRequiredScopes(a.Body); scopes != "" {
			need += " Required scopes: " + forge.Reason(scopes, rc.r.Credential.Token, rc.r.Secret) + "."
		}
	case rc.provider == GitHub && a.Status == http.StatusNotFound:
		need = fmt.Sprintf("The token lacks the admin:repo_hook scope or access to %s, the GitHub App is not installed on it, or the repository does not exist.", repo)
	case rc.provider == GitHub && a.Status == http.StatusForbidden:
		need = fmt.Sprintf("The GitHub App needs the Webhooks (repository_hooks) read and write permission on %s, or the token the admin:repo_hook scope.", repo)
	case rc.provider == Bitbucket && a.Status == http.StatusForbidden:
		need = fmt.Sprintf("The credential lacks the webhook scope (API tokens: read:webhook:bitbucket and write:webhook:bitbucket) or admin access to %s.", repo)
		if scopes := bbRequiredScopes(a.Body); scopes != "" {
			need += " Required scopes: " + forge.Reason(scopes, rc.r.Credential.Token, rc.r.Secret) + "."
		}
	case rc.provider == Bitbucket && a.Status == http.StatusNotFound:
		need = fmt.Sprintf("The repository %s does not exist or the credential cannot see it.", repo)
	}
	msg := fmt.Sprintf("%s refused to %s %s (%s).", pn, what, repo, withReason(fmt.Sprintf("HTTP %d", a.Status)))
	if need != "" {
		msg += " " + need
	}
	return openrunner.Errorf(openrunner.EINVALID, "%s", msg)
}

func (rc *registrar) unreadable(what string) error {
	return openrunner.Errorf(openrunner.EINTERNAL, "%s at %s sent a %s OpenRunner could not read. Try again later.",
		forge.Name(rc.provider), rc.base, what)
}

// bbRequiredScopes returns the scopes a Bitbucket 403 says are required
// ({"error":{"detail":{"required":[...]}}}).
func bbRequiredScopes(body []byte) string {
	var v struct {
		Error struct {
			Detail struct {
				Required []string `json:"required"`
			} `json:"detail"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return strings.Join(v.Error.Detail.Required, ", ")
}

// RepositoryFromURL returns the owner (GitHub account or Bitbucket
// workspace) and name (repository or slug) of an http(s) repository URL
// such as https://github.com/owner/repo(.git) or
// https://bitbucket.org/workspace/slug(.git). Any host is accepted (GitHub
// Enterprise Server, a simulator under a base path): the owner and name
// are the last two path segments. provider is "github" or "bitbucket"
// (either case); errors are EINVALID and never repeat credentials the URL
// may hold.
func RepositoryFromURL(provider, repoURL string) (owner, name string, err error) {
	p := strings.ToLower(provider)
	if p != GitHub && p != Bitbucket {
		return "", "", openrunner.Errorf(openrunner.EINVALID, "Unknown repository provider %q.", provider)
	}
	u, perr := url.Parse(repoURL)
	if perr != nil {
		return "", "", openrunner.Errorf(openrunner.EINVALID, "The %s repository URL is not a valid URL.", forge.Name(p))
	}
	// Never repeat credentials: a token may be the URL's user name or
	// password.
	bare := *u
	bare.User = nil
	shown := bare.String()
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", openrunner.Errorf(openrunner.EINVALID, "The %s repository URL %q is not an https URL.", forge.Name(p), shown)
	}
	segs := strings.Split(strings.TrimRight(u.Path, "/"), "/")
	if len(segs) >= 3 {
		owner, name = segs[len(segs)-2], strings.TrimSuffix(segs[len(segs)-1], ".git")
	}
	if owner == "" || name == "" {
		return "", "", openrunner.Errorf(openrunner.EINVALID, "The %s repository URL %q does not name a repository (want https://HOST/OWNER/NAME).", forge.Name(p), shown)
	}
	return owner, name, nil
}
