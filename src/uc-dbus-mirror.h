/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "uc-server.h"
#include "uc-types.h"

G_BEGIN_DECLS

/* Where the mirror lives on the bus.  The names are usable in builds
 * without the mirror too: the CLI's `--dbus` needs only them. */
#define UC_DBUS_MIRROR_NAME      "io.github.unixctld"
#define UC_DBUS_MIRROR_PATH      "/io/github/unixctld"
#define UC_DBUS_MIRROR_INTERFACE "io.github.unixctld.Control1"

/* How long uc_dbus_mirror_shutdown_async() lets calls in flight finish
 * before it fails them; the same grace the server gives its sockets. */
#define UC_DBUS_MIRROR_SHUTDOWN_TIMEOUT_MS 5000

/**
 * UcDbusMirrorNameFlags:
 * @UC_DBUS_MIRROR_NAME_FLAGS_NONE: take the name if it is free, else wait
 *   in the bus's queue for it.
 * @UC_DBUS_MIRROR_NAME_FLAGS_REPLACE: take the name from the instance that
 *   owns it (`--replace`).
 *
 * How uc_dbus_mirror_own_name() asks for the name.  Replacement is always
 * allowed, so that a newer instance can take over from this one.
 */
typedef enum
{
  UC_DBUS_MIRROR_NAME_FLAGS_NONE = 0,
  UC_DBUS_MIRROR_NAME_FLAGS_REPLACE = 1 << 0,
} UcDbusMirrorNameFlags;

#define UC_TYPE_DBUS_MIRROR (uc_dbus_mirror_get_type ())
G_DECLARE_FINAL_TYPE (UcDbusMirror, uc_dbus_mirror, UC, DBUS_MIRROR, GObject)

/* clang-format off */
UcDbusMirror    *uc_dbus_mirror_new             (UcServer              *server,
                                                 const char            *control_socket);
gboolean         uc_dbus_mirror_export          (UcDbusMirror          *self,
                                                 GDBusConnection       *connection,
                                                 GError               **error);
void             uc_dbus_mirror_own_name        (UcDbusMirror          *self,
                                                 UcDbusMirrorNameFlags  flags);
GDBusConnection *uc_dbus_mirror_get_connection  (UcDbusMirror          *self);
gboolean         uc_dbus_mirror_get_name_owned  (UcDbusMirror          *self);
guint            uc_dbus_mirror_get_n_calls     (UcDbusMirror          *self);

void             uc_dbus_mirror_shutdown_async  (UcDbusMirror          *self,
                                                 GCancellable          *cancellable,
                                                 GAsyncReadyCallback    callback,
                                                 gpointer               user_data);
gboolean         uc_dbus_mirror_shutdown_finish (UcDbusMirror          *self,
                                                 GAsyncResult          *result,
                                                 GError               **error);
/* clang-format on */

G_END_DECLS
