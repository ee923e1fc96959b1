#!/usr/bin/env bash
# Builds and runs espsec_bench (every bench/*.cpp, each group printing its ratio summary at the
# end), then the update-server load benchmark (scripts/bench_ota.sh); results go to stdout and
# bench-out/. Usage: scripts/bench.sh [BUILD_DIR] [benchmark flags]
#   ESPSEC_BENCH_ESPSECURE="python3 -m espsecure"  also time Espressif's espsecure on the same inputs
#   ESPSEC_BENCH_DIR=DIR                            where the benchmark files live (default: temp dir)
#   ESPSEC_BENCH_OTA=0                              skip the update-server load benchmark
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
cmake -S . -B "$BUILD" -DESPSEC_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD" --target espsec espsec_bench -j"$(nproc)"
mkdir -p bench-out
# Medians of 5 repetitions: steadier than one run on a shared machine.
"$BUILD/espsec_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_out=bench-out/bench.json --benchmark_out_format=json "$@" | tee bench-out/bench.txt
[[ ${ESPSEC_BENCH_OTA:-1} == 0 ]] || scripts/bench_ota.sh "$BUILD"
