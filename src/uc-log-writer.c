/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "vlog"

#include "config.h"

#include "uc-log-writer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uc-coverage.h"
#include "uc-fd.h"
#include "uc-memory.h"
#include "uc-rate-limit.h"

/**
 * UcLogWriter:
 *
 * A log file written by the worker, so that the main loop never waits on
 * the disk.
 *
 * The daemon opens the file and gives the worker a copy of the descriptor
 * once (uc_worker_hold_async()); after that every write is an append
 * (uc_worker_append_async()): a pwrite() at an offset this side keeps,
 * starting at the file's size when it was opened.  An append is therefore
 * idempotent, and the worker supervisor replays it after a worker crash,
 * re-holding the descriptor first: nothing is lost or written twice.
 *
 * The file is opened without `O_APPEND`, on purpose: Linux's pwrite()
 * ignores the offset on a descriptor opened with it and appends, so a
 * replay would duplicate.  The offsets being ours also means the file
 * must not be truncated behind our back (logrotate's `copytruncate`):
 * rotate by renaming, then `vlog/reopen`.
 *
 * Lines may come from any thread: uc_log_writer_write() only copies them
 * into a buffer, under a lock, and wakes the main context, where they are
 * sent; everything logged within one main loop iteration goes in one
 * append.  At most one append per file is in flight: lines logged while
 * it is (the worker is slow, stopped or restarting) wait in the buffer,
 * which is bounded (@max_buffered bytes, in flight included).  Past it,
 * lines are dropped and counted, and once writing resumes a line in the
 * log says how many were lost.
 *
 * Without a worker (uc_log_writer_set_worker() with %NULL: `--no-worker`,
 * or once the worker has been stopped at shutdown) the writer writes with
 * pwrite() itself, in the main loop: there is nobody else to wait.  Until
 * uc_log_writer_set_worker() is called, lines are only buffered.
 *
 * `vlog/reopen` (uc_log_writer_reopen_async()) opens the path again, in
 * the worker, and if it names another file now (it was renamed), logs
 * "closing log file" to the old one and switches: the old file gets the
 * lines logged before the switch, then is released.
 */

UC_COVERAGE_DEFINE (vlog_file_append);
UC_COVERAGE_DEFINE (vlog_file_written);
UC_COVERAGE_DEFINE (vlog_file_dropped);

typedef enum
{
  SINK_NONE,   /* undecided: buffer */
  SINK_WORKER, /* appends in the worker */
  SINK_DIRECT, /* pwrite() here */
} Sink;

typedef struct _Target Target;

/* One open log file.  Main context only. */
struct _Target
{
  int ref_count;
  UcLogWriter *writer; /* (unowned) (nullable): %NULL once it is gone */
  int fd;              /* (owned) */
  guint64 handle;      /* the worker's copy, 0 until held */
  gboolean holding;    /* a hold is on its way */
  gboolean releasing;  /* a release is on its way */
  gboolean retired;    /* replaced or closed: released once drained */
  guint64 offset;      /* where the next chunk goes */
  GByteArray *pending; /* (owned) bytes not sent yet */
  GBytes *in_flight;   /* (owned) (nullable) the chunk being written */
  guint64 in_flight_offset;
  guint64 in_flight_seq;   /* tells a stale completion from this one */
  gboolean in_flight_sent; /* an attempt to write it is under way */
};

struct _UcLogWriter
{
  GObject parent_instance;

  char *path; /* (owned) */
  gsize max_buffered;
  GThread *owner;        /* (unowned) the thread that made it */
  GMainContext *context; /* (owned) */
  GSource *wake_source;  /* (owned) */
  GSource *retry_source; /* (owned) (nullable) the back-off */
  UcWorker *worker;      /* (owned) (nullable) */
  Sink sink;
  Target *current;      /* (owned) (nullable) */
  GQueue retired;       /* (element-type Target) (owned) */
  GQueue flush_waiters; /* (element-type FlushWaiter) (owned) */
  guint64 next_seq;
  guint64 generation; /* bumped by each reopen and close */
  guint n_failures;   /* in a row */
  guint memory_id;

  /* Shared with the threads that log. */
  GMutex lock;
  GByteArray *incoming; /* (owned) lines not given to a file yet */
  gboolean accepting;   /* a file is open: lines are kept */
  gboolean wake_armed;
  gsize buffered;    /* incoming, pending and in flight, in bytes */
  guint64 accepted;  /* bytes ever kept */
  guint64 completed; /* bytes ever written */
  guint64 n_written; /* lines */
  guint64 n_dropped; /* lines */
  guint64 n_dropped_unreported;
  guint64 n_dropped_counted; /* in the coverage counter already */
};

