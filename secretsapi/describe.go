package secretsapi

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	smwire "github.com/openrunner/openrunner/wire/secretsmanager"
)

// DescribeSecret implements smwire.SecretsManager. It answers for secrets
// scheduled for deletion too, with their DeletedDate, as AWS does.
func (s *SecretsManager) DescribeSecret(ctx context.Context, in *smwire.DescribeSecretInput) (*smwire.DescribeSecretOutput, error) {
	sec, err := s.find(ctx, *in.SecretId)
	if err != nil {
		return nil, err
	}
	e := listEntry(sec)
	stages := map[string][]string{}
	for _, v := range sec.Versions {
		if len(v.Stages) > 0 {
			stages[v.ID] = slices.Clone(v.Stages)
		}
	}
	return &smwire.DescribeSecretOutput{ARN: e.ARN, Name: e.Name, Description: e.Description, KmsKeyId: e.KmsKeyId,
		CreatedDate: e.CreatedDate, LastChangedDate: e.LastChangedDate, DeletedDate: e.DeletedDate,
		RotationEnabled: e.RotationEnabled, Tags: e.Tags, VersionIdsToStages: stages}, nil
}

// listEntry is sec as ListSecrets shows it (no values).
func listEntry(sec *openrunner.Secret) smwire.SecretListEntry {
	e := smwire.SecretListEntry{ARN: &sec.ARN, Name: &sec.Name, CreatedDate: smwire.NewTimestamp(sec.CreatedAt),
		LastChangedDate: smwire.NewTimestamp(sec.ChangedAt), RotationEnabled: smwire.Ptr(false)}
	if sec.Description != "" {
		e.Description = &sec.Description
	}
	if sec.KMSKeyID != "" {
		e.KmsKeyId = &sec.KMSKeyID
	}
	if !sec.DeletedAt.IsZero() {
		e.DeletedDate = smwire.NewTimestamp(sec.DeletedAt)
	}
	for _, t := range sec.Tags {
		e.Tags = append(e.Tags, smwire.Tag{Key: smwire.Ptr(t.Key), Value: smwire.Ptr(t.Value)})
	}
	return e
}

// Default and largest ListSecrets page (the model's MaxResults bound).
const defaultListPage = 100

// ListSecrets implements smwire.SecretsManager: secrets in name order
// (the only order offered), filtered as AWS filters (prefix match, not
// case-sensitive, "!" negates), without those scheduled for deletion
// unless IncludePlannedDeletion.
func (s *SecretsManager) ListSecrets(ctx context.Context, in *smwire.ListSecretsInput) (*smwire.ListSecretsOutput, error) {
	after, ok := fromPageToken(in.NextToken)
	if !ok {
		return nil, fail(errNextToken, "The NextToken value is invalid.")
	}
	if in.SortBy != nil && *in.SortBy != smwire.SortByTypeName {
		return nil, fail(errInvalidParam, "OpenRunner's embedded Secrets Manager sorts secrets by name only.")
	}
	all, err := s.Secrets.FindSecrets(ctx)
	if err != nil {
		return nil, err
	}
	if in.SortOrder != nil && *in.SortOrder == smwire.SortOrderTypeDesc {
		slices.Reverse(all)
	}
	limit := defaultListPage
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	now := s.now()
	include := in.IncludePlannedDeletion != nil && *in.IncludePlannedDeletion
	out := &smwire.ListSecretsOutput{SecretList: []smwire.SecretListEntry{}}
	started := after == ""
	for _, sec := range all {
		if !started {
			started = sec.Name == after
			continue
		}
		if expired(sec, now) || (!sec.DeleteAt.IsZero() && !include) || !matches(sec, in.Filters) {
			continue
		}
		if len(out.SecretList) == limit {
			out.NextToken = pageToken(*out.SecretList[limit-1].Name)
			break
		}
		out.SecretList = append(out.SecretList, listEntry(sec))
	}
	return out, nil
}

// matches reports whether sec passes every filter.
func matches(sec *openrunner.Secret, filters []smwire.Filter) bool {
	for _, f := range filters {
		if f.Key == nil {
			continue
		}
		var fields []string
		switch *f.Key {
		case smwire.FilterNameStringTypeName:
			fields = []string{sec.Name}
		case smwire.FilterNameStringTypeDescription:
			fields = []string{sec.Description}
		case smwire.FilterNameStringTypeTagKey:
			for _, t := range sec.Tags {
				fields = append(fields, t.Key)
			}
		case smwire.FilterNameStringTypeTagValue:
			for _, t := range sec.Tags {
				fields = append(fields, t.Value)
			}
		case smwire.FilterNameStringTypeAll:
			fields = []string{sec.Name, sec.Description}
			for _, t := range sec.Tags {
				fields = append(fields, t.Key, t.Value)
			}
		default: // primary-region, owning-service: no secret has one
		}
		if !anyPrefix(fields, f.Values) {
			return false
		}
	}
	return true
}

// anyPrefix reports whether a value matches a field by case-insensitive
// prefix, or, for a value starting with "!", whether no field does.
func anyPrefix(fields, values []string) bool {
	for _, v := range values {
		neg := strings.HasPrefix(v, "!")
		v = strings.ToLower(strings.TrimPrefix(v, "!"))
		hit := false
		for _, f := range fields {
			hit = hit || strings.HasPrefix(strings.ToLower(f), v)
		}
		if hit != neg {
			return true
		}
	}
	return false
}

// TagResource implements smwire.SecretsManager.
func (s *SecretsManager) TagResource(ctx context.Context, in *smwire.TagResourceInput) (*smwire.TagResourceOutput, error) {
	_, err := s.update(ctx, *in.SecretId, true, func(sec *openrunner.Secret) error {
		for _, t := range tagsFromWire(in.Tags) {
			i := slices.IndexFunc(sec.Tags, func(x openrunner.Tag) bool { return x.Key == t.Key })
			if i < 0 {
				sec.Tags = append(sec.Tags, t)
			} else {
				sec.Tags[i] = t
			}
		}
		if len(sec.Tags) > openrunner.MaxTagsPerResource {
			return fail(errInvalidParam, "A secret can have at most %d tags.", openrunner.MaxTagsPerResource)
		}
		sec.ChangedAt = s.now()
		return nil
	})
	return nil, err
}

// UntagResource implements smwire.SecretsManager.
func (s *SecretsManager) UntagResource(ctx context.Context, in *smwire.UntagResourceInput) (*smwire.UntagResourceOutput, error) {
	_, err := s.update(ctx, *in.SecretId, true, func(sec *openrunner.Secret) error {
		sec.Tags = slices.DeleteFunc(sec.Tags, func(t openrunner.Tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		sec.ChangedAt = s.now()
		return nil
	})
	return nil, err
}

func tagsFromWire(tags []smwire.Tag) []openrunner.Tag {
	var out []openrunner.Tag
	for _, t := range tags {
		out = append(out, openrunner.Tag{Key: deref(t.Key), Value: deref(t.Value)})
	}
	return out
}

// expired reports whether sec's recovery window has passed at now.
func expired(sec *openrunner.Secret, now time.Time) bool {
	return !sec.DeleteAt.IsZero() && !now.Before(sec.DeleteAt)
}
