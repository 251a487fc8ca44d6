#!/usr/bin/env bash
# pgcluster.sh: a throwaway PostgreSQL cluster for the tests.
#
#   pgcluster.sh start STATE_DIR   initdb + start; writes STATE_DIR/pg.env
#   pgcluster.sh stop STATE_DIR    stop the server, remove its files
#
# The cluster lives in a fresh `mktemp -d` folder under /tmp (kept short:
# a Unix socket path may not exceed 107 bytes), listens only on a Unix
# socket in that folder (listen_addresses=''), on a private port number,
# trusts every local connection, and trades durability for speed
# (fsync, synchronous_commit and full_page_writes off).  When run as root,
# the server runs as the unprivileged user `nobody` (PostgreSQL refuses to
# run as root).
#
# STATE_DIR/pg.env (shell syntax, to be sourced) records:
#   PG_TMPDIR     the temporary folder (data in $PG_TMPDIR/data)
#   PG_BINDIR     the PostgreSQL binaries used
#   PG_RUN_AS     the OS user the server runs as ("" for the current one)
#   PGHOST PGPORT PGUSER  for libpq clients
#   DATABASE_URL  a URI for the database "postgres"
#
# Binaries: $PG_BINDIR, else /usr/lib/postgresql/15/bin, else the newest
# /usr/lib/postgresql/*/bin.
set -euo pipefail

die() {
    echo "pgcluster: error: $*" >&2
    exit 1
}

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

# Runs a server program as the cluster's owner, from a folder that owner
# can enter (postgres complains when it cannot read its working folder).
as_owner() {
    if [[ -n $PG_RUN_AS ]]; then
        (cd "$PG_TMPDIR" && runuser -u "$PG_RUN_AS" -- "$@")
    else
        (cd "$PG_TMPDIR" && "$@")
    fi
}

# A port number whose socket and lock files exist nowhere we can see.  The
# socket lives in our own folder, so this only avoids confusing a human
# (and SysV shared memory keys, which PostgreSQL derives from the port).
pick_port() {
    local port dir taken
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 40001))
        taken=0
        for dir in /tmp /var/run/postgresql /tmp/dbpg.*; do
            if [[ -e $dir/.s.PGSQL.$port || -e $dir/.s.PGSQL.$port.lock ]]; then
                taken=1
            fi
        done
        if [[ $taken == 0 ]]; then
            echo "$port"
            return
        fi
    done
    die "no free port found in 20000-60000"
}

# A failed start removes what it made; the messages have been shown.
fail_start() {
    local state=$1
    shift
    echo "pgcluster: error: $*" >&2
    cmd_stop "$state" || true
    exit 1
}

show_log() {
    local log=$1
    if [[ -f $log ]]; then
        echo "pgcluster: last lines of $log:" >&2
        tail -n 30 "$log" >&2
    fi
}

write_env() {
    local state=$1
    {
        printf "PG_TMPDIR='%s'\n" "$PG_TMPDIR"
        printf "PG_BINDIR='%s'\n" "$PG_BINDIR"
        printf "PG_RUN_AS='%s'\n" "$PG_RUN_AS"
        if [[ -n ${PGPORT:-} ]]; then
            printf "PGHOST='%s'\nPGPORT='%s'\nPGUSER=postgres\n" "$PG_TMPDIR" "$PGPORT"
            printf "DATABASE_URL='postgresql://postgres@/postgres?host=%s&port=%s'\n" \
                "$PG_TMPDIR" "$PGPORT"
        fi
    } >"$state/pg.env.tmp"
    mv "$state/pg.env.tmp" "$state/pg.env"
}

cmd_start() {
    local state=$1
    mkdir -p "$state"
    state=$(cd "$state" && pwd)
    # A cluster left by an earlier run (crashed test, killed ctest) goes first.
    cmd_stop "$state"

    PG_BINDIR=$(find_bindir)
    PG_RUN_AS=""
    if [[ $(id -u) == 0 ]]; then
        PG_RUN_AS=nobody
    fi
    PG_TMPDIR=$(mktemp -d /tmp/dbpg.XXXXXX)
    # Recorded at once, so that `stop` can clean up after a failed start.
    PGPORT=""
    write_env "$state"
    if [[ -n $PG_RUN_AS ]]; then
        chown "$PG_RUN_AS" "$PG_TMPDIR"
    fi
    chmod 755 "$PG_TMPDIR"

    local log=$PG_TMPDIR/server.log
    if ! as_owner "$PG_BINDIR/initdb" -D "$PG_TMPDIR/data" -U postgres \
        --auth=trust --no-locale -E UTF8 --no-sync >"$PG_TMPDIR/initdb.log" 2>&1; then
        tail -n 30 "$PG_TMPDIR/initdb.log" >&2
        fail_start "$state" "initdb failed (output above)"
    fi

    PGPORT=$(pick_port) || fail_start "$state" "no port"
    cat >>"$PG_TMPDIR/data/postgresql.conf" <<EOF

# pgcluster.sh: private, fast, disposable
port = $PGPORT
listen_addresses = ''
unix_socket_directories = '$PG_TMPDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    write_env "$state"

    if ! as_owner "$PG_BINDIR/pg_ctl" -D "$PG_TMPDIR/data" -l "$log" -w -t 60 start \
        >"$PG_TMPDIR/pg_ctl.log" 2>&1; then
        cat "$PG_TMPDIR/pg_ctl.log" >&2
        show_log "$log"
        fail_start "$state" "the server did not start (port $PGPORT; output above)"
    fi
    echo "pgcluster: PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}')" \
        "running in $PG_TMPDIR, port $PGPORT"
}

# Kills what is left of a server whose pg_ctl stop did not work.
kill_postmaster() {
    local pidfile=$PG_TMPDIR/data/postmaster.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(head -n 1 "$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    kill -QUIT "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
    local state=$1
    [[ -f $state/pg.env ]] || return 0
    # pg.env's variables stay local to this function (start calls it too).
    # shellcheck disable=SC2034
    local PG_TMPDIR="" PG_BINDIR="" PG_RUN_AS="" PGPORT="" PGHOST="" PGUSER="" DATABASE_URL=""
    # shellcheck disable=SC1091
    source "$state/pg.env"
    # Only ever delete what start created.
    if [[ ! $PG_TMPDIR =~ ^/tmp/dbpg\.[A-Za-z0-9]+$ ]]; then
        die "$state/pg.env names an unexpected folder '$PG_TMPDIR'; not touching it"
    fi
    if [[ -d $PG_TMPDIR/data && -f $PG_TMPDIR/data/postmaster.pid ]]; then
        if ! as_owner "$PG_BINDIR/pg_ctl" -D "$PG_TMPDIR/data" -m fast -w -t 30 stop \
            >/dev/null 2>&1; then
            as_owner "$PG_BINDIR/pg_ctl" -D "$PG_TMPDIR/data" -m immediate -w -t 30 stop \
                >/dev/null 2>&1 || kill_postmaster
        fi
    fi
    rm -rf "$PG_TMPDIR"
    rm -f "$state/pg.env"
}

main() {
    if [[ $# != 2 || ($1 != start && $1 != stop) ]]; then
        echo "usage: pgcluster.sh start|stop STATE_DIR" >&2
        exit 2
    fi
    if [[ $1 == start ]]; then
        cmd_start "$2"
    else
        cmd_stop "$2"
        echo "pgcluster: stopped"
    fi
}

main "$@"
