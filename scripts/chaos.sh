#!/usr/bin/env bash
# The long chaos run (issue 14): >= 100,000 lock acquisitions by SDK worker processes through 2
# coordinator replicas on a 3-member etcd 3.6 cluster, with the etcd leader or a replica
# SIGKILLed every --kill-every seconds; prints a JSON summary, exits 1 on any overlap,
# out-of-order fencing token, resource rejection, Conflict or hashkv mismatch.
#   scripts/chaos.sh                                   defaults: --acquisitions 100000 --kill-every 20
#   scripts/chaos.sh --acquisitions 5000 --kill-every 10 --dir /tmp/chaos   a short one
# Options: tests/chaos/longrun.py --help. Needs ./scripts/setup.sh --python-only first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -x .venv/bin/python ]] || { echo "chaos: run ./scripts/setup.sh --python-only first" >&2; exit 1; }
exec .venv/bin/python tests/chaos/longrun.py "$@"
