package apprunneryaml_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/openrunner/openrunner/apprunneryaml"
)

// Real-world files from apprunner-runtime.md §1.5.
const (
	helloAppRunner = `version: 1.0
runtime: python3
build:
  commands:
    pre-build:
    - yum install -y pycairo
    build:
    - pip install -r requirements.txt
run:
  command: python app.py
  network:
    port: 8000
`
	python311All = `version: 1.0
runtime: python311
build:
  commands:
    pre-build:
      - wget -c https://s3.amazonaws.com/amzn-s3-demo-bucket/test-lib.tar.gz -O - | tar -xz
    build:
      - pip3 install pipenv
      - pipenv install
    post-build:
      - python3 manage.py test
  env:
    - name: DJANGO_SETTINGS_MODULE
      value: "django_apprunner.settings"
run:
  runtime-version: 3.11
  pre-run:
    - pip3 install pipenv
    - pipenv install
    - python3 copy-global-files.py
  command: pipenv run gunicorn django_apprunner.wsgi --log-file -
  network:
    port: 8000
    env: MY_APP_PORT
  env:
    - name: MY_VAR_EXAMPLE
      value: "example"
  secrets:
    - name: my-parameter
      value-from: "arn:aws:ssm:us-east-1:123456789012:parameter/parameter-name"
`
	nodejs12 = `version: 1.0
runtime: nodejs12
build:
  commands:
    pre-build:
      - npm install --only=dev
      - node test.js
    build:
      - npm install --production
    post-build:
      - node node_modules/ejs/postinstall.js
  env:
    - name: MY_VAR_EXAMPLE
      value: "example"
run:
  runtime-version: 12.18.4
  command: node app.js
  network:
    port: 8000
    env: APP_PORT
`
	nodejs18 = `version: 1.0
runtime: nodejs18
build:
  commands:
    build:
      - npm ci
run:
  runtime-version: 18
  command: npm start
  network:
    port: 3000
    env: PORT
`
	go1 = `version: 1.0
runtime: go1
build:
  commands:
    pre-build:
      - scripts/prebuild.sh
    build:
      - go build main.go
    post-build:
      - scripts/postbuild.sh
  env:
    - name: MY_VAR_EXAMPLE
      value: "example"
run:
  runtime-version: 1.18.7
  command: ./main
  network:
    port: 3000
    env: APP_PORT
`
	corretto11 = `version: 1.0
runtime: corretto11
build:
  commands:
    pre-build:
      - yum install some-package
      - scripts/prebuild.sh
    build:
      - mvn clean package
    post-build:
      - mvn clean test
  env:
    - name: M2
      value: "/usr/local/apache-maven/bin"
run:
  runtime-version: 11.0.13.08.1
  command: java -jar target/MyApp-1.0-SNAPSHOT.jar -Xms256m .
  network:
    port: 8000
    env: APP_PORT
`
	secretsAll = `version: 1.0
runtime: nodejs22
build:
  commands:
    build:
      - npm ci
run:
  command: node server.js
  secrets:
    - name: my-secret
      value-from: "arn:aws:secretsmanager:us-east-1:123456789012:secret:xyz:username::"
    - name: my-parameter
      value-from: "arn:aws:ssm:us-east-1:123456789012:parameter/parameter-name"
    - name: my-parameter-only-name
      value-from: "parameter-name"
`
)

