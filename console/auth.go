package console

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// signInPage is the data of templates/signin.html.
type signInPage struct {
	Token       string // the sign-in form's CSRF token
	Next        string
	AccessKeyID string
	Error       string
	Notice      string
}

// msgBadCredentials answers a wrong key pair without saying which half was
// wrong.
const msgBadCredentials = "Those credentials were not accepted. Check the access key ID and the secret access key, and try again."

// handleSignInPage shows the sign-in form, or goes on to the console for a
// browser that is signed in already.
func (c *Console) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	token, ok := c.signInToken(w, r)
	if !ok {
		return
	}
	p := signInPage{Token: token, Next: next}
	if r.URL.Query().Get("signedout") != "" {
		p.Notice = "You have signed out."
	}
	c.render(w, r, http.StatusOK, "signin", layout{Title: "Sign in", Page: p})
}

// signInToken returns the token of the sign-in form: the browser's
// existing one (so that several open tabs all work), or a new one set in a
// cookie. The POST must present the cookie and the same value in the form,
// which a page of another site cannot do.
func (c *Console) signInToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	if ck, err := r.Cookie(signInCookie); err == nil && len(ck.Value) == 43 {
		return ck.Value, true
	}
	token, err := newToken()
	if err != nil {
		c.logger.Error("console: random token", "err", err)
		c.renderError(w, r, http.StatusInternalServerError, "Something went wrong", "An internal error occurred. Try again in a moment.")
		return "", false
	}
	http.SetCookie(w, c.cookie(signInCookie, token, time.Hour))
	return token, true
}

// cookie returns a console cookie; maxAge < 0 deletes it.
func (c *Console) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	ck := &http.Cookie{
		Name: name, Value: value, Path: cookiePath,
		HttpOnly: true, Secure: c.cfg.Secure,
		// Lax, not Strict: the provider's redirect back to the OAuth
		// callback is a cross-site top-level navigation that must carry
		// the session.
		SameSite: http.SameSiteLaxMode,
	}
	if maxAge < 0 {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(maxAge / time.Second)
	}
	return ck
}

// handleSignIn checks an access key and starts a session.
func (c *Console) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if !c.parseForm(w, r) {
		return
	}
	ck, err := r.Cookie(signInCookie)
	if err != nil || !tokenEqual(r.PostForm.Get(csrfField), ck.Value) {
		c.renderError(w, r, http.StatusForbidden, "This form has expired",
			"The sign-in form was not sent from a current console page. Go back, reload the page and try again.")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	keyID, secret := r.PostForm.Get("access_key_id"), r.PostForm.Get("secret_access_key")
	page := signInPage{Token: ck.Value, Next: next, AccessKeyID: keyID}
	if len(keyID) > 128 {
		// Longer than any access key id; don't echo a pasted blob back.
		page.AccessKeyID = ""
	}

	if keyID == "" || secret == "" {
		page.Error = "Enter an access key ID and its secret access key."
		c.render(w, r, http.StatusBadRequest, "signin", layout{Title: "Sign in", Page: page})
		return
	}
	var accountID string
	ok := false
	if c.cfg.SignIn == nil {
		c.logger.Error("console: sign-in is not configured")
	} else if len(keyID) <= 128 && len(secret) <= 1024 {
		accountID, ok, err = c.cfg.SignIn(r.Context(), keyID, secret)
		if err != nil {
			// Never log the secret, nor the key id of a failure: people
			// paste secrets into the wrong field.
			c.logger.Error("console: checking credentials", "remote", clientKey(r), "err", err)
			page.Error = "Sign-in is not available right now. Try again in a moment."
			c.render(w, r, http.StatusServiceUnavailable, "signin", layout{Title: "Sign in", Page: page})
			return
		}
	}
	if !ok || accountID == "" {
		client := clientKey(r)
		d := c.throttle.fail(client)
		c.logger.Info("console: sign-in failed", "remote", client, "delay", d)
		c.wait(r.Context(), d)
		page.Error = msgBadCredentials
		c.render(w, r, http.StatusUnauthorized, "signin", layout{Title: "Sign in", Page: page})
		return
	}

	c.throttle.succeed(clientKey(r))
	if old, ok := c.session(r); ok {
		c.sessions.delete(old.key)
	}
	id, err := c.sessions.create(accountID, keyID, c.regions[0])
	if err != nil {
		c.logger.Error("console: creating a session", "err", err)
		c.renderError(w, r, http.StatusInternalServerError, "Something went wrong", "An internal error occurred. Try again in a moment.")
		return
	}
	c.logger.Info("console: signed in", "account", accountID, "access_key_id", keyID, "remote", clientKey(r))
	http.SetCookie(w, c.cookie(sessionCookie, id, SessionLifetime))
	http.SetCookie(w, c.cookie(signInCookie, "", -1))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleSignOut ends the session. It is a POST with the CSRF token, so
// another site cannot sign the person out.
func (c *Console) handleSignOut(w http.ResponseWriter, r *http.Request) {
	s, ok := c.session(r)
	if ok {
		if !c.parseForm(w, r) {
			return
		}
		if !tokenEqual(r.PostForm.Get(csrfField), s.csrf) {
			c.renderError(w, r, http.StatusForbidden, "This form has expired",
				"The form was not sent from a current console page, so you are still signed in. Go back, reload the page and try again.")
			return
		}
		c.sessions.delete(s.key)
		c.logger.Info("console: signed out", "account", s.accountID)
	}
	http.SetCookie(w, c.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, pathSignIn+"?signedout=1", http.StatusSeeOther)
}

// handleRegion switches the session's Region.
func (c *Console) handleRegion(w http.ResponseWriter, r *http.Request, _ context.Context, s sessionView) {
	region := r.PostForm.Get("region")
	if !slices.Contains(c.regions, region) {
		c.sessions.addFlash(s.key, "error", "That Region is not offered by this console.")
	} else {
		c.sessions.update(s.key, func(s *session) { s.region = region })
	}
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}
