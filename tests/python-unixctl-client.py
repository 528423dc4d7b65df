#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs transactions through the Open vSwitch Python unixctl client, as a
real peer for test-appctl-compat.

usage: python-unixctl-client.py SOCKET COMMAND [ARG...] [-- COMMAND [ARG...]]...

Connects once with ovs.unixctl.client.UnixctlClient.create(), then runs each
COMMAND (commands are separated by a lone "--") on that one connection with
transact(), and prints what each returned, in a stable form that the test
compares byte for byte:

    error=ERRNO
    result=RESULT
    error_body=ERROR

where RESULT and ERROR are JSON strings (so that newlines and control
characters stay visible) or null.  Exits 1 if the connection fails.
"""

import json
import sys

import ovs.unixctl.client


def split_commands(words):
    commands = [[]]
    for word in words:
        if word == "--":
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def main():
    path = sys.argv[1]
    commands = split_commands(sys.argv[2:])

    error, client = ovs.unixctl.client.UnixctlClient.create(path)
    if error:
        print("connect error=%d" % error)
        sys.exit(1)

    for command in commands:
        # transact() returns (errno, error text, result text).
        error, error_body, result = client.transact(command[0], command[1:])
        print("error=%d" % error)
        print("result=%s" % json.dumps(result))
        print("error_body=%s" % json.dumps(error_body))
    client.close()


if __name__ == "__main__":
    main()
