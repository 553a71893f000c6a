#!/usr/bin/env bash
# The chart's pods on a real node: a real kubelet + containerd + runc running the image built
# from the Dockerfile (scripts/build-image.sh), registered to a real control plane
# (tests/k8s_cluster.py: etcd, kube-apiserver, controller-manager, scheduler), everything inside
# a network namespace this script creates. Run as root:
#   ./scripts/k8s-e2e.sh              build/cache what is missing, then run tests/k8s_e2e.py
#   ./scripts/k8s-e2e.sh external     only the scenario with `etcd.mode: external`
#   ./scripts/k8s-e2e.sh bundled      only the chart's bundled etcd (StatefulSet) scenario
#   ./scripts/k8s-e2e.sh --prepare    only build/cache (binaries, images)
# Output: one line per step with its time; also kept, with every component's log, in
# .tools/k8s-e2e/last/ (output.txt, logs/).
# A documented command, not a CI test: see "Why not in CI" below.
#
# What it uses (all from package registries, cached):
# - kubelet v1.37.2: scripts/setup-k8s.sh with K8S_EXTRA_TARGETS=kubelet (the same tree as the
#   control plane; ~3 min more once the control plane is built, the Go cache being warm).
# - containerd 1.6.20 (Debian, `apt-get download` + `dpkg -x` into .tools/k8s-node: not
#   installed, no service started), runc 1.1.5 and the CNI plugins 1.1.1 (Debian packages that
#   build-image.sh --deps installs: buildah depends on the plugins).
# - Images, made locally and imported with `ctr -n k8s.io images import` (no registry):
#   the threadlock image; pause, compiled from the Kubernetes tree's build/pause/linux/pause.c
#   (gcc -static); etcd, the etcd v3.6.17 binaries built by setup.sh on an empty root.
# - Cluster DNS for the bundled etcd's member names: tests/k8s_dns.py (stdlib; why not CoreDNS
#   is in its docstring), at the node address.
#
# Workarounds, each needed on this machine (cgroup v1 host, CAP_SYS_RESOURCE withheld):
# - kubelet `failCgroupV1: false`: 1.35+ refuses cgroup v1 hosts unless told otherwise.
# - containerd `restrict_oom_score_adj = true`: without CAP_SYS_RESOURCE, runc cannot lower
#   a process' oom_score_adj and fails with "can't get final child's PID from pipe".
# - The kubelet refuses a loopback node address, and the network rules allow only loopback or
#   namespaces the test creates: the whole cluster (control plane, containerd, kubelet, DNS,
#   pods) runs in the namespace `tl-e2e-<pid>`, whose only other interface is one end of a veth
#   pair (both ends inside it) with 10.213.0.2/24 (the node address). Pods get 10.214.0.0/24 addresses from the CNI
#   bridge plugin in that namespace. Nothing is routed out of it; it is deleted at exit.
# - The kubelet authenticates with the admin client certificate (system:masters) instead of a
#   bootstrapped node identity: TLS bootstrap is not what is under test.
# - No kube-proxy: nothing here uses a Service's cluster IP (the coordinator gets each etcd
#   member's own DNS name; the test calls pods by their IPs).
#
# Leaving the machine as it was: the run's files are in a temporary directory (removed at
# exit), and the run gets a mount namespace of its own, in which /run, /var/lib and /var/log
# are empty tmpfs (containerd's shim sockets and pod network namespaces, the CNI cache, the
# kubelet's /var/log/pods and /var/log/containers, the hostPath volumes of the bundled etcd:
# all gone with the namespace; no mount made by the run is ever seen outside it), and the kernel settings the
# kubelet would otherwise rewrite machine-wide (vm.overcommit_memory, kernel.panic,
# kernel.panic_on_oops, ...) are shown to it, through bind mounts over their /proc/sys files,
# with the values it wants. Pod cgroups sit under /tl-e2e-<pid> in every cgroup hierarchy
# (the kubelet's cgroupRoot), removed at exit. At exit every process is killed by PID: the
# pods' (from that cgroup), then everything in the network namespace; then it is deleted.
#
# Why not in CI: the node needs root, a network namespace, cgroup writes and ~25 min of cold
# builds (control plane + kubelet + images) on top of the suite.
# Status (2026-12-06): passes end to end here (2 cores, cgroup v1, kernel 6.18): both
# scenarios in 121 s after a warm prepare (0-2 s; cold: containerd 3 s, pause 1 s, etcd
# image 3 s, threadlock image 47 s with pip's cache warm, plus the Kubernetes build and the
# image base, cached per machine). external: pods Ready via gRPC probes, which are shown to
# run (etcd stopped -> unready in ~10 s, no restart), a lock seen across pods, a rolling
# restart with exit codes 0 and a 10 s lock never lost. bundled: 3 members via the local DNS,
# the leader's pod deleted -> 890 lock cycles went through while it was away (2 UNAVAILABLE),
# it rejoined as the same member in 17 s, hashkv equal. Output and step times:
# docs/deploy.md ("On a real node"); the last run's output and logs: .tools/k8s-e2e/last/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
NODE=$ROOT/.tools/k8s-node
IMAGES=$ROOT/.tools/images
RECORD=$ROOT/.tools/k8s-e2e/last
K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.17
PAUSE_TAG=3.10.2
say() { printf 'k8s-e2e: %s\n' "$*" >&2; }
die() { printf 'k8s-e2e: ERROR: %s\n' "$*" >&2; exit 1; }
# timed WHAT CMD...: run CMD, then say how long it took.
timed() {
  local what=$1 t=$SECONDS
  shift
  "$@"
  say "$what: $((SECONDS - t)) s"
}

