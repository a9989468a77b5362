package apprunneryaml

import (
	"strconv"
	"strings"
)

// DefaultPort is the port App Runner sends traffic to when neither
// run.network.port nor CodeConfigurationValues.Port is set.
const DefaultPort = 8080

// ReservedPrefix starts the environment variable names that are reserved for
// App Runner's own use and rejected in build.env, run.env, run.secrets and
// run.network.env.
const ReservedPrefix = "AWSAPPRUNNER"

// Config source values, as in the API's ConfigurationSource enum.
const (
	SourceRepository = "REPOSITORY" // read from apprunner.yaml
	SourceAPI        = "API"        // built from CodeConfigurationValues
)

// Config is a validated build-and-run configuration, read either from an
// apprunner.yaml file (Parse) or from CodeConfigurationValues (FromAPI), so
// that both follow one lifecycle (Steps, BuildEnv, RunEnv).
type Config struct {
	// Source is SourceRepository or SourceAPI.
	Source string
	// Version is the file's version ("1.0"); empty for SourceAPI.
	Version string
	// Runtime is the managed runtime.
	Runtime Runtime
	// RuntimeLine is the line of the runtime key (0 for SourceAPI), so that
	// later checks such as CheckNewService can name it.
	RuntimeLine int
	Build       Build
	Run         Run
}

// Build is the build section.
type Build struct {
	// PreBuild, Commands and PostBuild are the shell commands of
	// build.commands.pre-build, .build and .post-build, in order.
	PreBuild  []string
	Commands  []string
	PostBuild []string
	// Env is build.env: visible to pre-build, build, post-build and pre-run,
	// never to the running application.
	Env []EnvVar
}

// Run is the run section.
type Run struct {
	// RuntimeVersion is run.runtime-version as written ("3.11", "12.18.4"),
	// or "" to follow the newest version of the runtime's major line.
	RuntimeVersion string
	// PreRun holds run.pre-run; only revised-build runtimes have it.
	PreRun []string
	// Command is run.command, the single command that starts the app.
	Command string
	// Port is run.network.port, DefaultPort if unset.
	Port int
	// PortEnv is run.network.env: a variable that receives the port in
	// addition to PORT, or "".
	PortEnv string
	// Env is run.env: visible to the running application only.
	Env []EnvVar
	// Secrets is run.secrets: injected as variables into the running
	// application only.
	Secrets []Secret
}

// EnvVar is one name/value pair of build.env or run.env.
type EnvVar struct {
	Name  string
	Value string
	// Line is the line of the entry in apprunner.yaml, 0 for SourceAPI.
	Line int
}

// Secret is one run.secrets entry: the variable Name receives the value of
// the Secrets Manager secret or SSM parameter named by ValueFrom.
type Secret struct {
	Name      string
	ValueFrom string
	Line      int
}

// SecretKind says where a Secret's value comes from.
type SecretKind int

// Secret kinds.
const (
	SecretsManagerARN SecretKind = iota + 1 // arn:…:secretsmanager:…:secret:…
	SSMParameterARN                         // arn:…:ssm:…:parameter/…
	SSMParameterName                        // a bare parameter name, same Region
)

// Kind returns where s's value comes from, or 0 if ValueFrom is not valid.
func (s Secret) Kind() SecretKind { return secretKind(s.ValueFrom) }

func secretKind(v string) SecretKind {
	if strings.HasPrefix(v, "arn:") {
		// arn:partition:service:region:account:resource
		f := strings.SplitN(v, ":", 6)
		if len(f) != 6 || f[1] == "" || f[3] == "" || !isAccount(f[4]) {
			return 0
		}
		switch {
		case f[2] == "secretsmanager" && strings.HasPrefix(f[5], "secret:") && len(f[5]) > len("secret:"):
			return SecretsManagerARN
		case f[2] == "ssm" && strings.HasPrefix(f[5], "parameter/") && len(f[5]) > len("parameter/"):
			return SSMParameterARN
		}
		return 0
	}
	// SSM parameter names: letters, digits, and _ . - / (at most 2048).
	if v == "" || len(v) > 2048 {
		return 0
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_.-/", c)) {
			return 0
		}
	}
	return SSMParameterName
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Phase names a build phase; its String is the log prefix App Runner uses.
type Phase string

