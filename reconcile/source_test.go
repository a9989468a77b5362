package reconcile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/openrunner/openrunner"
)

// TestReadInside: apprunner.yaml is read through links that stay in the
// snapshot, never through one that leaves it.
func TestReadInside(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("host file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "app", "real.yaml"), []byte("version: 1.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"app/inside.yaml": "real.yaml", "app/outside.yaml": outside, "up": ".."} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := readInside(root, "app/inside.yaml"); err != nil || string(b) != "version: 1.0" {
		t.Fatalf("inside: %q, %v", b, err)
	}
	for _, name := range []string{"app/outside.yaml", "up/" + filepath.Base(root) + "/app/real.yaml", "../x"} {
		if b, err := readInside(root, name); err == nil {
			t.Errorf("%s: read %q", name, b)
		}
	}
}

func TestSourceDirectory(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "/api": "api", "api/": "api", "/a/../b": "b", "../../etc": "etc", "/a//b/": "a/b"} {
		if got := sourceDirectory(&openrunner.CodeSource{SourceDirectory: in}); got != want {
			t.Errorf("sourceDirectory(%q) = %q, want %q", in, got, want)
		}
	}
}
