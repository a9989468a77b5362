package process_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestAbandonedStart covers an OpenRunner killed between starting an
// instance's process and recording it: the next Runtime on the directory
// kills the process (and its group) and removes the directory, so no
// instance runs that nothing knows of. Another owner's leftovers stay.
func TestAbandonedStart(t *testing.T) {
	dir := t.TempDir()
	rt := newRuntime(t, dir) // owner "test" (newRuntime), creates instances/
	abandon := func(id, owner string) (*exec.Cmd, string) {
		inst := filepath.Join(dir, "instances", id)
		if err := os.Mkdir(inst, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inst, "starting.json"), []byte(`{"owner":"`+owner+`"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"stdout", "stderr"} {
			if err := syscall.Mkfifo(filepath.Join(inst, name), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		out, err := os.OpenFile(filepath.Join(inst, "stdout"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		// The instance and a child of its own, in the instance's group.
		cmd := exec.Command("/bin/sh", "-c", "sleep 300 & sleep 300")
		cmd.Stdout = out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
		return cmd, inst
	}
	ours, oursDir := abandon("proc-00000000000000a1", rt.Owner())
	theirs, theirsDir := abandon("proc-00000000000000b2", "someone-else")

	list, err := newRuntime(t, dir).ListInstances(context.Background())
	if err != nil || len(list) != 0 {
		t.Fatalf("ListInstances: %v, %v; want none", list, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- ours.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned instance's process is still running")
	}
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(-ours.Process.Pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a process of the abandoned instance's group is still running")
		}
	}
	if _, err := os.Stat(oursDir); !os.IsNotExist(err) {
		t.Errorf("the abandoned instance's directory: %v, want it removed", err)
	}
	if err := syscall.Kill(theirs.Process.Pid, 0); err != nil {
		t.Errorf("another owner's process: %v, want it left running", err)
	}
	if _, err := os.Stat(theirsDir); err != nil {
		t.Errorf("another owner's directory: %v, want it left", err)
	}
}
