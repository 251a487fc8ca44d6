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
#        down down_no_file down_sql_error down_too_many out_of_order down_lock
#        steps invalid_index resume down_steps partial_refusals concurrent_index
#        verify one_statement partition_indexes
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

# expect_history EXPECTED DESCRIPTION: "1:users,2:posts", "" when empty.
expect_history() {
    local got
    got=$(history 2>&1)
    if [[ $got == "$1" ]]; then
        pass "$2"
    else
        fail "$2: expected history '$1', got '$got'"
    fi
}

# The columns of a table, in order ("" when there is no such table).
columns() {
    sql "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = '$1'"
}

expect_columns() {
    local got
    got=$(columns "$1" 2>&1)
    if [[ $got == "$2" ]]; then
        pass "$3"
    else
        fail "$3: expected columns '$2' in $1, got '$got'"
    fi
}

# The files named by the "reverted" lines of the last run, in order.
reverted_files() {
    grep '^reverted ' <<<"$out" | cut -d' ' -f2 | paste -sd, -
}

# Seconds between two `date +%s.%N` readings, as "1.23".
elapsed() {
    awk -v s="$1" -v e="$2" 'BEGIN { printf "%.2f", e - s }'
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

# Three migrations, each with its down file: tables users and posts, then
# a column and an index on users.
write_reversible() {
    cat >"$dir/0001_users.sql" <<'EOF'
CREATE TABLE users (
    id int PRIMARY KEY,
    email text NOT NULL
);
EOF
    echo "DROP TABLE users;" >"$dir/0001_users.down.sql"
    cat >"$dir/0002_posts.sql" <<'EOF'
CREATE TABLE posts (
    id int PRIMARY KEY,
    user_id int NOT NULL REFERENCES users (id)
);
EOF
    echo "DROP TABLE posts;" >"$dir/0002_posts.down.sql"
    cat >"$dir/0003_user_name.sql" <<'EOF'
ALTER TABLE users ADD COLUMN name text;
CREATE INDEX users_email_idx ON users (email);
EOF
    cat >"$dir/0003_user_name.down.sql" <<'EOF'
DROP INDEX users_email_idx;
ALTER TABLE users DROP COLUMN name;
EOF
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

    # down [N]
    migrate --help
    expect_in "down [N]" "$out" "--help describes down [N]"
    expect_in ".down.sql" "$out" "--help names the down files"
    expect_in "Exit status: 0 success, 1 failure, 2 usage error" "$out" "--help gives the exit codes"
    local bad
    for bad in 0 -1 abc 1.5 2x 99999999999999999999 ""; do
        migrate --dir "$dir" down "$bad"
        expect_status 2 "down '$bad' is a usage error"
        expect_in "down N needs a whole number of migrations >= 1, not '$bad'" "$err" \
            "down '$bad' is named in the usage error"
    done
    migrate --dir "$dir" down 1 2
    expect_status 2 "down with two numbers is a usage error"
    expect_in "unexpected argument '2'" "$err" "the second number is named"
    migrate --dir "$dir" up 2
    expect_status 2 "up takes no number"
    expect_in "unexpected argument '2'" "$err" "the number after up is named"
    migrate --dir "$dir" status 1
    expect_status 2 "status takes no number"
    migrate down
    expect_status 2 "down without --dir is a usage error"
    expect_in "--dir DIR is required" "$err" "the missing --dir is named for down"
    migrate --dsn "host=$work/no-server port=1 connect_timeout=2" down 3 --dir "$dir"
    expect_status 1 "down N with options after it reaches the connection (and fails there)"
    expect_in "dbont-migrate: error: cannot connect" "$err" "down reports the connection error"

    # verify
    migrate --help
    expect_in "up | down [N] | status | verify" "$out" "--help lists verify"
    expect_in "  verify   check, read-only" "$out" "--help describes verify"
    migrate --dir "$dir" verify 1
    expect_status 2 "verify takes no number"
    expect_in "unexpected argument '1'" "$err" "the number after verify is named"
    migrate --dir "$dir" frob
    expect_in "expected up, down, status, verify or partitions" "$err" \
        "the usage error lists verify and partitions"
    migrate verify
    expect_status 2 "verify without --dir is a usage error"
    migrate --dsn "host=$work/no-server port=1 connect_timeout=2" --dir "$dir" verify
    expect_status 1 "verify against an unreachable server is a failure"
    expect_in "dbont-migrate: error: cannot connect" "$err" "verify reports the connection error"

    # partitions [--at TIMESTAMPTZ]: --dir is optional
    migrate --help
    expect_in "dbont-migrate [--dsn DSN] [--dir DIR] partitions [--at TIMESTAMPTZ]" "$out" \
        "--help gives the partitions form"
    expect_in "  --at TIMESTAMPTZ" "$out" "--help describes --at"
    migrate --dsn "host=$work/no-server port=1 connect_timeout=2" partitions
    expect_status 1 "partitions needs no --dir (it reaches the connection, and fails there)"
    expect_in "dbont-migrate: error: cannot connect" "$err" "partitions reports the connection error"
    migrate --dsn "host=$work/no-server port=1 connect_timeout=2" partitions --at "2027-01-01 00:00+00"
    expect_status 1 "partitions --at TIMESTAMPTZ reaches the connection"
    migrate partitions --at
    expect_status 2 "--at without a value is a usage error"
    migrate --dir "$dir" --at "2027-01-01" up
    expect_status 2 "--at with up is a usage error"
    expect_in "--at is for partitions only, not for up" "$err" "the misplaced --at is named"
    migrate partitions 2027
    expect_status 2 "partitions takes no other argument"
    expect_in "unexpected argument '2027'" "$err" "the stray argument is named"
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

case_down() {
    write_reversible
    migrate --dir "$dir" up
    expect_status 0 "up applies three migrations with down files"
    expect_in "3 applied, 0 pending" "$out" "all three are applied"
    sql "INSERT INTO users (id, email, name) VALUES (1, 'ada@example.org', 'Ada')" >/dev/null

    migrate --dir "$dir" status
    expect_status 0 "status"
    expect_in "down: 0001_users.down.sql" "$out" "status shows the down file of 0001"
    expect_in "down: 0003_user_name.down.sql" "$out" "status shows the down file of 0003"
    if [[ $out =~ 0002_posts.sql\ +applied\ [0-9-]+\ [0-9:.]+Z\ \ down:\ 0002_posts.down.sql ]]; then
        pass "status puts the down file on the applied line"
    else
        fail "status puts the down file on the applied line" "$(show_output)"
    fi

    migrate --dir "$dir" down
    expect_status 0 "down reverts one migration"
    expect_in "reverted 0003_user_name.sql with 0003_user_name.down.sql (" "$out" \
        "down names the reverted file and its down file"
    expect_in "1 reverted; now 2 applied, 1 pending" "$out" "down prints a summary"
    expect_not_in "0002_posts" "$out" "down without N reverts only the newest"
    expect_history "1:users,2:posts" "the history lost only version 3"
    expect_columns users "id,email" "the column added by 0003 is gone"
    expect_sql "SELECT to_regclass('users_email_idx') IS NULL" "t" "the index added by 0003 is gone"
    expect_sql "SELECT to_regclass('posts') IS NOT NULL" "t" "0002's table is still there"
    expect_sql "SELECT email FROM users" "ada@example.org" "the data survives the down"

    migrate --dir "$dir" status
    expect_status 0 "status after down"
    expect_in "0003_user_name.sql  pending" "$out" "the reverted version is pending again"
    expect_in "2 applied, 1 pending, 0 changed, 0 missing" "$out" "status counts it pending"

    sql "DELETE FROM users" >/dev/null
    migrate --dir "$dir" down 2
    expect_status 0 "down 2 reverts two migrations"
    if [[ $(reverted_files) == "0002_posts.sql,0001_users.sql" ]]; then
        pass "down 2 reverts the newest first"
    else
        fail "down 2 reverts the newest first: got '$(reverted_files)'" "$(show_output)"
    fi
    expect_in "2 reverted; now 0 applied, 3 pending" "$out" "down 2 prints a summary"
    expect_history "" "the history is empty"
    expect_sql "SELECT to_regclass('users') IS NULL AND to_regclass('posts') IS NULL" "t" \
        "both tables are gone"
    expect_sql "SELECT to_regclass('dbont_migrations') IS NOT NULL" "t" \
        "the history table itself stays"

    migrate --dir "$dir" up
    expect_status 0 "up re-applies the reverted migrations"
    expect_in "3 applied, 0 pending" "$out" "all three are applied again"
    expect_history "1:users,2:posts,3:user_name" "the history has all three again"
    expect_sql "SELECT string_agg(checksum, ',' ORDER BY version) FROM dbont_migrations" \
        "$(sha "$dir/0001_users.sql"),$(sha "$dir/0002_posts.sql"),$(sha "$dir/0003_user_name.sql")" \
        "the history records the up files' checksums, not the down files'"
    expect_columns users "id,email,name" "the column is back"

    # A down file may be fixed after its up file was applied: it is not
    # in the history.
    printf -- '-- fixed later\r\nDROP INDEX users_email_idx;\r\nALTER TABLE users DROP COLUMN name;\r\n' \
        >"$dir/0003_user_name.down.sql"
    migrate --dir "$dir" status
    expect_status 0 "an edited down file does not make its migration CHANGED"
    migrate --dsn "$DATABASE_URL" --dir "$dir/" down 1
    expect_status 0 "down 1 with --dsn, a trailing slash and a CR LF down file"
    expect_in "reverted 0003_user_name.sql" "$out" "down 1 reverts the newest"
    expect_history "1:users,2:posts" "down 1 removed version 3 from the history"
}

case_down_no_file() {
    write_reversible
    rm "$dir/0002_posts.down.sql"
    migrate --dir "$dir" up
    expect_status 0 "up"

    migrate --dir "$dir" status
    expect_in "down: none" "$out" "status shows that 0002 has no down file"

    migrate --dir "$dir" down 2
    expect_status 1 "down 2 refuses when one of the two has no down file"
    expect_in "$dir/0002_posts.sql: error: this migration has no down migration (no 0002_posts.down.sql in the folder)" \
        "$err" "the error names the up file and the missing down file"
    expect_in "$dir: error: nothing was reverted" "$err" "the error says nothing was reverted"
    expect_not_in "reverted 0" "$out" "no file is reported reverted"
    expect_history "1:users,2:posts,3:user_name" "the history is unchanged"
    expect_columns users "id,email,name" "0003 was not reverted although it has a down file"

    migrate --dir "$dir" down
    expect_status 0 "down 1 still works: the newest has a down file"
    expect_in "reverted 0003_user_name.sql" "$out" "0003 is reverted"
    migrate --dir "$dir" down
    expect_status 1 "down refuses 0002 now that it is the newest"
    expect_in "$dir/0002_posts.sql: error: this migration has no down migration" "$err" \
        "the error names 0002"
    expect_history "1:users,2:posts" "nothing more was reverted"
}

case_down_sql_error() {
    write_reversible
    migrate --dir "$dir" up
    expect_status 0 "up"

    # An error on line 3, after UTF-8 text and CR LF line ends; the first
    # statements of the file must be rolled back with it.
    printf '%s\r\n' \
        "DROP INDEX users_email_idx; -- café, 日本語" \
        "ALTER TABLE users DROP COLUMN name;" \
        "SELECT 'é', nosuchcolumn FROM users;" >"$dir/0003_user_name.down.sql"
    migrate --dir "$dir" down
    expect_status 1 "down fails on an SQL error"
    expect_in "$dir/0003_user_name.down.sql:3:13: error: 42703 column \"nosuchcolumn\" does not exist" \
        "$err" "the error has DOWNFILE:LINE:COL, SQLSTATE and message"
    expect_in "0003_user_name.down.sql was rolled back; 0003_user_name.sql is still applied" "$err" \
        "the output says the down file was rolled back"
    expect_in "nothing was reverted" "$err" "the output says nothing was reverted"
    expect_not_in "reverted 0" "$out" "no file is reported reverted"
    expect_history "1:users,2:posts,3:user_name" "the history is unchanged"
    expect_columns users "id,email,name" "the column dropped before the error is back"
    expect_sql "SELECT to_regclass('users_email_idx') IS NOT NULL" "t" \
        "the index dropped before the error is back"

    # The newest reverts, the next one fails: the first revert stays.
    printf 'DROP INDEX users_email_idx;\nALTER TABLE users DROP COLUMN name;\n' \
        >"$dir/0003_user_name.down.sql"
    printf 'DROP TABLE posts;\nSELECT * FROM nosuchtable;\n' >"$dir/0002_posts.down.sql"
    migrate --dir "$dir" down 3
    expect_status 1 "down 3 fails on the second file"
    expect_in "reverted 0003_user_name.sql" "$out" "the first revert is reported"
    expect_in "$dir/0002_posts.down.sql:2:15: error: 42P01 relation \"nosuchtable\" does not exist" \
        "$err" "the second file's error has FILE:LINE:COL"
    expect_in "the 1 migration reverted before the error stays reverted: 0003_user_name.sql" \
        "$err" "the output says the earlier revert stays"
    expect_not_in "reverted 0001" "$out" "the oldest is not reverted"
    expect_history "1:users,2:posts" "only version 3 left the history"
    expect_columns users "id,email" "0003 stays reverted"
    expect_sql "SELECT to_regclass('posts') IS NOT NULL" "t" "the failed file's DROP was rolled back"

    # A down file that commits by itself cannot be made atomic.
    printf 'COMMIT;\n' >"$dir/0002_posts.down.sql"
    migrate --dir "$dir" down
    expect_status 1 "down refuses a down file that commits by itself"
    expect_in "$dir/0002_posts.down.sql: error: the file ends the transaction itself" "$err" \
        "the message names the down file"
    expect_history "1:users,2:posts" "the version stays in the history"
}

case_down_too_many() {
    write_reversible
    migrate --dir "$dir" down
    expect_status 1 "down on a database without history fails"
    expect_in "$dir: error: cannot revert 1 migration: no migration is applied; nothing was reverted" \
        "$err" "the error says nothing is applied"
    expect_sql "SELECT to_regclass('dbont_migrations') IS NULL" "t" "down creates no history table"

    migrate --dir "$dir" up
    expect_status 0 "up"
    migrate --dir "$dir" down 5
    expect_status 1 "down 5 with 3 applied is refused"
    expect_in "$dir: error: cannot revert 5 migrations: only 3 are applied; nothing was reverted" \
        "$err" "the error gives both numbers"
    expect_not_in "reverted 0" "$out" "no file is reported reverted"
    expect_history "1:users,2:posts,3:user_name" "the history is unchanged"
    expect_columns users "id,email,name" "the schema is unchanged"

    # The same integrity checks as up: a changed applied file stops down.
    echo "-- edited" >>"$dir/0001_users.sql"
    migrate --dir "$dir" down
    expect_status 1 "down refuses while an applied file has changed"
    expect_in "$dir/0001_users.sql: error: this migration was applied and has changed" "$err" \
        "the changed file is named"
    expect_in "$dir: error: nothing was reverted" "$err" "down says nothing was reverted"
    expect_history "1:users,2:posts,3:user_name" "the history is unchanged after the refusal"
    sed -i '$d' "$dir/0001_users.sql"

    # ... and so does a down file without its up file, and a missing applied file.
    mv "$dir/0003_user_name.sql" "$work/"
    migrate --dir "$dir" down
    expect_status 1 "down refuses a down file whose up file is gone"
    expect_in "$dir/0003_user_name.down.sql: error: down file without its up file: there is no 0003_user_name.sql" \
        "$err" "the orphan down file is named"
    rm "$dir/0003_user_name.down.sql"
    migrate --dir "$dir" down
    expect_status 1 "down refuses while an applied file is missing"
    expect_in "$dir: error: migration 3 'user_name' was applied" "$err" "the missing version is named"
    expect_history "1:users,2:posts,3:user_name" "the history is still unchanged"
}

case_out_of_order() {
    echo "CREATE TABLE a (id int);" >"$dir/0001_a.sql"
    echo "CREATE TABLE c (id int);" >"$dir/0003_c.sql"
    migrate --dir "$dir" up
    expect_status 0 "up applies 0001 and 0003"

    # 0002 arrives from another branch after 0003 was applied.
    echo "CREATE TABLE b (id int);" >"$dir/0002_b.sql"
    echo "DROP TABLE b;" >"$dir/0002_b.down.sql"
    echo "CREATE TABLE d (id int);" >"$dir/0004_d.sql"
    migrate --dir "$dir" up
    expect_status 1 "up refuses a pending file older than the newest applied one"
    expect_in "$dir/0002_b.sql: error: this migration is not applied, but it is older than the newest applied migration, 0003_c.sql (version 3)" \
        "$err" "the error names the file and the newest applied version"
    expect_in "renumber it above 3, e.g. to 0005_b.sql and its down file to 0005_b.down.sql" \
        "$err" "the error tells the user to renumber it (with its down file)"
    expect_in "$dir: error: nothing was applied" "$err" "the error says nothing was applied"
    expect_not_in "applied 0" "$out" "no file is reported applied"
    expect_history "1:a,3:c" "the history is unchanged"
    expect_sql "SELECT to_regclass('b') IS NULL AND to_regclass('d') IS NULL" "t" \
        "neither the old nor the newer pending file ran"

    migrate --dir "$dir" status
    expect_status 1 "status fails with an out-of-order file"
    expect_in "0002_b.sql  pending, OUT OF ORDER: older than the newest applied version, 3" \
        "$out" "status marks the out-of-order file"
    expect_in "0004_d.sql  pending" "$out" "status shows the newer file as pending"
    expect_in "2 applied, 2 pending, 0 changed, 0 missing, 1 out of order" "$out" \
        "status counts the out-of-order file"

    mv "$dir/0002_b.sql" "$dir/0005_b.sql"
    mv "$dir/0002_b.down.sql" "$dir/0005_b.down.sql"
    migrate --dir "$dir" up
    expect_status 0 "after renumbering, up applies both"
    expect_in "2 applied, 0 pending" "$out" "two files applied"
    expect_history "1:a,3:c,4:d,5:b" "the history lists them in version order"

    # Two developers picked the same number.
    echo "CREATE TABLE mine (id int);" >"$dir/0006_mine.sql"
    echo "CREATE TABLE theirs (id int);" >"$dir/0006_theirs.sql"
    echo "DROP TABLE theirs;" >"$dir/0006_theirs.down.sql"
    migrate --dir "$dir" up
    expect_status 1 "up refuses two new files with the same version"
    expect_in "$dir: error: version 6 is used by both 0006_mine.sql and 0006_theirs.sql" "$err" \
        "the error names both files"
    expect_not_in "down file" "$err" "the down file of one of them is not an error of its own"
    expect_sql "SELECT to_regclass('mine') IS NULL AND to_regclass('theirs') IS NULL" "t" \
        "neither ran"
    expect_history "1:a,3:c,4:d,5:b" "the history is unchanged"

    # A down file that does not match its up file's name.
    rm "$dir/0006_mine.sql"
    mv "$dir/0006_theirs.down.sql" "$dir/0006_their.down.sql"
    migrate --dir "$dir" up
    expect_status 1 "up refuses a down file whose name differs from its up file's"
    expect_in "$dir/0006_their.down.sql: error: down file without its up file: version 6 is 0006_theirs.sql, whose down file must be named 0006_theirs.down.sql" \
        "$err" "the error names the down file and the expected name"
    expect_history "1:a,3:c,4:d,5:b" "nothing was applied"
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

case_down_lock() {
    write_reversible
    # Reverting 0003 takes a while, so that others arrive while it works.
    printf 'DROP INDEX users_email_idx;\nALTER TABLE users DROP COLUMN name;\nSELECT pg_sleep(2);\n' \
        >"$dir/0003_user_name.down.sql"
    migrate --dir "$dir" up
    expect_status 0 "up"

    "$tool" --dir "$dir" down >"$work/out1" 2>"$work/err1" &
    local slow=$!
    background_pids+=("$slow")
    if wait_for_lock; then
        pass "down holds the migration lock while it works"
    else
        fail "down holds the migration lock: it never showed in pg_locks"
    fi

    migrate --dir "$dir" --lock-timeout 0 up
    expect_status 1 "up does not get the lock while down holds it"
    expect_in "another dbont-migrate holds the lock" "$err" "up says who is in the way"
    migrate --dir "$dir" --lock-timeout 0 down
    expect_status 1 "down does not get the lock while another down holds it"
    expect_in "another dbont-migrate holds the lock" "$err" "down says who is in the way"

    local start end
    start=$(date +%s.%N)
    migrate --dir "$dir" --lock-timeout 30 down
    end=$(date +%s.%N)
    expect_status 0 "a concurrent down waits and then succeeds"
    # Had it not waited, it would have seen 0003 still applied.
    expect_in "reverted 0002_posts.sql" "$out" "the waiting down reverted what the first one left"
    expect_not_in "0003_user_name" "$out" "the waiting down did not revert 0003 again"
    if awk -v s="$start" -v e="$end" 'BEGIN { exit !(e - s >= 0.5) }'; then
        pass "the concurrent down waited ($(elapsed "$start" "$end") s)"
    else
        fail "the concurrent down did not wait: $(elapsed "$start" "$end") s"
    fi
    local s1=0
    wait "$slow" || s1=$?
    background_pids=()
    status=$s1
    out=$(cat "$work/out1")
    err=$(cat "$work/err1")
    expect_clean_run
    expect_status 0 "the first down succeeded"
    expect_in "reverted 0003_user_name.sql" "$out" "the first down reverted 0003"
    expect_history "1:users" "each version was reverted once"

    # up arriving during a slow down waits too, then re-applies what it reverted.
    migrate --dir "$dir" up
    expect_status 0 "up re-applies 0002 and 0003"
    "$tool" --dir "$dir" down >"$work/out1" 2>"$work/err1" &
    slow=$!
    background_pids+=("$slow")
    wait_for_lock || fail "the second slow down never took the lock"
    migrate --dir "$dir" --lock-timeout 30 up
    expect_status 0 "a concurrent up waits and then succeeds"
    # Had it not waited, it would have found 0003 still applied.
    expect_in "applied 0003_user_name.sql" "$out" "the waiting up re-applied what down reverted"
    s1=0
    wait "$slow" || s1=$?
    background_pids=()
    status=$s1
    out=$(cat "$work/out1")
    err=$(cat "$work/err1")
    expect_clean_run
    expect_status 0 "the slow down succeeded"
    expect_history "1:users,2:posts,3:user_name" "all three are applied at the end"
}

# ---- steps: no-transaction steps, progress, recovery, verify ---------------

# The progress rows, as "version:direction:done/steps,..." ("" when none).
progress() {
    sql "SELECT coalesce(string_agg(version || ':' || direction || ':' || steps_done || '/' || steps,
                                    ',' ORDER BY version), '')
         FROM dbont_migration_progress"
}

expect_progress() {
    local got
    got=$(progress 2>&1)
    if [[ $got == "$1" ]]; then
        pass "$2"
    else
        fail "$2: expected progress '$1', got '$got'"
    fi
}

# "t" when the index exists and is valid, "f" when INVALID, "" when absent.
index_valid() {
    sql "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('$1')"
}

expect_index() {
    local got
    got=$(index_valid "$1" 2>&1)
    if [[ $got == "$2" ]]; then
        pass "$3"
    else
        fail "$3: expected indisvalid '$2' for $1, got '$got'"
    fi
}

# The rows of the log table the fixtures write to, in order.
log_rows() {
    sql "SELECT string_agg(step, ',' ORDER BY n) FROM log"
}

expect_log() {
    local got
    got=$(log_rows 2>&1)
    if [[ $got == "$1" ]]; then
        pass "$2"
    else
        fail "$2: expected log '$1', got '$got'"
    fi
}

VERIFIED="checksums match, no invalid indexes, nothing pending"

case_steps() {
    echo "CREATE TABLE plain (id int);" >"$dir/0001_plain.sql"
    migrate --dir "$dir" up
    expect_status 0 "up applies a file without markers"
    expect_sql "SELECT to_regclass('dbont_migration_progress') IS NULL" "t" \
        "a folder without markers creates no progress table"

    cat >"$dir/0002_posts.sql" <<'EOF'
-- 0002_posts.sql: a table, an index built concurrently, more DDL.
CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL);
INSERT INTO posts SELECT g, 'title ' || g FROM generate_series(1, 500) g;
-- dbont:step no-transaction index posts_title_idx
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_idx ON posts (title);
-- dbont:step transaction
ALTER TABLE posts ADD COLUMN slug text;
CREATE TABLE tags (name text PRIMARY KEY);
EOF
    migrate --dir "$dir" up
    expect_status 0 "up applies a file with a no-transaction index step"
    expect_in "applied 0002_posts.sql (" "$out" "the file is reported applied"
    expect_not_in "resumed" "$out" "a fresh run is not a resumed one"
    expect_in "1 applied, 0 pending" "$out" "the summary counts it once"
    expect_not_in "0001_plain" "$out" "the older file is not applied again"
    expect_not_in "note:" "$err" "no repair note: there was no invalid index"
    expect_index posts_title_idx "t" "the concurrently built index is valid"
    expect_sql "SELECT indisunique FROM pg_index WHERE indexrelid = 'posts_title_idx'::regclass" \
        "f" "the index is the one the step built"
    expect_columns posts "id,title,slug" "the transactional step after it ran"
    expect_sql "SELECT to_regclass('tags') IS NOT NULL" "t" "the last step's table exists"
    expect_history "1:plain,2:posts" "the history has one row for the file"
    expect_sql "SELECT checksum FROM dbont_migrations WHERE version = 2" \
        "$(sha "$dir/0002_posts.sql")" "the history row has the whole file's checksum"
    expect_sql "SELECT to_regclass('dbont_migration_progress') IS NOT NULL" "t" \
        "the progress table was created next to the history"
    expect_progress "" "no progress row remains"

    migrate --dir "$dir" status
    expect_status 0 "status after a file of steps"
    expect_in "0002_posts.sql  applied " "$out" "status shows the file applied"
    expect_not_in "PARTIAL" "$out" "status shows nothing partial"
    expect_in "2 applied, 0 pending, 0 changed, 0 missing" "$out" "status counts"
    migrate --dir "$dir" verify
    expect_status 0 "verify after a file of steps"
    expect_in "verified: 2 applied, $VERIFIED" "$out" "verify prints its summary line"
    migrate --dir "$dir" up
    expect_status 0 "up again"
    expect_in "nothing to apply" "$out" "nothing is applied twice"
}

