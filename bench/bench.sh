#!/usr/bin/env bash
# bench.sh: what `make bench` runs (docs/performance.md explains the figures).
#
#   1. builds dbont in Release (-O2) in $BENCH_BUILD (default build-bench),
#      installs it into $BENCH_BUILD/stage and builds bench/ against that
#      installation (find_package(dbont) + dbont_generate(), as an
#      application would);
#   2. when node is on the PATH, installs knex 3, drizzle-orm 0.29 and pg 8
#      into bench/node/node_modules (npm install, once);
#   3. starts a throwaway PostgreSQL (tests/pg/run-with-cluster.sh), tunes
#      it for the benchmark and restarts it, applies bench/migrations, loads
#      100k users and 1M posts with COPY, runs bench/setup.sql (indexes);
#   4. runs dbont-bench (generated code against hand-written libpq, on one
#      connection, alternating slices, medians of rounds), then the Node
#      peers, with the client and the server pinned to separate CPUs, then
#      to one shared CPU, and prints the ratio tables; the tables,
#      the machine and the versions go to $BENCH_BUILD/bench-results.md.
#      With BENCH_RECORD=1 they also replace what lies between the
#      bench:begin and bench:end markers of docs/performance.md;
#   5. the caching benchmark: `dbont-bench cache` against a private Redis
#      (tests/redis/with-redis.sh --private: started for it, destroyed when
#      it ends, whatever happens), in the same CPU placements, with Redis
#      where PostgreSQL is; then the 2-thread scaling of L1 hits
#      (`dbont-bench cache --only THREADS` and dbont-bench-l1) with the
#      client free to use every CPU.  Its tables go to
#      $BENCH_BUILD/bench-results-cache.md and, with BENCH_RECORD=1,
#      between the bench-cache:begin and bench-cache:end markers;
#   6. the scale-out benchmark: `dbont-bench shard` (routing, no server)
#      on CPU 0; its tables go to $BENCH_BUILD/bench-results-shard.md
#      and, with BENCH_RECORD=1, between the bench-shard markers;
#   7. the fan-out benchmark, after the steps above and on servers of its
#      own: four PostgreSQL shards and a standby on private ports
#      (tests/pg/with-shards.sh --private: started for it, destroyed when
#      it ends), an "oracle" database on shard 0's server, the migrations
#      of bench/shards-migrations applied to all five, then
#      `dbont-bench fanout` (a query over 4 shards against the same query
#      on one server), nothing pinned; its table goes to
#      $BENCH_BUILD/bench-results-fanout.md and, with BENCH_RECORD=1,
#      between the bench-fanout markers.
#
# Knobs (environment):
#   BENCH_PIN          CPU placements to time the programs in, the first
#                      being the headline: "split same" (default), "split",
#                      "same", "none" (see docs/performance.md)
#   BENCH_ROUNDS       rounds of the C program (9); BENCH_NODE_ROUNDS (5)
#   BENCH_USERS, BENCH_POSTS   the data set (100000, 1000000)
#   BENCH_C_ARGS, BENCH_NODE_ARGS   more options for `dbont-bench run` and
#                      bench/node/bench.mjs, e.g. "--w1 5000"
#   BENCH_NODE=0       skip the Node peers
#   BENCH_PARTS        what to run: "workloads cache shard fanout" (default);
#                      "workloads" is steps 2 and 4, "cache" step 5,
#                      "shard" step 6, "fanout" step 7 (alone, it starts no
#                      single server and loads no users and posts)
#   BENCH_CACHE_ARGS   more options for `dbont-bench cache`, e.g. "--l2 5000"
#   BENCH_FANOUT_ARGS  more options for `dbont-bench fanout`, e.g.
#                      "--rows 200000 --calls 1000"
#   BENCH_BUILD        the build folder (build-bench); CMAKE, JOBS
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
case $build in /*) ;; *) build=$root/$build ;; esac
cmake=${CMAKE:-cmake}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
rounds=${BENCH_ROUNDS:-9}
node_rounds=${BENCH_NODE_ROUNDS:-5}
users=${BENCH_USERS:-100000}
posts=${BENCH_POSTS:-1000000}
results=$build/bench-results
parts=${BENCH_PARTS:-workloads cache shard fanout}
# one clock for the whole run: steps 3-7 run in later invocations of
# this script (--inside, --fanout)
start=${BENCH_START:-$(date +%s)}
export BENCH_START=$start

# Whether BENCH_PARTS names part $1.
part() { [[ " $parts " == *" $1 "* ]]; }
for p in $parts; do
    case $p in
    workloads | cache | shard | fanout) ;;
    *)
        echo "bench: BENCH_PARTS: unknown part '$p' (workloads, cache, shard, fanout)" >&2
        exit 2
        ;;
    esac
done

say() { printf '\n== %s (%ds)\n' "$*" $(($(date +%s) - start)); }

# Which Node.js, if any, and whether its packages are installed.
node_state() {
    if [[ ${BENCH_NODE:-1} == 0 ]]; then
        echo "skipped (BENCH_NODE=0)"
    elif ! command -v node >/dev/null 2>&1; then
        echo "not found on the PATH: the Node peers are skipped"
    elif ! command -v npm >/dev/null 2>&1; then
        echo "node found but npm is missing: the Node peers are skipped"
    else
        echo ok
    fi
}

inside() {
    # ---- the server: tuned for throughput and steady timings --------------
    # pgcluster.sh already turns fsync, synchronous_commit and
    # full_page_writes off.  Added here: room for the whole data set in
    # shared buffers, no WAL beyond crash safety, no checkpoint and no
    # autovacuum during the timed runs (the runs VACUUM what they insert).
    say "tuning and restarting PostgreSQL"
    psql -X -q -v ON_ERROR_STOP=1 -o /dev/null <<'EOF'
ALTER SYSTEM SET shared_buffers = '1GB';
ALTER SYSTEM SET wal_level = 'minimal';
ALTER SYSTEM SET max_wal_senders = 0;
ALTER SYSTEM SET max_wal_size = '8GB';
ALTER SYSTEM SET checkpoint_timeout = '1h';
ALTER SYSTEM SET autovacuum = off;
EOF
    local data=$PGHOST/data owner
    owner=$(stat -c %U "$data")
    if [[ $owner == "$(id -un)" ]]; then
        (cd "$PGHOST" && "$PG_BINDIR/pg_ctl" -D "$data" -l "$PGHOST/server.log" -w -t 60 restart >/dev/null)
    else
        (cd "$PGHOST" && runuser -u "$owner" -- "$PG_BINDIR/pg_ctl" -D "$data" -l "$PGHOST/server.log" \
            -w -t 60 restart >/dev/null)
    fi
    local settings
    settings=$(psql -X -At -c "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ' ORDER BY name)
        FROM pg_settings WHERE name IN ('shared_buffers', 'wal_level', 'fsync', 'synchronous_commit',
        'full_page_writes', 'autovacuum', 'max_wal_size', 'checkpoint_timeout', 'jit')")
    echo "$settings"

    say "loading $users users and $posts posts"
    "$build/stage/bin/dbont-migrate" --dir "$root/bench/migrations" up
    "$build/bench/dbont-bench" load --users "$users" --posts "$posts"
    psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -f "$root/bench/setup.sql"

    # Where the client and the server run (see docs/performance.md,
    # "Variance"): split = client on CPU 0, server on CPU 1; same = both on
    # CPU 0; none = wherever the scheduler puts them.  BENCH_PIN lists the
    # placements to time the programs in; the first one is the headline
    # (its table comes first in the Markdown and last on the terminal).
    local placements=() pin
    for pin in ${BENCH_PIN:-split same}; do
        if [[ $pin != none ]] && { ! command -v taskset >/dev/null 2>&1 || [[ $(nproc) -lt 2 ]]; }; then
            echo "bench: cannot pin CPUs ($pin): no taskset or fewer than 2 CPUs; running unpinned"
            pin=none
        fi
        if [[ ! " ${placements[*]} " =~ \ $pin\  ]]; then
            placements+=("$pin")
        fi
    done
    local headline=${placements[0]}

    mkdir -p "$results"
    rm -f "$results"/*.txt "$results"/*.md "$build"/bench-results*.md
    {
        echo "meta date $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "meta command make bench${BENCH_ROUNDS:+ BENCH_ROUNDS=$BENCH_ROUNDS}${BENCH_PIN:+ BENCH_PIN=\"$BENCH_PIN\"}${BENCH_C_ARGS:+ BENCH_C_ARGS=\"$BENCH_C_ARGS\"}${BENCH_PARTS:+ BENCH_PARTS=\"$BENCH_PARTS\"}${BENCH_CACHE_ARGS:+ BENCH_CACHE_ARGS=\"$BENCH_CACHE_ARGS\"}"
        echo "meta machine $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo)"
        echo "meta kernel $(uname -sr)"
        echo "meta server_settings $settings"
    } >"$results/machine.txt"

    if part workloads; then
        workloads_part
    fi
    if part cache; then
        cache_part
    fi
    if part shard; then
        shard_part
    fi
}

# Step 6: shard routing (docs/performance.md, "Scale-out").
shard_part() {
    local md=$build/bench-results-shard.md pin=()
    say "scale-out: shard routing ($rounds rounds, CPU 0)"
    if command -v taskset >/dev/null 2>&1; then
        pin=(taskset -c 0)
    fi
    rm -f "$results/shard.md"
    "${pin[@]}" "$build/bench/dbont-bench" shard --rounds "$rounds" --md "$results/shard.md"
    {
        # shellcheck disable=SC2016  # the backquotes are Markdown
        sed -n 's/^meta date /- Date: /p; s/^meta command \(.*\)/- Command: `\1`/p; s/^meta machine /- Machine: /p;
                s/^meta kernel /- Kernel: /p' "$results/machine.txt"
        if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
            echo "- dbont: commit $(git -C "$root" describe --always --dirty)"
        fi
        echo
        cat "$results/shard.md"
    } >"$md"
    say "scale-out results"
    cat "$md"
    echo "written: $md"
    if [[ ${BENCH_RECORD:-0} == 1 ]]; then
        if record "$md" "$root/docs/performance.md" bench-shard; then
            echo "recorded in docs/performance.md (Scale-out)"
        fi
    fi
}

# Steps 2 and 4: the generated code against hand-written libpq, the Node
# peers, their tables.
workloads_part() {
    local pin tool
    for pin in "${placements[@]}"; do
        say "generated code against hand-written libpq ($rounds rounds, CPUs: $pin)"
        pin_cpus "$pin"
        # shellcheck disable=SC2086  # BENCH_C_ARGS is a list of options
        $client "$build/bench/dbont-bench" run --rounds "$rounds" ${BENCH_C_ARGS:-} --out "$results/c-$pin.txt"
        echo "meta cpus $(placement "$pin")" >>"$results/c-$pin.txt"
    done

    local state=${BENCH_NODE_STATE:-$(node_state)}
    if [[ $state == ok ]]; then
        {
            echo "meta node $(node --version)"
            echo "meta node_packages $(cd "$root/bench/node" && node -e '
                const v = (p) => require("./node_modules/" + p + "/package.json").version;
                console.log(["knex", "drizzle-orm", "pg"].map((p) => p + " " + v(p)).join(", "))')"
            echo "meta node_rounds $node_rounds"
            echo "meta node_sizes W1 5000 lookups, W2 200 windows, W3 2000 inserts, W4 100000 rows (chunks of 1000)${BENCH_NODE_ARGS:+ (changed: $BENCH_NODE_ARGS)}"
        } >>"$results/machine.txt"
        for pin in "${placements[@]}"; do
            pin_cpus "$pin"
            for tool in knex drizzle pg; do
                say "Node peer: $tool ($node_rounds rounds, CPUs: $pin)"
                # shellcheck disable=SC2086
                $client node "$root/bench/node/bench.mjs" --tool "$tool" --rounds "$node_rounds" \
                    ${BENCH_NODE_ARGS:-} --out "$results/node-$pin-$tool.txt"
            done
        done
    else
        echo "meta node $state" >>"$results/machine.txt"
        say "Node peers: $state"
    fi

    say "results"
    local md=$build/bench-results.md
    : >"$md"
    # the other placements first, the headline last
    local i
    for ((i = ${#placements[@]} - 1; i >= 0; i--)); do
        pin=${placements[i]}
        local files=("$results/machine.txt" "$results/c-$pin.txt")
        for tool in knex drizzle pg; do
            if [[ -f $results/node-$pin-$tool.txt ]]; then
                files+=("$results/node-$pin-$tool.txt")
            fi
        done
        local meta=()
        if [[ $pin == "$headline" ]]; then
            meta=(--meta)
        fi
        echo
        echo "---- $(placement "$pin")"
        "$build/bench/dbont-bench" report "${files[@]}" --md "$build/bench-results-$pin.md" "${meta[@]}"
    done
    for pin in "${placements[@]}"; do
        {
            if [[ $pin != "$headline" ]]; then
                echo "#### The same with $(placement "$pin")"
                echo
            fi
            cat "$build/bench-results-$pin.md"
            echo
        } >>"$md"
    done
    echo
    echo "written: $md"
    if [[ ${BENCH_RECORD:-0} == 1 ]]; then
        if record "$md" "$root/docs/performance.md" bench; then
            echo "recorded in docs/performance.md"
        fi
    fi
}

# Step 5: the caching benchmark (docs/performance.md, "Caching").
cache_part() {
    local pin md=$build/bench-results-cache.md
    for pin in "${placements[@]}"; do
        say "caching: L1 and L2 hits, invalidation ($rounds rounds, CPUs: $pin)"
        pin_cpus "$pin"
        # Redis goes where PostgreSQL is; it inherits the CPUs of the
        # with-redis.sh that starts it, and the client takes its own.
        local redis_pin=()
        case $pin in
        split) redis_pin=(taskset -c 1) ;;
        same) redis_pin=(taskset -c 0) ;;
        esac
        # shellcheck disable=SC2086  # $client and BENCH_CACHE_ARGS are lists
        "${redis_pin[@]}" bash "$root/tests/redis/with-redis.sh" --private \
            $client "$build/bench/dbont-bench" cache --rounds "$rounds" --only L1,L2,INV ${BENCH_CACHE_ARGS:-} \
            --md "$results/cache-$pin.md"
    done
    # Two client threads need both CPUs: nothing pinned, PostgreSQL idle
    # (it only answers the untimed filling), no Redis.
    say "caching: 2-thread scaling of L1 hits ($rounds rounds, CPUs: any)"
    pin_cpus none
    # shellcheck disable=SC2086
    "$build/bench/dbont-bench" cache --rounds "$rounds" --only THREADS ${BENCH_CACHE_ARGS:-} \
        --md "$results/cache-threads.md"
    if [[ -x $build/bench/dbont-bench-l1 ]]; then
        "$build/bench/dbont-bench-l1" --rounds "$rounds" --md "$results/cache-threads.md"
    else
        echo "dbont_l1_get alone: not built (dbont-bench-l1 needs dbont's source tree)" >>"$results/cache-threads.md"
    fi

    {
        # shellcheck disable=SC2016  # the backquotes are Markdown
        sed -n 's/^meta date /- Date: /p; s/^meta command \(.*\)/- Command: `\1`/p; s/^meta machine /- Machine: /p;
                s/^meta kernel /- Kernel: /p' "$results/machine.txt"
        # the code measured: the runtime is built from the working tree
        if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
            echo "- dbont: commit $(git -C "$root" describe --always --dirty)"
        fi
        echo
        for pin in "${placements[@]}"; do
            echo "#### Hits and invalidation, $(placement "$pin" | sed 's/PostgreSQL CPU 1/PostgreSQL and Redis CPU 1/; s/both on CPU 0/client, PostgreSQL and Redis on CPU 0/')"
            echo
            cat "$results/cache-$pin.md"
        done
        echo "#### 2-thread scaling of L1 hits (client threads placed by the scheduler on the $(nproc) CPUs; PostgreSQL idle, no Redis)"
        echo
        cat "$results/cache-threads.md"
    } >"$md"
    say "caching results"
    cat "$md"
    echo "written: $md"
    if [[ ${BENCH_RECORD:-0} == 1 ]]; then
        if record "$md" "$root/docs/performance.md" bench-cache; then
            echo "recorded in docs/performance.md (Caching)"
        fi
    fi
}

placement() {
    case $1 in
    split) echo "client and server on separate CPUs (BENCH_PIN=split: client CPU 0, PostgreSQL CPU 1)" ;;
    same) echo "client and server sharing one CPU (BENCH_PIN=same: both on CPU 0)" ;;
    none) echo "client and server placed by the scheduler (BENCH_PIN=none)" ;;
    esac
}

# Pins the server's processes (present and future backends) and sets
# $client, the prefix that pins a client program.
client=""
pin_cpus() {
    local postmaster
    postmaster=$(head -n 1 "$PGHOST/data/postmaster.pid")
    case $1 in
    split)
        taskset -a -p -c 1 "$postmaster" >/dev/null
        client="taskset -c 0"
        ;;
    same)
        taskset -a -p -c 0 "$postmaster" >/dev/null
        client="taskset -c 0"
        ;;
    none)
        taskset -a -p -c "0-$(($(nproc) - 1))" "$postmaster" >/dev/null 2>&1 || true
        client=""
        ;;
    *)
        echo "bench: BENCH_PIN must be split, same or none" >&2
        exit 2
        ;;
    esac
}

# Replaces what lies between the "<tag>:begin" and "<tag>:end" markers of
# the doc with the results file (tag: bench, bench-cache, bench-shard,
# bench-fanout).  A doc without both markers is left alone, with a note
# (status 1): the figures stay in the results file.  Called as an if's
# condition, where set -e does not apply: failures are checked here.
record() {
    local md=$1 doc=$2 tag=$3 tmp
    if ! grep -qxF "<!-- $tag:begin -->" "$doc" || ! grep -qxF "<!-- $tag:end -->" "$doc"; then
        echo "bench: not recorded: ${doc#"$root"/} has no '<!-- $tag:begin -->' and '<!-- $tag:end -->'" \
            "lines; add them where the figures go (they stay in ${md#"$root"/})" >&2
        return 1
    fi
    tmp=$(mktemp) || exit 1
    awk -v md="$md" -v begin="<!-- $tag:begin -->" -v end="<!-- $tag:end -->" '
        $0 == begin { print; while ((getline line < md) > 0) print line; skip = 1; next }
        $0 == end { skip = 0 }
        !skip { print }' "$doc" >"$tmp" || { rm -f "$tmp"; exit 1; }
    cat "$tmp" >"$doc" || { rm -f "$tmp"; exit 1; }
    rm -f "$tmp"
}

# Step 7, run by with-shards.sh (DBONT_SHARD_*, PG_BINDIR): the fan-out
# over 4 shards against one server (docs/performance.md, "Scale-out").
fanout_inside() {
    local md=$build/bench-results-fanout.md i dsn oracle
    say "fan-out: migrating the 4 shards and the oracle database (on shard 0's server)"
    # The one-server side: a database beside shard 0's, on the same
    # server (no sixth server on 2 CPUs).  Its rows are loaded by the
    # program, with the shards'.
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$DBONT_SHARD_0_PRIMARY" -c "CREATE DATABASE oracle"
    oracle="${DBONT_SHARD_0_PRIMARY%/*}/oracle" # the URI's database replaced
    for ((i = 0; i < DBONT_SHARD_COUNT; i++)); do
        dsn=DBONT_SHARD_${i}_PRIMARY
        "$build/stage/bin/dbont-migrate" --dsn "${!dsn}" --dir "$root/bench/shards-migrations" up >/dev/null
    done
    "$build/stage/bin/dbont-migrate" --dsn "$oracle" --dir "$root/bench/shards-migrations" up >/dev/null

    say "fan-out over 4 shards against one server ($rounds rounds, nothing pinned)"
    if [[ -n ${BENCH_PIN:-} ]]; then
        echo "bench: BENCH_PIN=\"$BENCH_PIN\" does not apply to the fan-out: 5 servers and the client share the" \
            "$(nproc) CPUs"
    fi
    mkdir -p "$results"
    rm -f "$results/fanout.md"
    # shellcheck disable=SC2086  # BENCH_FANOUT_ARGS is a list of options
    "$build/bench/dbont-bench" fanout --rounds "$rounds" --oracle "$oracle" ${BENCH_FANOUT_ARGS:-} \
        --md "$results/fanout.md"
    {
        echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "- Command: \`make bench${BENCH_ROUNDS:+ BENCH_ROUNDS=$BENCH_ROUNDS}${BENCH_PARTS:+ BENCH_PARTS=\"$BENCH_PARTS\"}${BENCH_FANOUT_ARGS:+ BENCH_FANOUT_ARGS=\"$BENCH_FANOUT_ARGS\"}\`"
        echo "- Machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo)"
        echo "- Kernel: $(uname -sr)"
        if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
            echo "- dbont: commit $(git -C "$root" describe --always --dirty)"
        fi
        echo
        cat "$results/fanout.md"
    } >"$md"
    say "fan-out results"
    cat "$md"
    echo "written: $md"
    if [[ ${BENCH_RECORD:-0} == 1 ]]; then
        if record "$md" "$root/docs/performance.md" bench-fanout; then
            echo "recorded in docs/performance.md (Scale-out)"
        fi
    fi
}

if [[ ${1:-} == --inside ]]; then
    inside
    exit
fi
if [[ ${1:-} == --fanout ]]; then
    fanout_inside
    exit
fi

say "building dbont (Release, -O2) in $build"
"$cmake" -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -g -DNDEBUG" \
    -DDBONT_BUILD_TESTS=OFF >/dev/null
"$cmake" --build "$build" -j "$jobs"
"$cmake" --install "$build" --prefix "$build/stage" >/dev/null
"$cmake" -S "$root/bench" -B "$build/bench" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$build/stage" >/dev/null
"$cmake" --build "$build/bench" -j "$jobs"

BENCH_NODE_STATE=$(node_state)
if ! part workloads; then
    BENCH_NODE_STATE="skipped (BENCH_PARTS=\"$parts\")"
elif [[ $BENCH_NODE_STATE == ok ]]; then
    node_dir=$root/bench/node
    if [[ ! -d $node_dir/node_modules/knex || ! -d $node_dir/node_modules/drizzle-orm ||
        ! -d $node_dir/node_modules/pg || $node_dir/package.json -nt $node_dir/node_modules ]]; then
        say "installing knex, drizzle-orm and pg into bench/node (npm install)"
        if ! (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error && touch node_modules); then
            BENCH_NODE_STATE="npm install failed in bench/node: the Node peers are skipped"
            echo "bench: $BENCH_NODE_STATE" >&2
        fi
    fi
else
    say "Node peers: $BENCH_NODE_STATE"
fi
export BENCH_NODE_STATE

# Steps 3-6 on one throwaway server; the fan-out (step 7) on four of its
# own, after them, so that the two sets never run at the same time.
if part workloads || part cache || part shard; then
    bash "$root/tests/pg/run-with-cluster.sh" bash "$root/bench/bench.sh" --inside
fi
if part fanout; then
    bash "$root/tests/pg/with-shards.sh" --private bash "$root/bench/bench.sh" --fanout
fi
