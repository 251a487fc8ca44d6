#!/usr/bin/env bash
# evolution_test.sh DBONT_GEN DBONT_MIGRATE BLOG_TTL: schema evolution end to end.
#
# Run through tests/pg/with-pg.sh (DATABASE_URL names a fresh, empty
# database).  A copy of the blog example is edited step by step, each edit
# a new version of the ontology; the migrations folder starts empty:
#
#   v1  the blog (without its cached query and indexes)  0001_blog
#   v2  posts.slug text NOT NULL DEFAULT ''                0002_add_posts_slug
#   v3  table comments, serial key, FK to posts (cascade)  0003_create_comments
#   v4  posts.content renamed body (db:formerName)         0004_rename_posts_content
#   v5  posts.views bigint -> numeric(20) (widening)       0005_alter_posts_views
#   v6  users.username text -> varchar(100) (narrowing)    0006_alter_users_username
#   v7  posts.is_published dropped                         0007_drop_posts_is_published
#
# For each version: --check-migrations fails before the migration exists
# (naming the change) and passes after; a destructive change is refused
# without --allow-destructive and writes nothing; the new migration and its
# reverse have the expected names and the older files stay byte-identical;
# `dbont-migrate up` applies exactly the new file to the database holding
# the previous versions' rows, which survive; and the snapshot equals the
# schema PostgreSQL reports (built from pg_catalog, with PostgreSQL also
# normalising the snapshot's types and default expressions).  Then
# `dbont-migrate down` once per version, newest first: after each, the
# database equals the previous version's snapshot and its data is there
# (the rows inserted in v1 and v3, column by column, under the names of that
# version; the values of the column dropped in v7 are gone for good, so from
# then on posts.is_published holds its default).  The db:formerName hint
# stays in the ontology after v4, as it may.
#
# Prints one line per check and "N passed, N failed"; exits 1 on failure.
set -uo pipefail

