#!/usr/bin/env bash
# Run-file append throughput (daemon/storage): flushing every 10 s of run time, and on every record.
set -euo pipefail
bin="$(dirname "$0")/../build/release/bench/storage/storage_bench"
"$bin" 1000000 10
"$bin" 100000 0.01
