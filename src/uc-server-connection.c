/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "unixctl"

#include "config.h"

#include "uc-server-connection.h"

#include "uc-coverage.h"
#include "uc-rate-limit.h"

UC_COVERAGE_DEFINE (unixctl_received);
UC_COVERAGE_DEFINE (unixctl_replied);
UC_COVERAGE_DEFINE (unixctl_idle_timeout);

/**
 * UcServerConnection:
 *
 * The server side of one client connection: a #UcJsonrpc, the output
 * format the client chose, its credentials, and the one request it may
 * have in flight.
 *
 * A connection reads one message, hands a request to its owner's request
 * function, and reads nothing more until the reply has been sent:
 * requests are answered one at a time and in order, however late a
 * handler answers.  (A plain function, not a signal: the owner is the
 * only listener, and a signal emission per request was a tenth of the
 * cost of a request.)  Any message other than a request ends
 * the connection without a reply, as in Open vSwitch.
 *
 * Remote connections have an idle timeout, armed only while the
 * connection waits for a request: a client waiting for a slow handler is
 * not idle, while one that trickles an endless message is.
 *
 * While a request is deferred nothing is read, so the end of the stream
 * would go unnoticed; the socket is watched for a hang-up instead, and the
 * request is cancelled when the peer is gone.  A peer that only shut down
 * its sending side still gets its replies.
 */
struct _UcServerConnection
{
  GObject parent_instance;

  UcJsonrpc *rpc;            /* (owned) */
  GSocket *socket;           /* (owned) (nullable) watched for hang-ups */
  GCredentials *credentials; /* (owned) (nullable) */
  UcOutputFormat format;

  /* The owner's: called with each request. */
  UcServerConnectionRequestFunc request_func;
  gpointer request_data; /* (unowned) outlives us while we are open */

  guint idle_timeout_s;   /* 0: never times out */
  gint64 idle_since;      /* monotonic µs when it last began to wait */
  GSource *idle_source;   /* (owned) (nullable) fires at its ready time */
  GSource *hangup_source; /* (owned) (nullable) armed while deferred */

  JsonNode *request_id; /* (owned) (nullable) id of the request in flight */
  UcRequest *request;   /* (unowned) (nullable) the request in flight, until
                         * it is answered or cancelled: a request answers
                         * before it goes (its dispose answers for it) */
  UcRequest *replied;   /* (owned) (nullable) the answered request whose
                         * reply is being flushed */
  gboolean close_when_idle;
  gboolean closed;
};

