#!/usr/bin/env bash
# Run the benchmark suite (bench/, see bench/README.md): ./scripts/bench.sh [bench/run.py args]
# e.g. ./scripts/bench.sh --quick, or ./scripts/bench.sh --only contended,crash
# Installs what is missing (scripts/setup.sh --python-only; redis-server with apt-get when root
# and absent), then runs bench/run.py, which writes bench/results/ and prints the Markdown table.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh --python-only

# The Redis baseline is optional: without a redis-server, bench/run.py skips it and says why.
if ! command -v redis-server >/dev/null 2>&1 && [[ ! -x /usr/bin/redis-server ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing redis-server (apt-get) for the Redis baseline"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } ||
      echo "bench: could not install redis-server; the Redis baseline will be skipped" >&2
  else
    echo "bench: no redis-server (and not root with apt-get): the Redis baseline is skipped" >&2
  fi
fi

exec .venv/bin/python bench/run.py "$@"