case_invalid_index() {
    cat >"$dir/0001_users.sql" <<'EOF'
CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);
INSERT INTO users SELECT g, 'user' || g || '@example.org' FROM generate_series(1, 200) g;
INSERT INTO users VALUES (201, 'user1@example.org'), (202, 'user2@example.org');
EOF
    cat >"$dir/0002_unique_email.sql" <<'EOF'
-- 0002_unique_email.sql
ALTER TABLE users ADD COLUMN name text;
-- dbont:step no-transaction index users_email_key
-- one address per user
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email);
-- dbont:step transaction
CREATE TABLE after_index (id int);
EOF
    local f=$dir/0002_unique_email.sql
    migrate --dir "$dir" up
    expect_status 1 "up fails when the unique index meets duplicates"
    expect_in "applied 0001_users.sql" "$out" "the file before it is applied"
    expect_in "$f:5: error: 23505 could not create unique index \"users_email_key\"" "$err" \
        "the error is at FILE:LINE of the step's statement, with the SQLSTATE"
    expect_in "DETAIL: Key (email)=(user1@example.org) is duplicated." "$err" \
        "the server's DETAIL is shown"
    expect_in "$f:5: note: the failed build left index users_email_key INVALID; the next up drops and rebuilds it" \
        "$err" "the output says the failed build left an INVALID index"
    expect_in "dbont-migrate: note: applying 0002_unique_email.sql stopped after step 1 of 3: it is not applied yet; fix the cause and run up again: it resumes at step 2 (line 5 of 0002_unique_email.sql)" \
        "$err" "the output says where the next up resumes"
    expect_index users_email_key "f" "the failed concurrent build left an INVALID index"
    expect_history "1:users" "the file is not in the history"
    expect_progress "2:up:1/3" "the progress row says step 1 of 3 is done"
    expect_columns users "id,email,name" "step 1 stays done"
    expect_sql "SELECT to_regclass('after_index') IS NULL" "t" "the step after the failure did not run"

    migrate --dir "$dir" status
    expect_status 1 "status fails while a file is partial"
    expect_in "PARTIAL 0002_unique_email.sql: 1 of 3 steps done (up); the next up resumes at step 2 (line 5)" \
        "$out" "status shows the partial file and the step the next up resumes at"
    expect_in "1 applied, 1 pending, 0 changed, 0 missing, 1 partial" "$out" "status counts it"

    migrate --dir "$dir" verify
    expect_status 1 "verify fails with a partial file and an invalid index"
    expect_in "$f: error: PARTIAL: 1 of 3 steps done (up); the next up resumes at step 2 (line 5)" \
        "$out" "verify names the partial file"
    expect_in "$f:5: error: index users_email_key on table users is INVALID (left by an interrupted or failed concurrent build); the next up drops and rebuilds it" \
        "$out" "verify names the invalid index, its table and the step that rebuilds it"
    expect_not_in "verified:" "$out" "verify does not claim success"
    if [[ $(grep -c ': error: ' <<<"$out") == 2 ]]; then
        pass "verify prints one line per problem"
    else
        fail "verify prints one line per problem" "$(show_output)"
    fi

    # Again without fixing the data: the broken index is dropped first, and
    # the rebuild fails the same way (no second index appears).
    migrate --dir "$dir" up
    expect_status 1 "up without fixing the data fails again"
    expect_in "$f:5: note: index users_email_key was left INVALID by an interrupted build; dropping and rebuilding it" \
        "$err" "up reports dropping the invalid index"
    expect_in "$f:5: error: 23505" "$err" "the rebuild fails on the duplicates again"
    expect_sql "SELECT count(*) FROM pg_class WHERE relname LIKE 'users_email_key%'" "1" \
        "there is still exactly one such index"
    expect_progress "2:up:1/3" "the progress is unchanged"

    sql "DELETE FROM users WHERE id > 200" >/dev/null
    migrate --dir "$dir" up
    expect_status 0 "after the duplicates are gone up finishes the file"
    expect_in "$f:5: note: index users_email_key was left INVALID by an interrupted build; dropping and rebuilding it" \
        "$err" "up reports dropping and rebuilding the invalid index"
    expect_in "applied 0002_unique_email.sql (resumed at step 2 of 3; " "$out" \
        "up reports that it resumed the file at step 2"
    expect_in "1 applied, 0 pending" "$out" "the summary counts the file"
    expect_index users_email_key "t" "the rebuilt index is valid"
    expect_sql "SELECT indisunique FROM pg_index WHERE indexrelid = 'users_email_key'::regclass" \
        "t" "the rebuilt index is unique"
    expect_history "1:users,2:unique_email" "the file is in the history"
    expect_progress "" "the progress row is gone"
    expect_sql "SELECT to_regclass('after_index') IS NOT NULL" "t" "the last step ran"

    migrate --dir "$dir" verify
    expect_status 0 "verify passes after the repair"
    expect_in "verified: 2 applied, $VERIFIED" "$out" "verify prints its summary line"
    migrate --dir "$dir" status
    expect_status 0 "status passes after the repair"
}

