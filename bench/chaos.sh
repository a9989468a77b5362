#!/usr/bin/env bash
# Crash safety at scale: TestKill9Chaos with 200 service operations (create,
# update, deploy, pause, resume, delete) on the process runtime while the
# built openrunner serve is killed with SIGKILL at random points and
# restarted; it checks that no acknowledged write is lost, no service is
# stuck in OPERATION_IN_PROGRESS, every service is in the state its last
# acknowledged call asked for, and no instance process is orphaned.
# Usage: bench/chaos.sh [operations] [seed]     (default 200, random)
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENRUNNER_CHAOS_OPS=${1:-200}
if [[ -n ${2:-} ]]; then export OPENRUNNER_CHAOS_SEED=$2; fi
go test -count=1 -v -timeout 60m -run '^TestKill9Chaos$' ./cmd/openrunner 2>&1 | grep -v 'default credentials'
