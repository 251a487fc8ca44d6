#!/bin/sh
# migrate-all.sh DBONT_MIGRATE DIR CMD...: applies DIR's migrations to every
# shard's primary (DBONT_SHARD_COUNT, DBONT_SHARD_<i>_PRIMARY, as
# tests/pg/with-shards.sh exports them), then runs CMD.
set -eu
migrate=$1
dir=$2
shift 2
i=0
while [ "$i" -lt "$DBONT_SHARD_COUNT" ]; do
    eval "url=\${DBONT_SHARD_${i}_PRIMARY}"
    "$migrate" --dsn "$url" --dir "$dir" up >/dev/null
    i=$((i + 1))
done
exec "$@"
