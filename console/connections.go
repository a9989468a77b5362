package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// connectionsPage is the data of templates/connections.html.
type connectionsPage struct {
	Connections []connectionRow
	LoadError   string
	Form        createForm
	Providers   []string
	Handshakes  bool // whether a handshake service is configured
}

// connectionRow is one connection as the table shows it.
type connectionRow struct {
	ID              string
	Name            string
	ARN             string
	Provider        string
	Status          string
	StatusMessage   string
	ProviderAccount string
	Created         string // UTC date and time
	CreatedDate     string // UTC date
	CreatedTime     string // UTC time of day
	CreatedISO      string
	Age             string // "5 minutes ago"
	CanHandshake    bool
}

// deletePage is the data of templates/delete.html.
type deletePage struct {
	Connection connectionRow
}

func (c *Console) row(conn *openrunner.Connection) connectionRow {
	return connectionRow{
		ID:              conn.ID,
		Name:            conn.Name,
		ARN:             conn.ARN(),
		Provider:        conn.ProviderType,
		Status:          conn.Status,
		StatusMessage:   conn.StatusMessage,
		ProviderAccount: conn.ProviderAccount,
		Created:         conn.CreatedAt.UTC().Format("Jan 2, 2006 15:04 UTC"),
		CreatedDate:     conn.CreatedAt.UTC().Format("Jan 2, 2006"),
		CreatedTime:     conn.CreatedAt.UTC().Format("15:04 UTC"),
		CreatedISO:      conn.CreatedAt.UTC().Format(time.RFC3339),
		Age:             ago(c.now().Sub(conn.CreatedAt)),
		CanHandshake:    conn.Status == openrunner.ConnectionPendingHandshake || conn.Status == openrunner.ConnectionError,
	}
}

// ago describes a duration in the past in words.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < 2*time.Minute:
		return "1 minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 2*time.Hour:
		return "1 hour ago"
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	}
}

// handleConnections lists the Scope's connections, with the create form.
func (c *Console) handleConnections(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	flashes, form := c.sessions.takePageState(s.key)
	p := connectionsPage{
		Form:       form,
		Providers:  []string{openrunner.ProviderGitHub, openrunner.ProviderBitbucket},
		Handshakes: c.cfg.Handshakes != nil,
	}
	if p.Form.Provider == "" {
		p.Form.Provider = openrunner.ProviderGitHub
	}
	status := http.StatusOK
	if c.cfg.Connections == nil {
		c.logger.Error("console: no ConnectionService configured")
		p.LoadError = openrunner.ErrorMessage(errNotConfigured)
		status = http.StatusInternalServerError
	} else if page, err := c.cfg.Connections.FindConnections(ctx, openrunner.ConnectionFilter{}); err != nil {
		p.LoadError = c.storeError(r, "listing connections", err)
		status = http.StatusInternalServerError
	} else {
		for _, conn := range page.Connections {
			p.Connections = append(p.Connections, c.row(conn))
		}
	}
	l := layout{Title: "Connections", Flashes: flashes, Page: p}
	c.fillHeader(&l, s, pathConnections)
	c.render(w, r, status, "connections", l)
}

// errNotConfigured is a console wired without a store.
var errNotConfigured = openrunner.Errorf(openrunner.EINTERNAL, "An internal error occurred.")

// handleCreate creates a connection with the API's validation and
// messages.
func (c *Console) handleCreate(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	form := createForm{Name: r.PostForm.Get("name"), Provider: r.PostForm.Get("provider")}
	// Absent fields are null and empty ones are "", exactly as the API
	// would see them, so the validation message is the API's.
	in := wire.CreateConnectionInput{}
	if r.PostForm.Has("name") {
		in.ConnectionName = &form.Name
	}
	if r.PostForm.Has("provider") {
		in.ProviderType = wire.Ptr(wire.ProviderType(form.Provider))
	}
	fail := func(msg string) {
		c.sessions.update(s.key, func(s *session) { s.form = form })
		c.sessions.addFlash(s.key, "error", msg)
		http.Redirect(w, r, pathConnections, http.StatusSeeOther)
	}
	if err := in.Validate(); err != nil {
		fail(openrunner.ErrorMessage(err))
		return
	}
	if c.cfg.Connections == nil {
		fail(openrunner.ErrorMessage(errNotConfigured))
		return
	}
	conn := &openrunner.Connection{Name: form.Name, ProviderType: form.Provider}
	if err := c.cfg.Connections.CreateConnection(ctx, conn, nil); err != nil {
		fail(c.storeError(r, "creating a connection", err))
		return
	}
	c.logger.Info("console: connection created", "account", s.accountID, "region", s.region, "arn", conn.ARN())
	c.sessions.addFlash(s.key, "success", fmt.Sprintf("Connection %s created. Complete the handshake with %s to make it AVAILABLE.", conn.Name, providerName(conn.ProviderType)))
	http.Redirect(w, r, pathConnections, http.StatusSeeOther)
}

// ownedConnection finds the connection with that ARN in the session's
// Scope. An ARN of another account or Region is not found, as if it did
// not exist, like the API answers.
func (c *Console) ownedConnection(ctx context.Context, arn string) (*openrunner.Connection, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	a, err := openrunner.ParseARN(arn)
	if err != nil {
		return nil, err
	}
	if a.Type != openrunner.ResourceConnection {
		return nil, openrunner.Errorf(openrunner.EINVALID, "The ARN you specified isn't a %s ARN. ARN: '%s'", openrunner.ResourceConnection, openrunner.Truncate(arn, 200))
	}
	if a.Scope() != scope {
		return nil, openrunner.Errorf(openrunner.ENOTFOUND, "No connection found for the ARN: %s", openrunner.Truncate(arn, 200))
	}
	if c.cfg.Connections == nil {
		return nil, errNotConfigured
	}
	return c.cfg.Connections.FindConnectionByARN(ctx, arn)
}