func TestParse_OK(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want apprunneryaml.Config // Runtime is checked by name only
	}{
		{"HelloAppRunner", helloAppRunner, apprunneryaml.Config{
			Build: apprunneryaml.Build{PreBuild: []string{"yum install -y pycairo"}, Commands: []string{"pip install -r requirements.txt"}},
			Run:   apprunneryaml.Run{Command: "python app.py", Port: 8000},
		}},
		{"Python311AllKeys", python311All, apprunneryaml.Config{
			Build: apprunneryaml.Build{
				PreBuild:  []string{"wget -c https://s3.amazonaws.com/amzn-s3-demo-bucket/test-lib.tar.gz -O - | tar -xz"},
				Commands:  []string{"pip3 install pipenv", "pipenv install"},
				PostBuild: []string{"python3 manage.py test"},
				Env:       []apprunneryaml.EnvVar{{Name: "DJANGO_SETTINGS_MODULE", Value: "django_apprunner.settings", Line: 13}},
			},
			Run: apprunneryaml.Run{
				RuntimeVersion: "3.11",
				PreRun:         []string{"pip3 install pipenv", "pipenv install", "python3 copy-global-files.py"},
				Command:        "pipenv run gunicorn django_apprunner.wsgi --log-file -",
				Port:           8000, PortEnv: "MY_APP_PORT",
				Env:     []apprunneryaml.EnvVar{{Name: "MY_VAR_EXAMPLE", Value: "example", Line: 26}},
				Secrets: []apprunneryaml.Secret{{Name: "my-parameter", ValueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/parameter-name", Line: 29}},
			},
		}},
		{"NodeJS12", nodejs12, apprunneryaml.Config{
			Build: apprunneryaml.Build{
				PreBuild:  []string{"npm install --only=dev", "node test.js"},
				Commands:  []string{"npm install --production"},
				PostBuild: []string{"node node_modules/ejs/postinstall.js"},
				Env:       []apprunneryaml.EnvVar{{Name: "MY_VAR_EXAMPLE", Value: "example", Line: 13}},
			},
			Run: apprunneryaml.Run{RuntimeVersion: "12.18.4", Command: "node app.js", Port: 8000, PortEnv: "APP_PORT"},
		}},
		{"NodeJS18", nodejs18, apprunneryaml.Config{
			Build: apprunneryaml.Build{Commands: []string{"npm ci"}},
			Run:   apprunneryaml.Run{RuntimeVersion: "18", Command: "npm start", Port: 3000, PortEnv: "PORT"},
		}},
		{"Go1", go1, apprunneryaml.Config{
			Build: apprunneryaml.Build{
				PreBuild: []string{"scripts/prebuild.sh"}, Commands: []string{"go build main.go"}, PostBuild: []string{"scripts/postbuild.sh"},
				Env: []apprunneryaml.EnvVar{{Name: "MY_VAR_EXAMPLE", Value: "example", Line: 12}},
			},
			Run: apprunneryaml.Run{RuntimeVersion: "1.18.7", Command: "./main", Port: 3000, PortEnv: "APP_PORT"},
		}},
		{"Corretto11", corretto11, apprunneryaml.Config{
			Build: apprunneryaml.Build{
				PreBuild: []string{"yum install some-package", "scripts/prebuild.sh"}, Commands: []string{"mvn clean package"}, PostBuild: []string{"mvn clean test"},
				Env: []apprunneryaml.EnvVar{{Name: "M2", Value: "/usr/local/apache-maven/bin", Line: 13}},
			},
			Run: apprunneryaml.Run{RuntimeVersion: "11.0.13.08.1", Command: "java -jar target/MyApp-1.0-SNAPSHOT.jar -Xms256m .", Port: 8000, PortEnv: "APP_PORT"},
		}},
		{"SecretKinds", secretsAll, apprunneryaml.Config{
			Build: apprunneryaml.Build{Commands: []string{"npm ci"}},
			Run: apprunneryaml.Run{Command: "node server.js", Port: 8080, Secrets: []apprunneryaml.Secret{
				{Name: "my-secret", ValueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:xyz:username::", Line: 10},
				{Name: "my-parameter", ValueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/parameter-name", Line: 12},
				{Name: "my-parameter-only-name", ValueFrom: "parameter-name", Line: 14},
			}},
		}},
		{"MinimalDefaultPort", "version: 1.0\nruntime: nodejs22\nbuild:\n  commands:\n    build: [npm ci]\nrun:\n  command: node index.js\n",
			apprunneryaml.Config{Build: apprunneryaml.Build{Commands: []string{"npm ci"}}, Run: apprunneryaml.Run{Command: "node index.js", Port: 8080}}},
		{"QuotedPortAndVersion1", "version: 1\nruntime: python311\nbuild:\n  commands:\n    build:\n      - pip3 install -r requirements.txt\nrun:\n  command: python3 app.py\n  network:\n    port: \"8000\"\n",
			apprunneryaml.Config{Build: apprunneryaml.Build{Commands: []string{"pip3 install -r requirements.txt"}}, Run: apprunneryaml.Run{Command: "python3 app.py", Port: 8000}}},
		{"EmptyValueNullNetwork", "version: 1.0\nruntime: go1\nbuild:\n  commands:\n    build:\n      - go build -o app\nrun:\n  command: ./app\n  network:\n  env:\n    - name: EMPTY\n      value:\n    - name: QUOTED\n      value: \"\"\n",
			apprunneryaml.Config{Build: apprunneryaml.Build{Commands: []string{"go build -o app"}}, Run: apprunneryaml.Run{Command: "./app", Port: 8080,
				Env: []apprunneryaml.EnvVar{{Name: "EMPTY", Line: 11}, {Name: "QUOTED", Line: 13}}}}},
		{"AnchorsAndAliases", "version: 1.0\nruntime: nodejs22\nbuild:\n  commands:\n    pre-build: &install\n      - npm ci\n    build: *install\nrun:\n  pre-run: *install\n  command: npm start\n",
			apprunneryaml.Config{Build: apprunneryaml.Build{PreBuild: []string{"npm ci"}, Commands: []string{"npm ci"}}, Run: apprunneryaml.Run{PreRun: []string{"npm ci"}, Command: "npm start", Port: 8080}}},
		{"ScalarCommandsKeepText", "version: 1.0\nruntime: nodejs22\nbuild:\n  commands:\n    build:\n      - true\n      - 'echo \"a: b\"'\nrun:\n  command: '  node app.js  '\n",
			apprunneryaml.Config{Build: apprunneryaml.Build{Commands: []string{"true", `echo "a: b"`}}, Run: apprunneryaml.Run{Command: "node app.js", Port: 8080}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := apprunneryaml.Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, want := c.Source, apprunneryaml.SourceRepository; got != want {
				t.Errorf("Source=%q, want %q", got, want)
			}
			if got, want := c.Version, "1.0"; got != want {
				t.Errorf("Version=%q, want %q", got, want)
			}
			if got, want := c.RuntimeLine, 2; got != want {
				t.Errorf("RuntimeLine=%d, want %d", got, want)
			}
			if got, want := c.Build, tt.want.Build; !reflect.DeepEqual(got, want) {
				t.Errorf("Build=%+v\nwant   %+v", got, want)
			}
			if got, want := c.Run, tt.want.Run; !reflect.DeepEqual(normRun(got), normRun(want)) {
				t.Errorf("Run=%+v\nwant %+v", got, want)
			}
		})
	}
}

// normRun makes nil and empty slices compare equal.
func normRun(r apprunneryaml.Run) apprunneryaml.Run {
	if len(r.PreRun) == 0 {
		r.PreRun = nil
	}
	if len(r.Env) == 0 {
		r.Env = nil
	}
	if len(r.Secrets) == 0 {
		r.Secrets = nil
	}
	return r
}

func TestParse_Runtime(t *testing.T) {
	c, err := apprunneryaml.Parse([]byte(python311All))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Runtime.API, "PYTHON_311"; got != want {
		t.Errorf("Runtime.API=%q, want %q", got, want)
	}
	if !c.Runtime.Revised() {
		t.Error("python311 is not revised")
	}
}

// base is a valid file; errCase inputs replace parts of it.
const base = `version: 1.0
runtime: python3
build:
  commands:
    build:
      - pip install -r requirements.txt
run:
  command: python app.py
`

func TestParse_Errors(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want []string // every FieldError text, in order
	}{
		{"ErrEmpty", "", []string{"apprunner.yaml line 1: the file is empty: version, runtime, build and run are required"}},
		{"ErrOnlyComments", "# nothing\n", []string{"apprunner.yaml line 1: the file is empty: version, runtime, build and run are required"}},
		{"ErrNotMapping", "- a\n- b\n", []string{"apprunner.yaml line 1: must be a mapping of keys (version, runtime, build, run)"}},
		{"ErrBadIndentation", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n      - make\n run:\n  command: x\n",
			[]string{"apprunner.yaml line 6: invalid YAML: did not find expected key"}},
		{"ErrTab", "version: 1.0\nruntime: python3\nbuild:\n\tcommands: x\n",
			[]string{"apprunner.yaml line 4: invalid YAML: found character that cannot start any token"}},
		{"ErrInvalidUTF8", "version: 1.0\nruntime: py\xffthon3\n", []string{"apprunner.yaml line 2: invalid YAML: the file is not valid UTF-8"}},
		{"ErrTwoDocuments", base + "---\nversion: 1.0\n", []string{"apprunner.yaml line 9: only one YAML document is allowed"}},
		{"ErrAllRequiredMissing", "other: 1\n", []string{
			"apprunner.yaml line 1: other: unknown key",
			"apprunner.yaml line 1: version: is required",
			"apprunner.yaml line 1: runtime: is required",
			"apprunner.yaml line 1: build: is required",
			"apprunner.yaml line 1: run: is required",
		}},
		{"ErrVersion", strings.Replace(base, "version: 1.0", "version: 2.0", 1),
			[]string{`apprunner.yaml line 1: version: unsupported version "2.0" (must be 1.0)`}},
		{"ErrRuntimeDockerfile", strings.Replace(base, "runtime: python3", "runtime: dockerfile", 1),
			[]string{`apprunner.yaml line 2: runtime: unsupported runtime "dockerfile" (supported: corretto11, corretto8, dotnet6, go1, nodejs12, nodejs14, nodejs16, nodejs18, nodejs22, php81, python3, python311, ruby31)`}},
		{"ErrRuntimeAPIName", strings.Replace(base, "runtime: python3", "runtime: PYTHON_311", 1),
			[]string{`apprunner.yaml line 2: runtime: unsupported runtime "PYTHON_311" (did you mean "python311"?)`}},
		{"ErrRuntimeNodejs20", strings.Replace(base, "runtime: python3", "runtime: nodejs20", 1),
			[]string{`apprunner.yaml line 2: runtime: unsupported runtime "nodejs20" (supported: corretto11, corretto8, dotnet6, go1, nodejs12, nodejs14, nodejs16, nodejs18, nodejs22, php81, python3, python311, ruby31)`}},
		{"ErrInventedKeys", "version: 1.0\nruntime: python3\narchitecture: arm64\nbuild:\n  dockerfile: Dockerfile\n  commands:\n    build:\n      - make\nrun:\n  command: ./app\n", []string{
			"apprunner.yaml line 3: architecture: unknown key",
			"apprunner.yaml line 5: build.dockerfile: unknown key",
		}},
		{"ErrUnderscoreKeys", "version: 1.0\nruntime: python311\nbuild:\n  commands:\n    pre_build:\n      - a\n    build:\n      - b\n    postBuild:\n      - c\nrun:\n  runtime_version: 3.11\n  preRun:\n    - d\n  command: x\n", []string{
			`apprunner.yaml line 5: build.commands.pre_build: unknown key (did you mean "pre-build"?)`,
			`apprunner.yaml line 9: build.commands.postBuild: unknown key (did you mean "post-build"?)`,
			`apprunner.yaml line 12: run.runtime_version: unknown key (did you mean "runtime-version"?)`,
			`apprunner.yaml line 13: run.preRun: unknown key (did you mean "pre-run"?)`,
		}},
		{"ErrDuplicateKey", base + "  command: other\n",
			[]string{"apprunner.yaml line 9: run.command: duplicate key (first defined on line 8)"}},
		{"ErrBuildCommandsMissing", "version: 1.0\nruntime: python3\nbuild:\n  env: []\nrun:\n  command: x\n",
			[]string{"apprunner.yaml line 3: build.commands: is required"}},
		{"ErrBuildBuildMissing", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    pre-build:\n      - a\nrun:\n  command: x\n",
			[]string{"apprunner.yaml line 4: build.commands.build: is required"}},
		{"ErrBuildEmptyList", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build: []\nrun:\n  command: x\n",
			[]string{"apprunner.yaml line 5: build.commands.build: must contain at least one command"}},
		{"ErrBuildScalar", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build: pip install -r requirements.txt\nrun:\n  command: x\n",
			[]string{"apprunner.yaml line 5: build.commands.build: must be a list of commands"}},
		{"ErrCommandIsMapping", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n      - echo hello: world\n      -\nrun:\n  command: x\n", []string{
			`apprunner.yaml line 6: build.commands.build[0]: must be a string (quote a command that contains ": ")`,
			"apprunner.yaml line 7: build.commands.build[1]: must not be empty",
		}},
		{"ErrRunEmpty", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n      - make\nrun:\n",
			[]string{"apprunner.yaml line 7: run.command: is required"}},
		{"ErrRunCommandList", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n      - make\nrun:\n  command:\n    - python\n    - app.py\n",
			[]string{"apprunner.yaml line 9: run.command: must be a string"}},
		{"ErrRunCommandMultiline", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n      - make\nrun:\n  command: |\n    a\n    b\n",
			[]string{"apprunner.yaml line 8: run.command: must be a single line"}},
		{"ErrCommandNull", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n      - make\nrun:\n  command:\n",
			[]string{"apprunner.yaml line 8: run.command: is required"}},
		{"ErrBuildNull", "version: 1.0\nruntime: python3\nbuild:\nrun:\n  command: x\n",
			[]string{"apprunner.yaml line 3: build.commands: is required"}},
		{"ErrPort", base + "  network:\n    port: 80000\n",
			[]string{"apprunner.yaml line 10: run.network.port: must be a number from 1 to 65535"}},
		{"ErrPortZero", base + "  network:\n    port: 0\n",
			[]string{"apprunner.yaml line 10: run.network.port: must be a number from 1 to 65535"}},
		{"ErrPortText", base + "  network:\n    port: http\n",
			[]string{"apprunner.yaml line 10: run.network.port: must be a number from 1 to 65535"}},
		{"ErrPortFloat", base + "  network:\n    port: 8080.5\n",
			[]string{"apprunner.yaml line 10: run.network.port: must be a number from 1 to 65535"}},
		{"ErrNetworkUnknown", base + "  network:\n    protocol: http\n",
			[]string{"apprunner.yaml line 10: run.network.protocol: unknown key"}},
		{"ErrNetworkScalar", base + "  network: 8080\n",
			[]string{"apprunner.yaml line 9: run.network: must be a mapping of keys (port, env)"}},
		{"ErrPreRunOriginal", "version: 1.0\nruntime: nodejs16\nbuild:\n  commands:\n    build:\n      - npm ci\nrun:\n  pre-run:\n    - npm ci\n  command: npm start\n",
			[]string{"apprunner.yaml line 8: run.pre-run: only allowed for runtimes that use the revised build (nodejs18, nodejs22, python311); nodejs16 uses the original build"}},
		{"ErrRuntimeVersionWrongMajor", "version: 1.0\nruntime: python311\nbuild:\n  commands:\n    build:\n      - pip3 install -r r.txt\nrun:\n  runtime-version: 3.12\n  command: python3 app.py\n",
			[]string{"apprunner.yaml line 8: run.runtime-version: version 3.12 does not belong to runtime python311 (must start with 3.11)"}},
		{"ErrRuntimeVersionNode", "version: 1.0\nruntime: nodejs18\nbuild:\n  commands:\n    build:\n      - npm ci\nrun:\n  runtime-version: 16.17.1\n  command: npm start\n",
			[]string{"apprunner.yaml line 8: run.runtime-version: version 16.17.1 does not belong to runtime nodejs18 (must start with 18)"}},
		{"ErrRuntimeVersionSyntax", "version: 1.0\nruntime: nodejs22\nbuild:\n  commands:\n    build:\n      - npm ci\nrun:\n  runtime-version: v22\n  command: npm start\n",
			[]string{`apprunner.yaml line 8: run.runtime-version: "v22" is not a version (write major[.minor[.patch]], e.g. 3.11 or 3.11.7)`}},
		{"ErrEnvShape", base + "  env:\n    FOO: bar\n",
			[]string{"apprunner.yaml line 10: run.env: must be a list of name/value pairs"}},
		{"ErrEnvEntries", base + "  env:\n    - name: AWSAPPRUNNER_REGION\n      value: x\n    - value: y\n    - name: A\n      value-from: z\n    - name: B\n      value: [1]\n", []string{
			`apprunner.yaml line 10: run.env[0].name: "AWSAPPRUNNER_REGION" is reserved: names starting with AWSAPPRUNNER are for App Runner's use`,
			"apprunner.yaml line 12: run.env[1].name: is required",
			"apprunner.yaml line 13: run.env[2].value: is required",
			"apprunner.yaml line 14: run.env[2].value-from: unknown key",
			"apprunner.yaml line 16: run.env[3].value: must be a string",
		}},
		{"ErrBuildEnvReserved", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n      - make\n  env:\n    - name: AWSAPPRUNNER\n      value: x\nrun:\n  command: x\n",
			[]string{`apprunner.yaml line 8: build.env[0].name: "AWSAPPRUNNER" is reserved: names starting with AWSAPPRUNNER are for App Runner's use`}},
		{"ErrDuplicateEnvAcrossSecrets", base + "  env:\n    - name: DB\n      value: x\n  secrets:\n    - name: DB\n      value-from: db-password\n",
			[]string{`apprunner.yaml line 13: run.secrets[0].name: duplicate name "DB" (first defined on line 10)`}},
		{"OKSameNameBuildAndRun", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n      - make\n  env:\n    - name: A\n      value: x\nrun:\n  command: x\n  env:\n    - name: A\n      value: y\n", nil},
		{"ErrSecrets", base + "  secrets:\n    - name: S1\n      value-from: \"arn:aws:s3:::bucket/key\"\n    - name: S2\n      valueFrom: x\n    - name: S3\n      value: x\n    - name: S4\n      value-from: \"arn:aws:ssm:us-east-1:1234:parameter/p\"\n    - name: S5\n      value-from: \"has space\"\n", []string{
			"apprunner.yaml line 11: run.secrets[0].value-from: must be a Secrets Manager secret ARN, an SSM parameter ARN or an SSM parameter name",
			"apprunner.yaml line 12: run.secrets[1].value-from: is required",
			`apprunner.yaml line 13: run.secrets[1].valueFrom: unknown key (did you mean "value-from"?)`,
			"apprunner.yaml line 14: run.secrets[2].value-from: is required",
			"apprunner.yaml line 15: run.secrets[2].value: unknown key",
			"apprunner.yaml line 17: run.secrets[3].value-from: must be a Secrets Manager secret ARN, an SSM parameter ARN or an SSM parameter name",
			"apprunner.yaml line 19: run.secrets[4].value-from: must be a Secrets Manager secret ARN, an SSM parameter ARN or an SSM parameter name",
		}},
		{"ErrSeveralAcrossFile", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n    - pip install -r requirements.txt\nrun:\n  command: python app.py\n  network:\n    port: 70000\n    env: AWSAPPRUNNER_PORT\n  pre-run:\n    - echo\n", []string{
			"apprunner.yaml line 10: run.network.port: must be a number from 1 to 65535",
			`apprunner.yaml line 11: run.network.env: "AWSAPPRUNNER_PORT" is reserved: names starting with AWSAPPRUNNER are for App Runner's use`,
			"apprunner.yaml line 12: run.pre-run: only allowed for runtimes that use the revised build (nodejs18, nodejs22, python311); python3 uses the original build",
		}},
		{"ErrMergeKey", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n      - make\nrun:\n  <<: {command: x}\n",
			[]string{"apprunner.yaml line 7: run.command: is required", "apprunner.yaml line 8: run.<<: unknown key"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := apprunneryaml.Parse([]byte(tt.in))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if c != nil || err == nil {
				t.Fatalf("Parse=%v, %v; want an error", c, err)
			}
			var ve *apprunneryaml.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
			got := make([]string, len(ve.Errors))
			for i, fe := range ve.Errors {
				got[i] = fe.Error()
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Error()=%q, want %q", got, want)
			}
		})
	}
}

func TestValidationError_As(t *testing.T) {
	_, err := apprunneryaml.Parse([]byte(base + "  network:\n    port: 0\n"))
	var fe *apprunneryaml.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("errors.As(%v, *FieldError) failed", err)
	}
	if got, want := *fe, (apprunneryaml.FieldError{Line: 10, Path: "run.network.port", Msg: "must be a number from 1 to 65535"}); got != want {
		t.Errorf("FieldError=%+v, want %+v", got, want)
	}
}
