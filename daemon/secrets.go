package daemon

import (
	"context"
	"fmt"

	"github.com/openrunner/openrunner/awsjson"
	"github.com/openrunner/openrunner/awssecrets"
	"github.com/openrunner/openrunner/secretref"
	"github.com/openrunner/openrunner/secretsapi"
	"github.com/openrunner/openrunner/sigv4"
	"github.com/openrunner/openrunner/vault"
	smwire "github.com/openrunner/openrunner/wire/secretsmanager"
	ssmwire "github.com/openrunner/openrunner/wire/ssm"
)

// openSecrets builds the embedded Secrets Manager and Parameter Store,
// served on the API listener beside App Runner (chosen by X-Amz-Target),
// and the resolver of services' secret references: the embedded store, or
// real AWS with --secrets-source aws.
func (d *Daemon) openSecrets(ctx context.Context, v *vault.Vault, creds sigv4.StaticCredentials) ([]*awsjson.Server, error) {
	sm := &secretsapi.SecretsManager{Secrets: d.stores.Secrets, Vault: v, Now: d.cfg.Now}
	ps := &secretsapi.SSM{Parameters: d.stores.Parameters, Vault: v, Now: d.cfg.Now}
	d.vault = v
	switch d.cfg.SecretsSource {
	case "", "embedded":
		d.secrets = &secretref.Resolver{Backend: &secretsapi.Backend{SecretsManager: sm, SSM: ps}}
	case "aws":
		b, err := awssecrets.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("--secrets-source aws: %w", err)
		}
		d.secrets = &secretref.Resolver{Backend: b}
	default:
		return nil, fmt.Errorf("unknown secrets source %q (embedded or aws)", d.cfg.SecretsSource)
	}
	server := func(prefix, signingName, namespace string, dispatch func(context.Context, string, []byte) (any, error)) *awsjson.Server {
		return &awsjson.Server{
			TargetPrefix: prefix,
			Namespace:    namespace,
			ContentType:  awsjson.ContentType11,
			Authenticate: d.authenticatorFor(creds, signingName),
			Dispatch:     dispatch,
			MapError:     secretsapi.MapError,
			MaxBodyBytes: d.cfg.MaxBodyBytes,
			Logger:       d.logger,
			Now:          d.cfg.Now,
		}
	}
	return []*awsjson.Server{
		server("secretsmanager", "secretsmanager", "com.amazonaws.secretsmanager", func(ctx context.Context, op string, body []byte) (any, error) {
			return smwire.Dispatch(ctx, sm, op, body)
		}),
		server("AmazonSSM", "ssm", "com.amazonaws.ssm", func(ctx context.Context, op string, body []byte) (any, error) {
			return ssmwire.Dispatch(ctx, ps, op, body)
		}),
	}, nil
}
