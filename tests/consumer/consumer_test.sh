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
check "the installed dbont-gen uses the installed skeletons" bash -c \
    'cd "$0" && mv "$1" "$1.away" && trap "mv \"$1.away\" \"$1\"" EXIT && "$0/bin/dbont-gen" -o "$0/gen" "$2/project/notes.ttl"' \
    "$prefix" "$src/generator/skeletons" "$src/tests/consumer"

cp -r "$src/tests/consumer/project" "$tmp/project"
check "configure the consumer with find_package(dbont)" \
    cmake -S "$tmp/project" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$cflags"
check "build the consumer (dbont_generate runs dbont-gen)" cmake --build "$tmp/build"
check "the first migration was written into the project" test -f "$tmp/project/migrations/0001_notes.sql"
check "apply its migrations (notes_db_migrate target)" cmake --build "$tmp/build" --target notes_db_migrate
check "run the consumer against PostgreSQL" "$tmp/build/notes"
check "a second build does nothing" bash -c '! cmake --build "$0" | grep -q "dbont-gen\|Building C"' "$tmp/build"
echo "# a comment changes the ontology file but not the code" >>"$tmp/project/notes.ttl"
cmake --build "$tmp/build" >"$tmp/rebuild.log" 2>&1
check "an ontology edit reruns dbont-gen" grep -q "dbont-gen: notes.h" "$tmp/rebuild.log"
check "... but recompiles nothing when the code is unchanged" bash -c '! grep -q "Building C" "$0"' "$tmp/rebuild.log"

printf '#include <dbont/dbont.h>\nint main(void) { dbont_error e = {0}; dbont_close(dbont_connect(NULL, &e)); return 0; }\n' >"$tmp/pc.c"
check "compile and link through pkg-config" bash -c \
    'PKG_CONFIG_PATH="$0/lib/pkgconfig" && export PKG_CONFIG_PATH && cc $2 "$1" -o "$1.out" $(pkg-config --cflags --libs dbont)' \
    "$prefix" "$tmp/pc.c" "$cflags"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
