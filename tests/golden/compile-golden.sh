#!/bin/sh
# compile-golden.sh INCLUDE_DIR... : compiles every golden C file with gcc
# and clang (-std=c11 -Wall -Wextra -Wpedantic -Werror) and includes every
# golden header from C++ (g++ and clang++, -std=c++11), so the generated
# code is known to be warning-free for users of any of them.  Each compiler
# must be installed (.ci/run installs them); a missing one fails the test.
# Run from the repository root.
set -u
includes=""
for dir in "$@"; do includes="$includes -I$dir"; done
fail=0
passed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for src in tests/golden/*/*.c; do
    for cc in gcc clang; do
        if $cc -std=c11 -Wall -Wextra -Wpedantic -Werror $includes -c "$src" -o "$tmp/out.o"; then
            passed=$((passed + 1))
        else
            echo "FAIL $cc: $src"
            fail=$((fail + 1))
        fi
    done
done
for hdr in tests/golden/*/*.h; do
    printf '#include "%s"\nint main() { return 0; }\n' "$PWD/$hdr" >"$tmp/use.cpp"
    for cxx in g++ clang++; do
        if $cxx -std=c++11 -Wall -Wextra -Wpedantic -Werror $includes -fsyntax-only "$tmp/use.cpp"; then
            passed=$((passed + 1))
        else
            echo "FAIL $cxx: $hdr as C++"
            fail=$((fail + 1))
        fi
    done
done
echo "$passed passed, $fail failed"
[ "$fail" -eq 0 ]