G_DEFINE_FINAL_TYPE (UcLogWriter, uc_log_writer, G_TYPE_OBJECT)

/* A uc_log_writer_flush_async() waiting for the bytes before its mark. */
typedef struct
{
  GTask *task; /* (owned) */
  guint64 mark;
} FlushWaiter;

/* What a worker call's callback needs. */
typedef struct
{
  Target *target; /* (owned) */
  guint64 seq;
} Completion;

static void pump (UcLogWriter *self, Target *target);
static void pump_all (UcLogWriter *self);

static Target *
target_new (UcLogWriter *self, int fd, guint64 offset)
{
  Target *target = g_new0 (Target, 1);

  target->ref_count = 1;
  target->writer = self;
  target->fd = fd;
  target->offset = offset;
  target->pending = g_byte_array_new ();
  return target;
}

static Target *
target_ref (Target *target)
{
  target->ref_count++;
  return target;
}

static void
target_unref (Target *target)
{
  if (--target->ref_count > 0)
    return;
  uc_fd_clear (&target->fd);
  g_byte_array_unref (target->pending);
  g_clear_pointer (&target->in_flight, g_bytes_unref);
  g_free (target);
}

static Completion *
completion_new (Target *target, guint64 seq)
{
  Completion *completion = g_new (Completion, 1);

  completion->target = target_ref (target);
  completion->seq = seq;
  return completion;
}

static void
completion_free (Completion *completion)
{
  target_unref (completion->target);
  g_free (completion);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Completion, completion_free)

static guint64
count_lines (const guint8 *data, gsize length)
{
  const guint8 *end = data + length;
  guint64 n = 0;

  while ((data = memchr (data, '\n', end - data)) != NULL)
    {
      n++;
      data++;
    }
  return n;
}

/* The text alone, as Open vSwitch answers vlog/reopen. */
static void
set_error_from_errno (GError **error, int errsv)
{
  g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       g_strerror (errsv));
}

/* pwrite() all of @data at @offset. */
static gboolean
write_at (int fd, GBytes *data, guint64 offset, GError **error)
{
  gsize length;
  const guint8 *bytes = g_bytes_get_data (data, &length);

  if (!uc_fd_pwrite_all (fd, bytes, length, offset, NULL))
    {
      set_error_from_errno (error, errno);
      return FALSE;
    }
  return TRUE;
}

/* Moves what other threads logged to the current file.  Called with the
 * lock held. */
static void
take_incoming_locked (UcLogWriter *self)
{
  GByteArray *incoming = self->incoming;

  if (incoming->len == 0)
    return;
  if (self->current == NULL)
    {
      /* Cannot happen while lines are accepted only with a file; kept
       * consistent anyway. */
      self->buffered -= incoming->len;
      self->completed += incoming->len;
      g_byte_array_set_size (incoming, 0);
      return;
    }
  if (self->current->pending->len == 0)
    {
      self->incoming = self->current->pending;
      self->current->pending = incoming;
      return;
    }
  g_byte_array_append (self->current->pending, incoming->data, incoming->len);
  g_byte_array_set_size (incoming, 0);
}

static void
complete_flush_waiters (UcLogWriter *self, guint64 completed)
{
  FlushWaiter *waiter;

  while ((waiter = g_queue_peek_head (&self->flush_waiters)) != NULL &&
         waiter->mark <= completed)
    {
      g_queue_pop_head (&self->flush_waiters);
      g_task_return_boolean (waiter->task, TRUE);
      g_object_unref (waiter->task);
      g_free (waiter);
    }
}

/* Accounts for a chunk now in the file. */
static void
chunk_written (UcLogWriter *self, Target *target, GBytes *chunk)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (chunk, &size);
  guint64 lines = count_lines (data, size);
  guint64 unreported;
  guint64 completed;

  g_mutex_lock (&self->lock);
  self->buffered -= size;
  self->completed += size;
  self->n_written += lines;
  completed = self->completed;
  unreported = self->n_dropped_unreported;
  self->n_dropped_unreported = 0;
  g_mutex_unlock (&self->lock);

  uc_coverage_add (vlog_file_written, lines);
  complete_flush_waiters (self, completed);

  /* Writing resumed: say what the buffer could not hold meanwhile.  The
   * message comes back through uc_log_writer_write(). */
  if (unreported > 0)
    g_message ("dropped %" G_GUINT64_FORMAT
               " log messages: more than %" G_GSIZE_FORMAT
               " bytes were waiting for the log file",
               unreported, self->max_buffered);
}