case_resume() {
    cat >"$dir/0001_base.sql" <<'EOF'
CREATE TABLE log (n serial PRIMARY KEY, step text NOT NULL);
CREATE TABLE go (ok int);
CREATE TABLE knob (s float8 NOT NULL);
EOF
    # Step 1 would fail if it ran twice (CREATE TABLE without IF NOT
    # EXISTS); step 3 fails while the table go is empty.
    cat >"$dir/0002_multi.sql" <<'EOF'
-- 0002_multi.sql
CREATE TABLE t1 (id int);
INSERT INTO log (step) VALUES ('2.1');
-- dbont:step no-transaction index t1_id_idx
CREATE INDEX CONCURRENTLY IF NOT EXISTS t1_id_idx ON t1 (id);
-- dbont:step transaction
CREATE TABLE t2 (id int);
INSERT INTO log (step) VALUES ('2.3');
SELECT 1 / (SELECT count(*) FROM go)::int;
-- dbont:step transaction
CREATE TABLE t3 (id int);
INSERT INTO log (step) VALUES ('2.4');
EOF
    local f=$dir/0002_multi.sql
    migrate --dir "$dir" up
    expect_status 1 "up fails in step 3 of 4"
    expect_in "$f:7: error: 22012 division by zero" "$err" \
        "an error without a position is at the line of the step's first statement"
    expect_in "stopped after step 2 of 4" "$err" "the output says two steps are done"
    expect_progress "2:up:2/4" "the progress row says 2 of 4"
    expect_log "2.1" "step 1 ran once, step 3 was rolled back"
    expect_sql "SELECT to_regclass('t2') IS NULL" "t" "the failed step's table was rolled back"
    expect_index t1_id_idx "t" "the no-transaction step's index is there"

    migrate --dir "$dir" status
    expect_status 1 "status fails on the partial file"
    expect_in "PARTIAL 0002_multi.sql: 2 of 4 steps done (up); the next up resumes at step 3 (line 7)" \
        "$out" "status shows where up resumes"

    sql "INSERT INTO go VALUES (1)" >/dev/null
    migrate --dir "$dir" up
    expect_status 0 "up resumes and finishes the file"
    expect_in "applied 0002_multi.sql (resumed at step 3 of 4; " "$out" "up says it resumed at step 3"
    expect_log "2.1,2.3,2.4" "no earlier step ran again (step 1 would have failed)"
    expect_sql "SELECT count(*) FROM pg_class WHERE relname IN ('t1', 't2', 't3')" "3" \
        "all of the file's tables exist"
    expect_history "1:base,2:multi" "the file is recorded once"
    expect_progress "" "no progress row remains"

    # A crash between a no-transaction step and its progress update: the
    # index exists, the row still says step 1.  The step runs again (it is
    # idempotent), and step 1 does not.
    cat >"$dir/0003_more.sql" <<'EOF'
-- 0003_more.sql
CREATE TABLE t4 (id int);
INSERT INTO log (step) VALUES ('3.1');
-- dbont:step no-transaction index t4_id_idx
CREATE INDEX CONCURRENTLY IF NOT EXISTS t4_id_idx ON t4 (id);
-- dbont:step transaction
INSERT INTO log (step) VALUES ('3.3');
EOF
    sql "CREATE TABLE t4 (id int); INSERT INTO log (step) VALUES ('3.1');
         INSERT INTO dbont_migration_progress (version, direction, checksum, steps_done, steps)
         VALUES (3, 'up', '$(sha "$dir/0003_more.sql")', 1, 3)" >/dev/null
    sql "CREATE INDEX CONCURRENTLY t4_id_idx ON t4 (id)" >/dev/null
    migrate --dir "$dir" status
    expect_in "PARTIAL 0003_more.sql: 1 of 3 steps done (up); the next up resumes at step 2 (line 5)" \
        "$out" "status shows the crashed file as partial"
    migrate --dir "$dir" up
    expect_status 0 "up resumes after the simulated crash"
    expect_in "applied 0003_more.sql (resumed at step 2 of 3; " "$out" "up resumed at step 2"
    expect_log "2.1,2.3,2.4,3.1,3.3" "step 1 did not run again, step 3 ran once"
    expect_index t4_id_idx "t" "the index is valid"
    expect_not_in "INVALID" "$err" "a valid index is not rebuilt"
    expect_progress "" "no progress row remains"

    # kill -9 while a transactional step after a no-transaction one runs.
    cat >"$dir/0004_slow.sql" <<'EOF'
-- 0004_slow.sql
CREATE TABLE t5 (id int);
INSERT INTO t5 SELECT generate_series(1, 1000);
INSERT INTO log (step) VALUES ('4.1');
-- dbont:step no-transaction index t5_id_idx
CREATE INDEX CONCURRENTLY IF NOT EXISTS t5_id_idx ON t5 (id);
-- dbont:step transaction
INSERT INTO log (step) VALUES ('4.3');
SELECT pg_sleep(s) FROM knob;
-- dbont:step transaction
INSERT INTO log (step) VALUES ('4.4');
EOF
    sql "INSERT INTO knob VALUES (60)" >/dev/null
    "$tool" --dir "$dir" up >"$work/out1" 2>"$work/err1" &
    local victim=$!
    background_pids+=("$victim")
    local sleeping=""
    for _ in $(seq 1 100); do
        sleeping=$(sql "SELECT pid FROM pg_stat_activity WHERE state = 'active'
                        AND query LIKE '%pg_sleep(s) FROM knob%' AND pid <> pg_backend_pid()")
        [[ -n $sleeping ]] && break
        sleep 0.1
    done
    if [[ -n $sleeping ]]; then
        pass "the migrator reached the slow step"
    else
        fail "the migrator never reached the slow step" "$(cat "$work/err1")"
    fi
    kill -9 "$victim"
    wait "$victim" 2>/dev/null
    background_pids=()
    # The server notices the dead client only when it next writes to it;
    # end its session as a crash would, which also frees the lock.
    sql "SELECT pg_terminate_backend($sleeping)" >/dev/null
    for _ in $(seq 1 100); do
        [[ $(sql "SELECT count(*) $LOCK_ROWS") == 0 ]] && break
        sleep 0.1
    done
    expect_progress "4:up:2/4" "after kill -9 the progress row says 2 of 4"
    expect_log "2.1,2.3,2.4,3.1,3.3,4.1" "the killed step's transaction was rolled back"
    expect_index t5_id_idx "t" "the index step before it is done"
    expect_history "1:base,2:multi,3:more" "the killed file is not in the history"

    migrate --dir "$dir" status
    expect_in "PARTIAL 0004_slow.sql: 2 of 4 steps done (up); the next up resumes at step 3 (line 8)" \
        "$out" "status shows the killed file as partial"
    sql "UPDATE knob SET s = 0" >/dev/null
    migrate --dir "$dir" up
    expect_status 0 "up resumes the killed file"
    expect_in "applied 0004_slow.sql (resumed at step 3 of 4; " "$out" "up resumed at step 3"
    expect_log "2.1,2.3,2.4,3.1,3.3,4.1,4.3,4.4" "every step ran exactly once"
    expect_history "1:base,2:multi,3:more,4:slow" "the history is complete"
    expect_progress "" "no progress row remains"
    migrate --dir "$dir" verify
    expect_status 0 "verify passes at the end"
}

case_down_steps() {
    cat >"$dir/0001_posts.sql" <<'EOF'
CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL);
INSERT INTO posts SELECT g, 'title ' || g FROM generate_series(1, 300) g;
CREATE TABLE knob (s int);
EOF
    echo "DROP TABLE posts; DROP TABLE knob;" >"$dir/0001_posts.down.sql"
    cat >"$dir/0002_posts_title.sql" <<'EOF'
-- 0002_posts_title.sql
-- dbont:step no-transaction index posts_title_idx
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_idx ON posts (title);
EOF
    cat >"$dir/0002_posts_title.down.sql" <<'EOF'
-- 0002_posts_title.down.sql
-- dbont:step no-transaction
DROP INDEX CONCURRENTLY IF EXISTS posts_title_idx;
EOF
    migrate --dir "$dir" up
    expect_status 0 "up applies a file whose only statement is a concurrent index"
    expect_index posts_title_idx "t" "the index is valid"

    migrate --dir "$dir" down
    expect_status 0 "down runs a down file with a no-transaction DROP INDEX CONCURRENTLY step"
    expect_in "reverted 0002_posts_title.sql with 0002_posts_title.down.sql (" "$out" \
        "down reports the revert"
    expect_index posts_title_idx "" "the index is gone"
    expect_history "1:posts" "the version left the history"
    expect_progress "" "no progress row remains"

    migrate --dir "$dir" up
    expect_status 0 "up applies it again"
    expect_index posts_title_idx "t" "the index is back"

    # A down file that stops after its DROP INDEX step: a partial down.
    cat >"$dir/0003_slug.sql" <<'EOF'
ALTER TABLE posts ADD COLUMN slug text;
UPDATE posts SET slug = 'p' || id;
-- dbont:step no-transaction index posts_slug_idx
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS posts_slug_idx ON posts (slug);
EOF
    cat >"$dir/0003_slug.down.sql" <<'EOF'
-- 0003_slug.down.sql
-- dbont:step no-transaction
DROP INDEX CONCURRENTLY IF EXISTS posts_slug_idx;
-- dbont:step transaction
ALTER TABLE posts DROP COLUMN slug;
SELECT 1 / (SELECT count(*) FROM knob)::int;
EOF
    local d=$dir/0003_slug.down.sql
    migrate --dir "$dir" up
    expect_status 0 "up applies 0003"
    expect_index posts_slug_idx "t" "its index is valid"
    migrate --dir "$dir" down
    expect_status 1 "down fails in step 3 of the down file"
    expect_in "$d:5: error: 22012 division by zero" "$err" "the error names the down file and line"
    expect_in "dbont-migrate: note: reverting 0003_slug.sql stopped after step 2 of 3: it is still applied; fix the cause and run down again: it resumes at step 3 (line 5 of 0003_slug.down.sql)" \
        "$err" "the output says where the next down resumes"
    expect_progress "3:down:2/3" "the progress row records the partial down"
    expect_index posts_slug_idx "" "the dropped index stays dropped"
    expect_columns posts "id,title,slug" "the failed step was rolled back"
    expect_history "1:posts,2:posts_title,3:slug" "the version is still applied"

    migrate --dir "$dir" status
    expect_status 1 "status fails on a partial down"
    expect_in "PARTIAL 0003_slug.down.sql: 2 of 3 steps done (down); the next down resumes at step 3 (line 5)" \
        "$out" "status shows the partial down"

    migrate --dir "$dir" up
    expect_status 1 "up refuses while a down is partial"
    expect_in "$d: error: reverting 0003_slug.sql stopped after step 2 of 3: run \`dbont-migrate down\` to finish reverting it" \
        "$err" "up says to finish the down"
    expect_in "$dir: error: nothing was applied" "$err" "up says nothing was applied"

    sql "INSERT INTO knob VALUES (1)" >/dev/null
    migrate --dir "$dir" down
    expect_status 0 "down resumes the partial down"
    expect_in "reverted 0003_slug.sql with 0003_slug.down.sql (resumed at step 3 of 3; " "$out" \
        "down says it resumed at step 3"
    expect_columns posts "id,title" "the column is gone"
    expect_history "1:posts,2:posts_title" "the version left the history"
    expect_progress "" "no progress row remains"

    migrate --dir "$dir" down 2
    expect_status 0 "down 2 reverts the rest"
    expect_history "" "nothing is applied"
    migrate --dir "$dir" up
    expect_status 0 "up applies all three again"
    expect_in "3 applied, 0 pending" "$out" "three files applied"
    expect_index posts_slug_idx "t" "the unique index is back"
}

