package wire

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// recorder is an AppRunner that records the inputs of the operations it
// overrides and returns out (nil by default) and err.
type recorder struct {
	Unimplemented
	in  any
	out any
	err error
}

func (r *recorder) CreateConnection(_ context.Context, in *CreateConnectionInput) (*CreateConnectionOutput, error) {
	r.in = in
	out, _ := r.out.(*CreateConnectionOutput)
	return out, r.err
}

func (r *recorder) CreateService(_ context.Context, in *CreateServiceInput) (*CreateServiceOutput, error) {
	r.in = in
	out, _ := r.out.(*CreateServiceOutput)
	return out, r.err
}

func (r *recorder) UpdateService(_ context.Context, in *UpdateServiceInput) (*UpdateServiceOutput, error) {
	r.in = in
	out, _ := r.out.(*UpdateServiceOutput)
	return out, r.err
}

func (r *recorder) ListServices(_ context.Context, in *ListServicesInput) (*ListServicesOutput, error) {
	r.in = in
	out, _ := r.out.(*ListServicesOutput)
	return out, r.err
}

func (r *recorder) TagResource(_ context.Context, in *TagResourceInput) (*TagResourceOutput, error) {
	r.in = in
	out, _ := r.out.(*TagResourceOutput)
	return out, r.err
}

var _ AppRunner = (*recorder)(nil)

const testARN = "arn:aws:apprunner:us-east-1:123456789012:service/svc/0123456789abcdef0123456789abcdef"

func TestDispatch_UnknownOperation(t *testing.T) {
	for _, op := range []string{"", "createConnection", "DescribeConnection", "AppRunner.CreateConnection"} {
		_, err := Dispatch(context.Background(), Unimplemented{}, op, []byte("{}"))
		if !errors.Is(err, ErrUnknownOperation) {
			t.Errorf("Dispatch(%q): err=%v, want ErrUnknownOperation", op, err)
		}
	}
}

// decodeErr runs Dispatch and returns the message of the *DecodeError it
// must fail with.
func decodeErr(t *testing.T, op, body string) string {
	t.Helper()
	_, err := Dispatch(context.Background(), Unimplemented{}, op, []byte(body))
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("Dispatch(%s, %q): err=%v (%T), want *DecodeError", op, body, err, err)
	}
	return de.Message
}

