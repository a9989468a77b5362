// Package docker implements openrunner.Runtime on a Docker engine: each
// instance is a labelled container whose port is published on the loopback
// address, created and watched through the Engine API.
package docker
