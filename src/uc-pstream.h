/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "uc-types.h"

G_BEGIN_DECLS

/* Listen backlog of every listener.  GSocketListener's default of 10
 * refuses clients as soon as a burst of connections arrives. */
#define UC_PSTREAM_DEFAULT_BACKLOG 128

/* How long accepting pauses after the process or system runs out of
 * descriptors (EMFILE/ENFILE) before it is retried, unless a descriptor is
 * freed sooner (see uc_pstream_resume()). */
#define UC_PSTREAM_EMFILE_RETRY_MS 250

#define UC_TYPE_PSTREAM (uc_pstream_get_type ())
G_DECLARE_DERIVABLE_TYPE (UcPstream, uc_pstream, UC, PSTREAM, GObject)

/**
 * UcPstreamClass:
 * @parse: validates @suffix (the text after the first colon) and remembers
 *   the address.  Called once, from uc_pstream_new().  Never blocks and
 *   touches nothing outside the object.  Returns %FALSE with
 *   %UC_ERROR_INVALID_NAME (quoting the whole name) or
 *   %UC_ERROR_NOT_SUPPORTED.
 * @open_sockets: creates, binds and listens on the listening socket(s),
 *   with the backlog given, and returns them (transfer full, element type
 *   GSocket).  Never blocks: binding a local address completes at once.
 *   On failure returns %NULL and leaves nothing behind (no socket, no file).
 * @accept_async: turns an accepted connection into the stream the
 *   #UcPstream::incoming signal hands out.  Never blocks; a TLS handshake
 *   runs here.  The default completes at once with the connection itself.
 * @accept_finish: completes @accept_async; returns the stream (transfer
 *   full) or %NULL with an error, in which case the connection is dropped.
 * @close: undoes what @open_sockets did outside the process (punix:
 *   removes its socket file).  Never blocks.  Called once, after the
 *   sockets are closed.
 * @describe: the name as bound, with the real port or path (transfer full):
 *   `ptcp:0:127.0.0.1` reads back as `ptcp:41234:127.0.0.1`.
 *
 * The class of one passive stream type.  uc-pstream.c keeps the table
 * that maps a name's prefix to the class; a new type is one subclass and
 * one line in that table.
 */
/* clang-format off */
struct _UcPstreamClass
{
  GObjectClass parent_class;

  gboolean    (*parse)         (UcPstream            *self,
                                const char           *suffix,
                                const char           *rundir,
                                GError              **error);
  GPtrArray  *(*open_sockets)  (UcPstream            *self,
                                int                   backlog,
                                GError              **error);
  void        (*accept_async)  (UcPstream            *self,
                                GSocketConnection    *connection,
                                GCancellable         *cancellable,
                                GAsyncReadyCallback   callback,
                                gpointer              user_data);
  GIOStream  *(*accept_finish) (UcPstream            *self,
                                GAsyncResult         *result,
                                GError              **error);
  void        (*close)         (UcPstream            *self);
  char       *(*describe)      (UcPstream            *self);

  gpointer padding[8];
};
/* clang-format on */

/* clang-format off */
UcPstream  *uc_pstream_new             (const char   *name,
                                        const char   *rundir,
                                        GError      **error);
const char *uc_pstream_get_name        (UcPstream    *self);
const char *uc_pstream_get_type_name   (UcPstream    *self);
char       *uc_pstream_get_bound_name  (UcPstream    *self);
guint16     uc_pstream_get_port        (UcPstream    *self);
const char *uc_pstream_get_path        (UcPstream    *self);
void        uc_pstream_set_backlog     (UcPstream    *self,
                                        int           backlog);
int         uc_pstream_get_backlog     (UcPstream    *self);

gboolean    uc_pstream_listen          (UcPstream    *self,
                                        GError      **error);
gboolean    uc_pstream_is_listening    (UcPstream    *self);
void        uc_pstream_pause           (UcPstream    *self);
void        uc_pstream_resume          (UcPstream    *self);
gboolean    uc_pstream_is_paused       (UcPstream    *self);
void        uc_pstream_close           (UcPstream    *self);
void        uc_pstream_set_tls_config  (UcPstream    *self,
                                        UcTlsConfig  *config);
UcTlsConfig *uc_pstream_get_tls_config (UcPstream    *self);
void        uc_pstream_set_handshake_timeout (UcPstream *self,
                                              guint      timeout_ms);
guint       uc_pstream_get_handshake_timeout (UcPstream *self);

gboolean    uc_pstream_name_is_valid   (const char   *name);
/* clang-format on */

G_END_DECLS