case_partial_refusals() {
    cat >"$dir/0001_a.sql" <<'EOF'
CREATE TABLE a (id int);
CREATE TABLE knob (s int);
EOF
    echo "DROP TABLE a; DROP TABLE knob;" >"$dir/0001_a.down.sql"
    cat >"$dir/0003_multi.sql" <<'EOF'
CREATE TABLE b (id int);
-- dbont:step transaction
SELECT 1 / (SELECT count(*) FROM knob)::int;
EOF
    echo "DROP TABLE b;" >"$dir/0003_multi.down.sql"
    local f=$dir/0003_multi.sql
    migrate --dir "$dir" up
    expect_status 1 "up stops in step 2 of 2"
    expect_progress "3:up:1/2" "the progress row says 1 of 2"

    migrate --dir "$dir" down
    expect_status 1 "down refuses while an up is partial"
    expect_in "$f: error: applying 0003_multi.sql stopped after step 1 of 2: run \`dbont-migrate up\` to finish applying it" \
        "$err" "down says to finish the up"
    expect_in "$dir: error: nothing was reverted" "$err" "down says nothing was reverted"
    expect_history "1:a" "the history is unchanged"

    local old
    old=$(sha "$f")
    printf 'CREATE TABLE b (id int);\n-- dbont:step transaction\nSELECT 2;\n' >"$f"
    migrate --dir "$dir" up
    expect_status 1 "up refuses a partial file that has changed"
    expect_in "$f: error: applying this file stopped after step 1 of 2, and the file has changed since: progress checksum $old, file checksum $(sha "$f") (put back the text it started with to finish applying it; or undo what its first 1 step did and delete its row from dbont_migration_progress)" \
        "$err" "the refusal names the file and both checksums, and the ways out"
    expect_in "$dir: error: nothing was applied" "$err" "up says nothing was applied"
    expect_progress "3:up:1/2" "the progress row is unchanged"
    migrate --dir "$dir" status
    expect_status 1 "status with a changed partial file"
    expect_in "PARTIAL 0003_multi.sql: 1 of 2 steps done (up), but 0003_multi.sql has changed since (progress checksum $old, file $(sha "$f")); up refuses to resume it" \
        "$out" "status says up refuses to resume it"
    migrate --dir "$dir" verify
    expect_status 1 "verify with a changed partial file"
    expect_in "$f: error: PARTIAL: 1 of 2 steps done (up), but 0003_multi.sql has changed" "$out" \
        "verify names the changed partial file"

    # A pending file older than the partial one would be out of order as
    # soon as that one is finished.
    printf 'CREATE TABLE b (id int);\n-- dbont:step transaction\nSELECT 1 / (SELECT count(*) FROM knob)::int;\n' >"$f"
    echo "SELECT 1;" >"$dir/0002_older.sql"
    migrate --dir "$dir" up
    expect_status 1 "up refuses a pending file older than the partial one"
    expect_in "$dir/0002_older.sql: error: this migration is not applied, but it is older than 0003_multi.sql, which an earlier up stopped in the middle of (after step 1 of 2); renumber it above 3" \
        "$err" "the older file is named"
    expect_progress "3:up:1/2" "the progress row is still unchanged"
    rm "$dir/0002_older.sql"

    sql "INSERT INTO knob VALUES (1)" >/dev/null
    echo "CREATE TABLE c (id int);" >"$dir/0004_c.sql"
    migrate --dir "$dir" up
    expect_status 0 "with the original text back, up resumes"
    expect_in "applied 0003_multi.sql (resumed at step 2 of 2; " "$out" "0003 is resumed"
    expect_in "applied 0004_c.sql (" "$out" "the newer file is applied after it"
    expect_history "1:a,3:multi,4:c" "all three are applied"

    # A stale row (by hand) for an applied version is refused, not guessed about.
    sql "INSERT INTO dbont_migration_progress (version, direction, checksum, steps_done, steps)
         VALUES (4, 'up', 'x', 1, 2)" >/dev/null
    migrate --dir "$dir" up
    expect_status 1 "up refuses a stale progress row"
    expect_in "$dir/0004_c.sql: error: dbont_migration_progress says applying 0004_c.sql stopped after step 1 of 2, but dbont_migrations lists it as applied: the progress row is stale; delete it" \
        "$err" "the stale row is named"
    migrate --dir "$dir" down
    expect_status 1 "down refuses it too (as a partial up)"
    expect_history "1:a,3:multi,4:c" "nothing was reverted"
    sql "DELETE FROM dbont_migration_progress" >/dev/null
    migrate --dir "$dir" verify
    expect_status 0 "verify passes once the stale row is gone"
}

