/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "unixctl"

#include "config.h"

#include "uc-client.h"

#include "uc-jsonrpc-message.h"
#include "uc-rate-limit.h"
#include "uc-stream.h"

/**
 * UcClient:
 *
 * The client side of the unixctl protocol: it sends commands over a
 * #UcJsonrpc connection and matches the replies to them, as Open vSwitch's
 * `unixctl_client_transact()` does.
 *
 * Each command goes out as `{"id":N,"method":COMMAND,"params":[ARGS...]}`
 * with N counting up from 0 on each client, so the first request of a
 * client looks exactly like the one `ovs-appctl` sends.  Transactions may
 * overlap; each completes with the reply that carries its id, in whatever
 * order the replies arrive.
 *
 * While a transaction is pending the client reads from the connection and
 * also deals with what else a JSON-RPC peer may send: it answers an `echo`
 * request by sending its params back (Open vSwitch peers on tcp: and ssl:
 * probe idle connections that way and drop those that do not answer),
 * and it ignores notifications, other requests and replies whose id it
 * does not know.  While none is pending it reads nothing, like
 * `ovs-appctl`.
 *
 * A client belongs to one main context: the thread-default context in
 * which its connection was made (see uc_client_new()).  The async
 * functions must be called from there; the sync ones push that context
 * and iterate it until they are done, so that both share one code path.
 */

struct _UcClient
{
  GObject parent_instance;

  UcJsonrpc *rpc;        /* (owned) */
  GMainContext *context; /* (owned) the context @rpc belongs to */
  gint64 next_id;

  /* Pending transactions: their id (gint64 *, pointing into the task's
   * Transaction) to the GTask. */
  GHashTable *transactions; /* (owned) (element-type gint64 GTask) */

  /* A receive runs exactly while a transaction is pending.  When the last
   * pending one is cancelled, the receive is cancelled too and
   * @receive_stopping stays set until its callback has run. */
  gboolean receiving;
  gboolean receive_stopping;
  GCancellable *receive_cancellable; /* (owned) (nullable) */

  GError *error; /* (owned) (nullable) what ended the connection */
};

