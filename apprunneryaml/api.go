package apprunneryaml

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// CodeValues is the API's CodeConfigurationValues. Its fields match
// openrunner.CodeValues exactly, so a caller converts with
// apprunneryaml.CodeValues(*v).
type CodeValues struct {
	Runtime      string            // API enum, e.g. PYTHON_311 (required)
	BuildCommand string            // one line; optional
	StartCommand string            // one line; required by OpenRunner
	Port         string            // decimal, default "8080"
	Env          map[string]string // RuntimeEnvironmentVariables
	Secrets      map[string]string // RuntimeEnvironmentSecrets: name → ARN or parameter name
}

const apiPath = "CodeConfigurationValues."

// FromAPI turns API-mode configuration values into a Config, so that a
// service configured through the API follows the same lifecycle as one
// with an apprunner.yaml file. The API "doesn't support the full set of
// possible configuration options": the result has no pre-build, post-build,
// pre-run, build env, port alias or runtime-version pin; BuildCommand
// becomes the only build command. Problems come back as a
// *ValidationError whose FieldErrors have Line 0 and paths such as
// "CodeConfigurationValues.Port". Env and Secrets are sorted by name.
//
// A missing StartCommand is rejected (UNCONFIRMED: the API model makes it
// optional, but a managed runtime image has nothing else to start).
func FromAPI(v CodeValues) (*Config, error) {
	var errs errList
	c := &Config{Source: SourceAPI, Run: Run{Port: DefaultPort}}
	switch r, ok := LookupAPIRuntime(v.Runtime); {
	case v.Runtime == "":
		errs.add(0, apiPath+"Runtime", "is required")
	case !ok:
		errs.add(0, apiPath+"Runtime", fmt.Sprintf("unsupported runtime %q (supported: %s)", v.Runtime, apiNames()))
	default:
		c.Runtime = *r
	}
	// BuildCommand and StartCommand have the API pattern [^\x0a\x0d]+.
	if v.BuildCommand != "" {
		if strings.ContainsAny(v.BuildCommand, "\r\n") {
			errs.add(0, apiPath+"BuildCommand", "must be a single line")
		} else if strings.TrimSpace(v.BuildCommand) != "" {
			c.Build.Commands = []string{v.BuildCommand}
		}
	}
	if v.StartCommand == "" {
		errs.add(0, apiPath+"StartCommand", "is required")
	} else if msg := checkCommand(v.StartCommand); msg != "" || strings.ContainsAny(v.StartCommand, "\r\n") {
		if msg == "" {
			msg = "must be a single line"
		}
		errs.add(0, apiPath+"StartCommand", msg)
	} else {
		c.Run.Command = strings.TrimSpace(v.StartCommand)
	}
	if v.Port != "" {
		if port, ok := parsePort(v.Port); ok {
			c.Run.Port = port
		} else {
			errs.add(0, apiPath+"Port", portMsg)
		}
	}
	for _, name := range sortedKeys(v.Env) {
		if msg := checkEnvName(name); msg != "" {
			errs.add(0, apiPath+"RuntimeEnvironmentVariables", msg)
			continue
		}
		c.Run.Env = append(c.Run.Env, EnvVar{Name: name, Value: v.Env[name]})
	}
	for _, name := range sortedKeys(v.Secrets) {
		p := apiPath + "RuntimeEnvironmentSecrets"
		if msg := checkEnvName(name); msg != "" {
			errs.add(0, p, msg)
			continue
		}
		if _, dup := v.Env[name]; dup {
			errs.add(0, p, fmt.Sprintf("%q is also a RuntimeEnvironmentVariables name", name))
			continue
		}
		if secretKind(v.Secrets[name]) == 0 {
			errs.add(0, p+"["+name+"]", secretMsg)
			continue
		}
		c.Run.Secrets = append(c.Run.Secrets, Secret{Name: name, ValueFrom: v.Secrets[name]})
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func apiNames() string {
	names := make([]string, len(runtimes))
	for i := range runtimes {
		names[i] = runtimes[i].API
	}
	return strings.Join(names, ", ")
}

// CheckNewService returns a *ValidationError if c's runtime is past its end
// of support at now: App Runner refuses to create new services on such a
// runtime, while existing services keep running and deploying (so callers
// check this on CreateService only). The error names the runtime key's line
// for a file.
func CheckNewService(c *Config, now time.Time) error {
	r := c.Runtime
	if !r.EndOfSupportAt(now) {
		return nil
	}
	path := "runtime"
	name := r.Name
	if c.Source == SourceAPI {
		path, name = apiPath+"Runtime", r.API
	}
	var errs errList
	errs.add(c.RuntimeLine, path, fmt.Sprintf(
		"%s reached end of support on %s; new services can't use it",
		name, r.EndOfSupport.Format("2006-01-02")))
	return errs.err()
}
