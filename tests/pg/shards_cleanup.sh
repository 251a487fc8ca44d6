#!/usr/bin/env bash
# shards_cleanup.sh SCRIPTS_DIR: with-shards.sh --private leaves nothing
# behind: no server process, no folder, whether the command succeeds,
# fails, or with-shards.sh itself is killed with SIGKILL (a ctest timeout:
# its watchdog destroys the set).  Sets of 1 shard (and its standby), to
# be quick.
set -u
here=$1
# shellcheck source=checks.sh
source "$here/checks.sh"
tmp=$(mktemp -d /tmp/dbshards-cleanup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The processes of the set whose folder is /tmp/dbshards.XXXXXX: the
# postmasters (-D in that folder) and the others (cluster_name in their
# titles), zombies aside.
set_processes() {
    local marker=${1#/tmp/} pid
    for pid in $(pgrep -f "$marker/"); do
        [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == [ZX] ]] && continue
        [[ -e /proc/$pid ]] && echo "$pid $(tr '\0' ' ' <"/proc/$pid/cmdline")"
    done
}
# gone DIR [SECONDS]: no process of the set and no folder, within SECONDS.
gone() {
    local dir=$1 left
    for _ in $(seq 1 $((${2:-0} * 10 + 1))); do
        left=$(set_processes "$dir")
        [[ -z $left && ! -e $dir ]] && return 0
        sleep 0.1
    done
    if [[ -n $left ]]; then
        while IFS= read -r line; do echo "  left running: $line"; done <<<"$left"
    fi
    [[ -e $dir ]] && echo "  left: $dir"
    return 1
}
# eventually SECONDS COMMAND...: COMMAND succeeds within SECONDS.
eventually() {
    local tries=$(($1 * 10))
    shift
    until "$@" >/dev/null 2>&1; do
        ((--tries > 0)) || { "$@"; return 1; }
        sleep 0.1
    done
}
not() { ! "$@"; }
# The inner command: records the set's folders and whether it ran.
cat >"$tmp/inner.sh" <<'EOF'
echo "$SHARDS_TMPDIR" >"$1/tmpdir"
echo "${DBONT_SHARDS_CONF%/*}" >"$1/state"
$PSQL -X -q -At -c "SELECT 1" "$DBONT_SHARD_0_PRIMARY" >"$1/answered"
exec sleep "$2"
EOF

echo "# the command ends (with status 3)"
PSQL=$PSQL bash "$here/with-shards.sh" --private --shards 1 \
    bash -c 'bash "$0" "$1" 0; exit 3' "$tmp/inner.sh" "$tmp" >"$tmp/log" 2>&1
check "the command's status is kept (3)" is 3 echo $?
check "the command ran against the set" is 1 cat "$tmp/answered"
dir=$(cat "$tmp/tmpdir" 2>/dev/null || echo /tmp/dbshards.none)
check "with-shards.sh exported SHARDS_TMPDIR ($dir)" test "$dir" != /tmp/dbshards.none
check "no process of the set is left, and no folder" gone "$dir"
check "no state folder is left" test ! -e "$(cat "$tmp/state")"
check "no watchdog is left" is "" pgrep -f "watchdog [0-9]+ $(cat "$tmp/state")"

echo "# with-shards.sh killed with SIGKILL (the watchdog cleans up)"
rm -f "$tmp/tmpdir" "$tmp/answered" "$tmp/state"
# Its own process group, killed whole, as ctest kills a test's processes.
PSQL=$PSQL setsid bash "$here/with-shards.sh" --private --shards 1 \
    bash "$tmp/inner.sh" "$tmp" 300 >"$tmp/log2" 2>&1 &
leader=$!
for _ in $(seq 1 600); do
    [[ -s $tmp/answered ]] && break
    sleep 0.1
done
check "the set started" is 1 cat "$tmp/answered"
dir=$(cat "$tmp/tmpdir" 2>/dev/null || echo /tmp/dbshards.none)
check "its servers run" test -n "$(set_processes "$dir")"
check "its watchdog runs" has watchdog pgrep -af "watchdog [0-9]+ $(cat "$tmp/state")"
kill -KILL -- "-$leader" 2>/dev/null
wait "$leader" 2>/dev/null
check "within 10 s, no process of the set is left, and no folder" gone "$dir" 10
check "... nor the state folder" eventually 5 test ! -e "$(cat "$tmp/state")"
check "... nor the watchdog" eventually 5 not pgrep -f "watchdog [0-9]+ $(cat "$tmp/state")"

if [[ $failed != 0 ]]; then
    echo "# with-shards.sh's output:"
    sed 's/^/  | /' "$tmp/log" "$tmp/log2"
fi
checks_summary