# --- inside: run by the outer half in the network namespace and a new mount namespace -------
if [[ ${1:-} == --inside ]]; then
  shift
  for dir in /run /var/lib /var/log; do mount -t tmpfs -o mode=0755,size=8g tl-e2e "$dir"; done
  # The kubelet sets these machine-wide unless they already have its values
  # (pkg/kubelet/cm/container_manager_linux.go, setupKernelTunables): show it its values.
  mkdir -p /run/tl-e2e-sysctl
  for kv in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
            kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
    file=/proc/sys/${kv%=*} want=${kv#*=}
    [[ $(<"$file") == "$want" ]] && continue
    fake=/run/tl-e2e-sysctl/${kv%=*}
    mkdir -p "${fake%/*}" && printf '%s\n' "$want" >"$fake"
    mount --bind "$fake" "$file"
  done
  ip link set lo up
  base=$THREADLOCK_E2E_BASE
  save_logs() {
    rm -rf "$RECORD/logs" && mkdir -p "$RECORD/logs"
    (cd "$base" && find . -name '*.log' -size -64M -exec cp --parents {} "$RECORD/logs/" \;) || true
    cp -r /var/log/pods "$RECORD/logs/pods" 2>/dev/null || true
  }
  trap save_logs EXIT
  . .venv/bin/activate
  python tests/k8s_e2e.py "$base" "$@"
  exit
fi

prepare_only=0
scenarios=()
case ${1:-} in
  --prepare) prepare_only=1 ;;
  external | bundled) scenarios=("$1") ;;
  "") ;;
  *) die "unknown option $1 (known: --prepare, external, bundled)" ;;
esac
[[ $(id -u) -eq 0 ]] || die "run as root (network namespace, containerd, kubelet)"
[[ -x .venv/bin/python ]] || die ".venv missing: run ./scripts/setup.sh first"
mkdir -p "$RECORD"

# --- binaries -----------------------------------------------------------------------------
started=$SECONDS
timed "image tools (Debian: buildah, mmdebstrap, runc, umoci)" ./scripts/build-image.sh --deps
timed "kubernetes $K8S_VERSION control plane + kubelet" \
  env K8S_EXTRA_TARGETS=kubelet ./scripts/setup-k8s.sh >&2
mkdir -p "$NODE/debs"
if [[ ! -x $NODE/root/usr/bin/containerd ]]; then
  fetch_containerd() {
    (cd "$NODE/debs" && apt-get download containerd >/dev/null 2>&1) || die "apt-get download containerd failed"
    dpkg -x "$NODE"/debs/containerd_*.deb "$NODE/root"
  }
  timed "containerd from Debian (apt-get download + dpkg -x into .tools/k8s-node/root)" fetch_containerd
fi
"$NODE/root/usr/bin/containerd" --version >&2

# --- images (OCI archives) ------------------------------------------------------------------
B=(buildah --root "$IMAGES/storage" --runroot "$IMAGES/run" --storage-driver vfs)
# scratch_image NAME:TAG ARCHIVE ENTRYPOINT SRC:DEST...: an image of just these files.
scratch_image() {
  local ref=$1 archive=$2 entry=$3 ctr spec t=$SECONDS
  shift 3
  [[ -s $archive ]] && return 0
  ctr=$("${B[@]}" from scratch)
  for spec in "$@"; do "${B[@]}" copy "$ctr" "${spec%%:*}" "${spec#*:}" >/dev/null; done
  "${B[@]}" config --entrypoint "[\"$entry\"]" --user 65535:65535 "$ctr"
  "${B[@]}" commit --quiet --rm "$ctr" "$ref" >/dev/null
  "${B[@]}" push --quiet "$ref" "oci-archive:$archive.part:$ref"
  "${B[@]}" rmi "$ref" >/dev/null
  mv "$archive.part" "$archive"
  say "image $ref made: $((SECONDS - t)) s"
}
mkdir -p "$IMAGES"
if [[ ! -x $NODE/pause ]]; then
  pause_c=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
            sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')/build/pause/linux/pause.c
  gcc -Os -static -Wall -Werror -DVERSION="v$PAUSE_TAG" -o "$NODE/pause" "$pause_c"
