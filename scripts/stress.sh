#!/usr/bin/env bash
# Set up (the venv and etcd: quick when nothing changed) and run `threadlock stress`, e.g.
#   ./scripts/stress.sh --workers 5 --iterations 10             guarded: must report 0 conflicts
#   ./scripts/stress.sh --workers 3 --duration 60 --mode unguarded   the race it prevents
# It starts its own fake OpenAI and coordinator; see `threadlock stress --help`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh --python-only >&2  # setup's chatter must not mix with --json on stdout
exec .venv/bin/threadlock stress "$@"
