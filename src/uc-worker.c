/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "worker"

#include "config.h"

#include "uc-worker.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uc-coverage.h"
#include "uc-error.h"
#include "uc-fd.h"
#include "uc-memory.h"
#include "uc-rate-limit.h"
#include "uc-system-stats.h"
#include "uc-worker-protocol.h"

UC_COVERAGE_DEFINE (worker_request);
UC_COVERAGE_DEFINE (worker_reply);
UC_COVERAGE_DEFINE (worker_replay);
UC_COVERAGE_DEFINE (worker_restart);
UC_COVERAGE_DEFINE (worker_violation);

/**
 * UcWorker:
 *
 * The daemon's side of the worker: it starts `unixctld-worker`, sends it
 * requests and hands the replies back, and keeps a worker running.
 *
 * Calls are pipelined: up to %UC_WORKER_MAX_IN_FLIGHT are sent and not
 * yet answered; further callers wait in a queue, in order, without ever
 * blocking the main loop.  The worker answers in order, but the replies
 * are matched by id, so nothing here depends on it.
 *
 * Everything the worker sends is checked before it is believed (see
 * uc-worker-protocol.c and check_reply_header()): a worker that breaks the
 * protocol is logged, killed and replaced.  When a worker dies, for any
 * reason, the calls it had are sent again to the next one (methods whose
 * replay is harmless, and calls it never received) or fail with the
 * reason; the next worker starts after a back-off that doubles with each
 * death in a row.
 *
 * Frames travel over a non-blocking #GSocket (see uc-worker-protocol.c):
 * a request with descriptors goes in a g_socket_send_message() of its
 * own, with a #GUnixFDMessage that refers to the call's #GUnixFDList.
 *
 * Descriptors: a #GUnixFDList given with a call stays the caller's (it is
 * referenced until the call completes, since a replay sends it again, and
 * never modified); the kernel gives the worker its own copies, which it
 * closes once it has answered (but for a hold).  Descriptors in a reply
 * belong to whoever finishes the call.  Held descriptors (see
 * uc_worker_hold_async()) are kept here as duplicates too, so that a new
 * worker can be given them again before any replayed append reaches it.
 *
 * Calls and their completion callbacks run in the thread-default main
 * context of the thread that created the worker.
 */

/* Frames handled per wake-up, so that a worker flooding replies cannot
 * starve the rest of the main loop. */
#define MAX_FRAMES_PER_DISPATCH 256

enum
{
  SIGNAL_STARTED,
  SIGNAL_DIED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct _Instance Instance;

/* One call to the worker, from the caller's call until its completion. */
typedef struct
{
  UcWorkerMethod method;
  GTask *task;      /* (owned) (nullable): %NULL for internal calls, and
                      * once completed (a cancelled call still in flight) */
  GBytes *payload;  /* (owned) */
  GUnixFDList *fds; /* (owned) (nullable): the caller's */
  guint64 id;       /* given when sent to a worker */
  guint8 header[UC_WORKER_HEADER_SIZE];
  gboolean sent;     /* the current worker received some of it */
  gboolean complete; /* ... and all of it */
  guint n_sends;     /* workers that received some of it */
  gboolean replayable;
  gboolean rehold;        /* an internal re-hold after a restart */
  guint64 handle;         /* HOLD and RELEASE: the handle */
  GSource *cancel_source; /* (owned) (nullable) */
} Call;

/* What a completed call returns to its task. */
typedef struct
{
  GBytes *payload;  /* (owned) */
  GUnixFDList *fds; /* (owned) (nullable) */
  guint64 handle;   /* HOLD: the new handle */
} CallResult;

/* A descriptor held by the worker, as the daemon keeps it. */
typedef struct
{
  guint64 handle;
  int fd;             /* (owned) our duplicate */
  gboolean confirmed; /* the worker answered the hold */
  gboolean releasing; /* a release is on its way */
} Held;

/* One worker process and the socket to it. */
struct _Instance
{
  int ref_count;
  UcWorker *worker;     /* (unowned) (nullable): %NULL once abandoned */
  GSubprocess *process; /* (owned) */
  GPid pid;
  GSocket *socket;        /* (owned) (nullable) our end, non-blocking;
                           * %NULL once closed */
  GSource *in_source;     /* (owned) (nullable) */
  GSource *out_source;    /* (owned) (nullable) */
  GQueue send_queue;      /* (element-type Call) (unowned): in flight,
                           * not yet wholly sent, in id order */
  gsize send_offset;      /* bytes of the head already sent */
  UcWorkerReader *reader; /* (owned) (nullable) */
  gint64 start_time;      /* monotonic µs */
  gboolean lost;          /* socket closed; waiting for the exit */
  char *lost_reason;      /* (owned) (nullable): why we gave up on it */
  GSource *kill_source;   /* (owned) (nullable): the stop timeout */
};

struct _UcWorker
{
  GObject parent_instance;

  GStrv argv;            /* (owned) (nullable): %NULL finds the program */
  GMainContext *context; /* (owned) */
  UcWorkerState state;
  Instance *instance; /* (owned) (nullable): the current process */
  GError *failure;    /* (owned) (nullable): why the last start failed */

  GQueue waiting;        /* (element-type Call) (owned) */
  GHashTable *in_flight; /* (owned) guint64 id -> Call (owned) */
  GHashTable *held;      /* (owned) guint64 handle -> Held (owned) */
  guint64 next_id;
  guint64 next_handle;

  GSource *restart_source; /* (owned) (nullable): the back-off timer */
  guint restart_min_ms;
  guint restart_max_ms;
  guint stable_ms;
  guint backoff_ms; /* the delay before the next restart */
  gboolean started_once;
  gboolean restart_requested;
  guint restarts;
  guint64 n_served;

  GPtrArray *restart_tasks; /* (owned) (element-type GTask) */
  GPtrArray *stop_tasks;    /* (owned) (element-type GTask) */
  GPtrArray *type_cache;    /* (owned) (element-type GVariant) see
                             * uc_worker_type_cache_new() */
  guint memory_id;          /* memory/show's reporter */
};

G_DEFINE_FINAL_TYPE (UcWorker, uc_worker, G_TYPE_OBJECT)

static UcRateLimit violation_rl = UC_RATE_LIMIT_DEFAULT;
static UcRateLimit death_rl = UC_RATE_LIMIT_DEFAULT;
static UcRateLimit spawn_rl = UC_RATE_LIMIT_DEFAULT;
static UcRateLimit rehold_rl = UC_RATE_LIMIT_DEFAULT;

static void pump (UcWorker *self);
static void instance_flush (Instance *inst);

/**
 * uc_worker_method_to_string:
 * @method: a method
 *
 * Returns: the method's name, as messages and `worker/status` show it
 */
const char *
uc_worker_method_to_string (UcWorkerMethod method)
{
  switch (method)
    {
      case UC_WORKER_METHOD_PING:
        return "ping";
      case UC_WORKER_METHOD_OPEN:
        return "open";
      case UC_WORKER_METHOD_HOLD:
        return "hold";
      case UC_WORKER_METHOD_APPEND:
        return "append";
      case UC_WORKER_METHOD_RELEASE:
        return "release";
      case UC_WORKER_METHOD_SYSTEM_STATS:
        return "system-stats";
      default:
        return "unknown";
    }
}

/**
 * uc_worker_find_program:
 *
 * Where the worker program is: `$UNIXCTLD_WORKER` if set (tests, and
 * anyone who wants another build), else `unixctld-worker` next to the
 * running program if there is one there (an uninstalled build tree), else
 * the installed `LIBEXECDIR/unixctld-worker`.
 *
 * Returns: (transfer full): the program's path
 */
char *
uc_worker_find_program (void)
{
  const char *env = g_getenv ("UNIXCTLD_WORKER");
  g_autofree char *exe = NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);

  exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (exe);
      g_autofree char *candidate =
        g_build_filename (dir, "unixctld-worker", NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE) &&
          !g_file_test (candidate, G_FILE_TEST_IS_DIR))
        return g_steal_pointer (&candidate);
    }
  return g_build_filename (LIBEXECDIR, "unixctld-worker", NULL);
}

static void
call_result_free (CallResult *result)
{
  g_clear_pointer (&result->payload, g_bytes_unref);
  g_clear_object (&result->fds);
  g_free (result);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CallResult, call_result_free)

/* What every call's _finish starts with: the checks of @result, then its
 * outcome.  Returns the result, or %NULL with @error set (or nothing
 * set, after a failed check). */
static CallResult *
call_propagate (UcWorker *self,
                GAsyncResult *result,
                gpointer source_tag,
                GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, source_tag), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* call_propagate() for a call whose result is success alone. */
static gboolean
call_propagate_success (UcWorker *self,
                        GAsyncResult *result,
                        gpointer source_tag,
                        GError **error)
{
  g_autoptr (CallResult) reply =
    call_propagate (self, result, source_tag, error);

  return reply != NULL;
}