static gboolean
on_retry (gpointer user_data)
{
  UcLogWriter *self = UC_LOG_WRITER (user_data);

  g_clear_pointer (&self->retry_source, g_source_unref);
  pump_all (self);
  return G_SOURCE_REMOVE;
}

/* Switches to writing here, once there is no worker to write any more. */
static gboolean
worker_gone (UcLogWriter *self)
{
  UcWorkerState state;

  if (self->sink != SINK_WORKER)
    return FALSE;
  state = uc_worker_get_state (self->worker);
  if (state != UC_WORKER_STATE_STOPPED && state != UC_WORKER_STATE_STOPPING)
    return FALSE;
  g_debug ("%s: the worker stopped; writing the log here", self->path);
  self->sink = SINK_DIRECT;
  return TRUE;
}

/* An append or a hold failed: try again after a back-off, since an
 * append written twice is harmless. */
static void
attempt_failed (UcLogWriter *self, Target *target, const GError *error)
{
  static UcRateLimit rl = UC_RATE_LIMIT_DEFAULT;
  guint delay;

  if (worker_gone (self))
    {
      pump_all (self);
      return;
    }
  /* The supervisor no longer knows the handle: hold the file again. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
    target->handle = 0;

  self->n_failures++;
  delay = UC_LOG_WRITER_RETRY_MIN_MS << MIN (self->n_failures - 1, 16);
  delay = MIN (delay, UC_LOG_WRITER_RETRY_MAX_MS);
  uc_log_rl (&rl, G_LOG_LEVEL_WARNING,
             "%s: cannot write: %s; retrying in %u ms", self->path,
             error->message, delay);
  if (self->retry_source == NULL)
    {
      self->retry_source = g_timeout_source_new (delay);
      g_source_set_callback (self->retry_source, on_retry, self, NULL);
      g_source_set_static_name (self->retry_source, "[unixctld] log retry");
      g_source_attach (self->retry_source, self->context);
    }
}

static void
append_done (UcLogWriter *self,
             Target *target,
             guint64 seq,
             const GError *error)
{
  g_autoptr (GBytes) chunk = NULL;

  if (target->in_flight == NULL || seq != target->in_flight_seq)
    return; /* written out meanwhile (uc_log_writer_flush_sync()) */
  target->in_flight_sent = FALSE;
  if (error != NULL)
    {
      attempt_failed (self, target, error);
      return;
    }

  self->n_failures = 0;
  chunk = g_steal_pointer (&target->in_flight);
  target->offset = target->in_flight_offset + g_bytes_get_size (chunk);
  chunk_written (self, target, chunk);
  pump (self, target);
}

static void
on_appended (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Completion) completion = user_data;
  g_autoptr (GError) error = NULL;
  Target *target = completion->target;

  uc_worker_append_finish (UC_WORKER (source), result, &error);
  if (target->writer != NULL)
    append_done (target->writer, target, completion->seq, error);
}

static void
send_chunk (UcLogWriter *self, Target *target)
{
  g_autoptr (GError) error = NULL;

  target->in_flight_sent = TRUE;
  if (self->sink == SINK_WORKER)
    {
      uc_coverage_inc (vlog_file_append);
      uc_worker_append_async (self->worker, target->handle,
                              target->in_flight_offset, target->in_flight, NULL,
                              on_appended,
                              completion_new (target, target->in_flight_seq));
      return;
    }
  write_at (target->fd, target->in_flight, target->in_flight_offset, &error);
  append_done (self, target, target->in_flight_seq, error);
}

/* Takes the next chunk of @target's pending bytes to write. */
static void
take_chunk (UcLogWriter *self, Target *target)
{
  GByteArray *pending = target->pending;

  if (pending->len <= UC_LOG_WRITER_MAX_APPEND)
    {
      target->pending = g_byte_array_new ();
      target->in_flight = g_byte_array_free_to_bytes (pending);
    }
  else
    {
      target->in_flight = g_bytes_new (pending->data, UC_LOG_WRITER_MAX_APPEND);
      g_byte_array_remove_range (pending, 0, UC_LOG_WRITER_MAX_APPEND);
    }
  target->in_flight_offset = target->offset;
  target->in_flight_seq = ++self->next_seq;
}

