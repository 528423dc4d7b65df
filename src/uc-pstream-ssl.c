/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "pstream_ssl"

#include "config.h"

#include "uc-pstream-private.h"

#include <glib/gi18n.h>

#include "uc-error.h"
#include "uc-stream-private.h"
#include "uc-tls.h"

/* `pssl:[PORT][:IP]`: `ptcp:` whose connections speak TLS.  Names parse
 * and sockets open exactly as `ptcp:` ones (inherited); each accepted
 * connection then runs the server side of a handshake (see
 * uc_tls_config_wrap_server()) before #UcPstream::incoming hands it out.
 * Handshakes are bounded in number (%UC_TLS_MAX_HANDSHAKES) and in time
 * (uc_pstream_set_handshake_timeout()). */
struct _UcPstreamSsl
{
  UcPstreamTcp parent_instance;

  guint n_handshakes; /* under way */
};

G_DEFINE_FINAL_TYPE (UcPstreamSsl, uc_pstream_ssl, UC_TYPE_PSTREAM_TCP)

/* One handshake, the data of its GTask. */
typedef struct
{
  UcPstreamSsl *pstream;     /* (owned) */
  GIOStream *tls;            /* (owned) */
  GCancellable *cancellable; /* (owned) cancelled on timeout or close */
  GCancellable *closing;     /* (owned) (nullable): the pstream's */
  gulong closing_id;
  GSource *timeout_source; /* (owned) (nullable) */
  gboolean timed_out;
} Handshake;

static void
handshake_free (Handshake *handshake)
{
  handshake->pstream->n_handshakes--;
  g_cancellable_disconnect (handshake->closing, handshake->closing_id);
  if (handshake->timeout_source != NULL)
    {
      g_source_destroy (handshake->timeout_source);
      g_source_unref (handshake->timeout_source);
    }
  g_clear_object (&handshake->closing);
  g_clear_object (&handshake->cancellable);
  g_clear_object (&handshake->tls);
  g_clear_object (&handshake->pstream);
  g_free (handshake);
}

static GPtrArray *
uc_pstream_ssl_open_sockets (UcPstream *pstream, int backlog, GError **error)
{
  if (uc_pstream_get_tls_config (pstream) == NULL)
    {
      g_autofree char *quoted = uc_stream_quote (uc_pstream_get_name (pstream));

      g_set_error (error, UC_ERROR, UC_ERROR_NOT_SUPPORTED,
                   _ ("Cannot listen on \"%s\": SSL/TLS needs a private key, "
                      "a certificate and a CA certificate"),
                   quoted);
      return NULL;
    }
  return UC_PSTREAM_CLASS (uc_pstream_ssl_parent_class)
    ->open_sockets (pstream, backlog, error);
}

static gboolean
handshake_timeout_cb (gpointer user_data)
{
  Handshake *handshake = user_data;

  handshake->timed_out = TRUE;
  g_cancellable_cancel (handshake->cancellable);
  g_clear_pointer (&handshake->timeout_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* Runs in the thread that closes the pstream, which is the one that
 * accepts: closing abandons the handshakes under way. */
static void
closing_cb (GCancellable *closing, gpointer user_data)
{
  GCancellable *cancellable = user_data;

  g_cancellable_cancel (cancellable);
}

static void
handshake_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Handshake *handshake = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result,
                                         &error))
    {
      g_task_return_pointer (task, g_object_ref (handshake->tls),
                             g_object_unref);
      return;
    }

  if (handshake->timed_out)
    {
      g_clear_error (&error);
      g_set_error (
        &error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
        "TLS handshake not completed within %u ms",
        uc_pstream_get_handshake_timeout (UC_PSTREAM (handshake->pstream)));
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      uc_tls_explain_handshake_error (G_TLS_CONNECTION (source), &error);
      g_prefix_error (&error, "TLS handshake failed: ");
    }
  g_task_return_error (task, g_steal_pointer (&error));
}

/* The client has sent something (or gone, or the wait was cancelled):
 * the handshake takes over @user_data, the task. */
static gboolean
client_spoke_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  GTask *task = user_data;
  Handshake *handshake = g_task_get_task_data (task);

  g_tls_connection_handshake_async (G_TLS_CONNECTION (handshake->tls),
                                    G_PRIORITY_DEFAULT, handshake->cancellable,
                                    handshake_done_cb, task);
  return G_SOURCE_REMOVE;
}

static void
uc_pstream_ssl_accept_async (UcPstream *pstream,
                             GSocketConnection *connection,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  UcPstreamSsl *self = UC_PSTREAM_SSL (pstream);
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSource) wait_source = NULL;
  Handshake *handshake;
  GIOStream *tls;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_pstream_ssl_accept_async);

  /* Closed at once: the client sees its connection end before any
   * handshake, which is what a full server does. */
  if (self->n_handshakes >= UC_TLS_MAX_HANDSHAKES)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_BUSY,
                               "%u TLS handshakes already under way",
                               self->n_handshakes);
      return;
    }

  tls = uc_tls_config_wrap_server (uc_pstream_get_tls_config (pstream),
                                   G_IO_STREAM (connection), &error);
  if (tls == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  handshake = g_new0 (Handshake, 1);
  handshake->pstream = g_object_ref (self);
  handshake->tls = tls;
  handshake->cancellable = g_cancellable_new ();
  self->n_handshakes++;
  g_task_set_task_data (task, handshake, (GDestroyNotify) handshake_free);

  if (cancellable != NULL)
    {
      handshake->closing = g_object_ref (cancellable);
      handshake->closing_id = g_cancellable_connect (
        cancellable, G_CALLBACK (closing_cb), handshake->cancellable, NULL);
    }
  handshake->timeout_source =
    g_timeout_source_new (uc_pstream_get_handshake_timeout (pstream));
  g_source_set_static_name (handshake->timeout_source,
                            "[unixctld] TLS handshake timeout");
  g_source_set_callback (handshake->timeout_source, handshake_timeout_cb,
                         handshake, NULL);
  g_source_attach (handshake->timeout_source,
                   g_main_context_get_thread_default ());

  /* glib-networking runs a handshake as a blocking call in a pool
   * thread, and the pool grows slowly: silent clients, each holding a
   * thread, would delay good ones past their timeout long before the cap.
   * A client speaks first in TLS (ClientHello), so wait for it here, in
   * the main loop, where waiting costs nothing.  Cancelling (timeout or
   * close) dispatches the source too, and the handshake then fails at
   * once. */
  wait_source = g_socket_create_source (
    g_socket_connection_get_socket (connection), G_IO_IN | G_IO_HUP | G_IO_ERR,
    handshake->cancellable);
  g_source_set_static_name (wait_source, "[unixctld] TLS client hello");
  g_source_set_callback (wait_source, G_SOURCE_FUNC (client_spoke_cb),
                         g_steal_pointer (&task), NULL);
  g_source_attach (wait_source, g_main_context_get_thread_default ());
}

static GIOStream *
uc_pstream_ssl_accept_finish (UcPstream *pstream,
                              GAsyncResult *result,
                              GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, pstream), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                          uc_pstream_ssl_accept_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
uc_pstream_ssl_class_init (UcPstreamSslClass *klass)
{
  UcPstreamClass *pstream_class = UC_PSTREAM_CLASS (klass);

  pstream_class->open_sockets = uc_pstream_ssl_open_sockets;
  pstream_class->accept_async = uc_pstream_ssl_accept_async;
  pstream_class->accept_finish = uc_pstream_ssl_accept_finish;
}

static void
uc_pstream_ssl_init (UcPstreamSsl *self)
{
}
