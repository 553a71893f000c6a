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
# The two slow builds only the last tests need run in the background, niced, while the other
# suites run: Kubernetes' control plane and KWOK (scripts/setup-k8s.sh, ~15 min cold) and the
# image (scripts/build-image.sh, ~12 min cold). Their tests (test_k8s_chart.py,
# test_image_build.py; conftest runs them last) wait for them (tests/background_builds.py)
# and then run the same idempotent script themselves, so plain `pytest` works too.
# THREADLOCK_BACKGROUND_BUILDS=0 starts none (the tests then build in the foreground).
BG=.tools/background
mkdir -p "$BG"
bg_pids=()
background() {
  local name=$1
  shift
  rm -f "$BG/$name.rc" "$BG/$name.pid"
  # setsid: its own process group, which the EXIT trap kills whole (go build, buildah, ...).
  setsid bash -c '"$@" >"$0.log" 2>&1; echo $? >"$0.rc"' "$BG/$name" nice -n 15 "$@" &
  echo $! >"$BG/$name.pid"
  bg_pids+=($!)
  printf 'test: %s builds in the background (log: %s/%s.log)\n' "$name" "$BG" "$name"
}
stop_background() {
  local pid
  for pid in "${bg_pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}
trap stop_background EXIT
if [[ ${THREADLOCK_BACKGROUND_BUILDS:-1} != 0 ]]; then
  background k8s ./scripts/setup-k8s.sh
  background image ./scripts/build-image.sh
fi

step "pytest $*"
pytest "$@"
