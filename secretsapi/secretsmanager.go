package secretsapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"time"

	"github.com/openrunner/openrunner"
	smwire "github.com/openrunner/openrunner/wire/secretsmanager"
)

// Recovery window bounds of DeleteSecret, in days (AWS's).
const (
	minRecoveryDays     = 7
	maxRecoveryDays     = 30
	defaultRecoveryDays = 30
)

// maxVersions is how many versions a secret keeps; the oldest versions
// without a stage go first (AWS keeps about 100 as well).
const maxVersions = 100

// SecretsManager serves the Secrets Manager operations of the embedded
// store. The caller's Scope comes from ctx.
type SecretsManager struct {
	smwire.Unimplemented
	Secrets openrunner.SecretService
	Vault   openrunner.Sealer
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

var _ smwire.SecretsManager = (*SecretsManager)(nil)

func (s *SecretsManager) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Exceptions of the Secrets Manager model.
const (
	errNotFound       = "ResourceNotFoundException"
	errInvalidRequest = "InvalidRequestException"
	errInvalidParam   = "InvalidParameterException"
	errExists         = "ResourceExistsException"
	errNextToken      = "InvalidNextTokenException"
)

var errMarkedForDeletion = fail(errInvalidRequest, "You can't perform this operation on the secret because it was marked for deletion.")

// find returns the live or scheduled secret id names, removing it first if
// its recovery window has passed.
func (s *SecretsManager) find(ctx context.Context, id string) (*openrunner.Secret, error) {
	sec, err := s.Secrets.FindSecret(ctx, id)
	if err == nil && expired(sec, s.now()) {
		if err := s.Secrets.DeleteSecret(ctx, sec.ARN); err != nil && openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
			return nil, err
		}
		return nil, notFound()
	}
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil, notFound()
	}
	return sec, err
}

func notFound() error {
	return fail(errNotFound, "Secrets Manager can't find the specified secret.")
}

// update applies fn to the secret id names, failing on a secret scheduled
// for deletion unless deleted is true.
func (s *SecretsManager) update(ctx context.Context, id string, deleted bool, fn func(*openrunner.Secret) error) (*openrunner.Secret, error) {
	if _, err := s.find(ctx, id); err != nil {
		return nil, err
	}
	sec, err := s.Secrets.UpdateSecret(ctx, id, func(sec *openrunner.Secret) error {
		if !deleted && !sec.DeleteAt.IsZero() {
			return errMarkedForDeletion
		}
		return fn(sec)
	})
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil, notFound()
	}
	return sec, err
}

// secretValue checks that exactly one of str and bin is set, and returns
// its kind and bytes; ok is false when neither is.
func secretValue(str *string, bin []byte) (kind byte, value []byte, ok bool, err error) {
	switch {
	case str != nil && bin != nil:
		return 0, nil, false, fail(errInvalidParam, "You can't specify both a binary secret value and a string secret value in the same secret.")
	case str != nil:
		return kindString, []byte(*str), true, nil
	case bin != nil:
		return kindBinary, bin, true, nil
	}
	return 0, nil, false, nil
}

// versionContext binds a sealed value to its secret and version.
func versionContext(arn, version string) string { return "secretsmanager:" + arn + ":" + version }

// addVersion adds a version of the value to sec with the given stages,
// moving them (and AWSCURRENT's previous holder to AWSPREVIOUS), or
// returns the existing version when token names one with the same value.
func (s *SecretsManager) addVersion(sec *openrunner.Secret, token *string, kind byte, value []byte, stages []string) (*openrunner.SecretVersion, error) {
	id := openrunner.NewUUID()
	if token != nil {
		id = *token
	}
	if v, ok := sec.Version(id, ""); ok {
		k, old, err := open(s.Vault, v.Sealed, versionContext(sec.ARN, v.ID))
		if err != nil {
			return nil, err
		}
		if k != kind || !bytes.Equal(old, value) {
			return nil, fail(errExists, "You can't modify an existing version, you can only create a new version.")
		}
		return v, nil
	}
	if len(stages) == 0 {
		stages = []string{openrunner.StageCurrent}
	}
	now := s.now()
	if slices.Contains(stages, openrunner.StageCurrent) {
		if cur, ok := sec.Version("", openrunner.StageCurrent); ok {
			moveStage(sec, openrunner.StagePrevious)
			cur.Stages = append(cur.Stages, openrunner.StagePrevious)
		}
	}
	for _, st := range stages {
		moveStage(sec, st)
	}
	sec.Versions = append(sec.Versions, openrunner.SecretVersion{ID: id, Stages: slices.Clone(stages), CreatedAt: now,
		Sealed: seal(s.Vault, kind, value, versionContext(sec.ARN, id))})
	pruneVersions(sec)
	sec.ChangedAt = now
	return &sec.Versions[len(sec.Versions)-1], nil
}

