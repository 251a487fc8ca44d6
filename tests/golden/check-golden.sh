#!/bin/sh
# check-golden.sh DBONT_GEN NAME ONTOLOGY
#
# Generates NAME from ONTOLOGY into a fresh folder and compares every file
# with tests/golden/NAME/.  Run from the repository root.  After a
# deliberate change to the output, regenerate with `make golden` and review
# the diff before committing it.
set -u
gen=$1
name=$2
ttl=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$gen" -o "$tmp/$name" "$ttl"; then
    echo "FAIL $name: dbont-gen failed"
    exit 1
fi
if diff -ru "tests/golden/$name" "$tmp/$name"; then
    echo "ok $name: $(cd "$tmp/$name" && find . -type f | wc -l) files identical to tests/golden/$name"
    exit 0
fi
echo "FAIL $name: generated files differ from tests/golden/$name (see the diff above;"
echo "     if the change is intended, run 'make golden' and commit the new files)"
exit 1
