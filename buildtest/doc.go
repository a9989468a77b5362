// Package buildtest is the conformance suite every openrunner.Builder
// implementation runs: Run builds small source trees (shell-only builds,
// an app that reports what it sees at run time, and the sample apps of
// internal/sampleapp), runs what they built through the implementation's
// Runner, and checks the Builder's contract: phase-prefixed build output,
// build.env reaching the build commands but not the running app, the
// source directory, failed and cancelled builds, Builds and RemoveBuild,
// and a SourceDir the builder never writes in. What an implementation
// alone promises (a Dockerfile's layers, a host's toolchains) stays in its
// own tests, or in the Options hooks the suite calls.
package buildtest
