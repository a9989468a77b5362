package secretsapi

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/awsjson"
	ssmwire "github.com/openrunner/openrunner/wire/ssm"
)

// Parameter Store limits (AWS's).
const (
	maxParameterVersions = 100
	maxHierarchyLevels   = 15
)

// SSM serves the Parameter Store operations of the embedded store. The
// caller's Scope comes from ctx.
type SSM struct {
	ssmwire.Unimplemented
	Parameters openrunner.ParameterService
	Vault      openrunner.Sealer
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

var _ ssmwire.SSM = (*SSM)(nil)

func (s *SSM) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Exceptions of the SSM model.
const (
	errParamNotFound   = "ParameterNotFound"
	errVersionNotFound = "ParameterVersionNotFound"
	errParamExists     = "ParameterAlreadyExists"
	errValidation      = "ValidationException"
	errSSMNextToken    = "InvalidNextToken"
	errFilterKey       = "InvalidFilterKey"
)

var parameterName = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

// checkName applies Parameter Store's naming rules.
func checkName(name string) error {
	lower := strings.ToLower(strings.TrimPrefix(name, "/"))
	switch {
	case !parameterName.MatchString(name):
		return fail(errValidation, "Parameter name: can contain only a-z, A-Z, 0-9, and the symbols _.-/")
	case strings.Contains(name, "/") && !strings.HasPrefix(name, "/"):
		return fail(errValidation, "Parameter name must be a fully qualified name.")
	case strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm"):
		return fail(errValidation, "No access to reserved parameter name: %s.", name)
	case strings.Count(name, "/") > maxHierarchyLevels:
		return fail("HierarchyLevelLimitExceededException", "A hierarchy can have a maximum of %d levels.", maxHierarchyLevels)
	}
	return nil
}

// parameterARN returns the ARN of the parameter name in scope.
func parameterARN(scope openrunner.Scope, name string) string {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return "arn:aws:ssm:" + scope.Region + ":" + scope.AccountID + ":parameter" + name
}

// valueContext binds a sealed parameter value to its parameter and version.
func valueContext(scope openrunner.Scope, name string, version int64) string {
	return "ssm:" + parameterARN(scope, name) + ":" + strconv.FormatInt(version, 10)
}

// PutParameter implements ssmwire.SSM.
func (s *SSM) PutParameter(ctx context.Context, in *ssmwire.PutParameterInput) (*ssmwire.PutParameterOutput, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	name := *in.Name
	if err := checkName(name); err != nil {
		return nil, err
	}
	overwrite := in.Overwrite != nil && *in.Overwrite
	if overwrite && len(in.Tags) > 0 {
		return nil, fail(errValidation, "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	if in.Policies != nil {
		return nil, fail("InvalidPolicyTypeException", "OpenRunner's embedded Parameter Store does not support parameter policies.")
	}
	if in.Tier != nil && *in.Tier == ssmwire.ParameterTierAdvanced {
		return nil, fail(errValidation, "OpenRunner's embedded Parameter Store has the Standard tier only.")
	}
	if in.AllowedPattern != nil {
		re, err := regexp.Compile("^(?:" + *in.AllowedPattern + ")$")
		if err != nil {
			return nil, fail("InvalidAllowedPatternException", "The allowed pattern is not a valid regular expression.")
		}
		if !re.MatchString(*in.Value) {
			return nil, fail("ParameterPatternMismatchException", "Parameter value, cannot be validated against allowedPattern: %s", *in.AllowedPattern)
		}
	}
	p, err := s.Parameters.PutParameter(ctx, name, func(old *openrunner.Parameter) (*openrunner.Parameter, error) {
		return s.nextVersion(scope, name, old, in, overwrite)
	})
	if err != nil {
		return nil, err
	}
	return &ssmwire.PutParameterOutput{Version: smPtr(p.Current().Version), Tier: smPtr(ssmwire.ParameterTierStandard)}, nil
}

// nextVersion returns old (nil for a new parameter) with in's value as its
// next version.
func (s *SSM) nextVersion(scope openrunner.Scope, name string, old *openrunner.Parameter, in *ssmwire.PutParameterInput, overwrite bool) (*openrunner.Parameter, error) {
	p := old
	switch {
	case old != nil && !overwrite:
		return nil, fail(errParamExists, "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	case old == nil:
		if in.Type == nil {
			return nil, fail(errValidation, "A parameter type is required when you create a parameter.")
		}
		p = &openrunner.Parameter{DataType: "text", Tier: string(ssmwire.ParameterTierStandard)}
	}
	if in.Type != nil {
		p.Type = string(*in.Type)
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.AllowedPattern != nil {
		p.AllowedPattern = *in.AllowedPattern
	}
	if in.DataType != nil {
		if *in.DataType != "text" {
			return nil, fail(errValidation, "The data type %s is not supported; OpenRunner's embedded Parameter Store stores text.", *in.DataType)
		}
	}
	p.KeyID = ""
	if p.Type == openrunner.ParameterSecureString {
		p.KeyID = "alias/aws/ssm"
		if in.KeyId != nil {
			p.KeyID = *in.KeyId
		}
	}
	version := int64(1)
	if n := len(p.History); n > 0 {
		version = p.History[n-1].Version + 1
	}
	p.History = append(p.History, openrunner.ParameterVersion{Version: version, ModifiedAt: s.now(),
		Sealed: seal(s.Vault, kindString, []byte(*in.Value), valueContext(scope, name, version))})
	if len(p.History) > maxParameterVersions {
		p.History = slices.Delete(p.History, 0, len(p.History)-maxParameterVersions)
	}
	return p, nil
}

// GetParameter implements ssmwire.SSM.
func (s *SSM) GetParameter(ctx context.Context, in *ssmwire.GetParameterInput) (*ssmwire.GetParameterOutput, error) {
	p, err := s.get(ctx, *in.Name, in.WithDecryption != nil && *in.WithDecryption)
	if err != nil {
		return nil, err
	}
	return &ssmwire.GetParameterOutput{Parameter: p}, nil
}

// Value returns the value of the parameter ref names (a name or an ARN in
// the caller's Scope, optionally with a :version selector) in clear, for
// resolving services' references.
func (s *SSM) Value(ctx context.Context, ref string) (string, error) {
	p, err := s.get(ctx, ref, true)
	if err != nil {
		return "", err
	}
	return *p.Value, nil
}

// get reads the parameter ref names as GetParameter answers it.
func (s *SSM) get(ctx context.Context, ref string, decrypt bool) (*ssmwire.Parameter, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	// An ARN of another account or Region names no parameter here.
	arnPrefix := "arn:aws:ssm:" + scope.Region + ":" + scope.AccountID + ":parameter"
	name, selector := splitSelector(strings.TrimPrefix(ref, arnPrefix))
	if strings.HasPrefix(name, "arn:") {
		return nil, fail(errParamNotFound, "Parameter %s not found.", ref)
	}
	p, err := s.Parameters.FindParameter(ctx, name)
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND && !strings.HasPrefix(ref, "/") && strings.HasPrefix(name, "/") {
		// arn:…:parameter/name names the parameter "name" as well as "/name".
		p, err = s.Parameters.FindParameter(ctx, strings.TrimPrefix(name, "/"))
	}
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil, fail(errParamNotFound, "Parameter %s not found.", ref)
	}
	if err != nil {
		return nil, err
	}
	v := p.Current()
	if selector != "" {
		n, err := strconv.ParseInt(selector, 10, 64)
		i := slices.IndexFunc(p.History, func(h openrunner.ParameterVersion) bool { return h.Version == n })
		if err != nil || i < 0 {
			return nil, fail(errVersionNotFound, "Systems Manager could not find version %s of %s. Verify the version and try again.", selector, p.Name)
		}
		v = p.History[i]
	}
	return s.wireParameter(scope, p, v, selector, decrypt)
}

// splitSelector splits "name:3" into "name" and "3".
func splitSelector(ref string) (name, selector string) {
	if i := strings.LastIndexByte(ref, ':'); i >= 0 && !strings.HasPrefix(ref, "arn:") {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// wireParameter is version v of p as the Get operations answer it: a
// SecureString's value is its sealed form unless decrypt.
func (s *SSM) wireParameter(scope openrunner.Scope, p *openrunner.Parameter, v openrunner.ParameterVersion, selector string, decrypt bool) (*ssmwire.Parameter, error) {
	var value string
	if p.Type == openrunner.ParameterSecureString && !decrypt {
		value = base64.StdEncoding.EncodeToString(v.Sealed)
	} else {
		_, b, err := open(s.Vault, v.Sealed, valueContext(scope, p.Name, v.Version))
		if err != nil {
			return nil, err
		}
		value = string(b)
	}
	out := &ssmwire.Parameter{ARN: smPtr(parameterARN(scope, p.Name)), Name: smPtr(p.Name), Type: smPtr(ssmwire.ParameterType(p.Type)),
		Value: &value, Version: smPtr(v.Version), LastModifiedDate: ssmwire.NewTimestamp(v.ModifiedAt), DataType: smPtr(p.DataType)}
	if selector != "" {
		out.Selector = smPtr(":" + selector)
	}
	return out, nil
}

// GetParameters implements ssmwire.SSM.
func (s *SSM) GetParameters(ctx context.Context, in *ssmwire.GetParametersInput) (*ssmwire.GetParametersOutput, error) {
	out := &ssmwire.GetParametersOutput{Parameters: []ssmwire.Parameter{}, InvalidParameters: []string{}}
	for _, name := range in.Names {
		p, err := s.get(ctx, name, in.WithDecryption != nil && *in.WithDecryption)
		switch {
		case err == nil:
			out.Parameters = append(out.Parameters, *p)
		case isException(err, errParamNotFound), isException(err, errVersionNotFound):
			out.InvalidParameters = append(out.InvalidParameters, name)
		default:
			return nil, err
		}
	}
	return out, nil
}

// DeleteParameter implements ssmwire.SSM.
func (s *SSM) DeleteParameter(ctx context.Context, in *ssmwire.DeleteParameterInput) (*ssmwire.DeleteParameterOutput, error) {
	err := s.Parameters.DeleteParameter(ctx, *in.Name)
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil, fail(errParamNotFound, "Parameter %s not found.", *in.Name)
	}
	return nil, err
}

func smPtr[T any](v T) *T { return &v }

// isException reports whether err is the exception typ.
func isException(err error, typ string) bool {
	var e *awsjson.Error
	return errors.As(err, &e) && e.Type == typ
}