static void
forget_target (UcLogWriter *self, Target *target)
{
  g_queue_remove (&self->retired, target);
  target->writer = NULL;
  target_unref (target);
}

static void
on_released (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Completion) completion = user_data;
  g_autoptr (GError) error = NULL;
  Target *target = completion->target;

  /* The handle is gone either way. */
  if (!uc_worker_release_finish (UC_WORKER (source), result, &error))
    g_debug ("releasing a log file: %s", error->message);
  if (target->writer != NULL)
    forget_target (target->writer, target);
}

static void
release (UcLogWriter *self, Target *target)
{
  target->releasing = TRUE;
  if (target->handle != 0 && self->worker != NULL)
    {
      uc_worker_release_async (self->worker, target->handle, NULL, on_released,
                               completion_new (target, 0));
      return;
    }
  forget_target (self, target);
}

static void
on_held (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Completion) completion = user_data;
  g_autoptr (GError) error = NULL;
  Target *target = completion->target;
  UcLogWriter *self = target->writer;
  guint64 handle;

  handle = uc_worker_hold_finish (UC_WORKER (source), result, &error);
  target->holding = FALSE;
  if (self == NULL || (gpointer) source != (gpointer) self->worker)
    {
      /* Nobody will append under it. */
      if (handle != 0)
        uc_worker_release_async (UC_WORKER (source), handle, NULL, NULL, NULL);
      return;
    }
  if (handle == 0)
    {
      attempt_failed (self, target, error);
      return;
    }
  self->n_failures = 0;
  target->handle = handle;
  pump (self, target);
}

static void
hold (UcLogWriter *self, Target *target)
{
  target->holding = TRUE;
  uc_worker_hold_async (self->worker, target->fd, NULL, on_held,
                        completion_new (target, 0));
}

/* Moves @target's bytes along: holds the file first if the worker does
 * not have it, sends the next chunk if none is in flight, releases a
 * retired file once it has nothing left. */
static void
pump (UcLogWriter *self, Target *target)
{
  if (self->sink == SINK_NONE || self->retry_source != NULL ||
      target->releasing || target->in_flight_sent)
    return;
  if (self->sink == SINK_WORKER && target->handle == 0)
    {
      if (!target->holding)
        hold (self, target);
      return;
    }
  if (target->in_flight == NULL)
    {
      if (target->pending->len == 0)
        {
          if (target->retired)
            release (self, target);
          return;
        }
      take_chunk (self, target);
    }
  send_chunk (self, target);
}

static void
pump_all (UcLogWriter *self)
{
  GList *l = self->retired.head;

  while (l != NULL)
    {
      GList *next = l->next;

      pump (self, l->data);
      l = next;
    }
  if (self->current != NULL)
    pump (self, self->current);
}

static gboolean
on_wake (gpointer user_data)
{
  UcLogWriter *self = UC_LOG_WRITER (user_data);
  guint64 dropped;

  g_source_set_ready_time (self->wake_source, -1);

  g_mutex_lock (&self->lock);
  self->wake_armed = FALSE;
  take_incoming_locked (self);
  dropped = self->n_dropped - self->n_dropped_counted;
  self->n_dropped_counted = self->n_dropped;
  g_mutex_unlock (&self->lock);

  uc_coverage_add (vlog_file_dropped, dropped);
  pump_all (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
wake_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  return callback (user_data);
}

/* A source that is ready when its ready time says so, and never
 * otherwise: uc_log_writer_write() sets it from any thread. */
static GSourceFuncs wake_funcs = {
  .dispatch = wake_dispatch,
};

static void
report_memory (UcMemoryUsage *usage, gpointer user_data)
{
  UcLogWriter *self = UC_LOG_WRITER (user_data);

  uc_memory_usage_add (usage, "log-buffered",
                       uc_log_writer_get_buffered (self));
}

/* Where the lines a retired @target still holds end, if it writes to the
 * file @st describes; 0 otherwise. */
static guint64
retired_end (Target *target, const struct stat *st)
{
  struct stat target_st;

  if (fstat (target->fd, &target_st) < 0 || target_st.st_dev != st->st_dev ||
      target_st.st_ino != st->st_ino)
    return 0;
  return target->offset +
         (target->in_flight != NULL ? g_bytes_get_size (target->in_flight)
                                    : 0) +
         target->pending->len;
}

/* Makes @fd the file lines go to, after what it holds (@st); the lines
 * logged before go to the previous file, which is drained and
 * released. */
static void
install_target (UcLogWriter *self, int fd, const struct stat *st)
{
  guint64 offset = (guint64) st->st_size;
  Target *target;
  Target *old;

  /* The same file, closed and opened again, may still have lines on
   * their way from before: they keep their place, the new ones go
   * after. */
  for (GList *l = self->retired.head; l != NULL; l = l->next)
    offset = MAX (offset, retired_end (l->data, st));
  target = target_new (self, fd, offset);

  g_mutex_lock (&self->lock);
  take_incoming_locked (self);
  old = self->current;
  self->current = target;
  self->accepting = TRUE;
  g_mutex_unlock (&self->lock);

  if (old != NULL)
    {
      old->retired = TRUE;
      g_queue_push_tail (&self->retired, old);
    }
  g_message ("opened log file %s", self->path);
  pump_all (self);
}

static int
open_log_file (const char *path, GError **error)
{
  int fd;

  /* Not O_APPEND: see the top of this file. */
  do
    fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY,
               UC_LOG_WRITER_FILE_MODE);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    set_error_from_errno (error, errno);
  return fd;
}