static void
destroy_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static void
call_free (Call *call)
{
  destroy_source (&call->cancel_source);
  g_clear_object (&call->task);
  g_clear_pointer (&call->payload, g_bytes_unref);
  g_clear_object (&call->fds);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

static void
held_free (Held *held)
{
  uc_fd_clear (&held->fd);
  g_free (held);
}

/* Completions are collected while the worker's state changes, then
 * delivered together once it is consistent again: a completion callback
 * may call back into the worker (a new call, a restart, the last unref). */
typedef struct
{
  GTask *task;        /* (owned) */
  CallResult *result; /* (owned) (nullable) */
  GError *error;      /* (owned) (nullable) */
} Completion;

static void
completions_add (GArray *completions,
                 GTask *task,
                 CallResult *result,
                 GError *error)
{
  Completion completion = { task, result, error };

  g_array_append_val (completions, completion);
}

static GArray *
completions_new (void)
{
  return g_array_new (FALSE, FALSE, sizeof (Completion));
}

static void
completions_deliver (GArray *completions)
{
  for (guint i = 0; i < completions->len; i++)
    {
      Completion *c = &g_array_index (completions, Completion, i);
      g_autoptr (GTask) task = g_steal_pointer (&c->task);

      if (c->error != NULL)
        g_task_return_error (task, g_steal_pointer (&c->error));
      else if (c->result != NULL)
        g_task_return_pointer (task, g_steal_pointer (&c->result),
                               (GDestroyNotify) call_result_free);
      else
        g_task_return_boolean (task, TRUE);
    }
  g_array_unref (completions);
}

/* Fails @call (transfer full) with @error (transfer full), if anyone
 * still waits for it, and frees it. */
static void
call_fail (Call *call, GArray *completions, GError *error)
{
  if (call->task != NULL)
    completions_add (completions, g_steal_pointer (&call->task), NULL, error);
  else
    g_error_free (error);
  call_free (call);
}

static Instance *
instance_ref (Instance *inst)
{
  inst->ref_count++;
  return inst;
}

/* Closes the socket and everything reading or writing it. */
static void
instance_close (Instance *inst)
{
  destroy_source (&inst->in_source);
  destroy_source (&inst->out_source);
  g_queue_clear (&inst->send_queue);
  inst->send_offset = 0;
  g_clear_pointer (&inst->reader, uc_worker_reader_free);
  /* Closed now, even if a source being dispatched still holds a
   * reference to it. */
  if (inst->socket != NULL)
    g_socket_close (inst->socket, NULL);
  g_clear_object (&inst->socket);
}

static void
instance_unref (Instance *inst)
{
  if (--inst->ref_count > 0)
    return;
  instance_close (inst);
  destroy_source (&inst->kill_source);
  g_clear_object (&inst->process);
  g_clear_pointer (&inst->lost_reason, g_free);
  g_free (inst);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Instance, instance_unref)

/* Safe on a process that has exited: GSubprocess sends signals and reaps
 * in one thread, and never signals a pid it has reaped. */
static void
instance_kill (Instance *inst)
{
  g_subprocess_force_exit (inst->process);
}

/* Gives up on a worker: its socket is closed at once, so that nothing
 * more is read from it or sent to it, and it is killed if @kill.  Its
 * calls stay in flight until its exit is known (on_process_exited()), so
 * that their failure can say how it died.  Completes nothing, so it is
 * safe to call from anywhere. */
static void
instance_lose (Instance *inst, gboolean kill, const char *reason)
{
  if (inst->lost)
    return;
  inst->lost = TRUE;
  inst->lost_reason = g_strdup (reason);
  instance_close (inst);
  if (kill)
    instance_kill (inst);
  if (inst->worker != NULL && inst->worker->state == UC_WORKER_STATE_RUNNING)
    inst->worker->state = UC_WORKER_STATE_RESTARTING;
}

static const char *
method_name (guint16 method)
{
  return uc_worker_method_to_string ((UcWorkerMethod) method);
}

/* The descriptors a successful reply to @call must carry. */
static guint
expected_reply_fds (Call *call)
{
  switch (call->method)
    {
      case UC_WORKER_METHOD_PING:
        return call->fds != NULL ? (guint) g_unix_fd_list_get_length (call->fds)
                                 : 0;
      case UC_WORKER_METHOD_OPEN:
        return 1;
      case UC_WORKER_METHOD_HOLD:
      case UC_WORKER_METHOD_APPEND:
      case UC_WORKER_METHOD_RELEASE:
      case UC_WORKER_METHOD_SYSTEM_STATS:
      default:
        return 0;
    }
}

/* The daemon's checks of a header from the worker, before its payload is
 * read: a reply or an error, to a request wholly sent and not answered,
 * for that request's method, with the descriptors that method returns. */
static gboolean
check_reply_header (const UcWorkerHeader *header,
                    gpointer user_data,
                    GError **error)
{
  Instance *inst = user_data;
  Call *call;
  guint expected;

  if (header->kind == UC_WORKER_KIND_REQUEST)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("unexpected request frame from the worker"));
      return FALSE;
    }
  call = g_hash_table_lookup (inst->worker->in_flight, &header->id);
  if (call == NULL || !call->complete)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("%s to request %llu, which is not in flight"),
                   uc_worker_kind_to_string (header->kind),
                   (unsigned long long) header->id);
      return FALSE;
    }
  if (header->method != call->method)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("%s for method %s to a %s request"),
                   uc_worker_kind_to_string (header->kind),
                   method_name (header->method), method_name (call->method));
      return FALSE;
    }
  expected =
    header->kind == UC_WORKER_KIND_ERROR ? 0 : expected_reply_fds (call);
  if (header->n_fds != expected)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("%s %s carries %u descriptors instead of %u"),
                   method_name (header->method),
                   uc_worker_kind_to_string (header->kind),
                   (unsigned) header->n_fds, expected);
      return FALSE;
    }
  return TRUE;
}

/* The payload type of each method's reply; %NULL: empty. */
static const GVariantType *
reply_type (UcWorkerMethod method)
{
  switch (method)
    {
      case UC_WORKER_METHOD_PING:
        return G_VARIANT_TYPE ("(a(stt)ay)");
      case UC_WORKER_METHOD_SYSTEM_STATS:
        return UC_SYSTEM_STATS_TYPE;
      case UC_WORKER_METHOD_OPEN:
      case UC_WORKER_METHOD_HOLD:
      case UC_WORKER_METHOD_APPEND:
      case UC_WORKER_METHOD_RELEASE:
      default:
        return NULL;
    }
}

/* Checks a reply's payload against its method.  The result is not kept:
 * the finish functions read the payload again, now known to be valid. */
static gboolean
check_reply_payload (Call *call, UcWorkerFrame *frame, GError **error)
{
  const GVariantType *type = reply_type (call->method);
  g_autoptr (GVariant) value = NULL;

  if (type == NULL)
    {
      if (g_bytes_get_size (frame->payload) == 0)
        return TRUE;
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("%s reply has a payload of %u bytes instead of none"),
                   method_name (call->method),
                   (unsigned) g_bytes_get_size (frame->payload));
      return FALSE;
    }

  value = uc_worker_variant_from_bytes (frame->payload, type, error);
  if (value == NULL)
    return FALSE;
  if (call->method == UC_WORKER_METHOD_PING)
    {
      g_autoptr (GVariant) descriptions = g_variant_get_child_value (value, 0);

      if (g_variant_n_children (descriptions) != frame->fds->len)
        {
          g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                       _ ("ping reply describes %u descriptors but carries "
                          "%u"),
                       (unsigned) g_variant_n_children (descriptions),
                       frame->fds->len);
          return FALSE;
        }
    }
  return TRUE;
}

/* An error frame's payload: errno and message, as a #GError. */
static GError *
error_from_frame (UcWorkerFrame *frame, GError **error)
{
  g_autoptr (GVariant) value = NULL;
  const char *message;
  gint32 errsv;

  value = uc_worker_variant_from_bytes (frame->payload, G_VARIANT_TYPE ("(is)"),
                                        error);
  if (value == NULL)
    return NULL;
  g_variant_get (value, "(i&s)", &errsv, &message);
  return g_error_new_literal (G_IO_ERROR, g_io_error_from_errno (errsv),
                              message);
}

static void
held_remove (UcWorker *self, guint64 handle)
{
  g_hash_table_remove (self->held, &handle);
}

/* The held descriptor under @handle, if appends and a release may still
 * use it; otherwise %NULL, and @task has failed. */
static Held *
lookup_usable_held (UcWorker *self, guint64 handle, GTask *task)
{
  Held *held = g_hash_table_lookup (self->held, &handle);

  if (held == NULL || held->releasing)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _ ("no descriptor is held under handle %llu"),
                               (unsigned long long) handle);
      return NULL;
    }
  return held;
}

static Call *
call_new (UcWorkerMethod method, GBytes *payload, GUnixFDList *fds)
{
  Call *call = g_new0 (Call, 1);

  call->method = method;
  call->payload =
    payload != NULL ? g_bytes_ref (payload) : g_bytes_new_static ("", 0);
  call->fds = fds != NULL && g_unix_fd_list_get_length (fds) > 0
                ? g_object_ref (fds)
                : NULL;
  call->replayable = TRUE;
  return call;
}

