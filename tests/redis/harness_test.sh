#!/usr/bin/env bash
# harness_test.sh SCRIPTS_DIR: the verbs of redisserver.sh and with-redis.sh
# on servers of their own (never the shared fixture's).
# The checks run small scripts in single quotes on purpose:
# shellcheck disable=SC2016
set -u
here=$1
tmp=$(mktemp -d /tmp/dbredis-harness.XXXXXX)
state=$tmp/state
ctl() { bash "$here/redisserver.sh" "$@"; }
not() { ! "$@"; }
trap 'ctl destroy "$state" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@" >"$tmp/log" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/  | /' "$tmp/log" | tail -20; fi; }
cli() { timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
answers() { [[ $(cli PING 2>/dev/null) == PONG ]]; }
refused() { ! (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; }

check "new starts a server" ctl new "$state"
# shellcheck disable=SC1091
source "$state/redis.env"
: "${REDIS_HOST:=}" "${REDIS_URL:=}"
check "redis.env names a folder under /tmp" test -d "$REDIS_TMPDIR"
check "... a port in 20000-32000" test "$REDIS_PORT" -ge 20000 -a "$REDIS_PORT" -le 32000
check "... host and URL" test "$REDIS_HOST" = 127.0.0.1 -a "$REDIS_URL" = "redis://127.0.0.1:$REDIS_PORT"
check "it answers" answers
check "it is Redis 7" bash -c '[[ $(timeout 5 redis-cli -p "$0" INFO server | grep redis_version) == redis_version:7.* ]]' "$REDIS_PORT"
check "no Unix socket" bash -c '[[ -z $(timeout 5 redis-cli -p "$0" CONFIG GET unixsocket | sed -n 2p) ]]' "$REDIS_PORT"
check "no RDB snapshots" bash -c '[[ -z $(timeout 5 redis-cli -p "$0" CONFIG GET save | sed -n 2p) ]]' "$REDIS_PORT"
check "no AOF" bash -c '[[ $(timeout 5 redis-cli -p "$0" CONFIG GET appendonly | sed -n 2p) == no ]]' "$REDIS_PORT"
check "bound to loopback only" bash -c '[[ $(timeout 5 redis-cli -p "$0" CONFIG GET bind | sed -n 2p) == 127.0.0.1 ]]' "$REDIS_PORT"
check "status: running" ctl status "$state"
cli SET k v >/dev/null

check "stop" ctl stop "$state"
check "... the port refuses connections" refused
check "... status fails" not ctl status "$state"
check "... the folder stays" test -d "$REDIS_TMPDIR"
check "start brings it back" ctl start "$state"
check "... on the same port" answers
check "... empty (nothing persisted)" bash -c '[[ -z $(timeout 5 redis-cli -p "$0" GET k) ]]' "$REDIS_PORT"
check "start again: no-op" ctl start "$state"

check "kill" ctl kill "$state"
check "... the port refuses connections" refused
check "start after kill" ctl start "$state"
check "... answers" answers

check "pause" ctl pause "$state"
check "... accepts connections but does not answer" bash -c '! timeout 1 redis-cli -p "$0" PING' "$REDIS_PORT"
check "... status says paused" bash -c 'bash "$0/redisserver.sh" status "$1" | grep -q paused' "$here" "$state"
check "resume" ctl resume "$state"
check "... answers" answers
check "pause, then stop (a paused server must still go)" bash -c 'bash "$0/redisserver.sh" pause "$1" && bash "$0/redisserver.sh" stop "$1"' "$here" "$state"
check "... the port refuses connections" refused
check "restart" ctl restart "$state"
check "... answers" answers

saved=$REDIS_TMPDIR
check "destroy" ctl destroy "$state"
check "... removes the folder" test ! -e "$saved"
check "... and the env file" test ! -e "$state/redis.env"
check "destroy again: no-op" ctl destroy "$state"
check "verbs but start/new/destroy need a server" not ctl stop "$state"

mkdir -p "$tmp/evil"
printf "REDIS_TMPDIR='%s'\nREDIS_PORT=1\n" "$tmp" >"$tmp/evil/redis.env"
check "an env naming a foreign folder is refused" not ctl destroy "$tmp/evil"
check "... and the folder left alone" test -d "$tmp"

# with-redis.sh --private: a server of its own, REDIS_CTL, cleaned up.
cat >"$tmp/inner.sh" <<'INNER'
set -e
[[ -n $REDIS_HOST && -n $REDIS_PORT && -n $REDIS_CTL ]]
[[ $(redis-cli -p "$REDIS_PORT" PING) == PONG ]]
$REDIS_CTL stop
! redis-cli -p "$REDIS_PORT" PING 2>/dev/null | grep -q PONG
$REDIS_CTL start
[[ $(redis-cli -p "$REDIS_PORT" PING) == PONG ]]
echo "$REDIS_PORT" >"$1"
exit 3
INNER
bash "$here/with-redis.sh" --private bash "$tmp/inner.sh" "$tmp/port" >"$tmp/log" 2>&1
check "with-redis.sh --private: REDIS_CTL stops and starts its server; the status of CMD is kept" test $? -eq 3
REDIS_PORT=$(cat "$tmp/port" 2>/dev/null || echo 1)
check "... and the server is gone afterwards" refused
check "with-redis.sh without a recorded server fails" bash -c '! bash "$0/with-redis.sh" "$1" true' "$here" "$tmp/none"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
