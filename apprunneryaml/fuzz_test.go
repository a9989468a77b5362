package apprunneryaml_test

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/openrunner/openrunner/apprunneryaml"
)

// FuzzParse checks that Parse never panics, that every error is a
// *ValidationError whose entries carry a line inside the file, and that a
// config it accepts satisfies the schema's invariants. Seeds live in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{helloAppRunner, python311All, nodejs12, nodejs18, go1, corretto11, secretsAll, base} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := apprunneryaml.Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned both a config and an error")
			}
			var ve *apprunneryaml.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("error %T %v is not a non-empty *ValidationError", err, err)
			}
			lines := countLines(data)
			for _, fe := range ve.Errors {
				if fe.Line < 1 || fe.Line > lines {
					t.Fatalf("line %d outside 1..%d: %v", fe.Line, lines, fe)
				}
			}
			return
		}
		if _, ok := apprunneryaml.LookupRuntime(c.Runtime.Name); !ok {
			t.Fatalf("accepted unknown runtime %q", c.Runtime.Name)
		}
		if c.Run.Port < 1 || c.Run.Port > 65535 {
			t.Fatalf("accepted port %d", c.Run.Port)
		}
		if c.Run.Command == "" || len(c.Build.Commands) == 0 {
			t.Fatalf("accepted config without run.command or build commands: %+v", c)
		}
		if len(c.Run.PreRun) > 0 && !c.Runtime.Revised() {
			t.Fatalf("accepted pre-run on %s", c.Runtime.Name)
		}
		for _, s := range c.Run.Secrets {
			if s.Kind() == 0 {
				t.Fatalf("accepted secret %+v", s)
			}
		}
		_ = c.Steps()
		_ = c.RunEnv()
		_ = c.Lock()
	})
}

// countLines counts lines as YAML does: LF, CR, CR LF, NEL, LS and PS
// break lines; invalid UTF-8 counts as one byte.
func countLines(data []byte) int {
	lines := 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch r {
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				n++
			}
			lines++
		case '\n', '\u0085', '\u2028', '\u2029':
			lines++
		}
		i += n
	}
	return lines
}
