/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * UcShutdown:
 *
 * The bookkeeping of a graceful asynchronous shutdown, for the objects
 * that have one (#UcServer, #UcDbusMirror): the tasks of every
 * `_shutdown_async()` call, which complete together; a timeout past which
 * the owner stops waiting for its work in flight; and, for each call
 * with a cancellable, a watch that stops waiting as soon as it is
 * cancelled.
 *
 * The owner says what its work in flight is and when it is over: it
 * starts its shutdown when uc_shutdown_add_task() says so, gives up on
 * the work in flight when its #UcShutdownAbortFunc is called, and calls
 * uc_shutdown_complete() once nothing is left.  Main context only.
 */
typedef struct _UcShutdown UcShutdown;

/**
 * UcShutdownAbortFunc:
 * @owner: the object shutting down
 * @timed_out: %TRUE if the shutdown timeout expired; %FALSE if the
 *   cancellable of a `_shutdown_async()` call was cancelled
 *
 * Called when the owner must stop waiting for its work in flight: it
 * ends that work now (closes connections, fails calls), and its usual
 * bookkeeping then completes the shutdown.  It may be called more than
 * once.
 */
typedef void (*UcShutdownAbortFunc) (gpointer owner, gboolean timed_out);

/* clang-format off */
UcShutdown *uc_shutdown_new        (GObject            *owner,
                                    const char         *what,
                                    guint               timeout_ms,
                                    UcShutdownAbortFunc abort_func);
void        uc_shutdown_free       (UcShutdown         *self);

gboolean    uc_shutdown_add_task   (UcShutdown         *self,
                                    GTask              *task);
gboolean    uc_shutdown_is_started (UcShutdown         *self);
gboolean    uc_shutdown_is_pending (UcShutdown         *self);
void        uc_shutdown_complete   (UcShutdown         *self);
void        uc_shutdown_unwatch    (UcShutdown         *self);
/* clang-format on */

G_END_DECLS
