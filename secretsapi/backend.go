package secretsapi

import (
	"context"
	"errors"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/awsjson"
)

// Backend resolves services' secret references against the embedded store
// (it is a secretref.Backend). The embedded store has no resource
// policies: a service reads the secrets of its own account only.
type Backend struct {
	SecretsManager *SecretsManager
	SSM            *SSM
}

// SecretString implements secretref.Backend.
func (b *Backend) SecretString(ctx context.Context, caller, scope openrunner.Scope, arn, stage, versionID string) (string, error) {
	if scope.AccountID != caller.AccountID {
		return "", openrunner.Errorf(openrunner.EINVALID,
			"the secret belongs to account %s, and the service's account %s has no access to it (OpenRunner's embedded Secrets Manager has no resource policies)",
			scope.AccountID, caller.AccountID)
	}
	ctx = openrunner.NewContextWithScope(ctx, scope)
	_, _, _, value, err := b.SecretsManager.Value(ctx, arn, versionID, stage)
	if err != nil {
		return "", backendError(err)
	}
	return string(value), nil
}

// Parameter implements secretref.Backend.
func (b *Backend) Parameter(ctx context.Context, caller, scope openrunner.Scope, nameOrARN string) (string, error) {
	v, err := b.SSM.Value(openrunner.NewContextWithScope(ctx, scope), nameOrARN)
	if err != nil {
		return "", backendError(err)
	}
	return v, nil
}

// backendError turns an exception into an openrunner error with its message.
func backendError(err error) error {
	var e *awsjson.Error
	if !errors.As(err, &e) {
		return err
	}
	code := openrunner.EINVALID
	switch e.Type {
	case errNotFound, errParamNotFound, errVersionNotFound:
		code = openrunner.ENOTFOUND
	}
	return openrunner.Errorf(code, "%s (%s)", e.Message, e.Type)
}
