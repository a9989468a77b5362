package apprunneryaml_test

import (
	"reflect"
	"testing"

	"github.com/openrunner/openrunner/apprunneryaml"
)

func TestConfig_Steps(t *testing.T) {
	t.Run("Revised", func(t *testing.T) {
		c, err := apprunneryaml.Parse([]byte(python311All))
		if err != nil {
			t.Fatal(err)
		}
		env := c.Build.Env
		want := []apprunneryaml.Step{
			{Phase: apprunneryaml.PhasePreBuild, Image: apprunneryaml.BuildImage, Commands: c.Build.PreBuild, Env: env},
			{Phase: apprunneryaml.PhaseBuild, Image: apprunneryaml.BuildImage, Commands: c.Build.Commands, Env: env},
			{Phase: apprunneryaml.PhasePreRun, Image: apprunneryaml.RunImage, Commands: c.Run.PreRun, Env: env},
			{Phase: apprunneryaml.PhasePostBuild, Image: apprunneryaml.BuildImage, Commands: c.Build.PostBuild, Env: env},
		}
		if got := c.Steps(); !reflect.DeepEqual(got, want) {
			t.Errorf("Steps=%+v\nwant %+v", got, want)
		}
	})
	t.Run("Original", func(t *testing.T) {
		c, err := apprunneryaml.Parse([]byte(helloAppRunner))
		if err != nil {
			t.Fatal(err)
		}
		want := []apprunneryaml.Step{
			{Phase: apprunneryaml.PhasePreBuild, Image: apprunneryaml.BuildImage, Commands: []string{"yum install -y pycairo"}},
			{Phase: apprunneryaml.PhaseBuild, Image: apprunneryaml.BuildImage, Commands: []string{"pip install -r requirements.txt"}},
			{Phase: apprunneryaml.PhaseBuild, Image: apprunneryaml.RunImage, Commands: []string{"pip install -r requirements.txt"}},
		}
		if got := c.Steps(); !reflect.DeepEqual(got, want) {
			t.Errorf("Steps=%+v\nwant %+v", got, want)
		}
	})
	t.Run("API", func(t *testing.T) {
		c, err := apprunneryaml.FromAPI(apprunneryaml.CodeValues{Runtime: "NODEJS_22", BuildCommand: "npm ci", StartCommand: "npm start"})
		if err != nil {
			t.Fatal(err)
		}
		want := []apprunneryaml.Step{{Phase: apprunneryaml.PhaseBuild, Image: apprunneryaml.BuildImage, Commands: []string{"npm ci"}}}
		if got := c.Steps(); !reflect.DeepEqual(got, want) {
			t.Errorf("Steps=%+v\nwant %+v", got, want)
		}
	})
}

func TestConfig_Env(t *testing.T) {
	c, err := apprunneryaml.Parse([]byte(python311All))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.BuildEnv(), []apprunneryaml.EnvVar{{Name: "DJANGO_SETTINGS_MODULE", Value: "django_apprunner.settings", Line: 13}}; !reflect.DeepEqual(got, want) {
		t.Errorf("BuildEnv=%+v, want %+v", got, want)
	}
	want := []apprunneryaml.EnvVar{{Name: "MY_VAR_EXAMPLE", Value: "example", Line: 26}, {Name: "PORT", Value: "8000"}, {Name: "MY_APP_PORT", Value: "8000"}}
	if got := c.RunEnv(); !reflect.DeepEqual(got, want) {
		t.Errorf("RunEnv=%+v\nwant %+v", got, want)
	}

	// network.env: PORT does not duplicate PORT; a run.env PORT loses.
	c, err = apprunneryaml.Parse([]byte(base + "  network:\n    env: PORT\n  env:\n    - name: PORT\n      value: \"1\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.RunEnv(), []apprunneryaml.EnvVar{{Name: "PORT", Value: "8080"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("RunEnv=%+v, want %+v", got, want)
	}
}

func TestConfig_Lock(t *testing.T) {
	for _, tt := range []struct {
		in      string
		lock    apprunneryaml.VersionLock
		version string
	}{
		{helloAppRunner, apprunneryaml.LockMajor, "3"},
		{nodejs18, apprunneryaml.LockMajor, "18"},
		{python311All, apprunneryaml.LockMinor, "3.11"},
		{nodejs12, apprunneryaml.LockExact, "12.18.4"},
		{corretto11, apprunneryaml.LockExact, "11.0.13.08.1"},
	} {
		c, err := apprunneryaml.Parse([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Lock(); got != tt.lock {
			t.Errorf("%s: Lock=%v, want %v", c.Runtime.Name, got, tt.lock)
		}
		if got := c.LockedVersion(); got != tt.version {
			t.Errorf("%s: LockedVersion=%q, want %q", c.Runtime.Name, got, tt.version)
		}
	}
}