static GBytes *
handle_payload (guint64 handle)
{
  g_autoptr (GVariant) value =
    g_variant_ref_sink (g_variant_new ("(t)", handle));

  return g_variant_get_data_as_bytes (value);
}

/* An internal release, queued after everything sent so far. */
static void
queue_internal_release (UcWorker *self, guint64 handle)
{
  g_autoptr (GBytes) payload = handle_payload (handle);
  Call *call = call_new (UC_WORKER_METHOD_RELEASE, payload, NULL);

  call->handle = handle;
  g_queue_push_tail (&self->waiting, call);
}

/* What a method's completion does to the held descriptors. */
static void
update_held (UcWorker *self, Call *call, gboolean success)
{
  Held *held;

  switch (call->method)
    {
      case UC_WORKER_METHOD_HOLD:
        held = g_hash_table_lookup (self->held, &call->handle);
        if (held == NULL || call->rehold)
          break;
        if (!success)
          held_remove (self, call->handle);
        else if (call->task == NULL && !held->releasing)
          {
            /* Its caller cancelled and will never learn the handle. */
            held->confirmed = TRUE;
            held->releasing = TRUE;
            queue_internal_release (self, call->handle);
          }
        else
          held->confirmed = TRUE;
        break;
      case UC_WORKER_METHOD_RELEASE:
        held_remove (self, call->handle);
        break;
      case UC_WORKER_METHOD_PING:
      case UC_WORKER_METHOD_OPEN:
      case UC_WORKER_METHOD_APPEND:
      case UC_WORKER_METHOD_SYSTEM_STATS:
      default:
        break;
    }
}

/* Whether a socket error only says that the worker is gone (it died with
 * requests unread): its exit status then tells the whole story. */
static gboolean
peer_gone (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
}

static void
protocol_violation (Instance *inst, const GError *error)
{
  uc_coverage_inc (worker_violation);
  uc_log_rl (&violation_rl, G_LOG_LEVEL_WARNING,
             "worker %ld: protocol violation: %s; killing it", (long) inst->pid,
             error->message);
  instance_lose (inst, TRUE, error->message);
}

/* A whole frame from the worker, its header already checked. */
static void
handle_frame (UcWorker *self,
              Instance *inst,
              UcWorkerFrame *frame,
              GArray *completions)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) call_error = NULL;
  g_autoptr (Call) call = NULL;
  guint64 id = frame->header.id;

  call = g_hash_table_lookup (self->in_flight, &id);
  g_assert (call != NULL);

  if (frame->header.kind == UC_WORKER_KIND_ERROR)
    call_error = error_from_frame (frame, &error);
  else
    check_reply_payload (call, frame, &error);
  if (error != NULL)
    {
      /* The call stays in flight, to be replayed or failed with the rest. */
      call = NULL;
      protocol_violation (inst, error);
      return;
    }

  g_hash_table_steal (self->in_flight, &id);
  self->n_served++;
  uc_coverage_inc (worker_reply);
  update_held (self, call, call_error == NULL);

  if (call->task == NULL)
    {
      if (call_error != NULL && call->rehold)
        uc_log_rl (&rehold_rl, G_LOG_LEVEL_WARNING,
                   "worker %ld: cannot hold handle %" G_GUINT64_FORMAT
                   " again: %s",
                   (long) inst->pid, call->handle, call_error->message);
      return;
    }

  if (call_error != NULL)
    completions_add (completions, g_steal_pointer (&call->task), NULL,
                     g_steal_pointer (&call_error));
  else
    {
      CallResult *result = g_new0 (CallResult, 1);
      gsize n_fds = 0;
      g_autofree int *fds = g_array_steal (frame->fds, &n_fds);

      result->payload = g_bytes_ref (frame->payload);
      if (n_fds > 0)
        result->fds = g_unix_fd_list_new_from_array (fds, (int) n_fds);
      result->handle = call->handle;
      completions_add (completions, g_steal_pointer (&call->task), result,
                       NULL);
    }
}

/* Reads and handles frames until the socket has nothing more, or, with
 * @to_end, until its end (the worker has exited: what it sent before is
 * still to be read).  Otherwise stops after a batch, so that a worker
 * flooding replies cannot starve the rest of the main loop. */
static void
instance_read (UcWorker *self,
               Instance *inst,
               gboolean to_end,
               GArray *completions)
{
  guint n_again = 0;

  for (guint i = 0; !inst->lost && (to_end || i < MAX_FRAMES_PER_DISPATCH); i++)
    {
      g_autoptr (UcWorkerFrame) frame = NULL;
      g_autoptr (GError) error = NULL;
      UcWorkerReadStatus status =
        uc_worker_reader_read (inst->reader, &frame, &error);

      if (status == UC_WORKER_READ_AGAIN)
        {
          /* The first may only mean that the last read was short. */
          if (!to_end || ++n_again == 2)
            break;
          continue;
        }
      n_again = 0;
      if (status == UC_WORKER_READ_FRAME)
        {
          handle_frame (self, inst, frame, completions);
          continue;
        }
      if (status == UC_WORKER_READ_EOF)
        {
          g_debug ("worker %ld closed its socket", (long) inst->pid);
          /* It is exiting; one that closed its socket and lives on is of
           * no use, unless it is finishing a requested stop. */
          instance_lose (inst, self->state != UC_WORKER_STATE_STOPPING, NULL);
        }
      else if (g_error_matches (error, UC_ERROR, UC_ERROR_PROTOCOL))
        protocol_violation (inst, error);
      else
        {
          g_debug ("worker %ld: %s", (long) inst->pid, error->message);
          instance_lose (inst, TRUE, peer_gone (error) ? NULL : error->message);
        }
    }
}

static gboolean
on_socket_ready (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Instance *inst = instance_ref (user_data);
  g_autoptr (UcWorker) self = g_object_ref (inst->worker);
  GArray *completions = completions_new ();

  instance_read (self, inst, FALSE, completions);
  pump (self);
  /* Kept until here: a lost instance may have lost its last reference. */
  instance_unref (inst);
  completions_deliver (completions);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_socket_writable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Instance *inst = user_data;

  instance_flush (inst);
  return G_SOURCE_CONTINUE;
}

/* Sends what the send queue holds, until it is empty or the socket is
 * full; in that case it goes on when the socket is writable. */
static void
instance_flush (Instance *inst)
{
  while (!inst->lost && !g_queue_is_empty (&inst->send_queue))
    {
      Call *call = g_queue_peek_head (&inst->send_queue);
      g_autoptr (GError) error = NULL;
      gsize length;
      const void *data = g_bytes_get_data (call->payload, &length);
      gboolean done;

      done = uc_worker_send_frame (inst->socket, call->header, data, length,
                                   call->fds, &inst->send_offset, &error);
      if (inst->send_offset > 0 && !call->sent)
        {
          call->sent = TRUE;
          call->n_sends++;
        }
      if (!done)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_debug ("worker %ld: %s", (long) inst->pid, error->message);
              instance_lose (inst, TRUE,
                             peer_gone (error) ? NULL : error->message);
              return;
            }
          if (inst->out_source == NULL)
            {
              inst->out_source =
                g_socket_create_source (inst->socket, G_IO_OUT, NULL);
              g_source_set_callback (inst->out_source,
                                     G_SOURCE_FUNC (on_socket_writable), inst,
                                     NULL);
              g_source_set_static_name (inst->out_source,
                                        "[unixctld] worker out");
              g_source_attach (inst->out_source, inst->worker->context);
            }
          return;
        }
      g_queue_pop_head (&inst->send_queue);
      inst->send_offset = 0;
      call->complete = TRUE;
    }
  destroy_source (&inst->out_source);
}

/* Moves waiting calls into flight while there are free slots. */
static void
pump (UcWorker *self)
{
  Instance *inst = self->instance;

  if (inst == NULL || inst->lost || self->state != UC_WORKER_STATE_RUNNING)
    return;

  while (g_hash_table_size (self->in_flight) < UC_WORKER_MAX_IN_FLIGHT &&
         !g_queue_is_empty (&self->waiting))
    {
      Call *call = g_queue_pop_head (&self->waiting);
      UcWorkerHeader header = { 0 };

      call->id = ++self->next_id;
      call->sent = FALSE;
      call->complete = FALSE;
      header.kind = UC_WORKER_KIND_REQUEST;
      header.method = (guint16) call->method;
      header.id = call->id;
      header.payload_length = (guint32) g_bytes_get_size (call->payload);
      header.n_fds =
        call->fds != NULL ? (guint16) g_unix_fd_list_get_length (call->fds) : 0;
      uc_worker_header_pack (&header, call->header);

      g_hash_table_insert (self->in_flight, &call->id, call);
      g_queue_push_tail (&inst->send_queue, call);
      uc_coverage_inc (worker_request);
    }
  instance_flush (inst);
}

static char *
describe_exit (GSubprocess *process)
{
  if (g_subprocess_get_if_signaled (process))
    return g_strdup_printf ("signal %d", g_subprocess_get_term_sig (process));
  return g_strdup_printf ("exit status %d",
                          g_subprocess_get_exit_status (process));
}

