#!/bin/sh
# check-bad.sh DBONT_GEN FILE.ttl
#
# One case of the bad-ontology corpus: dbont-gen must exit with status 1,
# print exactly FILE.err on stderr, and create no file at all.
# Run from this folder so messages name the file as "FILE.ttl".
set -u
gen=$1
ttl=$2
expected=${ttl%.ttl}.err
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$gen" -o "$tmp/out" "$ttl" 2>"$tmp/stderr" >"$tmp/stdout"
rc=$?
fail=0
if [ "$rc" -ne 1 ]; then
    echo "FAIL $ttl: exit status $rc, expected 1"
    fail=1
fi
if ! cmp -s "$expected" "$tmp/stderr"; then
    echo "FAIL $ttl: stderr differs from $expected:"
    diff -u "$expected" "$tmp/stderr"
    fail=1
fi
if [ -e "$tmp/out" ]; then
    echo "FAIL $ttl: files were written:"
    find "$tmp/out"
    fail=1
fi
[ "$fail" -eq 0 ] && echo "ok $ttl: $(head -n 1 "$tmp/stderr")"
exit "$fail"
