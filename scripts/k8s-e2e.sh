#!/usr/bin/env bash
# The chart's pods on a real node: a real kubelet + containerd + runc running the image built
# from the Dockerfile (scripts/build-image.sh), registered to a real control plane
# (tests/k8s_cluster.py: etcd, kube-apiserver, controller-manager, scheduler), everything inside
# a network namespace this script creates. Run as root:
#   ./scripts/k8s-e2e.sh            build/cache what is missing, then run tests/k8s_e2e.py
#   ./scripts/k8s-e2e.sh --prepare  only build/cache (binaries, images)
# A documented command, not a CI test: see "Why not in CI" below.
#
# What it uses (all from package registries, cached under .tools/):
# - kubelet v1.37.2: scripts/setup-k8s.sh with K8S_EXTRA_TARGETS=kubelet (the same tree as the
#   control plane; ~3 min more once the control plane is built, the Go cache being warm).
# - containerd 1.6.20 (Debian, `apt-get download` + `dpkg -x` into .tools/k8s-node: not
#   installed, no service started), runc 1.1.5 and the CNI plugins 1.1.1 (Debian packages that
#   build-image.sh --deps installs: buildah depends on the plugins).
# - Images, made locally and imported with `ctr -n k8s.io images import` (no registry):
#   the threadlock image; pause, compiled from the Kubernetes tree's build/pause/linux/pause.c
#   (gcc -static); etcd, the etcd v3.6.17 binaries built by setup.sh on an empty root.
#
# Workarounds, each needed on this machine (cgroup v1 host, CAP_SYS_RESOURCE withheld):
# - kubelet `failCgroupV1: false`: 1.35+ refuses cgroup v1 hosts unless told otherwise.
# - containerd `restrict_oom_score_adj = true`: without CAP_SYS_RESOURCE, runc cannot lower
#   a process' oom_score_adj and fails with "can't get final child's PID from pipe".
# - The kubelet refuses a loopback node address, and the network rules allow only loopback or
#   namespaces the test creates: the whole cluster (control plane, containerd, kubelet, pods)
#   runs in the namespace `tl-e2e-<pid>`, whose only other interface is a dummy link with
#   10.213.0.2/24 (the node address). Pods get 10.214.0.0/24 addresses from the CNI bridge
#   plugin in that namespace. Nothing is routed out of it; it is deleted at exit.
# - The kubelet authenticates with the admin client certificate (system:masters) instead of a
#   bootstrapped node identity: TLS bootstrap is not what is under test.
# - No kube-proxy, no cluster DNS: the chart is installed with `etcd.mode: external`, etcd
#   running in the namespace at the node address (10.213.0.2). The bundled etcd's StatefulSet
#   needs per-pod DNS names and Service IPs; see the note in docs/deploy.md.
#
# Why not in CI: the node needs root, a network namespace, cgroup writes and ~25 min of cold
# builds (control plane + kubelet + images) on top of the suite.
# Status (2026-12-06): the images and containerd ran here (all three images imported into
# containerd inside a network namespace, 74 s); the kubelet part has not yet run end to end,
# because the shared machine's Kubernetes build had not finished before the deadline.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
NODE=$ROOT/.tools/k8s-node
IMAGES=$ROOT/.tools/images
K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.17
PAUSE_TAG=3.10.2
say() { printf 'k8s-e2e: %s\n' "$*" >&2; }
die() { printf 'k8s-e2e: ERROR: %s\n' "$*" >&2; exit 1; }

prepare_only=0
case ${1:-} in
  --prepare) prepare_only=1 ;;
  "") ;;
  *) die "unknown option $1 (known: --prepare)" ;;
esac
[[ $(id -u) -eq 0 ]] || die "run as root (network namespace, containerd, kubelet)"

# --- binaries -----------------------------------------------------------------------------
./scripts/build-image.sh --deps
K8S_EXTRA_TARGETS=kubelet ./scripts/setup-k8s.sh
mkdir -p "$NODE/debs"
if [[ ! -x $NODE/root/usr/bin/containerd ]]; then
  say "containerd from Debian (apt-get download + dpkg -x into .tools/k8s-node/root)"
  (cd "$NODE/debs" && apt-get download containerd >/dev/null 2>&1) || die "apt-get download containerd failed"
  dpkg -x "$NODE"/debs/containerd_*.deb "$NODE/root"
fi

# --- images (OCI archives) ------------------------------------------------------------------
B=(buildah --root "$IMAGES/storage" --runroot "$IMAGES/run" --storage-driver vfs)
# scratch_image NAME:TAG ARCHIVE ENTRYPOINT SRC:DEST...: an image of just these files.
scratch_image() {
  local ref=$1 archive=$2 entry=$3 ctr spec
  shift 3
  [[ -s $archive ]] && return 0
  say "making $ref"
  ctr=$("${B[@]}" from scratch)
  for spec in "$@"; do "${B[@]}" copy "$ctr" "${spec%%:*}" "${spec#*:}" >/dev/null; done
  "${B[@]}" config --entrypoint "[\"$entry\"]" --user 65535:65535 "$ctr"
  "${B[@]}" commit --quiet --rm "$ctr" "$ref" >/dev/null
  "${B[@]}" push --quiet "$ref" "oci-archive:$archive.part:$ref"
  "${B[@]}" rmi "$ref" >/dev/null
  mv "$archive.part" "$archive"
}
pause_c=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
          sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')/build/pause/linux/pause.c
if [[ ! -x $NODE/pause ]]; then
  gcc -Os -static -Wall -Werror -DVERSION="v$PAUSE_TAG" -o "$NODE/pause" "$pause_c"
fi
scratch_image "localhost/pause:$PAUSE_TAG" "$IMAGES/pause-$PAUSE_TAG.oci.tar" /pause \
  "$NODE/pause:/pause"
etcd_bin=$ROOT/.tools/etcd/$ETCD_VERSION
scratch_image "localhost/etcd:$ETCD_VERSION" "$IMAGES/etcd-$ETCD_VERSION.oci.tar" \
  /usr/local/bin/etcd "$etcd_bin/etcd:/usr/local/bin/etcd" "$etcd_bin/etcdctl:/usr/local/bin/etcdctl"
threadlock=$(./scripts/build-image.sh)
[[ $prepare_only == 1 ]] && { say "prepared"; exit 0; }

# --- the network namespace and the run ------------------------------------------------------
NS=tl-e2e-$$
ip netns add "$NS"
cleanup() { ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; ip netns del "$NS" || true; }
trap cleanup EXIT
ip -n "$NS" link set lo up
ip -n "$NS" link add tl-node0 type dummy
ip -n "$NS" addr add 10.213.0.2/24 dev tl-node0
ip -n "$NS" link set tl-node0 up
# A default route into the dummy link: components that look for "the" node interface find it;
# packets sent there go nowhere.
ip -n "$NS" route add default dev tl-node0
. .venv/bin/activate
export THREADLOCK_E2E_IMAGE=$threadlock THREADLOCK_E2E_NODE=$NODE \
  THREADLOCK_E2E_PAUSE=$IMAGES/pause-$PAUSE_TAG.oci.tar \
  THREADLOCK_E2E_ETCD=$IMAGES/etcd-$ETCD_VERSION.oci.tar
# nsenter, not `ip netns exec`: the latter also remounts /sys for the namespace, which hides
# /sys/fs/cgroup from the kubelet and runc.
nsenter --net="/run/netns/$NS" python tests/k8s_e2e.py
