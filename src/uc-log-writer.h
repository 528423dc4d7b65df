/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "uc-types.h"
#include "uc-worker.h"

G_BEGIN_DECLS

/* The permissions of a log file the writer creates (before the umask):
 * the owner writes, its group (adm, say) may read, others nothing. */
#define UC_LOG_WRITER_FILE_MODE 0640

/* Most bytes one append carries: a backlog larger than this goes in
 * several appends, so that one round trip never holds the worker long. */
#define UC_LOG_WRITER_MAX_APPEND (1024 * 1024)

/* Back-off between attempts after an append or a hold failed: starts
 * here, doubles with each failure in a row, never exceeds the maximum. */
#define UC_LOG_WRITER_RETRY_MIN_MS 100
#define UC_LOG_WRITER_RETRY_MAX_MS 5000

#define UC_TYPE_LOG_WRITER (uc_log_writer_get_type ())
G_DECLARE_FINAL_TYPE (UcLogWriter, uc_log_writer, UC, LOG_WRITER, GObject)

/* clang-format off */
UcLogWriter *uc_log_writer_new            (const char          *path,
                                           gsize                max_buffered);
const char  *uc_log_writer_get_path       (UcLogWriter         *self);
gboolean     uc_log_writer_is_open        (UcLogWriter         *self);
guint64      uc_log_writer_get_n_written  (UcLogWriter         *self);
guint64      uc_log_writer_get_n_dropped  (UcLogWriter         *self);
gsize        uc_log_writer_get_buffered   (UcLogWriter         *self);

gboolean     uc_log_writer_open           (UcLogWriter         *self,
                                           GError             **error);
void         uc_log_writer_set_worker     (UcLogWriter         *self,
                                           UcWorker            *worker);
void         uc_log_writer_write          (UcLogWriter         *self,
                                           const char          *line,
                                           gsize                length);
void         uc_log_writer_close          (UcLogWriter         *self);
void         uc_log_writer_flush_sync     (UcLogWriter         *self);

void         uc_log_writer_reopen_async   (UcLogWriter         *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean     uc_log_writer_reopen_finish  (UcLogWriter         *self,
                                           GAsyncResult        *result,
                                           GError             **error);
void         uc_log_writer_flush_async    (UcLogWriter         *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean     uc_log_writer_flush_finish   (UcLogWriter         *self,
                                           GAsyncResult        *result,
                                           GError             **error);
/* clang-format on */

G_END_DECLS
