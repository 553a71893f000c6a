#!/usr/bin/env bash
# Build a real Kubernetes control plane for the chart's cluster tests (tests/test_k8s_chart.py),
# from source through the Go module proxy (no release download is reachable here), cached by
# version in ~/.cache/threadlock/k8s/<version>/ ($THREADLOCK_CACHE overrides ~/.cache/threadlock),
# which .tools/k8s/<version> links to:
#   bin/kube-apiserver bin/kube-controller-manager bin/kube-scheduler   k8s.io/kubernetes
#   bin/kwok                                                             sigs.k8s.io/kwok (fake nodes)
#   kwok-stages.yaml   kwokctl's default stages (nodes turn Ready, pods Running/Ready, deletes finish)
#   servicemonitor-crd.yaml   the Prometheus Operator's ServiceMonitor CRD
# Idempotent: a binary is rebuilt only when missing or its version is not the wanted one.
# Cold cost on 2 cores: about 15 min and ~5 GB of Go build cache (kept: later rebuilds take
# seconds; `go clean -cache` frees it). scripts/test.sh runs it in the background of the other
# suites; run it alone too.
#
# More binaries from the same Kubernetes tree (e.g. a real kubelet), built the same way:
#   K8S_EXTRA_TARGETS="kubelet kubectl" ./scripts/setup-k8s.sh    -> .tools/k8s/<version>/bin/
# Names are directories under k8s.io/kubernetes/cmd/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# Keep K8S_VERSION in sync with tests/k8s_cluster.py (K8S_VERSION); its staging modules
# (k8s.io/api, client-go, ...) are published as v0.<minor>.<patch>.
K8S_VERSION=v1.37.2
STAGING_VERSION=v0.${K8S_VERSION#v1.}
KWOK_VERSION=v0.8.0
# Built once per version per machine: the binaries live in the user's cache (shared by every
# clone, e.g. CI's fresh clones), and .tools/k8s/<version> links there.
CACHE=${THREADLOCK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/threadlock}
DIR=$CACHE/k8s/$K8S_VERSION
BIN=$DIR/bin
LOG=$DIR/build.log

say() { printf 'setup-k8s: %s\n' "$*"; }
die() { printf 'setup-k8s: ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 ||
  die "go not found: needed to build Kubernetes $K8S_VERSION (Debian: apt-get install golang, or go.dev)"
mkdir -p "$BIN" "$ROOT/.tools/k8s"
if [[ "$(readlink "$ROOT/.tools/k8s/$K8S_VERSION" 2>/dev/null)" != "$DIR" ]]; then
  rm -rf "$ROOT/.tools/k8s/$K8S_VERSION"
  ln -s "$DIR" "$ROOT/.tools/k8s/$K8S_VERSION"
fi

# module_dir MODULE@VERSION: its directory in the Go module cache (downloaded if needed).
module_dir() {
  GOFLAGS=-mod=mod go mod download -json "$1" 2>>"$LOG" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | grep . ||
    { tail -n 5 "$LOG" >&2; die "go mod download $1 failed (is the Go module proxy reachable? log: $LOG)"; }
}

# --- Kubernetes components ----------------------------------------------------------------
targets=(kube-apiserver kube-controller-manager kube-scheduler)
read -r -a extra <<<"${K8S_EXTRA_TARGETS:-}"
targets+=("${extra[@]}")
# Every component prints "Kubernetes v1.37.2" for --version (kubectl: "Client Version: ...").
k8s_built() { "$BIN/$1" --version 2>/dev/null | grep -qw "$K8S_VERSION"; }
k8s_built_kubectl() { "$BIN/kubectl" version --client 2>/dev/null | grep -qw "$K8S_VERSION"; }
missing=()
for t in "${targets[@]}"; do
  if [[ $t == kubectl ]]; then k8s_built_kubectl && continue; else k8s_built "$t" && continue; fi
  missing+=("$t")
done
# KWOK is built inside the same copied tree, so that the Kubernetes packages it shares with the
# components (client-go, apimachinery, ...) are compiled once: it is then linked against the
# v0.<minor> staging releases of this Kubernetes (v0.8.0 asks for v0.36; the API it uses is
# the same). `go version -m` names it a dependency of the k8s.io/kubernetes main module.
kwok_built() {
  go version -m "$BIN/kwok" 2>/dev/null | awk '($1 == "mod" || $1 == "dep") && $2 == "sigs.k8s.io/kwok" {print $3}'
}
need_kwok=0
[[ "$(kwok_built)" == "$KWOK_VERSION" ]] || need_kwok=1
if ((${#missing[@]} == 0 && need_kwok == 0)); then
  say "kubernetes $K8S_VERSION and kwok $KWOK_VERSION up to date (.tools/k8s/$K8S_VERSION/bin: ${targets[*]} kwok)"
else
  moddir=$(module_dir "k8s.io/kubernetes@$K8S_VERSION")
  for t in "${missing[@]}"; do
    [[ -d $moddir/cmd/$t ]] ||
      die "no cmd/$t in k8s.io/kubernetes@$K8S_VERSION (K8S_EXTRA_TARGETS=${K8S_EXTRA_TARGETS:-})"
  done
  : >"$LOG"
  started=$SECONDS
  # The module is a Go workspace whose staging/ modules (k8s.io/api, client-go, ...) are
  # required at v0.0.0 and replaced by ./staging directories that a module download does not
  # hold: build it as a plain module that takes the published staging releases instead.
  src=$(mktemp -d)
  trap 'rm -rf "$src"' EXIT
  cp -r "$moddir/." "$src/" && chmod -R u+w "$src"
  rm -f "$src/go.work" "$src/go.work.sum"
  awk -v v="$STAGING_VERSION" '
    /^replace[ \t]*\($/ {skip = 1; next}
    skip && /^\)/ {skip = 0; next}
    skip || /^replace[ \t]/ {next}
    $1 ~ /^k8s\.io\// && $2 == "v0.0.0" {sub(/v0\.0\.0/, v)}
    {print}' "$src/go.mod" >"$src/go.mod.new" && mv "$src/go.mod.new" "$src/go.mod"
  # What hack/lib/version.sh sets, so --version and the apiserver's /version say the release.
  ldflags="-s -w"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1"
    ldflags+=" -X $pkg.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION") -X $pkg.gitTreeState=clean"
    ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  gobuild() { (cd "$src" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 "$@" >>"$LOG" 2>&1); }
  out=$DIR/bin.new
  rm -rf "$out" && mkdir -p "$out"
  if ((${#missing[@]})); then
    say "building kubernetes $K8S_VERSION ${missing[*]} (about 12 min cold on 2 cores)"
    # One go build for all of them: shared packages compile once, links run in parallel.
    pkgs=()
    for t in "${missing[@]}"; do pkgs+=("./cmd/$t"); done
    gobuild go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}" ||
      { tail -n 20 "$LOG" >&2; die "building ${missing[*]} failed (log: $LOG)"; }
    for t in "${missing[@]}"; do mv "$out/$t" "$BIN/$t"; done
    for t in "${missing[@]}"; do
      if [[ $t == kubectl ]]; then k8s_built_kubectl; else k8s_built "$t"; fi ||
        die "$t built but its --version does not say $K8S_VERSION"
    done
    say "  ${missing[*]} built in $((SECONDS - started)) s"
  fi
  if ((need_kwok)); then
    started=$SECONDS
    say "building kwok $KWOK_VERSION in the same tree"
    { gobuild go get "sigs.k8s.io/kwok@$KWOK_VERSION" &&
      gobuild go build -trimpath -ldflags "-s -w" -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok; } ||
      { tail -n 20 "$LOG" >&2; die "building kwok $KWOK_VERSION failed (log: $LOG)"; }
    mv "$out/kwok" "$BIN/kwok"
    [[ "$(kwok_built)" == "$KWOK_VERSION" ]] || die "kwok $KWOK_VERSION built but go version -m does not say so"
    say "  kwok built in $((SECONDS - started)) s"
  fi
  rm -rf "$src" "$out"
  trap - EXIT
fi

# --- KWOK's default stages ----------------------------------------------------------------
# kwokctl's default set (kustomize/stage/fast): nodes initialize and heartbeat with leases;
# pods become Running/Ready, complete, and finish deleting. Without stages kwok does nothing.
stages=$DIR/kwok-stages.yaml
if [[ ! -s $stages || ! -f $stages.$KWOK_VERSION ]]; then
  kdir=$(module_dir "sigs.k8s.io/kwok@$KWOK_VERSION")
  : >"$stages.new"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [[ -f $kdir/kustomize/stage/$f ]] || die "kwok $KWOK_VERSION has no kustomize/stage/$f"
    { printf -- '---\n'; grep -v '^---$' "$kdir/kustomize/stage/$f"; } >>"$stages.new"
  done
  mv "$stages.new" "$stages"
  rm -f "$stages".v* && : >"$stages.$KWOK_VERSION"
  say "kwok stages written to .tools/k8s/$K8S_VERSION/kwok-stages.yaml"
fi

# --- The ServiceMonitor CRD (the chart's metrics.serviceMonitor), from prometheus-operator ---
# The CRD YAML ships in the operator's Go module (example/prometheus-operator-crd/).
PROMOP_VERSION=v0.85.0
crd=$DIR/servicemonitor-crd.yaml
if [[ -s $crd && -f $crd.$PROMOP_VERSION ]]; then
  say "ServiceMonitor CRD (prometheus-operator $PROMOP_VERSION) up to date"
else
  pdir=$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMOP_VERSION")
  src_crd=$pdir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
  [[ -f $src_crd ]] || die "prometheus-operator $PROMOP_VERSION has no $src_crd"
  cp "$src_crd" "$crd" && chmod u+w "$crd"
  rm -f "$crd".v* && : >"$crd.$PROMOP_VERSION"
  say "ServiceMonitor CRD (prometheus-operator $PROMOP_VERSION) written to .tools/k8s/$K8S_VERSION/servicemonitor-crd.yaml"
fi