case_concurrent_index() {
    cat >"$dir/0001_big.sql" <<'EOF'
-- 0001_big.sql
CREATE TABLE big (id int PRIMARY KEY, v text NOT NULL);
INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
-- The second migrator arrives while the first one works.
SELECT pg_sleep(0.5);
-- dbont:step no-transaction index big_v_idx
CREATE INDEX CONCURRENTLY IF NOT EXISTS big_v_idx ON big (v);
-- dbont:step transaction
CREATE TABLE runs (n int);
INSERT INTO runs VALUES (1);
EOF
    local start end
    start=$(date +%s.%N)
    "$tool" --dir "$dir" --lock-timeout 60 up >"$work/out1" 2>"$work/err1" &
    local p1=$!
    "$tool" --dir "$dir" --lock-timeout 60 up >"$work/out2" 2>"$work/err2" &
    local p2=$!
    background_pids+=("$p1" "$p2")
    # While they work, the waiter never sits in an open transaction: it
    # polls with single statements.  (The lock holder is left out: between
    # the statements of a transactional step it is idle in a transaction
    # for a moment, which is no harm to anyone.)
    local idle_in_tx=0 samples=0
    while kill -0 "$p1" 2>/dev/null || kill -0 "$p2" 2>/dev/null; do
        local n
        n=$(sql "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()
                 AND state LIKE 'idle in transaction%'
                 AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)" 2>/dev/null)
        [[ $n =~ ^[0-9]+$ ]] && idle_in_tx=$((idle_in_tx + n))
        samples=$((samples + 1))
        sleep 0.05
    done
    local s1=0 s2=0
    wait "$p1" || s1=$?
    wait "$p2" || s2=$?
    background_pids=()
    end=$(date +%s.%N)
    status="$s1 $s2"
    out=$(cat "$work/out1" "$work/out2")
    err=$(cat "$work/err1" "$work/err2")
    expect_clean_run
    expect_status "0 0" "two migrators on a concurrent index step both finish"
    if awk -v s="$start" -v e="$end" 'BEGIN { exit !(e - s < 30) }'; then
        pass "they finish without waiting out a timeout ($(elapsed "$start" "$end") s)"
    else
        fail "they took $(elapsed "$start" "$end") s"
    fi
    if [[ $samples -gt 0 && $idle_in_tx == 0 ]]; then
        pass "the waiting migrator never sat idle in a transaction ($samples samples)"
    else
        fail "sessions idle in a transaction: $idle_in_tx over $samples samples"
    fi
    local applied
    applied=$(grep -c '^applied ' <<<"$out")
    if [[ $applied == 1 ]]; then
        pass "exactly one of them applied the file"
    else
        fail "expected one 'applied' line, got $applied" "$(show_output)"
    fi
    expect_in "1 applied, 0 pending" "$out" "one run applied it"
    expect_in "nothing to apply" "$out" "the other found nothing left"
    expect_sql "SELECT count(*) FROM runs" "1" "the last step ran once"
    expect_history "1:big" "the history has one row"
    expect_index big_v_idx "t" "the index is valid"
    expect_progress "" "no progress row remains"
}

