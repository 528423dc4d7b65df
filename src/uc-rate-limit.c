/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "vlog"

#include "config.h"

#include "uc-rate-limit.h"

/* Tokens are kept in thousandths of a message, so that a rate of a few
 * messages a minute refills smoothly. */
#define TOKEN_SCALE 1000

static gboolean rate_limit_enabled = TRUE;

/**
 * uc_rate_limit_set_enabled:
 * @enabled: %FALSE to let every message through
 *
 * Turns rate limiting on or off for the whole process, as
 * `vlog/disable-rate-limit` does in Open vSwitch.
 */
void
uc_rate_limit_set_enabled (gboolean enabled)
{
  rate_limit_enabled = enabled;
}

/**
 * uc_rate_limit_get_enabled:
 *
 * Returns: whether rate limiting is in force
 */
gboolean
uc_rate_limit_get_enabled (void)
{
  return rate_limit_enabled;
}

static void
refill (UcRateLimit *rl, gint64 now)
{
  guint64 max_tokens = (guint64) rl->burst * TOKEN_SCALE;
  guint64 added;

  if (rl->last_fill == 0)
    {
      rl->tokens = (guint) max_tokens;
      rl->last_fill = now;
      return;
    }

  /* rate per minute, times elapsed µs, scaled to thousandths. */
  added = (guint64) (now - rl->last_fill) * rl->rate * TOKEN_SCALE /
          (60 * G_USEC_PER_SEC);
  if (added == 0)
    return;
  rl->tokens = (guint) MIN (max_tokens, rl->tokens + added);
  rl->last_fill = now;
}

/**
 * uc_rate_limit_check:
 * @rl: the call site's limiter
 * @log_domain: where a drop report is logged
 * @level: the level of the message being considered
 *
 * Decides whether the caller may log one more message.  When it may and
 * messages were dropped before, a summary of the drop is logged first, at
 * the same @level, so the record shows that something was suppressed.
 *
 * Returns: %TRUE if the caller should log its message
 */
gboolean
uc_rate_limit_check (UcRateLimit *rl,
                     const char *log_domain,
                     GLogLevelFlags level)
{
  gint64 now = g_get_monotonic_time ();

  if (!rate_limit_enabled)
    return TRUE;

  refill (rl, now);
  if (rl->tokens < TOKEN_SCALE)
    {
      if (rl->n_dropped == 0)
        rl->first_dropped = now;
      rl->last_dropped = now;
      rl->n_dropped++;
      return FALSE;
    }
  rl->tokens -= TOKEN_SCALE;

  if (rl->n_dropped > 0)
    {
      g_log (log_domain, level,
             "Dropped %u log messages in last %" G_GINT64_FORMAT
             " seconds (most recently, %" G_GINT64_FORMAT
             " seconds ago) due to excessive rate",
             rl->n_dropped, (now - rl->first_dropped) / G_USEC_PER_SEC,
             (now - rl->last_dropped) / G_USEC_PER_SEC);
      rl->n_dropped = 0;
    }
  return TRUE;
}
