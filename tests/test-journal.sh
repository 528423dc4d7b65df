#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-journal: the syslog destination's systemd-journal path.  unixctld
# sends syslog messages to the journal when /run/systemd/journal/socket
# exists; here, in a private mount namespace whose /run is an empty
# tmpfs, socat listens on that path as journald would, so the datagrams
# of the built daemon are read field by field and the machine's own /run
# (and journal) are never touched.  Needs root (mount namespaces) and
# socat; skipped without them.  TAP.
#
# Usage: test-journal.sh  (with $UNIXCTLD)
set -u

if ! command -v socat >/dev/null 2>&1; then
    echo "1..0 # SKIP socat is not installed"
    exit 0
fi
if ! unshare --mount --propagation private true 2>/dev/null; then
    echo "1..0 # SKIP no mount namespaces here (needs root)"
    exit 0
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# In the namespace: the fake journal, then the daemon until it has logged
# that it opened its log file (its first message), then SIGTERM.  Waits
# are bounded, so a daemon that never logs fails the test, not CI.
# shellcheck disable=SC2016 # the script expands in its own shell
unshare --mount --propagation private sh -c '
    dir=$1
    mount -t tmpfs tmpfs /run || exit 1
    mkdir -p /run/systemd/journal
    socat -u UNIX-RECV:/run/systemd/journal/socket \
        "OPEN:$dir/journal.bin,creat,append" &
    socat=$!
    n=0
    while [ ! -S /run/systemd/journal/socket ] && [ $n -lt 200 ]; do
        sleep 0.05; n=$((n + 1))
    done
    "$UNIXCTLD" --rundir="$dir" --unixctl="$dir/d.ctl" --dbus=none \
        --no-worker -vconsole:off -vsyslog:info --log-file="$dir/x.log" &
    daemon=$!
    n=0
    while ! grep -q "opened log file" "$dir/journal.bin" 2>/dev/null &&
        [ $n -lt 400 ]; do
        sleep 0.05; n=$((n + 1))
    done
    kill -TERM "$daemon"
    wait "$daemon"
    echo $? >"$dir/status"
    kill "$socat"
' sh "$dir" 2>"$dir/stderr"

echo "1..4"
n=0
check()
{
    n=$((n + 1))
    if "$@"; then echo "ok $n - $description"; else
        echo "not ok $n - $description"
        sed 's/^/# /' "$dir/stderr"
        [ -f "$dir/journal.bin" ] && sed 's/^/# journal: /' "$dir/journal.bin"
    fi
}

# The message and its fields, each "KEY=value" on a line of its own, as
# GLib's journal writer sends them for single-line values.
description="the message reaches the journal in the syslog pattern"
check grep -qx "MESSAGE=ovs|00001|vlog|INFO|opened log file $dir/x.log" \
    "$dir/journal.bin"

# Open vSwitch's info is syslog's notice (5); the facility is daemon (3).
description="with the priority and facility of syslog(3)"
check sh -c "grep -qx 'PRIORITY=5' '$dir/journal.bin' &&
    grep -qx 'SYSLOG_FACILITY=3' '$dir/journal.bin'"

description="named after the program, with its module"
check sh -c "grep -qx 'SYSLOG_IDENTIFIER=unixctld' '$dir/journal.bin' &&
    grep -qx 'GLIB_DOMAIN=vlog' '$dir/journal.bin'"

description="and the daemon exits cleanly on SIGTERM"
check grep -qx 0 "$dir/status"