func TestDispatch_DecodeErrors(t *testing.T) {
	const p = "Unable to parse request body: "
	for _, tc := range []struct {
		name, op, body, want string
	}{
		{"Truncated", "CreateConnection", `{"ConnectionName":`, p + "unexpected end of JSON input"},
		{"Garbage", "CreateConnection", `{"ConnectionName" "x"}`, p + "malformed JSON at offset 18"},
		{"TrailingComma", "ListServices", `{"MaxResults":5,}`, p + "malformed JSON at offset 16"},
		{"SingleQuotes", "ListServices", `{'MaxResults':5}`, p + "malformed JSON at offset 1"},
		{"Array", "ListServices", `[]`, p + "expected a JSON object"},
		{"String", "ListServices", `"{}"`, p + "expected a JSON object"},
		{"Null", "ListServices", `null`, p + "expected a JSON object"},
		{"Number", "ListServices", ` 5 `, p + "expected a JSON object"},
		{"Trailing", "ListServices", `{} x`, p + "unexpected data after the JSON object at offset 3"},
		{"TwoObjects", "ListServices", `{}{}`, p + "unexpected data after the JSON object at offset 2"},
		{"TrailingInvalidMember", "ListServices", `{"NextToken":"a"}}`, p + "unexpected data after the JSON object at offset 17"},
		{"WantString", "CreateConnection", `{"ConnectionName":5}`, p + `expected a string for member "ConnectionName"`},
		{"WantStringNotObject", "CreateConnection", `{"ConnectionName":{"a":1}}`, p + `expected a string for member "ConnectionName"`},
		{"WantEnumString", "CreateConnection", `{"ProviderType":true}`, p + `expected a string for member "ProviderType"`},
		{"WantInteger", "ListServices", `{"MaxResults":"5"}`, p + `expected an integer for member "MaxResults"`},
		{"WantIntegerNotFraction", "ListServices", `{"MaxResults":1.5}`, p + `expected an integer for member "MaxResults"`},
		{"WantIntegerNotExponent", "ListServices", `{"MaxResults":1e1}`, p + `expected an integer for member "MaxResults"`},
		{"IntegerOverflow", "ListServices", `{"MaxResults":2147483648}`, p + `integer out of range for member "MaxResults"`},
		{"IntegerUnderflow", "ListServices", `{"MaxResults":-99999999999999999999}`, p + `integer out of range for member "MaxResults"`},
		{"BadNumber", "ListServices", `{"MaxResults":01}`, p + "malformed JSON at offset 15"},
		{"WantBoolean", "DeleteAutoScalingConfiguration", `{"DeleteAllRevisions":"true"}`, p + `expected a boolean for member "DeleteAllRevisions"`},
		{"BadLiteral", "DeleteAutoScalingConfiguration", `{"DeleteAllRevisions":tru}`, p + "malformed JSON at offset 22"},
		{"WantArray", "CreateConnection", `{"Tags":{"Key":"a"}}`, p + `expected an array for member "Tags"`},
		{"WantObjectElement", "CreateConnection", `{"Tags":[{"Key":"a"},"b"]}`, p + `expected an object for member "Tags[1]"`},
		{"NullElement", "CreateConnection", `{"Tags":[null]}`, p + `expected an object for member "Tags[0]"`},
		{"NestedMember", "CreateConnection", `{"Tags":[{"Key":"a"},{"Value":[]}]}`, p + `expected a string for member "Tags[1].Value"`},
		{"WantStringElement", "UntagResource", `{"TagKeys":["a",1]}`, p + `expected a string for member "TagKeys[1]"`},
		{"WantObject", "CreateService", `{"SourceConfiguration":"x"}`, p + `expected an object for member "SourceConfiguration"`},
		{"SensitiveMapKeyHidden", "CreateService", `{"SourceConfiguration":{"ImageRepository":{"ImageConfiguration":{"RuntimeEnvironmentVariables":{"SECRET_NAME":1}}}}}`,
			p + `expected a string for member "SourceConfiguration.ImageRepository.ImageConfiguration.RuntimeEnvironmentVariables[***]"`},
		{"InvalidUTF8", "ListServices", "{\"NextToken\":\"a\xffb\"}", p + "invalid UTF-8 in a string at offset 15"},
		{"InvalidUTF8InUnknownMember", "ListServices", "{\"x\xff\":1}", p + "invalid UTF-8 in a string at offset 3"},
		{"ControlCharacter", "ListServices", "{\"NextToken\":\"a\nb\"}", p + "malformed JSON at offset 15"},
		{"BadEscape", "ListServices", `{"NextToken":"\x41"}`, p + "malformed JSON at offset 14"},
		{"MalformedUnknownMember", "ListServices", `{"Unknown":[1,2,}`, p + "malformed JSON at offset 16"},
		{"TooDeep", "ListServices", `{"Unknown":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`, p + "JSON nested too deeply at offset 1011"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := decodeErr(t, tc.op, tc.body); got != tc.want {
				t.Errorf("message=%q\nwant     %q", got, tc.want)
			}
		})
	}
}

