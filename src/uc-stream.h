/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "uc-types.h"

G_BEGIN_DECLS

/* Longest path a unix socket name may have: sun_path less its NUL. */
#define UC_STREAM_UNIX_PATH_MAX 107

/**
 * UcStreamProvider:
 * @prefix: the text before the first colon that selects this provider
 *   ("unix", "tcp", "ssl").
 * @parse: validates @suffix (the text after the colon) and fills in the
 *   stream's address.  Never blocks and never touches the network or the
 *   file system.  Returns %FALSE with %UC_ERROR_INVALID_NAME, whose message
 *   quotes the whole name and says what is wrong with it.
 * @connect_async: opens the connection.  Never blocks: name resolution and
 *   the TCP or TLS handshake run asynchronously.  Completes with a
 *   #GIOStream, or an error that names the stream.
 *
 * One entry per active stream type (OVS's `struct stream_class`; named
 * "provider" because #UcStreamClass is the GObject class of #UcStream).
 * The providers live in a table keyed by @prefix (see uc-stream.c); a new
 * type is a new entry, nothing else.
 */
typedef struct _UcStreamProvider UcStreamProvider;

#define UC_TYPE_STREAM (uc_stream_get_type ())

G_DECLARE_FINAL_TYPE (UcStream, uc_stream, UC, STREAM, GObject)

/* clang-format off */
UcStream   *uc_stream_new            (const char          *name,
                                      const char          *rundir,
                                      GError             **error);
const char *uc_stream_get_name       (UcStream            *self);
const char *uc_stream_get_type_name  (UcStream            *self);
const char *uc_stream_get_path       (UcStream            *self);
const char *uc_stream_get_host       (UcStream            *self);
guint16     uc_stream_get_port       (UcStream            *self);
void        uc_stream_set_tls_config (UcStream            *self,
                                      UcTlsConfig         *config);

GIOStream  *uc_stream_connect        (UcStream            *self,
                                      GCancellable        *cancellable,
                                      GError             **error);
void        uc_stream_connect_async  (UcStream            *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data);
GIOStream  *uc_stream_connect_finish (UcStream            *self,
                                      GAsyncResult        *result,
                                      GError             **error);

gboolean    uc_stream_name_is_valid  (const char          *name);
char       *uc_stream_resolve_unix_path (const char       *rundir,
                                         const char       *file);
/* clang-format on */

G_END_DECLS