static gboolean
stat_log_file (int fd, struct stat *st, GError **error)
{
  if (fstat (fd, st) < 0)
    {
      set_error_from_errno (error, errno);
      return FALSE;
    }
  return TRUE;
}

/**
 * uc_log_writer_new:
 * @path: the log file's absolute name
 * @max_buffered: the most bytes waiting to be written (see #UcLogWriter)
 *
 * Creates a writer for @path, which is not opened yet: see
 * uc_log_writer_open().  It belongs to the thread-default main context.
 *
 * Returns: (transfer full): a new #UcLogWriter
 */
UcLogWriter *
uc_log_writer_new (const char *path, gsize max_buffered)
{
  UcLogWriter *self;

  g_return_val_if_fail (path != NULL && g_path_is_absolute (path), NULL);
  g_return_val_if_fail (max_buffered > 0, NULL);

  self = g_object_new (UC_TYPE_LOG_WRITER, NULL);
  self->path = g_strdup (path);
  self->max_buffered = max_buffered;
  return self;
}

/**
 * uc_log_writer_get_path:
 * @self: a writer
 *
 * Returns: the log file's name
 */
const char *
uc_log_writer_get_path (UcLogWriter *self)
{
  g_return_val_if_fail (UC_IS_LOG_WRITER (self), NULL);

  return self->path;
}

/**
 * uc_log_writer_is_open:
 * @self: a writer
 *
 * Returns: whether lines are being kept for a file (it was opened, and
 *   not closed since)
 */
gboolean
uc_log_writer_is_open (UcLogWriter *self)
{
  gboolean open;

  g_return_val_if_fail (UC_IS_LOG_WRITER (self), FALSE);

  g_mutex_lock (&self->lock);
  open = self->accepting;
  g_mutex_unlock (&self->lock);
  return open;
}

/**
 * uc_log_writer_get_n_written:
 * @self: a writer
 *
 * Returns: the lines written to the file so far
 */
guint64
uc_log_writer_get_n_written (UcLogWriter *self)
{
  guint64 n;

  g_return_val_if_fail (UC_IS_LOG_WRITER (self), 0);

  g_mutex_lock (&self->lock);
  n = self->n_written;
  g_mutex_unlock (&self->lock);
  return n;
}

/**
 * uc_log_writer_get_n_dropped:
 * @self: a writer
 *
 * Returns: the lines dropped so far because the buffer was full
 */
guint64
uc_log_writer_get_n_dropped (UcLogWriter *self)
{
  guint64 n;

  g_return_val_if_fail (UC_IS_LOG_WRITER (self), 0);

  g_mutex_lock (&self->lock);
  n = self->n_dropped;
  g_mutex_unlock (&self->lock);
  return n;
}

/**
 * uc_log_writer_get_buffered:
 * @self: a writer
 *
 * Returns: the bytes waiting to be written, in flight included
 */
gsize
uc_log_writer_get_buffered (UcLogWriter *self)
{
  gsize n;

  g_return_val_if_fail (UC_IS_LOG_WRITER (self), 0);

  g_mutex_lock (&self->lock);
  n = self->buffered;
  g_mutex_unlock (&self->lock);
  return n;
}

