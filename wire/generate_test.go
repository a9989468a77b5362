package wire

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestGeneratedFilesUpToDate runs the generator into a temporary directory
// and compares its output with the committed *_gen.go files, for package
// wire and the packages generated beside it.
func TestGeneratedFilesUpToDate(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	for _, tc := range []struct {
		pkg  string
		args []string
	}{
		{".", []string{"-model", "model/apprunner-2020-05-15.json"}},
		{"secretsmanager", []string{"-model", "model/secretsmanager-2017-10-17.json", "-package", "secretsmanager",
			"-interface", "SecretsManager", "-api", "Secrets Manager", "-runtime", "."}},
		{"ssm", []string{"-model", "model/ssm-2014-11-06.json", "-package", "ssm",
			"-interface", "SSM", "-api", "SSM Parameter Store", "-runtime", "."}},
	} {
		t.Run(tc.pkg, func(t *testing.T) { checkGenerated(t, goBin, tc.pkg, tc.args) })
	}
}

func checkGenerated(t *testing.T, goBin, pkg string, args []string) {
	dir := t.TempDir()
	cmd := exec.Command(goBin, append([]string{"run", "../internal/wiregen", "-out", dir}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wiregen: %v\n%s", err, out)
	}
	generated, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob(filepath.Join(pkg, "*_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range generated {
		names = append(names, filepath.Join(pkg, filepath.Base(f)))
	}
	if !slices.Equal(names, committed) {
		t.Fatalf("generator writes %v, package has %v: run go generate ./wire/...", names, committed)
	}
	for _, name := range names {
		want, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date: run go generate ./wire/...", name)
		}
	}
}
