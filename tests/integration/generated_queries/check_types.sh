#!/bin/bash
# check_types.sh DBONT_GEN SOURCE_DIR: the query types cache against a real
# server (DATABASE_URL): generating with the server and without it gives
# the same files; --check passes on the committed cache and fails on a
# stale one; a query PostgreSQL refuses is reported at its ontology line
# with the SQLSTATE; a query with an expression and no cache entry is an
# error saying how to fix it.
set -u
gen=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@" >"$tmp/log" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/  | /' "$tmp/log"; fi; }

cp "$src/tests/ontologies/queries.ttl" "$tmp/queries.ttl"
cache=$src/tests/ontologies/queries.querytypes

check "with the server: exit 0" "$gen" -o "$tmp/server" --prefix q --query-cache "$tmp/fresh.querytypes" \
    --check-dsn "$DATABASE_URL" "$tmp/queries.ttl"
check "the server's answer is the committed cache" bash -c 'diff <(grep -v "^#" "$0") <(grep -v "^#" "$1")' \
    "$cache" "$tmp/fresh.querytypes"
check "without a server, from the cache: exit 0" "$gen" -o "$tmp/offline" --prefix q --query-cache "$cache" \
    "$tmp/queries.ttl"
check "the same code with and without the server" diff -r "$tmp/server" "$tmp/offline"
check "--check: the committed cache is current" "$gen" -o "$tmp/x" --prefix q --query-cache "$cache" --check \
    --check-dsn "$DATABASE_URL" "$tmp/queries.ttl"
check "--check writes nothing" test ! -e "$tmp/x"

sed 's/"COUNT(articles.id) AS article_count"/"COUNT(articles.id)::int AS article_count"/' "$tmp/queries.ttl" >"$tmp/changed.ttl"
if "$gen" -o "$tmp/y" --prefix q --query-cache "$cache" --check --check-dsn "$DATABASE_URL" "$tmp/changed.ttl" \
    >"$tmp/out" 2>"$tmp/err"; then
    bad "--check on a stale cache fails"
else
    ok "--check on a stale cache fails"
fi
check "... saying so" grep -q "queries.querytypes: error: stale: the server's answer differs" "$tmp/err"
if "$gen" -o "$tmp/z" --prefix q --query-cache "$cache" "$tmp/changed.ttl" >"$tmp/out" 2>"$tmp/err"; then
    bad "offline, a changed expression has no cache entry: refused"
else
    ok "offline, a changed expression has no cache entry: refused"
fi
check "... with the way to fix it" grep -q "changed.ttl:46:[0-9]*: error: the type of result column 'article_count' of query author_article_counts_query comes from PostgreSQL: run dbont-gen --check-dsn DSN once" "$tmp/err"

sed 's/"email = ? AND name IS DISTINCT FROM/"emial = ? AND name IS DISTINCT FROM/' "$tmp/queries.ttl" >"$tmp/typo.ttl"
if "$gen" -o "$tmp/t" --prefix q --query-cache "$tmp/t.querytypes" --check-dsn "$DATABASE_URL" "$tmp/typo.ttl" \
    >"$tmp/out" 2>"$tmp/err"; then
    bad "a column PostgreSQL does not know: refused"
else
    ok "a column PostgreSQL does not know: refused"
fi
check "... at the fragment's line and column, with the SQLSTATE" \
    grep -q "typo.ttl:32:28: error: PostgreSQL refuses query author_by_email_query: 42703 column \"emial\" does not exist" \
    "$tmp/err"
check "... and nothing was written" test ! -e "$tmp/t" -a ! -e "$tmp/t.querytypes"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