// handleDeletePage asks for confirmation before a delete.
func (c *Console) handleDeletePage(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	conn, err := c.ownedConnection(ctx, r.URL.Query().Get("arn"))
	if err != nil {
		c.sessions.addFlash(s.key, "error", c.storeError(r, "finding a connection", err))
		http.Redirect(w, r, pathConnections, http.StatusSeeOther)
		return
	}
	l := layout{Title: "Delete " + conn.Name, Page: deletePage{Connection: c.row(conn)}}
	// A Region switch from here lands on the list: this connection does
	// not exist in the other Region.
	c.fillHeader(&l, s, pathConnections)
	c.render(w, r, http.StatusOK, "delete", l)
}

// handleDelete deletes a connection.
func (c *Console) handleDelete(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	arn := r.PostForm.Get("arn")
	if _, err := c.ownedConnection(ctx, arn); err != nil {
		c.sessions.addFlash(s.key, "error", c.storeError(r, "finding a connection", err))
		http.Redirect(w, r, pathConnections, http.StatusSeeOther)
		return
	}
	conn, err := c.cfg.Connections.DeleteConnection(ctx, arn)
	if err != nil {
		c.sessions.addFlash(s.key, "error", c.storeError(r, "deleting a connection", err))
		http.Redirect(w, r, pathConnections, http.StatusSeeOther)
		return
	}
	c.logger.Info("console: connection deleted", "account", s.accountID, "region", s.region, "arn", arn)
	c.sessions.addFlash(s.key, "success", fmt.Sprintf("Connection %s deleted.", conn.Name))
	http.Redirect(w, r, pathConnections, http.StatusSeeOther)
}

// handleHandshake starts the provider's OAuth consent for a connection and
// sends the browser there.
func (c *Console) handleHandshake(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	arn := r.PostForm.Get("arn")
	fail := func(msg string) {
		c.sessions.addFlash(s.key, "error", msg)
		http.Redirect(w, r, pathConnections, http.StatusSeeOther)
	}
	if _, err := c.ownedConnection(ctx, arn); err != nil {
		fail(c.storeError(r, "finding a connection", err))
		return
	}
	if c.cfg.Handshakes == nil {
		fail("Provider handshakes are not configured on this OpenRunner server: set up the GitHub or Bitbucket OAuth settings first.")
		return
	}
	target, err := c.cfg.Handshakes.BeginHandshake(ctx, arn, s.binding())
	if err != nil {
		fail(c.storeError(r, "beginning a handshake", err))
		return
	}
	// The URL comes from our own handshake service; check it anyway, so
	// a misconfiguration can never turn this into a redirect to a
	// script: URL or a relative path.
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		c.logger.Error("console: handshake service returned an unusable URL", "arn", arn)
		fail(openrunner.ErrorMessage(errNotConfigured))
		return
	}
	if state := u.Query().Get("state"); state != "" {
		c.sessions.startHandshake(s.key, state, s.region)
	}
	c.logger.Info("console: handshake started", "account", s.accountID, "arn", arn)
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// handleCallback is where the provider sends the browser back: it
// finishes the handshake for the session that started it and shows the
// outcome on the connections page.
func (c *Console) handleCallback(w http.ResponseWriter, r *http.Request) {
	s, ok := c.session(r)
	if !ok {
		c.renderError(w, r, http.StatusUnauthorized, "Your session has ended",
			"The provider sent you back, but you are no longer signed in to the console, so the handshake could not be finished. Sign in and click Complete handshake again.")
		return
	}
	if c.cfg.Handshakes == nil {
		c.sessions.addFlash(s.key, "error", "Provider handshakes are not configured on this OpenRunner server.")
		http.Redirect(w, r, pathConnections, http.StatusSeeOther)
		return
	}
	q := r.URL.Query()
	// Finish in the Scope the handshake began in, which the handshake
	// service checks: the person may have switched Region meanwhile.
	region := c.sessions.finishHandshake(s.key, q.Get("state"))
	if region == "" {
		region = s.region
	}
	ctx := openrunner.NewContextWithScope(r.Context(), openrunner.Scope{AccountID: s.accountID, Region: region})
	conn, err := c.cfg.Handshakes.FinishHandshake(ctx, s.binding(), q.Get("state"), q.Get("code"), q.Get("error"), q.Get("error_description"))
	switch {
	case conn != nil && err == nil:
		c.logger.Info("console: handshake finished", "account", s.accountID, "arn", conn.ARN(), "status", conn.Status)
		c.sessions.addFlash(s.key, "success", fmt.Sprintf("Connection %s is now %s.", conn.Name, conn.Status))
	case conn != nil:
		reason := conn.StatusMessage
		if reason == "" {
			reason = c.storeError(r, "finishing a handshake", err)
		}
		c.logger.Info("console: handshake failed", "account", s.accountID, "arn", conn.ARN(), "status", conn.Status)
		c.sessions.addFlash(s.key, "error", fmt.Sprintf("The handshake of connection %s failed: %s", conn.Name, reason))
	default:
		if err == nil {
			err = errNotConfigured
		}
		c.sessions.addFlash(s.key, "error", c.storeError(r, "finishing a handshake", err))
	}
	// Show the connection where it lives: the person may have switched
	// Region while at the provider.
	if conn != nil && conn.Scope.AccountID == s.accountID && conn.Scope.Region != s.region && slices.Contains(c.regions, conn.Scope.Region) {
		c.sessions.update(s.key, func(s *session) { s.region = conn.Scope.Region })
	}
	http.Redirect(w, r, pathConnections, http.StatusSeeOther)
}
