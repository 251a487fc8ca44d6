#!/usr/bin/env bash
# with-redis.sh: runs a command against a throwaway Redis (redisserver.sh).
#
#   with-redis.sh STATE_DIR CMD...   against the server that
#                                    `redisserver.sh new STATE_DIR` started
#                                    (the "redis" fixture: shared by the
#                                    tests, so a test keeps to keys and
#                                    channels named after itself)
#   with-redis.sh --private CMD...   against a server of its own, started
#                                    here and destroyed when CMD ends
#                                    (success, failure or Ctrl-C); CMD may
#                                    stop, kill, pause and start it again
#                                    through $REDIS_CTL
#
# Exports REDIS_HOST, REDIS_PORT and REDIS_URL, and with --private also
# REDIS_CTL="bash .../redisserver.sh STATE" (run "$REDIS_CTL stop", then
# "$REDIS_CTL start": the server comes back on the same port), then runs
# CMD and exits with its status.
set -euo pipefail

usage() {
    echo "usage: with-redis.sh STATE_DIR|--private CMD..." >&2
    exit 2
}
[[ $# -ge 2 ]] || usage
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ $1 == --private ]]; then
    shift
    state=$(mktemp -d /tmp/dbredis-state.XXXXXX)
    # shellcheck disable=SC2317  # called by the trap
    cleanup() {
        bash "$here/redisserver.sh" destroy "$state" >/dev/null 2>&1 || true
        rm -rf "$state"
    }
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    bash "$here/redisserver.sh" new "$state"
    export REDIS_CTL="bash $here/redisserver.sh $state"
else
    state=$1
    shift
    if [[ ! -f $state/redis.env ]]; then
        echo "with-redis: error: no server recorded in $state (did redis_start run?)" >&2
        exit 1
    fi
fi

# shellcheck disable=SC1091
source "$state/redis.env"
if [[ -z ${REDIS_PORT:-} ]]; then
    echo "with-redis: error: the server in $state did not finish starting" >&2
    exit 1
fi
export REDIS_HOST REDIS_PORT REDIS_URL
status=0
"$@" || status=$?
exit "$status"
