#!/usr/bin/env bash
# redisserver.sh: a throwaway Redis server for the tests.
#
#   redisserver.sh new STATE_DIR      a fresh server (whatever STATE_DIR held
#                                     before is destroyed first), on a free
#                                     private port; writes STATE_DIR/redis.env
#   redisserver.sh start STATE_DIR    start STATE_DIR's server again after
#                                     stop/kill, on the same port (so clients
#                                     find it where it was); without one yet,
#                                     same as new.  A running server: no-op
#   redisserver.sh stop STATE_DIR     shut the server down (SIGTERM; no data
#                                     is saved); port and folder are kept
#   redisserver.sh kill STATE_DIR     SIGKILL, as a crash would; same
#   redisserver.sh restart STATE_DIR  stop + start
#   redisserver.sh pause STATE_DIR    SIGSTOP: a hung server (the kernel still
#                                     accepts connections, nothing answers)
#   redisserver.sh resume STATE_DIR   SIGCONT
#   redisserver.sh status STATE_DIR   exit 0 when running (and answering)
#   redisserver.sh destroy STATE_DIR  stop, and remove its folder and env file
#
# The server (redis-server 7, or $REDIS_SERVER) listens on 127.0.0.1 only,
# on a private port picked at random in 20000-32000 (below Linux's
# ephemeral range, so no outgoing connection holds it), with the Unix
# socket off, no persistence (no RDB snapshots, no AOF), in a fresh
# `mktemp -d /tmp/dbredis.XXXXXX` folder (its log: redis.log there).  Runs
# as the current user (root included: Redis does not mind).
#
# The verb may also follow STATE_DIR (redisserver.sh STATE_DIR stop): the
# form with-redis.sh's REDIS_CTL="bash redisserver.sh STATE_DIR" gives.
#
# STATE_DIR/redis.env (shell syntax, to be sourced) records:
#   REDIS_TMPDIR  the temporary folder
#   REDIS_HOST    127.0.0.1
#   REDIS_PORT    the port
#   REDIS_URL     redis://127.0.0.1:PORT
set -euo pipefail

die() {
    echo "redisserver: error: $*" >&2
    exit 1
}

find_server() {
    local bin=${REDIS_SERVER:-}
    if [[ -z $bin ]]; then
        bin=$(command -v redis-server || true)
    fi
    [[ -n $bin && -x $bin ]] || die "no redis-server found (install redis-server, or set REDIS_SERVER)"
    echo "$bin"
}

# The process id of the server answering on 127.0.0.1:port (from INFO
# server), through bash's /dev/tcp (redis-cli may be absent); fails when
# nothing answers.
server_pid_at() (
    port=$1
    pid=""
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'INFO server\r\n' >&3
    # A bulk reply: $len, then lines.  Read until process_id or a timeout.
    while IFS= read -r -t 2 line <&3; do
        line=${line%$'\r'}
        if [[ $line == process_id:* ]]; then
            pid=${line#process_id:}
            break
        fi
    done
    exec 3<&- 3>&-
    [[ -n $pid ]] || exit 1
    echo "$pid"
) 2>/dev/null

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 12001))
        if ! port_in_use "$port"; then
            echo "$port"
            return
        fi
    done
    die "no free port found in 20000-32000"
}

write_env() {
    local state=$1
    {
        printf "REDIS_TMPDIR='%s'\n" "$REDIS_TMPDIR"
        printf "REDIS_HOST=127.0.0.1\n"
        printf "REDIS_PORT='%s'\n" "$REDIS_PORT"
        if [[ -n $REDIS_PORT ]]; then
            printf "REDIS_URL='redis://127.0.0.1:%s'\n" "$REDIS_PORT"
        fi
    } >"$state/redis.env.tmp"
    mv "$state/redis.env.tmp" "$state/redis.env"
}

