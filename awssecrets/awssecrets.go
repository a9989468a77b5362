// Package awssecrets resolves services' secret references against real AWS
// Secrets Manager and SSM Parameter Store (or any endpoint that speaks
// their APIs: LocalStack, moto, another OpenRunner), through aws-sdk-go-v2
// with its default credential chain, Region and endpoint settings
// (AWS_ENDPOINT_URL_SECRETSMANAGER, AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL).
package awssecrets

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/openrunner/openrunner"
)

// Backend is a secretref.Backend on AWS. Clients are made per Region, the
// Region of each reference's ARN (the service's for bare parameter names).
type Backend struct {
	cfg aws.Config

	mu  sync.Mutex
	sm  map[string]*secretsmanager.Client
	ssm map[string]*ssm.Client
}

// New loads the SDK's default configuration (credentials, Region, endpoint
// variables, shared config files) and returns a Backend using it.
func New(ctx context.Context, opts ...func(*config.LoadOptions) error) (*Backend, error) {
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return &Backend{cfg: cfg, sm: map[string]*secretsmanager.Client{}, ssm: map[string]*ssm.Client{}}, nil
}

func (b *Backend) clients(region string) (*secretsmanager.Client, *ssm.Client) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sm[region] == nil {
		cfg := b.cfg.Copy()
		cfg.Region = region
		b.sm[region] = secretsmanager.NewFromConfig(cfg)
		b.ssm[region] = ssm.NewFromConfig(cfg)
	}
	return b.sm[region], b.ssm[region]
}

// SecretString implements secretref.Backend.
func (b *Backend) SecretString(ctx context.Context, _, scope openrunner.Scope, arn, stage, versionID string) (string, error) {
	sm, _ := b.clients(scope.Region)
	in := &secretsmanager.GetSecretValueInput{SecretId: &arn}
	if stage != "" {
		in.VersionStage = &stage
	}
	if versionID != "" {
		in.VersionId = &versionID
	}
	out, err := sm.GetSecretValue(ctx, in)
	if err != nil {
		return "", apiError(err)
	}
	if out.SecretString != nil {
		return *out.SecretString, nil
	}
	return string(out.SecretBinary), nil
}

// Parameter implements secretref.Backend.
func (b *Backend) Parameter(ctx context.Context, _, scope openrunner.Scope, nameOrARN string) (string, error) {
	_, c := b.clients(scope.Region)
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: &nameOrARN, WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", apiError(err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", openrunner.Errorf(openrunner.ENOTFOUND, "the parameter has no value")
	}
	return *out.Parameter.Value, nil
}

// apiError turns an SDK error into an openrunner error whose message is
// the service's (error messages never carry secret values).
func apiError(err error) error {
	var smNotFound *smtypes.ResourceNotFoundException
	var pNotFound *ssmtypes.ParameterNotFound
	var vNotFound *ssmtypes.ParameterVersionNotFound
	if errors.As(err, &smNotFound) || errors.As(err, &pNotFound) || errors.As(err, &vNotFound) {
		var ae smithy.APIError
		errors.As(err, &ae)
		return openrunner.Errorf(openrunner.ENOTFOUND, "%s (%s)", ae.ErrorMessage(), ae.ErrorCode())
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return openrunner.Errorf(openrunner.EINVALID, "%s (%s)", ae.ErrorMessage(), ae.ErrorCode())
	}
	return openrunner.Errorf(openrunner.EINVALID, "could not reach AWS: %v", err)
}
