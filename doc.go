// Package openrunner holds OpenRunner's domain: the resources App Runner
// manages (connections, services, operations, ...), the interfaces of the
// stores and drivers that implement them, and the application error type.
// Subpackages adapt technologies (sqlite, sigv4, awsjson, ...) to it; the
// binary in cmd/openrunner wires them together.
package openrunner