# Loads STATE's env into REDIS_TMPDIR/REDIS_PORT (callers make them
# local); false when there is none.
load_env() {
    local state=$1
    [[ -f $state/redis.env ]] || return 1
    # shellcheck disable=SC1091
    source "$state/redis.env"
    # Only ever touch (and delete) what `new` created.
    if [[ ! $REDIS_TMPDIR =~ ^/tmp/dbredis\.[A-Za-z0-9]+$ ]]; then
        die "$state/redis.env names an unexpected folder '$REDIS_TMPDIR'; not touching it"
    fi
}

# Whether pid runs: a zombie does not count (it has closed its sockets;
# in a container, the process that reaps it may take a second).
alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

# The pid of our server when it runs (pid file present, process alive and
# a redis-server).
running_pid() {
    local pidfile=$REDIS_TMPDIR/redis.pid pid
    [[ -f $pidfile ]] || return 1
    pid=$(head -n 1 "$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    alive "$pid" || return 1
    grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null || grep -q redis "/proc/$pid/comm" 2>/dev/null || return 1
    echo "$pid"
}

# Starts the server described by REDIS_TMPDIR/REDIS_PORT and waits until
# it answers (and is ours).  Returns 1 when it did not come up.
launch() {
    local bin pid answered
    bin=$(find_server)
    cat >"$REDIS_TMPDIR/redis.conf" <<EOF
# redisserver.sh: private, disposable
bind 127.0.0.1
port $REDIS_PORT
unixsocket ""
protected-mode yes
daemonize yes
pidfile $REDIS_TMPDIR/redis.pid
logfile $REDIS_TMPDIR/redis.log
dir $REDIS_TMPDIR
save ""
appendonly no
EOF
    rm -f "$REDIS_TMPDIR/redis.pid"
    (cd "$REDIS_TMPDIR" && "$bin" "$REDIS_TMPDIR/redis.conf" </dev/null >>"$REDIS_TMPDIR/launch.log" 2>&1) ||
        return 1
    for _ in $(seq 1 100); do
        if pid=$(running_pid); then
            if answered=$(server_pid_at "$REDIS_PORT") && [[ $answered == "$pid" ]]; then
                return 0
            fi
        elif [[ -f $REDIS_TMPDIR/redis.pid ]] || grep -q "Address already in use\|Could not create server TCP" "$REDIS_TMPDIR/redis.log" 2>/dev/null; then
            # It wrote its pid and died, or could not bind.
            return 1
        fi
        sleep 0.05
    done
    return 1
}

show_log() {
    if [[ -f $REDIS_TMPDIR/redis.log ]]; then
        echo "redisserver: last lines of $REDIS_TMPDIR/redis.log:" >&2
        tail -n 20 "$REDIS_TMPDIR/redis.log" >&2
    fi
}

# Sends sig to the server and waits for it to go (SIGKILL after 10 s).
terminate() {
    local sig=$1 pid
    pid=$(running_pid) || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true   # a paused server must see it
    for _ in $(seq 1 200); do
        alive "$pid" || break
        sleep 0.05
    done
    if alive "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            alive "$pid" || break
            sleep 0.05
        done
    fi
    rm -f "$REDIS_TMPDIR/redis.pid"
}

cmd_destroy() {
    local state=$1
    # shellcheck disable=SC2034  # set by load_env, kept local
    local REDIS_TMPDIR="" REDIS_PORT="" REDIS_HOST="" REDIS_URL=""
    load_env "$state" || return 0
    if [[ -d $REDIS_TMPDIR ]]; then
        terminate TERM
        rm -rf "$REDIS_TMPDIR"
    fi
    rm -f "$state/redis.env"
}

cmd_new() {
    local state=$1
    mkdir -p "$state"
    state=$(cd "$state" && pwd)
    cmd_destroy "$state"
    local REDIS_TMPDIR REDIS_PORT=""
    REDIS_TMPDIR=$(mktemp -d /tmp/dbredis.XXXXXX)
    write_env "$state"   # at once, so that destroy can clean up after a failure
    local attempt
    for attempt in 1 2 3 4 5; do
        REDIS_PORT=$(pick_port)
        write_env "$state"
        if launch; then
            echo "redisserver: $("$(find_server)" --version | awk '{print $3}' | sed 's/^v=//') running in $REDIS_TMPDIR, port $REDIS_PORT"
            return 0
        fi
        # Another server may have taken the port meanwhile: try another.
        terminate KILL
        if [[ $attempt == 5 ]]; then
            show_log
            cmd_destroy "$state"
            die "the server did not start (output above)"
        fi
        mv -f "$REDIS_TMPDIR/redis.log" "$REDIS_TMPDIR/redis.log.$attempt" 2>/dev/null || true
    done
}

cmd_start() {
    local state=$1
    # shellcheck disable=SC2034  # set by load_env, kept local
    local REDIS_TMPDIR="" REDIS_PORT="" REDIS_HOST="" REDIS_URL=""
    if ! load_env "$state" || [[ ! -d $REDIS_TMPDIR || -z $REDIS_PORT ]]; then
        cmd_new "$state"
        return
    fi
    if running_pid >/dev/null; then
        return 0
    fi
    # The port may linger a moment after a stop; retry a little.
    for _ in $(seq 1 20); do
        if launch; then
            echo "redisserver: started again on port $REDIS_PORT"
            return 0
        fi
        terminate KILL
        sleep 0.1
    done
    show_log
    die "could not start the server again on port $REDIS_PORT (taken by another program?)"
}

with_server() {
    local state=$1 sig=$2
    # shellcheck disable=SC2034  # set by load_env, kept local
    # shellcheck disable=SC2034  # set by load_env, kept local
    local REDIS_TMPDIR="" REDIS_PORT="" REDIS_HOST="" REDIS_URL="" pid
    load_env "$state" || die "no server recorded in $state (run: redisserver.sh new $state)"
    case $sig in
        TERM | KILL) terminate "$sig" ;;
        STOP | CONT)
            pid=$(running_pid) || die "the server of $state is not running"
            kill "-$sig" "$pid"
            ;;
        STATUS)
            pid=$(running_pid) || return 1
            # A paused server does not answer; running is enough then.
            if [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == T* ]]; then
                echo "redisserver: paused (pid $pid, port $REDIS_PORT)"
            else
                server_pid_at "$REDIS_PORT" >/dev/null || return 1
                echo "redisserver: running (pid $pid, port $REDIS_PORT)"
            fi
            ;;
    esac
}

