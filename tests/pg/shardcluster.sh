#!/usr/bin/env bash
# shardcluster.sh: a throwaway set of PostgreSQL shards for the scale-out
# tests: N independent servers (the shards' primaries) and one
# streaming-replication standby of shard 0.
#
#   shardcluster.sh new STATE_DIR [N]        N (default 4) primaries, shard
#                                            0..N-1, and a standby of shard 0;
#                                            whatever STATE_DIR held before is
#                                            destroyed first.  Writes
#                                            STATE_DIR/shards.env and
#                                            STATE_DIR/shards.conf
#   shardcluster.sh stop-shard STATE_DIR I   stop shard I's primary (fast
#                                            shutdown); port and data stay
#   shardcluster.sh kill-shard STATE_DIR I   the same, as a crash would
#                                            (immediate shutdown: no
#                                            checkpoint, crash recovery at
#                                            the next start)
#   shardcluster.sh start-shard STATE_DIR I  start it again, on the same port;
#                                            a running one: no-op
#   shardcluster.sh stop-standby STATE_DIR   stop the standby (fast shutdown)
#   shardcluster.sh start-standby STATE_DIR  start it again, same port; it
#                                            catches up (a replication slot on
#                                            shard 0 keeps the WAL it missed)
#   shardcluster.sh wait-standby STATE_DIR [SECONDS]
#                                            wait (default 30 s) until the
#                                            standby has replayed everything
#                                            shard 0 had committed when the
#                                            wait began; fails, saying where
#                                            each side is, after SECONDS
#   shardcluster.sh status STATE_DIR         one line per server; exit 0 when
#                                            all of them run
#   shardcluster.sh destroy STATE_DIR        stop everything (immediate), remove
#                                            the folder and the state files
#
# The verb may also follow STATE_DIR (shardcluster.sh STATE_DIR stop-shard 2):
# the form with-shards.sh's SHARDS_CTL="bash shardcluster.sh STATE_DIR" gives.
#
# The servers live in a fresh `mktemp -d /tmp/dbshards.XXXXXX` folder
# (data in shardI/ and standby0/, logs in shardI.log and standby0.log),
# listen on 127.0.0.1 only (and on a Unix socket in that folder), each on
# a private port picked at random in 20000-32000 (below Linux's ephemeral
# range), trust every local connection, and trade durability for speed
# like pgcluster.sh (fsync, synchronous_commit and full_page_writes off).
# Every primary has wal_level=replica and WAL senders (PostgreSQL 15's
# defaults, spelled out).  The standby is made with
#   pg_basebackup -R -C -S standby0 -c fast -U replicator
# from shard 0 (the role "replicator" has REPLICATION; pg_hba.conf lets it
# in from 127.0.0.1) and runs with hot_standby on.  Each server's
# cluster_name, hence its processes' titles, is "dbshards.XXXXXX/shardI"
# (or ".../standby0"): `pgrep -af dbshards.XXXXXX` lists a set's processes.
# When run as root, the servers run as the unprivileged user `nobody`
# (PostgreSQL refuses to run as root).
#
# Data directories: each shard gets its own initdb (so every shard has a
# system identifier of its own; the standby shares shard 0's).  With
# SHARDS_TEMPLATE_DIR set (dbont_add_shard_test sets it to a folder of
# the build tree), the output of initdb for shard I is kept there, per
# PostgreSQL version and owner, and copied by later sets instead of
# running initdb again.
#
# STATE_DIR/shards.env (shell syntax, to be sourced) records:
#   SHARDS_TMPDIR  the temporary folder
#   PG_BINDIR      the PostgreSQL binaries used
#   PG_RUN_AS      the OS user the servers run as ("" for the current one)
#   SHARDS_PORTS   the primaries' ports, shard 0 first (space-separated)
#   SHARDS_STANDBY_PORT  the standby's port
# and, exported:
#   DBONT_SHARD_COUNT          N
#   DBONT_SHARD_<I>_PRIMARY    libpq URI of shard I's primary (I = 0..N-1),
#                              postgresql://postgres@127.0.0.1:PORT/postgres
#   DBONT_SHARD_0_STANDBY      libpq URI of shard 0's standby
#   DBONT_SHARDS_CONF          STATE_DIR/shards.conf, the same in a file:
#
# STATE_DIR/shards.conf, one item per line; blank lines and lines starting
# with '#' are comments:
#   shards <N>                   the shard count (first)
#   shard <I> primary <DSN>      exactly one per shard I in 0..N-1
#   shard <I> standby <DSN>      zero or more per shard
# The DSN is the rest of the line, surrounding blanks removed (a URI, or
# libpq's key=value form, which may contain blanks).
#
# Binaries: $PG_BINDIR, else /usr/lib/postgresql/15/bin, else the newest
# /usr/lib/postgresql/*/bin.
set -euo pipefail

