#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer binaries of Fuzz/ (address sanitizer on) and runs each for FUZZ_SECONDS
# (default 60) on its committed corpus. Fails on any crash, leak or slow input; what libFuzzer found is left in
# .build-fuzz/artifacts/<target>/ to become a regression input under Fuzz/corpus/<target>/.
# FUZZ_TARGETS picks targets; FUZZ_MERGE=1 folds the inputs that reached new code back into Fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"jws claims-expression claim-path admin-json form request-head"}
scratch=$PWD/.build-fuzz

echo "== building the fuzz targets (-sanitize=fuzzer,address) in $scratch"
# SwiftPM's --sanitize leaves `main` to libFuzzer (with -Xswiftc alone, SwiftPM's renamed entry point of each
# executable is missing at link time) but gives coverage to the root package only, here Fuzz/ itself; -Xswiftc
# gives it to every Swift module, Portico's (and the NIO parser under the gateway) included.
mkdir -p "$scratch"
if ! swift build --package-path Fuzz --scratch-path "$scratch" -c debug --sanitize=fuzzer --sanitize=address \
    -Xswiftc -sanitize=fuzzer,address >"$scratch/build.log" 2>&1; then
    grep -E 'error:' "$scratch/build.log" | head -20
    echo "the fuzz targets did not build: $scratch/build.log"
    exit 1
fi

# Leaks are looked for after every input that allocated more than it freed.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
failed=()
for target in $targets; do
    binary=$scratch/debug/fuzz-$target
    seeds=Fuzz/corpus/$target
    work=$scratch/corpus/$target
    artifacts=$scratch/artifacts/$target
    mkdir -p "$work" "$artifacts"
    log=$scratch/fuzz-$target.log
    echo "== fuzz-$target: ${seconds}s on $(find "$seeds" -type f | wc -l) committed inputs (log: $log)"
    if "$binary" "$work" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log" | tr '\n' ' '
        echo
    else
        echo "FAILED: fuzz-$target; the input is in $artifacts, the report in $log"
        grep -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | head -20 || true
        failed+=("$target")
    fi
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
        "$binary" -merge=1 "$seeds" "$work" >"$scratch/merge-$target.log" 2>&1
        echo "   corpus now $(find "$seeds" -type f | wc -l) inputs"
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]}"
    exit 1
fi
echo "fuzzing: no crash, leak or timeout in: $targets"
