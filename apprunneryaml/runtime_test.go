package apprunneryaml_test

import (
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner/apprunneryaml"
)

func TestRuntimes(t *testing.T) {
	rs := apprunneryaml.Runtimes()
	var api, names, revised []string
	for _, r := range rs {
		api = append(api, r.API)
		names = append(names, r.Name)
		if r.Revised() {
			revised = append(revised, r.Name)
		}
		if got, ok := apprunneryaml.LookupRuntime(r.Name); !ok || got.API != r.API {
			t.Errorf("LookupRuntime(%q)=%v, %v", r.Name, got, ok)
		}
		if got, ok := apprunneryaml.LookupAPIRuntime(r.API); !ok || got.Name != r.Name {
			t.Errorf("LookupAPIRuntime(%q)=%v, %v", r.API, got, ok)
		}
		if !strings.HasPrefix(r.DefaultVersion, r.VersionPrefix) {
			t.Errorf("%s: DefaultVersion %q outside %q", r.Name, r.DefaultVersion, r.VersionPrefix)
		}
	}
	if got, want := strings.Join(api, ","), "PYTHON_3,NODEJS_12,NODEJS_14,CORRETTO_8,CORRETTO_11,NODEJS_16,GO_1,DOTNET_6,PHP_81,RUBY_31,PYTHON_311,NODEJS_18,NODEJS_22"; got != want {
		t.Errorf("API names=%s, want %s", got, want)
	}
	if got, want := strings.Join(names, ","), "python3,nodejs12,nodejs14,corretto8,corretto11,nodejs16,go1,dotnet6,php81,ruby31,python311,nodejs18,nodejs22"; got != want {
		t.Errorf("names=%s, want %s", got, want)
	}
	if got, want := strings.Join(revised, ","), "python311,nodejs18,nodejs22"; got != want {
		t.Errorf("revised=%s, want %s", got, want)
	}
	for _, n := range []string{"nodejs20", "NODEJS_22", "Python3", "dockerfile", ""} {
		if _, ok := apprunneryaml.LookupRuntime(n); ok {
			t.Errorf("LookupRuntime(%q) found a runtime", n)
		}
	}
	if _, ok := apprunneryaml.LookupAPIRuntime("NODEJS_20"); ok {
		t.Error("LookupAPIRuntime(NODEJS_20) found a runtime")
	}
	// Runtimes returns a copy.
	rs[0].Name = "changed"
	if apprunneryaml.Runtimes()[0].Name != "python3" {
		t.Error("Runtimes does not return a copy")
	}
}

func TestRuntime_EndOfSupport(t *testing.T) {
	before := time.Date(2025, time.November, 30, 23, 59, 0, 0, time.UTC)
	dec1 := time.Date(2025, time.December, 1, 0, 0, 0, 0, time.UTC)
	dec31 := time.Date(2025, time.December, 31, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		now  time.Time
		eos  bool
	}{
		{"python3", before, false}, {"python3", dec1, true},
		{"nodejs12", dec1, true}, {"nodejs14", dec1, true}, {"nodejs16", dec1, true}, {"nodejs18", dec1, true},
		{"go1", dec1, true}, {"dotnet6", dec1, true}, {"ruby31", dec1, true},
		{"php81", dec1, false}, {"php81", dec31, true},
		{"python311", dec31.AddDate(5, 0, 0), false}, {"nodejs22", dec31, false},
		{"corretto8", dec31, false}, {"corretto11", dec31, false},
	} {
		r, _ := apprunneryaml.LookupRuntime(tt.name)
		if got := r.EndOfSupportAt(tt.now); got != tt.eos {
			t.Errorf("%s.EndOfSupportAt(%s)=%v, want %v", tt.name, tt.now.Format(time.DateOnly), got, tt.eos)
		}
		if got := r.AllowsNewServices(tt.now); got == tt.eos {
			t.Errorf("%s.AllowsNewServices(%s)=%v", tt.name, tt.now.Format(time.DateOnly), got)
		}
	}
}

func TestCheckNewService(t *testing.T) {
	now := time.Date(2026, time.January, 10, 0, 0, 0, 0, time.UTC)
	c, err := apprunneryaml.Parse([]byte(helloAppRunner))
	if err != nil {
		t.Fatal(err)
	}
	err = apprunneryaml.CheckNewService(c, now)
	if got, want := errString(err), "apprunner.yaml line 2: runtime: python3 reached end of support on 2025-12-01; new services can't use it"; got != want {
		t.Errorf("CheckNewService=%q, want %q", got, want)
	}
	if err := apprunneryaml.CheckNewService(c, now.AddDate(-1, 0, 0)); err != nil {
		t.Errorf("before EOS: %v", err)
	}
	c, _ = apprunneryaml.Parse([]byte(python311All))
	if err := apprunneryaml.CheckNewService(c, now); err != nil {
		t.Errorf("python311: %v", err)
	}
	c, _ = apprunneryaml.FromAPI(apprunneryaml.CodeValues{Runtime: "PHP_81", StartCommand: "php -S 0.0.0.0:8080"})
	if got, want := errString(apprunneryaml.CheckNewService(c, now)), "CodeConfigurationValues.Runtime: PHP_81 reached end of support on 2025-12-31; new services can't use it"; got != want {
		t.Errorf("CheckNewService=%q, want %q", got, want)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