/**
 * uc_log_writer_open:
 * @self: a writer
 * @error: return location for a #GError
 *
 * Opens the file, creating it (mode %UC_LOG_WRITER_FILE_MODE) if needed,
 * here and now: for start-up, before the main loop runs.  Lines go after
 * what the file holds.  Logs "opened log file PATH".
 *
 * Returns: %TRUE if open, otherwise %FALSE with @error set, whose message
 *   is the system's text for the failure
 */
gboolean
uc_log_writer_open (UcLogWriter *self, GError **error)
{
  g_auto (UcFd) fd = -1;
  struct stat st;

  g_return_val_if_fail (UC_IS_LOG_WRITER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  fd = open_log_file (self->path, error);
  if (fd < 0 || !stat_log_file (fd, &st, error))
    return FALSE;
  self->generation++;
  install_target (self, g_steal_fd (&fd), &st);
  return TRUE;
}

/**
 * uc_log_writer_set_worker:
 * @self: a writer
 * @worker: (nullable): the worker that writes the file, or %NULL to write
 *   it here
 *
 * Says who writes the file; until this is called, lines are buffered.
 * The daemon calls it once its worker runs, or with %NULL when it has
 * none.  A writer whose worker stops (the daemon is shutting down)
 * switches to writing itself.
 */
void
uc_log_writer_set_worker (UcLogWriter *self, UcWorker *worker)
{
  GList *targets;

  g_return_if_fail (UC_IS_LOG_WRITER (self));
  g_return_if_fail (worker == NULL || UC_IS_WORKER (worker));

  if (self->worker != worker)
    {
      /* The old worker's handles mean nothing to a new one. */
      targets = g_list_copy (self->retired.head);
      if (self->current != NULL)
        targets = g_list_append (targets, self->current);
      for (GList *l = targets; l != NULL; l = l->next)
        {
          Target *target = l->data;

          if (target->handle != 0 && self->worker != NULL)
            uc_worker_release_async (self->worker, target->handle, NULL, NULL,
                                     NULL);
          target->handle = 0;
        }
      g_list_free (targets);
      g_set_object (&self->worker, worker);
    }
  self->sink = worker != NULL ? SINK_WORKER : SINK_DIRECT;
  self->n_failures = 0;
  if (self->retry_source != NULL)
    {
      g_source_destroy (self->retry_source);
      g_clear_pointer (&self->retry_source, g_source_unref);
    }
  pump_all (self);
}

/**
 * uc_log_writer_write:
 * @self: a writer
 * @line: a log line, with its newline
 * @length: its length in bytes
 *
 * Queues @line for the file, from any thread, without waiting for
 * anything but a lock.  If the file is closed, the line is not kept; if
 * the buffer is full, it is dropped and counted.
 */
void
uc_log_writer_write (UcLogWriter *self, const char *line, gsize length)
{
  gboolean wake = FALSE;

  g_return_if_fail (UC_IS_LOG_WRITER (self));
  g_return_if_fail (line != NULL || length == 0);

  g_mutex_lock (&self->lock);
  if (!self->accepting)
    ;
  else if (length > self->max_buffered - self->buffered)
    {
      self->n_dropped++;
      self->n_dropped_unreported++;
      wake = !self->wake_armed;
      self->wake_armed = TRUE;
    }
  else
    {
      g_byte_array_append (self->incoming, (const guint8 *) line, length);
      self->buffered += length;
      self->accepted += length;
      wake = !self->wake_armed;
      self->wake_armed = TRUE;
    }
  g_mutex_unlock (&self->lock);

  /* Outside the lock: it takes the context's. */
  if (wake)
    g_source_set_ready_time (self->wake_source, 0);
}

/**
 * uc_log_writer_close:
 * @self: a writer
 *
 * Closes the file, as `vlog/close` does: the lines logged so far are
 * still written, later ones are not kept.  uc_log_writer_reopen_async()
 * opens it again.
 */
void
uc_log_writer_close (UcLogWriter *self)
{
  Target *old;

  g_return_if_fail (UC_IS_LOG_WRITER (self));

  self->generation++;
  g_mutex_lock (&self->lock);
  take_incoming_locked (self);
  old = g_steal_pointer (&self->current);
  self->accepting = FALSE;
  g_mutex_unlock (&self->lock);

  if (old != NULL)
    {
      old->retired = TRUE;
      g_queue_push_tail (&self->retired, old);
    }
  pump_all (self);
}

/* Writes @target's bytes here and now, what is in flight included.
 * Returns %FALSE if a write failed; what it held stays. */
static gboolean
write_out (UcLogWriter *self, Target *target)
{
  while (target->in_flight != NULL || target->pending->len > 0)
    {
      g_autoptr (GBytes) chunk = NULL;
      g_autoptr (GError) error = NULL;

      if (target->in_flight == NULL)
        take_chunk (self, target);
      /* A completion still on its way is stale from now on. */
      target->in_flight_seq = ++self->next_seq;
      target->in_flight_sent = FALSE;
      if (!write_at (target->fd, target->in_flight, target->in_flight_offset,
                     &error))
        {
          g_debug ("%s: %s", self->path, error->message);
          return FALSE;
        }
      chunk = g_steal_pointer (&target->in_flight);
      target->offset = target->in_flight_offset + g_bytes_get_size (chunk);
      chunk_written (self, target, chunk);
    }
  return TRUE;
}

/**
 * uc_log_writer_flush_sync:
 * @self: a writer
 *
 * Writes everything waiting, here and now, blocking: for the end of the
 * process, when the main loop will not run again, and before a fatal
 * error aborts it.  A write the worker is making at the same time writes
 * the same bytes at the same place, so the two do not conflict.  Call it
 * from the thread that made @self.
 */
void
uc_log_writer_flush_sync (UcLogWriter *self)
{
  g_return_if_fail (UC_IS_LOG_WRITER (self));
  g_return_if_fail (g_thread_self () == self->owner);

  /* Twice: writing may log a drop report, which comes back through
   * incoming; it cannot report again. */
  for (guint round = 0; round < 2; round++)
    {
      g_mutex_lock (&self->lock);
      take_incoming_locked (self);
      g_mutex_unlock (&self->lock);

      for (GList *l = self->retired.head; l != NULL; l = l->next)
        write_out (self, l->data);
      if (self->current != NULL)
        write_out (self, self->current);
    }
}

/* Takes @owned_task, and @error (if @fd is -1). */
static void
reopen_complete (GTask *owned_task, int fd, GError *error)
{
  g_autoptr (GTask) task = owned_task;
  UcLogWriter *self = g_task_get_source_object (task);
  guint64 generation = *(guint64 *) g_task_get_task_data (task);
  g_autoptr (GError) local_error = error;
  g_auto (UcFd) owned_fd = fd;
  struct stat st;
  struct stat old_st;

  if (fd < 0 || !stat_log_file (fd, &st, &local_error))
    {
      g_task_return_error (task, g_steal_pointer (&local_error));
      return;
    }

  /* A close or another reopen came after this one: it stands.  Or it is
   * still the same file (it was not rotated): nothing to do, as in Open
   * vSwitch. */
  if (generation != self->generation ||
      (self->current != NULL && fstat (self->current->fd, &old_st) == 0 &&
       old_st.st_dev == st.st_dev && old_st.st_ino == st.st_ino))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* Logged to the old file, which gets what was logged before the
   * switch. */
  if (self->current != NULL)
    g_message ("closing log file");
  install_target (self, g_steal_fd (&owned_fd), &st);
  g_task_return_boolean (task, TRUE);
}

static void
on_reopened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError *error = NULL;
  int fd = uc_worker_open_finish (UC_WORKER (source), result, &error);

  reopen_complete (user_data, fd, error);
}

