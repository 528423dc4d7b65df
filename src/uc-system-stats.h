/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "uc-types.h"

G_BEGIN_DECLS

/* The type of the statistics, in a worker's reply and everywhere else. */
#define UC_SYSTEM_STATS_TYPE G_VARIANT_TYPE_VARDICT

/* The type of a system-stats request: the daemon's pid and the paths to
 * statvfs() (as byte strings: file names need not be UTF-8). */
#define UC_SYSTEM_STATS_REQUEST_TYPE ((const GVariantType *) "(uaay)")

/* clang-format off */
GVariant   *uc_system_stats_collect (GPid                daemon_pid,
                                     const char * const *paths);
char       *uc_system_stats_to_text (GVariant           *stats);
JsonNode   *uc_system_stats_to_json (GVariant           *stats);
/* clang-format on */

G_END_DECLS
