// Package process implements openrunner.Runtime with host processes: each
// instance is a supervised child process group, running a local artifact (a
// binary or a directory) on its own loopback port, its output captured into
// a bounded, timestamped log. Runtime is an openrunner.InstanceDriver, and
// a replicas.Controller over that driver makes it a whole
// openrunner.Runtime (revisions, health checks, replacement, adoption).
package process
