#!/usr/bin/env bash
# Node 22 for the TypeScript SDK (clients/typescript), from npm only: the Node binary is the npm
# package node-linux-<arch> (the `node` package's own payload), pinned and cached by version
# under .tools/. Then `npm ci` in clients/typescript from its committed package-lock.json.
# Idempotent and quick when nothing changed. Prints nothing on stdout but its `say` lines.
#   ./scripts/setup-node.sh            install Node 22 and the SDK's dependencies
#   ./scripts/setup-node.sh --build    also build the SDK (dist/) and its tests and conformance
#                                      adapter (.build/)
#   .tools/node22/bin/node --version   the Node every TS command uses (PATH it first)
set -euo pipefail

build=0
for arg in "$@"; do
  case $arg in
    --build) build=1 ;;
    *) printf 'setup-node: unknown option %s (known: --build)\n' "$arg" >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
NODE_VERSION=22.23.5
SDK=$ROOT/clients/typescript

say() { printf 'setup-node: %s\n' "$*"; }
die() { printf 'setup-node: ERROR: %s\n' "$*" >&2; exit 1; }

case $(uname -m) in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no Node binary package on npm for $(uname -m)" ;;
esac
pkg=node-linux-$arch
dir=$ROOT/.tools/node/$NODE_VERSION
node=$dir/node_modules/$pkg/bin/node

if [[ -x $node && "$("$node" --version 2>/dev/null)" == "v$NODE_VERSION" ]]; then
  say "node $NODE_VERSION up to date"
else
  command -v npm >/dev/null 2>&1 || die "npm not found: needed to install Node $NODE_VERSION"
  say "installing node $NODE_VERSION into .tools/node/ (npm $pkg@$NODE_VERSION)"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
    "$pkg@$NODE_VERSION" >/dev/null || die "npm install $pkg@$NODE_VERSION failed"
  [[ "$("$node" --version)" == "v$NODE_VERSION" ]] || die "node $NODE_VERSION did not install"
fi
# One stable path for scripts and tests, whatever the pinned version.
ln -sfn "node/$NODE_VERSION/node_modules/$pkg" "$ROOT/.tools/node22"
export PATH=$ROOT/.tools/node22/bin:$PATH

# npm itself is the system one; run under Node 22 it installs for Node 22.
stamp=$SDK/node_modules/.threadlock-setup
want="$(sha256sum <"$SDK/package-lock.json" | cut -d' ' -f1) $NODE_VERSION"
if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  say "clients/typescript/node_modules up to date"
else
  say "npm ci in clients/typescript"
  (cd "$SDK" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
    die "npm ci in clients/typescript failed"
  printf '%s\n' "$want" >"$stamp"
fi
if [[ $build == 1 ]]; then
  say "building clients/typescript (dist/, .build/)"
  (cd "$SDK" && npm run --silent build && npm run --silent build-tests) ||
    die "building clients/typescript failed"
fi
say "done (node $("$ROOT/.tools/node22/bin/node" --version))"