case_verify() {
    echo "CREATE TABLE a (id int);" >"$dir/0001_a.sql"
    echo "CREATE TABLE c (id int, k text);" >"$dir/0003_c.sql"
    migrate --dir "$dir" verify
    expect_status 1 "verify on a fresh database: everything is pending"
    expect_in "$dir/0001_a.sql: error: pending: not applied yet" "$out" "verify names a pending file"
    expect_in "$dir/0003_c.sql: error: pending: not applied yet" "$out" "verify names each pending file"
    expect_sql "SELECT to_regclass('dbont_migrations') IS NULL" "t" "verify creates nothing"

    migrate --dir "$dir" up
    expect_status 0 "up"
    migrate --dir "$dir" verify
    expect_status 0 "verify passes when all is applied"
    expect_in "verified: 2 applied, $VERIFIED" "$out" "verify prints the summary line"
    expect_not_in "error" "$out$err" "verify prints no problem"

    # verify takes no lock: it answers while another session holds it.
    "$PSQL" -X -q "$DATABASE_URL" -c "SELECT pg_advisory_lock($LOCK_KEY)" \
        -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
    background_pids+=($!)
    wait_for_lock || fail "the other session never took the lock"
    migrate --dir "$dir" --lock-timeout 0 verify
    expect_status 0 "verify works while another session holds the migration lock"
    sql "SELECT pg_terminate_backend(pid) $LOCK_ROWS" >/dev/null
    wait "${background_pids[@]}" 2>/dev/null
    background_pids=()

    echo "CREATE TABLE d (id int);" >"$dir/0004_d.sql"
    migrate --dir "$dir" verify
    expect_status 1 "verify fails with a pending file"
    expect_in "$dir/0004_d.sql: error: pending: not applied yet" "$out" "the pending file is named"
    rm "$dir/0004_d.sql"

    echo "CREATE TABLE b (id int);" >"$dir/0002_b.sql"
    migrate --dir "$dir" verify
    expect_status 1 "verify fails with an out-of-order file"
    expect_in "$dir/0002_b.sql: error: pending, OUT OF ORDER: older than the newest applied version, 3" \
        "$out" "the out-of-order file is named"
    rm "$dir/0002_b.sql"

    echo "-- edited" >>"$dir/0001_a.sql"
    migrate --dir "$dir" verify
    expect_status 1 "verify fails with a changed file"
    expect_in "$dir/0001_a.sql: error: CHANGED since it was applied" "$out" "the changed file is named"
    expect_in "$(sha "$dir/0001_a.sql")" "$out" "the changed file's checksum is shown"
    sed -i '$d' "$dir/0001_a.sql"

    mv "$dir/0003_c.sql" "$work/"
    migrate --dir "$dir" verify
    expect_status 1 "verify fails with a missing file"
    expect_in "$dir: error: MISSING: version 3 'c' was applied" "$out" "the missing version is named"
    mv "$work/0003_c.sql" "$dir/"
    migrate --dir "$dir" verify
    expect_status 0 "verify passes again with the file back"

    # An invalid index no pending step rebuilds.
    sql "INSERT INTO c VALUES (1, 'x'), (2, 'x')" >/dev/null
    sql "CREATE UNIQUE INDEX CONCURRENTLY c_k_key ON c (k)" >/dev/null 2>&1
    migrate --dir "$dir" verify
    expect_status 1 "verify fails with an invalid index"
    expect_in "$dir: error: index c_k_key on table c is INVALID (left by an interrupted or failed concurrent build); drop it (DROP INDEX CONCURRENTLY c_k_key) and build it again" \
        "$out" "verify names the index and its table"
    sql "DROP INDEX c_k_key" >/dev/null

    # A partitioned index stays invalid until every partition has one.
    sql "CREATE TABLE pt (id int, k int) PARTITION BY RANGE (id);
         CREATE TABLE pt_low PARTITION OF pt FOR VALUES FROM (0) TO (10);
         CREATE TABLE pt_high PARTITION OF pt FOR VALUES FROM (10) TO (20);
         CREATE INDEX pt_k_idx ON ONLY pt (k);
         CREATE INDEX pt_low_k_idx ON pt_low (k);
         ALTER INDEX pt_k_idx ATTACH PARTITION pt_low_k_idx" >/dev/null
    migrate --dir "$dir" verify
    expect_status 1 "verify fails with a partitioned index missing a partition"
    expect_in "$dir: error: index pt_k_idx on table pt is INVALID: it is a partitioned index, and no index of partition pt_high is attached to it yet (ALTER INDEX pt_k_idx ATTACH PARTITION ...)" \
        "$out" "verify says which partition has no index attached"
    if [[ $(grep -c ': error: ' <<<"$out") == 1 ]]; then
        pass "one line for the one problem"
    else
        fail "one line for the one problem" "$(show_output)"
    fi
    sql "CREATE INDEX pt_high_k_idx ON pt_high (k);
         ALTER INDEX pt_k_idx ATTACH PARTITION pt_high_k_idx" >/dev/null
    migrate --dir "$dir" verify
    expect_status 0 "verify passes once every partition's index is attached"
    expect_in "verified: 2 applied, $VERIFIED" "$out" "the summary line again"
}

