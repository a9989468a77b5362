package main

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
)

// check waits for convergence and checks every service and instance.
func (d *chaosDriver) check(ctx context.Context, start time.Time) {
	t := d.t
	running := map[string]bool{}
	for _, w := range d.services {
		if w.alt != nil {
			d.resolve(ctx, w)
		}
		got := d.settle(ctx, w, 180*time.Second)
		switch {
		case got.status == types.ServiceStatusOperationInProgress:
			t.Errorf("%s is stuck in OPERATION_IN_PROGRESS", w.name)
		case !got.matches(w):
			t.Errorf("%s is %s, but its last acknowledged call asked for %s", w.name, &got, w)
		case w.status == types.ServiceStatusRunning:
			running[w.arn] = true
			if v := d.serves(ctx, w); v != w.version {
				t.Errorf("%s serves VERSION %q, want %q", w.name, v, w.version)
			}
		}
	}
	t.Logf("converged %v after the start: %d services running, %d paused or deleted", time.Since(start).Round(time.Millisecond), len(running), len(d.services)-len(running))
	d.checkInstances(running)
}

// serves asks w's running service, through the router, for its VERSION.
func (d *chaosDriver) serves(ctx context.Context, w *want) string {
	out, err := d.c.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: aws.String(w.arn)})
	if err != nil {
		d.t.Errorf("%s: %v", w.name, err)
		return ""
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.s.router+"/env?name=VERSION", nil)
	req.Host = aws.ToString(out.Service.ServiceUrl)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Errorf("%s: %v", w.name, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// instanceRecord is the part of the process runtime's state file (one per
// instance, process/instance.go) the check reads.
type instanceRecord struct {
	ServiceARN string `json:"serviceArn"`
	PID        int    `json:"pid"` // also its process group
}

// instances are the runtime's records of instances whose process group
// is alive.
func (d *chaosDriver) instances() []instanceRecord {
	var alive []instanceRecord
	_ = filepath.WalkDir(filepath.Join(d.s.dir, "process"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() != "state.json" {
			return nil
		}
		var rec instanceRecord
		if b, err := os.ReadFile(p); err == nil && json.Unmarshal(b, &rec) == nil && rec.PID > 0 && syscall.Kill(-rec.PID, 0) == nil {
			alive = append(alive, rec)
		}
		return nil
	})
	return alive
}

// checkInstances: every live instance belongs to a running service, every
// running service has one, and every process working under the data
// directory is in the process group of a recorded instance.
func (d *chaosDriver) checkInstances(running map[string]bool) {
	groups, has := map[int]bool{}, map[string]int{}
	for _, in := range d.instances() {
		groups[in.PID] = true
		has[in.ServiceARN]++
		if !running[in.ServiceARN] {
			d.t.Errorf("orphaned instance: process group %d of %s, which is not running", in.PID, in.ServiceARN)
		}
	}
	for arn := range running {
		if has[arn] == 0 {
			d.t.Errorf("running service %s has no instance process", arn)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cwd, err := os.Readlink(p + "/cwd")
		if err != nil || !strings.HasPrefix(cwd, d.s.dir+"/") {
			continue
		}
		if pgid, err := syscall.Getpgid(atoi(filepath.Base(p))); err == nil && !groups[pgid] {
			cmdline, _ := os.ReadFile(p + "/cmdline")
			d.t.Errorf("orphaned process %s (group %d) in %s: %q", filepath.Base(p), pgid, cwd, cmdline)
		}
	}
	d.t.Logf("%d instance processes, all of running services", len(groups))
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// cleanup deletes the services, stops the server and kills what is left
// of the instances.
func (d *chaosDriver) cleanup() {
	ctx := context.Background()
	for _, w := range d.services {
		if w.arn != "" {
			_, _ = d.c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: aws.String(w.arn)})
		}
	}
	for deadline := time.Now().Add(20 * time.Second); len(d.instances()) > 0 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	d.s.kill9()
	for _, in := range d.instances() {
		_ = syscall.Kill(-in.PID, syscall.SIGKILL)
	}
}
