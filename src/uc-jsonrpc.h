/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "uc-json-framer.h"
#include "uc-jsonrpc-message.h"
#include "uc-types.h"

G_BEGIN_DECLS

/* Bytes a connection may hold queued for a peer that is not reading.  A
 * message is always accepted onto an empty queue; past this, sending fails
 * with %UC_ERROR_BACKLOG_FULL and the connection closes itself. */
#define UC_JSONRPC_DEFAULT_MAX_BACKLOG (4 * 1024 * 1024)

/* Bytes read from the stream at a time. */
#define UC_JSONRPC_READ_SIZE (64 * 1024)

/* Reads and deliveries one main loop dispatch makes for a connection at
 * most, before the rest of the main context gets its turn: a peer that
 * pipelines requests is served in bursts, never to the exclusion of
 * others. */
#define UC_JSONRPC_DISPATCH_BUDGET 16

#define UC_TYPE_JSONRPC (uc_jsonrpc_get_type ())
G_DECLARE_FINAL_TYPE (UcJsonrpc, uc_jsonrpc, UC, JSONRPC, GObject)

/**
 * UcJsonrpcReceiveFunc:
 * @self: the connection
 * @message: (nullable): the message received, or %NULL if the connection
 *   ended
 * @error: (nullable): what ended the connection, when @message is %NULL
 * @user_data: the data given to uc_jsonrpc_receive()
 *
 * Called with the outcome of uc_jsonrpc_receive().  Take a reference on
 * @message to keep it.
 */
typedef void (*UcJsonrpcReceiveFunc) (UcJsonrpc *self,
                                      UcJsonrpcMessage *message,
                                      const GError *error,
                                      gpointer user_data);

/* clang-format off */
UcJsonrpc        *uc_jsonrpc_new                  (GIOStream            *stream,
                                                   const char           *name);
const char       *uc_jsonrpc_get_name             (UcJsonrpc            *self);
GIOStream        *uc_jsonrpc_get_stream           (UcJsonrpc            *self);

void              uc_jsonrpc_set_max_message_size (UcJsonrpc            *self,
                                                   gsize                 max_size);
gsize             uc_jsonrpc_get_max_message_size (UcJsonrpc            *self);
void              uc_jsonrpc_set_max_depth        (UcJsonrpc            *self,
                                                   guint                 max_depth);
guint             uc_jsonrpc_get_max_depth        (UcJsonrpc            *self);
void              uc_jsonrpc_set_max_backlog      (UcJsonrpc            *self,
                                                   gsize                 max_backlog);
gsize             uc_jsonrpc_get_max_backlog      (UcJsonrpc            *self);
gsize             uc_jsonrpc_get_backlog          (UcJsonrpc            *self);
guint64           uc_jsonrpc_get_received_bytes   (UcJsonrpc            *self);

gboolean          uc_jsonrpc_send                 (UcJsonrpc            *self,
                                                   UcJsonrpcMessage     *message,
                                                   GError              **error);
void              uc_jsonrpc_flush_async          (UcJsonrpc            *self,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
gboolean          uc_jsonrpc_flush_finish         (UcJsonrpc            *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);

void              uc_jsonrpc_receive_async        (UcJsonrpc            *self,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
UcJsonrpcMessage *uc_jsonrpc_receive_finish       (UcJsonrpc            *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
void              uc_jsonrpc_receive              (UcJsonrpc            *self,
                                                   UcJsonrpcReceiveFunc  func,
                                                   gpointer              user_data);
gboolean          uc_jsonrpc_cancel_receive       (UcJsonrpc            *self);

void              uc_jsonrpc_close                (UcJsonrpc            *self);
gboolean          uc_jsonrpc_is_closed            (UcJsonrpc            *self);
/* clang-format on */

G_END_DECLS
