#!/usr/bin/env bash
# shards_smoke.sh: the shard-set harness does what the scale-out tests
# rely on.  Runs under `with-shards.sh --private` (dbont_add_shard_test):
# four primaries and a standby of shard 0, SHARDS_CTL to stop and start
# them.  Prints one line per check; exits 1 when one fails.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=checks.sh
source "$here/checks.sh"

# SHARDS_CTL is "bash .../shardcluster.sh STATE": split on purpose.
ctl() { ${SHARDS_CTL:?} "$@"; }
# q DSN SQL: the values only.
q() { PGCONNECT_TIMEOUT=5 "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
primary() {
    local var=DBONT_SHARD_$1_PRIMARY
    echo "${!var:-}"
}
matches() { [[ $1 =~ $2 ]] || { echo "  '$1' does not match $2"; return 1; }; }
# on_each_primary SQL: its value on shards 0-3, space-separated.
on_each_primary() {
    local i out=()
    for i in 0 1 2 3; do
        out+=("$(q "$(primary $i)" "$1" 2>&1)")
    done
    echo "${out[*]}"
}
# count_distinct WORDS: how many different words.
count_distinct() { tr ' ' '\n' <<<"$1" | sort -u | grep -c .; }
refused() { fails_with "Connection refused" q "$1" "SELECT 1"; }
answers() { is 1 q "$1" "SELECT 1"; }

n=${DBONT_SHARD_COUNT:-}
standby=${DBONT_SHARD_0_STANDBY:-}
standby_port=${standby##*:}
standby_port=${standby_port%%/*}
uri='^postgresql://postgres@127\.0\.0\.1:[0-9]+/postgres$'

echo "# the environment"
check "DBONT_SHARD_COUNT is 4" is 4 echo "$n"
[[ $n == 4 ]] || { checks_summary; exit 1; }
for i in 0 1 2 3; do
    check "DBONT_SHARD_${i}_PRIMARY is a loopback URI: $(primary $i)" matches "$(primary $i)" "$uri"
done
check "DBONT_SHARD_0_STANDBY is a loopback URI: $standby" matches "$standby" "$uri"
check "the 5 servers have 5 ports" is 5 count_distinct \
    "$(for d in "$(primary 0)" "$(primary 1)" "$(primary 2)" "$(primary 3)" "$standby"; do
        d=${d##*:}
        echo "${d%%/*}"
    done)"
check "SHARDS_CTL is set" test -n "${SHARDS_CTL:-}"
check "DBONT_SHARDS_CONF names a file" test -f "${DBONT_SHARDS_CONF:-}"
want_conf=$(
    echo "shards 4"
    echo "shard 0 primary $(primary 0)"
    echo "shard 0 standby $standby"
    for i in 1 2 3; do echo "shard $i primary $(primary $i)"; done
)
check "... which says the same (shards 4, shard I primary|standby DSN)" \
    is "$want_conf" grep -v -e '^#' -e '^$' "${DBONT_SHARDS_CONF:-/dev/null}"

echo "# the servers"
for i in 0 1 2 3; do
    check "shard $i answers, as a primary" is f q "$(primary $i)" "SELECT pg_is_in_recovery()"
done
check "they run PostgreSQL 15" is "15 15 15 15" \
    on_each_primary "SELECT current_setting('server_version_num')::int / 10000"
check "shard 0: fsync, synchronous_commit and full_page_writes off, wal_level replica, WAL senders" \
    is "off|off|off|replica|10" q "$(primary 0)" "SELECT concat_ws('|', current_setting('fsync'),
        current_setting('synchronous_commit'), current_setting('full_page_writes'),
        current_setting('wal_level'), current_setting('max_wal_senders'))"
check "shard 3 listens on 127.0.0.1 only" is 127.0.0.1 q "$(primary 3)" "SHOW listen_addresses"
sysid="SELECT system_identifier FROM pg_control_system()"
check "the 4 shards are 4 database systems (4 system identifiers)" is 4 \
    count_distinct "$(on_each_primary "$sysid")"
check "the standby is a copy of shard 0 (same system identifier)" \
    is "$(q "$(primary 0)" "$sysid")" q "$standby" "$sysid"

echo "# shard 0 and its standby"
check "create a table on shard 0" q "$(primary 0)" "CREATE TABLE smoke (id int PRIMARY KEY, v text)"
check "insert 3 rows" q "$(primary 0)" "INSERT INTO smoke VALUES (1, 'a'), (2, 'b'), (3, 'c')"
check "shard 1 has no such table (independent servers)" is "" q "$(primary 1)" "SELECT to_regclass('smoke')"
check "wait-standby" ctl wait-standby
check "the standby has the 3 rows" is "1:a,2:b,3:c" \
    q "$standby" "SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM smoke"
check "the standby is in recovery" is t q "$standby" "SELECT pg_is_in_recovery()"
check "the standby streams from shard 0 (walreceiver streaming)" is streaming \
    q "$standby" "SELECT status FROM pg_stat_wal_receiver"
check "... as the role replicator, through the active slot standby0" is "replicator|standby0|t" \
    q "$(primary 0)" "SELECT r.usename, s.slot_name, s.active FROM pg_stat_replication r
        JOIN pg_replication_slots s ON s.active_pid = r.pid"
check "an INSERT on the standby fails with SQLSTATE 25006 (read-only transaction)" \
    fails_with "ERROR:  25006" "$PSQL" -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate \
    -d "$standby" -c "INSERT INTO smoke VALUES (9999, 'z')"

check "with replay paused on the standby" is "" q "$standby" "SELECT pg_wal_replay_pause()"
check "... a write on shard 0" q "$(primary 0)" "INSERT INTO smoke VALUES (4, 'd')"
check "... wait-standby 1 fails after 1 s, saying how far the standby got" \
    fails_with "after 1 s, the standby (port $standby_port) has replayed up to" ctl wait-standby 1
check "... the row is not on the standby yet" is 3 q "$standby" "SELECT count(*) FROM smoke"
resume_and_wait() {
    q "$standby" "SELECT pg_wal_replay_resume()" >/dev/null && ctl wait-standby &&
        is 4 q "$standby" "SELECT count(*) FROM smoke"
}
check "replay resumed: wait-standby, and the row is there" resume_and_wait

echo "# stopping and starting a shard"
check "a row on shard 2" q "$(primary 2)" "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"
check "stop-shard 2" ctl stop-shard 2
check "shard 2 refuses connections" refused "$(primary 2)"
for i in 0 1 3; do
    check "shard $i still answers" answers "$(primary $i)"
done
check "the standby still answers" answers "$standby"
check "status reports shard 2 stopped (and fails)" fails_with "shard 2 primary: stopped" ctl status
check "start-shard 2" ctl start-shard 2
check "shard 2 answers again at the same URI, with its data" is 42 q "$(primary 2)" "SELECT x FROM kept"
check "start-shard 2 again: a no-op" ctl start-shard 2
check "status: all 5 running" ctl status
check "kill-shard 3 (immediate shutdown, as a crash)" ctl kill-shard 3
check "shard 3 refuses connections" refused "$(primary 3)"
check "start-shard 3 (crash recovery)" ctl start-shard 3
check "shard 3 answers again" answers "$(primary 3)"
check "no shard 4" fails_with "no shard '4'" ctl stop-shard 4

echo "# stopping and starting the standby"
check "stop-standby" ctl stop-standby
check "the standby refuses connections" refused "$standby"
check "wait-standby fails at once, saying so" fails_with "is not running" ctl wait-standby 5
check "shard 0 takes writes meanwhile (996 rows)" \
    q "$(primary 0)" "INSERT INTO smoke SELECT g, 'x' FROM generate_series(5, 1000) g"
check "start-standby" ctl start-standby
check "wait-standby" ctl wait-standby
check "the standby caught up: 1000 rows" is 1000 q "$standby" "SELECT count(*) FROM smoke"

echo "# the standby while shard 0 restarts"
check "stop-shard 0" ctl stop-shard 0
check "shard 0 refuses connections" refused "$(primary 0)"
check "the standby still serves reads" is 1000 q "$standby" "SELECT count(*) FROM smoke"
check "start-shard 0" ctl start-shard 0
check "a write on shard 0" q "$(primary 0)" "INSERT INTO smoke VALUES (1001, 'y')"
check "wait-standby (the standby reconnected)" ctl wait-standby 20
check "the standby has it" is 1001:y q "$standby" "SELECT id || ':' || v FROM smoke WHERE id = 1001"

checks_summary
