#!/usr/bin/env bash
# run-shards.sh DBONT_MIGRATE MIGRATIONS BLOG_SHARDS: inside
# tests/pg/with-shards.sh (DBONT_SHARD_COUNT, DBONT_SHARD_<i>_PRIMARY as
# the owner), applies the migrations to every shard's primary, writes a
# shard set's file naming the same servers as app_user, and runs the
# example over them.
set -euo pipefail
migrate=$1
dir=$2
example=$3
conf=$(mktemp /tmp/blog-shards.conf.XXXXXX)
trap 'rm -f "$conf"' EXIT
echo "shards $DBONT_SHARD_COUNT" >"$conf"
for ((i = 0; i < DBONT_SHARD_COUNT; i++)); do
    var=DBONT_SHARD_${i}_PRIMARY
    "$migrate" --dsn "${!var}" --dir "$dir" up >/dev/null
    # the URI's user is the owner; the query parameter wins (libpq)
    echo "shard $i primary ${!var}?user=app_user" >>"$conf"
done
DBONT_SHARDS_CONF=$conf exec "$example"
