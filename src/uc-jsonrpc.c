/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "jsonrpc"

#include "config.h"

#include "uc-jsonrpc.h"

#include <glib/gi18n.h>

#include "uc-coverage.h"
#include "uc-error.h"
#include "uc-memory.h"
#include "uc-rate-limit.h"

UC_COVERAGE_DEFINE (jsonrpc_recv);
UC_COVERAGE_DEFINE (jsonrpc_send);
UC_COVERAGE_DEFINE (jsonrpc_framing_error);
UC_COVERAGE_DEFINE (jsonrpc_backlog_full);

/**
 * UcJsonrpc:
 *
 * A JSON-RPC 1.0 connection over any #GIOStream: messages are JSON objects
 * sent back to back, with optional whitespace between them.
 *
 * Receiving is pulled: uc_jsonrpc_receive_async(), or uc_jsonrpc_receive()
 * with a plain callback, delivers the next message, and nothing is read
 * from the stream while no receive is pending.  Nor is anything read, or
 * delivered from bytes already read, while sent data is still queued: a
 * peer that does not read its replies cannot make the connection take
 * more requests.
 *
 * Sending never blocks: uc_jsonrpc_send() writes what the stream takes
 * now and queues the rest, which goes out from the main context.  The
 * queue is bounded (#UcJsonrpc:max-backlog).
 *
 * Any violation by the peer (a message too large, too deep, not JSON, not
 * JSON-RPC; a read or write error) is logged once, rate-limited, and ends
 * the connection: the stream is closed and every pending operation fails
 * with the error.  Errors are reported from the main context, never from
 * within the call that caused them.
 *
 * A connection belongs to the thread-default main context in which it was
 * created, and must only be used from there.
 *
 * How it stays cheap per message: each connection has one source, made
 * once, that stands for its input.  On a socket connection it watches the
 * socket itself, and the watch stays in place as long as the owner keeps
 * receiving: adding and removing a watch costs a wake-up of the main
 * context each time, so it is done only when the connection stops or
 * resumes reading (a deferred reply, a queued one, no receive pending).
 * One dispatch reads, frames and delivers; when the owner answers and
 * receives again from its callback, the same dispatch reads again at
 * once, since a client's next request has often arrived by then.  So
 * that one busy peer cannot starve the others, a dispatch makes at most
 * %UC_JSONRPC_DISPATCH_BUDGET reads and deliveries before it yields to
 * the rest of the main context.
 */

/* Most buffers one gathered write hands to the stream. */
#define MAX_WRITE_VECTORS 16

/* The shared write buffer keeps its memory between sends up to this
 * size; one grown past it by a large message is let go. */
#define SHARED_WRITE_BUFFER_KEEP (64 * 1024)

struct _UcJsonrpc
{
  GObject parent_instance;

  GIOStream *stream;         /* (owned) */
  char *name;                /* (owned) */
  GMainContext *context;     /* (owned) */
  GInputStream *input;       /* (unowned) owned by @stream */
  GOutputStream *output;     /* (unowned) owned by @stream */
  gboolean pollable_input;   /* read with nonblocking reads on readiness */
  gboolean pollable_output;  /* write with nonblocking writes on readiness */
  GSocket *socket;           /* (unowned) (nullable) the socket under
                              * @stream, owned by it: its readiness is the
                              * input's, and it is read and written
                              * directly */
  int socket_fd;             /* @socket's descriptor, or -1 */
  GCancellable *cancellable; /* (owned) (nullable) cancels the async reads
                              * and writes; made by the first of them */

  /* The limits, all kept as gsize so that one setter serves them. */
  gsize max_message_size;
  gsize max_depth; /* fits a guint: its setter takes one */
  gsize max_backlog;

  /* The connection's source, made once: it watches @socket_fd, and runs
   * the input side when asked with a ready time of 0. */
  GSource *source; /* (owned) */
  gpointer fd_tag; /* (nullable) @socket_fd in @source, while watched */

  /* Receiving.  At most one receive is pending: a callback or a task. */
  UcJsonFramer *framer;              /* (owned) (nullable) made by the first
                                     * receive */
  UcJsonrpcReceiveFunc receive_func; /* (nullable) */
  gpointer receive_data;             /* (unowned) the caller's */
  GTask *receive_task;               /* (owned) (nullable) */
  gboolean processing;     /* process_input() runs for this connection */
  GSource *input_source;   /* (owned) (nullable) readiness of a pollable
                          * stream that is not a socket */
  gboolean read_in_flight; /* an async read (non-pollable input) runs */
  char *read_buffer;       /* (owned) (nullable) for async reads only */
  guint64 received_bytes;

  /* Bytes read but not yet given to the framer: the rest of a read after
   * a complete message, or a read that finished when no receive could use
   * it.  They point into @read_buffer, into @pending_copy, or, only within
   * the dispatch that read them (@pending_shared), into the shared buffer,
   * which the next read of any connection overwrites: secure_pending()
   * copies them out of it before any callback can run. */
  const char *pending; /* (unowned) (nullable) */
  gsize n_pending;
  char *pending_copy;      /* (owned) (nullable) */
  gboolean pending_shared; /* @pending points into the shared buffer */
  gboolean pending_eof;    /* the stream ended after the pending bytes */

  /* Sending. */
  GQueue send_queue;        /* (owned) (element-type GBytes) */
  gsize head_offset;        /* bytes of the queue's head already written */
  gsize backlog;            /* bytes queued and not yet written */
  GSource *output_source;   /* (owned) (nullable) writability of @output */
  gboolean write_in_flight; /* an async write (non-pollable output) runs */
  GQueue flush_tasks;       /* (owned) (element-type GTask) */

  gboolean closed;
  gboolean stream_closing;
  GError *error; /* (owned) (nullable) what ended the connection */

  guint memory_id; /* memory/show's reporter */
};

enum
{
  PROP_0,
  PROP_STREAM,
  PROP_NAME,
  PROP_MAX_MESSAGE_SIZE,
  PROP_MAX_DEPTH,
  PROP_MAX_BACKLOG,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (UcJsonrpc, uc_jsonrpc, G_TYPE_OBJECT)

static void
process_input (UcJsonrpc *self, gboolean readable, gboolean read_ahead);
static void start_writing (UcJsonrpc *self);

/* One read buffer per thread, shared by all connections of that thread's
 * main context: a read fills it, the framer copies what it keeps, and the
 * few bytes left after a complete message are copied out before any
 * callback runs.  Thousands of idle connections thus hold no buffer. */
static GPrivate shared_read_buffer = G_PRIVATE_INIT (g_free);

static char *
get_shared_read_buffer (void)
{
  char *buffer = g_private_get (&shared_read_buffer);

  if (buffer == NULL)
    {
      buffer = g_malloc (UC_JSONRPC_READ_SIZE);
      g_private_set (&shared_read_buffer, buffer);
    }
  return buffer;
}

/* Likewise one buffer per thread that messages are serialized into: most
 * are written whole at once, straight from it, and need no memory of
 * their own. */
static void
free_string (gpointer data)
{
  g_string_free (data, TRUE);
}

static GPrivate shared_write_buffer = G_PRIVATE_INIT (free_string);

static GString *
get_shared_write_buffer (void)
{
  GString *buffer = g_private_get (&shared_write_buffer);

  if (buffer == NULL)
    {
      buffer = g_string_sized_new (1024);
      g_private_set (&shared_write_buffer, buffer);
    }
  g_string_truncate (buffer, 0);
  return buffer;
}

static void
release_shared_write_buffer (GString *buffer)
{
  if (buffer->allocated_len > SHARED_WRITE_BUFFER_KEEP)
    g_private_replace (&shared_write_buffer, g_string_sized_new (1024));
}

/* Turns the shared buffer into bytes for the send queue.  A large text is
 * given away whole, not copied, and the thread gets a new buffer; a small
 * one is copied, so that a queue of small messages holds no more memory
 * than their size. */
static GBytes *
take_shared_write_buffer (GString *buffer)
{
  if (buffer->allocated_len <= SHARED_WRITE_BUFFER_KEEP)
    return g_bytes_new (buffer->str, buffer->len);

  g_private_set (&shared_write_buffer, NULL);
  return g_string_free_to_bytes (buffer);
}

static void
source_destroy_and_unref (gpointer data)
{
  GSource *source = data;

  g_source_destroy (source);
  g_source_unref (source);
}

/* Arranges for @on_cancelled to run in @task's context when its
 * cancellable fires.  The source is the task's data, so that completing
 * the task (which clears the data first) disarms it. */
static void
task_watch_cancellable (GTask *task, GSourceFunc on_cancelled)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr (GSource) source = NULL;

