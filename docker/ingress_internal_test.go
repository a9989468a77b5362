package docker

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestSharedLibraries: a dynamically linked executable's libraries (its
// interpreter included) go into the proxy image with it; a static one's
// list is empty.
func TestSharedLibraries(t *testing.T) {
	if _, err := exec.LookPath("ldd"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ldd is missing")
		}
		t.Skip("no ldd")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	libs, err := sharedLibraries(sh)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(libs, func(l string) bool { return strings.Contains(l, "/ld-linux") }) ||
		!slices.ContainsFunc(libs, func(l string) bool { return strings.Contains(l, "libc.so") }) {
		t.Fatalf("libraries of %s: %v", sh, libs)
	}
	exe, err := os.Executable() // a Go test binary without cgo is static
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("ldd", exe).CombinedOutput(); strings.Contains(string(out), "not a dynamic executable") {
		if libs, err := sharedLibraries(exe); err != nil || len(libs) != 0 {
			t.Fatalf("static executable: %v, %v", libs, err)
		}
	}

	var buf bytes.Buffer
	if err := ingressContext(&buf, []byte("binary"), libs); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if names[0] != "Dockerfile" || names[1] != "rootfs/openrunner" || len(names) != 2+len(libs) {
		t.Fatalf("context: %v", names)
	}
}
