#!/usr/bin/env bash
# run-with-cluster.sh CMD...: runs CMD against a throwaway PostgreSQL.
#
# Starts a cluster (pgcluster.sh) in a temporary state folder, runs CMD
# with DATABASE_URL (and PGHOST/PGPORT/PGUSER/PGDATABASE) pointing at its
# "postgres" database, and stops the cluster whatever happens: on success,
# on failure, and on Ctrl-C.  Exits with CMD's status.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: run-with-cluster.sh CMD..." >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=$(mktemp -d /tmp/dbpg-state.XXXXXX)

# shellcheck disable=SC2317  # called by the trap
cleanup() {
    bash "$here/pgcluster.sh" stop "$state" >/dev/null || true
    rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$here/pgcluster.sh" start "$state"
# shellcheck disable=SC1091
source "$state/pg.env"
export PGHOST PGPORT PGUSER PGDATABASE=postgres DATABASE_URL PG_BINDIR
status=0
"$@" || status=$?
exit "$status"
