#!/usr/bin/env bash
# The one command that runs every check: ./scripts/test.sh [pytest args...]
# Installs what is missing (scripts/setup.sh), then: ruff, mypy, generated-code freshness,
# buf build + lint of protos/, and pytest (extra arguments go to pytest). Pytest also runs the
# other SDKs' own suites against coordinators it starts: clients/typescript (node:test, tsc,
# eslint: tests/test_typescript*.py), clients/go (go vet, go test -race: tests/test_go.py),
# clients/php (phpunit, Laravel: tests/test_php.py), and every SDK's conformance adapter
# (tests/test_sdk_conformance.py); and installs the Helm chart on a real kube-apiserver with
# KWOK nodes that it starts (tests/test_k8s_chart.py).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
BUF=.tools/node_modules/.bin/buf

step() { printf '\n== %s\n' "$*"; }

step "ruff check ."
ruff check .
step "mypy"
mypy
step "python scripts/gen_protos.py --check"
python scripts/gen_protos.py --check
step "buf build protos && buf lint protos"
"$BUF" build protos
"$BUF" lint protos
step "pytest $*"
exec pytest "$@"