static int
compare_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a;
  guint64 y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

/* The keys of @table, a table keyed by guint64 (calls by id, held
 * descriptors by handle), in ascending order: the order they were made
 * in. */
static GArray *
sorted_keys (GHashTable *table)
{
  GArray *keys = g_array_sized_new (FALSE, FALSE, sizeof (guint64),
                                    g_hash_table_size (table));
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_array_append_val (keys, *(guint64 *) key);
  g_array_sort (keys, compare_u64);
  return keys;
}

/* After a worker's exit: each call it had is sent again to the next one
 * (in the original order, ahead of the calls still waiting), or fails. */
static void
settle_calls (UcWorker *self,
              const char *death,
              gboolean stopping,
              GArray *completions)
{
  g_autoptr (GArray) ids = sorted_keys (self->in_flight);

  /* The last first: each goes ahead of those that follow it. */
  for (guint i = ids->len; i > 0; i--)
    {
      guint64 id = g_array_index (ids, guint64, i - 1);
      gpointer value = NULL;
      Call *call;

      g_hash_table_steal_extended (self->in_flight, &id, NULL, &value);
      call = value;

      if (call->rehold)
        {
          /* Re-holds are made afresh for each new worker. */
          call_free (call);
          continue;
        }
      if (stopping)
        {
          update_held (self, call, FALSE);
          call_fail (call, completions,
                     g_error_new (UC_ERROR, UC_ERROR_FAILED,
                                  _ ("the worker stopped (%s) while running "
                                     "%s"),
                                  death,
                                  uc_worker_method_to_string (call->method)));
          continue;
        }
      if (!call->sent)
        {
          g_queue_push_head (&self->waiting, call);
          continue;
        }
      if (call->task == NULL)
        {
          /* Nobody waits: an internal release, or a cancelled call. */
          update_held (self, call, FALSE);
          call_free (call);
          continue;
        }
      if (call->replayable && call->n_sends <= UC_WORKER_MAX_REPLAYS)
        {
          uc_coverage_inc (worker_replay);
          g_debug ("replaying %s request %" G_GUINT64_FORMAT,
                   uc_worker_method_to_string (call->method), call->id);
          g_queue_push_head (&self->waiting, call);
          continue;
        }
      update_held (self, call, FALSE);
      call_fail (call, completions,
                 g_error_new (UC_ERROR, UC_ERROR_FAILED,
                              _ ("worker died (%s) while running %s"), death,
                              uc_worker_method_to_string (call->method)));
    }
}

static void
fail_waiting (UcWorker *self, GArray *completions, const GError *error)
{
  Call *call;

  while ((call = g_queue_pop_head (&self->waiting)) != NULL)
    {
      update_held (self, call, FALSE);
      call_fail (call, completions, g_error_copy (error));
    }
}

static void
complete_tasks (GPtrArray *tasks, GArray *completions, const GError *error)
{
  while (tasks->len > 0)
    completions_add (completions, g_ptr_array_steal_index (tasks, 0), NULL,
                     error != NULL ? g_error_copy (error) : NULL);
}

/* Queues, ahead of everything, a hold of each descriptor the previous
 * worker held, so that replayed appends find them. */
static void
queue_reholds (UcWorker *self)
{
  g_autoptr (GArray) handles = sorted_keys (self->held);

  /* The last first: each goes ahead of those that follow it. */
  for (guint i = handles->len; i > 0; i--)
    {
      Held *held = g_hash_table_lookup (
        self->held, &g_array_index (handles, guint64, i - 1));
      g_autoptr (GBytes) payload = NULL;
      g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
      g_autoptr (GError) error = NULL;
      Call *call;

      if (!held->confirmed)
        continue;
      /* A copy for the call; ours stays for the next restart. */
      if (g_unix_fd_list_append (fds, held->fd, &error) < 0)
        {
          uc_log_rl (&rehold_rl, G_LOG_LEVEL_WARNING,
                     "cannot hold handle %" G_GUINT64_FORMAT " again: %s",
                     held->handle, error->message);
          continue;
        }
      payload = handle_payload (held->handle);
      call = call_new (UC_WORKER_METHOD_HOLD, payload, fds);
      call->handle = held->handle;
      call->rehold = TRUE;
      g_queue_push_head (&self->waiting, call);
    }
}

static gboolean on_restart_timeout (gpointer user_data);
static void
on_process_exited (GObject *source, GAsyncResult *result, gpointer user_data);

static void
schedule_restart (UcWorker *self, guint delay_ms)
{
  destroy_source (&self->restart_source);
  self->restart_source = g_timeout_source_new (delay_ms);
  g_source_set_callback (self->restart_source, on_restart_timeout, self, NULL);
  g_source_set_static_name (self->restart_source, "[unixctld] worker restart");
  g_source_attach (self->restart_source, self->context);
}

/* The next back-off delay, doubling up to the maximum. */
static guint
next_backoff (UcWorker *self)
{
  guint delay = self->backoff_ms;

  self->backoff_ms = MIN (MAX (delay, 1) * 2, self->restart_max_ms);
  return delay;
}

/* Runs in the child before exec.  The worker asks for the same itself,
 * but only once it runs: a daemon killed in between (or a worker stopped
 * in between, which cannot see its socket close) would leave it behind. */
static void
die_with_daemon (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static Instance *
spawn_instance (UcWorker *self, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GSocket) socket = NULL;
  g_auto (GStrv) found_argv = NULL;
  g_auto (UcFd) our_end = -1;
  g_auto (UcFd) worker_end = -1;
  const char *const *argv;
  const char *identifier;
  Instance *inst;
  int pair[2];

  if (self->argv != NULL)
    argv = (const char *const *) self->argv;
  else
    {
      found_argv = g_new0 (char *, 2);
      found_argv[0] = uc_worker_find_program ();
      argv = (const char *const *) found_argv;
    }

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _ ("cannot create the worker’s socket: %s"),
                   g_strerror (errsv));
      return NULL;
    }
  our_end = pair[0];
  worker_end = pair[1];
  socket = g_socket_new_from_fd (our_end, error);
  if (socket == NULL)
    return NULL;
  our_end = -1; /* the socket's now */
  /* Only our end: the worker blocks on its own, by design. */
  g_socket_set_blocking (socket, FALSE);

  /* Standard input from /dev/null, output silenced, errors (its log) to
   * the daemon's own stderr.  GSubprocess closes every other descriptor
   * in the child: the pidfile and the listening sockets stay here. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_take_fd (launcher, g_steal_fd (&worker_end),
                                 UC_WORKER_FD);
  g_subprocess_launcher_set_child_setup (launcher, die_with_daemon, NULL, NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (process == NULL)
    {
      g_prefix_error (error, _ ("cannot start the worker “%s”: "), argv[0]);
      return NULL;
    }
  /* The launcher holds the worker's end until it goes; it must go now,
   * or the worker's death would not close the socket. */
  g_clear_object (&launcher);

  inst = g_new0 (Instance, 1);
  inst->ref_count = 1;
  inst->worker = self;
  inst->process = g_steal_pointer (&process);
  /* A worker that exits at once may be reaped already: no pid to show. */
  identifier = g_subprocess_get_identifier (inst->process);
  inst->pid = identifier != NULL ? (GPid) atol (identifier) : 0;
  inst->socket = g_steal_pointer (&socket);
  inst->start_time = g_get_monotonic_time ();
  inst->reader = uc_worker_reader_new (inst->socket, check_reply_header, inst);
  g_queue_init (&inst->send_queue);

  inst->in_source =
    g_socket_create_source (inst->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (inst->in_source, G_SOURCE_FUNC (on_socket_ready), inst,
                         NULL);
  g_source_set_static_name (inst->in_source, "[unixctld] worker in");
  /* GLib blocks a source while it dispatches it, unless it may recurse:
   * its descriptor leaves the poll set and comes back, and each change
   * wakes the context up, costing three syscalls and an extra poll per
   * wake-up.  on_socket_ready() may recurse: it runs no caller's code
   * until its own state is consistent (completions come last). */
  g_source_set_can_recurse (inst->in_source, TRUE);
  g_source_attach (inst->in_source, self->context);

  g_subprocess_wait_async (inst->process, NULL, on_process_exited,
                           instance_ref (inst));
  return inst;
}

/* Starts a worker now.  On failure the waiting calls fail with the reason
 * (a worker may never come), and so do calls made until one starts. */
