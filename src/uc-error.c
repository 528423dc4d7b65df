/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "uc-error.h"

#include <gio/gio.h>

/* The D-Bus names are part of the mirror's interface: never renumber or
 * rename an entry, only append. */
static const GDBusErrorEntry uc_error_entries[] = {
  { UC_ERROR_FAILED, "io.github.unixctld.Error.Failed" },
  { UC_ERROR_INVALID_NAME, "io.github.unixctld.Error.InvalidName" },
  { UC_ERROR_NOT_SUPPORTED, "io.github.unixctld.Error.NotSupported" },
  { UC_ERROR_PROTOCOL, "io.github.unixctld.Error.Protocol" },
  { UC_ERROR_MESSAGE_TOO_LARGE, "io.github.unixctld.Error.MessageTooLarge" },
  { UC_ERROR_TOO_DEEP, "io.github.unixctld.Error.TooDeep" },
  { UC_ERROR_TOO_COMPLEX, "io.github.unixctld.Error.TooComplex" },
  { UC_ERROR_INVALID_UTF8, "io.github.unixctld.Error.InvalidUtf8" },
  { UC_ERROR_BACKLOG_FULL, "io.github.unixctld.Error.BacklogFull" },
  { UC_ERROR_INVALID_COMMAND, "io.github.unixctld.Error.InvalidCommand" },
  { UC_ERROR_INVALID_ARGS, "io.github.unixctld.Error.InvalidArguments" },
  { UC_ERROR_ALREADY_RUNNING, "io.github.unixctld.Error.AlreadyRunning" },
  { UC_ERROR_TIMED_OUT, "io.github.unixctld.Error.TimedOut" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (uc_error_entries) == UC_ERROR_LAST + 1);

/**
 * uc_error_quark:
 *
 * The error domain of unixctld.  The first call also registers the domain
 * with GDBus, so errors cross the bus with stable names.
 *
 * Returns: the %UC_ERROR quark
 */
GQuark
uc_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("unixctld-error-quark", &quark,
                                      uc_error_entries,
                                      G_N_ELEMENTS (uc_error_entries));
  return (GQuark) quark;
}
