/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "uc-pstream.h"
#include "uc-request.h"
#include "uc-types.h"

G_BEGIN_DECLS

/* Connections one remote (tcp/ssl) listener serves at once, unless
 * configured otherwise; past it, accepting pauses until one closes. */
#define UC_SERVER_DEFAULT_REMOTE_MAX_CONNECTIONS 256

/* Seconds a remote connection may sit with no complete request before it
 * is closed; 0 disables the timeout. */
#define UC_SERVER_DEFAULT_REMOTE_IDLE_TIMEOUT 300

/* Connections the local control socket serves at once.  It is owner-only
 * (mode 0600), so the cap guards against runaway scripts, not attackers. */
#define UC_SERVER_DEFAULT_LOCAL_MAX_CONNECTIONS 16384

/* Bytes of client input an error text may quote; longer input is cut and
 * marked, and control characters are escaped. */
#define UC_SERVER_QUOTE_MAX 256

/**
 * UcCommandFunc:
 * @request: the request; take a reference to answer it later
 * @user_data: the data given at registration
 *
 * A command handler.  It must answer @request exactly once, with
 * uc_request_reply(), uc_request_reply_json() or uc_request_reply_error(),
 * either before returning or later from the main context (a deferred
 * reply).  Its arguments have been checked against the registered bounds
 * and are all strings.
 */
typedef void (*UcCommandFunc) (UcRequest *request, gpointer user_data);

/**
 * UcListenerFlags:
 * @UC_LISTENER_NONE: a local listener (the control socket): no idle
 *   timeout, the local connection cap.
 * @UC_LISTENER_REMOTE: a remote listener (`--remote`): the remote
 *   connection cap and idle timeout apply.
 */
typedef enum
{
  UC_LISTENER_NONE = 0,
  UC_LISTENER_REMOTE = 1 << 0,
} UcListenerFlags;

#define UC_TYPE_SERVER (uc_server_get_type ())
G_DECLARE_FINAL_TYPE (UcServer, uc_server, UC, SERVER, GObject)

/* clang-format off */
UcServer   *uc_server_new                  (const char       *program_name,
                                            const char       *version);
const char *uc_server_get_program_name     (UcServer         *self);
const char *uc_server_get_version          (UcServer         *self);

void        uc_server_register             (UcServer         *self,
                                            const char       *name,
                                            const char       *usage,
                                            guint             min_args,
                                            guint             max_args,
                                            UcCommandFunc     func,
                                            gpointer          user_data,
                                            GDestroyNotify    user_data_free);
gboolean    uc_server_unregister           (UcServer         *self,
                                            const char       *name);
GStrv       uc_server_list_commands        (UcServer         *self);
const char *uc_server_get_usage            (UcServer         *self,
                                            const char       *name);
void        uc_server_dispatch             (UcServer         *self,
                                            UcRequest        *request);
gboolean    uc_server_check_call           (UcServer         *self,
                                            const char * const *argv,
                                            GError          **error);

gboolean    uc_server_add_listener         (UcServer         *self,
                                            UcPstream        *pstream,
                                            UcListenerFlags   flags,
                                            GError          **error);
void        uc_server_take_stream          (UcServer         *self,
                                            GIOStream        *stream,
                                            GSocketConnection *connection,
                                            const char       *name);

void        uc_server_set_max_message_size (UcServer         *self,
                                            gsize             max_size);
void        uc_server_set_max_depth        (UcServer         *self,
                                            guint             max_depth);
void        uc_server_set_max_backlog      (UcServer         *self,
                                            gsize             max_backlog);
void        uc_server_set_remote_limits    (UcServer         *self,
                                            guint             max_connections,
                                            guint             idle_timeout_s);
void        uc_server_set_local_max_connections (UcServer    *self,
                                                 guint        max_connections);
guint       uc_server_get_n_connections    (UcServer         *self);

void        uc_server_shutdown_async       (UcServer         *self,
                                            GCancellable     *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer          user_data);
gboolean    uc_server_shutdown_finish      (UcServer         *self,
                                            GAsyncResult     *result,
                                            GError          **error);
/* clang-format on */

G_END_DECLS
