package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/metrics"
	"github.com/openrunner/openrunner/wire"
)

// Config configures a Console. Zero values are defaults, except that
// Connections and SignIn are needed for anything useful.
type Config struct {
	// Connections stores connections; the console lists, creates and
	// deletes them in the signed-in Scope.
	Connections openrunner.ConnectionService
	// Handshakes approves connections with their provider. Nil: the
	// Complete handshake button explains that OAuth is not configured.
	Handshakes openrunner.HandshakeService

	// SignIn checks an access key id and secret against the same
	// credentials SigV4 uses; ok=false: wrong pair. err is for failures
	// to check (it is logged, and the person sees a generic message).
	SignIn func(ctx context.Context, accessKeyID, secret string) (accountID string, ok bool, err error)

	// API runs the App Runner operations in-process: the api package's
	// Server, whose validation, defaults and messages the service and auto
	// scaling pages share by calling it (never over HTTP). Nil: those pages
	// explain that this server runs no services.
	API wire.AppRunner
	// Logs reads the service and application logs of the Logs tab.
	Logs openrunner.LogService
	// Metrics returns the sampled history of a service for the Metrics
	// tab, oldest first; nil when none is kept.
	Metrics func(serviceARN string) []metrics.Point
	// MetricsInterval is the sampling interval of Metrics, to label charts.
	MetricsInterval time.Duration
	// ServiceLink turns a ServiceUrl (a host name) into the URL a browser
	// opens, with the router's scheme and port; nil: "https://" + host.
	ServiceLink func(host string) string

	// Regions are offered in the region selector, the first one chosen at
	// sign-in. Nil: DefaultRegions.
	Regions []string

	// Secure sets the Secure attribute on cookies. Set it when the console
	// is served over TLS (directly or behind a TLS-terminating proxy).
	Secure bool

	// Now returns the current time; nil means time.Now. Sessions and the
	// sign-in throttle measure time with it.
	Now func() time.Time
	// Logger receives the console's logs; nil discards them. Logs never
	// contain secrets, session ids, tokens or OAuth codes.
	Logger *slog.Logger
	// Sessions, when set, keeps sessions where every server on the
	// database finds them; nil keeps them in this process.
	Sessions openrunner.EphemeralService
}

// DefaultRegions are the AWS Regions the region selector offers when
// Config.Regions is nil.
var DefaultRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"af-south-1",
	"ap-east-1", "ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ca-central-1", "ca-west-1",
	"eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"eu-south-1", "eu-south-2", "eu-north-1",
	"il-central-1", "me-south-1", "me-central-1", "mx-central-1", "sa-east-1",
}

// Paths the console serves. It expects to see full request paths: mount it
// with mux.Handle("/console/", c), without http.StripPrefix.
const (
	pathRoot        = "/console/"
	pathSignIn      = "/console/signin"
	pathSignOut     = "/console/signout"
	pathRegion      = "/console/region"
	pathConnections = "/console/connections"
	pathDelete      = "/console/connections/delete"
	pathHandshake   = "/console/connections/handshake"
	// PathCallback is the OAuth redirect URI the handshake service must
	// send providers back to (its CallbackURL is the console's origin
	// followed by this path).
	PathCallback = "/console/oauth/callback"
	pathCSS      = "/console/static/style.css"
	pathJS       = "/console/static/console.js"

	pathServices      = "/console/services"
	pathServiceCreate = "/console/services/create"
	pathService       = "/console/services/view"
	pathServiceAction = "/console/services/action"
	pathServiceEdit   = "/console/services/edit"
	pathServiceDelete = "/console/services/delete"
	pathServiceLogs   = "/console/services/logs"
	pathDomains       = "/console/services/domains"
	pathAutoScaling   = "/console/autoscaling"
	pathASCDefault    = "/console/autoscaling/default"
	pathASCDelete     = "/console/autoscaling/delete"
)

// maxFormBytes limits a form body; the console's forms are tiny.
const maxFormBytes = 64 << 10

// csrfField is the name of the hidden field holding the CSRF token.
const csrfField = "csrf_token"

// Console is the web console, an http.Handler for everything under
// /console/.
type Console struct {
	cfg       Config
	regions   []string
	now       func() time.Time
	logger    *slog.Logger
	sessions  *sessionStore
	throttle  *throttle
	pages     map[string]*template.Template
	css       []byte
	cssETag   string
	cssPath   string // with a version query, so browsers refetch a new file
	js        []byte
	jsETag    string
	jsPath    string
	startTime time.Time

	// wait pauses a failed sign-in's answer; tests replace it to observe
	// the delay without sleeping.
	wait func(ctx context.Context, d time.Duration)
}