case_one_statement() {
    echo "CREATE TABLE a (x int, y int);" >"$dir/0001_a.sql"
    cat >"$dir/0002_two.sql" <<'EOF'
-- 0002_two.sql
-- dbont:step no-transaction index a_x_idx
CREATE INDEX CONCURRENTLY IF NOT EXISTS a_x_idx ON a (x);
CREATE INDEX CONCURRENTLY IF NOT EXISTS a_y_idx ON a (y);
EOF
    migrate --dir "$dir" up
    expect_status 1 "up refuses a no-transaction step with two statements"
    expect_in "$dir/0002_two.sql:4:1: error: a second SQL statement in step 2, a no-transaction step (marker at line 2); a no-transaction step must hold exactly one SQL statement" \
        "$err" "the error points at the second statement and states the rule"
    expect_sql "SELECT to_regclass('dbont_migrations') IS NULL AND to_regclass('a') IS NULL" "t" \
        "nothing was applied, not even the valid file before it"
    migrate --dir "$dir" status
    expect_status 1 "status refuses the folder too"
    expect_in "must hold exactly one SQL statement" "$err" "status gives the same reason"

    printf -- '-- 0002_two.sql\n-- dbont:step no-transaction index A_x_idx\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a_x_idx ON a (x);\n' \
        >"$dir/0002_two.sql"
    migrate --dir "$dir" up
    expect_status 1 "up refuses an index name that is not lower case"
    expect_in "$dir/0002_two.sql:2:36: error: invalid index name 'A_x_idx' in a step marker" "$err" \
        "the error points at the name"
    printf -- '-- 0002_two.sql\n-- dbont:step no-transactions\nSELECT 1;\n' >"$dir/0002_two.sql"
    migrate --dir "$dir" up
    expect_status 1 "up refuses a malformed marker"
    expect_in "$dir/0002_two.sql:2:15: error: malformed step marker" "$err" "the error points at the marker"

    # What the client-side count cannot see (here: backslash quotes with
    # standard_conforming_strings off) the server refuses with 25001, and
    # the message adds the rule.
    cat >"$dir/0002_two.sql" <<'EOF'
-- 0002_two.sql
-- dbont:step no-transaction
SELECT 'a\'' ; CREATE INDEX CONCURRENTLY IF NOT EXISTS a_y_idx ON a (y);
EOF
    PGOPTIONS="-c standard_conforming_strings=off -c escape_string_warning=off" \
        migrate --dir "$dir" up
    expect_status 1 "the server refuses two statements in a no-transaction step"
    expect_in "$dir/0002_two.sql:3: error: 25001 CREATE INDEX CONCURRENTLY cannot run inside a transaction block" \
        "$err" "the server's 25001 is reported at the step's line"
    expect_in "$dir/0002_two.sql:3: note: a no-transaction step must hold exactly one SQL statement, which is sent alone outside any transaction" \
        "$err" "the message adds the one-statement rule"
    expect_sql "SELECT to_regclass('a_y_idx') IS NULL" "t" "the index was not built"
    expect_history "1:a" "only the valid file is applied"

    expect_progress "2:up:1/2" "step 1 (the header comment) is recorded as done"

    # Fixing the file changes it: step 1 did nothing, so the way out is to
    # delete the progress row.
    printf -- '-- 0002_two.sql\n-- dbont:step no-transaction index a_x_idx\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a_x_idx ON a (x);\n' \
        >"$dir/0002_two.sql"
    migrate --dir "$dir" up
    expect_status 1 "the fixed file is a changed partial file"
    expect_in "undo what its first 1 step did and delete its row from dbont_migration_progress" \
        "$err" "the refusal tells how to start the file again"
    sql "DELETE FROM dbont_migration_progress WHERE version = 2" >/dev/null
    migrate --dir "$dir" up
    expect_status 0 "with one statement the step runs"
    expect_in "applied 0002_two.sql (" "$out" "the file is applied from step 1"
    expect_not_in "resumed" "$out" "it was not resumed"
    expect_index a_x_idx "t" "the index is valid"
}

# ---- partition-indexes steps -------------------------------------------------

# "index:partition:valid,..." for each index attached to the partitioned
# index $1, by partition name ("" when none).
attached() {
    sql "SELECT coalesce(string_agg(c.relname || ':' || t.relname || ':' || x.indisvalid, ','
                                    ORDER BY t.relname), '')
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_index x ON x.indexrelid = c.oid JOIN pg_class t ON t.oid = x.indrelid
         WHERE i.inhparent = '$1'::regclass"
}

expect_attached() {
    local got
    got=$(attached "$1" 2>&1)
    if [[ $got == "$2" ]]; then
        pass "$3"
    else
        fail "$3: expected attached '$2', got '$got'"
    fi
}

case_partition_indexes() {
    local long=measures_of_march_2026_with_a_name_long_enough_to_need_a_hash
    # The names dbont-migrate gives the partitions' indexes: partition,
    # '_', the parent index without "measures_"; over 63 bytes, the first
    # 54, '_' and 8 hex digits of the full name's SHA-256.
    local long_v long_k
    long_v=${long:0:54}_$(printf %s "${long}_v_idx" | sha256sum | cut -c1-8)
    long_k=${long:0:54}_$(printf %s "${long}_k_day_key" | sha256sum | cut -c1-8)

    # A partition-indexes step needs its partitioned index.
    local other=$work/other
    mkdir "$other"
    printf -- '-- dbont:step no-transaction partition-indexes no_such_idx\n-- nothing here\n' \
        >"$other/0001_missing.sql"
    migrate --dir "$other" up
    expect_status 1 "a partition-indexes step without its index fails"
    expect_in "$other/0001_missing.sql:1: error: 42704 index no_such_idx does not exist in the current schema" \
        "$err" "the error is at the step's line, with the SQLSTATE"
    sql "CREATE TABLE plain (x int); CREATE INDEX plain_x_idx ON plain (x)" >/dev/null
    printf -- '-- dbont:step no-transaction partition-indexes plain_x_idx\n' >"$other/0001_missing.sql"
    migrate --dir "$other" up
    expect_status 1 "a partition-indexes step on an ordinary index fails"
    expect_in "$other/0001_missing.sql:1: error: 42809 index plain_x_idx on table plain is not a partitioned index" \
        "$err" "the error says the index is not partitioned"
    printf -- '-- dbont:step no-transaction partition-indexes plain_x_idx\nDROP TABLE plain;\n' \
        >"$other/0001_missing.sql"
    migrate --dir "$other" up
    expect_status 1 "a statement in a partition-indexes step makes the folder invalid"
    expect_in "$other/0001_missing.sql:2:1: error: an SQL statement in step 1, a partition-indexes step (marker at line 1); such a step holds only comments" \
        "$err" "the error points at the statement"
    sql "DROP TABLE plain" >/dev/null
    expect_history "" "nothing was applied"

    # A partition without an index attached that goes away after a failed
    # run leaves the partitioned index INVALID for good (PostgreSQL checks
    # it only when an index is attached): the step says so, and the way out.
    rm "$other/0001_missing.sql"
    cat >"$other/0001_s.sql" <<'EOF'
CREATE TABLE s (id int, k int) PARTITION BY RANGE (id);
CREATE TABLE s_1 PARTITION OF s FOR VALUES FROM (0) TO (10);
CREATE TABLE s_2 PARTITION OF s FOR VALUES FROM (10) TO (20) PARTITION BY RANGE (id);
CREATE INDEX IF NOT EXISTS s_k_idx ON ONLY s (k);
-- dbont:step no-transaction partition-indexes s_k_idx
EOF
    migrate --dir "$other" up
    expect_status 1 "a sub-partitioned partition stops the step"
    expect_in "$other/0001_s.sql:5: error: 0A000 partition s_2 of s is itself partitioned" "$err" \
        "the error names the partition"
    sql "DROP TABLE s_2" >/dev/null
    migrate --dir "$other" up
    expect_status 1 "the partitioned index cannot become valid any more"
    expect_in "$other/0001_s.sql:5: error: 55000 index s_k_idx is still INVALID, although every partition of s has an index attached to it: a partition that had no index attached to it was dropped or detached since an earlier run; PostgreSQL marks a partitioned index valid only when an index is attached to it, so drop it (DROP INDEX s_k_idx" \
        "$err" "the error says why and what to do"
    migrate --dir "$other" verify
    expect_in "index s_k_idx on table s is INVALID: it is a partitioned index, and although each partition has an index attached to it" \
        "$out" "verify says it too"
    sql "DROP INDEX s_k_idx; CREATE INDEX s_k_idx ON ONLY s (k)" >/dev/null
    migrate --dir "$other" up
    expect_status 0 "with the index made again the step finishes"
    expect_index s_k_idx "t" "the partitioned index is valid"
    sql "DROP TABLE s; DELETE FROM dbont_migrations" >/dev/null

    cat >"$dir/0001_measures.sql" <<EOF
CREATE TABLE measures (id int NOT NULL, day date NOT NULL, k text NOT NULL, v int)
    PARTITION BY RANGE (day);
CREATE TABLE measures_2026_01 PARTITION OF measures FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE measures_2026_02 PARTITION OF measures FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE TABLE $long PARTITION OF measures FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
CREATE TABLE measures_default PARTITION OF measures DEFAULT;
-- January to April: rows in each partition (April's in the default one)
INSERT INTO measures SELECT g, date '2026-01-01' + (g % 120), 'k' || g, g % 50
    FROM generate_series(1, 600) g;
EOF
    cat >"$dir/0002_measures_v_idx.sql" <<'EOF'
CREATE INDEX IF NOT EXISTS measures_v_idx ON ONLY measures USING btree (v);
-- dbont:step no-transaction partition-indexes measures_v_idx
-- (dbont-migrate builds measures_v_idx CONCURRENTLY on each partition of measures, then attaches it)
-- dbont:step transaction
CREATE TABLE IF NOT EXISTS after_v_idx (id int);
EOF
    local f2=$dir/0002_measures_v_idx.sql
    migrate --dir "$dir" up
    expect_status 0 "up builds the partitions' indexes"
    expect_in "applied 0002_measures_v_idx.sql (" "$out" "the file is applied"
    expect_not_in "NOTICE" "$err" "no notice on stderr"
    expect_not_in "note:" "$err" "no repair note"
    expect_sql "SELECT string_agg(n::text, ',' ORDER BY t) FROM (SELECT tableoid::regclass::text t, count(*) n
                FROM measures GROUP BY 1) c" \
        "155,140,150,155" "rows in each partition, the default one too"
    expect_index measures_v_idx "t" "the partitioned index is valid"
    expect_attached measures_v_idx \
        "measures_2026_01_v_idx:measures_2026_01:true,measures_2026_02_v_idx:measures_2026_02:true,measures_default_v_idx:measures_default:true,$long_v:$long:true" \
        "each partition has its index attached, named after the partition (hashed when too long)"
    expect_sql "SELECT pg_get_indexdef('measures_2026_02_v_idx'::regclass)" \
        "CREATE INDEX measures_2026_02_v_idx ON public.measures_2026_02 USING btree (v)" \
        "a partition's index has the parent's definition"
    expect_sql "SELECT octet_length('$long_v')" "63" "the hashed name is 63 bytes"
    expect_sql "SELECT to_regclass('after_v_idx') IS NOT NULL" "t" "the step after it ran"
    expect_progress "" "no progress row remains"
    migrate --dir "$dir" verify
    expect_status 0 "verify passes"

    # As if the process had died after the step, before its progress was
    # recorded: the step runs again, harmlessly.
    sql "DELETE FROM dbont_migrations WHERE version = 2;
         INSERT INTO dbont_migration_progress (version, direction, checksum, steps_done, steps)
         VALUES (2, 'up', '$(sha "$f2")', 1, 3)" >/dev/null
    migrate --dir "$dir" up
    expect_status 0 "the step runs again"
    expect_in "applied 0002_measures_v_idx.sql (resumed at step 2 of 3; " "$out" "from step 2"
    expect_not_in "note:" "$err" "nothing to repair"
    expect_not_in "measures_" "$err" "no notice about the partitions' indexes"
    expect_index measures_v_idx "t" "the partitioned index is still valid"
    expect_sql "SELECT string_agg(n::text, ',') FROM (SELECT count(*) n FROM pg_index x
                  JOIN pg_inherits i ON i.inhrelid = x.indrelid
                  WHERE i.inhparent = 'measures'::regclass GROUP BY x.indrelid) c" \
        "1,1,1,1" "still one index per partition"
    # A partition made later gets the parent's indexes from PostgreSQL.
    sql "CREATE TABLE measures_2026_05 PARTITION OF measures FOR VALUES FROM ('2026-05-01') TO ('2026-06-01')" >/dev/null
    expect_index measures_v_idx "t" "a new partition keeps the index valid"
    expect_sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'measures_v_idx'::regclass" "5" \
        "the new partition's index is attached"

    # A unique index meets duplicates in one partition.
    sql "INSERT INTO measures VALUES (1001, '2026-02-10', 'dup', 1), (1002, '2026-02-10', 'dup', 2)" >/dev/null
    cat >"$dir/0003_measures_k_day_key.sql" <<'EOF'
