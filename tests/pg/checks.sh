# checks.sh: what the shell tests against PostgreSQL share (sourced).
#
#   PSQL                       the psql to use ($PG_BINDIR's first)
#   check DESC COMMAND...      one check: "ok DESC" or "FAIL DESC"
#   is WANT COMMAND...         COMMAND prints exactly WANT
#   has TEXT COMMAND...        COMMAND succeeds and prints TEXT somewhere
#   fails_with TEXT COMMAND... COMMAND fails and prints TEXT somewhere
#   owner SQL                  SQL as the owner ($DATABASE_URL), values only
#   app TENANT SQL             SQL as the application role ($APP_URL) in a
#                              transaction whose tenant is TENANT ('' for
#                              none), set as dbont does it
#   checks_summary             "N passed, N failed"; its status is 1 on failure
#
# A failed is/has/fails_with says what it got, indented, under the FAIL line.

for candidate in "${PG_BINDIR:-}/psql" /usr/bin/psql /usr/lib/postgresql/15/bin/psql; do
    if [[ -x $candidate ]]; then
        PSQL=$candidate
        break
    fi
done

passed=0
failed=0
check() {
    local desc=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok $desc"
    else
        failed=$((failed + 1))
        echo "FAIL $desc"
    fi
}
is() {
    local got
    got=$("${@:2}" 2>&1)
    [[ $got == "$1" ]] && return 0
    echo "  wanted: $1"
    echo "  got:    $got"
    return 1
}
has() {
    local out
    out=$("${@:2}" 2>&1) || { echo "  failed: $out"; return 1; }
    [[ $out == *"$1"* ]] && return 0
    echo "  no '$1' in:"
    echo "$out" | sed 's/^/  | /'
    return 1
}
fails_with() {
    local out
    out=$("${@:2}" 2>&1) && { echo "  succeeded: $out"; return 1; }
    [[ $out == *"$1"* ]] && return 0
    echo "  $out"
    return 1
}
owner() { "$PSQL" -X -q -At -F '|' -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1"; }
app() {
    "$PSQL" -X -q -At -F '|' -v ON_ERROR_STOP=1 -d "$APP_URL" \
        -c "BEGIN" -c "DO \$\$ BEGIN PERFORM set_config('app.current_org_id', '$1', true); END \$\$" \
        -c "$2" -c "COMMIT"
}
checks_summary() {
    echo "$passed passed, $failed failed"
    [[ $failed == 0 ]]
}
