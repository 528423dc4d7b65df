#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sends one JSON-RPC request over the Open vSwitch Python library's SSL
stream, as a real TLS peer (OpenSSL underneath) for test-tls.

usage: python-ssl-client.py PRIVATE_KEY CERTIFICATE CA_CERT TARGET METHOD [ARG...]

Opens TARGET ("ssl:HOST:PORT") with ovs.stream.Stream.open_block() after
setting the three files as ovs-vsctl's -p/-c/-C do, sends METHOD with the
ARGs as its params through ovs.jsonrpc.Connection.transact_block(), and
writes the reply's result to stdout exactly as it came (no newline is
added), so that the test can compare it byte for byte with what unixctl
prints.  Any failure goes to stderr, with exit status 1.
"""

import os
import sys

import ovs.jsonrpc
import ovs.stream

# Long enough for a daemon under AddressSanitizer on a loaded machine.
CONNECT_TIMEOUT_MS = 20000


def fail(what, error):
    sys.stderr.write("%s: %s\n" % (what, os.strerror(error)))
    sys.exit(1)


def main():
    private_key, certificate, ca_cert, target, method = sys.argv[1:6]
    params = sys.argv[6:]

    ovs.stream.Stream.ssl_set_private_key_file(private_key)
    ovs.stream.Stream.ssl_set_certificate_file(certificate)
    ovs.stream.Stream.ssl_set_ca_cert_file(ca_cert)

    error, stream = ovs.stream.Stream.open_block(
        ovs.stream.Stream.open(target), CONNECT_TIMEOUT_MS)
    if error:
        fail("connect", error)

    connection = ovs.jsonrpc.Connection(stream)
    request = ovs.jsonrpc.Message.create_request(method, params)
    error, reply = connection.transact_block(request)
    if error:
        fail("transact", error)
    if reply.error is not None:
        sys.stderr.write("error: %s\n" % reply.error)
        sys.exit(1)
    sys.stdout.write(reply.result)
    connection.close()


if __name__ == "__main__":
    main()
