/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "pstream"

#include "config.h"

#include "uc-pstream.h"

#include "uc-coverage.h"
#include "uc-pstream-private.h"
#include "uc-rate-limit.h"
#include "uc-stream-private.h"
#include "uc-tls.h"

UC_COVERAGE_DEFINE (pstream_open);
UC_COVERAGE_DEFINE (pstream_accept);
UC_COVERAGE_DEFINE (pstream_accept_failed);

/**
 * UcPstream:
 *
 * A passive stream: a listener created from a name such as
 * `punix:/run/unixctld/unixctld.ctl` or `ptcp:6640:127.0.0.1`, which hands
 * each accepted connection out through #UcPstream::incoming.
 *
 * It runs its own accept loop over a #GSocketListener instead of using
 * #GSocketService, whose loop logs a warning and re-arms at once after
 * every failed accept: when the process runs out of descriptors the
 * listening socket stays readable and that loop spins the CPU.  Here such
 * a failure pauses accepting until a descriptor is likely to be free again
 * (see uc_pstream_resume()).
 */

typedef struct
{
  char *name;            /* (owned) */
  const char *type_name; /* (unowned): static table entry */
  char *path;            /* (owned) (nullable): punix only */
  guint16 port;          /* parsed, then bound; 0 for punix */
  int backlog;

  GSocketListener *listener; /* (owned) (nullable): while listening */
  /* Cancelled by close, and only then: ends the accept in flight and the
   * per-connection accept_async steps.  Pausing never cancels an accept:
   * g_socket_accept() does not look at the cancellable before calling
   * accept(), so cancelling with a client queued would accept that client
   * and then drop it. */
  GCancellable *cancellable; /* (owned) */
  /* A client whose accept was already in flight when the owner paused:
   * kept, unannounced, until uc_pstream_resume(). */
  GSocketConnection *held; /* (owned) (nullable) */
  /* Descriptor-exhaustion back-off, in the context accepts run in. */
  GSource *retry_source; /* (owned) (nullable) */
  gboolean accepting;    /* an accept is in flight */
  gboolean paused;       /* by the owner */
  gboolean listening;
  gboolean closed;
  guint n_accepts; /* accept attempts started, for tests */

  UcTlsConfig *tls_config;    /* (owned) (nullable): pssl only */
  guint handshake_timeout_ms; /* pssl only */
} UcPstreamPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (UcPstream, uc_pstream, G_TYPE_OBJECT)

enum
{
  SIGNAL_INCOMING,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  const char *prefix;
  GType (*get_type) (void);
} PstreamType;

/* The passive stream types.  Keep in step with the active table in
 * uc-stream.c. */
static const PstreamType pstream_types[] = {
  { "punix", uc_pstream_unix_get_type },
  { "ptcp", uc_pstream_tcp_get_type },
  { "pssl", uc_pstream_ssl_get_type },
};

static void accept_next (UcPstream *self);

static void
uc_pstream_real_accept_async (UcPstream *self,
                              GSocketConnection *connection,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_pstream_real_accept_async);
  g_task_return_pointer (task, g_object_ref (connection), g_object_unref);
}

