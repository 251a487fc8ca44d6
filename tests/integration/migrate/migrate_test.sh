#!/usr/bin/env bash
# migrate_test.sh DBONT_MIGRATE CASE: dbont-migrate against a real server.
#
# Run through tests/pg/with-pg.sh (DATABASE_URL names a fresh, empty
# database), except the `cli` case, which needs no server.  Each case
# builds its migrations folder in a temporary folder, runs the tool and
# checks exit codes, output and the database's state.  Prints one line per
# check and a summary; exits 1 if any check failed.
#
# Cases: cli apply status changed sql_error duplicate lock concurrent
set -uo pipefail

if [[ $# != 2 ]]; then
    echo "usage: migrate_test.sh DBONT_MIGRATE CASE" >&2
    exit 2
fi
tool=$1
case_name=$2
work=$(mktemp -d /tmp/dbont-migrate-test.XXXXXX)
dir=$work/migrations
mkdir "$dir"
background_pids=()

cleanup() {
    local pid
    for pid in "${background_pids[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

# The advisory lock key documented in dbont/migrate.h ("dbontmig").
LOCK_KEY=7233466471700851047

for candidate in "${PG_BINDIR:-}/psql" /usr/lib/postgresql/15/bin/psql /usr/bin/psql; do
    if [[ -x $candidate ]]; then
        PSQL=$candidate
        break
    fi
done

# ---- checks ------------------------------------------------------------

passed=0
failed=0

pass() {
    passed=$((passed + 1))
    echo "ok - $1"
}

fail() {
    failed=$((failed + 1))
    echo "FAILED - $1"
    shift
    local line
    for line in "$@"; do
        echo "    $line"
    done
}

# In sanitizer builds a leak or a memory error is a failure even where the
# tool is expected to fail anyway.
expect_clean_run() {
    if [[ $err == *Sanitizer* || $err == *"runtime error:"* ]]; then
        fail "sanitizer report from dbont-migrate" "$err"
    fi
}

# migrate ARGS...: runs the tool; sets $status, $out, $err.
migrate() {
    "$tool" "$@" >"$work/out" 2>"$work/err"
    status=$?
    out=$(cat "$work/out")
    err=$(cat "$work/err")
    expect_clean_run
}

show_output() {
    echo "exit status: $status"
    echo "stdout: ${out//$'\n'/$'\n'            }"
    echo "stderr: ${err//$'\n'/$'\n'            }"
}

expect_status() {
    if [[ $status == "$1" ]]; then
        pass "$2 (exit $1)"
    else
        fail "$2: expected exit $1, got $status" "$(show_output)"
    fi
}

# expect_in TEXT HAYSTACK DESCRIPTION
expect_in() {
    if [[ $2 == *"$1"* ]]; then
        pass "$3"
    else
        fail "$3: missing '$1'" "$(show_output)"
    fi
}

expect_not_in() {
    if [[ $2 != *"$1"* ]]; then
        pass "$3"
    else
        fail "$3: unexpected '$1'" "$(show_output)"
    fi
}

sql() {
    "$PSQL" -X -q -t -A -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"
}

# expect_sql QUERY EXPECTED DESCRIPTION
expect_sql() {
    local got
    got=$(sql "$1" 2>&1)
    if [[ $got == "$2" ]]; then
        pass "$3"
    else
        fail "$3: expected '$2', got '$got'" "query: $1"
    fi
}

history() {
    sql "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM dbont_migrations"
}

sha() {
    tr -d '\r' <"$1" | sha256sum | cut -d' ' -f1
}

summary() {
    echo "migrate $case_name: $passed passed, $failed failed"
    [[ $failed == 0 ]]
}

# ---- fixtures ------------------------------------------------------------

write_blog() {
    cat >"$dir/0001_blog.sql" <<'EOF'
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE
);
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    title text NOT NULL
);
EOF
    cat >"$dir/0002_seed.sql" <<'EOF'
INSERT INTO users (email) VALUES ('ada@example.org'), ('grace@example.org');
INSERT INTO posts (user_id, title) VALUES (1, 'Hello'), (2, 'Héllo, wörld');
EOF
    # The generator keeps its schema snapshot beside the migrations.
    printf 'table users\ntable posts\n' >"$dir/schema.snapshot"
}

# ---- cases ---------------------------------------------------------------

case_cli() {
    migrate --help
    expect_status 0 "--help"
    expect_in "usage: dbont-migrate" "$out" "--help prints the usage"
    migrate --version
    expect_status 0 "--version"
    expect_in "dbont-migrate 0.1.0" "$out" "--version prints 0.1.0"
    migrate
    expect_status 2 "no arguments is a usage error"
    migrate --dir "$dir"
    expect_status 2 "no command is a usage error"
    migrate --dir "$dir" frob
    expect_status 2 "an unknown command is a usage error"
    expect_in "unknown command 'frob'" "$err" "the unknown command is named"
    migrate up
    expect_status 2 "up without --dir is a usage error"
    expect_in "--dir DIR is required" "$err" "the missing --dir is named"
    migrate --dir "$dir" --lock-timeout soon up
    expect_status 2 "a non-numeric --lock-timeout is a usage error"
    migrate --dir "$dir" --lock-timeout -1 up
    expect_status 2 "a negative --lock-timeout is a usage error"
    migrate --dir "$dir" --frobnicate up
    expect_status 2 "an unknown option is a usage error"
    migrate --dir
    expect_status 2 "--dir without a value is a usage error"
    migrate --dsn "host=$work/no-server port=1 connect_timeout=2" --dir="$dir" status
    expect_status 1 "an unreachable server is a failure"
    expect_in "dbont-migrate: error: cannot connect" "$err" "the connection error is reported"
}

case_apply() {
    write_blog
    migrate --dir "$dir" up
    expect_status 0 "up applies a folder of two migrations"
    expect_in "applied 0001_blog.sql (" "$out" "the first file is reported with its time"
    expect_in "applied 0002_seed.sql (" "$out" "the second file is reported"
    expect_in "2 applied, 0 pending" "$out" "the summary counts both"
    expect_sql "SELECT count(*) FROM posts" "2" "the migrations ran"
    expect_sql "SELECT title FROM posts WHERE id = 2" "Héllo, wörld" "UTF-8 text arrived intact"
    expect_sql "SELECT string_agg(version || ':' || name || ':' || checksum, ',' ORDER BY version) FROM dbont_migrations" \
        "1:blog:$(sha "$dir/0001_blog.sql"),2:seed:$(sha "$dir/0002_seed.sql")" \
        "the history holds version, name and SHA-256 of each file"
    expect_sql "SELECT bool_and(duration_ms >= 0 AND applied_at <= now()) FROM dbont_migrations" \
        "t" "the history holds durations and times"

    migrate --dir "$dir" up
    expect_status 0 "up a second time succeeds"
    expect_in "nothing to apply" "$out" "up a second time has nothing to apply"
    expect_not_in "applied 0" "$out" "up a second time applies no file"
    expect_sql "SELECT count(*) FROM posts" "2" "no migration ran twice"

    # A checkout with Windows line ends is the same migration.
    sed -i 's/$/\r/' "$dir/0001_blog.sql"
    migrate --dir "$dir" up
    expect_status 0 "a file converted to CR LF is not a change"
    expect_in "nothing to apply" "$out" "nothing to apply after the CR LF conversion"

    cat >"$dir/0003_tags.sql" <<'EOF'
CREATE TABLE tags (name text PRIMARY KEY);
EOF
    migrate --dsn "$DATABASE_URL" --dir "$dir/" up
    expect_status 0 "up with --dsn and a trailing slash applies a new file"
    expect_in "applied 0003_tags.sql" "$out" "only the new file is applied"
    expect_not_in "0001_blog" "$out" "older files are not applied again"
    expect_in "1 applied, 0 pending" "$out" "the summary counts one"
    expect_sql "SELECT to_regclass('tags') IS NOT NULL" "t" "the new table exists"
}

case_status() {
    write_blog
    migrate --dir "$dir" status
    expect_status 0 "status on a fresh database"
    expect_in "0001_blog.sql  pending" "$out" "status shows a pending file"
    expect_in "0 applied, 2 pending, 0 changed, 0 missing" "$out" "status counts pending files"
    expect_sql "SELECT to_regclass('dbont_migrations') IS NULL" "t" "status creates nothing"

    migrate --dir "$dir" up
    expect_status 0 "up"
    echo "SELECT 1;" >"$dir/0003_tags.sql"
    migrate --dir "$dir" status
    expect_status 0 "status with applied and pending files"
    if [[ $out =~ 0001_blog.sql\ \ applied\ [0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:.]+Z ]]; then
        pass "status shows an applied file with its time"
    else
        fail "status shows an applied file with its time" "$(show_output)"
    fi
    expect_in "0002_seed.sql  applied " "$out" "status shows the second applied file"
    expect_in "0003_tags.sql  pending" "$out" "status shows the new file as pending"
    expect_in "2 applied, 1 pending, 0 changed, 0 missing" "$out" "status counts both kinds"

    echo "-- edited" >>"$dir/0002_seed.sql"
    migrate --dir "$dir" status
    expect_status 1 "status with a changed file fails"
    expect_in "0002_seed.sql  CHANGED" "$out" "status marks the changed file"
    expect_in "$(sha "$dir/0002_seed.sql")" "$out" "status shows the file's checksum"

    rm "$dir/0002_seed.sql"
    migrate --dir "$dir" status
    expect_status 1 "status with a missing applied file fails"
    expect_in "(version 2 'seed')  MISSING" "$out" "status names the missing version"
    expect_in "1 applied, 1 pending, 0 changed, 1 missing" "$out" "status counts the missing file"

    migrate --dir "$dir" up
    expect_status 1 "up refuses while an applied file is missing"
    expect_in "$dir: error: migration 2 'seed' was applied" "$err" "up names the missing migration"
    expect_sql "SELECT count(*) FROM dbont_migrations" "2" "up applied nothing"
}

case_changed() {
    write_blog
    migrate --dir "$dir" up
    expect_status 0 "up"
    local old
    old=$(sha "$dir/0001_blog.sql")
    sed -i 's/email text/email varchar(200)/' "$dir/0001_blog.sql"
    echo "CREATE TABLE later (id int);" >"$dir/0003_later.sql"

    migrate --dir "$dir" up
    expect_status 1 "up refuses a changed applied file"
    expect_in "$dir/0001_blog.sql: error: this migration was applied and has changed" "$err" \
        "the refusal names the file"
    expect_in "stored checksum $old" "$err" "the refusal shows the stored checksum"
    expect_in "file checksum $(sha "$dir/0001_blog.sql")" "$err" \
        "the refusal shows the current checksum"
    expect_in "nothing was applied" "$err" "the refusal says nothing was applied"
    expect_not_in "applied 0003" "$out" "the pending file is not applied"
    expect_sql "SELECT to_regclass('later') IS NULL" "t" "the pending file did not run"
    expect_sql "SELECT count(*) FROM dbont_migrations" "2" "the history is unchanged"
}

case_sql_error() {
    echo "CREATE TABLE a (id int);" >"$dir/0001_ok.sql"
    # CR LF line ends and multi-byte characters before the error: LINE:COL
    # count lines and characters of the text, not bytes.
    printf '%s\r\n' \
        "-- a typo, after some UTF-8: café, naïve, 日本語" \
        "CREATE TABLE b (id int);" \
        "INSERT INTO b VALUES (1);" \
        "SELECT 'héllo', nosuchcolumn FROM b;" >"$dir/0002_bad.sql"
    echo "CREATE TABLE c (id int);" >"$dir/0003_after.sql"

    migrate --dir "$dir" up
    expect_status 1 "up fails on an SQL error"
    expect_in "applied 0001_ok.sql" "$out" "the file before the error is applied"
    expect_in "$dir/0002_bad.sql:4:17: error: 42703 column \"nosuchcolumn\" does not exist" \
        "$err" "the error has FILE:LINE:COL, SQLSTATE and message"
    expect_sql "SELECT string_agg(version::text, ',') FROM dbont_migrations" "1" \
        "only the first file is recorded"
    expect_sql "SELECT to_regclass('b') IS NULL" "t" "the failed file was rolled back"
    expect_sql "SELECT to_regclass('c') IS NULL" "t" "the file after the error did not run"
    expect_not_in "0003_after" "$out" "the file after the error is not reported"

    # An error without a position: FILE alone, and the server's DETAIL.
    printf 'CREATE TABLE b (id int PRIMARY KEY);\nINSERT INTO b VALUES (1), (1);\n' \
        >"$dir/0002_bad.sql"
    migrate --dir "$dir" up
    expect_status 1 "up fails on a duplicate key"
    expect_in "$dir/0002_bad.sql: error: 23505 duplicate key value violates unique constraint" \
        "$err" "an error without position names the file and SQLSTATE"
    expect_in "DETAIL: Key (id)=(1) already exists." "$err" "the DETAIL line is shown"

    # A syntax error in the very first word is at 1:1.
    printf 'CRATE TABLE b (id int);\n' >"$dir/0002_bad.sql"
    migrate --dir "$dir" up
    expect_status 1 "up fails on a syntax error"
    expect_in "$dir/0002_bad.sql:1:1: error: 42601 syntax error at or near \"CRATE\"" "$err" \
        "a syntax error at the start is 1:1"

    # A deferred constraint fails at COMMIT, which still undoes the file.
    printf '%s\n' \
        "CREATE TABLE b (id int PRIMARY KEY);" \
        "CREATE TABLE b_child (b_id int REFERENCES b DEFERRABLE INITIALLY DEFERRED);" \
        "INSERT INTO b_child VALUES (42);" >"$dir/0002_bad.sql"
    migrate --dir "$dir" up
    expect_status 1 "up fails when COMMIT fails"
    expect_in "$dir/0002_bad.sql: error: COMMIT failed: 23503 insert or update on table \"b_child\"" \
        "$err" "a failed COMMIT names the file and SQLSTATE"
    expect_sql "SELECT to_regclass('b') IS NULL AND to_regclass('b_child') IS NULL" "t" \
        "the file whose COMMIT failed left nothing"
    expect_sql "SELECT count(*) FROM dbont_migrations" "1" "the failed file is not recorded"

    # A file that ends the transaction itself cannot be made atomic.
    printf 'CREATE TABLE b (id int);\nCOMMIT;\n' >"$dir/0002_bad.sql"
    migrate --dir "$dir" up
    expect_status 1 "up refuses a file that commits by itself"
    expect_in "$dir/0002_bad.sql: error: the file ends the transaction itself" "$err" \
        "the message explains the COMMIT"
    sql "DROP TABLE IF EXISTS b" >/dev/null

    printf 'CREATE TABLE b (id int);\n' >"$dir/0002_bad.sql"
    migrate --dir "$dir" up
    expect_status 0 "after the fix up applies the rest"
    expect_in "2 applied, 0 pending" "$out" "both remaining files are applied"
    expect_sql "SELECT string_agg(version::text, ',' ORDER BY version) FROM dbont_migrations" \
        "1,2,3" "every file is recorded once"
}

case_duplicate() {
    echo "CREATE TABLE a (id int);" >"$dir/0001_a.sql"
    echo "CREATE TABLE b (id int);" >"$dir/0001_b.sql"
    echo "CREATE TABLE c (id int);" >"$dir/0002_c.sql"
    migrate --dir "$dir" up
    expect_status 1 "up refuses two files with one version"
    expect_in "$dir: error: version 1 is used by both 0001_a.sql and 0001_b.sql" "$err" \
        "the error names both files"
    expect_sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" "0" \
        "nothing was applied, not even the history table"
    migrate --dir "$dir" status
    expect_status 1 "status refuses them too"

    rm "$dir/0001_b.sql"
    echo "SELECT 1;" >"$dir/12_short.sql"
    migrate --dir "$dir" up
    expect_status 1 "up refuses a .sql file with a bad name"
    expect_in "$dir/12_short.sql: error: not a valid migration file name" "$err" \
        "the error names the badly named file"
    expect_sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" "0" \
        "nothing was applied"
}

# The migration lock in this test's database (pg_locks shows every
# database's advisory locks, and other tests run in parallel).
LOCK_ROWS="FROM pg_locks WHERE locktype = 'advisory' AND granted
    AND classid = ($LOCK_KEY >> 32) AND objid = ($LOCK_KEY & 4294967295) AND objsubid = 1
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"

# Waits until some session holds the migration lock (at most 10 s).
wait_for_lock() {
    for _ in $(seq 1 100); do
        if [[ $(sql "SELECT count(*) $LOCK_ROWS") == 1 ]]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

case_lock() {
    echo "CREATE TABLE t (id int);" >"$dir/0001_t.sql"
    "$PSQL" -X -q "$DATABASE_URL" -c "SELECT pg_advisory_lock($LOCK_KEY)" \
        -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
    background_pids+=($!)
    if wait_for_lock; then
        pass "another session holds the lock"
    else
        fail "another session holds the lock: it never showed in pg_locks"
    fi

    local start end
    start=$(date +%s.%N)
    migrate --dir "$dir" --lock-timeout 1 up
    end=$(date +%s.%N)
    expect_status 1 "up gives up when the lock stays taken"
    expect_in "another dbont-migrate holds the lock" "$err" "the message says who is in the way"
    expect_in "held by server process" "$err" "the message names the holder's process"
    if awk -v s="$start" -v e="$end" 'BEGIN { exit !(e - s >= 1.0 && e - s < 10) }'; then
        pass "up waited about the timeout ($(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }') s)"
    else
        fail "up waited $(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }') s, not about 1 s"
    fi
    expect_sql "SELECT to_regclass('t') IS NULL" "t" "nothing was applied without the lock"

    sql "SELECT pg_terminate_backend(pid) $LOCK_ROWS" >/dev/null
    wait "${background_pids[@]}" 2>/dev/null
    background_pids=()

    migrate --dir "$dir" --lock-timeout 5 up
    expect_status 0 "up succeeds once the lock is free"
    expect_in "applied 0001_t.sql" "$out" "the file is applied then"
}

case_concurrent() {
    echo "CREATE TABLE runs (file text NOT NULL);" >"$dir/0001_runs.sql"
    # A slow file, so that the second migrator arrives while the first works.
    printf "INSERT INTO runs VALUES ('0002');\nSELECT pg_sleep(0.5);\n" >"$dir/0002_slow.sql"
    for v in 0003 0004 0005; do
        echo "INSERT INTO runs VALUES ('$v');" >"$dir/${v}_step.sql"
    done

    "$tool" --dir "$dir" --lock-timeout 30 up >"$work/out1" 2>"$work/err1" &
    local p1=$!
    "$tool" --dir "$dir" --lock-timeout 30 up >"$work/out2" 2>"$work/err2" &
    local p2=$!
    local s1=0 s2=0
    wait "$p1" || s1=$?
    wait "$p2" || s2=$?
    status="$s1 $s2"
    out=$(cat "$work/out1" "$work/out2")
    err=$(cat "$work/err1" "$work/err2")
    expect_clean_run

    expect_status "0 0" "two concurrent up runs both succeed"
    local applied
    applied=$(grep -c '^applied ' <<<"$out")
    if [[ $applied == 5 ]]; then
        pass "five files applied in total across both runs"
    else
        fail "expected 5 'applied' lines across both runs, got $applied" "$(show_output)"
    fi
    expect_in "5 applied, 0 pending" "$out" "one run applied everything"
    expect_in "nothing to apply" "$out" "the other found nothing left"
    expect_sql "SELECT string_agg(file, ',' ORDER BY file) FROM runs" "0002,0003,0004,0005" \
        "every file ran exactly once"
    expect_sql "SELECT count(*), count(DISTINCT version) FROM dbont_migrations" "5|5" \
        "every file is recorded exactly once"
}

case "$case_name" in
cli | apply | status | changed | sql_error | duplicate | lock | concurrent) ;;
*)
    echo "migrate_test.sh: unknown case '$case_name'" >&2
    exit 2
    ;;
esac
if [[ $case_name != cli && -z ${DATABASE_URL:-} ]]; then
    echo "migrate_test.sh: DATABASE_URL is not set (run through tests/pg/with-pg.sh)" >&2
    exit 2
fi
"case_$case_name"
summary