static gboolean
try_spawn (UcWorker *self, GArray *completions, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  Instance *inst;

  destroy_source (&self->restart_source);
  inst = spawn_instance (self, &local_error);
  if (inst == NULL)
    {
      self->state = UC_WORKER_STATE_FAILED;
      g_clear_error (&self->failure);
      self->failure = g_error_copy (local_error);
      fail_waiting (self, completions, local_error);
      complete_tasks (self->restart_tasks, completions, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  self->instance = inst;
  self->state = UC_WORKER_STATE_RUNNING;
  g_clear_error (&self->failure);
  if (self->started_once)
    {
      self->restarts++;
      uc_coverage_inc (worker_restart);
    }
  self->started_once = TRUE;
  g_debug ("worker %ld started", (long) inst->pid);

  queue_reholds (self);
  complete_tasks (self->restart_tasks, completions, NULL);
  g_signal_emit (self, signals[SIGNAL_STARTED], 0, inst->pid);
  pump (self);
  return TRUE;
}

static gboolean
on_restart_timeout (gpointer user_data)
{
  UcWorker *self = UC_WORKER (user_data);
  g_autoptr (GError) error = NULL;
  GArray *completions = completions_new ();

  g_object_ref (self);
  g_clear_pointer (&self->restart_source, g_source_unref);
  if (!try_spawn (self, completions, &error))
    {
      guint delay = next_backoff (self);

      uc_log_rl (&spawn_rl, G_LOG_LEVEL_WARNING, "%s; retrying in %u ms",
                 error->message, delay);
      schedule_restart (self, delay);
    }
  completions_deliver (completions);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
finish_stop (UcWorker *self, GArray *completions)
{
  self->state = UC_WORKER_STATE_STOPPED;
  complete_tasks (self->stop_tasks, completions, NULL);
}

static void
on_process_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Instance) inst = user_data;
  g_autoptr (UcWorker) self = NULL;
  g_autofree char *status = NULL;
  g_autofree char *death = NULL;
  GArray *completions;
  gint64 ran_us;
  guint delay;

  /* No error to report: waiting without a cancellable cannot fail. */
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  if (inst->worker == NULL)
    return; /* abandoned by dispose */
  self = g_object_ref (inst->worker);
  g_assert (self->instance == inst);

  /* The exit may be noticed before the socket's last bytes are read:
   * replies sent before it count (a call answered is not replayed), and
   * so does a frame cut short. */
  completions = completions_new ();
  if (!inst->lost)
    instance_read (self, inst, TRUE, completions);
  instance_lose (inst, FALSE, NULL);
  status = describe_exit (inst->process);
  death = inst->lost_reason != NULL
            ? g_strdup_printf ("%s, %s", status, inst->lost_reason)
            : g_strdup (status);
  ran_us = g_get_monotonic_time () - inst->start_time;
  inst->worker = NULL;
  self->instance = NULL;
  instance_unref (inst); /* self->instance's reference */

  if (self->state == UC_WORKER_STATE_STOPPING)
    {
      g_debug ("worker %ld stopped (%s)", (long) inst->pid, death);
      settle_calls (self, death, TRUE, completions);
      finish_stop (self, completions);
      completions_deliver (completions);
      return;
    }

  settle_calls (self, death, FALSE, completions);
  self->state = UC_WORKER_STATE_RESTARTING;
  if (self->restart_requested)
    {
      self->restart_requested = FALSE;
      delay = 0;
      g_info ("worker %ld stopped for a restart (%s)", (long) inst->pid, death);
    }
  else
    {
      if (ran_us >= (gint64) self->stable_ms * 1000)
        self->backoff_ms = self->restart_min_ms;
      delay = next_backoff (self);
      uc_log_rl (&death_rl, G_LOG_LEVEL_WARNING,
                 "worker %ld died (%s); restarting in %u ms", (long) inst->pid,
                 death, delay);
    }
  g_signal_emit (self, signals[SIGNAL_DIED], 0, death, delay);

  /* A handler may have stopped or restarted it already. */
  if (self->state == UC_WORKER_STATE_RESTARTING && self->instance == NULL)
    {
      g_autoptr (GError) error = NULL;

      if (delay > 0)
        schedule_restart (self, delay);
      else if (!try_spawn (self, completions, &error))
        {
          delay = next_backoff (self);
          uc_log_rl (&spawn_rl, G_LOG_LEVEL_WARNING, "%s; retrying in %u ms",
                     error->message, delay);
          schedule_restart (self, delay);
        }
    }
  completions_deliver (completions);
}

/**
 * uc_worker_new:
 * @argv: (nullable) (array zero-terminated=1): the program to run and its
 *   arguments; %NULL for `unixctld-worker`, found by
 *   uc_worker_find_program() at each start
 *
 * Creates a supervisor for a worker, not started yet.  Calls made before
 * uc_worker_start() fail.
 *
 * Returns: (transfer full): a new #UcWorker
 */
UcWorker *
uc_worker_new (const char *const *argv)
{
  UcWorker *self;

  g_return_val_if_fail (argv == NULL || argv[0] != NULL, NULL);

  self = g_object_new (UC_TYPE_WORKER, NULL);
  self->argv = g_strdupv ((char **) argv);
  return self;
}

/**
 * uc_worker_get_state:
 * @self: a worker
 *
 * Returns: where the supervisor stands
 */
UcWorkerState
uc_worker_get_state (UcWorker *self)
{
  g_return_val_if_fail (UC_IS_WORKER (self), UC_WORKER_STATE_STOPPED);

  return self->state;
}

/**
 * uc_worker_get_pid:
 * @self: a worker
 *
 * Returns: the pid of the current worker process (running, or dying and
 *   not reaped yet), or 0 if there is none
 */
GPid
uc_worker_get_pid (UcWorker *self)
{
  g_return_val_if_fail (UC_IS_WORKER (self), 0);

  return self->instance != NULL ? self->instance->pid : 0;
}

/**
 * uc_worker_get_uptime:
 * @self: a worker
 *
 * Returns: microseconds since the current worker process started, or 0
 *   if there is none
 */
gint64
uc_worker_get_uptime (UcWorker *self)
{
  g_return_val_if_fail (UC_IS_WORKER (self), 0);

  if (self->instance == NULL)
    return 0;
  return g_get_monotonic_time () - self->instance->start_time;
}

/**
 * uc_worker_get_restarts:
 * @self: a worker
 *
 * Returns: how many workers were started after the first one
 */
guint
uc_worker_get_restarts (UcWorker *self)
{
  g_return_val_if_fail (UC_IS_WORKER (self), 0);

  return self->restarts;
}

/**
 * uc_worker_get_n_waiting:
 * @self: a worker
 *
 * Returns: calls waiting for a slot (the queue depth), replays included
 */
guint
uc_worker_get_n_waiting (UcWorker *self)
{
  g_return_val_if_fail (UC_IS_WORKER (self), 0);

  return g_queue_get_length (&self->waiting);
}

/**
 * uc_worker_get_n_in_flight:
 * @self: a worker
 *
 * Returns: requests sent (or being sent) to the worker and not answered,
 *   at most %UC_WORKER_MAX_IN_FLIGHT
 */
guint
uc_worker_get_n_in_flight (UcWorker *self)
{
  g_return_val_if_fail (UC_IS_WORKER (self), 0);

  return g_hash_table_size (self->in_flight);
}

/**
 * uc_worker_get_n_served:
 * @self: a worker
 *
 * Returns: requests the workers answered, errors included, since @self
 *   was created
 */
guint64
uc_worker_get_n_served (UcWorker *self)
{
  g_return_val_if_fail (UC_IS_WORKER (self), 0);

  return self->n_served;
}

/**
 * uc_worker_set_restart_delays:
 * @self: a worker
 * @min_ms: the first restart delay
 * @max_ms: the largest, at least @min_ms
 * @stable_ms: how long a worker must run for the delay to start over
 *
 * Replaces %UC_WORKER_RESTART_MIN_MS, %UC_WORKER_RESTART_MAX_MS and
 * %UC_WORKER_STABLE_MS for @self.  Meant for tests, which cannot wait ten
 * seconds for a restart.
 */
void
uc_worker_set_restart_delays (UcWorker *self,
                              guint min_ms,
                              guint max_ms,
                              guint stable_ms)
{
  g_return_if_fail (UC_IS_WORKER (self));
  g_return_if_fail (min_ms <= max_ms);

  self->restart_min_ms = min_ms;
  self->restart_max_ms = max_ms;
  self->stable_ms = stable_ms;
  self->backoff_ms = min_ms;
}

/**
 * uc_worker_start:
 * @self: a worker
 * @error: return location for a #GError
 *
 * Starts the worker process.  From then on @self keeps one running until
 * uc_worker_stop_async(), restarting it whenever it dies.  Starting a
 * worker that runs does nothing.
 *
 * Returns: %TRUE if a worker runs, otherwise %FALSE with @error set (the
 *   program cannot be started); calls then fail until uc_worker_start()
 *   or uc_worker_restart_async() succeeds
 */
gboolean
uc_worker_start (UcWorker *self, GError **error)
{
  GArray *completions;
  gboolean ok;

  g_return_val_if_fail (UC_IS_WORKER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state == UC_WORKER_STATE_STOPPING)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_FAILED,
                   _ ("the worker is stopping"));
      return FALSE;
    }
  if (self->instance != NULL)
    return TRUE;

  completions = completions_new ();
  ok = try_spawn (self, completions, error);
  completions_deliver (completions);
  return ok;
}