func TestDispatch_Decode(t *testing.T) {
	t.Run("EmptyBody", func(t *testing.T) {
		for _, body := range []string{"", " \n\t\r ", "{}", " { } "} {
			var r recorder
			out, err := Dispatch(context.Background(), &r, "ListServices", []byte(body))
			if err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if got, want := r.in, (&ListServicesInput{}); !reflect.DeepEqual(got, want) {
				t.Errorf("body %q: input=%+v, want %+v", body, got, want)
			}
			if _, ok := out.(*ListServicesOutput); !ok || out.(*ListServicesOutput) == nil {
				t.Errorf("body %q: out=%#v, want a non-nil *ListServicesOutput", body, out)
			}
		}
	})
	t.Run("EmptyBodyStillValidated", func(t *testing.T) {
		_, err := Dispatch(context.Background(), &recorder{}, "CreateConnection", nil)
		if got := openrunner.ErrorCode(err); got != openrunner.EINVALID {
			t.Fatalf("code=%q, want EINVALID (err=%v)", got, err)
		}
	})
	t.Run("NullIsAbsent", func(t *testing.T) {
		var r recorder
		_, err := Dispatch(context.Background(), &r, "ListServices", []byte(`{"MaxResults":null,"NextToken":null}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.in.(*ListServicesInput); got.MaxResults != nil || got.NextToken != nil {
			t.Errorf("input=%+v, want empty", got)
		}
	})
	t.Run("UnknownMembersIgnored", func(t *testing.T) {
		var r recorder
		body := `{"Future":{"a":[1,-2.5e3,true,false,null,"s\"\u00e9",{}]},"maxresults":0,"MaxResults":7,"X":[]}`
		if _, err := Dispatch(context.Background(), &r, "ListServices", []byte(body)); err != nil {
			t.Fatal(err)
		}
		if got := r.in.(*ListServicesInput); Deref(got.MaxResults) != 7 {
			t.Errorf("MaxResults=%v, want 7", got.MaxResults)
		}
	})
	t.Run("EscapesAndDuplicates", func(t *testing.T) {
		var r recorder
		// Member names are compared after unescaping; the last duplicate wins.
		body := `{"Connection\u004eame":"first","ConnectionName":"conn-\u00e9\ud83d\ude00\ud800x\/","ProviderType":"GITHUB"}`
		if _, err := Dispatch(context.Background(), &r, "CreateConnection", []byte(body)); err == nil || openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Fatalf("err=%v, want EINVALID (pattern)", err)
		}
		body = `{"Connection\u004eame":"conn-1","ProviderType":"GITHUB"}`
		if _, err := Dispatch(context.Background(), &r, "CreateConnection", []byte(body)); err != nil {
			t.Fatal(err)
		}
		if got := Deref(r.in.(*CreateConnectionInput).ConnectionName); got != "conn-1" {
			t.Errorf("ConnectionName=%q", got)
		}
		var in ListServicesInput
		if err := json.Unmarshal([]byte(`{"NextToken":"a\u00e9\ud83d\ude00\ud800x\/\"\\\b\f\n\r\t"}`), &in); err != nil {
			t.Fatal(err)
		}
		if got, want := Deref(in.NextToken), "aé😀\ufffdx/\"\\\b\f\n\r\t"; got != want {
			t.Errorf("NextToken=%q, want %q", got, want)
		}
	})
	t.Run("EmptyListStaysPresent", func(t *testing.T) {
		var r recorder
		if _, err := Dispatch(context.Background(), &r, "TagResource", []byte(`{"ResourceArn":"`+testARN+`","Tags":[]}`)); err != nil {
			t.Fatal(err)
		}
		if tags := r.in.(*TagResourceInput).Tags; tags == nil || len(tags) != 0 {
			t.Errorf("Tags=%#v, want a non-nil empty slice", tags)
		}
	})
	t.Run("NilOutputIsEmpty", func(t *testing.T) {
		out, err := Dispatch(context.Background(), &recorder{}, "TagResource", []byte(`{"ResourceArn":"`+testARN+`","Tags":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), "{}"; got != want {
			t.Errorf("output=%s, want %s", got, want)
		}
	})
	t.Run("OutputReturned", func(t *testing.T) {
		want := &CreateConnectionOutput{Connection: &Connection{ConnectionName: Ptr("conn")}}
		out, err := Dispatch(context.Background(), &recorder{out: want}, "CreateConnection", []byte(`{"ConnectionName":"conn","ProviderType":"GITHUB"}`))
		if err != nil {
			t.Fatal(err)
		}
		if out != want {
			t.Errorf("out=%v, want the method's output", out)
		}
	})
	t.Run("MethodErrorReturned", func(t *testing.T) {
		want := openrunner.Errorf(openrunner.ECONFLICT, "taken")
		out, err := Dispatch(context.Background(), &recorder{err: want, out: &CreateConnectionOutput{}}, "CreateConnection", []byte(`{"ConnectionName":"conn","ProviderType":"GITHUB"}`))
		if err != want || out != nil {
			t.Errorf("out, err = %v, %v; want nil, %v", out, err, want)
		}
	})
	t.Run("Unimplemented", func(t *testing.T) {
		_, err := Dispatch(context.Background(), Unimplemented{}, "ListServices", nil)
		if got, want := openrunner.ErrorMessage(err), "OpenRunner does not implement ListServices yet."; openrunner.ErrorCode(err) != openrunner.ENOTIMPLEMENTED || got != want {
			t.Errorf("err=%v, want ENOTIMPLEMENTED %q", err, want)
		}
	})
}

// validationMessage runs Dispatch and returns the message of the EINVALID
// error it must fail with.
func validationMessage(t *testing.T, op, body string) string {
	t.Helper()
	_, err := Dispatch(context.Background(), Unimplemented{}, op, []byte(body))
	var e *openrunner.Error
	if !errors.As(err, &e) || e.Code != openrunner.EINVALID {
		t.Fatalf("Dispatch(%s, %s): err=%v, want EINVALID", op, body, err)
	}
	return e.Message
}

func TestDispatch_Validation(t *testing.T) {
	long := strings.Repeat("a", 120)
	for _, tc := range []struct {
		name, op, body, want string
	}{
		{"Required", "CreateConnection", `{"ProviderType":"GITHUB"}`,
			"1 validation error detected: Value null at 'connectionName' failed to satisfy constraint: Member must not be null"},
		{"RequiredNull", "CreateConnection", `{"ConnectionName":null,"ProviderType":null}`,
			"2 validation errors detected: Value null at 'connectionName' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'providerType' failed to satisfy constraint: Member must not be null"},
		{"Pattern", "CreateConnection", `{"ConnectionName":"-abcd","ProviderType":"GITHUB"}`,
			`1 validation error detected: Value '-abcd' at 'connectionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{3,31}`},
		{"PatternIsFullMatch", "CreateConnection", `{"ConnectionName":"abcd!","ProviderType":"GITHUB"}`,
			`1 validation error detected: Value 'abcd!' at 'connectionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{3,31}`},
		{"LengthAndPattern", "CreateConnection", `{"ConnectionName":"abc","ProviderType":"GITHUB"}`,
			"2 validation errors detected: Value 'abc' at 'connectionName' failed to satisfy constraint: Member must have length greater than or equal to 4; " +
				`Value 'abc' at 'connectionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\-_]{3,31}`},
		{"LengthInCodePoints", "DescribeCustomDomains", `{"ServiceArn":"` + testARN + `","NextToken":""}`,
			""}, // String shape: min 0, so no violation; see LengthMax for the upper bound.
		{"LengthMax", "ListServices", `{"NextToken":"` + strings.Repeat("é", 51201) + `"}`,
			"1 validation error detected: Value '" + strings.Repeat("é", 100) + "...' at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to 51200"},
		{"Enum", "CreateConnection", `{"ConnectionName":"conn","ProviderType":"GITLAB"}`,
			"1 validation error detected: Value 'GITLAB' at 'providerType' failed to satisfy constraint: Member must satisfy enum value set: [GITHUB, BITBUCKET]"},
		{"EnumCaseSensitive", "CreateConnection", `{"ConnectionName":"conn","ProviderType":"github"}`,
			"1 validation error detected: Value 'github' at 'providerType' failed to satisfy constraint: Member must satisfy enum value set: [GITHUB, BITBUCKET]"},
		{"RangeMin", "ListServices", `{"MaxResults":0}`,
			"1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"RangeMax", "ListServices", `{"MaxResults":21}`,
			"1 validation error detected: Value '21' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 20"},
		{"RangeNegative", "CreateAutoScalingConfiguration", `{"AutoScalingConfigurationName":"asc1","MinSize":-3,"MaxConcurrency":201}`,
			"2 validation errors detected: Value '201' at 'maxConcurrency' failed to satisfy constraint: Member must have value less than or equal to 200; " +
				"Value '-3' at 'minSize' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"TagKeyAWSPrefix", "CreateConnection", `{"ConnectionName":"conn","ProviderType":"GITHUB","Tags":[{"Key":"ok","Value":"v"},{"Key":"aws:owner","Value":"me"}]}`,
			"1 validation error detected: Value 'aws:owner' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!aws:).+"},
		{"TagKeyEmpty", "CreateConnection", `{"ConnectionName":"conn","ProviderType":"GITHUB","Tags":[{"Key":""}]}`,
			"2 validation errors detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!aws:).+"},
		{"TagKeyAWSIsOnlyAPrefix", "CreateConnection", `{"ConnectionName":"conn","ProviderType":"GITHUB","Tags":[{"Key":"x-aws:","Value":"aws:"},{"Key":"AWS:x"}]}`,
			""},
		{"TagKeysList", "UntagResource", `{"ResourceArn":"` + testARN + `","TagKeys":["a","aws:b"]}`,
			"1 validation error detected: Value 'aws:b' at 'tagKeys.2.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!aws:).+"},
		{"NestedPath", "CreateService", `{"ServiceName":"svc1","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"nginx:latest"}}}`,
			"1 validation error detected: Value null at 'sourceConfiguration.imageRepository.imageRepositoryType' failed to satisfy constraint: Member must not be null"},
		{"ImageIdentifierAnyReference", "CreateService", `{"ServiceName":"svc1","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"ghcr.io/owner/app@sha256:abc","ImageRepositoryType":"ECR_PUBLIC"}}}`,
			""},
		{"ImageIdentifierLength", "CreateService", `{"ServiceName":"svc1","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"","ImageRepositoryType":"ECR"}}}`,
			"1 validation error detected: Value '' at 'sourceConfiguration.imageRepository.imageIdentifier' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"SensitiveHidden", "CreateService", `{"ServiceName":"svc1","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"nginx","ImageRepositoryType":"ECR","ImageConfiguration":{"StartCommand":"echo hunter2\nrm"}}}}`,
			`1 validation error detected: Value '***' at 'sourceConfiguration.imageRepository.imageConfiguration.startCommand' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\x0a\x0d]+`},
		{"SensitiveMapEntry", "CreateService", `{"ServiceName":"svc1","SourceConfiguration":{"ImageRepository":{"ImageIdentifier":"nginx","ImageRepositoryType":"ECR","ImageConfiguration":{"RuntimeEnvironmentSecrets":{"DB_PASSWORD":"","OK":"arn:x"}}}}}`,
			"1 validation error detected: Value '***' at 'sourceConfiguration.imageRepository.imageConfiguration.runtimeEnvironmentSecrets.***' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"EnumInNestedStructure", "CreateService", `{"ServiceName":"svc1","SourceConfiguration":{"CodeRepository":{"RepositoryUrl":"https://github.com/o/r","SourceCodeVersion":{"Type":"TAG","Value":"v1"},"CodeConfiguration":{"ConfigurationSource":"API","CodeConfigurationValues":{"Runtime":"PYTHON_2"}}}}}`,
			"2 validation errors detected: Value 'PYTHON_2' at 'sourceConfiguration.codeRepository.codeConfiguration.codeConfigurationValues.runtime' failed to satisfy constraint: Member must satisfy enum value set: " +
				"[PYTHON_3, NODEJS_12, NODEJS_14, CORRETTO_8, CORRETTO_11, NODEJS_16, GO_1, DOTNET_6, PHP_81, RUBY_31, PYTHON_311, NODEJS_18, NODEJS_22]; " +
				"Value 'TAG' at 'sourceConfiguration.codeRepository.sourceCodeVersion.type' failed to satisfy constraint: Member must satisfy enum value set: [BRANCH]"},
		{"LongValueCut", "DescribeService", `{"ServiceArn":"` + long + `"}`,
			"1 validation error detected: Value '" + strings.Repeat("a", 100) + "...' at 'serviceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: " +
				`arn:aws(-[\w]+)*:[a-z0-9-\\.]{0,63}:[a-z0-9-\\.]{0,63}:[0-9]{12}:(\w|\/|-){1,1011}`},
		{"ARNResourcePartLimit", "DescribeService", `{"ServiceArn":"arn:aws:apprunner:us-east-1:123456789012:` + strings.Repeat("a", 1011-41) + `"}`,
			""},
		{"ARNResourcePartTooLong", "DescribeService", `{"ServiceArn":"arn:aws:apprunner:us-east-1:123456789012:` + strings.Repeat("a", 1012) + `"}`,
			"2 validation errors detected: Value 'arn:aws:apprunner:us-east-1:123456789012:" + strings.Repeat("a", 59) + "...' at 'serviceArn' failed to satisfy constraint: Member must have length less than or equal to 1011; " +
				"Value 'arn:aws:apprunner:us-east-1:123456789012:" + strings.Repeat("a", 59) + "...' at 'serviceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: " +
				`arn:aws(-[\w]+)*:[a-z0-9-\\.]{0,63}:[a-z0-9-\\.]{0,63}:[0-9]{12}:(\w|\/|-){1,1011}`},
		{"MultipleInMemberOrder", "CreateService", `{"Tags":[{"Key":"aws:x"}],"ServiceName":"x","HealthCheckConfiguration":{"Interval":0,"Timeout":21,"Protocol":"UDP"},"InstanceConfiguration":{"Cpu":"3 vCPU","Memory":"2 GB"}}`,
			"8 validation errors detected: " +
				"Value '0' at 'healthCheckConfiguration.interval' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value 'UDP' at 'healthCheckConfiguration.protocol' failed to satisfy constraint: Member must satisfy enum value set: [TCP, HTTP]; " +
				"Value '21' at 'healthCheckConfiguration.timeout' failed to satisfy constraint: Member must have value less than or equal to 20; " +
				"Value '3 vCPU' at 'instanceConfiguration.cpu' failed to satisfy constraint: Member must satisfy regular expression pattern: 256|512|1024|2048|4096|(0.25|0.5|1|2|4) vCPU; " +
				"Value 'x' at 'serviceName' failed to satisfy constraint: Member must have length greater than or equal to 4; " +
				"Value 'x' at 'serviceName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9-_]{3,39}; " +
				"Value null at 'sourceConfiguration' failed to satisfy constraint: Member must not be null; " +
				"Value 'aws:x' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!aws:).+"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				_, err := Dispatch(context.Background(), Unimplemented{}, tc.op, []byte(tc.body))
				if openrunner.ErrorCode(err) != openrunner.ENOTIMPLEMENTED {
					t.Fatalf("err=%v, want the input to be valid", err)
				}
				return
			}
			if got := validationMessage(t, tc.op, tc.body); got != tc.want {
				t.Errorf("message=%q\nwant     %q", got, tc.want)
			}
		})
	}
}

func TestDispatch_ValidationCount(t *testing.T) {
	keys := make([]string, 150)
	for i := range keys {
		keys[i] = `"aws:k"`
	}
	msg := validationMessage(t, "UntagResource", `{"ResourceArn":"`+testARN+`","TagKeys":[`+strings.Join(keys, ",")+`]}`)
	if !strings.HasPrefix(msg, "150 validation errors detected: Value 'aws:k' at 'tagKeys.1.member' failed") {
		t.Errorf("message starts %.100q", msg)
	}
	if got, want := strings.Count(msg, "; ")+1, 100; got != want { // codec's maxListed
		t.Errorf("%d violations listed, want %d", got, want)
	}
}

func TestValidate_NilInput(t *testing.T) {
	var in *CreateConnectionInput
	if got, want := openrunner.ErrorMessage(in.Validate()), "2 validation errors detected: Value null at 'connectionName' failed to satisfy constraint: Member must not be null; Value null at 'providerType' failed to satisfy constraint: Member must not be null"; got != want {
		t.Errorf("message=%q, want %q", got, want)
	}
}

func TestOperations(t *testing.T) {
	if got, want := len(Operations), 37; got != want {
		t.Fatalf("%d operations, want %d", got, want)
	}
	api := reflect.TypeFor[AppRunner]()
	for i, op := range Operations {
		if i > 0 && Operations[i-1].Name >= op.Name {
			t.Errorf("Operations not sorted at %s", op.Name)
		}
		if _, ok := api.MethodByName(op.Name); !ok {
			t.Errorf("AppRunner has no method %s", op.Name)
		}
		got, ok := LookupOperation(op.Name)
		if !ok || got.Name != op.Name {
			t.Errorf("LookupOperation(%s)=%v, %v", op.Name, got, ok)
		}
		if !slices.Contains(op.Errors, "InternalServiceErrorException") {
			t.Errorf("%s: errors %v lack InternalServiceErrorException", op.Name, op.Errors)
		}
	}
	if _, ok := LookupOperation("createService"); ok {
		t.Error("LookupOperation is not case-sensitive")
	}
	if _, ok := LookupOperation("Zzz"); ok {
		t.Error("LookupOperation(Zzz) found")
	}
	info, _ := LookupOperation("StartDeployment")
	if got, want := info.Errors, []string{"InternalServiceErrorException", "InvalidRequestException", "ResourceNotFoundException"}; !reflect.DeepEqual(got, want) {
		t.Errorf("StartDeployment errors=%v, want %v", got, want)
	}
}

func TestMarshalJSON(t *testing.T) {
	ts := time.Date(2020, 10, 2, 23, 25, 32, 650_000_000, time.UTC)
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"Empty", &TagResourceOutput{}, `{}`},
		{"RequiredListAlwaysPresent", &ListServicesOutput{}, `{"ServiceSummaryList":[]}`},
		{"OptionalListOmittedWhenNil", &ListTagsForResourceOutput{}, `{}`},
		{"EmptyOptionalListKept", &ListTagsForResourceOutput{Tags: []Tag{}}, `{"Tags":[]}`},
		{"Values", &CreateConnectionOutput{Connection: &Connection{
			ConnectionArn:  Ptr("arn"),
			ConnectionName: Ptr("a\"b\\c\n\u2028<>&é\x01"),
			CreatedAt:      NewTimestamp(ts),
			ProviderType:   Ptr(ProviderTypeGithub),
			Status:         Ptr(ConnectionStatusPendingHandshake),
		}}, `{"Connection":{"ConnectionArn":"arn","ConnectionName":"a\"b\\c\n\u2028<>&é\u0001","CreatedAt":1601681132.65,"ProviderType":"GITHUB","Status":"PENDING_HANDSHAKE"}}`},
		{"Scalars", &AutoScalingConfiguration{MaxConcurrency: Ptr[int32](-5), IsDefault: Ptr(false), Latest: Ptr(true)},
			`{"IsDefault":false,"Latest":true,"MaxConcurrency":-5}`},
		{"MapsSorted", &ImageConfiguration{RuntimeEnvironmentVariables: map[string]string{"b": "2", "a": "1"}}, `{"RuntimeEnvironmentVariables":{"a":"1","b":"2"}}`},
		{"ValueReceiver", ListServicesOutput{NextToken: Ptr("t")}, `{"NextToken":"t","ServiceSummaryList":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // as awsjson does
			if err := enc.Encode(tc.v); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(buf.String(), "\n"); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			// AppendJSON writes the same, without encoding/json.
			a, ok := tc.v.(interface{ AppendJSON([]byte) []byte })
			if !ok {
				a = reflect.New(reflect.TypeOf(tc.v)).Interface().(interface{ AppendJSON([]byte) []byte })
				reflect.ValueOf(a).Elem().Set(reflect.ValueOf(tc.v))
			}
			if got := string(a.AppendJSON([]byte("x"))); got != "x"+tc.want {
				t.Errorf("AppendJSON: got %s\nwant x%s", got, tc.want)
			}
		})
	}
}