  if (cancellable == NULL)
    return;

  source = g_cancellable_source_new (cancellable);
  g_task_attach_source (task, source, on_cancelled);
  g_task_set_task_data (task, g_source_ref (source), source_destroy_and_unref);
}

/* A failure reported from the main context, in a later iteration: to a
 * task, or to a receive callback. */
typedef struct
{
  UcJsonrpc *self;           /* (owned) */
  GTask *task;               /* (owned) (nullable) */
  UcJsonrpcReceiveFunc func; /* (nullable) */
  gpointer user_data;        /* (unowned) @func's */
  GError *error;             /* (owned) */
} DeferredError;

static void
deferred_error_free (gpointer data)
{
  DeferredError *deferred = data;

  g_clear_object (&deferred->task);
  g_clear_error (&deferred->error);
  g_clear_object (&deferred->self);
  g_free (deferred);
}

static gboolean
deferred_error_cb (gpointer user_data)
{
  DeferredError *deferred = user_data;

  if (deferred->task != NULL)
    g_task_return_error (deferred->task, g_steal_pointer (&deferred->error));
  else
    deferred->func (deferred->self, NULL, deferred->error, deferred->user_data);
  return G_SOURCE_REMOVE;
}

/* The failures of a connection are found inside calls of its owner
 * (uc_jsonrpc_send(), uc_jsonrpc_close()) as often as in I/O callbacks;
 * reporting them later means no owner callback ever runs inside one of
 * those calls. */
static void
return_error_later (DeferredError *deferred, int priority)
{
  g_autoptr (GSource) source = g_idle_source_new ();

  g_source_set_priority (source, priority);
  g_source_set_static_name (source, "[unixctld] jsonrpc deferred error");
  g_source_set_callback (source, deferred_error_cb, deferred,
                         deferred_error_free);
  g_source_attach (source, deferred->self->context);
}

/* Fails @task (transfer full) from its main context, in a later
 * iteration. */
static void
task_return_error_later (UcJsonrpc *self, GTask *task, const GError *error)
{
  DeferredError *deferred = g_new0 (DeferredError, 1);

  g_task_set_task_data (task, NULL, NULL);
  deferred->self = g_object_ref (self);
  deferred->task = task;
  deferred->error = g_error_copy (error);
  return_error_later (deferred, g_task_get_priority (task));
}

/* Fails the receive callback @func, and drops the reference the receive
 * held, in a later iteration. */
static void
func_return_error_later (UcJsonrpc *self,
                         UcJsonrpcReceiveFunc func,
                         gpointer user_data,
                         const GError *error)
{
  DeferredError *deferred = g_new0 (DeferredError, 1);

  deferred->self = self;
  deferred->func = func;
  deferred->user_data = user_data;
  deferred->error = g_error_copy (error);
  return_error_later (deferred, G_PRIORITY_DEFAULT);
}

/* The cancellable of the async reads and writes, which only streams that
 * cannot be polled need: socket connections never make one. */
static GCancellable *
get_io_cancellable (UcJsonrpc *self)
{
  if (self->cancellable == NULL)
    self->cancellable = g_cancellable_new ();
  return self->cancellable;
}

static void
stop_polling_input (UcJsonrpc *self)
{
  g_clear_pointer (&self->input_source, source_destroy_and_unref);
}

static void
stop_polling_output (UcJsonrpc *self)
{
  g_clear_pointer (&self->output_source, source_destroy_and_unref);
}

static void
on_stream_closed (GObject *source_object,
                  GAsyncResult *result,
                  gpointer user_data)
{
  g_autoptr (GIOStream) stream = user_data;
  g_autoptr (GError) error = NULL;

  /* Nothing waits for the close, and nothing can be done if it failed:
   * worth a debug line at most. */
  if (!g_io_stream_close_finish (stream, result, &error))
    g_debug ("closing stream failed: %s", error->message);
}

/* Closes the stream once no async read or write of ours is in flight on
 * it: closing a stream with an outstanding operation would fail.
 *
 * A socket connection is closed at once: closing a socket never blocks
 * (GIO's own async close of one does it at once too), and the async close
 * would cost a #GTask per connection, whose first use starts GIO's task
 * thread pool in a program that has no other use for it (the CLI).  Other
 * streams may have to write on close (TLS), so they close in the
 * background. */
static void
maybe_close_stream (UcJsonrpc *self)
{
  g_autoptr (GError) error = NULL;

  if (!self->closed || self->stream_closing || self->read_in_flight ||
      self->write_in_flight)
    return;

  self->stream_closing = TRUE;
  if (self->socket == NULL)
    {
      g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL,
                               on_stream_closed, g_object_ref (self->stream));
      return;
    }

  /* As in on_stream_closed(): nothing waits for the close. */
  if (!g_io_stream_close (self->stream, NULL, &error))
    g_debug ("closing stream failed: %s", error->message);
}

/* Ends the connection with @error (transfer full): stops all I/O, drops
 * what is queued and fails every pending operation with @error.  The
 * caller has logged the reason. */
static void
uc_jsonrpc_fail (UcJsonrpc *self, GError *error)
{
  GTask *task;

  if (self->closed)
    {
      g_error_free (error);
      return;
    }

  self->closed = TRUE;
  self->error = error;

  /* Never dispatched again: the fd watch goes with it. */
  g_source_destroy (self->source);
  self->fd_tag = NULL;
  stop_polling_input (self);
  stop_polling_output (self);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);

  g_queue_clear_full (&self->send_queue, (GDestroyNotify) g_bytes_unref);
  self->head_offset = 0;
  self->backlog = 0;

  self->pending = NULL;
  self->n_pending = 0;
  g_clear_pointer (&self->pending_copy, g_free);
  self->pending_shared = FALSE;
  self->pending_eof = FALSE;
  g_clear_pointer (&self->framer, uc_json_framer_free);

  task = g_steal_pointer (&self->receive_task);
  if (task != NULL)
    task_return_error_later (self, task, self->error);
  if (self->receive_func != NULL)
    {
      /* The receive's reference on us goes with the report. */
      func_return_error_later (self, g_steal_pointer (&self->receive_func),
                               g_steal_pointer (&self->receive_data),
                               self->error);
    }
  while ((task = g_queue_pop_head (&self->flush_tasks)) != NULL)
    task_return_error_later (self, task, self->error);

  maybe_close_stream (self);
}

/* Receiving. */

