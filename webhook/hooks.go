package webhook

import (
	"cmp"
	"context"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/forge"
	"github.com/openrunner/openrunner/vault"
)

// DeliveryPath is where Hooks receives deliveries, under the server's
// public URL: DeliveryPath + "<github|bitbucket>/<key>", where the key
// names a connection (<account>/<region>/<connection name>/<connection
// id>). Deliveries are authenticated by their HMAC signature, not SigV4.
const DeliveryPath = "/_openrunner/webhooks/"

// Hooks connects the push webhooks of connections to automatic
// deployments. Every connection has one delivery URL and one secret,
// shared by its services' webhooks; the secret is derived from MasterKey
// and the connection ARN, so it is never stored and differs for every
// connection. Hooks registers and removes the webhook of a service's
// repository (Register, Unregister), tells a person how to set one up by
// hand (Webhook), and serves the deliveries (ServeHTTP): each verified
// push of a branch calls AutoDeploy for every service that deploys that
// branch of that repository through that connection.
//
// Set the fields before the first use and do not change them afterwards.
type Hooks struct {
	// Connections finds the connections deliveries and services name.
	Connections openrunner.ConnectionService
	// Services finds the services a push concerns. nil: pushes deploy
	// nothing (a server that runs no services).
	Services openrunner.ServiceService
	// MasterKey derives the connections' webhook secrets.
	MasterKey []byte
	// PublicURL is how providers reach this server (scheme, host, port):
	// deliveries go to PublicURL + DeliveryPath.
	PublicURL string
	// GitHubAPIURL and BitbucketAPIURL are the REST API roots. Defaults:
	// forge.DefaultGitHubAPIURL and forge.DefaultBitbucketAPIURL.
	GitHubAPIURL, BitbucketAPIURL string
	// HTTPClient calls the providers. Default: a client with a
	// forge.Timeout time limit.
	HTTPClient *http.Client
	// Logger receives one line per delivery. Default: discard.
	Logger *slog.Logger
	// AutoDeploy is called with the ARN of each service a push concerns:
	// RUNNING or OPERATION_IN_PROGRESS (an operation in progress checks
	// again when it ends, so pushes during a deployment coalesce), with
	// source code from the pushed repository and branch through the
	// delivery's connection. It must be quick. nil: pushes deploy nothing.
	AutoDeploy func(serviceARN string)

	once    sync.Once
	handler http.Handler
	client  *http.Client
}

// init builds what the fields configure, once.
func (h *Hooks) init() {
	h.once.Do(func() {
		h.handler = http.StripPrefix(DeliveryPath, &Handler{Resolve: h.resolve, Deliver: h.deliver, Logger: h.Logger})
		h.client = h.HTTPClient
		if h.client == nil {
			h.client = &http.Client{Timeout: forge.Timeout}
		}
	})
}

// ServeHTTP serves deliveries to DeliveryPath (see Handler); mount it
// there.
func (h *Hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.init()
	h.handler.ServeHTTP(w, r)
}

// hookKey names a connection in a delivery URL:
// <account>/<region>/<connection name>/<connection id>.
func hookKey(c *openrunner.Connection) string {
	return c.Scope.AccountID + "/" + c.Scope.Region + "/" + c.Name + "/" + c.ID
}

// parseHookKey returns the connection ARN and Scope a key names.
func parseHookKey(key string) (string, openrunner.Scope, error) {
	f := strings.Split(key, "/")
	if len(f) != 4 || f[0] == "" || f[1] == "" || f[2] == "" || f[3] == "" {
		return "", openrunner.Scope{}, openrunner.Errorf(openrunner.ENOTFOUND, "no such webhook")
	}
	scope := openrunner.Scope{AccountID: f[0], Region: f[1]}
	return openrunner.NewARN(scope, openrunner.ResourceConnection, f[2], f[3]), scope, nil
}

// secret is the webhook secret of the connection with that ARN.
func (h *Hooks) secret(arn string) string {
	return hex.EncodeToString(vault.DeriveKey(h.MasterKey, "webhook-secret:"+arn))
}