if [[ $# != 3 ]]; then
    echo "usage: evolution_test.sh DBONT_GEN DBONT_MIGRATE BLOG_TTL" >&2
    exit 2
fi
gen=$1
migrate=$2
blog_src=$3
: "${DATABASE_URL:?evolution_test.sh runs through tests/pg/with-pg.sh (DATABASE_URL unset)}"

work=$(mktemp -d /tmp/dbont-evolution-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
ttl=$work/blog.ttl       # the ontology, edited version by version
out=$work/out            # the C files
mdir=$work/migrations    # the migrations folder (starts empty)
snaps=$work/snapshots    # a copy of the snapshot of each version
mkdir "$mdir" "$snaps"
# The blog without its cached query and indexes: this test is about tables
# and columns (and the names of their migrations); index, search and cache
# trigger evolution is tests/integration/search's and test_diff.c's.
sed '/^# A cached query/,$d' "$blog_src" >"$ttl"
grep -q 'idx:Index\|db:cacheable' "$ttl" && { echo "evolution_test.sh: could not strip the blog's indexes" >&2; exit 1; }

for candidate in "${PG_BINDIR:-}/psql" /usr/bin/psql /usr/lib/postgresql/15/bin/psql; do
    if [[ -x $candidate ]]; then
        PSQL=$candidate
        break
    fi
done
# Values are compared as text: fix the session's formats.
export PGTZ=UTC PGDATESTYLE=ISO PGCLIENTENCODING=UTF8

# ---- checks ------------------------------------------------------------------

passed=0
failed=0
ok() {
    echo "ok $1"
    passed=$((passed + 1))
}
bad() {
    echo "FAIL $1"
    failed=$((failed + 1))
}
not() { ! "$@"; }
check() { # check NAME COMMAND...: passes when COMMAND succeeds
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# run PROGRAM ARGS...: stdout in $work/stdout, stderr in $work/stderr, status in $rc.
# A sanitizer report is a failure even where the program is meant to fail.
run() {
    "$@" >"$work/stdout" 2>"$work/stderr"
    rc=$?
    if grep -qE 'Sanitizer|runtime error:' "$work/stderr"; then
        bad "no sanitizer report from $(basename "$1") $2"
        sed 's/^/  | /' "$work/stderr"
    fi
}
status_is() { # status_is WANT: the last run's exit status
    [[ $rc == "$1" ]] && return 0
    echo "  exit status $rc, expected $1; stdout and stderr:"
    sed 's/^/  > /' "$work/stdout"
    sed 's/^/  | /' "$work/stderr"
    return 1
}
err_has() { # err_has TEXT: the last run's stderr contains TEXT
    grep -qF -- "$1" "$work/stderr" && return 0
    echo "  stderr lacks '$1':"
    sed 's/^/  | /' "$work/stderr"
    return 1
}
same_text() { # same_text WANT_FILE GOT_FILE: equal, else a diff (- wanted, + got)
    cmp -s "$1" "$2" && return 0
    diff -u --label wanted --label got "$1" "$2" | sed 's/^/  /'
    return 1
}

# Every folder and file under the output and migrations folders: files with
# size, mtime and checksum.
state() {
    (
        cd "$work" || exit
        {
            find out migrations -type d -printf 'folder %p\n'
            find out migrations -type f -printf 'file %p %s %T@\n'
            find out migrations -type f -exec sha256sum {} +
        } 2>/dev/null | sort
    )
    return 0
}
missing_note() { # missing_note TEXT: the last run's stderr has a "note: missing:" line holding TEXT
    grep 'note: missing: ' "$work/stderr" | grep -qF -- "$1" && return 0
    echo "  no 'note: missing:' line holds '$1':"
    sed 's/^/  | /' "$work/stderr"
    return 1
}
unchanged() { # the output and migrations folders are as before the last step began
    state | cmp -s "$work/state.before" - && return 0
    echo "  files changed:"
    state | diff "$work/state.before" - | sed 's/^/  /'
    return 1
}
new_files_are() { # new_files_are NAME...: the migrations folder holds the earlier files and these
    diff <(cd "$mdir" && find . -maxdepth 1 -type f ! -name schema.snapshot -printf '%P\n' | sort) \
        <(printf '%s\n' "$@" | sort - "$work/files.before") | sed 's/^/  /'
    return "${PIPESTATUS[0]}"
}
applied_exactly() { # applied_exactly FILE: the last `up` applied FILE and nothing else
    [[ $(grep '^applied ' "$work/stdout" | grep -c .) == 1 ]] && grep -q "^applied $1 " "$work/stdout" && return 0
    sed 's/^/  > /' "$work/stdout"
    return 1
}
reverted_exactly() { # reverted_exactly FILE DOWN_FILE: the last `down` reverted FILE with DOWN_FILE
    [[ $(grep '^reverted ' "$work/stdout" | grep -c .) == 1 ]] && grep -q "^reverted $1 with $2 " "$work/stdout" &&
        return 0
    sed 's/^/  > /' "$work/stdout"
    return 1
}
statements_are() { # statements_are FILE WANT: FILE without comments and blank lines is WANT
    local got
    got=$(grep -v '^--' "$1" | grep -v '^$')
    [[ $got == "$2" ]] && return 0
    sed 's/^/  > /' <<<"$got"
    return 1
}
changes_list_has() { # changes_list_has FILE TEXT: the "-- Changes:" list in FILE's header has TEXT
    grep -qxF -- "--   $2" "$1" && return 0
    echo "  the list of changes in $(basename "$1"):"
    sed -n '/^-- Changes:/,/^$/p' "$1" | sed 's/^/  > /'
    return 1
}
earlier_files_kept() { # the files listed in sums.before have the same checksums
    (cd "$mdir" && sha256sum --quiet -c "$work/sums.before" 2>&1) | sed 's/^/  /'
    return "${PIPESTATUS[0]}"
}
no_next_migration() { # no_next_migration VERSION: no file numbered VERSION+1
    local f
    for f in "$mdir/$(printf %04d $(($1 + 1)))"_*; do
        [[ -e $f ]] && { echo "  found $f"; return 1; }
    done
    return 0
}
sql_ok() { psql_run -c "$1" >/dev/null; }
sql_fails_with() { # sql_fails_with TEXT SQL: the statement fails, the error naming TEXT
    local err
    err=$(psql_run -c "$2" 2>&1) && { echo "  succeeded: $2"; return 1; }
    [[ $err == *"$1"* ]] && return 0
    echo "  $err"
    return 1
}

# ---- the database ------------------------------------------------------------

psql_run() { # SQL on stdin or as arguments; unaligned, '|' between fields
    "$PSQL" -X -q -At -F '|' -P null='<NULL>' -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@"
}
sql() { psql_run -c "$1"; }

# The schema PostgreSQL reports, written like a snapshot body: tables
# sorted by name; columns in attnum order with the vocabulary's type name
# (character varying(n) -> varchar(n), timestamp [with time zone] ->
# timestamp[tz], integer/bigint defaulting to nextval of its owned sequence
# -> serial/bigserial without a default), not-null, and PostgreSQL's text of
# the default; then primary key, unique constraints and foreign keys, each
# sorted by name.  Whatever the snapshot format cannot express (other
# constraint kinds, ON UPDATE rules, deferrable keys, indexes not backing a
# key, identity or generated columns, views, sequences no serial column
# owns) is written as a line of its own, so it shows up as a difference.
# The history table dbont_migrations is left out.
FUNCTIONS_SQL=$(
    cat <<'SQL'
CREATE FUNCTION pg_temp.vocab_type(ft text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE
    WHEN ft ~ '^character varying\(\d+\)$' THEN regexp_replace(ft, '^character varying', 'varchar')
    WHEN ft = 'timestamp without time zone' THEN 'timestamp'
    WHEN ft = 'timestamp with time zone' THEN 'timestamptz'
    ELSE ft END
$f$;
-- The snapshot's escapes in a default: newline \n, carriage return \r, backslash \\.
CREATE FUNCTION pg_temp.esc(s text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT replace(replace(replace(s, '\', '\\'), E'\n', '\n'), E'\r', '\r')
$f$;
SQL
)
DB_SCHEMA_SQL=$(
    cat <<'SQL'
WITH rel AS (
  SELECT c.oid, c.relname::text AS tname, c.relkind::text AS relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND c.relname <> 'dbont_migrations'
), col AS (
  SELECT r.tname, a.attnum, a.attname::text AS attname, a.attnotnull,
         a.attidentity::text AS attidentity, a.attgenerated::text AS attgenerated,
         format_type(a.atttypid, a.atttypmod) AS ft,
         pg_get_expr(d.adbin, d.adrelid) AS def,
         pg_get_serial_sequence(quote_ident(r.tname), a.attname) AS seq
  FROM rel r
  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
), col2 AS (
  SELECT col.*, (seq IS NOT NULL AND ft IN ('integer', 'bigint')
                 AND def = format('nextval(%L::regclass)', seq::regclass::text)) AS is_serial
  FROM col
), con AS (
  SELECT r.tname, k.conname::text AS conname, k.contype::text AS contype,
    CASE k.contype WHEN 'p' THEN 1 WHEN 'u' THEN 2 WHEN 'f' THEN 3 ELSE 4 END AS kind_order,
    CASE k.contype WHEN 'p' THEN 'primary-key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign-key'
                   ELSE 'constraint-' || k.contype::text END AS kind,
    (SELECT string_agg(a.attname, ', ' ORDER BY u.ord)
       FROM unnest(k.conkey) WITH ORDINALITY u(num, ord)
       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num) AS cols,
    (SELECT CASE WHEN n.nspname = 'public' THEN c.relname::text ELSE n.nspname || '.' || c.relname END
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = k.confrelid) AS ref_table,
    (SELECT string_agg(a.attname, ', ' ORDER BY u.ord)
       FROM unnest(k.confkey) WITH ORDINALITY u(num, ord)
       JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num) AS ref_cols,
    k.confdeltype::text AS confdeltype, k.confupdtype::text AS confupdtype,
    k.confmatchtype::text AS confmatchtype, k.condeferrable
  FROM rel r JOIN pg_constraint k ON k.conrelid = r.oid
), tenant_fn AS (
  -- The tenant function: the setting it reads and the type it returns.
  SELECT substring(p.prosrc FROM 'current_setting\(''([^'']+)''') AS setting,
         format_type(p.prorettype, NULL) AS typ, p.oid, p.proacl
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = 'public' AND p.proname = 'current_org_id'
), pol AS (
  SELECT r.tname, p.polname::text AS polname,
         CASE p.polcmd WHEN '*' THEN 'ALL' WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                       WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' END AS cmd,
         p.polpermissive, p.polroles,
         -- PostgreSQL prints a policy's expression in parentheses.
         regexp_replace(pg_get_expr(p.polqual, p.polrelid), '^\((.*)\)$', '\1') AS qual,
         regexp_replace(pg_get_expr(p.polwithcheck, p.polrelid), '^\((.*)\)$', '\1') AS chk
  FROM rel r JOIN pg_policy p ON p.polrelid = r.oid
), grant_of AS (
  -- Roles other than the owner with table privileges: the set must be
  -- exactly SELECT, INSERT, UPDATE, DELETE.
  SELECT r.tname, a.grantee::regrole::text AS grantee,
         string_agg(a.privilege_type, ',' ORDER BY a.privilege_type) AS privs
  FROM rel r JOIN pg_class c ON c.oid = r.oid, aclexplode(c.relacl) a
  WHERE a.grantee <> c.relowner
  GROUP BY r.tname, a.grantee
), line AS (
  SELECT -1 AS grp, '' AS tname, 0 AS sec, 0 AS k1, '' AS k2,
         'tenant-setting ' || setting || ' ' || typ AS text
  FROM tenant_fn
  UNION ALL
  SELECT -1, '', 1, 0, '', 'app-role ' || a.grantee::regrole::text
  FROM tenant_fn f, aclexplode(f.proacl) a
  WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> 0
    AND a.grantee <> (SELECT proowner FROM pg_proc WHERE oid = f.oid)
  UNION ALL
  SELECT 0 AS grp, tname, 0 AS sec, 0 AS k1, '' AS k2,
         CASE WHEN relkind IN ('r', 'p') THEN 'table ' ELSE 'relation-' || relkind || ' ' END || tname AS text
  FROM rel
  UNION ALL
  SELECT 0, tname, 1, attnum, '',
         '  column ' || attname || ' '
         || CASE WHEN is_serial THEN CASE ft WHEN 'integer' THEN 'serial' ELSE 'bigserial' END
                 ELSE pg_temp.vocab_type(ft) END
         || CASE WHEN attnotnull THEN ' not-null' ELSE '' END
         || CASE WHEN def IS NOT NULL AND NOT is_serial THEN ' default ' || pg_temp.esc(def) ELSE '' END
         || CASE WHEN attidentity <> '' THEN ' identity-' || attidentity ELSE '' END
         || CASE WHEN attgenerated <> '' THEN ' generated-' || attgenerated ELSE '' END
  FROM col2
  UNION ALL
  SELECT 0, tname, 2, kind_order, conname,
         '  ' || kind || ' ' || conname || ' (' || coalesce(cols, '') || ')'
         || CASE WHEN contype = 'f' THEN
              ' references ' || ref_table || ' (' || ref_cols || ')'
              || CASE confdeltype WHEN 'a' THEN '' WHEN 'r' THEN ' on-delete restrict'
                                  WHEN 'c' THEN ' on-delete cascade' WHEN 'n' THEN ' on-delete set-null'
                                  ELSE ' on-delete-' || confdeltype END
              || CASE WHEN confupdtype <> 'a' THEN ' on-update-' || confupdtype ELSE '' END
              || CASE WHEN confmatchtype <> 's' THEN ' match-' || confmatchtype ELSE '' END
            ELSE '' END
         || CASE WHEN condeferrable THEN ' deferrable' ELSE '' END
  FROM con
  UNION ALL
  SELECT 0, r.tname, 3, 0, ic.relname::text, '  index ' || ic.relname || ' (backs no key)'
  FROM rel r JOIN pg_index i ON i.indrelid = r.oid JOIN pg_class ic ON ic.oid = i.indexrelid
  WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = r.oid)
  UNION ALL
  SELECT 0, r.tname, 4, 0, '',
         CASE WHEN c.relrowsecurity AND c.relforcerowsecurity THEN '  row-level-security'
              ELSE '  row-level-security-' || CASE WHEN c.relrowsecurity THEN 'not-forced' ELSE 'forced-only' END END
  FROM rel r JOIN pg_class c ON c.oid = r.oid
  WHERE c.relrowsecurity OR c.relforcerowsecurity
  UNION ALL
  -- A policy's lines sort by its name, then header, using, with-check
  -- (' ' sorts before every character of a name).
  SELECT 0, tname, 5, 0, polname || ' 0',
         '  policy ' || polname || ' ' || cmd || CASE WHEN polpermissive THEN '' ELSE ' restrictive' END
         || CASE WHEN polroles <> '{0}' THEN ' (for some roles only)' ELSE '' END
  FROM pol
  UNION ALL
  SELECT 0, tname, 5, 0, polname || ' 1', '    using ' || pg_temp.esc(qual) FROM pol WHERE qual IS NOT NULL
  UNION ALL
  SELECT 0, tname, 5, 0, polname || ' 2', '    with-check ' || pg_temp.esc(chk) FROM pol WHERE chk IS NOT NULL
  UNION ALL
  SELECT 0, tname, 6, 0, grantee,
         '  grant ' || grantee
         || CASE WHEN privs <> 'DELETE,INSERT,SELECT,UPDATE' THEN ' (privileges ' || privs || ')' ELSE '' END
  FROM grant_of
  UNION ALL
  SELECT 1, s.relname::text, 0, 0, '', 'sequence ' || s.relname || ' (owned by no column)'
  FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
  WHERE n.nspname = 'public' AND s.relkind = 'S'
    AND NOT EXISTS (SELECT 1 FROM pg_depend dp WHERE dp.classid = 'pg_class'::regclass AND dp.objid = s.oid
                      AND dp.refobjsubid > 0 AND dp.deptype IN ('a', 'i'))
)
SELECT 'S|' || text FROM line ORDER BY grp, tname COLLATE "C", sec, k1, k2 COLLATE "C";
SQL
)

# body_of SNAPSHOT_FILE: the lines after its `migration` line (leading blank lines dropped).
body_of() {
    awk 'started && (seen || $0 != "") { seen = 1; print; next } /^migration / { started = 1 }' "$1"
}

# The lines of a schema text, each prefixed with its table, sorted.
sorted_in_tables() {
    awk '/^table / { t = $2 } { print t ": " $0 }' "$1" | LC_ALL=C sort
}

# schema_is SNAPSHOT_FILE [any-order]: the database's schema (dbont_migrations aside) is
# the one the snapshot records.  The snapshot's types and defaults are put
# through PostgreSQL as well (a temporary table with one column of that type
# and default per snapshot column), so `''` and `''::text`, or numeric(20)
# and numeric(20,0), compare equal the way PostgreSQL sees them.  The
# snapshot "" is the empty schema.  With any-order, the lines of each table
# are compared as sets (the columns' physical order does not count).
schema_is() {
    local snap=$1
    if [[ -n $snap ]]; then body_of "$snap" >"$work/snap.body"; else : >"$work/snap.body"; fi
    # The temporary table: column cN for the Nth column line of the snapshot.
    awk '
        function unescape(s,   r, i, c) {
            r = ""
            for (i = 1; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (c == "\\" && i < length(s)) {
                    i++; c = substr(s, i, 1)
                    r = r (c == "n" ? "\n" : c == "r" ? "\r" : c)
                } else r = r c
            }
            return r
        }
        /^  column / {
            n++
            rest = $0; sub(/^  column [^ ]+ /, "", rest)
            def = ""; p = index(rest, " default ")
            if (p) { def = substr(rest, p + 9); rest = substr(rest, 1, p - 1) }
            sub(/ not-null$/, "", rest)
            if (rest == "serial" || rest == "bigserial") next
            cols = cols (cols == "" ? "" : ",\n  ") "c" n " " rest (def != "" ? " DEFAULT (" unescape(def) ")" : "")
        }
        END { print "CREATE TEMP TABLE dbont_evolution_norm (" cols ");" }
    ' "$work/snap.body" >"$work/norm.sql"
    {
        echo "$FUNCTIONS_SQL"
        cat "$work/norm.sql"
        cat <<'SQL'
SELECT 'N|' || substr(a.attname, 2) || '|' || pg_temp.vocab_type(format_type(a.atttypid, a.atttypmod))
       || '|' || coalesce(pg_temp.esc(pg_get_expr(d.adbin, d.adrelid)), '')
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = 'dbont_evolution_norm'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SQL
        echo "$DB_SCHEMA_SQL"
    } | psql_run >"$work/schema.out" 2>"$work/schema.err"
    if [[ ${PIPESTATUS[1]} != 0 ]]; then
        echo "  psql failed (is the snapshot's type or default valid SQL?):"
        sed 's/^/  | /' "$work/schema.err" "$work/norm.sql"
        return 1
    fi
    # The database's text: a blank line before every table but the first
    # line.
    sed -n 's/^S|//p' "$work/schema.out" |
        awk 'NR > 1 && /^(table|relation-|sequence )/ { print "" } { print }' >"$work/db.body"
    # The snapshot with PostgreSQL's spelling of each type and default.
    awk -F'|' '
        FNR == NR { if ($1 == "N") { typ[$2] = $3; d = $0; sub(/^N\|[^|]*\|[^|]*\|/, "", d); def[$2] = d } next }
        /^  column / {
            n++
            if (n in typ) {
                name = $0; sub(/^  column /, "", name); sub(/ .*/, "", name)
                rest = $0; sub(/^  column [^ ]+ /, "", rest)
                p = index(rest, " default "); if (p) rest = substr(rest, 1, p - 1)
                line = "  column " name " " typ[n] (rest ~ / not-null$/ ? " not-null" : "")
                if (def[n] != "") line = line " default " def[n]
                print line
                next
            }
        }
        { print }
    ' "$work/schema.out" "$work/snap.body" >"$work/snap.norm"
    if [[ ${2:-} == any-order ]]; then
        same_text <(sorted_in_tables "$work/snap.norm") <(sorted_in_tables "$work/db.body")
        return
    fi
    same_text "$work/snap.norm" "$work/db.body" && return 0
    # Say whether only the order of columns differs.
    if cmp -s <(sorted_in_tables "$work/snap.norm") <(sorted_in_tables "$work/db.body"); then
        echo "  (the same lines in another order: the columns' physical order differs from the snapshot's)"
    fi
    return 1
}

# history_is VERSIONS...: the versions dbont_migrations records.
history_is() {
    local want got
    want=$(printf '%s\n' "$@")
    got=$(sql "SELECT version FROM dbont_migrations ORDER BY version")
    [[ $got == "$want" ]] && return 0
    echo "  dbont_migrations holds versions [${got//$'\n'/ }], expected [$*]"
    return 1
}

# ---- the data ----------------------------------------------------------------

ORG1=00000000-0000-0000-0000-0000000000a1
ORG2=00000000-0000-0000-0000-0000000000a2
USR1=00000000-0000-0000-0000-0000000000b1
USR2=00000000-0000-0000-0000-0000000000b2
USR3=00000000-0000-0000-0000-0000000000b3
PST1=00000000-0000-0000-0000-0000000000c1
PST2=00000000-0000-0000-0000-0000000000c2
PST3=00000000-0000-0000-0000-0000000000c3

INSERT_V1="
INSERT INTO organizations (id, name, created_at) VALUES
  ('$ORG1', 'Acme', '2024-01-01 10:00:00'),
  ('$ORG2', 'Globex | Inc.', '2024-01-02 11:30:00.25');
INSERT INTO users (id, organization_id, email, username, is_active, created_at) VALUES
  ('$USR1', '$ORG1', 'ann@acme.test', 'ann', true, '2024-02-01 09:00:00'),
  ('$USR2', '$ORG1', 'bob@acme.test', 'bob_the_builder', false, '2024-02-02 09:00:00'),
  ('$USR3', '$ORG2', 'cy@globex.test', 'cy', true, NULL);
INSERT INTO posts (id, organization_id, user_id, title, content, is_published, views, created_at) VALUES
  ('$PST1', '$ORG1', '$USR1', 'Hello', 'First post', true, 42, '2024-03-01 12:00:00'),
  ('$PST2', '$ORG1', '$USR2', 'Draft', NULL, false, 0, '2024-03-02 12:00:00'),
  ('$PST3', '$ORG2', '$USR3', 'Quote', 'It''s \"quoted\"', true, 9223372036854775807, NULL);"

INSERT_V3="
INSERT INTO comments (post_id, author, body, created_at) VALUES
  ('$PST1', 'zoe', 'Nice', '2024-04-01 08:00:00+00'),
  ('$PST1', 'yan', 'Agreed', '2024-04-01 09:00:00+00'),
  ('$PST3', 'xi', 'Hm', '2024-04-02 10:00:00+02');"

WANT_ORGS="$ORG1|Acme|2024-01-01 10:00:00
$ORG2|Globex | Inc.|2024-01-02 11:30:00.25"
WANT_USERS="$USR1|$ORG1|ann@acme.test|ann|t|2024-02-01 09:00:00
$USR2|$ORG1|bob@acme.test|bob_the_builder|f|2024-02-02 09:00:00
$USR3|$ORG2|cy@globex.test|cy|t|<NULL>"
WANT_POSTS="$PST1|$ORG1|$USR1|Hello|42|2024-03-01 12:00:00
$PST2|$ORG1|$USR2|Draft|0|2024-03-02 12:00:00
$PST3|$ORG2|$USR3|Quote|9223372036854775807|<NULL>"
WANT_CONTENT="$PST1|First post
$PST2|<NULL>
$PST3|It's \"quoted\""
WANT_PUBLISHED="$PST1|t
$PST2|f
$PST3|t"
WANT_PUBLISHED_DEFAULT="$PST1|f
$PST2|f
$PST3|f"
WANT_SLUG="$PST1|
$PST2|
$PST3|"
WANT_COMMENTS="1|$PST1|zoe|Nice|2024-04-01 08:00:00+00
2|$PST1|yan|Agreed|2024-04-01 09:00:00+00
3|$PST3|xi|Hm|2024-04-02 08:00:00+00"

rows_are() { # rows_are WANT SQL: the query's rows, '|' between fields
    local got
    got=$(sql "$2" 2>&1)
    [[ $got == "$1" ]] && return 0
    echo "  $2"
    diff -u --label wanted --label got <(echo "$1") <(echo "$got") | sed 's/^/  /'
    return 1
}
no_column() { # no_column TABLE COLUMN
    [[ $(sql "SELECT count(*) FROM information_schema.columns
              WHERE table_schema = 'public' AND table_name = '$1' AND column_name = '$2'") == 0 ]]
}
no_table() { [[ $(sql "SELECT count(*) FROM pg_class WHERE oid = to_regclass('public.$1')") == 0 ]]; }

# data_check VERSION LABEL: the rows inserted so far, column by column,
# as the schema of VERSION names them.  published_lost=1 once the column
# dropped in v7 has come back through the down migration (with its default).
published_lost=0
data_check() {
    local v=$1 label=$2 content=content
    ((v >= 4)) && content=body
    check "$label: organizations rows kept (id, name, created_at)" \
        rows_are "$WANT_ORGS" "SELECT id, name, created_at FROM organizations ORDER BY id"
    check "$label: users rows kept (id, organization_id, email, username, is_active, created_at)" \
        rows_are "$WANT_USERS" \
        "SELECT id, organization_id, email, username, is_active, created_at FROM users ORDER BY id"
    check "$label: posts rows kept (id, organization_id, user_id, title, views, created_at)" \
        rows_are "$WANT_POSTS" "SELECT id, organization_id, user_id, title, views, created_at FROM posts ORDER BY id"
    check "$label: posts.$content holds the content written in v1" \
        rows_are "$WANT_CONTENT" "SELECT id, $content FROM posts ORDER BY id"
    if ((v >= 4)); then
        check "$label: posts.content is gone (renamed)" no_column posts content
    else
        check "$label: posts.body does not exist" no_column posts body
    fi
    if ((v >= 7)); then
        check "$label: posts.is_published is gone" no_column posts is_published
    elif ((published_lost)); then
        check "$label: posts.is_published is back, every row holding its default (the values were dropped)" \
            rows_are "$WANT_PUBLISHED_DEFAULT" "SELECT id, is_published FROM posts ORDER BY id"
    else
        check "$label: posts.is_published values kept" \
            rows_are "$WANT_PUBLISHED" "SELECT id, is_published FROM posts ORDER BY id"
    fi
    if ((v >= 2)); then
        check "$label: posts.slug holds the default '' on the existing rows" \
            rows_are "$WANT_SLUG" "SELECT id, slug FROM posts ORDER BY id"
    else
        check "$label: posts.slug does not exist" no_column posts slug
    fi
    if ((v >= 3)); then
        check "$label: comments rows kept (id, post_id, author, body, created_at)" \
            rows_are "$WANT_COMMENTS" "SELECT id, post_id, author, body, created_at FROM comments ORDER BY id"
    else
        check "$label: table comments does not exist" no_table comments
    fi
}

declare -a migration_of # version -> its migration's file name

# ---- one version -------------------------------------------------------------

# generate VERSION FILE_BASE DESTRUCTIVE MISSING_TEXT...: the ontology in
# $ttl has just been edited into VERSION.  MISSING_TEXT: what the refusals
# must name.  Leaves the migrations folder holding the new migration.
generate() {
    local v=$1 base=$2 destructive=$3 what
    shift 3
    local nnnn label
    nnnn=$(printf '%04d' "$v")
    label="v$v"
    state >"$work/state.before"
    (cd "$mdir" && find . -maxdepth 1 -type f ! -name schema.snapshot -printf '%P\n' | sort) >"$work/files.before"
    (cd "$mdir" && while read -r f; do sha256sum "$f"; done <"$work/files.before") >"$work/sums.before"

    run "$gen" --check-migrations -o "$out" --migrations-dir "$mdir" "$ttl"
    check "$label: --check-migrations before the migration: exit 1" status_is 1
    for what in "$@"; do
        check "$label: --check-migrations names the missing change '$what'" missing_note "$what"
    done
    check "$label: --check-migrations names the migration to write" err_has "write them as ${nnnn}_$base.sql"
    check "$label: --check-migrations writes nothing" unchanged

    if ((destructive)); then
        run "$gen" -o "$out" --migrations-dir "$mdir" "$ttl"
        check "$label: without --allow-destructive: refused (exit 1)" status_is 1
        for what in "$@"; do
            check "$label: the refusal names '$what'" err_has "error: this change destroys data: $what"
        done
        check "$label: the refusal names --allow-destructive" err_has "only with --allow-destructive"
        check "$label: the refusal writes nothing" unchanged
        run "$gen" --allow-destructive -o "$out" --migrations-dir "$mdir" "$ttl"
        check "$label: with --allow-destructive: exit 0" status_is 0
    else
        run "$gen" -o "$out" --migrations-dir "$mdir" "$ttl"
        check "$label: dbont-gen without any flag: exit 0" status_is 0
    fi

    check "$label: ${nnnn}_$base.sql and ${nnnn}_$base.down.sql written" \
        test -f "$mdir/${nnnn}_$base.sql" -a -f "$mdir/${nnnn}_$base.down.sql"
    check "$label: exactly these two files are new" new_files_are "${nnnn}_$base.sql" "${nnnn}_$base.down.sql"
    if [[ -s $work/sums.before ]]; then
        check "$label: the earlier migrations are byte-identical" earlier_files_kept
    fi
    check "$label: the snapshot names ${nnnn}_$base.sql" grep -qx "migration ${nnnn}_$base.sql" "$mdir/schema.snapshot"
    if ((destructive)); then
        check "$label: the migration says what it destroys" grep -q '^-- DESTRUCTIVE: ' "$mdir/${nnnn}_$base.sql"
    fi
    cp "$mdir/schema.snapshot" "$snaps/v$v.snapshot"
    migration_of[v]=${nnnn}_$base.sql

    run "$gen" --check-migrations -o "$out" --migrations-dir "$mdir" "$ttl"
    check "$label: --check-migrations after the migration: exit 0" status_is 0
    state >"$work/state.before"
    run "$gen" -o "$out" --migrations-dir "$mdir" "$ttl"
    check "$label: dbont-gen again: exit 0" status_is 0
    check "$label: dbont-gen again: no further migration" no_next_migration "$v"
    check "$label: dbont-gen again: no file rewritten" unchanged
}

# apply VERSION FILE_BASE: `dbont-migrate up` applies exactly the new file.
apply() {
    local v=$1 base=$2 nnnn
    nnnn=$(printf '%04d' "$v")
    run "$migrate" --dir "$mdir" up
    check "v$v: dbont-migrate up: exit 0" status_is 0
    check "v$v: dbont-migrate up applied exactly ${nnnn}_$base.sql" applied_exactly "${nnnn}_$base.sql"
    check "v$v: dbont_migrations records versions 1..$v" history_is $(seq 1 "$v")
    check "v$v: the snapshot equals the schema PostgreSQL reports" schema_is "$snaps/v$v.snapshot"
}

# ---- v1: the blog as it is ------------------------------------------------------

generate 1 blog 0 "create table organizations" "create table users" "create table posts"
apply 1 blog
check "v1: sample rows inserted" sql_ok "$INSERT_V1"
data_check 1 "v1"

# ---- v2: a column with a default --------------------------------------------------

sed -i 's|^    \[ db:name "content" ; db:type "text" \]$|&\n    [ db:name "slug" ; db:type "text" ; db:nullable false ; db:default "'"''"'" ]|' "$ttl"
check "v2: ontology edited (posts.slug)" grep -q '"slug"' "$ttl"
generate 2 add_posts_slug 0 "add column posts.slug text NOT NULL"
check "v2: the migration adds the column with its default" \
    grep -qxF "ALTER TABLE posts ADD COLUMN slug text NOT NULL DEFAULT ('');" "$mdir/0002_add_posts_slug.sql"
apply 2 add_posts_slug
data_check 2 "v2"
check "v2: a new row without a slug gets ''" rows_are "|t" \
    "BEGIN; INSERT INTO posts (organization_id, user_id, title) VALUES ('$ORG1', '$USR1', 'New');
     SELECT slug, views = 0 FROM posts WHERE title = 'New'; ROLLBACK;"

# ---- v3: a table with a foreign key -----------------------------------------------

cat >>"$ttl" <<'TTL'

db:CommentsTable a db:Table ;
  db:columns (
    [ db:name "id" ; db:type "serial" ; db:primaryKey true ]
    [ db:name "post_id" ; db:type "uuid" ; db:nullable false ;
      db:references db:PostsTable ; db:onDelete "cascade" ]
    [ db:name "author" ; db:type "varchar(80)" ; db:nullable false ]
    [ db:name "body" ; db:type "text" ; db:nullable false ]
    [ db:name "created_at" ; db:type "timestamptz" ; db:nullable false ; db:default "now()" ]
  ) .
TTL
generate 3 create_comments 0 "create table comments"
apply 3 create_comments
check "v3: comments inserted" sql_ok "$INSERT_V3"
data_check 3 "v3"
check "v3: the foreign key refuses a comment on no post" sql_fails_with comments_post_id_fkey \
    "INSERT INTO comments (post_id, author, body) VALUES (gen_random_uuid(), 'x', 'x')"
check "v3: deleting a post deletes its comments (ON DELETE CASCADE)" rows_are "1
0" \
    "BEGIN; SELECT count(*) FROM comments WHERE post_id = '$PST3'; DELETE FROM posts WHERE id = '$PST3';
     SELECT count(*) FROM comments WHERE post_id = '$PST3'; ROLLBACK;"

# ---- v4: a column renamed with db:formerName ----------------------------------------

sed -i 's|\[ db:name "content" ; db:type "text" \]|[ db:name "body" ; db:formerName "content" ; db:type "text" ]|' "$ttl"
check "v4: ontology edited (posts.content -> body)" grep -q 'db:formerName "content"' "$ttl"
generate 4 rename_posts_content 0 "column posts.content to body"
check "v4: the migration's list of changes says 'rename column posts.content to body'" \
    changes_list_has "$mdir/0004_rename_posts_content.sql" "rename column posts.content to body"
check "v4: the migration is a RENAME, nothing else" statements_are "$mdir/0004_rename_posts_content.sql" \
    "ALTER TABLE posts RENAME COLUMN content TO body;"
check "v4: the reverse renames it back" statements_are "$mdir/0004_rename_posts_content.down.sql" \
    "ALTER TABLE posts RENAME COLUMN body TO content;"
apply 4 rename_posts_content
data_check 4 "v4"

# ---- v5: a type widened ------------------------------------------------------------

sed -i 's|"views" ; db:type "bigint"|"views" ; db:type "numeric(20)"|' "$ttl"
check "v5: ontology edited (posts.views numeric(20))" grep -q '"views" ; db:type "numeric(20)"' "$ttl"
generate 5 alter_posts_views 0 "change type of posts.views from bigint to numeric(20)"
check "v5: the migration retypes posts.views" grep -q "^ALTER TABLE posts ALTER COLUMN views TYPE numeric(20)" \
    "$mdir/0005_alter_posts_views.sql"
check "v5: the migration is not marked destructive" not grep -q DESTRUCTIVE "$mdir/0005_alter_posts_views.sql"
apply 5 alter_posts_views
data_check 5 "v5"
check "v5: posts.views is numeric now" rows_are "numeric" \
    "SELECT data_type FROM information_schema.columns WHERE table_name = 'posts' AND column_name = 'views'"

# ---- v6: a type narrowed (destructive) ----------------------------------------------

sed -i 's|"username" ; db:type "text"|"username" ; db:type "varchar(100)"|' "$ttl"
check "v6: ontology edited (users.username varchar(100))" grep -q '"username" ; db:type "varchar(100)"' "$ttl"
generate 6 alter_users_username 1 "change type of users.username from text to varchar(100)"
apply 6 alter_users_username
data_check 6 "v6"

# ---- v7: a column dropped (destructive) ----------------------------------------------

sed -i '/db:name "is_published"/d' "$ttl"
check "v7: ontology edited (posts.is_published removed)" not grep -q is_published "$ttl"
generate 7 drop_posts_is_published 1 "drop column posts.is_published"
check "v7: the migration drops the column" grep -qxF "ALTER TABLE posts DROP COLUMN is_published;" \
    "$mdir/0007_drop_posts_is_published.sql"
apply 7 drop_posts_is_published
data_check 7 "v7"

# Every migration file as the steps wrote it, to compare after the downs.
(cd "$mdir" && sha256sum ./*.sql) >"$work/sums.all"

# ---- down, newest first --------------------------------------------------------------

for v in 7 6 5 4 3 2 1; do
    prev=$((v - 1))
    file=${migration_of[v]}
    run "$migrate" --dir "$mdir" down
    check "down $v: dbont-migrate down: exit 0" status_is 0
    check "down $v: reverted exactly $file with ${file%.sql}.down.sql" reverted_exactly "$file" "${file%.sql}.down.sql"
    if ((prev > 0)); then
        check "down $v: dbont_migrations records versions 1..$prev" history_is $(seq 1 "$prev")
        # A reverse that re-adds a dropped column can only append it:
        # PostgreSQL cannot put a column back in the middle of a table short
        # of rebuilding it.  Column order is not part of what dbont compares
        # (nor of what the generated code relies on: it names its columns),
        # so after a down the schema must equal the previous snapshot with
        # the columns' physical order aside (docs/migrations.md says so).
        check "down $v: the schema equals the v$prev snapshot, columns' physical order aside" \
            schema_is "$snaps/v$prev.snapshot" any-order
        ((v == 7)) && published_lost=1
        data_check "$prev" "down $v"
    else
        check "down $v: dbont_migrations records no version" history_is
        check "down $v: the schema is empty again" schema_is ""
    fi
done
run "$migrate" --dir "$mdir" up
check "after every down: dbont-migrate up: exit 0" status_is 0
check "after every down: up applies all seven again" bash -c '[ "$(grep -c "^applied " "$0")" = 7 ]' "$work/stdout"
check "after every down: the migrations are the files each step wrote" bash -c \
    'cd "$0" && sha256sum --quiet -c "$1"' "$mdir" "$work/sums.all"
check "after up again: the schema equals the v7 snapshot" schema_is "$snaps/v7.snapshot"

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