static gboolean
receive_pending (UcJsonrpc *self)
{
  return self->receive_func != NULL || self->receive_task != NULL;
}

/* Whether the pending receive may take a message now: there is one, and
 * no sent data waits in the queue. */
static gboolean
can_receive (UcJsonrpc *self)
{
  return !self->closed && receive_pending (self) &&
         g_queue_is_empty (&self->send_queue);
}

/* Whether the pending receive needs bytes from the stream to go on. */
static gboolean
wants_input (UcJsonrpc *self)
{
  return can_receive (self) && self->n_pending == 0 && !self->pending_eof;
}

/* Hands @message (transfer full) to the pending receive. */
static void
complete_receive (UcJsonrpc *self, UcJsonrpcMessage *message)
{
  uc_coverage_inc (jsonrpc_recv);
  if (self->receive_task != NULL)
    {
      g_autoptr (GTask) task = g_steal_pointer (&self->receive_task);

      g_task_set_task_data (task, NULL, NULL);
      g_task_return_pointer (task, message,
                             (GDestroyNotify) uc_jsonrpc_message_unref);
    }
  else
    {
      UcJsonrpcReceiveFunc func = g_steal_pointer (&self->receive_func);
      gpointer user_data = g_steal_pointer (&self->receive_data);

      func (self, message, NULL, user_data);
      uc_jsonrpc_message_unref (message);
      /* The receive's reference; the caller holds another. */
      g_object_unref (self);
    }
}

/* Gives @data to the framer.  On %UC_JSON_FRAMER_MESSAGE, *@message is the
 * parsed message; on %UC_JSON_FRAMER_ERROR, @error is set and logged. */
static UcJsonFramerStatus
frame_input (UcJsonrpc *self,
             const char *data,
             gsize length,
             gsize *consumed,
             UcJsonrpcMessage **message,
             GError **error)
{
  static UcRateLimit framing_rl = UC_RATE_LIMIT_DEFAULT;
  static UcRateLimit message_rl = UC_RATE_LIMIT_DEFAULT;
  g_autoptr (GError) local_error = NULL;
  const char *text;
  UcJsonFramerStatus status;
  gsize text_length = 0;

  status =
    uc_json_framer_feed (self->framer, data, length, consumed, &local_error);
  switch (status)
    {
      case UC_JSON_FRAMER_NEED_MORE:
        return status;

      case UC_JSON_FRAMER_ERROR:
        uc_coverage_inc (jsonrpc_framing_error);
        uc_log_rl (&framing_rl, G_LOG_LEVEL_WARNING,
                   "%s: error parsing stream: %s", self->name,
                   local_error->message);
        g_propagate_error (error, g_steal_pointer (&local_error));
        return status;

      case UC_JSON_FRAMER_MESSAGE:
        text = uc_json_framer_get_message (self->framer, &text_length);
        *message = uc_jsonrpc_message_parse (text, text_length, &local_error);
        uc_json_framer_drop_message (self->framer);
        if (*message != NULL)
          return status;

        uc_coverage_inc (jsonrpc_framing_error);
        uc_log_rl (&message_rl, G_LOG_LEVEL_WARNING,
                   "%s: received bad JSON-RPC message: %s", self->name,
                   local_error->message);
        g_propagate_error (error, g_steal_pointer (&local_error));
        return UC_JSON_FRAMER_ERROR;

      default:
        g_assert_not_reached ();
    }
}

static void
handle_eof (UcJsonrpc *self)
{
  static UcRateLimit eof_rl = UC_RATE_LIMIT_DEFAULT;
  static UcRateLimit truncated_rl = UC_RATE_LIMIT_DEFAULT;
  g_autoptr (GError) error = NULL;

  if (uc_json_framer_finish (self->framer, &error))
    {
      /* The normal end of a connection. */
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           _ ("connection closed by peer"));
      uc_log_rl (&eof_rl, G_LOG_LEVEL_DEBUG, "%s: connection closed by peer",
                 self->name);
    }
  else
    {
      uc_coverage_inc (jsonrpc_framing_error);
      uc_log_rl (&truncated_rl, G_LOG_LEVEL_WARNING,
                 "%s: error parsing stream: %s", self->name, error->message);
    }
  uc_jsonrpc_fail (self, g_steal_pointer (&error));
}

static void
handle_read_error (UcJsonrpc *self, GError *error)
{
  static UcRateLimit rl = UC_RATE_LIMIT_DEFAULT;

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    uc_log_rl (&rl, G_LOG_LEVEL_WARNING, "%s: receive error: %s", self->name,
               error->message);
  uc_jsonrpc_fail (self, error);
}

/* Copies the pending bytes out of the shared buffer.  Called before
 * anything that may run a callback, which may iterate the main context
 * and so let another connection read into the shared buffer. */
static void
secure_pending (UcJsonrpc *self)
{
  if (!self->pending_shared)
    return;

  self->pending_shared = FALSE;
  if (self->n_pending > 0)
    {
      self->pending_copy = g_memdup2 (self->pending, self->n_pending);
      self->pending = self->pending_copy;
    }
}

/* Frames the pending bytes.  Returns %FALSE if the connection failed;
 * otherwise *@message is the next message, or %NULL if the bytes only
 * went into a message not yet complete. */
static gboolean
frame_pending (UcJsonrpc *self, UcJsonrpcMessage **message)
{
  g_autoptr (GError) error = NULL;
  UcJsonFramerStatus status;
  gsize consumed = 0;

  status = frame_input (self, self->pending, self->n_pending, &consumed,
                        message, &error);
  self->pending += consumed;
  self->n_pending -= consumed;
  if (self->n_pending == 0)
    {
      self->pending = NULL;
      self->pending_shared = FALSE;
      g_clear_pointer (&self->pending_copy, g_free);
    }

  if (status == UC_JSON_FRAMER_ERROR)
    {
      uc_jsonrpc_fail (self, g_steal_pointer (&error));
      return FALSE;
    }
  return TRUE;
}

/* Reads once from a pollable stream, without blocking.  Returns %TRUE if
 * bytes, or the end of the stream, are now pending; %FALSE if the read
 * would block or failed (then the connection has failed). */