die() {
    echo "shardcluster: error: $*" >&2
    exit 1
}

usage() {
    cat >&2 <<'EOF'
usage: shardcluster.sh new STATE_DIR [N]
       shardcluster.sh stop-shard|kill-shard|start-shard STATE_DIR I
       shardcluster.sh stop-standby|start-standby|status|destroy STATE_DIR
       shardcluster.sh wait-standby STATE_DIR [SECONDS]
EOF
    exit 2
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

find_bindir() {
    if [[ -n ${PG_BINDIR:-} ]]; then
        [[ -x $PG_BINDIR/initdb ]] || die "PG_BINDIR=$PG_BINDIR has no initdb"
        echo "$PG_BINDIR"
        return
    fi
    if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
        echo /usr/lib/postgresql/15/bin
        return
    fi
    local newest
    newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    [[ -n $newest && -x $newest/initdb ]] ||
        die "no PostgreSQL server found (install postgresql-15, or set PG_BINDIR)"
    echo "$newest"
}

# Runs a server program as the servers' owner, from a folder that owner
# can enter (postgres complains when it cannot read its working folder).
as_owner() {
    if [[ -n $PG_RUN_AS ]]; then
        (cd "$SHARDS_TMPDIR" && runuser -u "$PG_RUN_AS" -- "$@")
    else
        (cd "$SHARDS_TMPDIR" && "$@")
    fi
}

dsn() { echo "postgresql://postgres@127.0.0.1:$1/postgres"; }

# psql_at PORT ARGS...: psql as postgres to the database "postgres" of the
# server on 127.0.0.1:PORT, values only, stopping at the first error.
psql_at() {
    local port=$1
    shift
    PGCONNECT_TIMEOUT=5 "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$(dsn "$port")" "$@"
}

# Whether something accepts TCP connections on 127.0.0.1:port.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 12001))
        if ! port_in_use "$port" && [[ ! -e $SHARDS_TMPDIR/.s.PGSQL.$port.lock ]]; then
            echo "$port"
            return
        fi
    done
    die "no free port found in 20000-32000"
}

# The names of the servers: shard0..shardN-1, standby0.
server_names() {
    local i
    for ((i = 0; i < DBONT_SHARD_COUNT; i++)); do
        echo "shard$i"
    done
    echo standby0
}

port_of() {
    local name=$1 ports
    if [[ $name == standby0 ]]; then
        echo "$SHARDS_STANDBY_PORT"
    else
        read -r -a ports <<<"$SHARDS_PORTS"
        echo "${ports[${name#shard}]}"
    fi
}

show_log() {
    local log=$SHARDS_TMPDIR/$1.log
    if [[ -f $log ]]; then
        echo "shardcluster: last lines of $log:" >&2
        tail -n 20 "$log" >&2
    fi
}

