/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "unixctl"

#include "config.h"

#include "uc-client.h"

#include <errno.h>

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
 * functions must be called from there.  The sync ones iterate that
 * context until they are done, and a client made by uc_client_connect()
 * has a context of its own, so that they dispatch nothing of the
 * caller's.
 *
 * The sync functions are what a one-shot program such as the CLI needs,
 * and they are made cheap for it: on a `unix:` stream nothing they do
 * starts a thread (no #GTask, whose first use starts GIO's task thread
 * pool, and no #GSocketClient), and they wait in the client's own context,
 * which polls nothing but the connection.  A transaction of either kind
 * is one entry in the same table, completed by the same reply handling;
 * only the way the caller learns the outcome differs.
 */

struct _UcClient
{
  GObject parent_instance;

  UcJsonrpc *rpc;        /* (owned) */
  GMainContext *context; /* (owned) the context @rpc belongs to */
  gint64 next_id;

  /* Pending transactions, async and sync: their id (gint64 *, pointing
   * into the Transaction) to the Transaction. */
  GHashTable *transactions; /* (owned) (element-type gint64 Transaction) */

  /* A uc_jsonrpc_receive() runs exactly while a transaction is pending;
   * it holds a reference on the client. */
  gboolean receiving;

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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

/* Where a sync transaction, waiting on the caller's stack, finds its
 * outcome: a reply or an error. */
typedef struct
{
  gboolean done;
  Reply *reply;  /* (owned) (nullable) */
  GError *error; /* (owned) (nullable) */
} SyncOutcome;

/* A pending transaction.  An async one completes its task; a sync one
 * fills in the outcome its caller waits for. */
typedef struct
{
  gint64 id;
  UcClient *client;         /* (unowned) whose table holds it */
  GTask *task;              /* (owned) (nullable) async */
  SyncOutcome *outcome;     /* (unowned) (nullable) sync */
  GSource *cancel_source;   /* (owned) (nullable) async only */
  GSource *deadline_source; /* (owned) (nullable) sync only */
} Transaction;

static void
transaction_free (Transaction *transaction)
{
  /* Disarmed, even if something else still holds them. */
  if (transaction->cancel_source != NULL)
    g_source_destroy (transaction->cancel_source);
  if (transaction->deadline_source != NULL)
    g_source_destroy (transaction->deadline_source);
  g_clear_pointer (&transaction->cancel_source, g_source_unref);
  g_clear_pointer (&transaction->deadline_source, g_source_unref);
  g_clear_object (&transaction->task);
  g_free (transaction);
}

/* Completes @transaction (transfer full), which is out of the table, with
 * @reply or @error (transfer full). */
static void
transaction_complete (Transaction *transaction, Reply *reply, GError *error)
{
  g_autoptr (GTask) task = g_steal_pointer (&transaction->task);
  SyncOutcome *outcome = transaction->outcome;

  g_assert ((reply == NULL) != (error == NULL));

  /* Disarmed first: the task's callback may start another transaction
   * or drop the client. */
  transaction_free (transaction);

  if (outcome != NULL)
    {
      outcome->reply = reply;
      outcome->error = error;
      outcome->done = TRUE;
    }
  else if (reply != NULL)
    g_task_return_pointer (task, reply, reply_free);
  else
    g_task_return_error (task, error);
}

static void receive_next (UcClient *self);

/* Takes the pending transaction with @id out of the table.  Returns
 * (transfer full) (nullable): the transaction. */
static Transaction *
take_transaction (UcClient *self, gint64 id)
{
  gpointer transaction = NULL;

  if (!g_hash_table_steal_extended (self->transactions, &id, NULL,
                                    &transaction))
    return NULL;
  return transaction;
}

/* Fails every pending transaction with @error. */
static void
fail_transactions (UcClient *self, const GError *error)
{
  g_autoptr (GPtrArray) transactions = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer transaction;
  guint i;

  /* Empty the table before any callback runs: a callback may start a new
   * transaction. */
  g_hash_table_iter_init (&iter, self->transactions);
  while (g_hash_table_iter_next (&iter, NULL, &transaction))
    {
      g_ptr_array_add (transactions, transaction);
      g_hash_table_iter_steal (&iter);
    }

  for (i = 0; i < transactions->len; i++)
    transaction_complete (g_ptr_array_index (transactions, i), NULL,
                          g_error_copy (error));
}

/* Withdraws the receive once no transaction needs it any more, so that an
 * idle client reads nothing and holds no reference to itself.  A receive
 * that cannot be withdrawn (the connection has ended) reports to
 * on_received(), which finds nothing to do. */
static void
stop_receiving_if_idle (UcClient *self)
{
  if (!self->receiving || g_hash_table_size (self->transactions) > 0)
    return;

  if (uc_jsonrpc_cancel_receive (self->rpc))
    {
      self->receiving = FALSE;
      /* The receive's reference; the caller holds another. */
      g_object_unref (self);
    }
}

/* Ends the transaction with @id, if it is still pending, with @error
 * (transfer full): it was cancelled or its time ran out. */
static void
abandon_transaction (UcClient *self, gint64 id, GError *error)
{
  g_autoptr (UcClient) keep = NULL;
  Transaction *transaction = take_transaction (self, id);

  if (transaction == NULL)
    {
      g_error_free (error);
      return;
    }

  /* A task's callback may drop the caller's last reference. */
  keep = g_object_ref (self);
  transaction_complete (transaction, NULL, error);
  stop_receiving_if_idle (self);
}

static gboolean
on_transaction_cancelled (GCancellable *cancellable, gpointer user_data)
{
  Transaction *transaction = user_data;
  GError *error = NULL;

  g_cancellable_set_error_if_cancelled (cancellable, &error);
  abandon_transaction (transaction->client, transaction->id, error);
  return G_SOURCE_REMOVE;
}

/* Cancelling a sync call is what another thread does.  The sync waits
 * therefore take no cancellable source, which GLib 2.74 leaks when it is
 * destroyed while the cancelling thread is still inside
 * g_cancellable_cancel(): the handler, run in that thread, only wakes the
 * waiting context, and the wait looks at the cancellable itself. */
static void
wake_context (GCancellable *cancellable, gpointer user_data)
{
  g_main_context_wakeup (user_data);
}

/* The error of a wait that reached its deadline.  The text is the C
 * library's, which is translated already. */
static void
set_timed_out (GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       g_strerror (ETIMEDOUT));
}

static gboolean
on_deadline (gpointer user_data)
{
  Transaction *transaction = user_data;
  GError *error = NULL;

  set_timed_out (&error);
  abandon_transaction (transaction->client, transaction->id, error);
  return G_SOURCE_REMOVE;
}

/* Makes @func, which must return %G_SOURCE_REMOVE, run in @context once
 * g_get_monotonic_time() reaches @deadline.  A timeout source, with its
 * one dispatch moved to @deadline: its interval in milliseconds could not
 * reach as far as a deadline may be.  Returns (transfer full): the
 * source, attached. */
static GSource *
deadline_source_new (GMainContext *context,
                     gint64 deadline,
                     GSourceFunc func,
                     gpointer user_data)
{
  GSource *source = g_timeout_source_new (0);

  g_source_set_static_name (source, "[unixctld] client deadline");
  g_source_set_ready_time (source, deadline);
  g_source_set_callback (source, func, user_data, NULL);
  g_source_attach (source, context);
  return source;
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
  Transaction *transaction = NULL;
  Reply *reply;

  /* Our ids are integers; a reply to anything else is not ours. */
  if (id_is_integer (id))
    transaction = take_transaction (self, json_node_get_int (id));
  if (transaction == NULL)
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
  transaction_complete (transaction, reply, NULL);
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
on_received (UcJsonrpc *rpc,
             UcJsonrpcMessage *message,
             const GError *error,
             gpointer user_data)
{
  /* The receive's reference, which also holds the client while a
   * transaction callback run from here drops the caller's last one. */
  g_autoptr (UcClient) self = UC_CLIENT (user_data);

  self->receiving = FALSE;

  if (message == NULL)
    {
      /* The connection has ended; UcJsonrpc has logged why. */
      g_clear_error (&self->error);
      self->error = g_error_copy (error);
      fail_transactions (self, self->error);
      return;
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

  self->receiving = TRUE;
  uc_jsonrpc_receive (self->rpc, on_received, g_object_ref (self));
}

/* Sends @command with @args as the request of a new transaction and adds
 * the transaction to the table; the caller says how it completes.
 * Returns (transfer none): the transaction, or %NULL with @error set if
 * the request could not be sent. */
static Transaction *
start_transaction (UcClient *self,
                   const char *command,
                   const char *const *args,
                   GError **error)
{
  g_autoptr (UcJsonrpcMessage) request = NULL;
  JsonArray *params;
  Transaction *transaction;
  gsize i;

  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return NULL;
    }

  params = json_array_new ();
  for (i = 0; args != NULL && args[i] != NULL; i++)
    json_array_add_string_element (params, args[i]);

  transaction = g_new0 (Transaction, 1);
  transaction->id = self->next_id++;
  transaction->client = self;
  request = uc_jsonrpc_message_new_request (
    command, json_node_init_array (json_node_alloc (), params),
    json_node_init_int (json_node_alloc (), transaction->id));
  json_array_unref (params);

  if (!uc_jsonrpc_send (self->rpc, request, error))
    {
      transaction_free (transaction);
      return NULL;
    }
  g_hash_table_insert (self->transactions, &transaction->id, transaction);
  return transaction;
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

  /* Every transaction and the receive hold a reference: none is pending
   * here. */
  g_assert (g_hash_table_size (self->transactions) == 0);
  g_assert (!self->receiving);

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
  self->transactions = g_hash_table_new_full (
    g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) transaction_free);
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

/* Fails with %G_IO_ERROR_TIMED_OUT if @deadline has passed. */
static gboolean
check_deadline (gint64 deadline, GError **error)
{
  if (deadline < 0 || g_get_monotonic_time () < deadline)
    return TRUE;

  set_timed_out (error);
  return FALSE;
}

typedef struct
{
  GAsyncResult *result; /* (owned) (nullable) */
  gboolean timed_out;
  GCancellable *cancellable; /* (unowned) cancelled at the deadline */
} ConnectWait;

static void
connect_sync_cb (GObject *source_object,
                 GAsyncResult *result,
                 gpointer user_data)
{
  ConnectWait *wait = user_data;

  wait->result = g_object_ref (result);
}

static gboolean
on_connect_deadline (gpointer user_data)
{
  ConnectWait *wait = user_data;

  wait->timed_out = TRUE;
  g_cancellable_cancel (wait->cancellable);
  return G_SOURCE_REMOVE;
}

/* Connects to @stream, which may have to resolve a name and wait for the
 * peer, by running the async connect in @context (the caller's own,
 * pushed) until it is done, @deadline has passed or @cancellable is
 * cancelled.  Returns (transfer full): the connection, or %NULL with
 * @error set. */
static GIOStream *
connect_waiting (UcStream *stream,
                 GMainContext *context,
                 gint64 deadline,
                 GCancellable *cancellable,
                 GError **error)
{
  g_autoptr (GCancellable) connect_cancellable = g_cancellable_new ();
  g_autoptr (GSource) deadline_source = NULL;
  g_autoptr (GError) local_error = NULL;
  ConnectWait wait = { NULL, FALSE, connect_cancellable };
  GIOStream *io_stream;
  gulong cancel_id = 0;

  if (deadline >= 0)
    deadline_source =
      deadline_source_new (context, deadline, on_connect_deadline, &wait);
  if (cancellable != NULL)
    cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (wake_context),
                                       context, NULL);

  uc_stream_connect_async (stream, connect_cancellable, connect_sync_cb, &wait);
  while (wait.result == NULL)
    {
      /* Passed on from this thread (see wake_context()). */
      if (g_cancellable_is_cancelled (cancellable))
        g_cancellable_cancel (connect_cancellable);
      g_main_context_iteration (context, TRUE);
    }

  if (deadline_source != NULL)
    g_source_destroy (deadline_source);
  g_cancellable_disconnect (cancellable, cancel_id);

  io_stream = uc_stream_connect_finish (stream, wait.result, &local_error);
  g_object_unref (wait.result);
  if (io_stream != NULL)
    return io_stream;

  /* Our cancellable stands for the caller's and for the deadline: say
   * which of them it was. */
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
      wait.timed_out)
    {
      g_clear_error (&local_error);
      check_deadline (deadline, &local_error);
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

/**
 * uc_client_connect:
 * @stream_name: an active stream name (`unix:FILE`, `tcp:HOST:PORT`,
 *   `ssl:HOST:PORT`; see uc_stream_new())
 * @rundir: (nullable): the directory a relative `unix:` FILE is resolved
 *   under
 * @deadline: the g_get_monotonic_time() at which to give up, or -1 to
 *   wait as long as it takes
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
 * A `unix:` stream is connected at once, without a thread or a main loop
 * iteration: connecting to a unix socket never waits.
 *
 * Returns: (transfer full): the client, or %NULL with @error set as for
 *   uc_client_connect_finish(), or to %G_IO_ERROR_TIMED_OUT once
 *   @deadline has passed
 */
UcClient *
uc_client_connect (const char *stream_name,
                   const char *rundir,
                   gint64 deadline,
                   GCancellable *cancellable,
                   GError **error)
{
  g_autoptr (UcStream) stream = NULL;

  g_return_val_if_fail (stream_name != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable),
                        NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stream = uc_stream_new (stream_name, rundir, error);
  if (stream == NULL)
    return NULL;
  return uc_client_connect_stream (stream, deadline, cancellable, error);
}

/**
 * uc_client_connect_stream:
 * @stream: the stream to connect, with its TLS configuration if it is an
 *   `ssl:` one (uc_stream_set_tls_config())
 * @deadline: the g_get_monotonic_time() at which to give up, or -1 to
 *   wait as long as it takes
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Like uc_client_connect(), for a stream already made.
 *
 * Returns: (transfer full): the client, or %NULL with @error set
 */
UcClient *
uc_client_connect_stream (UcStream *stream,
                          gint64 deadline,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GMainContext) context = NULL;
  g_autoptr (GIOStream) io_stream = NULL;
  g_autoptr (UcJsonrpc) rpc = NULL;
  UcClient *client;

  g_return_val_if_fail (UC_IS_STREAM (stream), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable),
                        NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
      !check_deadline (deadline, error))
    return NULL;

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);

  /* uc_stream_connect() connects a unix socket at once; it has no
   * deadline for the others. */
  if (g_strcmp0 (uc_stream_get_type_name (stream), "unix") == 0)
    io_stream = uc_stream_connect (stream, cancellable, error);
  else
    io_stream = connect_waiting (stream, context, deadline, cancellable, error);

  client = NULL;
  if (io_stream != NULL)
    {
      rpc = uc_jsonrpc_new (io_stream, uc_stream_get_name (stream));
      client = uc_client_new (rpc);
    }

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