// moveStage removes stage from every version of sec.
func moveStage(sec *openrunner.Secret, stage string) {
	for i := range sec.Versions {
		v := &sec.Versions[i]
		v.Stages = slices.DeleteFunc(v.Stages, func(s string) bool { return s == stage })
	}
}

// pruneVersions drops the oldest versions without a stage while sec has
// more than maxVersions.
func pruneVersions(sec *openrunner.Secret) {
	for i := 0; len(sec.Versions) > maxVersions && i < len(sec.Versions); {
		if len(sec.Versions[i].Stages) == 0 {
			sec.Versions = slices.Delete(sec.Versions, i, i+1)
			continue
		}
		i++
	}
}

// newARN returns a secret ARN with AWS's random 6-character suffix.
func newARN(scope openrunner.Scope, name string) string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "arn:aws:secretsmanager:" + scope.Region + ":" + scope.AccountID + ":secret:" + name + "-" + string(b)
}

// CreateSecret implements smwire.SecretsManager.
func (s *SecretsManager) CreateSecret(ctx context.Context, in *smwire.CreateSecretInput) (*smwire.CreateSecretOutput, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	if len(in.AddReplicaRegions) > 0 {
		return nil, fail(errInvalidParam, "OpenRunner's embedded Secrets Manager does not replicate secrets to other Regions.")
	}
	kind, value, hasValue, err := secretValue(in.SecretString, in.SecretBinary)
	if err != nil {
		return nil, err
	}
	name := *in.Name
	if old, err := s.find(ctx, name); err == nil {
		if !old.DeleteAt.IsZero() {
			return nil, fail(errInvalidRequest, "You can't create this secret because a secret with this name is already scheduled for deletion.")
		}
		return nil, fail(errExists, "The operation failed because the secret %s already exists.", name)
	}
	now := s.now()
	sec := &openrunner.Secret{ARN: newARN(scope, name), Name: name, Description: deref(in.Description), KMSKeyID: deref(in.KmsKeyId),
		CreatedAt: now, ChangedAt: now, Tags: tagsFromWire(in.Tags)}
	out := &smwire.CreateSecretOutput{ARN: &sec.ARN, Name: &sec.Name}
	if hasValue {
		v, err := s.addVersion(sec, in.ClientRequestToken, kind, value, nil)
		if err != nil {
			return nil, err
		}
		out.VersionId = &v.ID
	}
	if err := s.Secrets.CreateSecret(ctx, sec); err != nil {
		if openrunner.ErrorCode(err) == openrunner.ECONFLICT {
			return nil, fail(errExists, "The operation failed because the secret %s already exists.", name)
		}
		return nil, err
	}
	return out, nil
}

// GetSecretValue implements smwire.SecretsManager.
func (s *SecretsManager) GetSecretValue(ctx context.Context, in *smwire.GetSecretValueInput) (*smwire.GetSecretValueOutput, error) {
	sec, v, kind, value, err := s.Value(ctx, *in.SecretId, deref(in.VersionId), deref(in.VersionStage))
	if err != nil {
		return nil, err
	}
	out := &smwire.GetSecretValueOutput{ARN: &sec.ARN, Name: &sec.Name, VersionId: &v.ID,
		VersionStages: slices.Clone(v.Stages), CreatedDate: smwire.NewTimestamp(v.CreatedAt)}
	if kind == kindBinary {
		out.SecretBinary = value
	} else {
		str := string(value)
		out.SecretString = &str
	}
	return out, nil
}