/**
 * uc_worker_restart_async:
 * @self: a worker
 * @cancellable: (nullable): a #GCancellable; cancelling stops waiting,
 *   not the restart
 * @callback: called once a new worker runs, or could not be started
 * @user_data: data for @callback
 *
 * Kills the worker (if one runs) and starts a new one at once, without
 * back-off.  The killed worker's calls are replayed or failed as after
 * any death (see uc_worker_call_async()).
 */
void
uc_worker_restart_async (UcWorker *self,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (UC_IS_WORKER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_worker_restart_async);

  if (self->state == UC_WORKER_STATE_STOPPING)
    {
      g_task_return_new_error (task, UC_ERROR, UC_ERROR_FAILED,
                               _ ("the worker is stopping"));
      return;
    }

  g_ptr_array_add (self->restart_tasks, g_steal_pointer (&task));
  if (self->instance != NULL)
    {
      /* Completed by the spawn that follows its exit. */
      self->restart_requested = TRUE;
      instance_lose (self->instance, TRUE, "restart requested");
    }
  else
    {
      GArray *completions = completions_new ();

      self->backoff_ms = self->restart_min_ms;
      try_spawn (self, completions, NULL);
      completions_deliver (completions);
    }
}

/**
 * uc_worker_restart_finish:
 * @self: a worker
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_worker_restart_async().
 *
 * Returns: %TRUE if a new worker runs, otherwise %FALSE with @error set
 */
gboolean
uc_worker_restart_finish (UcWorker *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_worker_restart_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * uc_worker_restart:
 * @self: a worker
 *
 * uc_worker_restart_async() without waiting for the result.
 */
void
uc_worker_restart (UcWorker *self)
{
  uc_worker_restart_async (self, NULL, NULL, NULL);
}

static gboolean
on_stop_timeout (gpointer user_data)
{
  Instance *inst = user_data;

  g_clear_pointer (&inst->kill_source, g_source_unref);
  g_debug ("worker %ld did not exit in time; killing it", (long) inst->pid);
  instance_kill (inst);
  return G_SOURCE_REMOVE;
}

/**
 * uc_worker_stop_async:
 * @self: a worker
 * @cancellable: (nullable): a #GCancellable; cancelling stops waiting,
 *   not the stop
 * @callback: called once the worker has exited
 * @user_data: data for @callback
 *
 * Stops the worker for good (the daemon's shutdown): calls still waiting
 * fail, our end of the socket is shut for writing, and the worker answers
 * the requests it has, sees end of file and exits.  One that has not
 * exited after %UC_WORKER_STOP_TIMEOUT_MS is killed.  The main loop never
 * waits for any of this.  Calls made from now on fail; uc_worker_start()
 * starts a worker again.
 */
void
uc_worker_stop_async (UcWorker *self,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  GArray *completions;
  Instance *inst;

  g_return_if_fail (UC_IS_WORKER (self));

  inst = self->instance;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_worker_stop_async);
  if (self->state == UC_WORKER_STATE_STOPPED && inst == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_ptr_array_add (self->stop_tasks, g_steal_pointer (&task));
  if (self->state == UC_WORKER_STATE_STOPPING)
    return;

  completions = completions_new ();
  self->state = UC_WORKER_STATE_STOPPING;
  self->restart_requested = FALSE;
  destroy_source (&self->restart_source);
  error = g_error_new (UC_ERROR, UC_ERROR_FAILED, _ ("the worker stopped"));
  fail_waiting (self, completions, error);
  complete_tasks (self->restart_tasks, completions, error);

  if (inst == NULL)
    finish_stop (self, completions);
  else if (!inst->lost)
    {
      /* Requests not wholly sent will never be: the worker must not see
       * half a frame before its end of file. */
      if (inst->send_offset == 0)
        {
          g_socket_shutdown (inst->socket, FALSE, TRUE, NULL);
          g_queue_clear (&inst->send_queue);
          destroy_source (&inst->out_source);
        }
      else
        instance_lose (inst, TRUE, "stopped");

      inst->kill_source = g_timeout_source_new (UC_WORKER_STOP_TIMEOUT_MS);
      g_source_set_callback (inst->kill_source, on_stop_timeout, inst, NULL);
      g_source_set_static_name (inst->kill_source, "[unixctld] worker stop");
      g_source_attach (inst->kill_source, self->context);
    }
  completions_deliver (completions);
}

/**
 * uc_worker_stop_finish:
 * @self: a worker
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_worker_stop_async().
 *
 * Returns: %TRUE once the worker has exited (it cannot fail)
 */
gboolean
uc_worker_stop_finish (UcWorker *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, uc_worker_stop_async),
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * uc_worker_stop:
 * @self: a worker
 *
 * uc_worker_stop_async() without waiting for the result.
 */
void
uc_worker_stop (UcWorker *self)
{
  uc_worker_stop_async (self, NULL, NULL, NULL);
}

static gboolean
on_call_cancelled (GCancellable *cancellable, gpointer user_data)
{
  Call *call = user_data;
  g_autoptr (GTask) task = g_steal_pointer (&call->task);
  UcWorker *self = g_task_get_source_object (task);
  GList *link = g_queue_find (&self->waiting, call);

  g_clear_pointer (&call->cancel_source, g_source_unref);
  if (link != NULL)
    {
      /* Never sent: it just goes. */
      g_queue_delete_link (&self->waiting, link);
      update_held (self, call, FALSE);
      call_free (call);
    }
  /* Otherwise it is in flight: it stays until its reply, which is then
   * dropped (its descriptors closed), so that the slot is not reused
   * while the worker may still be busy with it. */
  g_task_return_error_if_cancelled (task);
  return G_SOURCE_REMOVE;
}

/* Takes @call (transfer full) for @task (transfer full): queues it, or
 * fails it at once if no worker can take it. */
static void
submit (UcWorker *self, Call *call, GTask *task)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  gsize length = g_bytes_get_size (call->payload);
  guint n_fds =
    call->fds != NULL ? (guint) g_unix_fd_list_get_length (call->fds) : 0;

  call->task = task;
  if (length > UC_WORKER_MAX_PAYLOAD)
    {
      g_task_return_new_error (
        task, UC_ERROR, UC_ERROR_MESSAGE_TOO_LARGE,
        _ ("a %s request of %zu bytes exceeds the worker’s limit of %u "
           "bytes"),
        uc_worker_method_to_string (call->method), length,
        (unsigned) UC_WORKER_MAX_PAYLOAD);
      goto refused;
    }
  if (n_fds > UC_WORKER_MAX_FDS)
    {
      g_task_return_new_error (
        task, UC_ERROR, UC_ERROR_INVALID_ARGS,
        _ ("a %s request with %u descriptors exceeds the worker’s limit of "
           "%u"),
        uc_worker_method_to_string (call->method), n_fds,
        (unsigned) UC_WORKER_MAX_FDS);
      goto refused;
    }
  switch (self->state)
    {
      case UC_WORKER_STATE_STOPPED:
        g_task_return_new_error (task, UC_ERROR, UC_ERROR_FAILED,
                                 _ ("the worker is not running"));
        goto refused;
      case UC_WORKER_STATE_STOPPING:
        g_task_return_new_error (task, UC_ERROR, UC_ERROR_FAILED,
                                 _ ("the worker is stopping"));
        goto refused;
      case UC_WORKER_STATE_FAILED:
        g_task_return_new_error (task, UC_ERROR, UC_ERROR_FAILED,
                                 _ ("the worker is not running: %s"),
                                 self->failure->message);
        goto refused;
      case UC_WORKER_STATE_RUNNING:
      case UC_WORKER_STATE_RESTARTING:
      default:
        break;
    }
  if (g_task_return_error_if_cancelled (task))
    goto refused;

  if (cancellable != NULL)
    {
      call->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (call->cancel_source,
                             G_SOURCE_FUNC (on_call_cancelled), call, NULL);
      g_source_set_static_name (call->cancel_source, "[unixctld] worker call");
      g_source_attach (call->cancel_source, self->context);
    }
  g_queue_push_tail (&self->waiting, call);
  pump (self);
  return;

refused:
  update_held (self, call, FALSE);
  call_free (call);
}

/* Whether an open may be sent again: not with O_EXCL, where the first
 * attempt may have created the file and the second would fail. */
static gboolean
open_is_replayable (GBytes *payload)
{
  g_autoptr (GVariant) value =
    uc_worker_variant_from_bytes (payload, G_VARIANT_TYPE ("(ayiu)"), NULL);
  gint32 flags;

  if (value == NULL)
    return TRUE; /* the worker refuses it anyway */
  g_variant_get_child (value, 1, "i", &flags);
  return (flags & O_EXCL) == 0;
}

