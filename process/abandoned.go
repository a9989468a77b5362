package process

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// startingFile is written into an instance's directory before its process
// starts, naming the owner: a directory that has it but no state file is
// an instance whose start was cut short (OpenRunner killed between starting
// the process and recording it), and its process, if it got one, is found
// by the FIFOs it holds.
const startingFile = "starting.json"

type startingRecord struct {
	Owner string `json:"owner"`
}

// markStarting records that this runtime is starting an instance in dir.
func (r *Runtime) markStarting(dir string) error {
	r.mu.Lock()
	r.starting[dir] = true
	r.mu.Unlock()
	return writeJSON(filepath.Join(dir, startingFile), startingRecord{Owner: r.owner})
}

// doneStarting forgets a start that succeeded or failed.
func (r *Runtime) doneStarting(dir string) {
	r.mu.Lock()
	delete(r.starting, dir)
	r.mu.Unlock()
}

// reapAbandoned removes dir if it is an instance of this owner whose start
// an earlier OpenRunner process did not finish: the processes holding its
// FIFOs (the instance, and what it started) are killed with their process
// groups, and the directory goes. It reports whether it did. Only one
// Runtime of an owner starts instances in a directory at a time (one server
// per data directory), so a start of this owner that this Runtime is not
// making is one that died.
func (r *Runtime) reapAbandoned(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, stateFile)); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	r.mu.Lock()
	busy := r.starting[dir]
	r.mu.Unlock()
	if busy {
		return false // being started by this process now
	}
	b, err := os.ReadFile(filepath.Join(dir, startingFile))
	if err != nil {
		return false // not a start of this runtime's, or no process was started
	}
	var rec startingRecord
	if json.Unmarshal(b, &rec) != nil || rec.Owner != r.owner {
		return false
	}
	pids := fifoHolders(filepath.Join(dir, stdoutFIFO), filepath.Join(dir, stderrFIFO))
	for _, pid := range pids {
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err := os.RemoveAll(dir); err != nil {
		r.logger.Warn("removing an instance whose start was cut short", "dir", dir, "error", err)
		return false
	}
	r.logger.Warn("removed an instance whose start was cut short", "dir", dir, "killed", len(pids))
	return true
}

// fifoHolders returns the processes with one of paths open (from
// /proc/<pid>/fd, Linux).
func fifoHolders(paths ...string) []int {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fdDir := "/proc/" + p.Name() + "/fd"
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
	fds:
		for _, fd := range fds {
			target, err := os.Readlink(fdDir + "/" + fd.Name())
			if err != nil {
				continue
			}
			for _, path := range paths {
				if target == path {
					out = append(out, pid)
					break fds
				}
			}
		}
	}
	return out
}
