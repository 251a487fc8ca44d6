#!/usr/bin/env bash
# tenancy_evolution_test.sh DBONT_GEN DBONT_MIGRATE: tenancy turned on for
# tables that hold rows, through dbont-gen's migrations, on PostgreSQL.
#
# Run through tests/pg/with-pg.sh (DATABASE_URL names a fresh database).
#
#   v1  notes (org uuid, nullable) and tags, no tenancy       0001
#   v2  notes multi-tenant on org, org NOT NULL               0002: refused by
#       dbont-migrate while a note has no org (nothing changes); applied once
#       every note has one; then RLS holds for the application role
#   v3  tags multi-tenant on a new column org                 refused on a
#       populated table (the migration file is dropped again); done instead
#       in two steps: the column first (0003), filled, then tenancy (0004)
#   v4  notes gets policies of its own                        0005: the tenant
#       policy becomes restrictive, the ontology's decide inside the tenant
#   down to nothing: every step reverts, the rows stay until their table goes
#
# Prints one line per check and "N passed, N failed"; exits 1 on failure.
set -uo pipefail

if [[ $# != 2 ]]; then
    echo "usage: tenancy_evolution_test.sh DBONT_GEN DBONT_MIGRATE" >&2
    exit 2
fi
gen=$1
migrate=$2
: "${DATABASE_URL:?tenancy_evolution_test.sh runs through tests/pg/with-pg.sh (DATABASE_URL unset)}"
# The application role of this test's ontology (roles belong to the whole
# cluster: a name of its own keeps other tests' databases out of it).
ROLE=tenancy_evo_app
APP_URL="$DATABASE_URL&user=$ROLE"

work=$(mktemp -d /tmp/dbont-tenancy-evo.XXXXXX)
trap 'rm -rf "$work"' EXIT
ttl=$work/notes.ttl
mdir=$work/migrations
mkdir "$mdir"

# shellcheck source=../../pg/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../pg/checks.sh"

generate() { # generate [--allow-destructive]: dbont-gen on the ontology
    "$gen" -o "$work/out" --migrations-dir "$mdir" "$@" "$ttl" 2>&1
}
up() { "$migrate" --dir "$mdir" up 2>&1; }
down() { "$migrate" --dir "$mdir" down 2>&1; }
history() { owner "SELECT string_agg(version::text, ' ' ORDER BY version) FROM dbont_migrations"; }
rls_of() { owner "SELECT relrowsecurity || '/' || relforcerowsecurity FROM pg_class WHERE relname = '$1'"; }
policies_of() {
    owner "SELECT string_agg(polname || CASE WHEN polpermissive THEN '' ELSE '(restrictive)' END, ' '
             ORDER BY polname) FROM pg_policy WHERE polrelid = '$1'::regclass"
}

A=00000000-0000-0000-0000-00000000000a
B=00000000-0000-0000-0000-00000000000b

# ---- v1 ------------------------------------------------------------------------
head='@prefix db: <http://example.org/db/> .
@prefix mt: <http://example.org/multi-tenancy/> .
mt:Tenancy a mt:Pattern ; mt:appRole "tenancy_evo_app" .
'
notes_plain='db:NotesTable a db:Table ;
  db:columns (
    [ db:name "id" ; db:type "serial" ; db:primaryKey true ]
    [ db:name "org" ; db:type "uuid" ]
    [ db:name "body" ; db:type "text" ; db:nullable false ]
  ) .
'
tags_plain='db:TagsTable a db:Table ;
  db:columns (
    [ db:name "id" ; db:type "serial" ; db:primaryKey true ]
    [ db:name "name" ; db:type "text" ; db:nullable false ]
  ) .
'
printf '%s%s%s' "$head" "$notes_plain" "$tags_plain" >"$ttl"
check "v1: dbont-gen writes 0001" generate
check "v1: applied" up
owner "INSERT INTO notes (org, body) VALUES ('$A', 'a1'), ('$A', 'a2'), ('$B', 'b1'), (NULL, 'orphan');
       INSERT INTO tags (name) VALUES ('x'), ('y')" >/dev/null

# ---- v2: notes becomes multi-tenant ------------------------------------------------
notes_tenant='db:NotesTable a db:Table ; db:multiTenant true ; db:tenantIdColumn "org" ;
  db:columns (
    [ db:name "id" ; db:type "serial" ; db:primaryKey true ]
    [ db:name "org" ; db:type "uuid" ; db:nullable false ]
    [ db:name "body" ; db:type "text" ; db:nullable false ]
  ) .
'
printf '%s%s%s' "$head" "$notes_tenant" "$tags_plain" >"$ttl"
check "v2: making the tenant column NOT NULL needs --allow-destructive" \
    fails_with "make notes.org NOT NULL" generate
check "v2: with --allow-destructive, 0002 is written" generate --allow-destructive
m2=$(ls "$mdir"/0002_*[^n].sql)
check "v2: the migration checks for rows without a tenant" grep -q "WHERE org IS NULL" "$m2"
# An application role that could SET ROLE to one that bypasses RLS is no
# application role: the migration stops (and changes nothing).
owner "DO \$\$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE') THEN CREATE ROLE $ROLE LOGIN; END IF;
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenancy_evo_bypass') THEN
           CREATE ROLE tenancy_evo_bypass NOLOGIN BYPASSRLS;
         END IF;
       END \$\$; GRANT tenancy_evo_bypass TO $ROLE" >/dev/null
check "v2: refused while the role is a member of a BYPASSRLS role" \
    fails_with "role $ROLE bypasses row-level security (superuser or BYPASSRLS, or a member of such a role)" up
owner "REVOKE tenancy_evo_bypass FROM $ROLE; DROP ROLE tenancy_evo_bypass" >/dev/null
check "v2: refused while a note has no tenant" fails_with "table notes has rows without a tenant in org" up
check "v2: ... and nothing of it applied" is "1" history
check "v2: ... row-level security still off" is "false/false" rls_of notes
owner "UPDATE notes SET org = '$B' WHERE org IS NULL" >/dev/null
check "v2: applied once every note has a tenant" up
check "v2: history 1 2" is "1 2" history
check "v2: row-level security enabled and forced" is "true/true" rls_of notes
check "v2: the tenant policy" is "notes_tenant_isolation" policies_of notes
check "v2: every note kept its tenant" is "2|2" owner "SELECT count(*) FILTER (WHERE org = '$A'),
                                                   count(*) FILTER (WHERE org = '$B') FROM notes"
check "v2: no tenant set: the application role sees no note" is "0" app "" "SELECT count(*) FROM notes"
check "v2: tenant A sees its notes only" is "a1 a2" app "$A" "SELECT string_agg(body, ' ' ORDER BY body) FROM notes"
check "v2: tenant B sees its notes only" is "b1 orphan" app "$B" "SELECT string_agg(body, ' ' ORDER BY body) FROM notes"
check "v2: an insert lands in the session's tenant" is "$A" app "$A" "INSERT INTO notes (body) VALUES ('a3') RETURNING org"
check "v2: an insert for another tenant is refused" \
    fails_with "violates row-level security policy" app "$A" "INSERT INTO notes (org, body) VALUES ('$B', 'x')"
check "v2: moving a note to another tenant is refused" \
    fails_with "violates row-level security policy" app "$A" "UPDATE notes SET org = '$B'"
check "v2: another tenant's notes cannot be deleted" is "0" app "$A" \
    "WITH d AS (DELETE FROM notes WHERE org = '$B' RETURNING 1) SELECT count(*) FROM d"
check "v2: the plain table tags is shared" is "2" app "" "SELECT count(*) FROM tags"

# ---- v3: tags becomes multi-tenant on a new column -------------------------------
tags_tenant='db:TagsTable a db:Table ; db:multiTenant true ; db:tenantIdColumn "org" ;
  db:columns (
    [ db:name "id" ; db:type "serial" ; db:primaryKey true ]
    [ db:name "name" ; db:type "text" ; db:nullable false ]
    [ db:name "org" ; db:type "uuid" ; db:nullable false ]
  ) .
'
cp -r "$mdir" "$work/migrations.v2"
printf '%s%s%s' "$head" "$notes_tenant" "$tags_tenant" >"$ttl"
check "v3: dbont-gen writes 0003" generate
check "v3: refused on a table with rows" fails_with "table tags has rows: they need their tenant in org" up
check "v3: ... and nothing of it applied" is "1 2" history
check "v3: ... tags has no column org" is "0" owner "SELECT count(*) FROM pg_attribute
                                                  WHERE attrelid = 'tags'::regclass AND attname = 'org'"
# Never applied anywhere: drop the file (and the snapshot that names it),
# and go in two steps.
rm -rf "$mdir" && mv "$work/migrations.v2" "$mdir"
tags_column='db:TagsTable a db:Table ;
  db:columns (
    [ db:name "id" ; db:type "serial" ; db:primaryKey true ]
    [ db:name "name" ; db:type "text" ; db:nullable false ]
    [ db:name "org" ; db:type "uuid" ]
  ) .
'
printf '%s%s%s' "$head" "$notes_tenant" "$tags_column" >"$ttl"
check "v3a: the column alone: 0003" generate
check "v3a: applied" up
owner "UPDATE tags SET org = CASE name WHEN 'x' THEN '$A'::uuid ELSE '$B'::uuid END" >/dev/null
printf '%s%s%s' "$head" "$notes_tenant" "$tags_tenant" >"$ttl"
check "v3b: tenancy on tags: 0004" generate --allow-destructive
check "v3b: applied" up
check "v3b: history 1 2 3 4" is "1 2 3 4" history
check "v3b: tenant A sees its tag only" is "x" app "$A" "SELECT string_agg(name, ' ') FROM tags"
check "v3b: a new tag takes the session's tenant (and its serial id)" is "$B" app "$B" \
    "INSERT INTO tags (name) VALUES ('z') RETURNING org"

# ---- v4: policies of the ontology's own --------------------------------------------
notes_policies='db:NotesTable a db:Table ; db:multiTenant true ; db:tenantIdColumn "org" ;
  db:rlsPolicies (
    [ db:policyName "notes_visible" ; db:command "SELECT" ; db:using "body <> '"'hidden'"'" ]
    [ db:policyName "notes_add" ; db:command "INSERT" ; db:withCheck "true" ]
    [ db:policyName "notes_change" ; db:command "UPDATE" ; db:using "true" ; db:withCheck "true" ]
    [ db:policyName "notes_remove" ; db:command "DELETE" ; db:using "true" ]
  ) ;
  db:columns (
    [ db:name "id" ; db:type "serial" ; db:primaryKey true ]
    [ db:name "org" ; db:type "uuid" ; db:nullable false ]
    [ db:name "body" ; db:type "text" ; db:nullable false ]
  ) .
'
printf '%s%s%s' "$head" "$notes_policies" "$tags_tenant" >"$ttl"
check "v4: dbont-gen writes 0005" generate
check "v4: applied" up
check "v4: the tenant policy is restrictive beside the ontology's" \
    is "notes_add notes_change notes_remove notes_tenant_isolation(restrictive) notes_visible" policies_of notes
app "$A" "INSERT INTO notes (body) VALUES ('hidden')" >/dev/null
check "v4: the ontology's policy hides a row within the tenant" is "a1 a2 a3" app "$A" \
    "SELECT string_agg(body, ' ' ORDER BY body) FROM notes"
check "v4: ... the tenant policy still hides the other tenants" is "b1 orphan" app "$B" \
    "SELECT string_agg(body, ' ' ORDER BY body) FROM notes"
check "v4: ... and refuses their rows" fails_with "violates row-level security policy" app "$A" \
    "INSERT INTO notes (org, body) VALUES ('$B', 'x')"

# ---- down ---------------------------------------------------------------------------
check "down 5: reverted" down
check "down 5: the tenant policy is permissive again, alone" is "notes_tenant_isolation" policies_of notes
check "down 5: the hidden note is visible again" is "a1 a2 a3 hidden" app "$A" \
    "SELECT string_agg(body, ' ' ORDER BY body) FROM notes"
check "down 4: reverted" down
check "down 4: tags has no row-level security" is "false/false" rls_of tags
check "down 3: reverted" down
check "down 2: reverted" down
check "down 2: notes has no row-level security and no policy" is "false/false|" \
    owner "SELECT relrowsecurity || '/' || relforcerowsecurity || '|' || coalesce((SELECT string_agg(polname, ' ')
             FROM pg_policy WHERE polrelid = 'notes'::regclass), '') FROM pg_class WHERE relname = 'notes'"
check "down 2: the tenant functions are gone" is "0" owner \
    "SELECT count(*) FROM pg_proc WHERE proname IN ('current_org_id', 'current_user_org_id')"
check "down 2: every note is still there" is "6" owner "SELECT count(*) FROM notes"
check "down 1: reverted" down
check "down 1: nothing left but the history" is "dbont_migrations" owner \
    "SELECT string_agg(relname, ' ') FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"

checks_summary