is_verb() {
    case $1 in
        new | start | stop | kill | restart | pause | resume | status | destroy) return 0 ;;
        *) return 1 ;;
    esac
}

main() {
    if [[ $# != 2 ]]; then
        echo "usage: redisserver.sh new|start|stop|kill|restart|pause|resume|status|destroy STATE_DIR" >&2
        exit 2
    fi
    local verb=$1 state=$2
    # Also STATE_DIR VERB, the form REDIS_CTL ("bash redisserver.sh STATE")
    # gives: "$REDIS_CTL stop".
    if ! is_verb "$verb" && is_verb "$state"; then
        verb=$2
        state=$1
    fi
    case $verb in
        new) cmd_new "$state" ;;
        start) cmd_start "$state" ;;
        stop) with_server "$state" TERM ;;
        kill) with_server "$state" KILL ;;
        restart)
            with_server "$state" TERM
            cmd_start "$state"
            ;;
        pause) with_server "$state" STOP ;;
        resume) with_server "$state" CONT ;;
        status) with_server "$state" STATUS ;;
        destroy) cmd_destroy "$state" ;;
        *)
            echo "usage: redisserver.sh new|start|stop|kill|restart|pause|resume|status|destroy STATE_DIR" >&2
            exit 2
            ;;
    esac
}

main "$@"
