// Package runtimetest is the conformance suite of openrunner.Runtime
// implementations. It starts real instances of a small test application
// (package testapp) and checks a runtime's contract on them: RunDriver the
// instance-level half (openrunner.InstanceDriver and EnsureImage) of a
// runtime that has one, Run the revision contract every Runtime keeps
// (SetRevision, RemoveRevision, Revisions, adoption at Open and the hooks).
package runtimetest