static GIOStream *
uc_pstream_real_accept_finish (UcPstream *self,
                               GAsyncResult *result,
                               GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
uc_pstream_real_close (UcPstream *self)
{
}

static char *
uc_pstream_real_describe (UcPstream *self)
{
  UcPstreamPrivate *priv = uc_pstream_get_instance_private (self);

  return g_strdup (priv->name);
}

static void
uc_pstream_dispose (GObject *object)
{
  uc_pstream_close (UC_PSTREAM (object));

  G_OBJECT_CLASS (uc_pstream_parent_class)->dispose (object);
}

static void
uc_pstream_finalize (GObject *object)
{
  UcPstream *self = UC_PSTREAM (object);
  UcPstreamPrivate *priv = uc_pstream_get_instance_private (self);

  g_free (priv->name);
  g_free (priv->path);
  g_clear_object (&priv->cancellable);
  g_clear_object (&priv->tls_config);

  G_OBJECT_CLASS (uc_pstream_parent_class)->finalize (object);
}

static void
uc_pstream_class_init (UcPstreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = uc_pstream_dispose;
  object_class->finalize = uc_pstream_finalize;

  klass->accept_async = uc_pstream_real_accept_async;
  klass->accept_finish = uc_pstream_real_accept_finish;
  klass->close = uc_pstream_real_close;
  klass->describe = uc_pstream_real_describe;

  /**
   * UcPstream::incoming:
   * @self: the #UcPstream
   * @stream: the stream to talk over: the connection itself for `punix:`
   *   and `ptcp:`, the TLS connection on top of it for `pssl:`
   * @connection: the underlying socket connection, for the peer's
   *   address or, on `punix:`, its credentials
   *   (g_socket_get_credentials() on g_socket_connection_get_socket())
   *
   * Emitted once for each accepted connection, when it is ready to use.
   * Handlers that keep @stream or @connection take their own references;
   * a connection nobody keeps is closed when the emission ends.
   */
  signals[SIGNAL_INCOMING] = g_signal_new (
    "incoming", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
    NULL, G_TYPE_NONE, 2, G_TYPE_IO_STREAM, G_TYPE_SOCKET_CONNECTION);
}

static void
uc_pstream_init (UcPstream *self)
{
  UcPstreamPrivate *priv = uc_pstream_get_instance_private (self);

  priv->backlog = UC_PSTREAM_DEFAULT_BACKLOG;
  priv->cancellable = g_cancellable_new ();
  priv->handshake_timeout_ms = UC_TLS_HANDSHAKE_TIMEOUT_MS;
}

/**
 * uc_pstream_new:
 * @name: a passive stream name: `punix:FILE`, `ptcp:[PORT][:IP]` or
 *   `pssl:[PORT][:IP]`.  PORT defaults to 0, an ephemeral port (read it
 *   back with uc_pstream_get_port() after listening); IP defaults to
 *   0.0.0.0, every IPv4 address, and an IPv6 address goes in brackets
 * @rundir: (nullable): the directory a relative `punix:` FILE is resolved
 *   under; %NULL for the current directory
 * @error: return location for an error
 *
 * Parses @name.  Only the text is checked: nothing is bound or created
 * until uc_pstream_listen(), so this never blocks.
 *
 * Returns: (transfer full): the passive stream, or %NULL with @error set
 *   to a %UC_ERROR_INVALID_NAME error that quotes @name and says what is
 *   wrong
 */
UcPstream *
uc_pstream_new (const char *name, const char *rundir, GError **error)
{
  g_autoptr (UcPstream) self = NULL;
  UcPstreamPrivate *priv;
  const char *suffix;
  gssize i;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  i = uc_stream_lookup_type (UC_STREAM_KIND_PASSIVE, name, pstream_types,
                             G_N_ELEMENTS (pstream_types),
                             sizeof (pstream_types[0]), &suffix, error);
  if (i < 0)
    return NULL;

  self = g_object_new (pstream_types[i].get_type (), NULL);
  priv = uc_pstream_get_instance_private (self);
  priv->name = g_strdup (name);
  priv->type_name = pstream_types[i].prefix;
  if (!UC_PSTREAM_GET_CLASS (self)->parse (self, suffix, rundir, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * uc_pstream_get_name:
 * @self: a #UcPstream
 *
 * Returns: the name @self was created from, as given
 */
const char *
uc_pstream_get_name (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_val_if_fail (UC_IS_PSTREAM (self), NULL);

  priv = uc_pstream_get_instance_private (self);

  return priv->name;
}

/**
 * uc_pstream_get_type_name:
 * @self: a #UcPstream
 *
 * Returns: the type: "punix", "ptcp" or "pssl"
 */
const char *
uc_pstream_get_type_name (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_val_if_fail (UC_IS_PSTREAM (self), NULL);

  priv = uc_pstream_get_instance_private (self);

  return priv->type_name;
}

/**
 * uc_pstream_get_bound_name:
 * @self: a #UcPstream
 *
 * The name as bound, with the real port and the absolute path, so that a
 * client can be pointed at it: `ptcp:0:127.0.0.1` reads back as
 * `ptcp:41234:127.0.0.1`, `ptcp:` as `ptcp:41234:0.0.0.0` and
 * `punix:x.ctl` as `punix:/run/unixctld/x.ctl`.  Before listening the
 * port is the one asked for.
 *
 * Returns: (transfer full): the bound name
 */
char *
uc_pstream_get_bound_name (UcPstream *self)
{
  g_return_val_if_fail (UC_IS_PSTREAM (self), NULL);

  return UC_PSTREAM_GET_CLASS (self)->describe (self);
}

/**
 * uc_pstream_get_port:
 * @self: a #UcPstream
 *
 * Returns: for `ptcp:` and `pssl:`, the port read back from the socket
 *   once listening (so an ephemeral port 0 becomes the real one) or the
 *   port asked for before that; 0 for `punix:`
 */
guint16
uc_pstream_get_port (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_val_if_fail (UC_IS_PSTREAM (self), 0);

  priv = uc_pstream_get_instance_private (self);

  return priv->port;
}

/**
 * uc_pstream_get_path:
 * @self: a #UcPstream
 *
 * Returns: (nullable): the absolute socket path of a `punix:` stream, or
 *   %NULL for other types
 */
const char *
uc_pstream_get_path (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_val_if_fail (UC_IS_PSTREAM (self), NULL);

  priv = uc_pstream_get_instance_private (self);

  return priv->path;
}

/**
 * uc_pstream_set_tls_config:
 * @self: a #UcPstream not yet listening
 * @config: (nullable): the certificate, key and CA that TLS connections
 *   use
 *
 * Gives a `pssl:` listener what its TLS handshakes need; it cannot listen
 * without.  Other types have no use for it and ignore it.
 */
void
uc_pstream_set_tls_config (UcPstream *self, UcTlsConfig *config)
{
  UcPstreamPrivate *priv;

  g_return_if_fail (UC_IS_PSTREAM (self));
  g_return_if_fail (config == NULL || UC_IS_TLS_CONFIG (config));

  priv = uc_pstream_get_instance_private (self);
  g_return_if_fail (!priv->listening);

  g_set_object (&priv->tls_config, config);
}

/**
 * uc_pstream_get_tls_config:
 * @self: a #UcPstream
 *
 * Returns: (transfer none) (nullable): what uc_pstream_set_tls_config()
 *   gave
 */
UcTlsConfig *
uc_pstream_get_tls_config (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_val_if_fail (UC_IS_PSTREAM (self), NULL);

  priv = uc_pstream_get_instance_private (self);

  return priv->tls_config;
}

/**
 * uc_pstream_set_handshake_timeout:
 * @self: a #UcPstream
 * @timeout_ms: how long a client may take over its TLS handshake, in
 *   milliseconds; 0 restores %UC_TLS_HANDSHAKE_TIMEOUT_MS
 *
 * A `pssl:` listener drops a client that has not completed its handshake
 * in this time, so that silent or slow clients do not hold descriptors.
 * Applies to handshakes that start afterwards.  Other types ignore it.
 */
void
uc_pstream_set_handshake_timeout (UcPstream *self, guint timeout_ms)
{
  UcPstreamPrivate *priv;

  g_return_if_fail (UC_IS_PSTREAM (self));

  priv = uc_pstream_get_instance_private (self);

  priv->handshake_timeout_ms =
    timeout_ms != 0 ? timeout_ms : UC_TLS_HANDSHAKE_TIMEOUT_MS;
}

/**
 * uc_pstream_get_handshake_timeout:
 * @self: a #UcPstream
 *
 * Returns: the TLS handshake timeout in milliseconds (see
 *   uc_pstream_set_handshake_timeout())
 */
guint
uc_pstream_get_handshake_timeout (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_val_if_fail (UC_IS_PSTREAM (self), 0);

  priv = uc_pstream_get_instance_private (self);

  return priv->handshake_timeout_ms;
}

/**
 * uc_pstream_set_path:
 * @self: a #UcPstream
 * @path: the absolute socket path
 *
 * For the `punix:` class: records what uc_pstream_get_path() returns.
 */
void
uc_pstream_set_path (UcPstream *self, const char *path)
{
  UcPstreamPrivate *priv;

  g_return_if_fail (UC_IS_PSTREAM (self));

  priv = uc_pstream_get_instance_private (self);

  g_free (priv->path);
  priv->path = g_strdup (path);
}

/**
 * uc_pstream_set_port:
 * @self: a #UcPstream
 * @port: the port asked for, or once bound the real one
 *
 * For the `ptcp:` class: records what uc_pstream_get_port() returns.
 */
void
uc_pstream_set_port (UcPstream *self, guint16 port)
{
  UcPstreamPrivate *priv;

  g_return_if_fail (UC_IS_PSTREAM (self));

  priv = uc_pstream_get_instance_private (self);

  priv->port = port;
}

/**
 * uc_pstream_get_n_accepts_for_testing:
 * @self: a #UcPstream
 *
 * Returns: how many accepts @self has started, so that a test can tell a
 *   paused listener from one that spins
 */
guint
uc_pstream_get_n_accepts_for_testing (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_val_if_fail (UC_IS_PSTREAM (self), 0);

  priv = uc_pstream_get_instance_private (self);

  return priv->n_accepts;
}

/**
 * uc_pstream_set_backlog:
 * @self: a #UcPstream
 * @backlog: the listen backlog, at least 1
 *
 * Sets how many connections the kernel queues for @self before it refuses
 * more.  Takes effect at uc_pstream_listen(); the default is
 * %UC_PSTREAM_DEFAULT_BACKLOG.
 */
void
uc_pstream_set_backlog (UcPstream *self, int backlog)
{
  UcPstreamPrivate *priv;

  g_return_if_fail (UC_IS_PSTREAM (self));
  g_return_if_fail (backlog > 0);

  priv = uc_pstream_get_instance_private (self);
  g_return_if_fail (!priv->listening && !priv->closed);

  priv->backlog = backlog;
}

/**
 * uc_pstream_get_backlog:
 * @self: a #UcPstream
 *
 * Returns: the listen backlog
 */
int
uc_pstream_get_backlog (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_val_if_fail (UC_IS_PSTREAM (self), 0);

  priv = uc_pstream_get_instance_private (self);

  return priv->backlog;
}

static void
incoming_ready_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  static UcRateLimit rl = UC_RATE_LIMIT_DEFAULT;
  UcPstream *self = UC_PSTREAM (source);
  UcPstreamPrivate *priv = uc_pstream_get_instance_private (self);
  g_autoptr (GSocketConnection) connection = user_data;
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (GError) error = NULL;

  stream = UC_PSTREAM_GET_CLASS (self)->accept_finish (self, result, &error);
  if (stream == NULL)
    {
      /* Cancelled: @self was closed meanwhile. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        uc_log_rl (&rl, G_LOG_LEVEL_WARNING, "%s: dropping connection: %s",
                   priv->name, error->message);
      return;
    }

  g_signal_emit (self, signals[SIGNAL_INCOMING], 0, stream, connection);
}

static gboolean
retry_accept_cb (gpointer user_data)
{
  UcPstream *self = UC_PSTREAM (user_data);
  UcPstreamPrivate *priv = uc_pstream_get_instance_private (self);

  g_clear_pointer (&priv->retry_source, g_source_unref);
  accept_next (self);
  return G_SOURCE_REMOVE;
}

static void
cancel_retry (UcPstream *self)
{
  UcPstreamPrivate *priv = uc_pstream_get_instance_private (self);

  if (priv->retry_source != NULL)
    {
      g_source_destroy (priv->retry_source);
      g_clear_pointer (&priv->retry_source, g_source_unref);
    }
}

/* Hands @connection to the class's accept step (a TLS handshake, or
 * nothing), whose completion emits #UcPstream::incoming. */
static void
hand_out (UcPstream *self, GSocketConnection *connection)
{
  UcPstreamPrivate *priv = uc_pstream_get_instance_private (self);

  uc_stream_set_tcp_nodelay (connection);

  UC_PSTREAM_GET_CLASS (self)->accept_async (
    self, connection, priv->cancellable, incoming_ready_cb,
    g_object_ref (connection));
}

static void
accept_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  static UcRateLimit emfile_rl = UC_RATE_LIMIT_DEFAULT;
  static UcRateLimit error_rl = UC_RATE_LIMIT_DEFAULT;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;
  UcPstream *self;
  UcPstreamPrivate *priv;

  connection = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source),
                                                result, NULL, &error);

  /* Only close cancels, and close runs before @self goes away: a
   * cancelled accept may have outlived @self and must not touch it. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = UC_PSTREAM (user_data);
  priv = uc_pstream_get_instance_private (self);
  priv->accepting = FALSE;

  if (connection != NULL)
    {
      uc_coverage_inc (pstream_accept);
      /* The accept was under way when the owner paused: keep the client
       * for resume (see uc_pstream_pause()). */
      if (priv->paused)
        {
          priv->held = g_steal_pointer (&connection);
          return;
        }
      hand_out (self, connection);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES))
    {
      /* EMFILE or ENFILE.  The client stays queued and the socket stays
       * readable, so retrying now would only fail again, as fast as the
       * main loop turns.  Wait for a descriptor to be freed: the owner
       * calls uc_pstream_resume() when it closes a connection, and a timer
       * covers descriptors freed elsewhere. */
      uc_coverage_inc (pstream_accept_failed);
      uc_log_rl (&emfile_rl, G_LOG_LEVEL_WARNING,
                 "%s: %s; not accepting for %u ms", priv->name, error->message,
                 (guint) UC_PSTREAM_EMFILE_RETRY_MS);
      priv->retry_source = g_timeout_source_new (UC_PSTREAM_EMFILE_RETRY_MS);
      g_source_set_callback (priv->retry_source, retry_accept_cb, self, NULL);
      g_source_set_static_name (priv->retry_source, "[unixctld] pstream retry");
      g_source_attach (priv->retry_source,
                       g_main_context_get_thread_default ());
      return;
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      /* A client that reset before we accepted it, and the like: its
       * problem, not ours.  (WOULD_BLOCK only means another process sharing
       * the socket took the client first.) */
      uc_coverage_inc (pstream_accept_failed);
      uc_log_rl (&error_rl, G_LOG_LEVEL_WARNING, "%s: %s", priv->name,
                 error->message);
    }

  accept_next (self);
}

