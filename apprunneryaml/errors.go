package apprunneryaml

import (
	"sort"
	"strconv"
	"strings"
)

// FileName is the configuration file's name, used in error texts.
const FileName = "apprunner.yaml"

// FieldError is one problem with a configuration.
type FieldError struct {
	// Line is the 1-based line in apprunner.yaml, or 0 for a configuration
	// from the API.
	Line int
	// Path names the key: "run.network.port", "build.env[1].name",
	// "CodeConfigurationValues.Port". Empty for a problem with the whole
	// file (invalid YAML, not a mapping).
	Path string
	// Msg says what is wrong, e.g. "must be a number from 1 to 65535".
	Msg string
}

// Error returns "apprunner.yaml line 7: run.network.port: must be a number
// from 1 to 65535"; without a line, "CodeConfigurationValues.Port: …".
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString(FileName + " line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationError lists every problem found in a configuration, ordered by
// line. Parse and FromAPI return it, never another error type.
type ValidationError struct {
	Errors []*FieldError
}

// Error returns the problems, one per line.
func (e *ValidationError) Error() string {
	s := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		s[i] = fe.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the FieldErrors, so errors.As finds the first one.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe
	}
	return out
}

// errList collects FieldErrors.
type errList []*FieldError

func (l *errList) add(line int, path, msg string) {
	*l = append(*l, &FieldError{Line: line, Path: path, Msg: msg})
}

// err returns nil or a *ValidationError sorted by line, then discovery order.
func (l errList) err() error {
	if len(l) == 0 {
		return nil
	}
	sort.SliceStable(l, func(i, j int) bool { return l[i].Line < l[j].Line })
	return &ValidationError{Errors: l}
}
