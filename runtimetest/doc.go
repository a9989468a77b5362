// Package runtimetest is the conformance suite every openrunner.Runtime
// implementation runs: Run starts real instances of a small test
// application (package testapp) and checks the Runtime's contract on them.
package runtimetest
