/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "uc-server.h"
#include "uc-types.h"

G_BEGIN_DECLS

/* How often the peak resident set size is checked (Open vSwitch's
 * MEMORY_CHECK_INTERVAL). */
#define UC_MEMORY_CHECK_INTERVAL_MS 10000

typedef struct _UcMemoryUsage UcMemoryUsage;

/**
 * UcMemoryReportFunc:
 * @usage: where to add figures, with uc_memory_usage_add()
 * @user_data: the data given to uc_memory_add_reporter()
 *
 * Reports what one object holds.  Called from the main context, with the
 * registry locked: it must be quick, and must not add or remove
 * reporters.
 */
typedef void (*UcMemoryReportFunc) (UcMemoryUsage *usage, gpointer user_data);

/* clang-format off */
guint     uc_memory_add_reporter      (UcMemoryReportFunc  func,
                                       gpointer            user_data);
void      uc_memory_remove_reporter   (guint               id);
void      uc_memory_usage_add         (UcMemoryUsage      *usage,
                                       const char         *key,
                                       guint64             value);

char     *uc_memory_show              (void);
JsonNode *uc_memory_show_json         (void);

void      uc_memory_run               (void);
void      uc_memory_run_at            (gint64              now_ms,
                                       guint64             peak_rss_kb);
void      uc_memory_register_commands (UcServer           *server);
/* clang-format on */

G_END_DECLS
