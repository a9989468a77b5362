// Package docker implements openrunner.Runtime on a Docker engine: each
// instance is a labelled container whose port is published on the loopback
// address, created and watched through the Engine API. Runtime is an
// openrunner.InstanceDriver, and a replicas.Controller over that driver
// makes it a whole openrunner.Runtime (revisions, health checks,
// replacement, adoption).
package docker