static gboolean
read_nonblocking (UcJsonrpc *self)
{
  g_autoptr (GError) error = NULL;
  char *buffer = get_shared_read_buffer ();
  gssize n_read;

  /* Reads start only once the pending bytes are used up. */
  g_assert (self->n_pending == 0 && !self->pending_eof);

  if (self->socket != NULL)
    n_read = g_socket_receive_with_blocking (
      self->socket, buffer, UC_JSONRPC_READ_SIZE, FALSE, NULL, &error);
  else
    n_read = g_pollable_input_stream_read_nonblocking (
      G_POLLABLE_INPUT_STREAM (self->input), buffer, UC_JSONRPC_READ_SIZE, NULL,
      &error);
  if (n_read < 0)
    {
      /* Nothing yet, a spurious wakeup, or a TLS record not yet
       * complete. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        handle_read_error (self, g_steal_pointer (&error));
      return FALSE;
    }

  self->received_bytes += (guint64) n_read;
  if (n_read == 0)
    self->pending_eof = TRUE;
  self->pending = buffer;
  self->n_pending = (gsize) n_read;
  self->pending_shared = TRUE;
  return TRUE;
}

/* The main loop iteration (its time, see g_source_get_time()) in which a
 * connection of this thread last read ahead. */
static GPrivate last_read_ahead = G_PRIVATE_INIT (g_free);

/* Whether to read right after delivering a message, before the stream
 * says it has input.  It pays when one peer is being served: while we
 * answer, the peer reads the reply and sends its next request, and
 * reading at once spares a trip through poll() and a sleep.  It does not
 * pay when a main loop iteration serves many connections: their peers are
 * busy with their own replies, the read mostly finds nothing, and the
 * next poll() looks at all of them at once anyway.  (With 1,000 busy
 * connections, reading ahead on each one failed seven times in ten and
 * cut the throughput by a third.)  So only the first connection
 * dispatched in an iteration reads ahead. */
static gboolean
may_read_ahead (UcJsonrpc *self)
{
  gint64 *last = g_private_get (&last_read_ahead);
  gint64 now = g_source_get_time (self->source);

  if (last == NULL)
    {
      last = g_new (gint64, 1);
      *last = -1;
      g_private_set (&last_read_ahead, last);
    }
  if (*last == now)
    return FALSE;
  *last = now;
  return TRUE;
}

static gboolean
on_input_ready (GObject *pollable_stream, gpointer user_data)
{
  /* A callback run from here may drop the owner's last reference. */
  g_autoptr (UcJsonrpc) self = g_object_ref (UC_JSONRPC (user_data));

  process_input (self, TRUE, may_read_ahead (self));

  /* If the input is not wanted any more, the source is already destroyed
   * and this return value is moot. */
  return G_SOURCE_CONTINUE;
}

static void
on_read_done (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (UcJsonrpc) self = UC_JSONRPC (user_data);
  g_autoptr (GError) error = NULL;
  gssize n_read;

  n_read =
    g_input_stream_read_finish (G_INPUT_STREAM (source_object), result, &error);
  self->read_in_flight = FALSE;

  if (self->closed)
    {
      maybe_close_stream (self);
      return;
    }

  if (n_read < 0)
    {
      handle_read_error (self, g_steal_pointer (&error));
      return;
    }

  /* The bytes stay in the connection's own buffer until they are used: no
   * other read starts while some are pending. */
  self->received_bytes += (guint64) n_read;
  if (n_read == 0)
    self->pending_eof = TRUE;
  self->pending = self->read_buffer;
  self->n_pending = (gsize) n_read;

  process_input (self, FALSE, FALSE);
}

/* Watches for input exactly while the pending receive needs some: a
 * watch left on while the connection may not read would fire in a loop,
 * and one that goes off and on costs a wake-up each time, so it changes
 * only here, when process_input() is done. */
static void
update_watch (UcJsonrpc *self)
{
  gboolean wanted = !self->processing && wants_input (self);

  if (self->socket_fd >= 0)
    {
      if (wanted && self->fd_tag == NULL)
        self->fd_tag =
          g_source_add_unix_fd (self->source, self->socket_fd, G_IO_IN);
      else if (!wanted && self->fd_tag != NULL)
        {
          g_source_remove_unix_fd (self->source, self->fd_tag);
          self->fd_tag = NULL;
        }
    }
  else if (self->pollable_input)
    {
      if (wanted && self->input_source == NULL)
        {
          self->input_source = g_pollable_input_stream_create_source (
            G_POLLABLE_INPUT_STREAM (self->input), NULL);
          g_source_set_static_name (self->input_source,
                                    "[unixctld] jsonrpc input");
          g_source_set_callback (self->input_source,
                                 G_SOURCE_FUNC (on_input_ready), self, NULL);
          g_source_attach (self->input_source, self->context);
        }
      else if (!wanted)
        stop_polling_input (self);
    }
  else if (wanted && !self->read_in_flight)
    {
      if (self->read_buffer == NULL)
        self->read_buffer = g_malloc (UC_JSONRPC_READ_SIZE);

      /* The read holds a reference, so that the buffer outlives it. */
      self->read_in_flight = TRUE;
      g_input_stream_read_async (self->input, self->read_buffer,
                                 UC_JSONRPC_READ_SIZE, G_PRIORITY_DEFAULT,
                                 get_io_cancellable (self), on_read_done,
                                 g_object_ref (self));
    }
}

/* Makes what progress it can on the pending receive: messages from the
 * pending bytes, the end of the stream, reads.  @readable says that the
 * stream has input now; @read_ahead, that a read right after a delivered
 * message is worth trying (see may_read_ahead()).  Bounded by
 * %UC_JSONRPC_DISPATCH_BUDGET reads and deliveries; what is left then is
 * taken up in a later dispatch. */
static void
process_input (UcJsonrpc *self, gboolean readable, gboolean read_ahead)
{
  guint budget = UC_JSONRPC_DISPATCH_BUDGET;

  /* Back here from a callback below that iterates the main context: the
   * loop below goes on once it returns.  Meanwhile the watch is off, or
   * a readable socket would keep dispatching us. */
  if (self->processing)
    {
      update_watch (self);
      return;
    }
  self->processing = TRUE;

  while (can_receive (self))
    {
      if (self->n_pending > 0)
        {
          UcJsonrpcMessage *message = NULL;

          if (!frame_pending (self, &message))
            break;
          if (message != NULL)
            {
              secure_pending (self);
              complete_receive (self, message);
              budget--;
              /* If the owner answered and receives again from its
               * callback, the peer's next message may have arrived by
               * now. */
              readable = read_ahead;
              if (budget == 0)
                break;
              continue;
            }
        }

      if (self->pending_eof)
        {
          handle_eof (self);
          break;
        }
      if (!readable || !self->pollable_input)
        break;
      if (!read_nonblocking (self))
        break;
      budget--;
      readable = FALSE;
      if (budget == 0)
        break;
    }

  secure_pending (self);
  self->processing = FALSE;

  /* Out of budget with bytes still pending: on in the next iteration.
   * (Input still unread keeps the stream readable by itself.) */
  if (can_receive (self) && (self->n_pending > 0 || self->pending_eof))
    g_source_set_ready_time (self->source, 0);
  update_watch (self);
}

static gboolean
on_source_dispatch (gpointer user_data)
{
  /* A callback run from here may drop the owner's last reference. */
  g_autoptr (UcJsonrpc) self = g_object_ref (user_data);
  gboolean readable = self->fd_tag != NULL &&
                      g_source_query_unix_fd (self->source, self->fd_tag) != 0;

  process_input (self, readable, may_read_ahead (self));
  return G_SOURCE_CONTINUE;
}

static gboolean
connection_source_dispatch (GSource *source,
                            GSourceFunc callback,
                            gpointer user_data)
{
  /* A ready time of 0 asks for one dispatch; socket readiness asks again
   * by itself. */
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

static GSourceFuncs connection_source_funcs = {
  .dispatch = connection_source_dispatch,
};

/* The owner asked for a message: go on from the pending bytes in a later
 * dispatch, or watch the stream.  Never delivers from within the call. */
static void
arm_receive (UcJsonrpc *self)
{
  /* A receive made from a callback of process_input() is its business. */
  if (self->processing || !can_receive (self))
    return;
  if (self->n_pending > 0 || self->pending_eof)
    g_source_set_ready_time (self->source, 0);
  else
    update_watch (self);
}

static gboolean
on_receive_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = G_TASK (user_data);
  UcJsonrpc *self = g_task_get_source_object (task);

  g_assert (self->receive_task == task);
  self->receive_task = NULL;

  /* What the framer holds of a partial message stays there, and pending
   * bytes stay pending: the next receive goes on from them. */
  update_watch (self);
  g_task_set_task_data (task, NULL, NULL);
  g_task_return_error_if_cancelled (task);
  g_object_unref (task);

  return G_SOURCE_REMOVE;
}

/* Sending. */

static void
on_drained (UcJsonrpc *self)
{
  GQueue tasks = G_QUEUE_INIT;
  GTask *task;

  /* A flush callback may flush again: take the list first. */
  tasks = self->flush_tasks;
  g_queue_init (&self->flush_tasks);
  while ((task = g_queue_pop_head (&tasks)) != NULL)
    {
      g_task_set_task_data (task, NULL, NULL);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }

  /* Receiving waited for the queue to drain. */
  process_input (self, FALSE, FALSE);
}

/* Drops @written bytes from the front of the queue. */
static void
consume_written (UcJsonrpc *self, gsize written)
{
  self->backlog -= written;
  written += self->head_offset;
  while (written > 0)
    {
      GBytes *head = g_queue_peek_head (&self->send_queue);
      gsize size = g_bytes_get_size (head);

      if (written < size)
        break;
      written -= size;
      g_bytes_unref (g_queue_pop_head (&self->send_queue));
    }
  self->head_offset = written;
}

static void
handle_write_error (UcJsonrpc *self, GError *error)
{
  static UcRateLimit rl = UC_RATE_LIMIT_DEFAULT;
  static UcRateLimit gone_rl = UC_RATE_LIMIT_DEFAULT;

  /* A client that sent a request and went away before the reply is
   * normal; anything else is worth a warning. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    uc_log_rl (&gone_rl, G_LOG_LEVEL_DEBUG, "%s: send error: %s", self->name,
               error->message);
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    uc_log_rl (&rl, G_LOG_LEVEL_WARNING, "%s: send error: %s", self->name,
               error->message);
  uc_jsonrpc_fail (self, error);
}

/* Writes what the stream takes of @n_vectors buffers now, in one call.
 * Returns %FALSE if the connection failed; otherwise *@written says how
 * much went out. */
static gboolean
writev_nonblocking (UcJsonrpc *self,
                    const GOutputVector *vectors,
                    gsize n_vectors,
                    gsize *written)
{
  g_autoptr (GError) error = NULL;

  *written = 0;
  switch (g_pollable_output_stream_writev_nonblocking (
    G_POLLABLE_OUTPUT_STREAM (self->output), vectors, n_vectors, written, NULL,
    &error))
    {
      case G_POLLABLE_RETURN_OK:
        return TRUE;

      case G_POLLABLE_RETURN_WOULD_BLOCK:
        *written = 0;
        return TRUE;

      case G_POLLABLE_RETURN_FAILED:
        handle_write_error (self, g_steal_pointer (&error));
        return FALSE;

      default:
        g_assert_not_reached ();
    }
}

/* Writes what the stream takes of @length bytes now.  Returns %FALSE if
 * the connection failed; otherwise *@written says how much went out.
 * One buffer goes out by send(), which costs the kernel less than the
 * sendmsg() of a gathered write. */
static gboolean
write_nonblocking (UcJsonrpc *self,
                   const char *data,
                   gsize length,
                   gsize *written)
{
  g_autoptr (GError) error = NULL;
  gssize n;

  *written = 0;
  if (self->socket != NULL)
    n = g_socket_send_with_blocking (self->socket, data, length, FALSE, NULL,
                                     &error);
  else
    n = g_pollable_output_stream_write_nonblocking (
      G_POLLABLE_OUTPUT_STREAM (self->output), data, length, NULL, &error);
  if (n >= 0)
    {
      *written = (gsize) n;
      return TRUE;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return TRUE;
  handle_write_error (self, g_steal_pointer (&error));
  return FALSE;
}

/* Writes what the stream takes of the queue now.  Returns %FALSE if the
 * connection failed. */
static gboolean
write_queue_nonblocking (UcJsonrpc *self)
{
  GOutputVector vectors[MAX_WRITE_VECTORS];
  gsize n_vectors = 0;
  gsize written = 0;
  gsize skip = self->head_offset;
  GList *l;

  for (l = self->send_queue.head; l != NULL && n_vectors < MAX_WRITE_VECTORS;
       l = l->next)
    {
      gsize size;
      const char *data = g_bytes_get_data (l->data, &size);

      vectors[n_vectors].buffer = data + skip;
      vectors[n_vectors].size = size - skip;
      n_vectors++;
      skip = 0;
    }

  if (!writev_nonblocking (self, vectors, n_vectors, &written))
    return FALSE;
  consume_written (self, written);
  return TRUE;
}

static gboolean
on_output_ready (GObject *pollable_stream, gpointer user_data)
{
  /* A callback run from here may drop the owner's last reference. */
  g_autoptr (UcJsonrpc) self = g_object_ref (UC_JSONRPC (user_data));

  /* One write per dispatch, so a fast peer cannot starve the others. */
  if (!write_queue_nonblocking (self))
    return G_SOURCE_REMOVE;
  if (!g_queue_is_empty (&self->send_queue))
    return G_SOURCE_CONTINUE;

  /* Forget the source before the flush callbacks run: they may send, and
   * a send onto an empty queue starts writing afresh. */
  stop_polling_output (self);
  on_drained (self);
  return G_SOURCE_REMOVE;
}

static void
on_write_done (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (UcJsonrpc) self = UC_JSONRPC (user_data);
  g_autoptr (GError) error = NULL;
  gssize written;

  written = g_output_stream_write_bytes_finish (G_OUTPUT_STREAM (source_object),
                                                result, &error);
  self->write_in_flight = FALSE;

  if (self->closed)
    {
      maybe_close_stream (self);
      return;
    }

  if (written < 0)
    {
      handle_write_error (self, g_steal_pointer (&error));
      return;
    }

  consume_written (self, (gsize) written);
  if (!g_queue_is_empty (&self->send_queue))
    start_writing (self);
  else
    on_drained (self);
}

/* Called when the queue turns non-empty after a write left part of it,
 * and by the async path after each write while it stays so. */
static void
start_writing (UcJsonrpc *self)
{
  if (self->output_source != NULL || self->write_in_flight)
    return;

  if (self->pollable_output)
    {
      self->output_source = g_pollable_output_stream_create_source (
        G_POLLABLE_OUTPUT_STREAM (self->output), NULL);
      g_source_set_static_name (self->output_source,
                                "[unixctld] jsonrpc output");
      g_source_set_callback (self->output_source,
                             G_SOURCE_FUNC (on_output_ready), self, NULL);
      g_source_attach (self->output_source, self->context);
    }
  else
    {
      GBytes *head = g_queue_peek_head (&self->send_queue);
      g_autoptr (GBytes) rest = NULL;

      /* The write holds the bytes it writes, so that dropping the queue
       * on close cannot pull them from under it. */
      rest = g_bytes_new_from_bytes (
        head, self->head_offset, g_bytes_get_size (head) - self->head_offset);
      self->write_in_flight = TRUE;
      g_output_stream_write_bytes_async (self->output, rest, G_PRIORITY_DEFAULT,
                                         get_io_cancellable (self),
                                         on_write_done, g_object_ref (self));
    }
}

static gboolean
on_flush_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = G_TASK (user_data);
  UcJsonrpc *self = g_task_get_source_object (task);

  g_queue_remove (&self->flush_tasks, task);
  g_task_set_task_data (task, NULL, NULL);
  g_task_return_error_if_cancelled (task);
  g_object_unref (task);

  return G_SOURCE_REMOVE;
}

/* GObject. */

static void
uc_jsonrpc_constructed (GObject *object)
{
  UcJsonrpc *self = UC_JSONRPC (object);

  G_OBJECT_CLASS (uc_jsonrpc_parent_class)->constructed (object);

  g_assert (self->stream != NULL);
  if (self->name == NULL)
    self->name = g_strdup ("jsonrpc");

  self->context = g_main_context_ref_thread_default ();
  self->input = g_io_stream_get_input_stream (self->stream);
  self->output = g_io_stream_get_output_stream (self->stream);
  self->pollable_input =
    G_IS_POLLABLE_INPUT_STREAM (self->input) &&
    g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (self->input));
  self->pollable_output =
    G_IS_POLLABLE_OUTPUT_STREAM (self->output) &&
    g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (self->output));

  /* A plain socket connection reads straight from its socket, so the
   * socket's readiness is the input's, and reading and writing the socket
   * itself is what its streams would do, less two layers of calls.  Not
   * so for a wrapper connection (a proxy), whose streams are another
   * stream's, nor for TLS. */
  self->socket_fd = -1;
  if (G_IS_SOCKET_CONNECTION (self->stream) &&
      !G_IS_TCP_WRAPPER_CONNECTION (self->stream) && self->pollable_input)
    {
      self->socket =
        g_socket_connection_get_socket (G_SOCKET_CONNECTION (self->stream));
      self->socket_fd = g_socket_get_fd (self->socket);
    }

  /* The source holds no reference: it is destroyed when the connection
   * closes.  GLib blocks a source while it dispatches, unless it may
   * recurse, and blocking a source with a descriptor takes the
   * descriptor out of the poll set and puts it back, each time with a
   * wake-up of the context: two eventfd writes and an extra poll per
   * dispatch.  process_input() guards itself against recursion. */
  self->source = g_source_new (&connection_source_funcs, sizeof (GSource));
  g_source_set_can_recurse (self->source, TRUE);
  g_source_set_static_name (self->source, "[unixctld] jsonrpc");
  g_source_set_callback (self->source, on_source_dispatch, self, NULL);
  g_source_attach (self->source, self->context);
}

/* memory/show: the bytes waiting for this peer, added to every other
 * connection's. */
static void
report_memory (UcMemoryUsage *usage, gpointer user_data)
{
  UcJsonrpc *self = UC_JSONRPC (user_data);

  uc_memory_usage_add (usage, "backlog", self->backlog);
}

static void
uc_jsonrpc_dispose (GObject *object)
{
  UcJsonrpc *self = UC_JSONRPC (object);

  uc_jsonrpc_close (self);
  if (self->memory_id != 0)
    {
      uc_memory_remove_reporter (self->memory_id);
      self->memory_id = 0;
    }

  G_OBJECT_CLASS (uc_jsonrpc_parent_class)->dispose (object);
}

static void
uc_jsonrpc_finalize (GObject *object)
{
  UcJsonrpc *self = UC_JSONRPC (object);

  /* Pending operations hold a reference, and dispose() closed: nothing
   * can be in flight or queued here. */
  g_assert (self->receive_task == NULL && self->receive_func == NULL);
  g_assert (g_queue_is_empty (&self->flush_tasks));
  g_assert (g_queue_is_empty (&self->send_queue));

  g_clear_object (&self->stream);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->source, source_destroy_and_unref);
  g_clear_pointer (&self->framer, uc_json_framer_free);
  g_clear_pointer (&self->read_buffer, g_free);
  g_clear_pointer (&self->pending_copy, g_free);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (uc_jsonrpc_parent_class)->finalize (object);
}

