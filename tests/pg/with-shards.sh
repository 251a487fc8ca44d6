#!/usr/bin/env bash
# with-shards.sh: runs a command against a throwaway set of PostgreSQL
# shards (shardcluster.sh).
#
#   with-shards.sh --private [--shards N] CMD...
#       against a set of its own: N (default 4) primaries and a standby of
#       shard 0, started here and destroyed when CMD ends (success, failure,
#       Ctrl-C or TERM; and, by a watchdog, even when this script is killed
#       with SIGKILL, as a ctest timeout does); CMD may stop and start the
#       servers through $SHARDS_CTL
#   with-shards.sh STATE_DIR CMD...
#       against the set that `shardcluster.sh new STATE_DIR` started
#
# Exports what shardcluster.sh records (see there):
#   DBONT_SHARD_COUNT, DBONT_SHARD_<I>_PRIMARY, DBONT_SHARD_0_STANDBY
#                   libpq URIs (postgresql://postgres@127.0.0.1:PORT/postgres)
#   DBONT_SHARDS_CONF  the same in a file ("shards N", "shard I primary DSN",
#                   "shard I standby DSN")
#   SHARDS_TMPDIR   the servers' folder (logs: shardI.log, standby0.log)
#   PG_BINDIR       the PostgreSQL binaries
# and with --private also
#   SHARDS_CTL="bash .../shardcluster.sh STATE_DIR": "$SHARDS_CTL stop-shard 2",
#                   "$SHARDS_CTL start-shard 2" (same port), kill-shard I,
#                   stop-standby, start-standby, wait-standby [SECONDS], status
# then runs CMD and exits with its status.
set -euo pipefail

usage() {
    echo "usage: with-shards.sh --private [--shards N] CMD... | with-shards.sh STATE_DIR CMD..." >&2
    exit 2
}
[[ $# -ge 2 ]] || usage
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ $1 == --private ]]; then
    shift
    count=4
    if [[ $1 == --shards ]]; then
        [[ $# -ge 3 ]] || usage
        count=$2
        shift 2
    fi
    state=$(mktemp -d /tmp/dbshards-state.XXXXXX)
    # The watchdog: outside this process tree (double fork, own session),
    # so that a kill of the tree (ctest's timeout) leaves it running; when
    # this script is gone without having cleaned up, it destroys the set.
    # It holds none of our output streams, so nobody waits for it.
    # shellcheck disable=SC2016  # expanded by the watchdog's bash
    (setsid bash -c '
        echo $$ >"$2/watchdog.pid"
        while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
        if [[ -f $2/shards.env ]]; then
            bash "$3/shardcluster.sh" destroy "$2"
            rm -rf "$2"
        fi' watchdog $$ "$state" "$here" </dev/null >/dev/null 2>&1 &)
    # shellcheck disable=SC2317  # called by the trap
    cleanup() {
        local pid
        pid=$(cat "$state/watchdog.pid" 2>/dev/null || true)
        bash "$here/shardcluster.sh" destroy "$state" >/dev/null 2>&1 || true
        # Its process group: the watchdog and its sleep.
        if [[ $pid =~ ^[0-9]+$ ]]; then
            kill -- "-$pid" 2>/dev/null || true
        fi
        rm -rf "$state"
    }
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    bash "$here/shardcluster.sh" new "$state" "$count"
    export SHARDS_CTL="bash $here/shardcluster.sh $state"
else
    state=$1
    shift
    if [[ ! -f $state/shards.env ]]; then
        echo "with-shards: error: no shard set recorded in $state (run: shardcluster.sh new $state)" >&2
        exit 1
    fi
fi

# shellcheck disable=SC1091
source "$state/shards.env"
if [[ -z ${DBONT_SHARD_COUNT:-} ]]; then
    echo "with-shards: error: the shard set in $state did not finish starting" >&2
    exit 1
fi
export SHARDS_TMPDIR PG_BINDIR
status=0
"$@" || status=$?
exit "$status"