/**
 * uc_log_writer_reopen_async:
 * @self: a writer
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once done
 * @user_data: data for @callback
 *
 * Opens the file's path again, as `vlog/reopen` does after a rotation:
 * if it names another file now, "closing log file" is logged to the old
 * one, lines switch to the new one (logging "opened log file PATH"), and
 * the old one is released once written.  If it is the same file, nothing
 * changes.  A closed writer opens the path again.  The path is opened by
 * the worker if one runs, so that the main loop does not wait.
 */
void
uc_log_writer_reopen_async (UcLogWriter *self,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  GTask *task;
  GError *error = NULL;
  guint64 generation;
  int fd;

  g_return_if_fail (UC_IS_LOG_WRITER (self));

  generation = ++self->generation;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_log_writer_reopen_async);
  g_task_set_task_data (task, g_memdup2 (&generation, sizeof generation),
                        g_free);

  if (self->sink == SINK_WORKER &&
      (uc_worker_get_state (self->worker) == UC_WORKER_STATE_RUNNING ||
       uc_worker_get_state (self->worker) == UC_WORKER_STATE_RESTARTING))
    {
      /* The worker adds O_CLOEXEC; not O_APPEND, as above. */
      uc_worker_open_async (self->worker, self->path, O_WRONLY | O_CREAT,
                            UC_LOG_WRITER_FILE_MODE, cancellable, on_reopened,
                            task);
      return;
    }
  fd = open_log_file (self->path, &error);
  reopen_complete (task, fd, error);
}

