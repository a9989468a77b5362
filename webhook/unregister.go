package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/forge"
)

// deleteWhat is the action named in Unregister's refusals.
const deleteWhat = "delete a webhook of"

// Unregister removes the repository's webhooks that deliver to r.HookURL
// and reports whether it removed at least one; with none, it reports
// false and no error. r.Secret is not used.
//
// It lists the repository's webhooks as Register does, then deletes each
// match: on GitHub, DELETE /repos/{owner}/{repo}/hooks/{hook_id}; on
// Bitbucket, DELETE /repositories/{workspace}/{repo_slug}/hooks/{uid} (the
// UUID with its braces). Both answer 204. A webhook already gone (404,
// confirmed by reading it back, since GitHub also answers 404 to a token
// that may list but not delete webhooks) is not an error, so Unregister
// can run again or concurrently.
//
// Errors are as Register's: EINVALID with what the credential lacks when
// the provider refuses, EINTERNAL with a request to try again when it is
// unreachable or failing; never containing the credential. On an error
// after some webhooks were removed, deleted is true.
func Unregister(ctx context.Context, c *http.Client, r Registration) (deleted bool, err error) {
	rc, err := newRegistrar(c, r, "remove")
	if err != nil {
		return false, err
	}
	hooks, err := rc.matching(ctx, false)
	if err != nil {
		return false, err
	}
	for _, h := range hooks {
		gone, err := rc.deleteHook(ctx, h)
		deleted = deleted || gone
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// deleteHook deletes h and reports whether this call removed it.
func (rc *registrar) deleteHook(ctx context.Context, h hook) (bool, error) {
	if h.id == "" {
		return false, openrunner.Errorf(openrunner.EINTERNAL, "%s at %s listed a webhook delivering to %s without its ID, so OpenRunner cannot delete it. Try again later.",
			forge.Name(rc.provider), rc.base, h.url)
	}
	hookURL := rc.hooksURL() + "/" + url.PathEscape(h.id)
	_, err := rc.call(ctx, http.MethodDelete, hookURL, nil, http.StatusNoContent, http.StatusOK)
	a, refused := errors.AsType[*forge.StatusError](err)
	switch {
	case err == nil:
		return true, nil
	case !refused:
		return false, err
	case a.Status == http.StatusNotFound:
		// Gone since the listing, or (GitHub) hidden from a token that may
		// read webhooks but not delete them: read it back to tell.
		_, err := rc.call(ctx, http.MethodGet, hookURL, nil, http.StatusOK)
		g, refused := errors.AsType[*forge.StatusError](err)
		switch {
		case refused && g.Status == http.StatusNotFound:
			return false, nil
		case refused:
			return false, rc.refusal("look up a webhook of", g)
		case err != nil:
			return false, err
		}
	}
	return false, rc.refusal(deleteWhat, a)
}
