package secretsapi

import (
	"context"
	"strings"

	"github.com/openrunner/openrunner"
	ssmwire "github.com/openrunner/openrunner/wire/ssm"
)

// Default page sizes (AWS's, and the model's maxima).
const (
	defaultPathPage     = 10
	defaultDescribePage = 50
)

// GetParametersByPath implements ssmwire.SSM: the parameters under Path
// (one level below it, or all levels if Recursive) in name order.
func (s *SSM) GetParametersByPath(ctx context.Context, in *ssmwire.GetParametersByPathInput) (*ssmwire.GetParametersByPathOutput, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	path := *in.Path
	if !strings.HasPrefix(path, "/") {
		return nil, fail(errValidation, "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\".")
	}
	if len(in.ParameterFilters) > 0 {
		return nil, fail(errFilterKey, "OpenRunner's embedded Parameter Store does not support ParameterFilters on GetParametersByPath.")
	}
	prefix := strings.TrimSuffix(path, "/") + "/"
	recursive := in.Recursive != nil && *in.Recursive
	decrypt := in.WithDecryption != nil && *in.WithDecryption
	out := &ssmwire.GetParametersByPathOutput{Parameters: []ssmwire.Parameter{}}
	err = s.page(ctx, prefix, in.NextToken, maxOr(in.MaxResults, defaultPathPage), &out.NextToken, func(p *openrunner.Parameter) (bool, error) {
		if !recursive && strings.Contains(p.Name[len(prefix):], "/") {
			return false, nil
		}
		wp, err := s.wireParameter(scope, p, p.Current(), "", decrypt)
		if err != nil {
			return false, err
		}
		out.Parameters = append(out.Parameters, *wp)
		return true, nil
	})
	return out, err
}

// DescribeParameters implements ssmwire.SSM: metadata (never values) of
// the parameters that pass ParameterFilters (keys Name, Type, Path;
// options Equals, BeginsWith, OneLevel, Recursive).
func (s *SSM) DescribeParameters(ctx context.Context, in *ssmwire.DescribeParametersInput) (*ssmwire.DescribeParametersOutput, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	if len(in.Filters) > 0 {
		return nil, fail(errFilterKey, "Filters is deprecated; use ParameterFilters.")
	}
	for _, f := range in.ParameterFilters {
		switch *f.Key {
		case "Name", "Type", "Path":
		default:
			return nil, fail(errFilterKey, "OpenRunner's embedded Parameter Store filters on Name, Type and Path only.")
		}
	}
	out := &ssmwire.DescribeParametersOutput{Parameters: []ssmwire.ParameterMetadata{}}
	err = s.page(ctx, "", in.NextToken, maxOr(in.MaxResults, defaultDescribePage), &out.NextToken, func(p *openrunner.Parameter) (bool, error) {
		if !passes(p, in.ParameterFilters) {
			return false, nil
		}
		v := p.Current()
		m := ssmwire.ParameterMetadata{ARN: smPtr(parameterARN(scope, p.Name)), Name: smPtr(p.Name), Type: smPtr(ssmwire.ParameterType(p.Type)),
			Version: smPtr(v.Version), LastModifiedDate: ssmwire.NewTimestamp(v.ModifiedAt), DataType: smPtr(p.DataType),
			Tier: smPtr(ssmwire.ParameterTier(p.Tier)), Policies: []ssmwire.ParameterInlinePolicy{}}
		for _, f := range []struct {
			dst **string
			v   string
		}{{&m.Description, p.Description}, {&m.KeyId, p.KeyID}, {&m.AllowedPattern, p.AllowedPattern}} {
			if f.v != "" {
				*f.dst = smPtr(f.v)
			}
		}
		out.Parameters = append(out.Parameters, m)
		return true, nil
	})
	return out, err
}

// page calls add for the parameters under prefix after the page token, in
// name order, until add has taken limit of them; it sets *next when more
// remain.
func (s *SSM) page(ctx context.Context, prefix string, token *string, limit int, next **string, add func(*openrunner.Parameter) (bool, error)) error {
	after, ok := fromPageToken(token)
	if !ok {
		return fail(errSSMNextToken, "The specified token isn't valid.")
	}
	all, err := s.Parameters.FindParameters(ctx, prefix)
	if err != nil {
		return err
	}
	taken, last := 0, ""
	for _, p := range all {
		if after != "" && p.Name <= after {
			continue
		}
		if taken == limit {
			*next = pageToken(last)
			return nil
		}
		ok, err := add(p)
		if err != nil {
			return err
		}
		if ok {
			taken, last = taken+1, p.Name
		}
	}
	return nil
}

// passes reports whether p passes every filter.
func passes(p *openrunner.Parameter, filters []ssmwire.ParameterStringFilter) bool {
	for _, f := range filters {
		option := "Equals"
		if f.Option != nil {
			option = *f.Option
		}
		hit := false
		for _, v := range f.Values {
			switch *f.Key {
			case "Name":
				hit = hit || p.Name == v || (option == "BeginsWith" && strings.HasPrefix(p.Name, v))
			case "Type":
				hit = hit || p.Type == v
			case "Path":
				under := strings.TrimSuffix(v, "/") + "/"
				rest, ok := strings.CutPrefix(p.Name, under)
				hit = hit || (ok && (option == "Recursive" || !strings.Contains(rest, "/")))
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func maxOr(p *int32, def int) int {
	if p == nil {
		return def
	}
	return int(*p)
}