fi
scratch_image "localhost/pause:$PAUSE_TAG" "$IMAGES/pause-$PAUSE_TAG.oci.tar" /pause \
  "$NODE/pause:/pause"
etcd_bin=$ROOT/.tools/etcd/$ETCD_VERSION
[[ -x $etcd_bin/etcd ]] || die "$etcd_bin/etcd missing: run ./scripts/setup.sh"
scratch_image "localhost/etcd:$ETCD_VERSION" "$IMAGES/etcd-$ETCD_VERSION.oci.tar" \
  /usr/local/bin/etcd "$etcd_bin/etcd:/usr/local/bin/etcd" "$etcd_bin/etcdctl:/usr/local/bin/etcdctl"
t=$SECONDS
threadlock=$(./scripts/build-image.sh)
say "threadlock image ($threadlock): $((SECONDS - t)) s"
say "prepared in $((SECONDS - started)) s"
[[ $prepare_only == 1 ]] && exit 0

# --- the namespaces and the run ---------------------------------------------------------------
NS=tl-e2e-$$
CG=tl-e2e-$$
# The run's files (containerd's root, the kubelet's, the control plane's) are on disk: the
# kubelet's and containerd's filesystem statistics need a real filesystem under them. The
# mounts made in them stay in the run's mount namespace; the directory goes at exit.
BASE=$(mktemp -d /tmp/tl-k8s-e2e.XXXXXX)
cleanup() {
  set +e
  local pids pass
  # Normally tests/k8s_e2e.py has stopped everything already; this is for a run cut short.
  # Twice: a kubelet or containerd killed in the first pass may have started something.
  for pass in 1 2; do
    # The pods' processes (in namespaces of their own), by PID, from this run's cgroups.
    pids=$(find /sys/fs/cgroup/*/"$CG" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
    [[ -n $pids ]] && say "cleanup ($pass): killing pod processes $(echo $pids)" && kill -9 $pids 2>/dev/null
    # Everything else this run started lives in its network namespace.
    pids=$(ip netns pids "$NS" 2>/dev/null)
    [[ -n $pids ]] && say "cleanup ($pass): killing $(echo $pids)" && kill -9 $pids 2>/dev/null
    sleep 1
  done
  for dir in /sys/fs/cgroup/*/"$CG"; do
    [[ -d $dir ]] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  ip netns del "$NS" 2>/dev/null
  rm -rf --one-file-system "$BASE"
  for dir in /sys/fs/cgroup/*/"$CG"; do [[ -d $dir ]] && say "WARNING: $dir left behind"; done
  [[ -e /run/netns/$NS ]] && say "WARNING: network namespace $NS left behind"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$NS"
ip -n "$NS" link set lo up
# The node's interface: one end of a veth pair whose both ends stay in the namespace (this
# kernel has no dummy link type).
ip -n "$NS" link add tl-node0 type veth peer name tl-node1
ip -n "$NS" addr add 10.213.0.2/24 dev tl-node0
ip -n "$NS" link set tl-node1 up
ip -n "$NS" link set tl-node0 up
# A default route into that link: components that look for "the" node interface find it;
# packets sent there go nowhere.
ip -n "$NS" route add default dev tl-node0
# This run's cgroup in every v1 hierarchy (and the v2 one of a hybrid host): the kubelet's
# cgroupRoot. A new cpuset starts empty: give it its parent's CPUs and memory nodes.
for hier in /sys/fs/cgroup/*/; do
  [[ -f ${hier}cgroup.procs ]] || continue
  mkdir "$hier$CG"
  if [[ -f ${hier}cpuset.cpus ]]; then
    cat "${hier}cpuset.cpus" >"$hier$CG/cpuset.cpus"
    cat "${hier}cpuset.mems" >"$hier$CG/cpuset.mems"
  fi
done
export THREADLOCK_E2E_IMAGE=$threadlock THREADLOCK_E2E_NODE=$NODE \
  THREADLOCK_E2E_PAUSE=$IMAGES/pause-$PAUSE_TAG.oci.tar \
  THREADLOCK_E2E_ETCD=$IMAGES/etcd-$ETCD_VERSION.oci.tar THREADLOCK_E2E_CGROUP_ROOT=/$CG \
  THREADLOCK_E2E_BASE=$BASE
# nsenter, not `ip netns exec`: the latter also remounts /sys for the namespace, which hides
# /sys/fs/cgroup from the kubelet and runc. unshare: the private mount namespace (see above).
nsenter --net="/run/netns/$NS" unshare --mount --propagation private -- \
  "$ROOT/scripts/k8s-e2e.sh" --inside "${scenarios[@]}" 2>&1 | tee "$RECORD/output.txt"
exit "${PIPESTATUS[0]}"
