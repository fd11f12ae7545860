#!/usr/bin/env bash
# Runs the fuzz targets, each for a bounded time, and prints how many inputs each executed.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60). TARGETs default to `plan plan_mutated image`; `onnx`
# (tract, slow to build) runs only when named. Installs cargo-fuzz if missing; needs a
# nightly toolchain (`cargo +nightly`). Builds with debug assertions (overflow checks) and
# AddressSanitizer (FUZZ_SANITIZER=none for speed). FUZZ_ARGS adds libFuzzer flags (e.g.
# "-seed=1 -runs=30000" for a reproducible run). New corpus entries go to
# tests/fuzz/work/<target> (git-ignored); the committed seeds in tests/fuzz/corpus are only
# read. Crashes land in tests/fuzz/artifacts/<target>/: store the input (for plan_mutated,
# after tests/fuzz/fixup.py) under tests/data/fuzz-regressions/ and add a test to
# tests/trust_regressions.rs. Exit status: non-zero if any target crashed or failed.
set -uo pipefail

secs=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(plan plan_mutated image)

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/fuzz}
sanitizer=${FUZZ_SANITIZER:-address}

# Through `rustup run`, not `cargo +nightly`: under `cargo xtask` the stable toolchain's own
# cargo may come first on PATH, and it does not understand `+nightly`.
nightly=(rustup run "${FUZZ_TOOLCHAIN:-nightly}" cargo)
if ! "${nightly[@]}" fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 2
fi

status=0
summary=()
for t in "${targets[@]}"; do
    case $t in
        plan | plan_mutated) features=(); seeds=tests/fuzz/corpus/plan; extra=(-max_len=16384) ;;
        image) features=(--features image); seeds=tests/fuzz/corpus/image; extra=(-max_len=65536) ;;
        onnx) features=(--features onnx); seeds=tests/data/onnx; extra=(-max_len=65536) ;;
        *) echo "unknown target $t" >&2; exit 2 ;;
    esac
    work=tests/fuzz/work/$t
    mkdir -p "$work"
    log=$(mktemp)
    echo "== $t: ${secs}s" >&2
    "${nightly[@]}" fuzz run "$t" --fuzz-dir tests/fuzz -a -s "$sanitizer" "${features[@]}" \
        "$work" "$seeds" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${extra[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1)
    if [ $rc -ne 0 ]; then
        status=1
        grep -E 'panicked|ERROR|SUMMARY|Test unit written|^error' "$log" | head -n 12 >&2
        echo "full log: $log" >&2
        summary+=("$t: FAILED (exit $rc) after ${execs:-?} executions")
    else
        rm -f "$log"
        summary+=("$t: ${execs:-?} executions in ${secs}s (${rate:-?}/s, ${cov:-cov ?}), no crash")
    fi
done
printf '%s\n' "${summary[@]}"
exit $status