static void
uc_jsonrpc_get_property (GObject *object,
                         guint prop_id,
                         GValue *value,
                         GParamSpec *pspec)
{
  UcJsonrpc *self = UC_JSONRPC (object);

  switch (prop_id)
    {
      case PROP_STREAM:
        g_value_set_object (value, self->stream);
        break;

      case PROP_NAME:
        g_value_set_string (value, self->name);
        break;

      case PROP_MAX_MESSAGE_SIZE:
        g_value_set_uint64 (value, self->max_message_size);
        break;

      case PROP_MAX_DEPTH:
        g_value_set_uint (value, (guint) self->max_depth);
        break;

      case PROP_MAX_BACKLOG:
        g_value_set_uint64 (value, self->max_backlog);
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
uc_jsonrpc_set_property (GObject *object,
                         guint prop_id,
                         const GValue *value,
                         GParamSpec *pspec)
{
  UcJsonrpc *self = UC_JSONRPC (object);

  switch (prop_id)
    {
      case PROP_STREAM:
        g_assert (self->stream == NULL);
        self->stream = g_value_dup_object (value);
        break;

      case PROP_NAME:
        g_assert (self->name == NULL);
        self->name = g_value_dup_string (value);
        break;

      case PROP_MAX_MESSAGE_SIZE:
        uc_jsonrpc_set_max_message_size (self, g_value_get_uint64 (value));
        break;

      case PROP_MAX_DEPTH:
        uc_jsonrpc_set_max_depth (self, g_value_get_uint (value));
        break;

      case PROP_MAX_BACKLOG:
        uc_jsonrpc_set_max_backlog (self, g_value_get_uint64 (value));
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
uc_jsonrpc_class_init (UcJsonrpcClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = uc_jsonrpc_constructed;
  object_class->dispose = uc_jsonrpc_dispose;
  object_class->finalize = uc_jsonrpc_finalize;
  object_class->get_property = uc_jsonrpc_get_property;
  object_class->set_property = uc_jsonrpc_set_property;

  /**
   * UcJsonrpc:stream:
   *
   * The stream messages travel over.  The connection closes it when it
   * ends.
   */
  properties[PROP_STREAM] = g_param_spec_object (
    "stream", "Stream", "The stream messages travel over", G_TYPE_IO_STREAM,
    G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * UcJsonrpc:name:
   *
   * The name of the connection in log lines, such as `unix#3` or
   * `tcp:127.0.0.1:5555`.
   */
  properties[PROP_NAME] = g_param_spec_string (
    "name", "Name", "The name of the connection in log lines", NULL,
    G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * UcJsonrpc:max-message-size:
   *
   * The largest message accepted, in bytes.  Settable until the first
   * receive.
   */
  properties[PROP_MAX_MESSAGE_SIZE] = g_param_spec_uint64 (
    "max-message-size", "Maximum message size",
    "The largest message accepted, in bytes", 1, G_MAXSIZE,
    UC_JSON_DEFAULT_MAX_MESSAGE_SIZE,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * UcJsonrpc:max-depth:
   *
   * The deepest nesting of arrays and objects accepted in a message.
   * Settable until the first receive.
   */
  properties[PROP_MAX_DEPTH] = g_param_spec_uint (
    "max-depth", "Maximum depth",
    "The deepest nesting of arrays and objects accepted", 1, G_MAXUINT,
    UC_JSON_DEFAULT_MAX_DEPTH,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * UcJsonrpc:max-backlog:
   *
   * The bytes that may wait in the send queue for a peer that is not
   * reading.  A message is always accepted onto an empty queue.
   */
  properties[PROP_MAX_BACKLOG] = g_param_spec_uint64 (
    "max-backlog", "Maximum backlog",
    "The bytes that may wait in the send queue", 0, G_MAXSIZE,
    UC_JSONRPC_DEFAULT_MAX_BACKLOG,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
uc_jsonrpc_init (UcJsonrpc *self)
{
  self->max_message_size = UC_JSON_DEFAULT_MAX_MESSAGE_SIZE;
  self->max_depth = UC_JSON_DEFAULT_MAX_DEPTH;
  self->max_backlog = UC_JSONRPC_DEFAULT_MAX_BACKLOG;
  g_queue_init (&self->send_queue);
  g_queue_init (&self->flush_tasks);
  self->memory_id = uc_memory_add_reporter (report_memory, self);
}

/* Sets the limit @limit, which the property @prop_id shows, to @value,
 * and notifies only if it changed. */
static void
set_limit (UcJsonrpc *self, gsize *limit, gsize value, guint prop_id)
{
  if (*limit == value)
    return;
  *limit = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

/* The receive limits are built into the framer, which the first receive
 * makes: they may change until then. */
static gboolean
receive_limits_settable (UcJsonrpc *self)
{
  return self->framer == NULL && !self->closed;
}

/* Makes the framer on the first receive, with the limits in force. */
static void
ensure_framer (UcJsonrpc *self)
{
  if (self->framer == NULL)
    self->framer =
      uc_json_framer_new (self->max_message_size, (guint) self->max_depth);
}

/* Public API. */

/**
 * uc_jsonrpc_new:
 * @stream: the stream to talk over
 * @name: the connection's name in log lines, such as `unix#3`
 *
 * Wraps @stream in a JSON-RPC connection, which takes a reference on it
 * and closes it when the connection ends.  The connection belongs to the
 * current thread-default main context.
 *
 * Returns: (transfer full): a new connection
 */
UcJsonrpc *
uc_jsonrpc_new (GIOStream *stream, const char *name)
{
  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_object_new (UC_TYPE_JSONRPC, "stream", stream, "name", name, NULL);
}

/**
 * uc_jsonrpc_get_name:
 * @self: a connection
 *
 * Returns: (transfer none): the name of @self in log lines
 */
const char *
uc_jsonrpc_get_name (UcJsonrpc *self)
{
  g_return_val_if_fail (UC_IS_JSONRPC (self), NULL);

  return self->name;
}

/**
 * uc_jsonrpc_get_stream:
 * @self: a connection
 *
 * Returns: (transfer none): the stream @self talks over
 */
GIOStream *
uc_jsonrpc_get_stream (UcJsonrpc *self)
{
  g_return_val_if_fail (UC_IS_JSONRPC (self), NULL);

  return self->stream;
}

/**
 * uc_jsonrpc_set_max_message_size:
 * @self: a connection that has not received yet
 * @max_size: the largest message to accept, in bytes; not 0
 *
 * Sets the size limit of received messages.  A larger message ends the
 * connection with %UC_ERROR_MESSAGE_TOO_LARGE as soon as its first byte
 * past the limit arrives.
 */
void
uc_jsonrpc_set_max_message_size (UcJsonrpc *self, gsize max_size)
{
  g_return_if_fail (UC_IS_JSONRPC (self));
  g_return_if_fail (max_size > 0);
  g_return_if_fail (receive_limits_settable (self));

  set_limit (self, &self->max_message_size, max_size, PROP_MAX_MESSAGE_SIZE);
}

/**
 * uc_jsonrpc_get_max_message_size:
 * @self: a connection
 *
 * Returns: the size limit of received messages, in bytes
 */
gsize
uc_jsonrpc_get_max_message_size (UcJsonrpc *self)
{
  g_return_val_if_fail (UC_IS_JSONRPC (self), 0);

  return self->max_message_size;
}

/**
 * uc_jsonrpc_set_max_depth:
 * @self: a connection that has not received yet
 * @max_depth: the deepest nesting to accept; not 0
 *
 * Sets the nesting limit of received messages.  A deeper message ends the
 * connection with %UC_ERROR_TOO_DEEP.
 */
void
uc_jsonrpc_set_max_depth (UcJsonrpc *self, guint max_depth)
{
  g_return_if_fail (UC_IS_JSONRPC (self));
  g_return_if_fail (max_depth > 0);
  g_return_if_fail (receive_limits_settable (self));

  set_limit (self, &self->max_depth, max_depth, PROP_MAX_DEPTH);
}

/**
 * uc_jsonrpc_get_max_depth:
 * @self: a connection
 *
 * Returns: the nesting limit of received messages
 */
guint
uc_jsonrpc_get_max_depth (UcJsonrpc *self)
{
  g_return_val_if_fail (UC_IS_JSONRPC (self), 0);

  return (guint) self->max_depth;
}

/**
 * uc_jsonrpc_set_max_backlog:
 * @self: a connection
 * @max_backlog: bytes the send queue may hold
 *
 * Sets how many unsent bytes may wait for a peer that is not reading.
 * Unlike the receive limits it may change at any time; it applies to the
 * next uc_jsonrpc_send().
 */
void
uc_jsonrpc_set_max_backlog (UcJsonrpc *self, gsize max_backlog)
{
  g_return_if_fail (UC_IS_JSONRPC (self));

  set_limit (self, &self->max_backlog, max_backlog, PROP_MAX_BACKLOG);
}

/**
 * uc_jsonrpc_get_max_backlog:
 * @self: a connection
 *
 * Returns: how many unsent bytes may wait in the send queue
 */
gsize
uc_jsonrpc_get_max_backlog (UcJsonrpc *self)
{
  g_return_val_if_fail (UC_IS_JSONRPC (self), 0);

  return self->max_backlog;
}

/**
 * uc_jsonrpc_get_backlog:
 * @self: a connection
 *
 * Returns: the bytes queued and not yet written; 0 once closed
 */
gsize
uc_jsonrpc_get_backlog (UcJsonrpc *self)
{
  g_return_val_if_fail (UC_IS_JSONRPC (self), 0);

  return self->backlog;
}

/**
 * uc_jsonrpc_get_received_bytes:
 * @self: a connection
 *
 * Returns: the bytes read from the stream so far
 */
guint64
uc_jsonrpc_get_received_bytes (UcJsonrpc *self)
{
  g_return_val_if_fail (UC_IS_JSONRPC (self), 0);

  return self->received_bytes;
}

/**
 * uc_jsonrpc_send:
 * @self: a connection
 * @message: the message to send
 * @error: return location for a #GError
 *
 * Queues @message and writes what the stream takes at once, without
 * blocking; the rest is written from the main context.  Use
 * uc_jsonrpc_flush_async() to learn when it has all been written.
 *
 * A message is always accepted onto an empty queue.  Otherwise, if the
 * queue would grow past #UcJsonrpc:max-backlog, the peer is taken to be
 * not reading: the send fails with %UC_ERROR_BACKLOG_FULL and the
 * connection ends.
 *
 * A write error is not reported here, even if met at once: it ends the
 * connection, and pending and later operations report it.
 *
 * Returns: %TRUE if @message was queued; %FALSE with @error set if the
 *   connection is closed (%G_IO_ERROR_CLOSED) or the backlog is full
 */
gboolean
uc_jsonrpc_send (UcJsonrpc *self, UcJsonrpcMessage *message, GError **error)
{
  static UcRateLimit backlog_rl = UC_RATE_LIMIT_DEFAULT;
  GString *text;
  gsize written = 0;

  g_return_val_if_fail (UC_IS_JSONRPC (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->closed)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           _ ("connection is closed"));
      return FALSE;
    }

  uc_coverage_inc (jsonrpc_send);
  text = get_shared_write_buffer ();
  uc_jsonrpc_message_serialize (message, text);

  if (!g_queue_is_empty (&self->send_queue) &&
      self->backlog + text->len > self->max_backlog)
    {
      g_autoptr (GError) local_error = NULL;

      uc_coverage_inc (jsonrpc_backlog_full);
      uc_log_rl (&backlog_rl, G_LOG_LEVEL_WARNING,
                 "%s: peer is not reading: backlog of %" G_GSIZE_FORMAT
                 " bytes exceeds %" G_GSIZE_FORMAT,
                 self->name, self->backlog + text->len, self->max_backlog);
      local_error = g_error_new (UC_ERROR, UC_ERROR_BACKLOG_FULL,
                                 _ ("peer is not reading: backlog of %zu "
                                    "bytes exceeds %zu"),
                                 self->backlog + text->len, self->max_backlog);
      release_shared_write_buffer (text);
      g_propagate_error (error, g_error_copy (local_error));
      uc_jsonrpc_fail (self, g_steal_pointer (&local_error));
      return FALSE;
    }

  /* Onto an empty queue, straight out: usually it all goes, and needs no
   * memory of its own.  (A write error ends the connection, and is
   * reported by the operations pending and to come.) */
  if (g_queue_is_empty (&self->send_queue) && self->pollable_output)
    {
      if (!write_nonblocking (self, text->str, text->len, &written) ||
          written == text->len)
        {
          release_shared_write_buffer (text);
          return TRUE;
        }
    }

  /* What did not go out waits in the queue, from where it stopped (the
   * queue was empty if anything went out). */
  self->head_offset += written;
  self->backlog += text->len - written;
  g_queue_push_tail (&self->send_queue, take_shared_write_buffer (text));

  if (self->send_queue.length == 1)
    start_writing (self);
  return TRUE;
}

/**
 * uc_jsonrpc_flush_async:
 * @self: a connection
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the queue is empty
 * @user_data: data for @callback
 *
 * Waits until every queued message has been written to the stream (at
 * once if none is queued).  Several flushes may be pending.
 */
void
uc_jsonrpc_flush_async (UcJsonrpc *self,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (UC_IS_JSONRPC (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_jsonrpc_flush_async);

  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->closed)
    {
      g_task_return_error (task, g_error_copy (self->error));
      return;
    }
  if (g_queue_is_empty (&self->send_queue))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  task_watch_cancellable (task, G_SOURCE_FUNC (on_flush_cancelled));
  g_queue_push_tail (&self->flush_tasks, g_steal_pointer (&task));
}

/**
 * uc_jsonrpc_flush_finish:
 * @self: a connection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_jsonrpc_flush_async().
 *
 * Returns: %TRUE if the queue was written; %FALSE with @error set to what
 *   ended the connection, or to %G_IO_ERROR_CANCELLED
 */
gboolean
uc_jsonrpc_flush_finish (UcJsonrpc *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_jsonrpc_flush_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * uc_jsonrpc_receive_async:
 * @self: a connection
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when a message arrived or the connection ended
 * @user_data: data for @callback
 *
 * Receives the next message.  Only one receive may be pending at a time.
 *
 * While sent data is queued, the receive waits for it to be written
 * before reading or delivering anything, even a message already read.
 * Messages that came in one read are delivered one per receive, in order,
 * without reading again.
 *
 * Cancelling loses nothing: what was read stays for the next receive.  A
 * message delivered in the same main loop iteration as the cancellation
 * is still delivered.
 */
void
uc_jsonrpc_receive_async (UcJsonrpc *self,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (UC_IS_JSONRPC (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (!receive_pending (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_jsonrpc_receive_async);
  /* A message taken from the framer exists nowhere else: a late
   * cancellation must not turn it into an error. */
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->closed)
    {
      g_task_return_error (task, g_error_copy (self->error));
      return;
    }

  ensure_framer (self);

  task_watch_cancellable (task, G_SOURCE_FUNC (on_receive_cancelled));
  self->receive_task = g_steal_pointer (&task);
  arm_receive (self);
}

/**
 * uc_jsonrpc_receive:
 * @self: a connection
 * @func: (scope async): called once, with the message or with what
 *   ended the connection
 * @user_data: data for @func
 *
 * Receives the next message, as uc_jsonrpc_receive_async() does, but
 * calls back without a #GTask and without a #GCancellable: the cheaper
 * way for an owner that receives message after message from its callback
 * (the server's connections), and the one that needs no #GTask at all
 * (whose first use starts GIO's task thread pool: see #UcClient).  Only
 * one receive may be pending at a time, of either kind; this one is
 * withdrawn with uc_jsonrpc_cancel_receive().
 *
 * @func is called from the main context, never from within this call:
 * with the message, or with %NULL and the error uc_jsonrpc_receive_finish()
 * would report.  The connection keeps a reference on itself until then.
 */
void
uc_jsonrpc_receive (UcJsonrpc *self,
                    UcJsonrpcReceiveFunc func,
                    gpointer user_data)
{
  g_return_if_fail (UC_IS_JSONRPC (self));
  g_return_if_fail (func != NULL);
  g_return_if_fail (!receive_pending (self));

  g_object_ref (self);
  if (self->closed)
    {
      func_return_error_later (self, func, user_data, self->error);
      return;
    }

  ensure_framer (self);

  self->receive_func = func;
  self->receive_data = user_data;
  arm_receive (self);
}

/**
 * uc_jsonrpc_cancel_receive:
 * @self: a connection
 *
 * Withdraws the pending uc_jsonrpc_receive(), if there is one: its
 * function is not called, and the reference the receive held on @self is
 * dropped.  Nothing is lost: bytes already read, and what the framer holds
 * of a partial message, stay for the next receive.
 *
 * Once the connection has ended, the function of a receive pending then
 * is already on its way with the error, and cannot be withdrawn.  Nor
 * can a receive whose function is running: it is no longer pending.
 *
 * Returns: %TRUE if a receive was withdrawn; %FALSE if none was pending,
 *   in which case a function given to uc_jsonrpc_receive() earlier has
 *   been called or is going to be
 */
gboolean
uc_jsonrpc_cancel_receive (UcJsonrpc *self)
{
  g_return_val_if_fail (UC_IS_JSONRPC (self), FALSE);

  if (self->receive_func == NULL)
    return FALSE;

  self->receive_func = NULL;
  self->receive_data = NULL;
  update_watch (self);
  /* The receive's reference; the caller holds another. */
  g_object_unref (self);
  return TRUE;
}

/**
 * uc_jsonrpc_receive_finish:
 * @self: a connection
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_jsonrpc_receive_async().
 *
 * Returns: (transfer full): the message; or %NULL with @error set: to
 *   %G_IO_ERROR_CONNECTION_CLOSED when the peer closed the connection
 *   between messages, %G_IO_ERROR_CLOSED when uc_jsonrpc_close() was
 *   called, %G_IO_ERROR_CANCELLED, or the #UC_ERROR or #G_IO_ERROR that
 *   ended the connection
 */
UcJsonrpcMessage *
uc_jsonrpc_receive_finish (UcJsonrpc *self,
                           GAsyncResult *result,
                           GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_jsonrpc_receive_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * uc_jsonrpc_close:
 * @self: a connection
 *
 * Ends the connection: stops all I/O, drops the send queue, and closes
 * the stream in the background.  A pending receive or flush fails with
 * %G_IO_ERROR_CLOSED from the main context.  Closing again does nothing.
 */
void
uc_jsonrpc_close (UcJsonrpc *self)
{
  g_return_if_fail (UC_IS_JSONRPC (self));

  if (self->closed)
    return;

  uc_jsonrpc_fail (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED,
                                              _ ("connection is closed")));
}

/**
 * uc_jsonrpc_is_closed:
 * @self: a connection
 *
 * Returns: whether @self has ended: closed by its owner, by the peer, or
 *   by an error
 */
gboolean
uc_jsonrpc_is_closed (UcJsonrpc *self)
{
  g_return_val_if_fail (UC_IS_JSONRPC (self), TRUE);

  return self->closed;
}
