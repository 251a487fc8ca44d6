#!/usr/bin/env bash
# env_test.sh shared|pg: what dbont_add_redis_test gives a test.
#   shared  the fixture's server: REDIS_HOST/PORT/URL set and answering,
#           no REDIS_CTL (the shared server is not the test's to stop)
#   pg      the same, plus DATABASE_URL for a fresh database of its own
set -u
passed=0
failed=0
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then echo "ok $name"; passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi; }
ping_redis() {
    exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" || return 1
    printf 'PING\r\n' >&3
    local line
    IFS= read -r -t 5 line <&3
    exec 3<&- 3>&-
    [[ ${line%$'\r'} == +PONG ]]
}

check "REDIS_HOST and REDIS_PORT set" test -n "${REDIS_HOST:-}" -a -n "${REDIS_PORT:-}"
check "REDIS_URL matches" test "${REDIS_URL:-}" = "redis://${REDIS_HOST:-}:${REDIS_PORT:-}"
check "the server answers PING" ping_redis
check "no REDIS_CTL for the shared server" test -z "${REDIS_CTL:-}"
if [[ ${1:-} == pg ]]; then
    check "DATABASE_URL set" test -n "${DATABASE_URL:-}"
    check "... a database of the test's own" test "${PGDATABASE:-}" = redis_env_pg
    check "... that answers" "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "SELECT 1"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
