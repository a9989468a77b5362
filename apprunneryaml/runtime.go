package apprunneryaml

import (
	"sort"
	"strings"
	"time"
)

// BuildProcess is the way App Runner builds a managed runtime's image.
type BuildProcess int

const (
	// OriginalBuild runs pre-build and build on a builder image, copies /app
	// into the managed-runtime image, runs the build commands again there and
	// runs post-build on the builder image.
	OriginalBuild BuildProcess = iota + 1
	// RevisedBuild is a multi-stage build: pre-build and build on the build
	// image, /app copied into the run image where pre-run runs, post-build in
	// a stage resumed from the build stage. Only /app survives.
	RevisedBuild
)

// String returns "original" or "revised".
func (b BuildProcess) String() string {
	switch b {
	case OriginalBuild:
		return "original"
	case RevisedBuild:
		return "revised"
	default:
		return "unknown"
	}
}

// Runtime is one App Runner managed runtime (apprunner-runtime.md §2).
type Runtime struct {
	// API is the CodeConfigurationValues.Runtime enum value, e.g. PYTHON_311.
	API string
	// Name is the apprunner.yaml "runtime:" value, e.g. python311.
	Name string
	// Language is the human name of the platform, e.g. "Python".
	Language string
	// Build is the build process App Runner uses for this runtime.
	Build BuildProcess
	// VersionPrefix is the part of every version of this runtime that
	// run.runtime-version must start with: "3" for python3, "3.11" for
	// python311, "18" for nodejs18.
	VersionPrefix string
	// DefaultVersion is the newest version of the runtime that the cited
	// sources name; an unpinned service builds on it. Where the sources
	// name no patch release it is just the VersionPrefix.
	DefaultVersion string
	// EndOfSupport is the day App Runner stopped supporting the runtime, or
	// the zero time if it is supported. Past it, existing services keep
	// running and can still be updated, but new services cannot use it.
	EndOfSupport time.Time
	// NameUnconfirmed reports whether the file spelling of Name is not
	// confirmed by any cited source (dotnet6, php81, ruby31).
	NameUnconfirmed bool
}

// Revised reports whether r uses the revised (multi-stage) build, and so
// accepts run.pre-run.
func (r *Runtime) Revised() bool { return r.Build == RevisedBuild }

// EndOfSupportAt reports whether r is past its end of support at now.
func (r *Runtime) EndOfSupportAt(now time.Time) bool {
	return !r.EndOfSupport.IsZero() && !now.Before(r.EndOfSupport)
}

// AllowsNewServices reports whether a new service may be created on r at
// now. Existing services on an end-of-support runtime keep deploying.
func (r *Runtime) AllowsNewServices(now time.Time) bool { return !r.EndOfSupportAt(now) }

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// runtimes is the table of apprunner-runtime.md §2, in API enum order.
var runtimes = []Runtime{
	{API: "PYTHON_3", Name: "python3", Language: "Python", Build: OriginalBuild, VersionPrefix: "3", DefaultVersion: "3.8.20", EndOfSupport: day(2025, time.December, 1)},
	{API: "NODEJS_12", Name: "nodejs12", Language: "Node.js", Build: OriginalBuild, VersionPrefix: "12", DefaultVersion: "12.18.4", EndOfSupport: day(2025, time.December, 1)},
	{API: "NODEJS_14", Name: "nodejs14", Language: "Node.js", Build: OriginalBuild, VersionPrefix: "14", DefaultVersion: "14", EndOfSupport: day(2025, time.December, 1)},
	{API: "CORRETTO_8", Name: "corretto8", Language: "Java (Amazon Corretto)", Build: OriginalBuild, VersionPrefix: "8", DefaultVersion: "8"},
	{API: "CORRETTO_11", Name: "corretto11", Language: "Java (Amazon Corretto)", Build: OriginalBuild, VersionPrefix: "11", DefaultVersion: "11.0.13.08.1"},
	{API: "NODEJS_16", Name: "nodejs16", Language: "Node.js", Build: OriginalBuild, VersionPrefix: "16", DefaultVersion: "16.17.1", EndOfSupport: day(2025, time.December, 1)},
	{API: "GO_1", Name: "go1", Language: "Go", Build: OriginalBuild, VersionPrefix: "1", DefaultVersion: "1.18.7", EndOfSupport: day(2025, time.December, 1)},
	{API: "DOTNET_6", Name: "dotnet6", Language: ".NET", Build: OriginalBuild, VersionPrefix: "6", DefaultVersion: "6", EndOfSupport: day(2025, time.December, 1), NameUnconfirmed: true},
	{API: "PHP_81", Name: "php81", Language: "PHP", Build: OriginalBuild, VersionPrefix: "8.1", DefaultVersion: "8.1", EndOfSupport: day(2025, time.December, 31), NameUnconfirmed: true},
	{API: "RUBY_31", Name: "ruby31", Language: "Ruby", Build: OriginalBuild, VersionPrefix: "3.1", DefaultVersion: "3.1", EndOfSupport: day(2025, time.December, 1), NameUnconfirmed: true},
	{API: "PYTHON_311", Name: "python311", Language: "Python", Build: RevisedBuild, VersionPrefix: "3.11", DefaultVersion: "3.11.14"},
	{API: "NODEJS_18", Name: "nodejs18", Language: "Node.js", Build: RevisedBuild, VersionPrefix: "18", DefaultVersion: "18", EndOfSupport: day(2025, time.December, 1)},
	{API: "NODEJS_22", Name: "nodejs22", Language: "Node.js", Build: RevisedBuild, VersionPrefix: "22", DefaultVersion: "22.17.0"},
}

// Runtimes returns a copy of the runtime table in App Runner's API enum
// order (PYTHON_3 … NODEJS_22).
func Runtimes() []Runtime {
	out := make([]Runtime, len(runtimes))
	copy(out, runtimes)
	return out
}

// LookupRuntime returns the runtime whose apprunner.yaml name is name
// (exact, case-sensitive: "python311").
func LookupRuntime(name string) (*Runtime, bool) {
	for i := range runtimes {
		if runtimes[i].Name == name {
			r := runtimes[i]
			return &r, true
		}
	}
	return nil, false
}

// LookupAPIRuntime returns the runtime whose API enum value is api (exact:
// "PYTHON_311").
func LookupAPIRuntime(api string) (*Runtime, bool) {
	for i := range runtimes {
		if runtimes[i].API == api {
			r := runtimes[i]
			return &r, true
		}
	}
	return nil, false
}

// runtimeNames returns the file names of all runtimes, sorted.
func runtimeNames(filter func(*Runtime) bool) string {
	var names []string
	for i := range runtimes {
		if filter == nil || filter(&runtimes[i]) {
			names = append(names, runtimes[i].Name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// suggestRuntime returns the runtime name a misspelt value most likely
// meant ("PYTHON_311" or "Python311" → "python311"), or "".
func suggestRuntime(v string) string {
	if r, ok := LookupAPIRuntime(strings.ToUpper(v)); ok {
		return r.Name
	}
	n := strings.NewReplacer("_", "", "-", "", ".", "", " ", "").Replace(strings.ToLower(v))
	for i := range runtimes {
		if runtimes[i].Name == n {
			return n
		}
	}
	return ""
}