enum
{
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (UcServerConnection, uc_server_connection, G_TYPE_OBJECT)

static void receive_next (UcServerConnection *self);

static void
source_destroy_and_unref (gpointer data)
{
  GSource *source = data;

  g_source_destroy (source);
  g_source_unref (source);
}

/* The idle timer is one source per connection that fires at its ready
 * time.  Moving the ready time wakes the main context up, so it is not
 * moved for every request: the timer is armed when the connection starts
 * to wait and left alone, and when it fires it checks whether the
 * connection really sat idle all along. */
static gboolean
idle_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

static GSourceFuncs idle_source_funcs = {
  .dispatch = idle_source_dispatch,
};

static gboolean
on_idle_timeout (gpointer user_data)
{
  static UcRateLimit rl = UC_RATE_LIMIT_DEFAULT;
  UcServerConnection *self = UC_SERVER_CONNECTION (user_data);
  gint64 deadline;

  /* Not idle: a handler is working for the client.  The timer is armed
   * again when the connection next waits for a request. */
  if (uc_server_connection_is_busy (self))
    return G_SOURCE_CONTINUE;

  /* Requests came and went since the timer was armed. */
  deadline = self->idle_since + (gint64) self->idle_timeout_s * G_USEC_PER_SEC;
  if (g_get_monotonic_time () < deadline)
    {
      g_source_set_ready_time (self->idle_source, deadline);
      return G_SOURCE_CONTINUE;
    }

  uc_coverage_inc (unixctl_idle_timeout);
  uc_log_rl (&rl, G_LOG_LEVEL_INFO, "%s: no request for %u s, closing",
             uc_jsonrpc_get_name (self->rpc), self->idle_timeout_s);
  uc_server_connection_close (self);
  return G_SOURCE_CONTINUE;
}

/* The connection begins to wait for a request. */
static void
arm_idle_timer (UcServerConnection *self)
{
  if (self->idle_source == NULL)
    return;
  self->idle_since = g_get_monotonic_time ();
  if (g_source_get_ready_time (self->idle_source) == -1)
    g_source_set_ready_time (self->idle_source,
                             self->idle_since +
                               (gint64) self->idle_timeout_s * G_USEC_PER_SEC);
}

static gboolean
on_hangup (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  UcServerConnection *self = UC_SERVER_CONNECTION (user_data);

  g_debug ("%s: peer went away while its request was in flight",
           uc_jsonrpc_get_name (self->rpc));
  uc_server_connection_close (self);
  return G_SOURCE_REMOVE;
}

static void
watch_hangup (UcServerConnection *self)
{
  if (self->socket == NULL || self->hangup_source != NULL)
    return;

  /* HUP and ERR only: input may legitimately be waiting (pipelined
   * requests, or a peer that shut down its sending side). */
  self->hangup_source =
    g_socket_create_source (self->socket, G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_static_name (self->hangup_source, "[unixctld] peer hang-up");
  g_source_set_callback (self->hangup_source, G_SOURCE_FUNC (on_hangup), self,
                         NULL);
  g_source_attach (self->hangup_source, g_main_context_get_thread_default ());
}

static void
unwatch_hangup (UcServerConnection *self)
{
  g_clear_pointer (&self->hangup_source, source_destroy_and_unref);
}

/* Forgets the request in flight without touching it otherwise. */
static UcRequest *
untrack_request (UcServerConnection *self)
{
  return g_steal_pointer (&self->request);
}

static void
on_flushed (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (UcServerConnection) self = UC_SERVER_CONNECTION (user_data);
  g_autoptr (GError) error = NULL;
  UcRequest *replied = g_steal_pointer (&self->replied);

  /* UcJsonrpc has logged a write error; a close of ours needs no words. */
  if (uc_jsonrpc_flush_finish (UC_JSONRPC (source_object), result, &error))
    receive_next (self);
  else
    uc_server_connection_close (self);

  /* Released once the connection is in its next state: whoever waits for
   * this request to go (see the `exit` command) may act on the server. */
  g_clear_object (&replied);
}

static void
on_request_replied (UcRequest *request,
                    gboolean success,
                    JsonNode *body,
                    gpointer user_data)
{
  UcServerConnection *self = user_data;
  g_autoptr (UcJsonrpcMessage) reply = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *id;

  g_return_if_fail (request == self->request);
  g_return_if_fail (self->request_id != NULL);

  untrack_request (self);
  unwatch_hangup (self);
  /* `set-options --format` changes the format of its own request; the
   * connection keeps it for the requests that follow. */
  self->format = uc_request_get_format (request);

  uc_coverage_inc (unixctl_replied);
  id = g_steal_pointer (&self->request_id);
  if (success)
    reply = uc_jsonrpc_message_new_reply (json_node_ref (body), id);
  else
    reply = uc_jsonrpc_message_new_error (json_node_ref (body), id);

  /* A full backlog has been logged and has ended the connection. */
  if (!uc_jsonrpc_send (self->rpc, reply, &error))
    {
      uc_server_connection_close (self);
      return;
    }

  /* Usually the reply went out whole at once: go on without a flush. */
  if (uc_jsonrpc_get_backlog (self->rpc) == 0)
    {
      receive_next (self);
      return;
    }
  self->replied = g_object_ref (request);
  uc_jsonrpc_flush_async (self->rpc, NULL, on_flushed, g_object_ref (self));
}

static void
on_received (UcJsonrpc *rpc,
             UcJsonrpcMessage *message,
             const GError *error,
             gpointer user_data)
{
  static UcRateLimit unexpected_rl = UC_RATE_LIMIT_DEFAULT;
  g_autoptr (UcServerConnection) self = user_data;
  UcJsonrpcMessageType type;

  if (message == NULL)
    {
      /* The end of the stream, a protocol violation or an I/O error:
       * UcJsonrpc has logged what deserved it. */
      uc_server_connection_close (self);
      return;
    }
  /* A message may still arrive in the iteration that closed us. */
  if (self->closed)
    return;

  type = uc_jsonrpc_message_get_message_type (message);
  if (type != UC_JSONRPC_MESSAGE_REQUEST)
    {
      uc_log_rl (&unexpected_rl, G_LOG_LEVEL_WARNING,
                 "%s: received unexpected %s message",
                 uc_jsonrpc_get_name (self->rpc),
                 uc_jsonrpc_message_type_to_string (type));
      uc_server_connection_close (self);
      return;
    }

  uc_coverage_inc (unixctl_received);
  self->request_id = json_node_ref (uc_jsonrpc_message_get_id (message));
  self->request_func (self, message, self->request_data);

  if (self->closed || self->request_id == NULL)
    return;
  if (self->request == NULL)
    {
      /* The owner must make a request of every message it is given. */
      g_critical ("%s: request was not handled",
                  uc_jsonrpc_get_name (self->rpc));
      uc_server_connection_close (self);
      return;
    }
  /* The handler answers later. */
  watch_hangup (self);
}

static void
receive_next (UcServerConnection *self)
{
  if (self->closed)
    return;
  if (self->close_when_idle)
    {
      uc_server_connection_close (self);
      return;
    }
  arm_idle_timer (self);
  /* uc_jsonrpc_close() ends a pending receive; no cancellable needed. */
  uc_jsonrpc_receive (self->rpc, on_received, g_object_ref (self));
}

static void
uc_server_connection_dispose (GObject *object)
{
  UcServerConnection *self = UC_SERVER_CONNECTION (object);

  /* The owner closes a connection before dropping it; this only covers a
   * connection that was never started. */
  if (!self->closed)
    {
      self->closed = TRUE;
      uc_jsonrpc_close (self->rpc);
    }
  g_clear_pointer (&self->idle_source, source_destroy_and_unref);
  unwatch_hangup (self);
  untrack_request (self);
  g_clear_object (&self->replied);

  G_OBJECT_CLASS (uc_server_connection_parent_class)->dispose (object);
}

static void
uc_server_connection_finalize (GObject *object)
{
  UcServerConnection *self = UC_SERVER_CONNECTION (object);

  g_clear_pointer (&self->request_id, json_node_unref);
  g_clear_object (&self->credentials);
  g_clear_object (&self->socket);
  g_clear_object (&self->rpc);

  G_OBJECT_CLASS (uc_server_connection_parent_class)->finalize (object);
}

static void
uc_server_connection_class_init (UcServerConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = uc_server_connection_dispose;
  object_class->finalize = uc_server_connection_finalize;

  /**
   * UcServerConnection::closed:
   * @self: the connection
   *
   * The connection has ended, for whatever reason; emitted once.  A
   * request still in flight has been cancelled.
   */
  signals[SIGNAL_CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
uc_server_connection_init (UcServerConnection *self)
{
  self->format = UC_OUTPUT_FORMAT_TEXT;
}

/**
 * uc_server_connection_new:
 * @rpc: the JSON-RPC connection to serve
 * @connection: (nullable): the socket connection under @rpc's stream, for
 *   the peer's credentials and hang-up detection
 * @idle_timeout_s: seconds the connection may wait for a request before
 *   it is closed; 0 for no limit
 * @request_func: (scope notified): called with each request received,
 *   until the connection closes
 * @user_data: (closure request_func): data for @request_func; it must
 *   stay valid while the connection is open
 *
 * Wraps @rpc.  Nothing is read before uc_server_connection_start().
 *
 * Returns: (transfer full): a new connection
 */
UcServerConnection *
uc_server_connection_new (UcJsonrpc *rpc,
                          GSocketConnection *connection,
                          guint idle_timeout_s,
                          UcServerConnectionRequestFunc request_func,
                          gpointer user_data)
{
  UcServerConnection *self;

  g_return_val_if_fail (UC_IS_JSONRPC (rpc), NULL);
  g_return_val_if_fail (
    connection == NULL || G_IS_SOCKET_CONNECTION (connection), NULL);
  g_return_val_if_fail (request_func != NULL, NULL);

  self = g_object_new (UC_TYPE_SERVER_CONNECTION, NULL);
  self->rpc = g_object_ref (rpc);
  self->request_func = request_func;
  self->request_data = user_data;
  self->idle_timeout_s = idle_timeout_s;

  if (connection != NULL)
    {
      self->socket = g_object_ref (g_socket_connection_get_socket (connection));
      if (G_IS_UNIX_CONNECTION (connection))
        {
          g_autoptr (GError) error = NULL;

          /* SO_PEERCRED: who connected, fixed at connect time. */
          self->credentials = g_socket_get_credentials (self->socket, &error);
          if (self->credentials == NULL)
            g_debug ("%s: no peer credentials: %s", uc_jsonrpc_get_name (rpc),
                     error->message);
        }
    }

  if (idle_timeout_s > 0)
    {
      self->idle_source = g_source_new (&idle_source_funcs, sizeof (GSource));
      g_source_set_static_name (self->idle_source, "[unixctld] idle timeout");
      g_source_set_callback (self->idle_source, on_idle_timeout, self, NULL);
      g_source_attach (self->idle_source, g_main_context_get_thread_default ());
    }
  return self;
}

/**
 * uc_server_connection_get_name:
 * @self: a connection
 *
 * Returns: (transfer none): the connection's name in log lines, such as
 *   `unix#3`
 */
const char *
uc_server_connection_get_name (UcServerConnection *self)
{
  g_return_val_if_fail (UC_IS_SERVER_CONNECTION (self), NULL);

  return uc_jsonrpc_get_name (self->rpc);
}

/**
 * uc_server_connection_get_format:
 * @self: a connection
 *
 * Returns: the output format the next request will carry
 */
UcOutputFormat
uc_server_connection_get_format (UcServerConnection *self)
{
  g_return_val_if_fail (UC_IS_SERVER_CONNECTION (self), UC_OUTPUT_FORMAT_TEXT);

  return self->format;
}

/**
 * uc_server_connection_get_credentials:
 * @self: a connection
 *
 * Returns: (transfer none) (nullable): the peer's credentials on a unix
 *   socket, else %NULL
 */
GCredentials *
uc_server_connection_get_credentials (UcServerConnection *self)
{
  g_return_val_if_fail (UC_IS_SERVER_CONNECTION (self), NULL);

  return self->credentials;
}

/**
 * uc_server_connection_is_busy:
 * @self: a connection
 *
 * Returns: %TRUE while a request is in flight or its reply is being
 *   written
 */
gboolean
uc_server_connection_is_busy (UcServerConnection *self)
{
  g_return_val_if_fail (UC_IS_SERVER_CONNECTION (self), FALSE);

  return self->request_id != NULL || self->replied != NULL;
}

/**
 * uc_server_connection_is_closed:
 * @self: a connection
 *
 * Returns: %TRUE once the connection has ended
 */
gboolean
uc_server_connection_is_closed (UcServerConnection *self)
{
  g_return_val_if_fail (UC_IS_SERVER_CONNECTION (self), TRUE);

  return self->closed;
}

/**
 * uc_server_connection_start:
 * @self: a new connection
 *
 * Starts reading requests.
 */
void
uc_server_connection_start (UcServerConnection *self)
{
  g_return_if_fail (UC_IS_SERVER_CONNECTION (self));

  receive_next (self);
}

/**
 * uc_server_connection_new_request:
 * @self: a connection, from its request function
 * @argv: (array zero-terminated=1): the command and its arguments
 *
 * Makes the #UcRequest for the request just received: it carries the
 * connection's output format and the peer's credentials, and its answer
 * becomes the reply, sent with the request's id.
 *
 * Returns: (transfer full): the request to dispatch or answer
 */
UcRequest *
uc_server_connection_new_request (UcServerConnection *self,
                                  const char *const *argv)
{
  UcRequest *request;

  g_return_val_if_fail (UC_IS_SERVER_CONNECTION (self), NULL);
  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);
  g_return_val_if_fail (self->request_id != NULL, NULL);
  g_return_val_if_fail (self->request == NULL, NULL);

  request =
    uc_request_new (argv, self->format, self->credentials, on_request_replied,
                    g_object_ref (self), g_object_unref);
  self->request = request;
  return request;
}

/**
 * uc_server_connection_close_when_idle:
 * @self: a connection
 *
 * Closes @self as soon as it has no request in flight: at once if it is
 * waiting for one, else once the reply has been written.  Requests the
 * client pipelined behind the one in flight are not answered.
 */
void
uc_server_connection_close_when_idle (UcServerConnection *self)
{
  g_return_if_fail (UC_IS_SERVER_CONNECTION (self));

  self->close_when_idle = TRUE;
  if (!uc_server_connection_is_busy (self))
    uc_server_connection_close (self);
}

/**
 * uc_server_connection_close:
 * @self: a connection
 *
 * Ends @self now: cancels the request in flight (its later answer is
 * dropped), drops unsent data, closes the stream and emits
 * #UcServerConnection::closed.  Closing again does nothing.
 */
void
uc_server_connection_close (UcServerConnection *self)
{
  UcRequest *replied;
  UcRequest *request;

  g_return_if_fail (UC_IS_SERVER_CONNECTION (self));

  if (self->closed)
    return;

  /* The ::closed handler drops the owner's reference. */
  g_object_ref (self);
  replied = g_steal_pointer (&self->replied);
  self->closed = TRUE;
  if (self->idle_source != NULL)
    g_source_set_ready_time (self->idle_source, -1);
  unwatch_hangup (self);

  request = untrack_request (self);
  if (request != NULL)
    uc_request_cancel (request);
  g_clear_pointer (&self->request_id, json_node_unref);

  uc_jsonrpc_close (self->rpc);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0);

  /* Last, as in on_flushed(). */
  g_clear_object (&replied);
  g_object_unref (self);
}
