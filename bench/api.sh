#!/usr/bin/env bash
# insitud's API under load: status latency while a run acquires at 1x, and 50 WebSocket watchers through a run.
#   bench/api.sh [requests]   (~4 min)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/../build/release/bench/service/api_bench" "$@"
