/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "uc-types.h"

G_BEGIN_DECLS

/* Largest payload of one worker frame, either way.  A peer that announces
 * more is broken: the worker is restarted. */
#define UC_WORKER_MAX_PAYLOAD (16 * 1024 * 1024)

/* Most descriptors one frame may carry. */
#define UC_WORKER_MAX_FDS 16

/* Requests sent to the worker and not yet answered; further callers wait
 * (asynchronously) for a slot. */
#define UC_WORKER_MAX_IN_FLIGHT 64

/* Restart back-off after the worker dies: starts here, doubles on each
 * further death, never exceeds the maximum, and resets once a worker has
 * run for UC_WORKER_STABLE_MS. */
#define UC_WORKER_RESTART_MIN_MS 100
#define UC_WORKER_RESTART_MAX_MS 10000
#define UC_WORKER_STABLE_MS      30000

/* Times a request is sent again after the worker died while running it;
 * past that the request fails, so that a request that kills the worker
 * cannot keep it crashing forever. */
#define UC_WORKER_MAX_REPLAYS 2

/* How long uc_worker_stop_async() lets the worker finish the requests it
 * has and exit by itself before killing it. */
#define UC_WORKER_STOP_TIMEOUT_MS 2000

/* Largest ping payload: the echo and the description of up to
 * %UC_WORKER_MAX_FDS descriptors must fit in one reply. */
#define UC_WORKER_PING_MAX_BYTES (UC_WORKER_MAX_PAYLOAD - 4096)

/**
 * UcWorkerMethod:
 * @UC_WORKER_METHOD_PING: echoes the payload and describes (and returns)
 *   the descriptors it received.  Idempotent.
 * @UC_WORKER_METHOD_OPEN: opens a path with flags and mode; the reply
 *   carries the descriptor.  Idempotent (replayed after a crash), unless
 *   the flags hold `O_EXCL`.
 * @UC_WORKER_METHOD_HOLD: gives the worker a descriptor to keep under a
 *   handle, for later #UC_WORKER_METHOD_APPEND requests.
 * @UC_WORKER_METHOD_APPEND: writes bytes at a given offset of a held
 *   descriptor (pwrite).  Idempotent by construction: a replay writes the
 *   same bytes at the same place, so nothing is lost or duplicated across
 *   a worker crash.
 * @UC_WORKER_METHOD_RELEASE: closes a held descriptor.
 * @UC_WORKER_METHOD_SYSTEM_STATS: CPU, load, memory, process and file
 *   system statistics.  Idempotent.
 *
 * The worker's methods.  They are ids on the wire, never function
 * pointers: the worker is a separate executable.  Never renumber.
 */
typedef enum
{
  UC_WORKER_METHOD_PING = 1,
  UC_WORKER_METHOD_OPEN = 2,
  UC_WORKER_METHOD_HOLD = 3,
  UC_WORKER_METHOD_APPEND = 4,
  UC_WORKER_METHOD_RELEASE = 5,
  UC_WORKER_METHOD_SYSTEM_STATS = 6,
} UcWorkerMethod;

#define UC_WORKER_METHOD_LAST UC_WORKER_METHOD_SYSTEM_STATS

/**
 * UcWorkerState:
 * @UC_WORKER_STATE_STOPPED: not started, or stopped; calls fail.
 * @UC_WORKER_STATE_RUNNING: a worker process serves calls.
 * @UC_WORKER_STATE_RESTARTING: the worker died or is being restarted;
 *   calls wait for the next one.
 * @UC_WORKER_STATE_FAILED: the last attempt to start a worker failed;
 *   calls fail until a retry succeeds.
 * @UC_WORKER_STATE_STOPPING: uc_worker_stop_async() is waiting for the
 *   worker to exit.
 *
 * Where the supervisor stands, for `worker/status`.
 */