/**
 * uc_worker_call_async:
 * @self: a worker
 * @method: the method; not %UC_WORKER_METHOD_HOLD or
 *   %UC_WORKER_METHOD_RELEASE, which go through uc_worker_hold_async()
 *   and uc_worker_release_async() so that held descriptors are tracked
 * @payload: (nullable): the request's payload, in the method's format
 *   (see unixctld-worker-main.c); %NULL for none
 * @fds: (nullable): descriptors to pass; referenced until the call
 *   completes, and never modified
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Sends a request to the worker.  It goes out at once if fewer than
 * %UC_WORKER_MAX_IN_FLIGHT requests are unanswered, otherwise when one
 * is answered; while the worker restarts it waits.
 *
 * A payload over %UC_WORKER_MAX_PAYLOAD or more than %UC_WORKER_MAX_FDS
 * descriptors fail at once (%UC_ERROR_MESSAGE_TOO_LARGE,
 * %UC_ERROR_INVALID_ARGS), without reaching the worker.
 *
 * If the worker dies while running the request, the request is sent
 * again to the next worker, up to %UC_WORKER_MAX_REPLAYS times, unless
 * its method cannot be replayed safely (an open with `O_EXCL`); otherwise
 * it fails with %UC_ERROR_FAILED, saying how the worker died.
 *
 * Cancelling completes the call at once with %G_IO_ERROR_CANCELLED; a
 * request already sent is still answered by the worker, and the answer
 * dropped.
 */
void
uc_worker_call_async (UcWorker *self,
                      UcWorkerMethod method,
                      GBytes *payload,
                      GUnixFDList *fds,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  Call *call;

  g_return_if_fail (UC_IS_WORKER (self));
  g_return_if_fail (method >= UC_WORKER_METHOD_PING &&
                    method <= UC_WORKER_METHOD_LAST);
  g_return_if_fail (fds == NULL || G_IS_UNIX_FD_LIST (fds));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_worker_call_async);

  if (method == UC_WORKER_METHOD_HOLD || method == UC_WORKER_METHOD_RELEASE)
    {
      g_task_return_new_error (task, UC_ERROR, UC_ERROR_INVALID_ARGS,
                               _ ("%s requests go through their own "
                                  "function"),
                               uc_worker_method_to_string (method));
      return;
    }

  call = call_new (method, payload, fds);
  if (method == UC_WORKER_METHOD_OPEN)
    call->replayable = open_is_replayable (call->payload);
  submit (self, call, g_steal_pointer (&task));
}

/**
 * uc_worker_call_finish:
 * @self: a worker
 * @result: the result given to the callback
 * @out_fds: (out) (optional) (nullable) (transfer full): the descriptors
 *   of the reply, %NULL if it has none
 * @error: return location for a #GError
 *
 * Finishes uc_worker_call_async().  The payload has been checked against
 * the method's reply format.  An error the worker reported (the method
 * failed) is a %G_IO_ERROR from its errno, with the worker's message.
 *
 * Returns: (transfer full): the reply's payload, otherwise %NULL with
 *   @error set
 */
GBytes *
uc_worker_call_finish (UcWorker *self,
                       GAsyncResult *result,
                       GUnixFDList **out_fds,
                       GError **error)
{
  g_autoptr (CallResult) reply =
    call_propagate (self, result, uc_worker_call_async, error);

  if (reply == NULL)
    return NULL;
  if (out_fds != NULL)
    *out_fds = g_steal_pointer (&reply->fds);
  return g_steal_pointer (&reply->payload);
}

/**
 * uc_worker_ping_async:
 * @self: a worker
 * @payload: (nullable): bytes to echo, at most %UC_WORKER_PING_MAX_BYTES
 * @fds: (nullable): descriptors to send and get back
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the echo
 * @user_data: data for @callback
 *
 * Asks the worker to echo @payload, and to describe and send back the
 * descriptors in @fds: a check that the worker is alive, and that
 * descriptors cross both ways intact.  Replayed after a worker's death.
 */
void
uc_worker_ping_async (UcWorker *self,
                      GBytes *payload,
                      GUnixFDList *fds,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (UC_IS_WORKER (self));
  g_return_if_fail (fds == NULL || G_IS_UNIX_FD_LIST (fds));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_worker_ping_async);
  if (payload != NULL && g_bytes_get_size (payload) > UC_WORKER_PING_MAX_BYTES)
    {
      g_task_return_new_error (
        task, UC_ERROR, UC_ERROR_MESSAGE_TOO_LARGE,
        _ ("a ping of %zu bytes exceeds the limit of %u bytes"),
        g_bytes_get_size (payload), (unsigned) UC_WORKER_PING_MAX_BYTES);
      return;
    }
  submit (self, call_new (UC_WORKER_METHOD_PING, payload, fds),
          g_steal_pointer (&task));
}

/**
 * uc_worker_ping_finish:
 * @self: a worker
 * @result: the result given to the callback
 * @out_descriptions: (out) (optional) (transfer full): an `a(stt)`: for
 *   each descriptor the worker received, its type ("regular", "socket",
 *   "fifo", ...), device and inode, as the worker saw them
 * @out_fds: (out) (optional) (nullable) (transfer full): the same
 *   descriptors, sent back; %NULL if none were sent
 * @error: return location for a #GError
 *
 * Finishes uc_worker_ping_async().
 *
 * Returns: (transfer full): the echo, otherwise %NULL with @error set
 */
GBytes *
uc_worker_ping_finish (UcWorker *self,
                       GAsyncResult *result,
                       GVariant **out_descriptions,
                       GUnixFDList **out_fds,
                       GError **error)
{
  g_autoptr (CallResult) reply =
    call_propagate (self, result, uc_worker_ping_async, error);
  g_autoptr (GVariant) value = NULL;
  g_autoptr (GVariant) echo = NULL;

  if (reply == NULL)
    return NULL;
  /* Checked on receipt (check_reply_payload()). */
  value = g_variant_ref_sink (g_variant_new_from_bytes (
    G_VARIANT_TYPE ("(a(stt)ay)"), reply->payload, TRUE));
  if (out_descriptions != NULL)
    *out_descriptions = g_variant_get_child_value (value, 0);
  if (out_fds != NULL)
    *out_fds = g_steal_pointer (&reply->fds);
  echo = g_variant_get_child_value (value, 1);
  return g_variant_get_data_as_bytes (echo);
}

/**
 * uc_worker_open_async:
 * @self: a worker
 * @path: the file to open
 * @flags: open() flags; `O_CLOEXEC` and `O_NOCTTY` are always added
 * @mode: the mode of a file created
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the descriptor
 * @user_data: data for @callback
 *
 * Opens @path in the worker, where an open that blocks (a FIFO, a slow
 * or hung file system) costs the main loop nothing.  Replayed after a
 * worker's death unless @flags hold `O_EXCL`.
 */
void
uc_worker_open_async (UcWorker *self,
                      const char *path,
                      int flags,
                      guint mode,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GVariant) value = NULL;
  g_autoptr (GBytes) payload = NULL;
  Call *call;

  g_return_if_fail (UC_IS_WORKER (self));
  g_return_if_fail (path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_worker_open_async);

  value = g_variant_ref_sink (
    g_variant_new ("(^ayiu)", path, (gint32) flags, (guint32) mode));
  payload = g_variant_get_data_as_bytes (value);
  call = call_new (UC_WORKER_METHOD_OPEN, payload, NULL);
  call->replayable = (flags & O_EXCL) == 0;
  submit (self, call, g_steal_pointer (&task));
}

/**
 * uc_worker_open_finish:
 * @self: a worker
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_worker_open_async().  A failed open is a %G_IO_ERROR from
 * its errno, with a message that quotes the path.
 *
 * Returns: a new descriptor, close-on-exec, that the caller owns;
 *   otherwise -1 with @error set
 */
int
uc_worker_open_finish (UcWorker *self, GAsyncResult *result, GError **error)
{
  g_autoptr (CallResult) reply =
    call_propagate (self, result, uc_worker_open_async, error);
  g_autofree int *fds = NULL;

  if (reply == NULL)
    return -1;
  /* One descriptor: checked on receipt (check_reply_header()). */
  fds = g_unix_fd_list_steal_fds (reply->fds, NULL);
  return fds[0];
}

/**
 * uc_worker_hold_async:
 * @self: a worker
 * @fd: a descriptor to write to, typically a log file; it stays the
 *   caller's (the worker gets a copy)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the handle
 * @user_data: data for @callback
 *
 * Gives the worker a copy of @fd to keep, for uc_worker_append_async().
 * @self keeps one too, and gives it to each new worker after a restart,
 * before any append is replayed: a handle stays valid across worker
 * deaths until uc_worker_release_async().
 */
void
uc_worker_hold_async (UcWorker *self,
                      int fd,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_autoptr (GError) error = NULL;
  Held *held;
  Call *call;
  int ours;

  g_return_if_fail (UC_IS_WORKER (self));
  g_return_if_fail (fd >= 0);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_worker_hold_async);
  /* A hold that succeeded returns its handle even if cancelled meanwhile:
   * the caller must be able to release it. */
  g_task_set_check_cancellable (task, FALSE);

  fds = g_unix_fd_list_new ();
  if (g_unix_fd_list_append (fds, fd, &error) < 0)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  ours = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  if (ours < 0)
    {
      int errsv = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errsv),
                               _ ("cannot duplicate descriptor %d: %s"), fd,
                               g_strerror (errsv));
      return;
    }

  held = g_new0 (Held, 1);
  held->handle = ++self->next_handle;
  held->fd = ours;
  g_hash_table_insert (self->held, &held->handle, held);

  payload = handle_payload (held->handle);
  call = call_new (UC_WORKER_METHOD_HOLD, payload, fds);
  call->handle = held->handle;
  submit (self, call, g_steal_pointer (&task));
}

