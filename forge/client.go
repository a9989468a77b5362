// Package forge calls the HTTP APIs of the code hosts OpenRunner
// connects to, GitHub and Bitbucket Cloud: their REST APIs and their OAuth
// token endpoints. It is the one place that builds those requests, reads
// their answers and turns failures into errors that are safe to show.
//
// A Client is bound to one provider and one base URL. Do sends a Request
// with its Auth (a bearer token or HTTP Basic) and an optional JSON or
// form body, and reads at most MaxBody bytes of the answer. It returns:
//
//   - the *Response when the status is one the Request accepts (any 2xx
//     unless Request.OK says otherwise);
//   - a *StatusError for any other status, carrying the status, the
//     headers, the bounded body and the provider's own explanation
//     (Message), scrubbed of every secret the request carried;
//   - an *openrunner.Error with code EINTERNAL when the provider cannot be
//     reached or its answer cannot be read, naming the provider and the
//     base URL and asking to try again later.
//
// Secrets never reach errors or logs: an Auth prints as [REDACTED], URLs
// built by callers carry no credentials, and every text taken from a
// provider (error messages, transport errors) goes through Clean, which
// removes the request's secrets (the Auth's and Request.Hide), control
// characters and excess length.
//
// GitHub requests ask for application/vnd.github+json with
// X-GitHub-Api-Version 2022-11-28 ("Getting started with the REST API");
// the OAuth endpoints on github.com are asked for application/json.
package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
)

// The providers' public addresses.
const (
	DefaultGitHubURL       = "https://github.com"
	DefaultGitHubAPIURL    = "https://api.github.com"
	DefaultBitbucketURL    = "https://bitbucket.org"
	DefaultBitbucketAPIURL = "https://api.bitbucket.org/2.0"
)

// Request conventions and limits.
const (
	// GitHubAccept is the media type of GitHub's REST API. Requests that
	// ask for it also send X-GitHub-Api-Version: GitHubAPIVersion.
	GitHubAccept     = "application/vnd.github+json"
	GitHubAPIVersion = "2022-11-28"
	// UserAgent is sent with every request; GitHub requires one.
	UserAgent = "OpenRunner"
	// DefaultMaxBody bounds what is read of an answer by default.
	DefaultMaxBody = 1 << 20
	// Timeout is the time limit of the client NewHTTPClient returns.
	Timeout = 30 * time.Second
)

