package source

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestUntarStaysInside: a crafted archive with a link out of the snapshot
// and a file "through" it writes nothing outside.
func TestUntarStaysInside(t *testing.T) {
	outside := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "a", Typeflag: tar.TypeSymlink, Linkname: outside})
	_ = tw.WriteHeader(&tar.Header{Name: "a/pwned", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	_, _ = tw.Write([]byte("x"))
	_ = tw.Close()
	dir := t.TempDir()
	if _, err := untar(&buf, dir); err == nil {
		t.Fatal("untar followed a link out of the snapshot")
	}
	if _, err := os.Stat(filepath.Join(outside, "pwned")); !os.IsNotExist(err) {
		t.Fatalf("a file was written outside: %v", err)
	}
	for _, name := range []string{"../x", "/etc/x"} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644})
		_ = tw.Close()
		if _, err := untar(&buf, t.TempDir()); err == nil {
			t.Errorf("%s: extracted", name)
		}
	}
}
