#!/usr/bin/env bash
# Set up (the venv and etcd: quick when nothing changed) and start a threadlock coordinator on 127.0.0.1:50051.
#   ./scripts/serve.sh                 embedded in-memory backend (one replica, zero setup)
#   ./scripts/serve.sh --local-etcd    also start a throwaway etcd in .run/etcd and use it
# Any other arguments go to `threadlock serve` (see `threadlock serve --help`).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh --python-only

args=()
local_etcd=0
for a in "$@"; do
  if [[ $a == --local-etcd ]]; then local_etcd=1; else args+=("$a"); fi
done

if [[ $local_etcd == 1 ]]; then
  mkdir -p .run
  # The etcd the tests use (setup.sh built it into .tools/etcd/; $THREADLOCK_ETCD_BIN overrides).
  etcd_bin=$(.venv/bin/python -c 'from threadlock.local_etcd import find_etcd; print(find_etcd()[0])')
  "$etcd_bin" --name local --data-dir .run/etcd \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster local=http://127.0.0.1:2380 >.run/etcd.log 2>&1 &
  etcd_pid=$!
  trap 'kill $etcd_pid 2>/dev/null; wait $etcd_pid 2>/dev/null' EXIT
  echo "serve: etcd started (pid $etcd_pid, log .run/etcd.log) on 127.0.0.1:2379"
  args=(--etcd-endpoints 127.0.0.1:2379 "${args[@]}")
fi

# Not exec: with --local-etcd the trap above stops etcd when the coordinator exits.
.venv/bin/threadlock serve --log-format text "${args[@]}"
