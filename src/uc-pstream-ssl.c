/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "pstream_ssl"

#include "config.h"

#include "uc-pstream-private.h"

#include <glib/gi18n.h>

#include "uc-error.h"
#include "uc-stream-private.h"

/* `pssl:[PORT][:IP]`: `ptcp:` whose connections speak TLS.  Names parse
 * exactly as `ptcp:` ones (inherited); this build has no TLS, so listening
 * fails with an error that says so. */
struct _UcPstreamSsl
{
  UcPstreamTcp parent_instance;
};

G_DEFINE_FINAL_TYPE (UcPstreamSsl, uc_pstream_ssl, UC_TYPE_PSTREAM_TCP)

static GPtrArray *
uc_pstream_ssl_open_sockets (UcPstream *pstream, int backlog, GError **error)
{
  g_autofree char *quoted = uc_stream_quote (uc_pstream_get_name (pstream));

  g_set_error (error, UC_ERROR, UC_ERROR_NOT_SUPPORTED,
               _ ("Cannot listen on \"%s\": SSL/TLS streams are not available "
                  "in this build"),
               quoted);
  return NULL;
}

static void
uc_pstream_ssl_class_init (UcPstreamSslClass *klass)
{
  UcPstreamClass *pstream_class = UC_PSTREAM_CLASS (klass);

  pstream_class->open_sockets = uc_pstream_ssl_open_sockets;
}

static void
uc_pstream_ssl_init (UcPstreamSsl *self)
{
}