/* Hands the bodies of @reply to the caller, as uc_client_transact_finish()
 * describes. */
static void
reply_steal_bodies (Reply *reply, JsonNode **result_body, JsonNode **error_body)
{
  if (result_body != NULL)
    *result_body = g_steal_pointer (&reply->result);
  if (error_body != NULL)
    *error_body = g_steal_pointer (&reply->error);
}

/**
 * uc_client_transact:
 * @self: a #UcClient
 * @command: the command, such as "list-commands"
 * @args: (nullable) (array zero-terminated=1): its arguments
 * @deadline: the g_get_monotonic_time() at which to give up, or -1 to
 *   wait as long as it takes
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
 * A transaction that is cancelled or runs out of time is given up as
 * uc_client_transact_async() gives up a cancelled one: the connection
 * stays usable, and a reply that comes later is ignored.
 *
 * Returns: as uc_client_transact_finish(); also %FALSE with
 *   %G_IO_ERROR_TIMED_OUT once @deadline has passed
 */
gboolean
uc_client_transact (UcClient *self,
                    const char *command,
                    const char *const *args,
                    gint64 deadline,
                    JsonNode **result,
                    JsonNode **error_body,
                    GCancellable *cancellable,
                    GError **error)
{
  SyncOutcome outcome = { FALSE, NULL, NULL };
  g_autoptr (Reply) reply = NULL;
  Transaction *transaction;
  gulong cancel_id = 0;
  gint64 id;

  g_return_val_if_fail (UC_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (command != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable),
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
      !check_deadline (deadline, error))
    return FALSE;

  g_main_context_push_thread_default (self->context);

  transaction = start_transaction (self, command, args, error);
  if (transaction == NULL)
    {
      g_main_context_pop_thread_default (self->context);
      return FALSE;
    }
  transaction->outcome = &outcome;
  id = transaction->id;
  if (deadline >= 0)
    transaction->deadline_source =
      deadline_source_new (self->context, deadline, on_deadline, transaction);
  if (cancellable != NULL)
    cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (wake_context),
                                       self->context, NULL);
  receive_next (self);

  while (!outcome.done)
    {
      GError *cancelled = NULL;

      /* See wake_context(). */
      if (g_cancellable_set_error_if_cancelled (cancellable, &cancelled))
        abandon_transaction (self, id, cancelled);
      else
        g_main_context_iteration (self->context, TRUE);
    }

  g_cancellable_disconnect (cancellable, cancel_id);
  g_main_context_pop_thread_default (self->context);

  if (outcome.error != NULL)
    {
      g_propagate_error (error, outcome.error);
      return FALSE;
    }
  reply = outcome.reply;
  reply_steal_bodies (reply, result, error_body);
  return TRUE;
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
  g_autoptr (GError) error = NULL;
  Transaction *transaction;

  g_return_if_fail (UC_IS_CLIENT (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_client_transact_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  transaction = start_transaction (self, command, args, &error);
  if (transaction == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (cancellable != NULL)
    {
      transaction->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (transaction->cancel_source,
                             G_SOURCE_FUNC (on_transaction_cancelled),
                             transaction, NULL);
      g_source_set_priority (transaction->cancel_source,
                             g_task_get_priority (task));
      g_source_attach (transaction->cancel_source, self->context);
    }
  transaction->task = g_steal_pointer (&task);

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
  g_autoptr (Reply) reply = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_client_transact_async), FALSE);

  reply = g_task_propagate_pointer (G_TASK (result), error);
  if (reply == NULL)
    return FALSE;

  reply_steal_bodies (reply, result_body, error_body);
  return TRUE;
}
