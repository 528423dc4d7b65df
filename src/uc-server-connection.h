/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One client connection of the control server.  Private to uc-server.c:
 * the server creates connections, hands them its request function,
 * listens to their ::closed signal and drops them when they close.
 */
#pragma once

#include <gio/gio.h>

#include "uc-jsonrpc.h"
#include "uc-request.h"
#include "uc-types.h"

G_BEGIN_DECLS

#define UC_TYPE_SERVER_CONNECTION (uc_server_connection_get_type ())
G_DECLARE_FINAL_TYPE (UcServerConnection,
                      uc_server_connection,
                      UC,
                      SERVER_CONNECTION,
                      GObject)

/**
 * UcServerConnectionRequestFunc:
 * @self: the connection
 * @message: a %UC_JSONRPC_MESSAGE_REQUEST
 * @user_data: the data given to uc_server_connection_new()
 *
 * A request arrived.  The function must call
 * uc_server_connection_new_request() once and answer (or dispatch) the
 * request it returns; nothing more is read until it is answered.
 */
typedef void (*UcServerConnectionRequestFunc) (UcServerConnection *self,
                                               UcJsonrpcMessage *message,
                                               gpointer user_data);

/* clang-format off */
UcServerConnection *uc_server_connection_new       (UcJsonrpc          *rpc,
                                                    GSocketConnection  *connection,
                                                    guint               idle_timeout_s,
                                                    UcServerConnectionRequestFunc request_func,
                                                    gpointer            user_data);
const char     *uc_server_connection_get_name      (UcServerConnection *self);
UcOutputFormat  uc_server_connection_get_format    (UcServerConnection *self);
GCredentials   *uc_server_connection_get_credentials (UcServerConnection *self);
gboolean        uc_server_connection_is_busy       (UcServerConnection *self);
gboolean        uc_server_connection_is_closed     (UcServerConnection *self);

void            uc_server_connection_start         (UcServerConnection *self);
UcRequest      *uc_server_connection_new_request   (UcServerConnection *self,
                                                    const char * const *argv);
void            uc_server_connection_close_when_idle (UcServerConnection *self);
void            uc_server_connection_close         (UcServerConnection *self);
/* clang-format on */

G_END_DECLS