// NewHTTPClient returns an *http.Client for calls that carry client
// secrets: a Timeout, and no redirects followed (Go would re-send a POST
// body, secrets included, to wherever a 307 points). A redirect is
// returned to the caller as the 3xx answer.
func NewHTTPClient() *http.Client {
	return &http.Client{
		Timeout:       Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Client calls one provider's endpoints under one base URL. Its fields are
// read by every call: set them before the first and do not change them
// afterwards. A Client is safe for concurrent use.
type Client struct {
	// Provider is openrunner.ProviderGitHub or ProviderBitbucket; any
	// case is accepted ("github" too).
	Provider string
	// BaseURL is the root that Request.Path is appended to, e.g.
	// https://api.github.com, https://HOST/api/v3 or
	// https://api.bitbucket.org/2.0. It is named in errors, so it must
	// not carry credentials.
	BaseURL string
	// HTTP sends the requests. Default: http.DefaultClient.
	HTTP *http.Client
	// Accept is the media type asked for. Default: GitHubAccept for
	// GitHub, application/json for Bitbucket.
	Accept string
	// MaxBody bounds what is read of an answer. Default: DefaultMaxBody.
	MaxBody int64
	// Logger, if set, receives a warning when the provider cannot be
	// reached. Never a secret.
	Logger *slog.Logger
}

// Auth is how a request authenticates: a bearer token, HTTP Basic, or
// nothing (the zero value). It prints as [REDACTED] through fmt and slog.
type Auth struct {
	user, secret string
	basic        bool
}

// Bearer authenticates with "Authorization: Bearer <token>"; an empty
// token sends no Authorization header.
func Bearer(token string) Auth { return Auth{secret: token} }

// Basic authenticates with HTTP Basic.
func Basic(user, password string) Auth { return Auth{user: user, secret: password, basic: true} }

func (a Auth) apply(r *http.Request) {
	switch {
	case a.basic:
		r.SetBasicAuth(a.user, a.secret)
	case a.secret != "":
		r.Header.Set("Authorization", "Bearer "+a.secret)
	}
}

// String implements fmt.Stringer.
func (Auth) String() string { return Redacted }

// GoString implements fmt.GoStringer, for %#v.
func (Auth) GoString() string { return Redacted }

// Format implements fmt.Formatter, so no verb shows the secret.
func (Auth) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// LogValue implements slog.LogValuer.
func (Auth) LogValue() slog.Value { return slog.StringValue(Redacted) }

// Request is one call.
type Request struct {
	// Method is the HTTP method; default GET.
	Method string
	// Path is appended to the Client's BaseURL ("/user",
	// "/repos/o/r/hooks?per_page=100"); callers escape its segments.
	Path string
	// URL, if set, is used instead of BaseURL + Path: an absolute URL the
	// provider handed out, such as the next page of a listing (check it
	// with SameOrigin first).
	URL string
	// Auth authenticates the request.
	Auth Auth
	// JSON, if not nil, is sent as an application/json body.
	JSON any
	// Form, if not nil, is sent as an application/x-www-form-urlencoded
	// body (used when JSON is nil).
	Form url.Values
	// OK lists the statuses that are a success. Default: any 2xx.
	OK []int
	// Hide lists more values that the provider must not be seen echoing
	// (authorization codes, refresh tokens, client and webhook secrets);
	// the Auth's secret is always hidden.
	Hide []string
}

// secrets lists the values no text derived from the answer may show.
func (r *Request) secrets() []string {
	return append([]string{r.Auth.secret}, r.Hide...)
}

// Response is a provider's answer with an accepted status.
type Response struct {
	Status int
	Header http.Header
	// Body is the answer's body, at most the Client's MaxBody bytes.
	Body []byte
}

// Decode unmarshals the JSON body into v.
func (r *Response) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// StatusError is a provider's answer with a status the request did not
// accept. Its Error text is safe to log; Body is not (a provider may echo
// what it was sent), so read facts out of it, never show it.
type StatusError struct {
	// Provider and BaseURL are the Client's.
	Provider, BaseURL string
	Status            int
	Header            http.Header
	Body              []byte
	// Message is the provider's explanation (see Message), passed through
	// Reason with the request's secrets; "" when the body has none.
	Message string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s at %s answered HTTP %d", Name(e.Provider), e.BaseURL, e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// RateLimited reports whether the answer is a rate limit rather than a
// verdict: HTTP 429, or a 403 with X-RateLimit-Remaining: 0 or a
// Retry-After header (GitHub's secondary limits).
func (e *StatusError) RateLimited() bool {
	return e.Status == http.StatusTooManyRequests ||
		(e.Status == http.StatusForbidden && (e.Header.Get("X-RateLimit-Remaining") == "0" || e.Header.Get("Retry-After") != ""))
}

// Unavailable reports whether the answer says nothing about the request or
// its credential: a rate limit or a server error.
func (e *StatusError) Unavailable() bool {
	return e.RateLimited() || e.Status >= 500
}

// Text returns Message, or the status's standard text when the provider
// gave none.
func (e *StatusError) Text() string {
	if e.Message != "" {
		return e.Message
	}
	return http.StatusText(e.Status)
}

// github reports whether the Client talks to GitHub.
func (c *Client) github() bool { return strings.EqualFold(c.Provider, openrunner.ProviderGitHub) }

// Do sends req and reads the answer (see the package documentation for
// what it returns).
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	name := Name(c.Provider)
	var (
		body        io.Reader
		contentType string
	)
	switch {
	case req.JSON != nil:
		raw, err := json.Marshal(req.JSON)
		if err != nil {
			return nil, err
		}
		body, contentType = bytes.NewReader(raw), "application/json"
	case req.Form != nil:
		body, contentType = strings.NewReader(req.Form.Encode()), "application/x-www-form-urlencoded"
	}
	endpoint := req.URL
	if endpoint == "" {
		endpoint = c.BaseURL + req.Path
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, method, endpoint, body)
	if err != nil {
		// Never quote endpoint: only BaseURL is known to be safe to show.
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "The %s URL %s is not valid.", name, c.BaseURL)
	}
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}
	accept := c.Accept
	if accept == "" {
		accept = "application/json"
		if c.github() {
			accept = GitHubAccept
		}
	}
	hr.Header.Set("Accept", accept)
	if c.github() && accept == GitHubAccept {
		hr.Header.Set("X-GitHub-Api-Version", GitHubAPIVersion)
	}
	hr.Header.Set("User-Agent", UserAgent)
	req.Auth.apply(hr)

	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		detail := err.Error()
		// *url.Error repeats the method and URL; keep only the cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			detail = ue.Err.Error()
		}
		detail = Reason(detail, req.secrets()...)
		if c.Logger != nil {
			c.Logger.Warn("provider unreachable", "provider", c.Provider, "url", c.BaseURL, "err", detail)
		}
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "Could not reach %s at %s: %s. Try again later.", name, c.BaseURL, detail)
	}
	defer resp.Body.Close()
	limit := c.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	buf, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "Could not read the answer of %s at %s. Try again later.", name, c.BaseURL)
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if req.OK != nil {
		ok = slices.Contains(req.OK, resp.StatusCode)
	}
	if !ok {
		return nil, &StatusError{
			Provider: c.Provider, BaseURL: c.BaseURL, Status: resp.StatusCode, Header: resp.Header, Body: buf,
			Message: Reason(Message(buf), req.secrets()...),
		}
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: buf}, nil
}

// SameOrigin reports whether u is on the scheme and host of the Client's
// BaseURL, so that following it (a next page) sends the credential
// nowhere else.
func (c *Client) SameOrigin(u string) bool {
	b, err1 := url.Parse(c.BaseURL)
	n, err2 := url.Parse(u)
	return u != "" && err1 == nil && err2 == nil && b.Scheme == n.Scheme && strings.EqualFold(b.Host, n.Host)
}

// NextLink returns the rel="next" target of a GitHub Link header, or "".
func NextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for part := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for p := range strings.SplitSeq(params, ";") {
				if k, val, _ := strings.Cut(strings.TrimSpace(p), "="); k == "rel" && strings.Trim(val, `"`) == "next" {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}