/**
 * uc_worker_hold_finish:
 * @self: a worker
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_worker_hold_async().
 *
 * Returns: the handle, never 0; otherwise 0 with @error set
 */
guint64
uc_worker_hold_finish (UcWorker *self, GAsyncResult *result, GError **error)
{
  g_autoptr (CallResult) reply =
    call_propagate (self, result, uc_worker_hold_async, error);

  return reply != NULL ? reply->handle : 0;
}

/**
 * uc_worker_append_async:
 * @self: a worker
 * @handle: a handle from uc_worker_hold_async()
 * @offset: where in the file @data goes
 * @data: the bytes to write
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the bytes are written
 * @user_data: data for @callback
 *
 * Writes @data at @offset of the held descriptor, with pwrite().  The
 * caller owns the offset, and keeps the file's length itself (the next
 * append goes at @offset plus the length of @data): that is what makes an
 * append idempotent, so that a worker's death loses or duplicates
 * nothing, since the append is replayed at the same place.  Appends are
 * written in the order they are made.
 */
void
uc_worker_append_async (UcWorker *self,
                        guint64 handle,
                        guint64 offset,
                        GBytes *data,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GVariant) value = NULL;
  g_autoptr (GBytes) payload = NULL;

  g_return_if_fail (UC_IS_WORKER (self));
  g_return_if_fail (data != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_worker_append_async);

  if (lookup_usable_held (self, handle, task) == NULL)
    return;

  value = g_variant_ref_sink (g_variant_new (
    "(tt@ay)", handle, offset,
    g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, data, TRUE)));
  payload = g_variant_get_data_as_bytes (value);
  submit (self, call_new (UC_WORKER_METHOD_APPEND, payload, NULL),
          g_steal_pointer (&task));
}

/**
 * uc_worker_append_finish:
 * @self: a worker
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_worker_append_async().
 *
 * Returns: %TRUE once all the bytes are written, otherwise %FALSE with
 *   @error set
 */
gboolean
uc_worker_append_finish (UcWorker *self, GAsyncResult *result, GError **error)
{
  return call_propagate_success (self, result, uc_worker_append_async, error);
}

/**
 * uc_worker_release_async:
 * @self: a worker
 * @handle: a handle from uc_worker_hold_async()
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the worker has closed its copy
 * @user_data: data for @callback
 *
 * Closes the held descriptor, in the worker and here, once the appends
 * made before are written.  No append may use @handle afterwards.
 */
void
uc_worker_release_async (UcWorker *self,
                         guint64 handle,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GBytes) payload = NULL;
  Held *held;
  Call *call;

  g_return_if_fail (UC_IS_WORKER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_worker_release_async);

  held = lookup_usable_held (self, handle, task);
  if (held == NULL)
    return;
  /* Kept (and held again by a new worker) until the release is answered,
   * so that appends made before it and replayed still find it. */
  held->releasing = TRUE;
  payload = handle_payload (handle);
  call = call_new (UC_WORKER_METHOD_RELEASE, payload, NULL);
  call->handle = handle;
  submit (self, call, g_steal_pointer (&task));
}

/**
 * uc_worker_release_finish:
 * @self: a worker
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_worker_release_async().
 *
 * Returns: %TRUE once released, otherwise %FALSE with @error set (the
 *   handle is gone either way)
 */
gboolean
uc_worker_release_finish (UcWorker *self, GAsyncResult *result, GError **error)
{
  return call_propagate_success (self, result, uc_worker_release_async, error);
}

/**
 * uc_worker_system_stats_async:
 * @self: a worker
 * @daemon_pid: the process to describe beside the worker, usually the
 *   caller's own
 * @paths: (nullable) (array zero-terminated=1): paths whose file systems
 *   to describe
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the statistics
 * @user_data: data for @callback
 *
 * Collects system statistics in the worker (see uc-system-stats.c):
 * reading /proc and statvfs() can block, the main loop must not.
 */
void
uc_worker_system_stats_async (UcWorker *self,
                              GPid daemon_pid,
                              const char *const *paths,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GVariant) value = NULL;
  g_autoptr (GBytes) payload = NULL;
  const char *const no_paths[] = { NULL };

  g_return_if_fail (UC_IS_WORKER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_worker_system_stats_async);

  value = g_variant_ref_sink (g_variant_new ("(u^aay)", (guint32) daemon_pid,
                                             paths != NULL ? paths : no_paths));
  payload = g_variant_get_data_as_bytes (value);
  submit (self, call_new (UC_WORKER_METHOD_SYSTEM_STATS, payload, NULL),
          g_steal_pointer (&task));
}

/**
 * uc_worker_system_stats_finish:
 * @self: a worker
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_worker_system_stats_async().
 *
 * Returns: (transfer full): the statistics, an `a{sv}` (see
 *   uc_system_stats_collect()), otherwise %NULL with @error set
 */
GVariant *
uc_worker_system_stats_finish (UcWorker *self,
                               GAsyncResult *result,
                               GError **error)
{
  g_autoptr (CallResult) reply =
    call_propagate (self, result, uc_worker_system_stats_async, error);

  if (reply == NULL)
    return NULL;
  /* Checked on receipt (check_reply_payload()). */
  return g_variant_ref_sink (
    g_variant_new_from_bytes (UC_SYSTEM_STATS_TYPE, reply->payload, TRUE));
}

/* memory/show: the calls waiting and in flight, the files held. */
static void
report_memory (UcMemoryUsage *usage, gpointer user_data)
{
  UcWorker *self = UC_WORKER (user_data);

  uc_memory_usage_add (usage, "worker-waiting", self->waiting.length);
  uc_memory_usage_add (usage, "worker-in-flight",
                       g_hash_table_size (self->in_flight));
  uc_memory_usage_add (usage, "worker-held", g_hash_table_size (self->held));
}

static void
uc_worker_dispose (GObject *object)
{
  UcWorker *self = UC_WORKER (object);

  if (self->memory_id != 0)
    {
      uc_memory_remove_reporter (self->memory_id);
      self->memory_id = 0;
    }
  destroy_source (&self->restart_source);
  if (self->instance != NULL)
    {
      Instance *inst = g_steal_pointer (&self->instance);

      /* Nobody will hear from it again: its exit is only reaped. */
      inst->worker = NULL;
      instance_close (inst);
      instance_kill (inst);
      destroy_source (&inst->kill_source);
      instance_unref (inst);
    }
  /* Every caller's task holds a reference to @self: only internal and
   * cancelled calls can be left. */
  g_queue_clear_full (&self->waiting, (GDestroyNotify) call_free);
  g_hash_table_remove_all (self->in_flight);
  g_hash_table_remove_all (self->held);

  G_OBJECT_CLASS (uc_worker_parent_class)->dispose (object);
}

static void
uc_worker_finalize (GObject *object)
{
  UcWorker *self = UC_WORKER (object);

  g_clear_pointer (&self->stop_tasks, g_ptr_array_unref);
  g_clear_pointer (&self->type_cache, g_ptr_array_unref);
  g_clear_pointer (&self->restart_tasks, g_ptr_array_unref);
  g_clear_pointer (&self->held, g_hash_table_unref);
  g_clear_pointer (&self->in_flight, g_hash_table_unref);
  g_clear_error (&self->failure);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->argv, g_strfreev);

  G_OBJECT_CLASS (uc_worker_parent_class)->finalize (object);
}

static void
uc_worker_class_init (UcWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = uc_worker_dispose;
  object_class->finalize = uc_worker_finalize;

  /**
   * UcWorker::started:
   * @self: the worker
   * @pid: the new worker process
   *
   * A worker process was started, the first one or after a death.
   */
  signals[SIGNAL_STARTED] =
    g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);

  /**
   * UcWorker::died:
   * @self: the worker
   * @how: how it ended: "signal 9", "exit status 1", followed by why it
   *   was killed if it was ("protocol violation: ...", "restart
   *   requested")
   * @restart_delay_ms: when the next worker starts; 0 for at once
   *
   * The worker process ended while it was to keep running (not during
   * uc_worker_stop_async()).  Its calls have been replayed or failed.
   */
  signals[SIGNAL_DIED] =
    g_signal_new ("died", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_UINT);
}

static void
uc_worker_init (UcWorker *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->state = UC_WORKER_STATE_STOPPED;
  g_queue_init (&self->waiting);
  self->in_flight = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                           (GDestroyNotify) call_free);
  self->held = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                      (GDestroyNotify) held_free);
  self->restart_min_ms = UC_WORKER_RESTART_MIN_MS;
  self->restart_max_ms = UC_WORKER_RESTART_MAX_MS;
  self->stable_ms = UC_WORKER_STABLE_MS;
  self->backoff_ms = UC_WORKER_RESTART_MIN_MS;
  self->restart_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->type_cache = uc_worker_type_cache_new ();
  self->memory_id = uc_memory_add_reporter (report_memory, self);
}
