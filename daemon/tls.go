package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/openrunner/openrunner/edge"
	"github.com/openrunner/openrunner/localca"
	"github.com/openrunner/openrunner/router"
	"github.com/openrunner/openrunner/vault"
)

// CADir is the local CA's directory inside the data directory.
const CADir = "ca"

// routerTLS is the router's HTTPS side.
type routerTLS struct {
	ca     *localca.CA
	edge   *edge.Edge
	ln     net.Listener // nil with --router-tls-listen off
	server *http.Server
	served chan error
}

// openRouterTLS opens the local CA and the operator's certificate, builds
// the edge around rtr and binds the TLS listener. Nothing is served until
// serveRouterTLS, so hooks set on d.tls.edge in between see every request.
func (d *Daemon) openRouterTLS(rtr *router.Router) error {
	v, err := vault.New(d.master)
	if err != nil {
		return err
	}
	if d.tls.ca, err = d.openCA(v); err != nil {
		return err
	}
	d.tls.edge = &edge.Edge{Handler: rtr, CA: d.tls.ca, Routed: rtr.Serves, Redirect: d.cfg.RedirectHTTP, Logger: d.logger}
	if (d.cfg.TLSCertFile == "") != (d.cfg.TLSKeyFile == "") {
		return errors.New("a TLS certificate needs both --tls-cert-file and --tls-key-file")
	}
	if d.cfg.TLSCertFile != "" {
		if d.tls.edge.Operator, err = edge.LoadKeyPair(d.cfg.TLSCertFile, d.cfg.TLSKeyFile, d.logger); err != nil {
			return err
		}
	}
	if d.cfg.RouterTLSListen == "off" {
		if d.cfg.RedirectHTTP {
			return errors.New("--redirect-http needs the HTTPS listener; --router-tls-listen is off")
		}
		return nil
	}
	if d.tls.ln, err = net.Listen("tcp", d.cfg.RouterTLSListen); err != nil {
		return fmt.Errorf("router TLS: %w", err)
	}
	d.tls.edge.TLSPort = d.tls.ln.Addr().(*net.TCPAddr).Port
	return nil
}

// openCA opens the local CA. One whose key the secret key cannot open (the
// data directory was copied without secret.key) is moved aside and a new one
// made, loudly: the server starts, as it does when connection tokens are
// unreadable, and clients must trust the new root.
func (d *Daemon) openCA(v *vault.Vault) (*localca.CA, error) {
	dir := filepath.Join(d.cfg.DataDir, CADir)
	opts := localca.Options{Dir: dir, Sealer: v, Now: d.cfg.Now}
	ca, err := localca.Open(opts)
	if !errors.Is(err, localca.ErrKeyUnreadable) {
		return ca, err
	}
	aside := fmt.Sprintf("%s.unreadable-%d", dir, d.cfg.Now().Unix())
	if err := os.Rename(dir, aside); err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	d.logger.Error("the secret key does not match the one the local CA's key was sealed with: a new local CA was made, "+
		"and HTTPS clients must trust its root (openrunner ca). Restore the data directory's original secret.key to keep the old one.", "old_ca", aside)
	return localca.Open(opts)
}

// serveRouterTLS starts serving HTTPS (HTTP/2 and HTTP/1.1) on the bound
// listener.
func (d *Daemon) serveRouterTLS() error {
	if d.tls.ln == nil {
		return nil
	}
	// Failed handshakes (a client that does not trust the local CA, a
	// port scanner) are the client's business: Debug, not Warn.
	d.tls.server = d.httpServer(d.tls.edge.HTTPSHandler(), slog.NewLogLogger(d.logger.Handler(), slog.LevelDebug))
	d.tls.server.TLSConfig = d.tls.edge.TLSConfig()
	d.tls.served = make(chan error, 1)
	go func() { d.tls.served <- d.tls.server.ServeTLS(d.tls.ln, "", "") }()
	return nil
}

// closeRouterTLS stops the HTTPS listener, waiting up to 10 s for requests
// in flight.
func (d *Daemon) closeRouterTLS() {
	if d.tls.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = d.tls.server.Shutdown(ctx)
		cancel()
		<-d.tls.served
		d.tls.server = nil
	} else if d.tls.ln != nil {
		d.tls.ln.Close()
	}
	d.tls.ln = nil
}

// RouterTLSURL returns the data plane's HTTPS base URL, e.g.
// https://127.0.0.1:4592; "" when no services run or HTTPS is off.
func (d *Daemon) RouterTLSURL() string {
	if d.tls.ln == nil {
		return ""
	}
	return "https://" + d.tls.ln.Addr().String()
}

// LocalCA returns the local certificate authority; nil when no services
// run.
func (d *Daemon) LocalCA() *localca.CA { return d.tls.ca }

// Edge returns the router's listeners' front (package edge), whose hooks
// custom domains set; nil when no services run.
func (d *Daemon) Edge() *edge.Edge { return d.tls.edge }

// defaultRouterTLSListen is the HTTPS address of a Config that names none;
// see Config.RouterTLSListen.
func defaultRouterTLSListen(routerListen string) string {
	if routerListen == "" {
		return DefaultRouterTLSListen
	}
	host, _, err := net.SplitHostPort(routerListen)
	if err != nil {
		return DefaultRouterTLSListen
	}
	return net.JoinHostPort(host, "0")
}
