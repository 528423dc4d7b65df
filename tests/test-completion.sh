#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# compopt and cleanup run indirectly (from _unixctl and the EXIT trap).
# shellcheck disable=SC2317
#
# test-completion: data/unixctl.bash-completion, loaded the way
# bash-completion loads it, completes options, their values, daemon names
# from the run directory and the commands a live unixctld lists.  TAP.
#
# Usage: test-completion.sh COMPLETION_FILE  (with $UNIXCTL and $UNIXCTLD)
set -u

completion_file=$1
framework=/usr/share/bash-completion/bash_completion

if [[ ! -r $framework ]]; then
    echo "1..0 # SKIP bash-completion is not installed ($framework)"
    exit 0
fi
# bash_completion reads unset variables and returns non-zero on purpose.
# shellcheck source=/dev/null
source "$framework"
# shellcheck source=/dev/null
source "$completion_file"
# Only a completion run by readline may set its own options.
compopt() { :; }

dir=$(mktemp -d)
daemon=
cleanup()
{
    [[ -n $daemon ]] && kill "$daemon" 2>/dev/null && wait "$daemon"
    rm -rf "$dir"
}
trap cleanup EXIT

export OVS_RUNDIR=$dir
unixctl_dir=$(dirname "$UNIXCTL")
PATH=$unixctl_dir:$PATH

n=0
failed=0

# complete "EXPECTED" WORD...: completes the last WORD of "unixctl WORD..."
# and compares the sorted candidates with EXPECTED.
complete_is()
{
    local expected=$1
    shift
    local -a COMP_WORDS=(unixctl "$@")
    local COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    local COMP_LINE="${COMP_WORDS[*]}"
    local COMP_POINT=${#COMP_LINE}
    local COMPREPLY=()
    local got

    _unixctl unixctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
    got=${got% }
    n=$((n + 1))
    if [[ $got == "$expected" ]]; then
        echo "ok $n - unixctl $* -> $expected"
    else
        echo "not ok $n - unixctl $*"
        echo "#   expected: '$expected'"
        echo "#        got: '$got'"
        failed=1
    fi
}

complete_is "--format=" --fo
complete_is "--dbus --dbus=" --db
complete_is "json text" -f ""
complete_is "json" --format=j
complete_is "session system" --dbus=
complete_is "--target= --timeout=" --t

# Daemon names come from the pidfiles in the run directory.
: > "$dir/ovsdb-server.pid"
: > "$dir/unixctld.pid"
complete_is "ovsdb-server ssl: tcp: unix: unixctld" -t ""
complete_is "ovsdb-server" -t ov

# Commands come from the target's own list-commands, found by name
# through its pidfile or by socket path.
rm "$dir/unixctld.pid"
"$UNIXCTLD" --rundir="$dir" --pidfile --no-worker --dbus=none \
    2>"$dir/stderr" &
daemon=$!
socket=$dir/unixctld.$daemon.ctl
for _ in $(seq 1 400); do
    [[ -S $socket && -s $dir/unixctld.pid ]] && break
    sleep 0.05
done
complete_is "vlog/list vlog/list-pattern" -t unixctld vlog/l
complete_is "version" -t unixctld ver
complete_is "exit" -t "$socket" ex
complete_is "list-commands" -T 5 --target=unixctld li
# Past the command there is nothing to complete.
complete_is "" -t unixctld version ""

echo "1..$n"
exit $failed
