#!/bin/bash
# explain_test.sh DBONT_GEN SOURCE_DIR: dbont-gen --explain against a real
# PostgreSQL (DATABASE_URL, from tests/pg's with-pg.sh).
#
# On tests/explain/explain.ttl: the exact warnings (place and text) for a
# filter, a join and an ORDER BY ... LIMIT no index serves and for a
# foreign key without an index; none for their indexed twins; the summary
# line; nothing written and nothing left on the server.  Then: the
# warnings go once the indexes are declared (from the migration this run
# plans, then from the written one whose CREATE INDEX CONCURRENTLY runs
# in a no-transaction step); a parameter without an example value is
# named in a note; conditions on an expression of a column; multi-tenant
# queries (tests/explain/tenant.ttl) planned under the tenant policy;
# references kept inside a tenant; the errors (server unreachable, a
# value PostgreSQL refuses) and the usage error.
set -u
gen=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
check() { # check NAME COMMAND...: passes when COMMAND succeeds
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
run() { # run WANT_STATUS ARGS...: dbont-gen ARGS in $tmp, output in $tmp/log.out and $tmp/log.err
    local want=$1
    shift
    (cd "$tmp" && "$gen" "$@") >"$tmp/log.out" 2>"$tmp/log.err"
    local got=$?
    [ "$got" -eq "$want" ] || {
        echo "  exit status $got, expected $want; stderr:"
        sed 's/^/  | /' "$tmp/log.err"
        return 1
    }
}
err_has() { grep -qxF -- "$1" "$tmp/log.err" || { echo "  no stderr line '$1':"; sed 's/^/  | /' "$tmp/log.err"; return 1; }; }
err_has_part() { grep -qF -- "$1" "$tmp/log.err" || { echo "  stderr lacks '$1':"; sed 's/^/  | /' "$tmp/log.err"; return 1; }; }
err_lacks() { ! grep -qF -- "$1" "$tmp/log.err" || { echo "  stderr has '$1':"; sed 's/^/  | /' "$tmp/log.err"; return 1; }; }
out_is() { [ "$(cat "$tmp/log.out")" = "$1" ] || { echo "  stdout is '$(cat "$tmp/log.out")', expected '$1'"; return 1; }; }
warnings_are() { # the number of warning lines on stderr
    local n
    n=$(grep -c ': warning: ' "$tmp/log.err")
    [ "$n" -eq "$1" ] || { echo "  $n warnings, expected $1:"; sed 's/^/  | /' "$tmp/log.err"; return 1; }
}
psql_q() { "$PG_BINDIR/psql" -X -q -t -A -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }

cp "$src/tests/explain/explain.ttl" "$tmp/explain.ttl"
cp "$src/tests/ontologies/tenancy.ttl" "$tmp/tenancy.ttl"
idx='@prefix idx: <http://example.org/indexing/> .'

# --- the advice on explain.ttl ------------------------------------------------------
w_fk='explain.ttl:19:5: warning: foreign key posts.user_id has no index: joins and ON DELETE checks on it scan posts; add idx:Index with idx:table db:PostsTable and idx:columns ("user_id")'
w_filter='explain.ttl:40:27: warning: query db:PostsByStatusQuery reads table posts with a sequential scan: no index covers its filter on posts.status; add idx:Index with idx:table db:PostsTable and idx:columns ("status")'
w_join='explain.ttl:52:62: warning: query db:UserPostsByEmailQuery reads table posts with a sequential scan: no index covers its join on posts.author_email; add idx:Index with idx:table db:PostsTable and idx:columns ("author_email")'
w_order='explain.ttl:60:15: warning: query db:RecentPostsQuery sorts the matching rows of table posts to return the first 10: no index serves ORDER BY posts.created_at DESC; add idx:Index with idx:table db:PostsTable and idx:columns ("created_at")'

check "--explain: exit 0 (warnings do not fail the run)" run 0 -o gen --prefix ex --explain "$DATABASE_URL" explain.ttl
check "the summary line" out_is "explain: 8 queries, 4 warnings"
check "exactly 4 warnings" warnings_are 4
check "a filter on an unindexed column: warned at db:condition" err_has "$w_filter"
check "a join on an unindexed column: warned at db:on" err_has "$w_join"
check "ORDER BY ... LIMIT no index serves: warned at the db:orderBy item" err_has "$w_order"
check "a foreign key without an index: warned at its column" err_has "$w_fk"
check "stderr is exactly the warnings, in ontology order" \
    diff <(printf '%s\n' "$w_fk" "$w_filter" "$w_join" "$w_order") "$tmp/log.err"
check "the filter on an idx:Index column: not warned" err_lacks "PostsByTitleQuery"
check "the foreign key an idx:Index leads with: not warned" err_lacks "comments.post_id"
check "ORDER BY the primary key with LIMIT: not warned" err_lacks "FirstUsersQuery"
check "a unique column without an example value: not warned" err_lacks "UserByEmailQuery"
check "a join through the indexed foreign key: not warned" err_lacks "PostCommentsQuery"
check "every row of the FROM table: not warned" err_lacks "AllUsersQuery"
check "nothing written (no C files, no migrations, no query cache)" test ! -e "$tmp/gen" -a ! -e "$tmp/ex.querytypes"
check "nothing left on the server (scratch schema and tables rolled back)" \
    test "$(psql_q "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dbont_check%'") $(psql_q "SELECT count(*) FROM pg_class WHERE relname IN ('posts', 'users', 'comments')")" = "0 0"

# --- the indexes declared: no warning ------------------------------------------------
{
    cat "$tmp/explain.ttl"
    echo "$idx"
    echo 'db:PostsStatusIndex a idx:Index ; idx:table db:PostsTable ; idx:columns ("status") .'
    echo 'db:PostsAuthorEmailIndex a idx:Index ; idx:table db:PostsTable ; idx:columns ("author_email") .'
    echo 'db:PostsUserIndex a idx:Index ; idx:table db:PostsTable ; idx:columns ("user_id" "created_at") .'
    echo 'db:PostsCreatedIndex a idx:Index ; idx:table db:PostsTable ; idx:columns ("created_at") .'
} >"$tmp/indexed.ttl"
check "every index declared: exit 0" run 0 -o gen --prefix ex --explain "$DATABASE_URL" indexed.ttl
check "... and no warning" warnings_are 0
check "... the summary says so" out_is "explain: 8 queries, 0 warnings"

# The indexes from migrations: 0001 written without the status index, which
# then comes first from the migration this run plans, then from the
# written 0002 (CREATE INDEX CONCURRENTLY in a no-transaction step, run in
# the check's transaction without CONCURRENTLY).
mkdir "$tmp/m"
cp "$tmp/explain.ttl" "$tmp/m/explain.ttl"
check "0001 written" run 0 -o m/out --prefix ex m/explain.ttl
{
    echo "$idx"
    echo 'db:PostsStatusIndex a idx:Index ; idx:table db:PostsTable ; idx:columns ("status") .'
} >>"$tmp/m/explain.ttl"
check "the index in the planned migration: exit 0" run 0 -o m/out --prefix ex --explain "$DATABASE_URL" m/explain.ttl
check "... the filter is served" err_lacks "PostsByStatusQuery"
check "... the rest stays" warnings_are 3
check "... and nothing was written" test ! -e "$tmp/m/out/migrations/0002_index_posts.sql"
check "0002 written" run 0 -o m/out --prefix ex m/explain.ttl
check "... with a no-transaction step" grep -q '^-- dbont:step no-transaction' "$tmp/m/out/migrations/0002_index_posts.sql"
check "the index from the written 0002: exit 0" run 0 -o m/out --prefix ex --explain "$DATABASE_URL" m/explain.ttl
check "... the filter is served" err_lacks "PostsByStatusQuery"
check "... the summary" out_is "explain: 8 queries, 3 warnings"

# --- a parameter without an example value ---------------------------------------------
sed 's/db:condition "status = ?" ; db:params ("draft")/db:condition "status = ?"/' "$tmp/explain.ttl" >"$tmp/noexample.ttl"
check "no example value: exit 0" run 0 -o gen --prefix ex --explain "$DATABASE_URL" noexample.ttl
check "... the same warning" err_has "${w_filter/explain.ttl/noexample.ttl}"
check "... followed by a note naming the literal used" \
    err_has "noexample.ttl:40:27: note: parameter 1 (status) has no example value (db:params / db:havingParams); the EXPLAIN used 'x'"

# --- conditions no index on the column can serve ------------------------------------
# Appended to explain.ttl, 4 lines each, the condition on the 3rd.
base=$(wc -l <"$tmp/explain.ttl")
{
    cat "$tmp/explain.ttl"
    echo '# a function of the column'
    echo 'db:LowerTitleQuery a db:Query ; db:from db:PostsTable ;'
    echo '  db:where [ db:condition "lower(title) = ?" ; db:params ("hello") ] ;'
    echo '  db:select ("id") .'
    echo '# LIKE with a leading wildcard, on the indexed column'
    echo 'db:TitleLikeQuery a db:Query ; db:from db:PostsTable ;'
    echo '  db:where [ db:condition "title LIKE ?" ; db:params ("%hello") ] ;'
    echo '  db:select ("id") .'
} >"$tmp/forms.ttl"
check "conditions on expressions: exit 0" run 0 -o gen --prefix ex --explain "$DATABASE_URL" forms.ttl
check "... a function of the column: no index on the column serves it" \
    err_has "forms.ttl:$((base + 3)):27"': warning: query db:LowerTitleQuery reads table posts with a sequential scan: its filter uses posts.title only inside an expression (a function or arithmetic applied to the column), which no index on the column serves; compare the column itself with a value'
check "... LIKE '%...' cannot use the column's index" \
    err_has "forms.ttl:$((base + 7)):27"': warning: query db:TitleLikeQuery reads table posts with a sequential scan: its filter on posts.title cannot use index posts_title_idx (the condition applies a function, a cast or an operator the index does not support)'
check "... the summary" out_is "explain: 10 queries, 6 warnings"

# --- multi-tenant tables: planned as the application role, under the tenant policy ----
w_docs='tenant.ttl:30:27: warning: query db:DocsByTitleQuery reads every row of the tenant in table docs (its index condition is on org_id only): no index covers its filter on docs.title; add idx:Index with idx:table db:DocsTable and idx:columns ("org_id" "title")'
w_body='tenant.ttl:42:27: warning: query db:NotesByBodyQuery reads table notes with a sequential scan: no index covers its filter on notes.org_id, notes.body; add idx:Index with idx:table db:NotesTable and idx:columns ("org_id" "body")'
w_all='tenant.ttl:46:1: warning: query db:AllNotesQuery reads table notes with a sequential scan: no index covers the tenant policy'"'"'s filter on notes.org_id; add idx:Index with idx:table db:NotesTable and idx:columns ("org_id")'
cp "$src/tests/explain/tenant.ttl" "$tmp/tenant.ttl"
check "multi-tenant queries: exit 0" run 0 -o gen --prefix t --explain "$DATABASE_URL" tenant.ttl
check "... a filter the tenant's index leaves to every row of the tenant: warned" err_has "$w_docs"
check "... no index for the tenant policy and the filter: warned" err_has "$w_body"
check "... no index for the tenant policy alone: warned at the query" err_has "$w_all"
check "... the lookup by the tenant-scoped unique key: not warned" err_lacks "DocByCodeQuery"
check "... the summary" out_is "explain: 4 queries, 3 warnings"
{
    cat "$tmp/tenant.ttl"
    echo "$idx"
    echo 'db:DocsTitleIndex a idx:Index ; idx:table db:DocsTable ; idx:columns ("org_id" "title") .'
    echo 'db:NotesBodyIndex a idx:Index ; idx:table db:NotesTable ; idx:columns ("org_id" "body") .'
} >"$tmp/tenant2.ttl"
check "multi-tenant queries with their indexes: exit 0" run 0 -o gen --prefix t --explain "$DATABASE_URL" tenant2.ttl
check "... not warned" out_is "explain: 4 queries, 0 warnings"

# --- references kept inside a tenant (FOREIGN KEY (tenant, column)) -------------------
w_tasks='tenancy.ttl:26:5: warning: foreign key tasks.project_id (FOREIGN KEY (account_id, project_id), kept inside the tenant) has no index: joins and ON DELETE checks on it scan tasks; add idx:Index with idx:table db:TasksTable and idx:columns ("account_id" "project_id")'
w_notes='tenancy.ttl:45:5: warning: foreign key notes.task_id (FOREIGN KEY (account_id, task_id), kept inside the tenant) has no index: joins and ON DELETE checks on it scan notes; add idx:Index with idx:table db:NotesTable and idx:columns ("account_id" "task_id")'
check "tenancy: exit 0" run 0 -o gen --prefix t --explain "$DATABASE_URL" tenancy.ttl
check "... tasks (account_id, project_id) has no index" err_has "$w_tasks"
check "... notes (account_id, task_id) has no index" err_has "$w_notes"
check "... the summary (the tenancy warnings of every run are not counted)" out_is "explain: 0 queries, 2 warnings"
{
    cat "$tmp/tenancy.ttl"
    echo "$idx"
    echo 'db:NotesTaskIndex a idx:Index ; idx:table db:NotesTable ; idx:columns ("task_id") .'
    echo 'db:TasksProjectIndex a idx:Index ; idx:table db:TasksTable ; idx:columns ("project_id" "account_id" "title") .'
} >"$tmp/tenancy2.ttl"
check "tenancy, indexes leading with the column (alone, or before the tenant): exit 0" \
    run 0 -o gen --prefix t --explain "$DATABASE_URL" tenancy2.ttl
check "... not warned" out_is "explain: 0 queries, 0 warnings"

# --- errors ------------------------------------------------------------------------------
check "server unreachable: exit 1" run 1 -o gen --prefix ex --explain "host=$tmp/no-such-dir port=1" explain.ttl
check "... with SQLSTATE 08001 and libpq's message" \
    err_has_part "dbont-gen: error: --explain: cannot connect: 08001 connection to server on socket \"$tmp/no-such-dir/.s.PGSQL.1\" failed"
check "... no summary" out_is ""
sed 's/db:params (7)/db:params ("seven")/' "$tmp/explain.ttl" >"$tmp/badvalue.ttl"
check "an example value PostgreSQL refuses: exit 1" run 1 -o gen --prefix ex --explain "$DATABASE_URL" badvalue.ttl
check "... the query named, with SQLSTATE and message" \
    err_has 'badvalue.ttl:50:1: error: PostgreSQL cannot EXPLAIN query db:UserPostsByEmailQuery: 22P02 invalid input syntax for type integer: "seven"'
check "... and a note at the value" err_has "badvalue.ttl:53:55: note: parameter 1 (id) was 'seven'"
check "... nothing written" test ! -e "$tmp/gen"
check "--explain with --check-dsn: usage error" run 2 --explain "$DATABASE_URL" --check-dsn "$DATABASE_URL" explain.ttl
check "... saying why" err_has "dbont-gen: --explain writes nothing: run --check-dsn and --verify-migrations on their own"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
