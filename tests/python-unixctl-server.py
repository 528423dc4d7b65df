#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A unixctl server built on the Open vSwitch Python library, as a second
real peer for test-cli-compat (the first is ovsdb-server).

usage: python-unixctl-server.py SOCKET

Listens on SOCKET, prints SOCKET on stdout once it accepts connections, and
serves until the `exit` command or until stdin reaches end of file (so that
it never outlives the test that started it).
"""

import select
import sys

import ovs.poller
import ovs.unixctl
import ovs.unixctl.server
import ovs.util

VERSION = "3.1.0-test"

exiting = False


def greet(conn, argv, unused_aux):
    conn.reply("hello, %s" % argv[0])


def fail(conn, unused_argv, unused_aux):
    conn.reply_error("this command always fails")


def multi_line(conn, unused_argv, unused_aux):
    conn.reply("line 1\nline 2\n\n  indented line 4")


def empty(conn, unused_argv, unused_aux):
    conn.reply("")


def join(conn, argv, unused_aux):
    conn.reply(" ".join(argv))


def hang(unused_conn, unused_argv, unused_aux):
    # Never replies: the request stays pending until the client leaves.
    pass


def exit_command(conn, unused_argv, unused_aux):
    global exiting
    exiting = True
    conn.reply(None)


def main():
    ovs.util.PROGRAM_NAME = "python-unixctl-server"
    path = sys.argv[1]

    ovs.unixctl.command_register("greet", "NAME", 1, 1, greet, None)
    ovs.unixctl.command_register("fail", "", 0, 0, fail, None)
    ovs.unixctl.command_register("multi-line", "", 0, 0, multi_line, None)
    ovs.unixctl.command_register("empty", "", 0, 0, empty, None)
    ovs.unixctl.command_register("join", "[ARG...]", 0, 3, join, None)
    ovs.unixctl.command_register("hang", "", 0, 0, hang, None)
    ovs.unixctl.command_register("exit", "", 0, 0, exit_command, None)

    error, server = ovs.unixctl.server.UnixctlServer.create(path, VERSION)
    if error:
        sys.exit(1)

    print(path, flush=True)

    while not exiting:
        server.run()
        if exiting:
            break

        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if readable and not sys.stdin.buffer.read1(4096):
            break

        poller = ovs.poller.Poller()
        server.wait(poller)
        poller.fd_wait(sys.stdin.fileno(), ovs.poller.POLLIN)
        poller.block()

    server.close()


if __name__ == "__main__":
    main()