write_env() {
    local state=$1 complete=${2:-} i ports
    {
        echo "# shardcluster.sh's record of the shard set in $SHARDS_TMPDIR (source it)"
        printf "SHARDS_TMPDIR='%s'\n" "$SHARDS_TMPDIR"
        printf "PG_BINDIR='%s'\n" "$PG_BINDIR"
        printf "PG_RUN_AS='%s'\n" "$PG_RUN_AS"
        if [[ -n $complete ]]; then
            read -r -a ports <<<"$SHARDS_PORTS"
            printf "SHARDS_PORTS='%s'\n" "$SHARDS_PORTS"
            printf "SHARDS_STANDBY_PORT='%s'\n" "$SHARDS_STANDBY_PORT"
            printf "export DBONT_SHARD_COUNT=%s\n" "$DBONT_SHARD_COUNT"
            for ((i = 0; i < DBONT_SHARD_COUNT; i++)); do
                printf "export DBONT_SHARD_%s_PRIMARY='%s'\n" "$i" "$(dsn "${ports[$i]}")"
            done
            printf "export DBONT_SHARD_0_STANDBY='%s'\n" "$(dsn "$SHARDS_STANDBY_PORT")"
            printf "export DBONT_SHARDS_CONF='%s'\n" "$state/shards.conf"
        fi
    } >"$state/shards.env.tmp"
    mv "$state/shards.env.tmp" "$state/shards.env"
}

write_conf() {
    local state=$1 i ports
    read -r -a ports <<<"$SHARDS_PORTS"
    {
        echo "# A dbont shard set (written by tests/pg/shardcluster.sh)."
        echo "# shards <N> | shard <I> primary <DSN> | shard <I> standby <DSN>"
        echo "shards $DBONT_SHARD_COUNT"
        for ((i = 0; i < DBONT_SHARD_COUNT; i++)); do
            echo "shard $i primary $(dsn "${ports[$i]}")"
            if [[ $i == 0 ]]; then
                echo "shard 0 standby $(dsn "$SHARDS_STANDBY_PORT")"
            fi
        done
    } >"$state/shards.conf.tmp"
    mv "$state/shards.conf.tmp" "$state/shards.conf"
}

# Loads STATE's env (callers make its variables local); false when there
# is none.
load_env() {
    local state=$1
    [[ -f $state/shards.env ]] || return 1
    # shellcheck disable=SC1091
    source "$state/shards.env"
    # Only ever touch (and delete) what `new` created.
    if [[ ! $SHARDS_TMPDIR =~ ^/tmp/dbshards\.[A-Za-z0-9]+$ ]]; then
        die "$state/shards.env names an unexpected folder '$SHARDS_TMPDIR'; not touching it"
    fi
}

# Like load_env, for the verbs that need a set that finished starting.
need_set() {
    load_env "$1" || die "no shard set recorded in $1 (run: shardcluster.sh new $1)"
    [[ -n ${DBONT_SHARD_COUNT:-} && -d $SHARDS_TMPDIR ]] ||
        die "the shard set of $1 did not finish starting (destroy it and make a new one)"
}

running() {
    [[ -f $SHARDS_TMPDIR/$1/postmaster.pid ]] &&
        as_owner "$PG_BINDIR/pg_ctl" -D "$SHARDS_TMPDIR/$1" status >/dev/null 2>&1
}

# The settings of one server (its port and name); postgresql.conf
# includes this file last.
write_instance_conf() {
    local name=$1 port=$2
    cat >"$SHARDS_TMPDIR/$name/instance.conf" <<EOF
# shardcluster.sh: this server's own settings
port = $port
cluster_name = '${SHARDS_TMPDIR#/tmp/}/$name'
EOF
    if [[ -n $PG_RUN_AS ]]; then
        chown "$PG_RUN_AS" "$SHARDS_TMPDIR/$name/instance.conf"
    fi
}