typedef enum
{
  UC_WORKER_STATE_STOPPED,
  UC_WORKER_STATE_RUNNING,
  UC_WORKER_STATE_RESTARTING,
  UC_WORKER_STATE_FAILED,
  UC_WORKER_STATE_STOPPING,
} UcWorkerState;

#define UC_TYPE_WORKER (uc_worker_get_type ())
G_DECLARE_FINAL_TYPE (UcWorker, uc_worker, UC, WORKER, GObject)

/* clang-format off */
UcWorker     *uc_worker_new                 (const char * const   *argv);
char         *uc_worker_find_program        (void);
const char   *uc_worker_method_to_string    (UcWorkerMethod        method);

UcWorkerState uc_worker_get_state           (UcWorker             *self);
GPid          uc_worker_get_pid             (UcWorker             *self);
gint64        uc_worker_get_uptime          (UcWorker             *self);
guint         uc_worker_get_restarts        (UcWorker             *self);
guint         uc_worker_get_n_waiting       (UcWorker             *self);
guint         uc_worker_get_n_in_flight     (UcWorker             *self);
guint64       uc_worker_get_n_served        (UcWorker             *self);
void          uc_worker_set_restart_delays  (UcWorker             *self,
                                             guint                 min_ms,
                                             guint                 max_ms,
                                             guint                 stable_ms);

gboolean      uc_worker_start               (UcWorker             *self,
                                             GError              **error);
void          uc_worker_restart             (UcWorker             *self);
void          uc_worker_stop                (UcWorker             *self);

void          uc_worker_restart_async       (UcWorker             *self,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
void          uc_worker_stop_async          (UcWorker             *self,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
void          uc_worker_call_async          (UcWorker             *self,
                                             UcWorkerMethod        method,
                                             GBytes               *payload,
                                             GUnixFDList          *fds,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
void          uc_worker_ping_async          (UcWorker             *self,
                                             GBytes               *payload,
                                             GUnixFDList          *fds,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
void          uc_worker_open_async          (UcWorker             *self,
                                             const char           *path,
                                             int                   flags,
                                             guint                 mode,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
void          uc_worker_hold_async          (UcWorker             *self,
                                             int                   fd,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
void          uc_worker_append_async        (UcWorker             *self,
                                             guint64               handle,
                                             guint64               offset,
                                             GBytes               *data,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
void          uc_worker_release_async       (UcWorker             *self,
                                             guint64               handle,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
void          uc_worker_system_stats_async  (UcWorker             *self,
                                             GPid                  daemon_pid,
                                             const char * const   *paths,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);

gboolean      uc_worker_restart_finish      (UcWorker             *self,
                                             GAsyncResult         *result,
                                             GError              **error);
gboolean      uc_worker_stop_finish         (UcWorker             *self,
                                             GAsyncResult         *result,
                                             GError              **error);
GBytes       *uc_worker_call_finish         (UcWorker             *self,
                                             GAsyncResult         *result,
                                             GUnixFDList         **out_fds,
                                             GError              **error);
GBytes       *uc_worker_ping_finish         (UcWorker             *self,
                                             GAsyncResult         *result,
                                             GVariant            **out_descriptions,
                                             GUnixFDList         **out_fds,
                                             GError              **error);
int           uc_worker_open_finish         (UcWorker             *self,
                                             GAsyncResult         *result,
                                             GError              **error);
guint64       uc_worker_hold_finish         (UcWorker             *self,
                                             GAsyncResult         *result,
                                             GError              **error);
gboolean      uc_worker_append_finish       (UcWorker             *self,
                                             GAsyncResult         *result,
                                             GError              **error);
gboolean      uc_worker_release_finish      (UcWorker             *self,
                                             GAsyncResult         *result,
                                             GError              **error);
GVariant     *uc_worker_system_stats_finish (UcWorker             *self,
                                             GAsyncResult         *result,
                                             GError              **error);
/* clang-format on */

G_END_DECLS
