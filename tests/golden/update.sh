#!/bin/sh
# update.sh DBONT_GEN: regenerates every golden folder listed in cases.txt.
# Run from the repository root (make golden does).
set -eu
gen=$1
grep -v '^#' tests/golden/cases.txt | while read -r name ttl; do
    [ -n "$name" ] || continue
    rm -rf "tests/golden/$name"
    "$gen" -o "tests/golden/$name" "$ttl"
    echo "regenerated tests/golden/$name from $ttl"
done
