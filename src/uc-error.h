/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * UcError:
 * @UC_ERROR_FAILED: a failure with no more specific code.
 * @UC_ERROR_INVALID_NAME: a stream name that does not parse; the message
 *   quotes the name and says what is wrong with it.
 * @UC_ERROR_NOT_SUPPORTED: a stream type, option or method this build or
 *   this peer cannot provide.
 * @UC_ERROR_PROTOCOL: a peer broke the JSON-RPC protocol (bad JSON, a
 *   message of the wrong shape, a truncated message).
 * @UC_ERROR_MESSAGE_TOO_LARGE: a message grew past the size limit.
 * @UC_ERROR_TOO_DEEP: a message nests deeper than the depth limit.
 * @UC_ERROR_TOO_COMPLEX: building a message's tree would cost more memory
 *   than the limit allows (too many values for its size).
 * @UC_ERROR_INVALID_UTF8: a message is not strict UTF-8 (raw bytes or
 *   `\u` escapes: invalid sequences, NUL, lone surrogates).
 * @UC_ERROR_BACKLOG_FULL: the peer is not reading and the send queue is
 *   at its limit.
 * @UC_ERROR_INVALID_COMMAND: a command name the server does not know.
 * @UC_ERROR_INVALID_ARGS: a command called with the wrong arguments.
 * @UC_ERROR_ALREADY_RUNNING: another daemon holds the pidfile.
 * @UC_ERROR_TIMED_OUT: an operation ran past its deadline.
 *
 * Error codes in the %UC_ERROR domain.  Each maps to a D-Bus error name
 * under `io.github.unixctld.Error.`, so that the D-Bus mirror reports the
 * same failure the socket does.
 */
typedef enum
{
  UC_ERROR_FAILED,
  UC_ERROR_INVALID_NAME,
  UC_ERROR_NOT_SUPPORTED,
  UC_ERROR_PROTOCOL,
  UC_ERROR_MESSAGE_TOO_LARGE,
  UC_ERROR_TOO_DEEP,
  UC_ERROR_TOO_COMPLEX,
  UC_ERROR_INVALID_UTF8,
  UC_ERROR_BACKLOG_FULL,
  UC_ERROR_INVALID_COMMAND,
  UC_ERROR_INVALID_ARGS,
  UC_ERROR_ALREADY_RUNNING,
  UC_ERROR_TIMED_OUT,
} UcError;

#define UC_ERROR_LAST UC_ERROR_TIMED_OUT

#define UC_ERROR (uc_error_quark ())

GQuark uc_error_quark (void);

G_END_DECLS