var _ http.Handler = (*Console)(nil)

//go:embed templates/*.html static/style.css static/console.js
var assets embed.FS

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"signin", "connections", "delete", "error",
	"services", "service", "serviceform", "servicedelete", "autoscaling"}

// parsedPages holds the templates, parsed once: they are embedded, so a
// parse error is a build defect that every test reports.
var parsedPages, parseErr = parsePages()

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(assets, "templates/layout.html", "templates/fields.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// New returns a Console for cfg.
func New(cfg Config) *Console {
	c := &Console{cfg: cfg, now: cfg.Now, logger: cfg.Logger, pages: parsedPages}
	if c.now == nil {
		c.now = time.Now
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	for _, r := range cfg.Regions {
		if r = strings.TrimSpace(r); r != "" && !slices.Contains(c.regions, r) {
			c.regions = append(c.regions, r)
		}
	}
	if len(c.regions) == 0 {
		c.regions = slices.Clone(DefaultRegions)
	}
	c.sessions = newSessionStore(c.now)
	if cfg.Sessions != nil {
		c.sessions.shared = &sharedSessions{store: cfg.Sessions, logger: c.logger}
	}
	c.throttle = newThrottle(c.now)
	c.wait = sleep
	c.css, _ = fs.ReadFile(assets, "static/style.css")
	sum := sha256.Sum256(c.css)
	c.cssETag = `"` + hex.EncodeToString(sum[:8]) + `"`
	c.cssPath = pathCSS + "?v=" + hex.EncodeToString(sum[:8])
	c.js, _ = fs.ReadFile(assets, "static/console.js")
	sum = sha256.Sum256(c.js)
	c.jsETag = `"` + hex.EncodeToString(sum[:8]) + `"`
	c.jsPath = pathJS + "?v=" + hex.EncodeToString(sum[:8])
	c.startTime = c.now()
	if parseErr != nil {
		c.logger.Error("console: templates do not parse", "err", parseErr)
	}
	return c
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ServeHTTP routes a request under /console/.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &responseWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// The value is logged by type and text only; handlers never
			// hold secrets in values they could panic with.
			c.logger.Error("console: panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			if !rw.wrote {
				c.renderError(rw, r, http.StatusInternalServerError, "Something went wrong", "An internal error occurred. Try again in a moment.")
			}
		}
	}()

	h := rw.Header()
	// The only script is the console's own file (it follows logs live);
	// the console never loads anything from elsewhere. form-action is left
	// out on purpose: Complete handshake is a form whose answer redirects
	// to the provider, which form-action would block.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// The callback URL carries an OAuth code; never send console URLs to
	// another site.
	h.Set("Referrer-Policy", "same-origin")

	c.route(rw, r)
}

// route dispatches on path and method.
func (c *Console) route(w http.ResponseWriter, r *http.Request) {
	type route struct {
		get, post http.HandlerFunc
	}
	var rt route
	switch r.URL.Path {
	case pathRoot:
		rt.get = c.handleRoot
	case pathSignIn:
		rt = route{c.handleSignInPage, c.handleSignIn}
	case pathSignOut:
		rt.post = c.handleSignOut
	case pathRegion:
		rt.post = c.authed(c.handleRegion)
	case pathConnections:
		rt = route{c.authed(c.handleConnections), c.authed(c.handleCreate)}
	case pathDelete:
		rt = route{c.authed(c.handleDeletePage), c.authed(c.handleDelete)}
	case pathHandshake:
		rt.post = c.authed(c.handleHandshake)
	case PathCallback:
		rt.get = c.handleCallback
	case pathCSS:
		rt.get = c.handleCSS
	case pathJS:
		rt.get = c.handleJS
	default:
		if rt, ok := c.serviceRoutes(r.URL.Path); ok {
			c.dispatch(w, r, rt.get, rt.post)
			return
		}
		c.renderError(w, r, http.StatusNotFound, "Page not found", "There is no console page at this address.")
		return
	}
	c.dispatch(w, r, rt.get, rt.post)
}

