#!/bin/bash
# consumer_test.sh BUILD_DIR SOURCE_DIR [C_FLAGS]
#
# Installs the build into a fresh prefix (what `make install PREFIX=DIR`
# does), checks the installed layout, then builds a project outside the
# source tree with find_package(dbont) + dbont_generate(), applies its
# migrations with its <target>_migrate target and runs it against
# $DATABASE_URL.  Also compiles a program through pkg-config.  C_FLAGS
# (e.g. the sanitizer flags of the build) are passed to both.
set -u
build=$1
src=$2
cflags=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
passed=0
failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@" >"$tmp/log" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/  | /' "$tmp/log" | tail -40; fi; }

check "install into a fresh prefix" cmake --install "$build" --prefix "$prefix"
for f in bin/dbont-gen bin/dbont-migrate lib/libdbont.a include/dbont/dbont.h include/dbont/table.h \
         lib/cmake/dbont/dbontConfig.cmake lib/cmake/dbont/dbontConfigVersion.cmake \
         lib/cmake/dbont/dbontTargets.cmake lib/cmake/dbont/dbontGenerate.cmake \
         lib/pkgconfig/dbont.pc share/dbont/skeletons/dbont.m4; do
    check "installed $f" test -f "$prefix/$f"
done
# The installed dbont-gen must read the installed skeletons (not the
# source tree's): mark a copy of the prefix's header skeleton, move the
# whole prefix elsewhere, and look for the mark in what it generates.
cp -r "$prefix" "$tmp/moved"
sed -i 's|^#include <dbont/dbont.h>|&\n/* from the installed skeletons */|' "$tmp/moved/share/dbont/skeletons/c-header.m4"
"$tmp/moved/bin/dbont-gen" -o "$tmp/gen" "$src/tests/consumer/project/notes.ttl" >"$tmp/log" 2>&1
check "the installed dbont-gen uses the installed skeletons, wherever the prefix is" \
    grep -q "^/\* from the installed skeletons \*/" "$tmp/gen/notes.h"

cp -r "$src/tests/consumer/project" "$tmp/project"
check "configure the consumer with find_package(dbont)" \
    cmake -S "$tmp/project" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$cflags"
# A new project has no migration yet: the build says so and how to write it.
cmake --build "$tmp/build" >"$tmp/first.log" 2>&1
check "the first build fails: no migration yet" test $? -ne 0
check "... and names the migrations target" grep -q "no migration holds yet; write them as 0001_notes.sql" "$tmp/first.log"
check "... and writes nothing" test ! -e "$tmp/project/migrations"
check "the notes_db_migrations target writes the first migration" cmake --build "$tmp/build" --target notes_db_migrations
check "the first migration and its reverse are in the project" \
    test -f "$tmp/project/migrations/0001_notes.sql" -a -f "$tmp/project/migrations/0001_notes.down.sql"
check "build the consumer (dbont_generate runs dbont-gen)" cmake --build "$tmp/build"
check "apply its migrations (notes_db_migrate target)" cmake --build "$tmp/build" --target notes_db_migrate
check "run the consumer against PostgreSQL" "$tmp/build/notes"
check "a second build does nothing" bash -c '! cmake --build "$0" | grep -q "dbont-gen\|Building C"' "$tmp/build"
echo "# a comment changes the ontology file but not the code" >>"$tmp/project/notes.ttl"
cmake --build "$tmp/build" >"$tmp/rebuild.log" 2>&1
check "an ontology edit reruns dbont-gen" grep -q "dbont-gen: notes.h" "$tmp/rebuild.log"
check "... but recompiles nothing when the code is unchanged" bash -c '! grep -q "Building C" "$0"' "$tmp/rebuild.log"

# A schema change: the build fails until the next migration is written.
sed -i 's/\[ db:name "done" ; db:type "boolean" ; db:nullable false ; db:default "false" \]/&\n    [ db:name "due" ; db:type "date" ]/' \
    "$tmp/project/notes.ttl"
cmake --build "$tmp/build" >"$tmp/changed.log" 2>&1
check "a forgotten migration fails the build" test $? -ne 0
check "... naming the change" grep -q "missing: add column notes.due date" "$tmp/changed.log"
check "notes_db_migrations writes 0002" cmake --build "$tmp/build" --target notes_db_migrations
check "0002_add_notes_due.sql is in the project" test -f "$tmp/project/migrations/0002_add_notes_due.sql"
check "the build passes again" cmake --build "$tmp/build"
check "notes_db_migrate applies 0002 to the database" cmake --build "$tmp/build" --target notes_db_migrate
check "the consumer still runs" "$tmp/build/notes"

printf '#include <dbont/dbont.h>\nint main(void) { dbont_error e = {0}; dbont_close(dbont_connect(NULL, &e)); return 0; }\n' >"$tmp/pc.c"
check "compile and link through pkg-config" bash -c \
    'PKG_CONFIG_PATH="$0/lib/pkgconfig" && export PKG_CONFIG_PATH && cc $2 "$1" -o "$1.out" $(pkg-config --cflags --libs dbont)' \
    "$prefix" "$tmp/pc.c" "$cflags"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
