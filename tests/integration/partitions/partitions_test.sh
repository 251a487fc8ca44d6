#!/usr/bin/env bash
# partitions_test.sh DBONT_MIGRATE MIGRATIONS_DIR: range partitions on
# PostgreSQL (docs/partitions.md), with partitions.ttl's migrations.
#
# Run through tests/pg/with-pg.sh (DATABASE_URL names a fresh database).
#
#   up        0001 makes events (monthly, 60 days back, 2 ahead) and
#             readings (daily, 3 back, 5 ahead) with their default
#             partitions and the partitions of today's window, bounds in
#             UTC; 0002 adds an index to each, made ON ONLY the parent and
#             built on each partition by dbont-migrate, then attached
#   rows      inserted through the parent as the application role land in
#             their partition; a row far ahead lands in the default one
#   rls       each tenant sees its own events through the parent; the
#             application role cannot read a partition directly
#   maintain  `dbont-migrate partitions` reports the default partition's
#             rows; run "later" (--at) it makes the partitions that time
#             needs (with the index), and moves a waiting row into its new
#             partition
#   verify    no invalid index, nothing pending; down and up again
#
# Prints one line per check and "N passed, N failed"; exits 1 on failure.
set -uo pipefail

if [[ $# != 2 ]]; then
    echo "usage: partitions_test.sh DBONT_MIGRATE MIGRATIONS_DIR" >&2
    exit 2
fi
migrate=$1
mdir=$2
: "${DATABASE_URL:?partitions_test.sh runs through tests/pg/with-pg.sh (DATABASE_URL unset)}"
ROLE=part_app
APP_URL="$DATABASE_URL&user=$ROLE"

# shellcheck source=../../pg/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../pg/checks.sh"
export PGTZ=UTC PGDATESTYLE=ISO

partitions_of() { # the partitions of table $1, by name, one line
    owner "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_inherits i
             JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '$1'::regclass"
}
# The names the window needs, computed here with date(1) in UTC.
months() { # months FROM_EXPR TO_EXPR: events_YYYY_MM for each month between
    local m=$(date -u -d "$1" +%Y-%m-01) end=$(date -u -d "$2" +%Y-%m-01) out=""
    while [[ ! $m > $end ]]; do
        out+="events_$(date -u -d "$m" +%Y_%m) "
        m=$(date -u -d "$m + 1 month" +%Y-%m-01)
    done
    echo "${out% }"
}
days() { # days N M: readings_YYYY_MM_DD from today-N to today+M
    local out="" i
    for ((i = -$1; i <= $2; i++)); do
        out+="readings_$(date -u -d "$today $i days" +%Y_%m_%d) "
    done
    echo "${out% }"
}
today=$(date -u +%Y-%m-%d)

# ---- up ----------------------------------------------------------------------------
check "up applies 0001 and 0002" has "2 applied, 0 pending" "$migrate" --dir "$mdir" up
want_events="$(months "$today - 60 days" "$today + 2 months") events_default"
check "events: the months from 60 days back to 2 ahead, and the default" \
    is "$(echo $want_events | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" partitions_of events
want_readings="$(days 3 5) readings_default"
check "readings: the days from 3 back to 5 ahead, and the default" \
    is "$(echo $want_readings | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" partitions_of readings
month=$(date -u +%Y_%m)
first=$(date -u +%Y-%m-01)
next=$(date -u -d "$first + 1 month" +%Y-%m-01)
check "a month's bounds are UTC midnights" \
    is "FOR VALUES FROM ('$first 00:00:00+00') TO ('$next 00:00:00+00')" \
    owner "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'events_$month'"
check "the same bounds seen from another time zone" \
    is "FOR VALUES FROM ('$first 14:00:00+14') TO ('$next 14:00:00+14')" \
    env PGTZ=Pacific/Kiritimati "$PSQL" -X -q -At -d "$DATABASE_URL" \
    -c "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'events_$month'"
check "a day's bounds are dates" \
    is "FOR VALUES FROM ('$today') TO ('$(date -u -d "$today + 1 day" +%Y-%m-%d)')" \
    owner "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'readings_$(date -u +%Y_%m_%d)'"

index_state() { # index_state INDEX: "valid/attached partitions/partitions"
    owner "SELECT x.indisvalid || '/' ||
             (SELECT count(*) FROM pg_inherits WHERE inhparent = x.indexrelid) || '/' ||
             (SELECT count(*) FROM pg_inherits WHERE inhparent = x.indrelid)
           FROM pg_index x WHERE x.indexrelid = '$1'::regclass"
}
nevents=$(echo $want_events | wc -w)
nreadings=$(echo $want_readings | wc -w)
check "events' new index is valid, on every partition" is "true/$nevents/$nevents" index_state events_tenant_id_kind_idx
check "readings' new index is valid, on every partition" is "true/$nreadings/$nreadings" index_state readings_value_idx
check "verify: nothing invalid, nothing pending" has "verified: 2 applied" "$migrate" --dir "$mdir" verify

# ---- rows ----------------------------------------------------------------------------
A=00000000-0000-0000-0000-00000000000a
B=00000000-0000-0000-0000-00000000000b
app "$A" "INSERT INTO tenants (name) VALUES ('a')" >/dev/null
app "$B" "INSERT INTO tenants (name) VALUES ('b')" >/dev/null
check "tenant A writes two events of now through the parent" \
    app "$A" "INSERT INTO events (kind) VALUES ('signup'), ('login')"
check "tenant B writes one of now and one 10 years ahead" \
    app "$B" "INSERT INTO events (kind, occurred_at) VALUES ('login', now()), ('far', now() + interval '10 years')"
check "rows of now land in this month's partition" \
    is "events_$month|3" owner "SELECT tableoid::regclass, count(*) FROM events WHERE kind <> 'far' GROUP BY 1"
check "the row 10 years ahead lands in the default partition" \
    is "events_default" owner "SELECT tableoid::regclass FROM events WHERE kind = 'far'"
owner "INSERT INTO readings VALUES ('s1', current_date, 1.5), ('s1', current_date - 30, 2.5)" >/dev/null
check "a reading of today lands in today's partition" \
    is "readings_$(date -u +%Y_%m_%d)" owner "SELECT tableoid::regclass FROM readings WHERE value = 1.5"

# ---- row-level security and grants ----------------------------------------------------
check "tenant A sees its 2 events through the parent" is "2" app "$A" "SELECT count(*) FROM events"
check "tenant B sees its 2 events through the parent" is "2" app "$B" "SELECT count(*) FROM events"
check "no tenant, no events" is "0" app "" "SELECT count(*) FROM events"
check "the application role cannot read a partition directly" \
    fails_with "permission denied" app "$A" "SELECT count(*) FROM events_$month"
check "nor the default partition" fails_with "permission denied" app "$A" "SELECT count(*) FROM events_default"

# ---- maintenance --------------------------------------------------------------------------
check "partitions: reports the default partitions' rows" \
    has "readings: 1 row in readings_default" "$migrate" --dir "$mdir" partitions
check "partitions: and the event waiting far ahead" \
    has "events: 1 row in events_default" "$migrate" --dir "$mdir" partitions
later=$(date -u -d "$first + 4 months" +%Y-%m-%d)
out=$("$migrate" --dir "$mdir" partitions --at "$later 12:00:00+00" 2>&1)
check "partitions --at 4 months later makes the months that time needs" \
    has "events: created $(date -u -d "$first + 3 months" +events_%Y_%m) $(date -u -d "$first + 4 months" +events_%Y_%m) $(date -u -d "$first + 5 months" +events_%Y_%m) $(date -u -d "$first + 6 months" +events_%Y_%m)" echo "$out"
nevents=$(partitions_of events | wc -w)
check "the new partitions have the index too (it stays valid)" is "true/$nevents/$nevents" index_state events_tenant_id_kind_idx
# A row that arrived before its partition existed waits in the default one,
# and moves when the partition is made.
future=$(date -u -d "$first + 8 months" +%Y-%m-15)
app "$A" "INSERT INTO events (kind, occurred_at) VALUES ('early', '$future 08:00:00+00')" >/dev/null
check "a row ahead of its partition waits in the default partition" \
    is "events_default" owner "SELECT tableoid::regclass FROM events WHERE kind = 'early'"
check "partitions --at that month moves it into its new partition" \
    has "events: moved 1 row" "$migrate" --dir "$mdir" partitions --at "$future 00:00:00+00"
check "the row is in its partition now" \
    is "$(date -u -d "$future" +events_%Y_%m)" owner "SELECT tableoid::regclass FROM events WHERE kind = 'early'"
check "and tenant A still sees it (3 events)" is "3" app "$A" "SELECT count(*) FROM events"
# A second, empty database of the same cluster (libpq takes the host, port
# and user from with-pg.sh's PGHOST, PGPORT and PGUSER).
empty=${PGDATABASE:?}_empty
PGOPTIONS=-cclient_min_messages=warning owner "DROP DATABASE IF EXISTS $empty"
owner "CREATE DATABASE $empty"
exits_1_with() { # exits_1_with TEXT COMMAND...
    local out status
    out=$("${@:2}" 2>&1)
    status=$?
    [[ $status == 1 && $out == *"$1"* ]] && return 0
    echo "  exit $status: $out"
    return 1
}
check "partitions on a database without a partitioned table is a clear error (exit 1)" \
    exits_1_with "42883 this database has no range-partitioned table" \
    "$migrate" --dsn "dbname=$empty" partitions
owner "DROP DATABASE IF EXISTS $empty"

# ---- verify, down, up --------------------------------------------------------------------------
check "verify after maintenance" has "verified: 2 applied" "$migrate" --dir "$mdir" verify
check "down 2 reverts both migrations" has "2 reverted" "$migrate" --dir "$mdir" down 2
check "the tables and their partitions are gone" is "0" owner "SELECT count(*) FROM pg_class WHERE relname LIKE 'events%'"
check "dbont_partitioned and its function are gone" \
    is "||" owner "SELECT to_regclass('dbont_partitioned'), to_regproc('dbont_maintain_partitions'), ''"
check "up again" has "2 applied, 0 pending" "$migrate" --dir "$mdir" up
check "verify again" has "verified: 2 applied" "$migrate" --dir "$mdir" verify

checks_summary