// Build phases, in the words of the deployment log prefixes.
const (
	PhasePreBuild  Phase = "PreBuild"
	PhaseBuild     Phase = "Build"
	PhasePreRun    Phase = "PreRun"
	PhasePostBuild Phase = "PostBuild"
)

// Image says which image a build step runs on.
type Image int

// Images a step runs on.
const (
	// BuildImage is the builder image (CodeBuild-curated for the original
	// build, awsfusionruntime-<runtime>-build for the revised build).
	BuildImage Image = iota + 1
	// RunImage is the managed runtime image that gets deployed.
	RunImage
)

// Step is one phase of a build: its commands run in order, one shell (one
// RUN layer) each, in /app/<SourceDirectory>, with Env set.
type Step struct {
	Phase    Phase
	Image    Image
	Commands []string
	Env      []EnvVar
}

// Steps returns the build steps of c in order, following the build process
// of c's runtime (apprunner-runtime.md §1.4). The original build runs the
// build commands twice: on the build image, then again on the run image
// after /app was copied there. The revised build runs pre-run on the run
// image instead. Every step sees build.env only. Empty phases are left out,
// except that the original build's two Build steps are always present.
func (c *Config) Steps() []Step {
	env := c.Build.Env
	var steps []Step
	add := func(p Phase, img Image, cmds []string, always bool) {
		if len(cmds) == 0 && !always {
			return
		}
		steps = append(steps, Step{Phase: p, Image: img, Commands: cmds, Env: env})
	}
	add(PhasePreBuild, BuildImage, c.Build.PreBuild, false)
	if c.Runtime.Build == RevisedBuild {
		add(PhaseBuild, BuildImage, c.Build.Commands, true)
		add(PhasePreRun, RunImage, c.Run.PreRun, false)
	} else {
		add(PhaseBuild, BuildImage, c.Build.Commands, true)
		add(PhaseBuild, RunImage, c.Build.Commands, true)
	}
	add(PhasePostBuild, BuildImage, c.Build.PostBuild, false)
	return steps
}

// BuildEnv returns the variables visible to pre-build, build, post-build and
// pre-run: build.env, and nothing from run.
func (c *Config) BuildEnv() []EnvVar { return append([]EnvVar(nil), c.Build.Env...) }

// RunEnv returns the plain variables of the running application: run.env,
// then PORT, then run.network.env if set. PORT and the alias come last and
// so win over a run.env entry of the same name (UNCONFIRMED: App Runner's
// precedence is not documented). Secrets are not included: the caller
// resolves c.Run.Secrets and adds them.
func (c *Config) RunEnv() []EnvVar {
	port := strconv.Itoa(c.Run.Port)
	out := make([]EnvVar, 0, len(c.Run.Env)+2)
	for _, e := range c.Run.Env {
		if e.Name == "PORT" || e.Name == c.Run.PortEnv {
			continue
		}
		out = append(out, e)
	}
	out = append(out, EnvVar{Name: "PORT", Value: port})
	if c.Run.PortEnv != "" && c.Run.PortEnv != "PORT" {
		out = append(out, EnvVar{Name: c.Run.PortEnv, Value: port})
	}
	return out
}

// LockedVersion returns the version c's build should use as a prefix
// selector: run.runtime-version if set, else the runtime's VersionPrefix
// (major lock: the newest release of that line is used on every deploy).
func (c *Config) LockedVersion() string {
	if c.Run.RuntimeVersion != "" {
		return c.Run.RuntimeVersion
	}
	return c.Runtime.VersionPrefix
}

// VersionLock says how much of the runtime version a config pins.
type VersionLock int

// Version locks.
const (
	LockMajor VersionLock = iota + 1 // only the major line: newest minor/patch on every deploy
	LockMinor                        // major.minor: newest patch on every deploy
	LockExact                        // major.minor.patch (or more components): exactly this
)

// Lock returns how tightly c pins the runtime version. Without
// run.runtime-version it is LockMajor.
func (c *Config) Lock() VersionLock {
	switch n := strings.Count(c.Run.RuntimeVersion, ".") + 1; {
	case c.Run.RuntimeVersion == "" || n == 1:
		return LockMajor
	case n == 2:
		return LockMinor
	default:
		return LockExact
	}
}