# launch NAME PORT: starts the server in SHARDS_TMPDIR/NAME on PORT and
# waits until it accepts connections.  Returns 2 when the port was taken
# (by another program, or another of our servers starting at the same
# time), 1 on any other failure.
launch() {
    local name=$1 port=$2 log=$SHARDS_TMPDIR/$1.log size=0
    write_instance_conf "$name" "$port"
    [[ -f $log ]] && size=$(stat -c %s "$log")
    if as_owner "$PG_BINDIR/pg_ctl" -D "$SHARDS_TMPDIR/$name" -l "$log" -w -t 60 start \
        >"$SHARDS_TMPDIR/$name.pg_ctl.log" 2>&1; then
        return 0
    fi
    if tail -c +$((size + 1)) "$log" 2>/dev/null | grep -q "Address already in use"; then
        return 2
    fi
    return 1
}

# new_server NAME: launches NAME on a port picked at random, another one
# as long as the port turns out to be taken; records it in NAME.port.
new_server() {
    local name=$1 port rc
    for _ in 1 2 3 4 5 6 7 8; do
        port=$(pick_port)
        rc=0
        launch "$name" "$port" || rc=$?
        if [[ $rc == 0 ]]; then
            echo "$port" >"$SHARDS_TMPDIR/$name.port"
            return 0
        fi
        if [[ $rc != 2 ]]; then
            cat "$SHARDS_TMPDIR/$name.pg_ctl.log" >&2
            show_log "$name"
            echo "shardcluster: error: $name did not start (port $port; output above)" >&2
            return 1
        fi
    done
    show_log "$name"
    echo "shardcluster: error: $name found no free port" >&2
    return 1
}

# The common settings, appended to every primary's postgresql.conf (the
# standby gets them with its copy of shard 0).
append_common_conf() {
    cat >>"$SHARDS_TMPDIR/$1/postgresql.conf" <<EOF

# shardcluster.sh: private, fast, disposable
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SHARDS_TMPDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
# replication (shard 0 feeds the standby; the others could)
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
# a standby whose primary restarted reconnects at once, not 5 s later
wal_retrieve_retry_interval = '200ms'
include_if_exists 'instance.conf'
EOF
}

