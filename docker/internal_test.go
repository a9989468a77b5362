package docker

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// Tests of the parts that need no engine.

func TestLineWriter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var got []openrunner.LogLine
	w := &lineWriter{stream: "stderr", sink: func(l openrunner.LogLine) { got = append(got, l) }, now: func() time.Time { return now }}
	for _, chunk := range []string{
		"2026-11-25T18:37:57.736293411Z first\n2026-11-25T18:37:57.8Z sec",
		"ond\r\n",
		"no timestamp here\n",
		"2026-11-25T18:37:58Z   spaced  \n",
		"2026-11-25T18:37:59Z last without newline",
	} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	w.flush()
	want := []openrunner.LogLine{
		{Time: time.Date(2026, 11, 25, 18, 37, 57, 736293411, time.UTC), Stream: "stderr", Text: "first"},
		{Time: time.Date(2026, 11, 25, 18, 37, 57, 800000000, time.UTC), Stream: "stderr", Text: "second"},
		{Time: now, Stream: "stderr", Text: "no timestamp here"},
		{Time: time.Date(2026, 11, 25, 18, 37, 58, 0, time.UTC), Stream: "stderr", Text: "  spaced  "},
		{Time: time.Date(2026, 11, 25, 18, 37, 59, 0, time.UTC), Stream: "stderr", Text: "last without newline"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) || got[i].Stream != want[i].Stream || got[i].Text != want[i].Text {
			t.Errorf("line %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	t.Run("LongLine", func(t *testing.T) {
		var got []openrunner.LogLine
		w := &lineWriter{stream: "stdout", sink: func(l openrunner.LogLine) { got = append(got, l) }, now: time.Now}
		_, _ = w.Write([]byte(strings.Repeat("x", maxLine+10)))
		if len(got) != 1 || len(got[0].Text) != maxLine {
			t.Fatalf("a line longer than maxLine: got %d lines, want one of %d bytes", len(got), maxLine)
		}
		w.flush()
		if len(got) != 2 || got[1].Text != strings.Repeat("x", 10) {
			t.Fatalf("flush: got %+v", got[1:])
		}
	})
}

func TestContainerName(t *testing.T) {
	r, err := New(Options{NamePrefix: "or-"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec openrunner.InstanceSpec
		want string
	}{
		{"OK", openrunner.InstanceSpec{ServiceARN: "arn:aws:apprunner:us-east-1:123456789012:service/web/abc", RevisionID: "r1"}, "or-web-r1-"},
		{"Unsafe", openrunner.InstanceSpec{ServiceARN: "not an arn", RevisionID: "a/b"}, "or-not-an-arn-a-b-"},
		{"Empty", openrunner.InstanceSpec{}, "or-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.containerName(tc.spec)
			if !strings.HasPrefix(got, tc.want) || len(got) != len(tc.want)+8 {
				t.Errorf("containerName = %q, want %q + 8 hex digits", got, tc.want)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	got := env(openrunner.InstanceSpec{Port: 3000, Env: map[string]string{"B": "2", "A": "1=x", "PORT": "9"}})
	if want := "A=1=x B=2 PORT=3000"; strings.Join(got, " ") != want {
		t.Errorf("env = %q, want %q", got, want)
	}
	// run.network.env names one more variable that gets the port.
	got = env(openrunner.InstanceSpec{Port: 8000, PortEnv: "APP_PORT", Env: map[string]string{"APP_PORT": "1", "A": "1"}})
	if want := "A=1 APP_PORT=8000 PORT=8000"; strings.Join(got, " ") != want {
		t.Errorf("env with PortEnv = %q, want %q", got, want)
	}
}

func TestValidSpec(t *testing.T) {
	ok := openrunner.InstanceSpec{Image: "x", Port: 8080}
	if err := validSpec(ok); err != nil {
		t.Fatalf("validSpec(%+v): %v", ok, err)
	}
	for name, mod := range map[string]func(*openrunner.InstanceSpec){
		"ErrNoImage":    func(s *openrunner.InstanceSpec) { s.Image = "" },
		"ErrPort":       func(s *openrunner.InstanceSpec) { s.Port = 0 },
		"ErrPortHigh":   func(s *openrunner.InstanceSpec) { s.Port = 70000 },
		"ErrCPU":        func(s *openrunner.InstanceSpec) { s.CPU = -1 },
		"ErrMemory":     func(s *openrunner.InstanceSpec) { s.MemoryMB = 2 },
		"ErrEnvName":    func(s *openrunner.InstanceSpec) { s.Env = map[string]string{"A=B": "c"} },
		"ErrEmptyEnvNm": func(s *openrunner.InstanceSpec) { s.Env = map[string]string{"": "c"} },
	} {
		t.Run(name, func(t *testing.T) {
			s := ok
			mod(&s)
			if code := openrunner.ErrorCode(validSpec(s)); code != openrunner.EINVALID {
				t.Errorf("validSpec(%+v): code %q, want EINVALID", s, code)
			}
		})
	}
}

func TestMirrored(t *testing.T) {
	r, err := New(Options{Mirrors: map[string]string{"123456789012.dkr.ecr.us-east-1.amazonaws.com": "localhost:5000", "docker.io": "mirror.local"}})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1":                                "localhost:5000/app:v1",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/a/b@sha256:" + strings.Repeat("a", 64): "localhost:5000/a/b@sha256:" + strings.Repeat("a", 64),
		"nginx":                "mirror.local/library/nginx:latest",
		"ghcr.io/owner/app:v2": "ghcr.io/owner/app:v2",
	} {
		named, err := parseRef(ref)
		if err != nil {
			t.Fatalf("parseRef(%q): %v", ref, err)
		}
		if got := r.mirrored(named).String(); got != want {
			t.Errorf("mirrored(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestPullError(t *testing.T) {
	for msg, want := range map[string]string{
		"Error response from daemon: pull access denied for x, repository does not exist or may require 'docker login'": "denied",
		"manifest for x:v1 not found: manifest unknown: manifest unknown":                                               "not found",
		`Get "https://public.ecr.aws/v2/": dial tcp: lookup public.ecr.aws: no such host`:                               "reachable",
	} {
		err := pullError("x:v1", errors.New(msg))
		if openrunner.ErrorCode(err) != openrunner.EINVALID || !strings.Contains(openrunner.ErrorMessage(err), want) {
			t.Errorf("pullError(%q) = %v, want EINVALID mentioning %q", msg, err, want)
		}
		if strings.Contains(openrunner.ErrorMessage(err), "Error response from daemon") {
			t.Errorf("pullError(%q) keeps the client's prefix: %q", msg, openrunner.ErrorMessage(err))
		}
	}
}
