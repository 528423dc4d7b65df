/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* It logs nothing of its own; its owners log in theirs. */
#define G_LOG_DOMAIN "unixctl"

#include "config.h"

#include "uc-shutdown.h"

struct _UcShutdown
{
  GObject *owner; /* (unowned): it owns us */
  char *what;     /* (owned): names the sources, for debugging */
  guint timeout_ms;
  UcShutdownAbortFunc abort_func;

  gboolean started;
  gboolean done;
  GPtrArray *tasks;   /* (owned) (element-type GTask) */
  GPtrArray *sources; /* (owned) (element-type GSource): the timeout, and
                       * one per cancellable of a pending call */
};

static void
source_destroy_and_unref (gpointer data)
{
  GSource *source = data;

  g_source_destroy (source);
  g_source_unref (source);
}

/**
 * uc_shutdown_new:
 * @owner: the object that shuts down; it owns the result
 * @what: what shuts down, in the names of the sources (for debugging)
 * @timeout_ms: how long the owner waits for its work in flight
 * @abort_func: ends that work at once
 *
 * Returns: (transfer full): the bookkeeping of a shutdown not started
 */
UcShutdown *
uc_shutdown_new (GObject *owner,
                 const char *what,
                 guint timeout_ms,
                 UcShutdownAbortFunc abort_func)
{
  UcShutdown *self;

  g_return_val_if_fail (G_IS_OBJECT (owner), NULL);
  g_return_val_if_fail (what != NULL, NULL);
  g_return_val_if_fail (abort_func != NULL, NULL);

  self = g_new0 (UcShutdown, 1);
  self->owner = owner;
  self->what = g_strdup (what);
  self->timeout_ms = timeout_ms;
  self->abort_func = abort_func;
  self->tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->sources = g_ptr_array_new_with_free_func (source_destroy_and_unref);
  return self;
}

/**
 * uc_shutdown_free:
 * @self: (transfer full): a shutdown
 *
 * Frees @self and stops its watches.  The owner calls it when it is
 * finalized: every task holds a reference to the owner, so none is left.
 */
void
uc_shutdown_free (UcShutdown *self)
{
  g_return_if_fail (self != NULL);

  g_ptr_array_unref (self->sources);
  g_ptr_array_unref (self->tasks);
  g_free (self->what);
  g_free (self);
}

static gboolean
on_timeout (gpointer user_data)
{
  UcShutdown *self = user_data;

  self->abort_func (self->owner, TRUE);
  return G_SOURCE_REMOVE;
}

static gboolean
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  UcShutdown *self = user_data;

  self->abort_func (self->owner, FALSE);
  return G_SOURCE_REMOVE;
}

/* Attaches @source (transfer full), which ends with the shutdown, to the
 * thread-default main context, as everything else of the owner. */
static void
watch (UcShutdown *self, GSource *source, GSourceFunc callback, const char *why)
{
  g_autofree char *name =
    g_strdup_printf ("[unixctld] %s shutdown %s", self->what, why);

  g_source_set_name (source, name);
  g_source_set_callback (source, callback, self, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_ptr_array_add (self->sources, source);
}

/**
 * uc_shutdown_add_task:
 * @self: a shutdown
 * @task: the task of a `_shutdown_async()` call, with its source tag set
 *
 * Adds @task to the shutdown: it completes with the shutdown, with
 * %TRUE, or with %G_IO_ERROR_CANCELLED if its cancellable was cancelled;
 * cancelling it also makes the owner stop waiting for its work in
 * flight.  A shutdown already complete completes @task at once.
 *
 * The first call starts the shutdown and its timeout, and returns %TRUE:
 * the owner then stops taking new work and winds down what it has.
 *
 * Returns: %TRUE if the caller must start shutting down now
 */
gboolean
uc_shutdown_add_task (UcShutdown *self, GTask *task)
{
  GCancellable *cancellable;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (G_IS_TASK (task), FALSE);

  if (self->done)
    {
      g_task_return_boolean (task, TRUE);
      return FALSE;
    }

  cancellable = g_task_get_cancellable (task);
  if (cancellable != NULL)
    watch (self, g_cancellable_source_new (cancellable),
           G_SOURCE_FUNC (on_cancelled), "cancelled");
  g_ptr_array_add (self->tasks, g_object_ref (task));

  if (self->started)
    return FALSE;
  self->started = TRUE;
  watch (self, g_timeout_source_new (self->timeout_ms), on_timeout, "timeout");
  return TRUE;
}

/**
 * uc_shutdown_is_started:
 * @self: a shutdown
 *
 * Returns: %TRUE once uc_shutdown_add_task() has started the shutdown,
 *   complete or not: the owner takes no new work
 */
gboolean
uc_shutdown_is_started (UcShutdown *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->started;
}

/**
 * uc_shutdown_is_pending:
 * @self: a shutdown
 *
 * Returns: %TRUE if the shutdown has started and is not complete: the
 *   owner calls uc_shutdown_complete() when its work in flight is over
 */
gboolean
uc_shutdown_is_pending (UcShutdown *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->started && !self->done;
}

/**
 * uc_shutdown_complete:
 * @self: a pending shutdown
 *
 * Completes the shutdown: stops its watches and completes every task.
 * Tasks added from now on complete at once.
 */
void
uc_shutdown_complete (UcShutdown *self)
{
  g_autoptr (GObject) keep = NULL;
  g_autoptr (GPtrArray) tasks = NULL;

  g_return_if_fail (uc_shutdown_is_pending (self));

  keep = g_object_ref (self->owner);
  self->done = TRUE;
  g_ptr_array_set_size (self->sources, 0);
  /* A callback may drop the last reference to the owner, or call its
   * `_shutdown_async()` again: the list is detached first. */
  tasks = g_steal_pointer (&self->tasks);
  self->tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);

      if (!g_task_return_error_if_cancelled (task))
        g_task_return_boolean (task, TRUE);
    }
}

/**
 * uc_shutdown_unwatch:
 * @self: a shutdown
 *
 * Stops the timeout and the cancellable watches, so that the owner's
 * #UcShutdownAbortFunc is not called again.  The owner calls it when it
 * is disposed.
 */
void
uc_shutdown_unwatch (UcShutdown *self)
{
  g_return_if_fail (self != NULL);

  g_ptr_array_set_size (self->sources, 0);
}