# make_datadir NAME: SHARDS_TMPDIR/NAME from initdb, or from the template
# kept in SHARDS_TEMPLATE_DIR (made there when missing).  Runs in an &&
# list, where set -e does not apply: every failure is returned.
make_datadir() {
    local name=$1 dir=$SHARDS_TMPDIR/$1 key template tmp
    if [[ -n ${SHARDS_TEMPLATE_DIR:-} ]]; then
        # Templates are only valid for the same initdb, options and owner.
        key=$("$PG_BINDIR/postgres" --version | awk '{print $3}')-${PG_RUN_AS:-$(id -un)}-1
        key=${key//[^A-Za-z0-9._-]/_}
        template=$SHARDS_TEMPLATE_DIR/$key/$name
        if [[ -f $template/PG_VERSION ]]; then
            if ! cp -a "$template" "$dir"; then
                echo "shardcluster: error: could not copy $template" >&2
                return 1
            fi
            append_common_conf "$name"
            return
        fi
    fi
    if ! as_owner "$PG_BINDIR/initdb" -D "$dir" -U postgres --auth=trust --no-locale \
        -E UTF8 --no-sync >"$SHARDS_TMPDIR/$name.initdb.log" 2>&1; then
        tail -n 30 "$SHARDS_TMPDIR/$name.initdb.log" >&2
        echo "shardcluster: error: initdb failed for $name (output above)" >&2
        return 1
    fi
    # Kept for the next sets: copied aside, then renamed into place in one
    # step (a set made at the same time may do the same; one of them wins).
    if [[ -n ${template:-} ]] && mkdir -p "${template%/*}" 2>/dev/null &&
        tmp=$(mktemp -d "${template%/*}/.new.XXXXXX" 2>/dev/null); then
        if cp -a "$dir" "$tmp/$name"; then
            mv -T "$tmp/$name" "$template" 2>/dev/null || true
        fi
        rm -rf "$tmp"
    fi
    append_common_conf "$name"
}

# in_parallel FUNCTION NAME...: FUNCTION NAME for each NAME at the same
# time; fails when one of them failed.
in_parallel() {
    local fn=$1 name pid status=0
    shift
    local pids=()
    for name in "$@"; do
        "$fn" "$name" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || status=1
    done
    return "$status"
}

# The standby of shard 0 (running on the port in shard0.port): a base
# backup streamed by a replication role, through a slot (so that the
# primary keeps the WAL a stopped standby misses), then started.
make_standby() {
    local port
    port=$(cat "$SHARDS_TMPDIR/shard0.port")
    if ! psql_at "$port" -c "CREATE ROLE replicator WITH LOGIN REPLICATION" >&2; then
        echo "shardcluster: error: could not create the replication role on shard 0" >&2
        return 1
    fi
    if ! as_owner "$PG_BINDIR/pg_basebackup" -h 127.0.0.1 -p "$port" -U replicator -w \
        -D "$SHARDS_TMPDIR/standby0" -R -C -S standby0 -X stream -c fast --no-sync \
        >"$SHARDS_TMPDIR/standby0.basebackup.log" 2>&1; then
        cat "$SHARDS_TMPDIR/standby0.basebackup.log" >&2
        echo "shardcluster: error: pg_basebackup of shard 0 failed (output above)" >&2
        return 1
    fi
    new_server standby0
}

# bring_up shardI: its data directory, its server, and for shard 0 the
# standby.
bring_up() {
    make_datadir "$1" && new_server "$1" || return 1
    if [[ $1 == shard0 ]]; then
        make_standby
    fi
}

fail_new() {
    local state=$1
    shift
    echo "shardcluster: error: $*" >&2
    cmd_destroy "$state" || true
    exit 1
}

cmd_new() {
    local state=$1 n=${2:-4} t0 i
    [[ $n =~ ^[1-9][0-9]?$ ]] || die "the shard count must be 1-99, not '$n'"
    mkdir -p "$state"
    state=$(cd "$state" && pwd)
    # A set left by an earlier run (crashed test, killed ctest) goes first.
    cmd_destroy "$state"
    t0=$(now)

    local PG_BINDIR PG_RUN_AS="" SHARDS_TMPDIR
    local SHARDS_PORTS="" SHARDS_STANDBY_PORT="" DBONT_SHARD_COUNT=$n
    PG_BINDIR=$(find_bindir)
    if [[ $(id -u) == 0 ]]; then
        PG_RUN_AS=nobody
    fi
    SHARDS_TMPDIR=$(mktemp -d /tmp/dbshards.XXXXXX)
    # Recorded at once, so that destroy can clean up after a failed start.
    write_env "$state"
    if [[ -n $PG_RUN_AS ]]; then
        chown "$PG_RUN_AS" "$SHARDS_TMPDIR"
    fi
    chmod 755 "$SHARDS_TMPDIR"

    local shards=()
    for ((i = 0; i < n; i++)); do
        shards+=("shard$i")
    done
    # Each shard on its own: data directory, then server; shard 0 goes on
    # to make its standby while the others start.
    in_parallel bring_up "${shards[@]}" || fail_new "$state" "the shard set did not start"
    local ports=()
    for ((i = 0; i < n; i++)); do
        ports+=("$(cat "$SHARDS_TMPDIR/shard$i.port")")
    done
    SHARDS_PORTS=${ports[*]}
    SHARDS_STANDBY_PORT=$(cat "$SHARDS_TMPDIR/standby0.port")

    write_conf "$state"
    write_env "$state" complete
    echo "shardcluster: PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}'):" \
        "$n shards (ports $SHARDS_PORTS) and a standby of shard 0 (port $SHARDS_STANDBY_PORT)" \
        "running in $SHARDS_TMPDIR; started in $(elapsed "$t0") s"
}

# Kills what is left of a server whose pg_ctl stop did not work (only a
# process that is a postgres of this data directory).
kill_postmaster() {
    local dir=$1 pid
    [[ -f $dir/postmaster.pid ]] || return 0
    pid=$(head -n 1 "$dir/postmaster.pid")
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir" || return 0
    kill -QUIT "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# stop_server NAME MODE: pg_ctl stop -m MODE, harder when that fails.
stop_server() {
    local name=$1 mode=$2 dir=$SHARDS_TMPDIR/$1
    [[ -f $dir/postmaster.pid ]] || return 0
    if ! as_owner "$PG_BINDIR/pg_ctl" -D "$dir" -m "$mode" -w -t 30 stop >/dev/null 2>&1; then
        as_owner "$PG_BINDIR/pg_ctl" -D "$dir" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            kill_postmaster "$dir"
    fi
}

stop_immediate() { stop_server "$1" immediate; }

cmd_destroy() {
    local state=$1 dir
    # shellcheck disable=SC2034  # set by load_env, kept local
    local SHARDS_TMPDIR="" PG_BINDIR="" PG_RUN_AS="" SHARDS_PORTS="" SHARDS_STANDBY_PORT=""
    # shellcheck disable=SC2034
    local DBONT_SHARD_COUNT="" DBONT_SHARDS_CONF="" DBONT_SHARD_0_STANDBY=""
    load_env "$state" || return 0
    if [[ -d $SHARDS_TMPDIR ]]; then
        local names=()
        for dir in "$SHARDS_TMPDIR"/*/; do
            [[ -f $dir/postmaster.pid ]] && names+=("$(basename "$dir")")
        done
        if [[ ${#names[@]} -gt 0 ]]; then
            in_parallel stop_immediate "${names[@]}" || true
        fi
        rm -rf "$SHARDS_TMPDIR"
    fi
    rm -f "$state/shards.env" "$state/shards.conf"
}

# The index I of shard I, checked against the set.
shard_index() {
    [[ $1 =~ ^[0-9]+$ && $1 -lt $DBONT_SHARD_COUNT ]] ||
        die "no shard '$1' (the set has shards 0-$((DBONT_SHARD_COUNT - 1)))"
}

cmd_stop() {
    local name=$1 mode=$2
    running "$name" || {
        echo "shardcluster: $name is not running"
        return 0
    }
    stop_server "$name" "$mode"
    ! running "$name" || die "could not stop $name"
    echo "shardcluster: $name stopped ($mode)"
}

cmd_start() {
    local name=$1 port rc
    port=$(port_of "$name")
    if running "$name"; then
        echo "shardcluster: $name already running (port $port)"
        return 0
    fi
    # The port may be held a moment after a stop; retry a little.
    for _ in $(seq 1 20); do
        rc=0
        launch "$name" "$port" || rc=$?
        if [[ $rc == 0 ]]; then
            echo "shardcluster: $name started again (port $port)"
            return 0
        fi
        [[ $rc == 2 ]] || break
        sleep 0.1
    done
    cat "$SHARDS_TMPDIR/$name.pg_ctl.log" >&2
    show_log "$name"
    die "could not start $name again on port $port (output above)"
}

cmd_wait_standby() {
    local seconds=${1:-30} target got="" deadline p0 ps
    [[ $seconds =~ ^[0-9]+$ ]] || die "wait-standby: SECONDS must be a whole number, not '$seconds'"
    p0=$(port_of shard0)
    ps=$SHARDS_STANDBY_PORT
    running standby0 || die "wait-standby: the standby of shard 0 (port $ps) is not running"
    # The target: everything committed so far, flushed (commits are
    # asynchronous here, and the WAL sender only sends flushed WAL).  A
    # transaction commits synchronously, flushing all WAL before its commit
    # record, only when it has an xid and wrote WAL itself: here an xid and
    # a restore point (a WAL record that changes nothing).  The flush
    # position after it is the target.
    target=$(psql_at "$p0" -c "BEGIN" -c "SET LOCAL synchronous_commit = on" \
        -c "SELECT pg_current_xact_id()" \
        -c "SELECT pg_create_restore_point('shardcluster wait-standby')" -c "COMMIT" \
        -c "SELECT pg_current_wal_flush_lsn()" 2>&1) ||
        die "wait-standby: shard 0's primary (port $p0) does not answer: ${target//$'\n'/ }"
    target=${target##*$'\n'}
    [[ $target =~ ^[0-9A-F]+/[0-9A-F]+$ ]] ||
        die "wait-standby: shard 0's primary (port $p0) gave no WAL position: $target"
    deadline=$(($(date +%s%3N) + seconds * 1000))
    while :; do
        got=$(psql_at "$ps" -F ' ' -c "SELECT coalesce(pg_last_wal_replay_lsn() >= '$target', false),
                  pg_last_wal_replay_lsn(), pg_last_wal_receive_lsn(), pg_is_in_recovery()" 2>&1) || true
        [[ $got == t\ * ]] && return 0
        if (($(date +%s%3N) >= deadline)); then
            local replay="?" receive="?" recovery="?"
            if [[ $got =~ ^[tf]\ ([^ ]*)\ ([^ ]*)\ ([tf])$ ]]; then
                replay=${BASH_REMATCH[1]:-none} receive=${BASH_REMATCH[2]:-none} recovery=${BASH_REMATCH[3]}
                die "wait-standby: after $seconds s, the standby (port $ps) has replayed up to" \
                    "$replay (received up to $receive; in recovery: $recovery)," \
                    "not yet shard 0's $target; see $SHARDS_TMPDIR/standby0.log"
            fi
            die "wait-standby: after $seconds s, the standby (port $ps) does not answer" \
                "($got); shard 0 is at $target; see $SHARDS_TMPDIR/standby0.log"
        fi
        sleep 0.05
    done
}

cmd_status() {
    local name status=0 what
    for name in $(server_names); do
        what="shard ${name#shard} primary"
        [[ $name == standby0 ]] && what="shard 0 standby"
        if running "$name"; then
            echo "$what: running on 127.0.0.1:$(port_of "$name")"
        else
            echo "$what: stopped (port $(port_of "$name"))"
            status=1
        fi
    done
    return "$status"
}

is_verb() {
    case $1 in
        new | destroy | status | stop-shard | kill-shard | start-shard | stop-standby | \
            start-standby | wait-standby) return 0 ;;
        *) return 1 ;;
    esac
}

main() {
    [[ $# -ge 2 ]] || usage
    local verb=$1 state=$2
    # Also STATE_DIR VERB ..., the form SHARDS_CTL gives.
    if ! is_verb "$verb" && is_verb "$state"; then
        verb=$2
        state=$1
    fi
    shift 2
    case $verb in
        new)
            [[ $# -le 1 ]] || usage
            cmd_new "$state" "$@"
            ;;
        destroy)
            [[ $# == 0 ]] || usage
            cmd_destroy "$state"
            ;;
        stop-shard | kill-shard | start-shard)
            [[ $# == 1 ]] || usage
            need_set "$state"
            shard_index "$1"
            case $verb in
                stop-shard) cmd_stop "shard$1" fast ;;
                kill-shard) cmd_stop "shard$1" immediate ;;
                start-shard) cmd_start "shard$1" ;;
            esac
            ;;
        stop-standby | start-standby | status)
            [[ $# == 0 ]] || usage
            need_set "$state"
            case $verb in
                stop-standby) cmd_stop standby0 fast ;;
                start-standby) cmd_start standby0 ;;
                status) cmd_status ;;
            esac
            ;;
        wait-standby)
            [[ $# -le 1 ]] || usage
            need_set "$state"
            cmd_wait_standby "$@"
            ;;
        *) usage ;;
    esac
}

main "$@"
