#!/usr/bin/env bash
# Generate gen/ from ../../protos with the pinned plugins in .tools/bin (scripts/setup-go.sh)
# and Buf (scripts/setup.sh).
#   ./gen.sh           rewrite gen/
#   ./gen.sh --check   regenerate into a temporary directory and fail if gen/ differs
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(cd ../.. && pwd)
BUF=$ROOT/.tools/node_modules/.bin/buf
for tool in "$BUF" "$ROOT/.tools/bin/protoc-gen-go" "$ROOT/.tools/bin/protoc-gen-go-grpc"; do
  [[ -x $tool ]] || { echo "gen.sh: $tool missing: run scripts/setup.sh and scripts/setup-go.sh" >&2; exit 1; }
done
export PATH=$ROOT/.tools/bin:$PATH
case ${1:-} in
  "") rm -rf gen && "$BUF" generate ;;
  --check)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$BUF" generate -o "$tmp"
    if ! diff -ru gen "$tmp/gen"; then
      echo "gen.sh: clients/go/gen is stale: run clients/go/gen.sh and commit the result" >&2
      exit 1
    fi
    echo "gen.sh: clients/go/gen is up to date" ;;
  *) echo "usage: gen.sh [--check]" >&2; exit 2 ;;
esac