// dispatch calls get or post by method, or answers 405.
func (c *Console) dispatch(w http.ResponseWriter, r *http.Request, get, post http.HandlerFunc) {
	switch {
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && get != nil:
		get(w, r)
	case r.Method == http.MethodPost && post != nil:
		post(w, r)
	default:
		var allow []string
		if get != nil {
			allow = append(allow, http.MethodGet, http.MethodHead)
		}
		if post != nil {
			allow = append(allow, http.MethodPost)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		c.renderError(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page cannot be used this way. Go back and use the buttons on the page.")
	}
}

// responseWriter notes whether anything was written, so a recovered panic
// renders an error page only on a clean response.
type responseWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *responseWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handleRoot sends the console's front door to the connections page, or
// to sign-in.
func (c *Console) handleRoot(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, pathConnections, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, pathSignIn, http.StatusSeeOther)
}

// handleCSS serves the style sheet.
func (c *Console) handleCSS(w http.ResponseWriter, r *http.Request) {
	c.serveAsset(w, r, "style.css", "text/css; charset=utf-8", c.cssETag, c.css)
}

// handleJS serves the console's one script.
func (c *Console) handleJS(w http.ResponseWriter, r *http.Request) {
	c.serveAsset(w, r, "console.js", "text/javascript; charset=utf-8", c.jsETag, c.js)
}

func (c *Console) serveAsset(w http.ResponseWriter, r *http.Request, name, typ, etag string, b []byte) {
	w.Header().Set("Content-Type", typ)
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, name, c.startTime, bytes.NewReader(b))
}

// session returns the live session of r's cookie.
func (c *Console) session(r *http.Request) (sessionView, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return sessionView{}, false
	}
	return c.sessions.get(ck.Value)
}

// authedHandler handles a request of a signed-in session; ctx carries the
// session's Scope.
type authedHandler func(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView)

// authed wraps h: it requires a live session (a GET without one goes to
// sign-in and comes back; a POST without one is refused), and for a POST a
// form carrying the session's CSRF token.
func (c *Console) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if r.Method == http.MethodPost {
			if !ok {
				c.renderError(w, r, http.StatusForbidden, "Your session has ended",
					"You were signed out, so nothing was changed. Sign in again and repeat what you were doing.")
				return
			}
			if !c.parseForm(w, r) {
				return
			}
			if !tokenEqual(r.PostForm.Get(csrfField), s.csrf) {
				c.logger.Warn("console: POST without a valid CSRF token", "path", r.URL.Path, "remote", clientKey(r))
				c.renderError(w, r, http.StatusForbidden, "This form has expired",
					"The form was not sent from a current console page, so nothing was changed. Go back, reload the page and try again.")
				return
			}
		} else if !ok {
			target := pathSignIn
			if r.URL.Path != pathConnections {
				target += "?" + url.Values{"next": {r.URL.RequestURI()}}.Encode()
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		ctx := openrunner.NewContextWithScope(r.Context(), openrunner.Scope{AccountID: s.accountID, Region: s.region})
		h(w, r, ctx, s)
	}
}

// parseForm reads a POST form of bounded size; on failure it answers and
// returns false.
func (c *Console) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.renderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read. Go back, reload the page and try again.")
		return false
	}
	return true
}

// safeNext returns next if it is a console page to return to after
// sign-in or a region switch, and the connections page otherwise, so that
// no form can send the browser to another site.
func safeNext(next string) string {
	if next == "" || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return pathConnections
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, pathRoot) ||
		u.Path == pathSignIn || u.Path == pathSignOut || u.Path == PathCallback {
		return pathConnections
	}
	return u.RequestURI()
}

// layout is the data every page's layout reads.
type layout struct {
	Title     string
	CSS       string
	JS        string // set by pages that run the console's script
	Nav       string // the header tab to mark: services, autoscaling, connections
	SignedIn  bool
	AccountID string
	KeyID     string // the access key id used to sign in
	Region    string
	Regions   []string
	CSRF      string
	Here      string // the page's own URL, for the region form to return to
	Flashes   []flash
	Page      any
}