// Value returns the secret id names and its version with the given id,
// or stage (AWSCURRENT when both are empty), with the version's value in
// clear, for GetSecretValue and for resolving services' references.
func (s *SecretsManager) Value(ctx context.Context, id, versionID, stage string) (*openrunner.Secret, *openrunner.SecretVersion, byte, []byte, error) {
	sec, err := s.find(ctx, id)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	if !sec.DeleteAt.IsZero() {
		return nil, nil, 0, nil, errMarkedForDeletion
	}
	if versionID == "" && stage == "" {
		stage = openrunner.StageCurrent
	}
	v, ok := sec.Version(versionID, stage)
	if !ok {
		if versionID != "" {
			return nil, nil, 0, nil, fail(errNotFound, "Secrets Manager can't find the specified secret value for VersionId: %s", versionID)
		}
		return nil, nil, 0, nil, fail(errNotFound, "Secrets Manager can't find the specified secret value for staging label: %s", stage)
	}
	kind, value, err := open(s.Vault, v.Sealed, versionContext(sec.ARN, v.ID))
	if err != nil {
		return nil, nil, 0, nil, err
	}
	return sec, v, kind, value, nil
}

// PutSecretValue implements smwire.SecretsManager.
func (s *SecretsManager) PutSecretValue(ctx context.Context, in *smwire.PutSecretValueInput) (*smwire.PutSecretValueOutput, error) {
	kind, value, ok, err := secretValue(in.SecretString, in.SecretBinary)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail(errInvalidRequest, "You must provide either SecretString or SecretBinary.")
	}
	var v openrunner.SecretVersion
	sec, err := s.update(ctx, *in.SecretId, false, func(sec *openrunner.Secret) error {
		nv, err := s.addVersion(sec, in.ClientRequestToken, kind, value, in.VersionStages)
		if err == nil {
			v = *nv
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &smwire.PutSecretValueOutput{ARN: &sec.ARN, Name: &sec.Name, VersionId: &v.ID, VersionStages: v.Stages}, nil
}

// UpdateSecret implements smwire.SecretsManager.
func (s *SecretsManager) UpdateSecret(ctx context.Context, in *smwire.UpdateSecretInput) (*smwire.UpdateSecretOutput, error) {
	kind, value, hasValue, err := secretValue(in.SecretString, in.SecretBinary)
	if err != nil {
		return nil, err
	}
	var version *string
	sec, err := s.update(ctx, *in.SecretId, false, func(sec *openrunner.Secret) error {
		if in.Description != nil {
			sec.Description = *in.Description
		}
		if in.KmsKeyId != nil {
			sec.KMSKeyID = *in.KmsKeyId
		}
		sec.ChangedAt = s.now()
		if !hasValue {
			return nil
		}
		v, err := s.addVersion(sec, in.ClientRequestToken, kind, value, nil)
		if err == nil {
			version = &v.ID
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &smwire.UpdateSecretOutput{ARN: &sec.ARN, Name: &sec.Name, VersionId: version}, nil
}

// DeleteSecret implements smwire.SecretsManager.
func (s *SecretsManager) DeleteSecret(ctx context.Context, in *smwire.DeleteSecretInput) (*smwire.DeleteSecretOutput, error) {
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	if force && in.RecoveryWindowInDays != nil {
		return nil, fail(errInvalidParam, "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	days := int64(defaultRecoveryDays)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
	}
	if days < minRecoveryDays || days > maxRecoveryDays {
		return nil, fail(errInvalidParam, "The RecoveryWindowInDays value must be between %d and %d days (inclusive).", minRecoveryDays, maxRecoveryDays)
	}
	now := s.now()
	if force {
		sec, err := s.find(ctx, *in.SecretId)
		if err != nil {
			return nil, err
		}
		if err := s.Secrets.DeleteSecret(ctx, sec.ARN); err != nil {
			return nil, err
		}
		return &smwire.DeleteSecretOutput{ARN: &sec.ARN, Name: &sec.Name, DeletionDate: smwire.NewTimestamp(now)}, nil
	}
	sec, err := s.update(ctx, *in.SecretId, false, func(sec *openrunner.Secret) error {
		sec.DeletedAt, sec.DeleteAt = now, now.Add(time.Duration(days)*24*time.Hour)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &smwire.DeleteSecretOutput{ARN: &sec.ARN, Name: &sec.Name, DeletionDate: smwire.NewTimestamp(sec.DeleteAt)}, nil
}

// RestoreSecret implements smwire.SecretsManager.
func (s *SecretsManager) RestoreSecret(ctx context.Context, in *smwire.RestoreSecretInput) (*smwire.RestoreSecretOutput, error) {
	sec, err := s.update(ctx, *in.SecretId, true, func(sec *openrunner.Secret) error {
		sec.DeleteAt, sec.DeletedAt = time.Time{}, time.Time{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &smwire.RestoreSecretOutput{ARN: &sec.ARN, Name: &sec.Name}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
