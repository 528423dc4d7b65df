/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "uc-jsonrpc.h"
#include "uc-types.h"

G_BEGIN_DECLS

#define UC_TYPE_CLIENT (uc_client_get_type ())
G_DECLARE_FINAL_TYPE (UcClient, uc_client, UC, CLIENT, GObject)

/* clang-format off */
UcClient   *uc_client_new               (UcJsonrpc            *rpc);
UcClient   *uc_client_connect           (const char           *stream_name,
                                         const char           *rundir,
                                         gint64                deadline,
                                         GCancellable         *cancellable,
                                         GError              **error);
UcClient   *uc_client_connect_stream    (UcStream             *stream,
                                         gint64                deadline,
                                         GCancellable         *cancellable,
                                         GError              **error);
void        uc_client_connect_async     (const char           *stream_name,
                                         const char           *rundir,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
UcClient   *uc_client_connect_finish    (GAsyncResult         *result,
                                         GError              **error);
UcJsonrpc  *uc_client_get_jsonrpc       (UcClient             *self);

gboolean    uc_client_transact          (UcClient             *self,
                                         const char           *command,
                                         const char * const   *args,
                                         gint64                deadline,
                                         JsonNode            **result,
                                         JsonNode            **error_body,
                                         GCancellable         *cancellable,
                                         GError              **error);
void        uc_client_transact_async    (UcClient             *self,
                                         const char           *command,
                                         const char * const   *args,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
gboolean    uc_client_transact_finish   (UcClient             *self,
                                         GAsyncResult         *result,
                                         JsonNode            **result_body,
                                         JsonNode            **error_body,
                                         GError              **error);
/* clang-format on */

G_END_DECLS
