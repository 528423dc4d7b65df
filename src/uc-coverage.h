/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "uc-server.h"
#include "uc-types.h"

G_BEGIN_DECLS

/* How often the rates are brought up to date (Open vSwitch's
 * COVERAGE_RUN_INTERVAL): each run closes one slot of this length. */
#define UC_COVERAGE_RUN_INTERVAL_MS 5000

/* Slots in a minute, and minutes in an hour: the windows of the rates
 * coverage/show prints. */
#define UC_COVERAGE_MIN_AVG_LEN (60 * 1000 / UC_COVERAGE_RUN_INTERVAL_MS)
#define UC_COVERAGE_HR_AVG_LEN  60

typedef struct _UcCoverageCounter UcCoverageCounter;

/**
 * UcCoverageCounter:
 * @name: the counter's name, as coverage/show prints it
 * @total: events counted so far
 *
 * One event counter.  Define it with UC_COVERAGE_DEFINE() at file scope
 * and count with uc_coverage_inc(): a plain increment of @total, as cheap
 * as anything on a hot path.  Counters are main-thread only.  The other
 * members belong to uc-coverage.c.
 */
struct _UcCoverageCounter
{
  const char *name; /* (unowned) a string literal */
  guint64 total;

  /*< private >*/
  guint64 last_total;                   /* @total at the last run */
  guint32 min[UC_COVERAGE_MIN_AVG_LEN]; /* events in each slot of the
                                         * last minute */
  guint32 hr[UC_COVERAGE_HR_AVG_LEN];   /* events in each minute of the
                                         * last hour */
  UcCoverageCounter *next;              /* (unowned) the registry */
};

/**
 * UC_COVERAGE_DEFINE:
 * @NAME: the counter's name, a C identifier (`unixctl_received`)
 *
 * Defines the counter @NAME and registers it before main() runs, so that
 * coverage/show lists it (as never hit) before the first event.  Names
 * are global: one definition per name in the program.
 */
/* A constructor, as Open vSwitch's COVERAGE_DEFINE uses: the registry is
 * complete before main(), with no list to keep by hand. */
#define UC_COVERAGE_DEFINE(NAME)                                    \
  extern UcCoverageCounter uc_coverage_counter_##NAME;              \
  UcCoverageCounter uc_coverage_counter_##NAME = { .name = #NAME }; \
  static void uc_coverage_register_##NAME (void)                    \
    __attribute__ ((constructor));                                  \
  static void uc_coverage_register_##NAME (void)                    \
  {                                                                 \
    uc_coverage_register (&uc_coverage_counter_##NAME);             \
  }                                                                 \
  G_STATIC_ASSERT (sizeof (#NAME) > 1)

/**
 * uc_coverage_inc:
 * @NAME: a counter defined with UC_COVERAGE_DEFINE()
 *
 * Counts one event.
 */
#define uc_coverage_inc(NAME) (uc_coverage_counter_##NAME.total++)

/**
 * uc_coverage_add:
 * @NAME: a counter defined with UC_COVERAGE_DEFINE()
 * @N: how many events
 *
 * Counts @N events at once.
 */
#define uc_coverage_add(NAME, N) (uc_coverage_counter_##NAME.total += (N))

/* clang-format off */
void      uc_coverage_register          (UcCoverageCounter        *counter);
guint     uc_coverage_get_n_counters    (void);
gboolean  uc_coverage_read_counter      (const char               *name,
                                         guint64                  *count);
guint32   uc_coverage_hash              (UcCoverageCounter *const *counters,
                                         gsize                     n_counters);

void      uc_coverage_run               (void);
void      uc_coverage_run_at            (gint64                    now_ms);

char     *uc_coverage_show              (void);
JsonNode *uc_coverage_show_json         (void);
void      uc_coverage_register_commands (UcServer                 *server);
/* clang-format on */

G_END_DECLS