/* Starts one accept unless one is in flight or accepting is held back. */
static void
accept_next (UcPstream *self)
{
  UcPstreamPrivate *priv = uc_pstream_get_instance_private (self);

  if (!priv->listening || priv->paused || priv->retry_source != NULL ||
      priv->accepting)
    return;

  priv->accepting = TRUE;
  priv->n_accepts++;
  /* No reference on @self: see accept_cb(). */
  g_socket_listener_accept_async (priv->listener, priv->cancellable, accept_cb,
                                  self);
}

/**
 * uc_pstream_listen:
 * @self: a #UcPstream
 * @error: return location for an error
 *
 * Binds and listens, then accepts connections in the thread-default main
 * context, emitting #UcPstream::incoming for each, until paused or closed.
 * Never blocks.  Can be called once.
 *
 * A `punix:` socket file is created with mode 0600, so that only the
 * owner can connect; a stale one (nothing accepts on it) is replaced, one
 * in use fails with %G_IO_ERROR_ADDRESS_IN_USE, and a file that is not a
 * socket fails with %G_IO_ERROR_EXISTS and is left alone.  `pssl:` fails
 * with %UC_ERROR_NOT_SUPPORTED in this build.
 *
 * Returns: %TRUE if listening, otherwise %FALSE with @error set
 */
