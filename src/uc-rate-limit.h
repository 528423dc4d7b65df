/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "uc-types.h"

G_BEGIN_DECLS

/**
 * UcRateLimit:
 *
 * A token bucket for log messages that a peer can provoke at will (bad
 * input, floods).  Up to @burst messages pass at once; after that, @rate
 * messages a minute.  Messages that do not pass are counted, and the next
 * one that passes is preceded by a line saying how many were dropped.
 *
 * Declare one per call site, statically, with UC_RATE_LIMIT_INIT().  Not
 * thread-safe: use it from the main context only.
 */
struct _UcRateLimit
{
  guint rate;           /* messages per minute once the burst is spent */
  guint burst;          /* messages that may pass at once */
  guint tokens;         /* available, in 1/1000 of a message */
  gint64 last_fill;     /* monotonic µs of the last refill, 0 = never */
  guint n_dropped;      /* suppressed since the last reported drop */
  gint64 first_dropped; /* monotonic µs */
  gint64 last_dropped;  /* monotonic µs */
};

/**
 * UC_RATE_LIMIT_INIT:
 * @RATE: messages per minute
 * @BURST: messages that may pass at once
 *
 * Static initializer for #UcRateLimit.
 */
#define UC_RATE_LIMIT_INIT(RATE, BURST) \
  {                                     \
    (RATE), (BURST), 0, 0, 0, 0, 0      \
  }

/* The default used by every peer-provoked message: OVS's (5 a minute,
 * bursts of 10 for warnings). */
#define UC_RATE_LIMIT_DEFAULT UC_RATE_LIMIT_INIT (5, 10)

/* clang-format off */
gboolean uc_rate_limit_check          (UcRateLimit *rl,
                                       const char  *log_domain,
                                       GLogLevelFlags level);
void     uc_rate_limit_set_enabled    (gboolean     enabled);
gboolean uc_rate_limit_get_enabled    (void);
/* clang-format on */

/**
 * uc_log_rl:
 * @RL: (not nullable): a static #UcRateLimit
 * @LEVEL: a #GLogLevelFlags level
 * @...: printf-style format and arguments
 *
 * Logs a message in the current %G_LOG_DOMAIN unless @RL says too many
 * have passed recently.
 */
#define uc_log_rl(RL, LEVEL, ...)                          \
  G_STMT_START                                             \
  {                                                        \
    if (uc_rate_limit_check ((RL), G_LOG_DOMAIN, (LEVEL))) \
      g_log (G_LOG_DOMAIN, (LEVEL), __VA_ARGS__);          \
  }                                                        \
  G_STMT_END

G_END_DECLS