// render writes page name with the given data. It renders into a buffer
// first, so a template failure becomes a clean error page, never half a
// page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, l layout) {
	l.CSS = c.cssPath
	t := c.pages[name]
	var buf bytes.Buffer
	if t == nil {
		c.writeFallback(w, status)
		return
	}
	if err := t.Execute(&buf, l); err != nil {
		c.logger.Error("console: rendering a page", "page", name, "err", err)
		if name == "error" {
			c.writeFallback(w, http.StatusInternalServerError)
			return
		}
		c.renderError(w, r, http.StatusInternalServerError, "Something went wrong", "An internal error occurred. Try again in a moment.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeFallback answers when even the error page cannot be rendered.
func (c *Console) writeFallback(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "OpenRunner console: an internal error occurred.\n")
}

// errorPage is the data of templates/error.html.
type errorPage struct {
	Status  int
	Heading string
	Message string
}

// renderError shows a friendly error page. The header shows the session
// when there is one, so the person can carry on from there.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	l := layout{Title: heading, Page: errorPage{Status: status, Heading: heading, Message: message}}
	if s, ok := c.session(r); ok {
		c.fillHeader(&l, s, pathConnections)
	}
	c.render(w, r, status, "error", l)
}

// fillHeader sets the header fields of a signed-in page.
func (c *Console) fillHeader(l *layout, s sessionView, here string) {
	l.SignedIn = true
	l.AccountID = s.accountID
	l.KeyID = s.accessKeyID
	l.Region = s.region
	l.Regions = c.regions
	l.CSRF = s.csrf
	l.Here = here
	switch {
	case strings.HasPrefix(here, pathServices):
		l.Nav = "services"
	case strings.HasPrefix(here, pathAutoScaling):
		l.Nav = "autoscaling"
	default:
		l.Nav = "connections"
	}
}

// storeError logs an error from a store or service call when it is not
// an application error, and returns the message that is safe to show.
func (c *Console) storeError(r *http.Request, op string, err error) string {
	if openrunner.ErrorCode(err) == openrunner.EINTERNAL {
		var e *openrunner.Error
		if !errors.As(err, &e) {
			c.logger.Error("console: "+op, "path", r.URL.Path, "err", err)
		}
	}
	return openrunner.ErrorMessage(err)
}

var templateFuncs = template.FuncMap{
	"statusClass": func(status string) string {
		switch status {
		case openrunner.ConnectionAvailable:
			return "ok"
		case openrunner.ConnectionPendingHandshake:
			return "pending"
		case openrunner.ConnectionError:
			return "error"
		default:
			return "muted"
		}
	},
	"providerName": providerName,
	"serviceClass": serviceClass,
	"serviceURL":   serviceURL,
	"fe": func(errs map[string]string, field string) fieldError {
		return fieldError{Field: field, Msg: errs[field]}
	},
	"field": newInputField,
	"domainClass": func(status string) string {
		// App Runner sends domain statuses in lower case, unlike the
		// model's enum.
		switch strings.ToUpper(status) {
		case "ACTIVE", "SUCCESS":
			return "ok"
		case "CREATE_FAILED", "DELETE_FAILED", "FAILED":
			return "error"
		case "DELETING":
			return "muted"
		default:
			return "pending"
		}
	},
}

// inputField is a labelled text input with its hint and error, for the
// "input" template.
type inputField struct {
	ID, Label, Value, Msg   string
	Note, Placeholder, Hint string
	Class                   string
	Numeric                 bool
}

// newInputField builds an inputField; opts are "numeric", and "note=",
// "placeholder=", "hint=" and "class=" settings.
func newInputField(errs map[string]string, id, label, value string, opts ...string) inputField {
	f := inputField{ID: id, Label: label, Value: value, Msg: errs[id]}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "numeric":
			f.Numeric = true
		case "note":
			f.Note = v
		case "placeholder":
			f.Placeholder = v
		case "hint":
			f.Hint = v
		case "class":
			f.Class = v
		}
	}
	return f
}

// fieldError is a form field's error, for the "ferr" template.
type fieldError struct{ Field, Msg string }

// serviceClass is the badge colour of a service or operation status.
func serviceClass(status string) string {
	switch status {
	case openrunner.ServiceRunning, openrunner.OperationSucceeded:
		return "ok"
	case openrunner.ServiceOperationInProgress, openrunner.OperationPending, openrunner.OperationInProgress, openrunner.OperationRollbackInProgress:
		return "pending"
	case openrunner.ServiceCreateFailed, openrunner.ServiceDeleteFailed, openrunner.OperationFailed, openrunner.OperationRollbackFailed:
		return "error"
	case openrunner.OperationRollbackSucceeded:
		return "warn"
	default:
		return "muted"
	}
}

// providerName is a provider type as people write it.
func providerName(p string) string {
	switch p {
	case openrunner.ProviderGitHub:
		return "GitHub"
	case openrunner.ProviderBitbucket:
		return "Bitbucket"
	default:
		return p
	}
}
