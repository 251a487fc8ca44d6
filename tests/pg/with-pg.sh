#!/usr/bin/env bash
# with-pg.sh STATE_DIR DBNAME CMD...: runs CMD against a fresh database.
#
# Drops DBNAME if it exists (forcing other sessions off), creates it in the
# cluster that `pgcluster.sh start STATE_DIR` started, exports
# DATABASE_URL (and PGHOST/PGPORT/PGUSER/PGDATABASE, for psql) for it,
# runs CMD and exits with CMD's status.  The database is left in place for
# a look after a failure; the cluster's `stop` removes everything.
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: with-pg.sh STATE_DIR DBNAME CMD..." >&2
    exit 2
fi
state=$1
db=$2
shift 2

if [[ ! -f $state/pg.env ]]; then
    echo "with-pg: error: no cluster recorded in $state (did pg_start run?)" >&2
    exit 1
fi
# Names go into a URI and an SQL identifier unescaped: keep them plain.
if [[ ! $db =~ ^[A-Za-z0-9_]{1,63}$ ]]; then
    echo "with-pg: error: database name '$db' must be 1-63 of [A-Za-z0-9_]" >&2
    exit 2
fi

# shellcheck disable=SC1091
source "$state/pg.env"
if [[ -z ${PGPORT:-} ]]; then
    echo "with-pg: error: the cluster in $state did not finish starting" >&2
    exit 1
fi

psql_admin() {
    PGOPTIONS="-c client_min_messages=warning" \
        "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" "$@"
}
psql_admin -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
psql_admin -c "CREATE DATABASE \"$db\"" >/dev/null

export PGHOST PGPORT PGUSER PGDATABASE=$db
export DATABASE_URL="postgresql://postgres@/$db?host=$PG_TMPDIR&port=$PGPORT"
export PG_BINDIR
status=0
"$@" || status=$?
exit "$status"
