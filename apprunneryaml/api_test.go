package apprunneryaml_test

import (
	"reflect"
	"testing"

	"github.com/openrunner/openrunner/apprunneryaml"
)

func TestFromAPI_OK(t *testing.T) {
	c, err := apprunneryaml.FromAPI(apprunneryaml.CodeValues{
		Runtime:      "PYTHON_311",
		BuildCommand: "pip3 install -r requirements.txt",
		StartCommand: "python3 app.py",
		Port:         "8000",
		Env:          map[string]string{"B": "2", "A": "1"},
		Secrets:      map[string]string{"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &apprunneryaml.Config{
		Source:  apprunneryaml.SourceAPI,
		Runtime: mustRuntime(t, "python311"),
		Build:   apprunneryaml.Build{Commands: []string{"pip3 install -r requirements.txt"}},
		Run: apprunneryaml.Run{
			Command: "python3 app.py", Port: 8000,
			Env:     []apprunneryaml.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}},
			Secrets: []apprunneryaml.Secret{{Name: "DB_PASSWORD", ValueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("FromAPI=%+v\nwant     %+v", c, want)
	}
	if got, want := c.Run.Secrets[0].Kind(), apprunneryaml.SecretsManagerARN; got != want {
		t.Errorf("Kind=%v, want %v", got, want)
	}
}

func TestFromAPI_Defaults(t *testing.T) {
	c, err := apprunneryaml.FromAPI(apprunneryaml.CodeValues{Runtime: "NODEJS_22", StartCommand: "node index.js"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Run.Port, 8080; got != want {
		t.Errorf("Port=%d, want %d", got, want)
	}
	if len(c.Build.Commands) != 0 {
		t.Errorf("Build.Commands=%q, want none", c.Build.Commands)
	}
}

func TestFromAPI_Errors(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   apprunneryaml.CodeValues
		want string
	}{
		{"ErrRuntimeRequired", apprunneryaml.CodeValues{StartCommand: "x"}, "CodeConfigurationValues.Runtime: is required"},
		{"ErrRuntimeFileName", apprunneryaml.CodeValues{Runtime: "python3", StartCommand: "x"},
			`CodeConfigurationValues.Runtime: unsupported runtime "python3" (supported: PYTHON_3, NODEJS_12, NODEJS_14, CORRETTO_8, CORRETTO_11, NODEJS_16, GO_1, DOTNET_6, PHP_81, RUBY_31, PYTHON_311, NODEJS_18, NODEJS_22)`},
		{"ErrStartCommandRequired", apprunneryaml.CodeValues{Runtime: "GO_1"}, "CodeConfigurationValues.StartCommand: is required"},
		{"ErrStartCommandMultiline", apprunneryaml.CodeValues{Runtime: "GO_1", StartCommand: "./app\n"}, "CodeConfigurationValues.StartCommand: must be a single line"},
		{"ErrBuildCommandMultiline", apprunneryaml.CodeValues{Runtime: "GO_1", BuildCommand: "go build\rx", StartCommand: "./app"}, "CodeConfigurationValues.BuildCommand: must be a single line"},
		{"ErrPort", apprunneryaml.CodeValues{Runtime: "GO_1", StartCommand: "./app", Port: "65536"}, "CodeConfigurationValues.Port: must be a number from 1 to 65535"},
		{"ErrReservedEnv", apprunneryaml.CodeValues{Runtime: "GO_1", StartCommand: "./app", Env: map[string]string{"AWSAPPRUNNER_X": "1"}},
			`CodeConfigurationValues.RuntimeEnvironmentVariables: "AWSAPPRUNNER_X" is reserved: names starting with AWSAPPRUNNER are for App Runner's use`},
		{"ErrSecretValue", apprunneryaml.CodeValues{Runtime: "GO_1", StartCommand: "./app", Secrets: map[string]string{"S": "arn:aws:kms:us-east-1:123456789012:key/x"}},
			"CodeConfigurationValues.RuntimeEnvironmentSecrets[S]: must be a Secrets Manager secret ARN, an SSM parameter ARN or an SSM parameter name"},
		{"ErrSecretAndEnv", apprunneryaml.CodeValues{Runtime: "GO_1", StartCommand: "./app", Env: map[string]string{"S": "1"}, Secrets: map[string]string{"S": "p"}},
			`CodeConfigurationValues.RuntimeEnvironmentSecrets: "S" is also a RuntimeEnvironmentVariables name`},
		{"ErrSeveral", apprunneryaml.CodeValues{Runtime: "RUST_1", Port: "http"},
			"CodeConfigurationValues.Runtime: unsupported runtime \"RUST_1\" (supported: PYTHON_3, NODEJS_12, NODEJS_14, CORRETTO_8, CORRETTO_11, NODEJS_16, GO_1, DOTNET_6, PHP_81, RUBY_31, PYTHON_311, NODEJS_18, NODEJS_22)\n" +
				"CodeConfigurationValues.StartCommand: is required\nCodeConfigurationValues.Port: must be a number from 1 to 65535"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := apprunneryaml.FromAPI(tt.in)
			if c != nil {
				t.Errorf("FromAPI returned a config")
			}
			if got := errString(err); got != tt.want {
				t.Errorf("err=%q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSecret_Kind(t *testing.T) {
	for _, tt := range []struct {
		from string
		want apprunneryaml.SecretKind
	}{
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:xyz:username::", apprunneryaml.SecretsManagerARN},
		{"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:xyz", apprunneryaml.SecretsManagerARN},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/parameter-name", apprunneryaml.SSMParameterARN},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/a/b/c", apprunneryaml.SSMParameterARN},
		{"parameter-name", apprunneryaml.SSMParameterName},
		{"/prod/db.password_1", apprunneryaml.SSMParameterName},
		{"", 0},
		{"has space", 0},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/", 0},
		{"arn:aws:ssm:us-east-1:12345:parameter/x", 0},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:", 0},
		{"arn:aws:s3:::bucket", 0},
		{"arn:aws:ssm::123456789012:parameter/x", 0},
	} {
		if got := (apprunneryaml.Secret{ValueFrom: tt.from}).Kind(); got != tt.want {
			t.Errorf("Kind(%q)=%v, want %v", tt.from, got, tt.want)
		}
	}
}

func mustRuntime(tb testing.TB, name string) apprunneryaml.Runtime {
	tb.Helper()
	r, ok := apprunneryaml.LookupRuntime(name)
	if !ok {
		tb.Fatalf("no runtime %q", name)
	}
	return *r
}
