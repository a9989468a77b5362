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
// and compares its output with the committed *_gen.go files.
func TestGeneratedFilesUpToDate(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	dir := t.TempDir()
	cmd := exec.Command(goBin, "run", "../internal/wiregen", "-model", "model/apprunner-2020-05-15.json", "-out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wiregen: %v\n%s", err, out)
	}
	generated, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob("*_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range generated {
		names = append(names, filepath.Base(f))
	}
	if !slices.Equal(names, committed) {
		t.Fatalf("generator writes %v, package has %v: run go generate ./wire", names, committed)
	}
	for _, name := range names {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date: run go generate ./wire", name)
		}
	}
}
