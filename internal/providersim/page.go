package providersim

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// consentPage is the data of a consent (or install) page. The page is a
// plain HTML form without JavaScript: #approve and #deny are its submit
// buttons, #login selects the signed-in person.
type consentPage struct {
	Title        string
	Heading      string
	Lines        []string
	Action       string
	RequestID    string
	Login        string
	Users        []string
	Accounts     []string // install flow: where to install
	ApproveLabel string
	DenyLabel    string
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<main>
<h1>{{.Heading}}</h1>
{{range .Lines}}<p>{{.}}</p>
{{end}}<form method="post" action="{{.Action}}">
<input type="hidden" name="request_id" value="{{.RequestID}}">
<p><label for="login">Signed in as</label>
<select id="login" name="login">{{range .Users}}<option value="{{.}}"{{if eq . $.Login}} selected{{end}}>{{.}}</option>{{end}}</select></p>
{{if .Accounts}}<p><label for="account">Install on</label>
<select id="account" name="account">{{range .Accounts}}<option value="{{.}}">{{.}}</option>{{end}}</select></p>
<p><input type="radio" id="all" name="repository_selection" value="all" checked><label for="all">All repositories</label></p>
{{end}}<p><button type="submit" id="approve" name="decision" value="approve">{{.ApproveLabel}}</button>
<button type="submit" id="deny" name="decision" value="deny">{{.DenyLabel}}</button></p>
</form>
</main>
</body>
</html>
`))

var errorTmpl = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><main><h1 id="error">{{.Title}}</h1><p>{{.Message}}</p></main></body>
</html>
`))

func renderConsent(w http.ResponseWriter, p consentPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = consentTmpl.Execute(w, p)
}

// renderError shows an HTML error page, as the providers' websites do for
// a request they cannot redirect back (unknown client, bad redirect URI).
func renderError(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = errorTmpl.Execute(w, struct{ Title, Message string }{title, msg})
}

var requestIDRe = regexp.MustCompile(`name="request_id" value="([^"]+)"`)

// Consent plays the browser on a consent page without a browser: it GETs
// pageURL (a GitHub or Bitbucket authorize URL, or a GitHub App install
// URL), then presses Authorize (approve) or Cancel, as login if login is
// not empty. It returns the URL the provider redirects to, or nil when the
// provider answers with a page instead of a redirect (e.g. a cancelled
// install).
func (s *Sim) Consent(pageURL string, approve bool, login string) (*url.URL, error) {
	c := s.Client()
	resp, err := c.Get(pageURL)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusFound {
		// Consent was remembered: the provider redirected at once.
		return resp.Location()
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("providersim: consent page: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	m := requestIDRe.FindSubmatch(body)
	if m == nil {
		return nil, errors.New("providersim: consent page has no form")
	}
	form := url.Values{"request_id": {string(m[1])}, "decision": {"deny"}}
	if approve {
		form.Set("decision", "approve")
	}
	if login != "" {
		form.Set("login", login)
	}
	u, _ := url.Parse(pageURL)
	u.RawQuery = ""
	resp, err = c.PostForm(u.String(), form)
	if err != nil {
		return nil, err
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusFound, http.StatusSeeOther:
		return resp.Location()
	case http.StatusOK:
		return nil, nil
	}
	return nil, fmt.Errorf("providersim: consent: %s: %s", resp.Status, strings.TrimSpace(string(body)))
}