CREATE UNIQUE INDEX IF NOT EXISTS measures_k_day_key ON ONLY measures USING btree (k, day);
-- dbont:step no-transaction partition-indexes measures_k_day_key
-- (dbont-migrate builds measures_k_day_key CONCURRENTLY on each partition of measures, then attaches it)
EOF
    local f3=$dir/0003_measures_k_day_key.sql
    migrate --dir "$dir" up
    expect_status 1 "up fails on the duplicates"
    expect_in "$f3:2: error: 23505 could not create unique index \"measures_2026_02_k_day_key\"" "$err" \
        "the error is at the step's line, with the SQLSTATE"
    expect_in "DETAIL: Key (k, day)=(dup, 2026-02-10) is duplicated." "$err" "the server's DETAIL"
    expect_in "$f3:2: note: the failed build left index measures_2026_02_k_day_key of partition measures_2026_02 INVALID; the next up drops and rebuilds it" \
        "$err" "the output says which index was left INVALID"
    expect_in "dbont-migrate: note: applying 0003_measures_k_day_key.sql stopped after step 1 of 2: it is not applied yet; fix the cause and run up again: it resumes at step 2 (line 2 of 0003_measures_k_day_key.sql)" \
        "$err" "the output says where the next up resumes"
    expect_index measures_2026_02_k_day_key "f" "the failed build left the child INVALID"
    expect_index measures_k_day_key "f" "the partitioned index is INVALID"
    expect_attached measures_k_day_key "measures_2026_01_k_day_key:measures_2026_01:true" \
        "the partition before it has its index attached"
    expect_progress "3:up:1/2" "step 1 is recorded as done"

    migrate --dir "$dir" status
    expect_status 1 "status fails while the file is partial"
    expect_in "PARTIAL 0003_measures_k_day_key.sql: 1 of 2 steps done (up); the next up resumes at step 2 (line 2)" \
        "$out" "status shows PARTIAL"
    migrate --dir "$dir" verify
    expect_status 1 "verify fails"
    expect_in "$f3: error: PARTIAL: 1 of 2 steps done (up)" "$out" "verify names the partial file"
    expect_in "$f3:2: error: index measures_2026_02_k_day_key on table measures_2026_02 is INVALID (left by an interrupted or failed concurrent build); the next up drops and rebuilds it" \
        "$out" "verify names the invalid child and the step that rebuilds it"
    expect_in "$f3:2: error: index measures_k_day_key on table measures is INVALID: it is a partitioned index, and no index of partitions measures_2026_02, measures_2026_05, measures_default, $long is attached to it yet; the next up builds and attaches them" \
        "$out" "verify names the partitioned index, its partitions without an index, and the step"
    expect_not_in "verified:" "$out" "verify does not claim success"

    migrate --dir "$dir" up
    expect_status 1 "up without fixing the data fails again"
    expect_in "$f3:2: note: index measures_2026_02_k_day_key was left INVALID by an interrupted build; dropping and rebuilding it" \
        "$err" "up reports dropping the invalid child"
    expect_in "$f3:2: error: 23505" "$err" "and fails on the duplicates again"
    expect_sql "SELECT count(*) FROM pg_class WHERE relname LIKE 'measures_2026_02_k%'" "1" \
        "there is still one such index"

    # An index built but not attached yet (as a run that died between the
    # two would leave it) is attached as it is.
    sql "CREATE UNIQUE INDEX measures_2026_05_k_day_key ON measures_2026_05 USING btree (k, day)" >/dev/null
    sql "DELETE FROM measures WHERE id = 1002" >/dev/null
    migrate --dir "$dir" up
    expect_status 0 "after the duplicate is gone up finishes the file"
    expect_in "$f3:2: note: index measures_2026_02_k_day_key was left INVALID by an interrupted build; dropping and rebuilding it" \
        "$err" "up reports the repair"
    expect_in "applied 0003_measures_k_day_key.sql (resumed at step 2 of 2; " "$out" "it resumed at step 2"
    expect_not_in "already exists" "$err" "the index built before is not built again"
    expect_index measures_k_day_key "t" "the partitioned unique index is valid"
    expect_attached measures_k_day_key \
        "measures_2026_01_k_day_key:measures_2026_01:true,measures_2026_02_k_day_key:measures_2026_02:true,measures_2026_05_k_day_key:measures_2026_05:true,measures_default_k_day_key:measures_default:true,$long_k:$long:true" \
        "every partition has its unique index attached"
    expect_sql "SELECT indisunique FROM pg_index WHERE indexrelid = 'measures_2026_02_k_day_key'::regclass" \
        "t" "the rebuilt index is unique"
    expect_sql "SELECT count(*) FROM pg_index WHERE NOT indisvalid" "0" "no index is INVALID"
    expect_sql "SELECT count(*) FROM pg_index WHERE indrelid = 'measures_2026_02'::regclass" "2" \
        "measures_2026_02 has exactly its two indexes"
    expect_sql "SELECT count(*) FROM pg_index WHERE indrelid = 'measures_2026_05'::regclass" "2" \
        "and measures_2026_05 too"
    expect_progress "" "the progress row is gone"
    expect_history "1:measures,2:measures_v_idx,3:measures_k_day_key" "the history has the three files"
    migrate --dir "$dir" verify
    expect_status 0 "verify passes after the repair"
    expect_in "verified: 3 applied, $VERIFIED" "$out" "verify prints its summary line"
}

case "$case_name" in
cli | apply | status | changed | sql_error | duplicate | lock | concurrent) ;;
down | down_no_file | down_sql_error | down_too_many | out_of_order | down_lock) ;;
steps | invalid_index | resume | down_steps | partial_refusals | concurrent_index) ;;
verify | one_statement | partition_indexes) ;;
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