gboolean
uc_pstream_listen (UcPstream *self, GError **error)
{
  UcPstreamPrivate *priv;
  UcPstreamClass *klass;
  g_autoptr (GPtrArray) sockets = NULL;
  g_autoptr (GSocketListener) listener = NULL;
  guint i;

  g_return_val_if_fail (UC_IS_PSTREAM (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  priv = uc_pstream_get_instance_private (self);
  g_return_val_if_fail (!priv->listening && !priv->closed, FALSE);

  klass = UC_PSTREAM_GET_CLASS (self);
  sockets = klass->open_sockets (self, priv->backlog, error);
  if (sockets == NULL)
    return FALSE;

  listener = g_socket_listener_new ();
  g_socket_listener_set_backlog (listener, priv->backlog);
  for (i = 0; i < sockets->len; i++)
    {
      GSocket *socket = g_ptr_array_index (sockets, i);

      /* A readable listening socket may have no client left by the time
       * we accept (a reset, or another process got it): a blocking
       * GSocket would then wait in g_socket_accept() and stall the loop. */
      g_socket_set_blocking (socket, FALSE);
      if (!g_socket_listener_add_socket (listener, socket, NULL, error))
        {
          g_socket_listener_close (listener);
          for (i = 0; i < sockets->len; i++)
            g_socket_close (g_ptr_array_index (sockets, i), NULL);
          klass->close (self);
          return FALSE;
        }
    }

  priv->listener = g_steal_pointer (&listener);
  priv->listening = TRUE;
  uc_coverage_inc (pstream_open);
  accept_next (self);
  return TRUE;
}

/**
 * uc_pstream_is_listening:
 * @self: a #UcPstream
 *
 * Returns: %TRUE between a successful uc_pstream_listen() and
 *   uc_pstream_close(), paused or not
 */
gboolean
uc_pstream_is_listening (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_val_if_fail (UC_IS_PSTREAM (self), FALSE);

  priv = uc_pstream_get_instance_private (self);
  return priv->listening;
}

/**
 * uc_pstream_pause:
 * @self: a #UcPstream
 *
 * Stops handing out connections: new clients wait in the kernel's queue
 * (up to the backlog) until uc_pstream_resume().  Used to cap the number
 * of connections.  An accept already under way when pausing may still
 * take one client off the queue; that client is kept, not announced, and
 * is the first one #UcPstream::incoming hands out on resume.
 */
void
uc_pstream_pause (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_if_fail (UC_IS_PSTREAM (self));

  priv = uc_pstream_get_instance_private (self);
  priv->paused = TRUE;
}

/**
 * uc_pstream_resume:
 * @self: a #UcPstream
 *
 * Accepts again after uc_pstream_pause(), and also ends at once the pause
 * that follows running out of descriptors.  The owner calls it whenever it
 * closes a connection: that frees a descriptor, and if it was holding
 * accepting back for a connection cap, there is room again.
 */
void
uc_pstream_resume (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_if_fail (UC_IS_PSTREAM (self));

  priv = uc_pstream_get_instance_private (self);

  priv->paused = FALSE;
  cancel_retry (self);
  if (priv->held != NULL)
    {
      g_autoptr (GSocketConnection) held = g_steal_pointer (&priv->held);

      hand_out (self, held);
    }
  accept_next (self);
}

/**
 * uc_pstream_is_paused:
 * @self: a #UcPstream
 *
 * Returns: %TRUE if @self is not accepting, because uc_pstream_pause() was
 *   called or because it ran out of descriptors and waits to retry
 */
gboolean
uc_pstream_is_paused (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_val_if_fail (UC_IS_PSTREAM (self), FALSE);

  priv = uc_pstream_get_instance_private (self);

  return priv->paused || priv->retry_source != NULL;
}

/**
 * uc_pstream_close:
 * @self: a #UcPstream
 *
 * Stops listening for good: closes the listening sockets, abandons
 * connections still being set up (a TLS handshake), and removes a
 * `punix:` socket file if it is still the one @self created.  Connections
 * already handed out are not touched.  Idempotent; disposing @self closes
 * it too.
 */
void
uc_pstream_close (UcPstream *self)
{
  UcPstreamPrivate *priv;

  g_return_if_fail (UC_IS_PSTREAM (self));

  priv = uc_pstream_get_instance_private (self);

  if (priv->closed)
    return;
  priv->closed = TRUE;

  g_cancellable_cancel (priv->cancellable);
  cancel_retry (self);
  if (priv->held != NULL)
    {
      g_io_stream_close (G_IO_STREAM (priv->held), NULL, NULL);
      g_clear_object (&priv->held);
    }

  if (priv->listening)
    {
      priv->listening = FALSE;
      g_socket_listener_close (priv->listener);
      g_clear_object (&priv->listener);
      UC_PSTREAM_GET_CLASS (self)->close (self);
    }
}

/**
 * uc_pstream_name_is_valid:
 * @name: a name to check
 *
 * Checks @name as uc_pstream_new() with no rundir would, without keeping
 * anything.  A relative `punix:` name is measured against the current
 * directory.
 *
 * Returns: %TRUE if @name is a valid passive stream name
 */
gboolean
uc_pstream_name_is_valid (const char *name)
{
  g_autoptr (UcPstream) pstream = NULL;

  g_return_val_if_fail (name != NULL, FALSE);

  pstream = uc_pstream_new (name, NULL, NULL);
  return pstream != NULL;
}
