package daemon

import (
	"cmp"
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/handshake"
	"github.com/openrunner/openrunner/vault"
	"github.com/openrunner/openrunner/webhook"
)

// webhookPath is where providers deliver push events:
// <public URL>/_openrunner/webhooks/<github|bitbucket>/<key>, where the key
// names a connection (hookKey). Deliveries are authenticated by their
// HMAC signature, not SigV4.
const webhookPath = "/_openrunner/webhooks/"

// hooks connects push webhooks to automatic deployments: it registers a
// webhook for a service's repository, verifies deliveries with the
// connection's secret, and tells the engine which services a push may
// concern.
type hooks struct {
	d           *Daemon
	connections openrunner.ConnectionService
	handshakes  *handshake.Service
	master      []byte
	publicURL   string
	// deployer and services are nil when this server runs no services.
	deployer interface{ AutoDeploy(serviceARN string) }
	services openrunner.ServiceService
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

// secret is the connection's webhook secret: derived from the data
// directory's master key and the connection ARN, so it is never stored
// and differs for every connection.
func (h *hooks) secret(arn string) string {
	return hex.EncodeToString(vault.DeriveKey(h.master, "webhook-secret:"+arn))
}

func (h *hooks) handler() http.Handler {
	return &webhook.Handler{
		Resolve: func(ctx context.Context, key string) ([]byte, error) {
			arn, scope, err := parseHookKey(key)
			if err != nil {
				return nil, err
			}
			if _, err := h.connections.FindConnectionByARN(openrunner.NewContextWithScope(ctx, scope), arn); err != nil {
				return nil, err
			}
			return []byte(h.secret(arn)), nil
		},
		Deliver: h.deliver,
		Logger:  h.d.logger,
	}
}

// deliver asks the engine to check every running service that deploys
// the pushed branch of the pushed repository through the connection.
func (h *hooks) deliver(ctx context.Context, key string, p webhook.Push) error {
	if h.deployer == nil || p.Deleted {
		return nil
	}
	arn, _, err := parseHookKey(key)
	if err != nil {
		return err
	}
	// A service in an operation is checked when the operation ends, so
	// pushes during a deployment coalesce into one more.
	services, err := h.services.FindServicesByStatus(ctx, openrunner.ServiceRunning, openrunner.ServiceOperationInProgress)
	if err != nil {
		return err
	}
	for _, svc := range services {
		code := svc.Config.Source.Code
		if code == nil || svc.Config.Source.ConnectionARN != arn || code.VersionValue != p.Branch {
			continue
		}
		owner, name, err := webhook.RepositoryFromURL(strings.ToLower(p.Provider), code.RepositoryURL)
		if err != nil || !strings.EqualFold(owner+"/"+name, p.Repository) {
			continue
		}
		h.deployer.AutoDeploy(svc.ARN())
	}
	return nil
}

// webhook returns the delivery URL and secret of the connection's push
// webhook, for setting one up by hand.
func (h *hooks) webhook(_ context.Context, c *openrunner.Connection) (string, string) {
	provider := "github"
	if c.ProviderType == openrunner.ProviderBitbucket {
		provider = "bitbucket"
	}
	return webhook.URL(h.publicURL+webhookPath, provider, hookKey(c)), h.secret(c.ARN())
}

// registration describes the push webhook of the service's repository.
func (h *hooks) registration(ctx context.Context, svc *openrunner.Service, cred openrunner.ProviderCredential) (webhook.Registration, error) {
	conn, err := h.connections.FindConnectionByARN(ctx, svc.Config.Source.ConnectionARN)
	if err != nil {
		return webhook.Registration{}, err
	}
	hookURL, secret := h.webhook(ctx, conn)
	provider, apiBase := "github", cmp.Or(h.d.cfg.GitHub.APIURL, handshake.DefaultGitHubAPIURL)
	if conn.ProviderType == openrunner.ProviderBitbucket {
		provider, apiBase = "bitbucket", cmp.Or(h.d.cfg.Bitbucket.APIURL, handshake.DefaultBitbucketAPIURL)
	}
	owner, name, err := webhook.RepositoryFromURL(provider, svc.Config.Source.Code.RepositoryURL)
	if err != nil {
		return webhook.Registration{}, err
	}
	return webhook.Registration{Provider: provider, APIBase: apiBase, Repository: owner + "/" + name,
		HookURL: hookURL, Secret: secret, Credential: cred}, nil
}

func (h *hooks) client() *http.Client {
	if h.d.cfg.HTTPClient != nil {
		return h.d.cfg.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// unregister removes the push webhook of the service's repository.
func (h *hooks) unregister(ctx context.Context, svc *openrunner.Service, cred openrunner.ProviderCredential) error {
	r, err := h.registration(ctx, svc, cred)
	if err == nil {
		_, err = webhook.Unregister(ctx, h.client(), r)
	}
	return err
}

// register creates the push webhook of the service's repository with the
// provider, unless one with the same URL exists.
func (h *hooks) register(ctx context.Context, svc *openrunner.Service, cred openrunner.ProviderCredential) error {
	r, err := h.registration(ctx, svc, cred)
	if err == nil {
		_, err = webhook.Register(ctx, h.client(), r)
	}
	return err
}