// resolve is the Handler's Resolve: the secret of a key's connection, or
// ENOTFOUND when no such connection exists.
func (h *Hooks) resolve(ctx context.Context, key string) ([]byte, error) {
	arn, scope, err := parseHookKey(key)
	if err != nil {
		return nil, err
	}
	if _, err := h.Connections.FindConnectionByARN(openrunner.NewContextWithScope(ctx, scope), arn); err != nil {
		return nil, err
	}
	return []byte(h.secret(arn)), nil
}

// deliver is the Handler's Deliver: it calls AutoDeploy for every service
// the push concerns. A deleted branch deploys nothing.
func (h *Hooks) deliver(ctx context.Context, key string, p Push) error {
	if h.AutoDeploy == nil || h.Services == nil || p.Deleted {
		return nil
	}
	arn, _, err := parseHookKey(key)
	if err != nil {
		return err
	}
	services, err := h.Services.FindServicesByStatus(ctx, openrunner.ServiceRunning, openrunner.ServiceOperationInProgress)
	if err != nil {
		return err
	}
	for _, svc := range services {
		code := svc.Config.Source.Code
		if code == nil || svc.Config.Source.ConnectionARN != arn || code.VersionValue != p.Branch {
			continue
		}
		owner, name, err := RepositoryFromURL(p.Provider, code.RepositoryURL)
		if err != nil || !strings.EqualFold(owner+"/"+name, p.Repository) {
			continue
		}
		h.AutoDeploy(svc.ARN())
	}
	return nil
}

// Webhook returns the delivery URL and secret of the connection's push
// webhook, for setting one up by hand.
func (h *Hooks) Webhook(_ context.Context, c *openrunner.Connection) (url, secret string) {
	provider := GitHub
	if c.ProviderType == openrunner.ProviderBitbucket {
		provider = Bitbucket
	}
	return URL(strings.TrimRight(h.PublicURL, "/")+DeliveryPath, provider, hookKey(c)), h.secret(c.ARN())
}

// registration describes the push webhook of the service's repository.
func (h *Hooks) registration(ctx context.Context, svc *openrunner.Service, cred openrunner.ProviderCredential) (Registration, error) {
	if svc.Config.Source.Code == nil {
		return Registration{}, openrunner.Errorf(openrunner.EINVALID, "The service %s does not deploy source code.", svc.Name)
	}
	conn, err := h.Connections.FindConnectionByARN(ctx, svc.Config.Source.ConnectionARN)
	if err != nil {
		return Registration{}, err
	}
	hookURL, secret := h.Webhook(ctx, conn)
	provider, apiBase := GitHub, cmp.Or(h.GitHubAPIURL, forge.DefaultGitHubAPIURL)
	if conn.ProviderType == openrunner.ProviderBitbucket {
		provider, apiBase = Bitbucket, cmp.Or(h.BitbucketAPIURL, forge.DefaultBitbucketAPIURL)
	}
	owner, name, err := RepositoryFromURL(provider, svc.Config.Source.Code.RepositoryURL)
	if err != nil {
		return Registration{}, err
	}
	return Registration{Provider: provider, APIBase: apiBase, Repository: owner + "/" + name,
		HookURL: hookURL, Secret: secret, Credential: cred}, nil
}

// Register creates the push webhook of the service's repository with the
// provider, unless one with the same URL exists (see Register).
func (h *Hooks) Register(ctx context.Context, svc *openrunner.Service, cred openrunner.ProviderCredential) error {
	h.init()
	r, err := h.registration(ctx, svc, cred)
	if err == nil {
		_, err = Register(ctx, h.client, r)
	}
	return err
}

// Unregister removes the push webhook of the service's repository (see
// Unregister).
func (h *Hooks) Unregister(ctx context.Context, svc *openrunner.Service, cred openrunner.ProviderCredential) error {
	h.init()
	r, err := h.registration(ctx, svc, cred)
	if err == nil {
		_, err = Unregister(ctx, h.client, r)
	}
	return err
}
