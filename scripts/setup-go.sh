#!/usr/bin/env bash
# Install what the Go client (clients/go) needs, into the work tree only: the pinned protoc
# plugins (protoc-gen-go, protoc-gen-go-grpc) in .tools/bin, built with `go install` through the
# Go module proxy, and the client's modules (`go mod download`, into Go's module cache).
# Idempotent and quick when nothing changed. Buf itself comes from scripts/setup.sh (npm).
#   ./scripts/setup-go.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# Keep these in step with clients/go/go.mod (google.golang.org/protobuf, google.golang.org/grpc):
# the generated code is checked for freshness against what these plugins produce.
PROTOC_GEN_GO_VERSION=v1.36.11
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

say() { printf 'setup-go: %s\n' "$*"; }
die() { printf 'setup-go: ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "go not found: install Go >= 1.24 (https://go.dev/doc/install or apt)"

# `go test -race` (tests/test_go.py) needs cgo, hence a C compiler.
if ! command -v gcc >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing gcc (Debian; go test -race needs cgo)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null ||
      die "apt-get install gcc failed"
  else
    die "gcc not found: go test -race needs it (Debian/Ubuntu: sudo apt-get install gcc)"
  fi
fi

# The version a binary was built from (the module's, from its embedded build info).
built() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" {print $3}'; }

install_plugin() {  # name package version
  local bin=$ROOT/.tools/bin/$1
  if [[ -x $bin && "$(built "$bin")" == "$3" ]]; then
    say "$1 $3 up to date"
    return
  fi
  say "installing $1 $3 into .tools/bin (go install)"
  mkdir -p "$ROOT/.tools/bin"
  GOBIN=$ROOT/.tools/bin GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath "$2@$3" ||
    die "go install $2@$3 failed"
  [[ "$(built "$bin")" == "$3" ]] || die "$1 $3 did not install"
}

install_plugin protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
install_plugin protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc \
  "$PROTOC_GEN_GO_GRPC_VERSION"

say "downloading the Go client's modules (go mod download)"
(cd clients/go && go mod download) || die "go mod download in clients/go failed"
# Warm Go's build cache, so that the first test run (and the conformance adapter's build, done
# within one test's timeout) does not compile grpc-go from scratch.
say "building the Go client (go build ./...)"
(cd clients/go && GOTOOLCHAIN=local go build ./...) || die "go build in clients/go failed"
say "done"