G_DEFINE_FINAL_TYPE (UcClient, uc_client, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_JSONRPC,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The task data of a pending transaction. */
typedef struct
{
  gint64 id;
  GSource *cancel_source; /* (owned) (nullable) */
} Transaction;

static void
transaction_free (gpointer data)
{
  Transaction *transaction = data;

  if (transaction->cancel_source != NULL)
    {
      g_source_destroy (transaction->cancel_source);
      g_source_unref (transaction->cancel_source);
    }
  g_free (transaction);
}

/* What a completed transaction returns: exactly one of the two is set. */
typedef struct
{
  JsonNode *result; /* (owned) (nullable) */
  JsonNode *error;  /* (owned) (nullable) */
} Reply;

static void
reply_free (gpointer data)
{
  Reply *reply = data;

  g_clear_pointer (&reply->result, json_node_unref);
  g_clear_pointer (&reply->error, json_node_unref);
  g_free (reply);
}

static void receive_next (UcClient *self);

/* Takes the pending transaction with @id out of the table and disarms its
 * cancellation.  Returns (transfer full) (nullable): its task. */
static GTask *
take_transaction (UcClient *self, gint64 id)
{
  gpointer task = NULL;

  if (!g_hash_table_steal_extended (self->transactions, &id, NULL, &task))
    return NULL;

  /* Frees the Transaction, which the table's key pointed into, and
   * destroys the cancellation watch with it. */
  g_task_set_task_data (task, NULL, NULL);
  return task;
}

/* Fails every pending transaction with @error. */
static void
fail_transactions (UcClient *self, const GError *error)
{
  g_autoptr (GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer task;
  guint i;

  /* Empty the table before any callback runs: a callback may start a new
   * transaction. */
  g_hash_table_iter_init (&iter, self->transactions);
  while (g_hash_table_iter_next (&iter, NULL, &task))
    {
      g_ptr_array_add (tasks, task);
      g_hash_table_iter_steal (&iter);
    }

  for (i = 0; i < tasks->len; i++)
    {
      task = g_ptr_array_index (tasks, i);
      g_task_set_task_data (task, NULL, NULL);
      g_task_return_error (task, g_error_copy (error));
    }
}

/* Cancels the receive once no transaction needs it any more, so that an
 * idle client reads nothing and holds no reference to itself. */
static void
stop_receiving_if_idle (UcClient *self)
{
  if (!self->receiving || self->receive_stopping ||
      g_hash_table_size (self->transactions) > 0)
    return;

  self->receive_stopping = TRUE;
  g_cancellable_cancel (self->receive_cancellable);
}

static gboolean
on_transaction_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = G_TASK (user_data);
  UcClient *self = g_task_get_source_object (task);
  Transaction *transaction = g_task_get_task_data (task);
  g_autoptr (GTask) taken = NULL;

  taken = take_transaction (self, transaction->id);
  if (taken != NULL)
    {
      g_task_return_error_if_cancelled (taken);
      stop_receiving_if_idle (self);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
id_is_integer (JsonNode *id)
{
  return JSON_NODE_HOLDS_VALUE (id) &&
         json_node_get_value_type (id) == G_TYPE_INT64;
}

static void
handle_reply (UcClient *self, UcJsonrpcMessage *message)
{
  static UcRateLimit rl = UC_RATE_LIMIT_DEFAULT;
  JsonNode *id = uc_jsonrpc_message_get_id (message);
  g_autoptr (GTask) task = NULL;
  Reply *reply;

  /* Our ids are integers; a reply to anything else is not ours. */
  if (id_is_integer (id))
    task = take_transaction (self, json_node_get_int (id));
  if (task == NULL)
    {
      g_autofree char *text = json_to_string (id, FALSE);

      uc_log_rl (&rl, G_LOG_LEVEL_DEBUG, "%s: ignoring %s with unknown id %s",
                 uc_jsonrpc_get_name (self->rpc),
                 uc_jsonrpc_message_type_to_string (
                   uc_jsonrpc_message_get_message_type (message)),
                 text);
      return;
    }

  reply = g_new0 (Reply, 1);
  if (uc_jsonrpc_message_get_message_type (message) == UC_JSONRPC_MESSAGE_REPLY)
    reply->result = json_node_copy (uc_jsonrpc_message_get_result (message));
  else
    reply->error = json_node_copy (uc_jsonrpc_message_get_error (message));
  g_task_return_pointer (task, reply, reply_free);
}

/* Answers an inactivity probe: the reply's result is the request's params,
 * as Open vSwitch's jsonrpc_recv() answers it. */
static void
answer_echo (UcClient *self, UcJsonrpcMessage *request)
{
  static UcRateLimit rl = UC_RATE_LIMIT_DEFAULT;
  g_autoptr (UcJsonrpcMessage) reply = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *params;

  params = json_node_init_array (json_node_alloc (),
                                 uc_jsonrpc_message_get_params (request));
  reply = uc_jsonrpc_message_new_reply (
    params, json_node_copy (uc_jsonrpc_message_get_id (request)));

  /* A failed send has ended the connection; the pending receive reports
   * that to the transactions. */
  if (!uc_jsonrpc_send (self->rpc, reply, &error))
    uc_log_rl (&rl, G_LOG_LEVEL_DEBUG, "%s: cannot answer echo request: %s",
               uc_jsonrpc_get_name (self->rpc), error->message);
}

static void
handle_message (UcClient *self, UcJsonrpcMessage *message)
{
  static UcRateLimit rl = UC_RATE_LIMIT_DEFAULT;
  UcJsonrpcMessageType type = uc_jsonrpc_message_get_message_type (message);

  switch (type)
    {
      case UC_JSONRPC_MESSAGE_REPLY:
      case UC_JSONRPC_MESSAGE_ERROR:
        handle_reply (self, message);
        break;

      case UC_JSONRPC_MESSAGE_REQUEST:
        if (g_strcmp0 (uc_jsonrpc_message_get_method (message), "echo") == 0)
          {
            answer_echo (self, message);
            break;
          }
        /* A client serves no other method; Open vSwitch's client drops
         * such requests unanswered as well. */
        G_GNUC_FALLTHROUGH;

      case UC_JSONRPC_MESSAGE_NOTIFY:
        uc_log_rl (&rl, G_LOG_LEVEL_DEBUG, "%s: ignoring %s \"%s\"",
                   uc_jsonrpc_get_name (self->rpc),
                   uc_jsonrpc_message_type_to_string (type),
                   uc_jsonrpc_message_get_method (message));
        break;

      default:
        g_assert_not_reached ();
    }
}

static void
on_received (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  /* Holds the client while a receive runs; a transaction callback run from
   * here may drop the caller's last reference. */
  g_autoptr (UcClient) self = UC_CLIENT (user_data);
  g_autoptr (UcJsonrpcMessage) message = NULL;
  g_autoptr (GError) error = NULL;

  self->receiving = FALSE;
  message = uc_jsonrpc_receive_finish (self->rpc, result, &error);

  if (message == NULL &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Stopped by stop_receiving_if_idle(): nothing was lost, and a
       * transaction started since then needs a new receive. */
      self->receive_stopping = FALSE;
      g_clear_object (&self->receive_cancellable);
      receive_next (self);
      return;
    }

  if (message == NULL)
    {
      /* The connection has ended; UcJsonrpc has logged why. */
      self->receive_stopping = FALSE;
      g_clear_error (&self->error);
      self->error = g_steal_pointer (&error);
      fail_transactions (self, self->error);
      return;
    }

  /* A message delivered although the receive was being stopped. */
  if (self->receive_stopping)
    {
      self->receive_stopping = FALSE;
      g_clear_object (&self->receive_cancellable);
    }

  handle_message (self, message);
  receive_next (self);
}

/* Starts a receive if a transaction waits for its reply and none runs. */
static void
receive_next (UcClient *self)
{
  if (self->receiving || self->error != NULL ||
      g_hash_table_size (self->transactions) == 0)
    return;

  if (self->receive_cancellable == NULL)
    self->receive_cancellable = g_cancellable_new ();
  self->receiving = TRUE;
  uc_jsonrpc_receive_async (self->rpc, self->receive_cancellable, on_received,
                            g_object_ref (self));
}

static void
uc_client_constructed (GObject *object)
{
  UcClient *self = UC_CLIENT (object);

  G_OBJECT_CLASS (uc_client_parent_class)->constructed (object);

  g_assert (self->rpc != NULL);
  self->context = g_main_context_ref_thread_default ();
}

static void
uc_client_dispose (GObject *object)
{
  UcClient *self = UC_CLIENT (object);

  /* Every transaction holds a reference: none is pending here. */
  g_assert (g_hash_table_size (self->transactions) == 0);

  if (self->rpc != NULL)
    uc_jsonrpc_close (self->rpc);
  g_clear_object (&self->rpc);

  G_OBJECT_CLASS (uc_client_parent_class)->dispose (object);
}

static void
uc_client_finalize (GObject *object)
{
  UcClient *self = UC_CLIENT (object);

  g_clear_pointer (&self->transactions, g_hash_table_unref);
  g_clear_object (&self->receive_cancellable);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (uc_client_parent_class)->finalize (object);
}

static void
uc_client_get_property (GObject *object,
                        guint prop_id,
                        GValue *value,
                        GParamSpec *pspec)
{
  UcClient *self = UC_CLIENT (object);

  switch (prop_id)
    {
      case PROP_JSONRPC:
        g_value_set_object (value, self->rpc);
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
uc_client_set_property (GObject *object,
                        guint prop_id,
                        const GValue *value,
                        GParamSpec *pspec)
{
  UcClient *self = UC_CLIENT (object);

  switch (prop_id)
    {
      case PROP_JSONRPC:
        g_assert (self->rpc == NULL);
        self->rpc = g_value_dup_object (value);
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
uc_client_class_init (UcClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = uc_client_constructed;
  object_class->dispose = uc_client_dispose;
  object_class->finalize = uc_client_finalize;
  object_class->get_property = uc_client_get_property;
  object_class->set_property = uc_client_set_property;

  /**
   * UcClient:jsonrpc:
   *
   * The connection the client talks over.  The client owns it from
   * construction on and closes it when finalized.
   */
  properties[PROP_JSONRPC] = g_param_spec_object (
    "jsonrpc", NULL, NULL, UC_TYPE_JSONRPC,
    G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
uc_client_init (UcClient *self)
{
  self->transactions =
    g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_object_unref);
}

/**
 * uc_client_new:
 * @rpc: a connection to a unixctl server
 *
 * Makes a client that talks over @rpc.  The client takes @rpc over: it
 * reads from it while transactions are pending and closes it when
 * finalized, so nothing else may receive from it.
 *
 * @rpc must belong to the thread-default main context, which becomes the
 * client's (see #UcJsonrpc).
 *
 * Returns: (transfer full): a new client
 */
UcClient *
uc_client_new (UcJsonrpc *rpc)
{
  g_return_val_if_fail (UC_IS_JSONRPC (rpc), NULL);

  return g_object_new (UC_TYPE_CLIENT, "jsonrpc", rpc, NULL);
}

/* Completion of uc_client_transact() and uc_client_connect(): the sync
 * calls wait for this with their own context pushed. */
typedef struct
{
  GAsyncResult *result; /* (owned) (nullable) */
} SyncData;

static void
sync_ready_cb (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  SyncData *data = user_data;

  data->result = g_object_ref (result);
}

/**
 * uc_client_connect:
 * @stream_name: an active stream name (`unix:FILE`, `tcp:HOST:PORT`,
 *   `ssl:HOST:PORT`; see uc_stream_new())
 * @rundir: (nullable): the directory a relative `unix:` FILE is resolved
 *   under
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Connects to @stream_name, blocking until connected or failed.
 *
 * The client gets a main context of its own, in which its connection
 * lives, so that nothing else is dispatched while the sync functions
 * wait.  Use it only with uc_client_transact(); for the async functions,
 * connect with uc_client_connect_async().
 *
 * Returns: (transfer full): the client, or %NULL with @error set as for
 *   uc_client_connect_finish()
 */
UcClient *
uc_client_connect (const char *stream_name,
                   const char *rundir,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr (GMainContext) context = NULL;
  SyncData data = { NULL };
  UcClient *client;

  g_return_val_if_fail (stream_name != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable),
                        NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);

  uc_client_connect_async (stream_name, rundir, cancellable, sync_ready_cb,
                           &data);
  while (data.result == NULL)
    g_main_context_iteration (context, TRUE);
  client = uc_client_connect_finish (data.result, error);
  g_object_unref (data.result);

  g_main_context_pop_thread_default (context);
  return client;
}

static void
stream_connect_cb (GObject *source_object,
                   GAsyncResult *result,
                   gpointer user_data)
{
  g_autoptr (GTask) task = G_TASK (user_data);
  UcStream *stream = UC_STREAM (source_object);
  g_autoptr (GIOStream) io_stream = NULL;
  g_autoptr (UcJsonrpc) rpc = NULL;
  g_autoptr (GError) error = NULL;
  GMainContext *context = g_task_get_context (task);

  io_stream = uc_stream_connect_finish (stream, result, &error);
  if (io_stream == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* The connection and the client belong to the context the connect was
   * started in, whatever the caller has pushed by now. */
  g_main_context_push_thread_default (context);
  rpc = uc_jsonrpc_new (io_stream, uc_stream_get_name (stream));
  g_task_return_pointer (task, uc_client_new (rpc), g_object_unref);
  g_main_context_pop_thread_default (context);
}

/**
 * uc_client_connect_async:
 * @stream_name: an active stream name (`unix:FILE`, `tcp:HOST:PORT`,
 *   `ssl:HOST:PORT`; see uc_stream_new())
 * @rundir: (nullable): the directory a relative `unix:` FILE is resolved
 *   under
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when connected or failed
 * @user_data: data for @callback
 *
 * Connects to @stream_name without blocking.  The client belongs to the
 * thread-default main context of this call.
 */
void
uc_client_connect_async (const char *stream_name,
                         const char *rundir,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (UcStream) stream = NULL;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (stream_name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_client_connect_async);

  stream = uc_stream_new (stream_name, rundir, &error);
  if (stream == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  uc_stream_connect_async (stream, cancellable, stream_connect_cb,
                           g_steal_pointer (&task));
}

/**
 * uc_client_connect_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_client_connect_async().
 *
 * Returns: (transfer full): the client, or %NULL with @error set: to
 *   %UC_ERROR_INVALID_NAME if the name does not parse, or to the
 *   #G_IO_ERROR (or other) error of the failed connect, whose code tells
 *   why (%G_IO_ERROR_NOT_FOUND, %G_IO_ERROR_CONNECTION_REFUSED, ...)
 */
UcClient *
uc_client_connect_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_client_connect_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * uc_client_get_jsonrpc:
 * @self: a #UcClient
 *
 * Returns: (transfer none): the connection @self talks over
 */
UcJsonrpc *
uc_client_get_jsonrpc (UcClient *self)
{
  g_return_val_if_fail (UC_IS_CLIENT (self), NULL);

  return self->rpc;
}

/**
 * uc_client_transact:
 * @self: a #UcClient
 * @command: the command, such as "list-commands"
 * @args: (nullable) (array zero-terminated=1): its arguments
 * @result: (out) (optional) (transfer full) (nullable): the result body
 * @error_body: (out) (optional) (transfer full) (nullable): the error body
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sends @command and blocks until its reply arrives, iterating the
 * client's main context meanwhile (see #UcClient).  Called from the
 * context's owner within a dispatch, that runs its other sources too: in
 * programs with a main loop, use uc_client_transact_async().
 *
 * Returns: as uc_client_transact_finish()
 */
gboolean
uc_client_transact (UcClient *self,
                    const char *command,
                    const char *const *args,
                    JsonNode **result,
                    JsonNode **error_body,
                    GCancellable *cancellable,
                    GError **error)
{
  SyncData data = { NULL };
  gboolean ok;

  g_return_val_if_fail (UC_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (command != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable),
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_main_context_push_thread_default (self->context);

  uc_client_transact_async (self, command, args, cancellable, sync_ready_cb,
                            &data);

  /* Also wait for a receive that is being stopped, which holds a reference
   * to the client until its callback has run in this context. */
  while (data.result == NULL || self->receive_stopping)
    g_main_context_iteration (self->context, TRUE);

  ok = uc_client_transact_finish (self, data.result, result, error_body, error);
  g_object_unref (data.result);

  g_main_context_pop_thread_default (self->context);
  return ok;
}

/**
 * uc_client_transact_async:
 * @self: a #UcClient
 * @command: the command, such as "list-commands"
 * @args: (nullable) (array zero-terminated=1): its arguments
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the reply arrived or the transaction failed
 * @user_data: data for @callback
 *
 * Sends `{"id":N,"method":COMMAND,"params":[ARGS...]}` and waits for the
 * reply with id N.  Several transactions may be pending at once.  Must be
 * called from the client's main context.
 */
void
uc_client_transact_async (UcClient *self,
                          const char *command,
                          const char *const *args,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (UcJsonrpcMessage) request = NULL;
  g_autoptr (JsonArray) params = NULL;
  g_autoptr (GError) error = NULL;
  Transaction *transaction;
  gsize i;

  g_return_if_fail (UC_IS_CLIENT (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_client_transact_async);

  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->error != NULL)
    {
      g_task_return_error (task, g_error_copy (self->error));
      return;
    }

  params = json_array_new ();
  for (i = 0; args != NULL && args[i] != NULL; i++)
    json_array_add_string_element (params, args[i]);

  transaction = g_new0 (Transaction, 1);
  transaction->id = self->next_id++;
  request = uc_jsonrpc_message_new_request (
    command, json_node_init_array (json_node_alloc (), params),
    json_node_init_int (json_node_alloc (), transaction->id));

  if (!uc_jsonrpc_send (self->rpc, request, &error))
    {
      g_free (transaction);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (cancellable != NULL)
    {
      transaction->cancel_source = g_cancellable_source_new (cancellable);
      g_task_attach_source (task, transaction->cancel_source,
                            G_SOURCE_FUNC (on_transaction_cancelled));
    }
  g_task_set_task_data (task, transaction, transaction_free);
  g_hash_table_insert (self->transactions, &transaction->id,
                       g_steal_pointer (&task));

  receive_next (self);
}

/**
 * uc_client_transact_finish:
 * @self: a #UcClient
 * @result: the #GAsyncResult given to the callback
 * @result_body: (out) (optional) (transfer full) (nullable): the result
 *   body
 * @error_body: (out) (optional) (transfer full) (nullable): the error body
 * @error: return location for a #GError
 *
 * Finishes uc_client_transact_async().
 *
 * The server answered if this returns %TRUE: with a result, which is then
 * in @result_body while @error_body is %NULL, or with an error, the other
 * way round.  Both shapes of error reply count, with or without
 * `"result":null`.  The bodies are JSON values as received: strings from
 * a unixctl server in text mode, any value otherwise.
 *
 * Returns: %TRUE if the server replied; %FALSE with @error set if the
 *   transaction failed: %G_IO_ERROR_CONNECTION_CLOSED if the server closed
 *   the connection first, %G_IO_ERROR_CANCELLED, or the error that ended
 *   the connection (a #UC_ERROR for a protocol violation)
 */
gboolean
uc_client_transact_finish (UcClient *self,
                           GAsyncResult *result,
                           JsonNode **result_body,
                           JsonNode **error_body,
                           GError **error)
{
  Reply *reply;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_client_transact_async), FALSE);

  reply = g_task_propagate_pointer (G_TASK (result), error);
  if (reply == NULL)
    return FALSE;

  if (result_body != NULL)
    *result_body = g_steal_pointer (&reply->result);
  if (error_body != NULL)
    *error_body = g_steal_pointer (&reply->error);
  reply_free (reply);
  return TRUE;
}
