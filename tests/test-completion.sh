#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# compopt and cleanup run indirectly (from _unixctl and the EXIT trap).
# shellcheck disable=SC2317
#
# test-completion: data/unixctl.bash-completion, loaded the way
# bash-completion loads it, completes options, their values, daemon names
# from the run directory, the PEM files of the TLS options and the
# commands a live unixctld lists, over its socket, tcp: and ssl:.  TAP.
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
ssl_daemon=
cleanup()
{
    [[ -n $daemon ]] && kill "$daemon" 2>/dev/null && wait "$daemon"
    [[ -n $ssl_daemon ]] && kill "$ssl_daemon" 2>/dev/null &&
        wait "$ssl_daemon"
    rm -rf "$dir"
}
trap cleanup EXIT

export OVS_RUNDIR=$dir
unixctl_dir=$(dirname "$UNIXCTL")
PATH=$unixctl_dir:$PATH

n=0
failed=0

# Splits WORD into COMP_WORDS as readline does at the COMP_WORDBREAKS
# characters found in unixctl's words, "=" and ":": "--target=tcp:h:1"
# is "--target" "=" "tcp" ":" "h" ":" "1", and the word being completed
# after "ssl:" is ":".
add_comp_words()
{
    local word=$1
    if [[ -z $word ]]; then
        COMP_WORDS+=("")
        return
    fi
    while [[ $word =~ ^([^:=]*)([:=]+)(.*)$ ]]; do
        [[ -n ${BASH_REMATCH[1]} ]] && COMP_WORDS+=("${BASH_REMATCH[1]}")
        COMP_WORDS+=("${BASH_REMATCH[2]}")
        word=${BASH_REMATCH[3]}
    done
    [[ -n $word ]] && COMP_WORDS+=("$word")
}

# complete "EXPECTED" WORD...: completes the last WORD of "unixctl WORD..."
# as bash would on that line, and compares the sorted candidates with
# EXPECTED.
complete_is()
{
    local expected=$1
    shift
    local -a COMP_WORDS=(unixctl)
    local word
    for word in "$@"; do
        add_comp_words "$word"
    done
    local COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    local COMP_LINE="unixctl $*"
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
complete_is "--ca-cert= --certificate=" --c
# After a colon readline replaces only what follows it.
complete_is "ssl:" -t ss
complete_is "ssl:" --target=ss

# The TLS options take PEM files: *.pem and directories, else any file.
pki=$dir/pki
mkdir -p "$pki/sub"
: > "$pki/ca.pem"
: > "$pki/cert.pem"
: > "$pki/key.crt"
complete_is "$pki/ca.pem $pki/cert.pem $pki/sub" -p "$pki/"
complete_is "$pki/cert.pem" -c "$pki/ce"
complete_is "$pki/ca.pem $pki/cert.pem" --ca-cert="$pki/c"
complete_is "$pki/ca.pem" -C "$pki/ca"
complete_is "$pki/key.crt" --private-key "$pki/k"
complete_is "" -C "$pki/none"

# Daemon names come from the pidfiles in the run directory.
: > "$dir/ovsdb-server.pid"
: > "$dir/unixctld.pid"
complete_is "ovsdb-server ssl: tcp: unix: unixctld" -t ""
complete_is "ovsdb-server" -t ov

# Commands come from the target's own list-commands, found by name
# through its pidfile or by socket path.
rm "$dir/unixctld.pid"
"$UNIXCTLD" --rundir="$dir" --pidfile --no-worker --dbus=none \
    --remote=ptcp:0:127.0.0.1 -vdaemon:console:dbg 2>"$dir/stderr" &
daemon=$!
socket=$dir/unixctld.$daemon.ctl
for _ in $(seq 1 400); do
    [[ -S $socket && -s $dir/unixctld.pid ]] && grep -q 'listening on ptcp:' "$dir/stderr" && break
    sleep 0.05
done
tcp_port=$(sed -n 's/.*|listening on ptcp:\([0-9]*\):.*/\1/p' "$dir/stderr")
complete_is "vlog/list vlog/list-pattern" -t unixctld vlog/l
complete_is "version" -t unixctld ver
complete_is "exit" -t "$socket" ex
complete_is "list-commands" -T 5 --target=unixctld li
# Past the command there is nothing to complete.
complete_is "" -t unixctld version ""
# The TLS options' values are not the command (a unix: target ignores
# them, as ovs-appctl's programs do).
complete_is "version" -p key.pem -c cert.pem -C ca.pem -t unixctld ver
complete_is "version" --private-key key.pem --certificate cert.pem \
    --ca-cert ca.pem -t unixctld ver
complete_is "version" --ca-cert=ca.pem -t unixctld ver
# A tcp: target is one word although readline splits it at its colons.
complete_is "version" -t "tcp:127.0.0.1:$tcp_port" ver
complete_is "version" --target="tcp:127.0.0.1:$tcp_port" ver

# An ssl: target is asked for its commands with the TLS files given: a
# daemon listening on pssl: with certificates that one CA signed.
make_pki()
{
    local name
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca \
        -keyout "$pki/ca-key.pem" -out "$pki/cacert.pem" || return
    for name in server client; do
        openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" \
            -keyout "$pki/$name-privkey.pem" -out "$pki/$name-req.pem" &&
            openssl x509 -req -days 1 -in "$pki/$name-req.pem" \
                -CA "$pki/cacert.pem" -CAkey "$pki/ca-key.pem" \
                -CAcreateserial -out "$pki/$name-cert.pem" || return
    done
}

ssl_skip=
if ! command -v openssl >/dev/null; then
    ssl_skip="openssl is not installed"
elif ! make_pki 2>"$dir/openssl.log"; then
    ssl_skip="openssl cannot make test certificates"
else
    mkdir "$dir/tls"
    "$UNIXCTLD" --rundir="$dir/tls" --unixctl=none --no-worker --dbus=none \
        --remote=pssl:0:127.0.0.1 -vdaemon:console:dbg \
        -p "$pki/server-privkey.pem" -c "$pki/server-cert.pem" \
        -C "$pki/cacert.pem" 2>"$dir/tls/stderr" &
    ssl_daemon=$!
    for _ in $(seq 1 400); do
        grep -q 'listening on pssl:' "$dir/tls/stderr" && break
        kill -0 "$ssl_daemon" 2>/dev/null || break
        sleep 0.05
    done
    ssl_port=$(sed -n 's/.*|listening on pssl:\([0-9]*\):.*/\1/p' "$dir/tls/stderr")
    if [[ -z $ssl_port ]] && grep -q 'no TLS backend' "$dir/tls/stderr"; then
        ssl_skip="GIO has no TLS backend (glib-networking)"
    fi
fi
if [[ -n $ssl_skip ]]; then
    n=$((n + 1))
    echo "ok $n # SKIP ssl: target: $ssl_skip"
else
    complete_is "version" -t "ssl:127.0.0.1:$ssl_port" \
        -p "$pki/client-privkey.pem" -c "$pki/client-cert.pem" \
        -C "$pki/cacert.pem" ver
    complete_is "version" --private-key="$pki/client-privkey.pem" \
        --certificate="$pki/client-cert.pem" --ca-cert="$pki/cacert.pem" \
        --target="ssl:127.0.0.1:$ssl_port" ver
    # Without them unixctl cannot connect, so there is nothing to offer.
    complete_is "" -t "ssl:127.0.0.1:$ssl_port" ver
    kill "$ssl_daemon" && wait "$ssl_daemon"
    ssl_daemon=
fi

echo "1..$n"
exit $failed