/**
 * uc_log_writer_reopen_finish:
 * @self: a writer
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_log_writer_reopen_async().
 *
 * Returns: %TRUE if the file is open, otherwise %FALSE with @error set
 *   (the previous file, if any, stays in use)
 */
gboolean
uc_log_writer_reopen_finish (UcLogWriter *self,
                             GAsyncResult *result,
                             GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_log_writer_reopen_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * uc_log_writer_flush_async:
 * @self: a writer
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the lines are in the file
 * @user_data: data for @callback
 *
 * Waits until every line queued before the call is written (dropped
 * lines excepted).
 */
void
uc_log_writer_flush_async (UcLogWriter *self,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  FlushWaiter *waiter;
  guint64 mark;
  guint64 completed;

  g_return_if_fail (UC_IS_LOG_WRITER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_log_writer_flush_async);

  g_mutex_lock (&self->lock);
  mark = self->accepted;
  completed = self->completed;
  g_mutex_unlock (&self->lock);

  if (completed >= mark)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  waiter = g_new (FlushWaiter, 1);
  waiter->task = g_steal_pointer (&task);
  waiter->mark = mark;
  g_queue_push_tail (&self->flush_waiters, waiter);
}

/**
 * uc_log_writer_flush_finish:
 * @self: a writer
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_log_writer_flush_async().
 *
 * Returns: %TRUE once written, otherwise %FALSE with @error set
 */
gboolean
uc_log_writer_flush_finish (UcLogWriter *self,
                            GAsyncResult *result,
                            GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_log_writer_flush_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
uc_log_writer_dispose (GObject *object)
{
  UcLogWriter *self = UC_LOG_WRITER (object);
  Target *target;

  if (self->memory_id != 0)
    {
      uc_memory_remove_reporter (self->memory_id);
      self->memory_id = 0;
    }
  if (g_thread_self () == self->owner)
    uc_log_writer_flush_sync (self);

  g_mutex_lock (&self->lock);
  self->accepting = FALSE;
  target = g_steal_pointer (&self->current);
  g_mutex_unlock (&self->lock);
  if (target != NULL)
    g_queue_push_tail (&self->retired, target);

  while ((target = g_queue_pop_head (&self->retired)) != NULL)
    {
      if (target->handle != 0 && self->worker != NULL)
        uc_worker_release_async (self->worker, target->handle, NULL, NULL,
                                 NULL);
      target->writer = NULL;
      target_unref (target);
    }
  g_clear_object (&self->worker);

  if (self->retry_source != NULL)
    {
      g_source_destroy (self->retry_source);
      g_clear_pointer (&self->retry_source, g_source_unref);
    }
  if (self->wake_source != NULL)
    {
      g_source_destroy (self->wake_source);
      g_clear_pointer (&self->wake_source, g_source_unref);
    }

  G_OBJECT_CLASS (uc_log_writer_parent_class)->dispose (object);
}

static void
uc_log_writer_finalize (GObject *object)
{
  UcLogWriter *self = UC_LOG_WRITER (object);

  /* Every waiter's task holds a reference: none is left. */
  g_assert (g_queue_is_empty (&self->flush_waiters));
  g_clear_pointer (&self->incoming, g_byte_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->path, g_free);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (uc_log_writer_parent_class)->finalize (object);
}

static void
uc_log_writer_class_init (UcLogWriterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = uc_log_writer_dispose;
  object_class->finalize = uc_log_writer_finalize;
}

static void
uc_log_writer_init (UcLogWriter *self)
{
  g_mutex_init (&self->lock);
  g_queue_init (&self->retired);
  g_queue_init (&self->flush_waiters);
  self->incoming = g_byte_array_new ();
  self->owner = g_thread_self ();
  self->context = g_main_context_ref_thread_default ();
  self->sink = SINK_NONE;

  /* Default priority: dispatched in the iteration after the lines were
   * logged, beside the sources that logged them, never starved by them. */
  self->wake_source = g_source_new (&wake_funcs, sizeof (GSource));
  g_source_set_callback (self->wake_source, on_wake, self, NULL);
  g_source_set_static_name (self->wake_source, "[unixctld] log writer");
  g_source_set_ready_time (self->wake_source, -1);
  g_source_attach (self->wake_source, self->context);

  self->memory_id = uc_memory_add_reporter (report_memory, self);
}
