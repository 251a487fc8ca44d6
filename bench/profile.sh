#!/usr/bin/env bash
# profile.sh: where the client's time goes, generated against hand-written,
# counted by callgrind (instructions are exact and repeatable, unlike the
# timings of a shared 2-CPU machine).
#
#   make bench                       (builds build-bench/bench/dbont-bench)
#   bash tests/pg/run-with-cluster.sh bash bench/profile.sh
#
# Loads a small data set (client-side costs do not depend on its size),
# runs each workload once under callgrind and prints, per operation (per
# row for W4), the user-space instructions of each implementation, then
# the calls under the runtime's entry points.  Files: $BENCH_BUILD/profile/.
# The kernel's share (send, recv, poll) is not counted: it is the same
# for both sides, one write and one read per operation.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
case $build in /*) ;; *) build=$root/$build ;; esac
bench=$build/bench/dbont-bench
out=$build/profile
[[ -x $bench ]] || { echo "profile.sh: $bench missing: run make bench first" >&2; exit 1; }
[[ -n ${DATABASE_URL:-} ]] || { echo "profile.sh: DATABASE_URL is not set (run it through tests/pg/run-with-cluster.sh)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "profile.sh: valgrind is not installed" >&2; exit 1; }
mkdir -p "$out"

if [[ $(psql -X -At -c "SELECT to_regclass('posts') IS NOT NULL") != t ]]; then
    "$build/stage/bin/dbont-migrate" --dir "$root/bench/migrations" up >/dev/null
    "$bench" load --users 10000 --posts 100000
    psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -f "$root/bench/setup.sql"
fi

# workload, its size, the functions of each side (generated first)
profiles=(
    "W1 2000 bm_gen_w1 bm_hand_w1"
    "W1B 2000 bm_gen_w1b bm_hand_w1b bm_hand_w1b_shared"
    "W2 200 bm_gen_w2 bm_hand_w2"
    "W3 2000 bm_gen_w3 bm_hand_w3 bm_hand_w3_all"
    "W4 20000 bm_gen_w4 bm_hand_w4_binary bm_hand_w4_text"
)
printf '%-5s %-22s %14s\n' workload implementation "instr/unit"
for p in "${profiles[@]}"; do
    read -r w n fns <<<"$p"
    lw=$(tr '[:upper:]' '[:lower:]' <<<"$w")
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.$w" \
        "$bench" run --rounds 1 --slices 1 --only "$w" "--$lw" "$n" --w1b-batch 1000 >/dev/null 2>"$out/cg.$w.log"
    callgrind_annotate --inclusive=yes "$out/cg.$w" >"$out/cg.$w.txt" 2>/dev/null
    callgrind_annotate --inclusive=yes --tree=calling "$out/cg.$w" >"$out/cg.$w.tree" 2>/dev/null
    units=$((n + n / 10 + 1)) # the timed run and the warm-up
    for fn in $fns; do
        # the function's entries in callgrind_annotate's function list, one
        # per source file (code inlined from bm.h is listed under bm.h)
        ir=$(awk -v fn="$fn" '$0 ~ "^ *[0-9,]+ \\( *[0-9.]+%\\)  [^/ ][^ ]*:" fn "( \\[|$)" {
                gsub(",", "", $1); s += $1 } END { print s + 0 }' "$out/cg.$w.txt")
        printf '%-5s %-22s %14.0f\n' "$w" "${fn#bm_}" "$(awk -v a="$ir" -v b="$units" 'BEGIN { print a / b }')"
    done
done

echo
echo "Calls under the runtime's entry points (instructions, whole run; see $out/cg.*.tree):"
for w in W1 W1B W2 W3 W4; do
    echo "-- $w"
    awk '/^[ 0-9,]+\([ 0-9.]+%\)  \*  .*(dbont_query_run|run_pass|dbont_table_insert|dbont_table_copy|dbont_result_decode|dbont_copybuf_value) \[/ { p = 1 }
         p { print } /^$/ { p = 0 }' "$out/cg.$w.tree" | sed "s/ \[[^]]*\]\$//; s|$root/||"
done
