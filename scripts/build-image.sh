#!/usr/bin/env bash
# Build the coordinator image from the repository's Dockerfile without a Docker engine:
# buildah (vfs storage, chroot isolation, no daemon) on a base image made here from Debian
# packages, written as an OCI archive under .tools/images/. Cached by a hash of the inputs.
#   ./scripts/build-image.sh --deps   install buildah, mmdebstrap, runc, umoci (Debian) if missing
#   ./scripts/build-image.sh --base   --deps, then the base image (Debian bookworm + python3)
#   ./scripts/build-image.sh          --base, then the threadlock image; prints the archive path
# Everything buildah stores lives in .tools/images/ (--root/--runroot): nothing global changes;
# the base's root filesystem is cached in ~/.cache/threadlock/images/ ($THREADLOCK_CACHE).
#
# Why each piece:
# - The Dockerfile's default base, python:3.11-slim-bookworm, is on Docker Hub, which is not a
#   package registry this project may download from. Its stand-in: Debian bookworm (minbase)
#   with python3 (3.11), python3-venv and python-is-python3 (the Dockerfile calls `python`),
#   from mmdebstrap, imported as localhost/threadlock-base and passed as PYTHON_IMAGE.
# - vfs storage: no overlay or fuse needed; chroot isolation: no extra runtime setup for RUN.
# - The host's CA bundle is bind-mounted over the build's during RUN (never stored in a
#   layer): pip in the build stage then trusts what the host trusts (a TLS-inspecting egress
#   proxy here). On a machine without one it is Debian's bundle anyway.
# - The archive is `oci-archive` (an OCI image layout in a tar): containerd imports it
#   (`ctr images import`), skopeo/crane push it to a registry, umoci unpacks it for runc.
# Costs measured here (2 cores): base 7 min cold (mostly apt downloads), image 4.5 min cold
# (pip from PyPI), archive 1 min; warm (inputs unchanged): well under a second.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=$ROOT/.tools/images
say() { printf 'build-image: %s\n' "$*" >&2; }
die() { printf 'build-image: ERROR: %s\n' "$*" >&2; exit 1; }

mode=image
case ${1:-} in
  --deps) mode=deps ;;
  --base) mode=base ;;
  "") ;;
  *) die "unknown option $1 (known: --deps, --base)" ;;
esac

# --- Debian packages --------------------------------------------------------------------
need=()
for tool in buildah:buildah mmdebstrap:mmdebstrap runc:runc umoci:umoci; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if ((${#need[@]})); then
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1 ||
    die "missing ${need[*]} (Debian/Ubuntu: sudo apt-get install ${need[*]})"
  say "installing ${need[*]} (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
    >/dev/null
fi
[[ $mode == deps ]] && exit 0

mkdir -p "$OUT"
# The build runs as root (mmdebstrap's default mode, buildah's vfs driver without user
# namespaces); rootless would need subuid ranges this machine's users lack.
[[ $(id -u) -eq 0 ]] || die "run as root (mmdebstrap and buildah build a root filesystem)"
B=(buildah --root "$OUT/storage" --runroot "$OUT/run" --storage-driver vfs)

# --- base image -------------------------------------------------------------------------
SUITE=bookworm
PACKAGES=python3,python3-venv,python-is-python3,ca-certificates
MIRRORS=("deb http://deb.debian.org/debian $SUITE main"
         "deb http://deb.debian.org/debian $SUITE-updates main"
         "deb http://deb.debian.org/debian-security $SUITE-security main")
base_hash=$(printf '%s\n' "$SUITE" "$PACKAGES" "${MIRRORS[@]}" | sha256sum | cut -c1-12)
BASE=localhost/threadlock-base:$SUITE-$base_hash
# The base depends on nothing in the repository: made once per recipe per machine, in the
# user's cache (shared by every clone, e.g. CI's fresh clones).
CACHE=${THREADLOCK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/threadlock}
mkdir -p "$CACHE/images"
base_tar=$CACHE/images/base-$base_hash.tar
if [[ ! -s $base_tar ]]; then
  say "making the base root filesystem: Debian $SUITE minbase + $PACKAGES (mmdebstrap)"
  started=$SECONDS
  # Docs, man pages and locales dropped, as the slim Python images do (copyrights kept).
  nice -n 10 mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$SUITE" "$base_tar.part.$$" "${MIRRORS[@]}" || { rm -f "$base_tar.part.$$"; die "mmdebstrap failed"; }
  mv "$base_tar.part.$$" "$base_tar"  # atomic: a concurrent build of the same base is harmless
  say "base root filesystem made in $((SECONDS - started)) s"
fi
if ! "${B[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
  say "importing it as $BASE"
  ctr=$("${B[@]}" from scratch)
  "${B[@]}" add "$ctr" "$base_tar" / >/dev/null
  "${B[@]}" config --env LANG=C.UTF-8 --cmd python3 \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  "${B[@]}" commit --quiet --rm "$ctr" "$BASE" >/dev/null
fi
[[ $mode == base ]] && { say "base image $BASE ready"; exit 0; }

# --- threadlock image -------------------------------------------------------------------
# Inputs: the Dockerfile, .dockerignore and the files it lets into the build context (as they
# are in the work tree, committed or not), this script, and the base.
inputs=$( { printf '%s\n' "$BASE"; sha256sum scripts/build-image.sh;
            git ls-files -z --cached --others --exclude-standard -- \
              Dockerfile .dockerignore pyproject.toml README.md coordinator |
              grep -zv -e '__pycache__/' -e '\.pyc$' | sort -z | xargs -0 sha256sum; } |
          sha256sum | cut -c1-12)
archive=$OUT/threadlock-$inputs.oci.tar
if [[ ! -s $archive ]]; then
  say "building the image from the Dockerfile (buildah bud, PYTHON_IMAGE=$BASE)"
  started=$SECONDS
  cert=()
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] &&
    cert=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
  log=$OUT/build-$inputs.log
  nice -n 10 "${B[@]}" bud --pull-never --isolation chroot --layers=false "${cert[@]}" \
    --build-arg PYTHON_IMAGE="$BASE" --tag "localhost/threadlock:$inputs" . >"$log" 2>&1 ||
    { tail -n 30 "$log" >&2; die "buildah bud failed (log: $log)"; }
  "${B[@]}" push --quiet "localhost/threadlock:$inputs" \
    "oci-archive:$archive.part:localhost/threadlock:$inputs" >>"$log" 2>&1 ||
    { tail -n 10 "$log" >&2; die "buildah push to an OCI archive failed (log: $log)"; }
  mv "$archive.part" "$archive"
  # vfs keeps a full copy per layer: drop everything but the base (re-imported cheaply).
  "${B[@]}" rmi "localhost/threadlock:$inputs" >/dev/null 2>&1 || true
  "${B[@]}" rmi --prune >/dev/null 2>&1 || true
  find "$OUT" -maxdepth 1 \( \( -name 'threadlock-*.oci.tar' ! -name "${archive##*/}" \) -o \
    \( -name 'build-*.log' ! -name "${log##*/}" \) \) -delete
  say "image built in $((SECONDS - started)) s: $archive (localhost/threadlock:$inputs)"
fi
printf '%s\n' "$archive"
