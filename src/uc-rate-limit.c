/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "vlog"

#include "config.h"

#include "uc-rate-limit.h"

#include "uc-vlog.h"

/*
 * The limiters of uc_log_rl() follow the process's logging
 * configuration (uc_vlog_install()), as Open vSwitch's VLOG_*_RL follow
 * vlog: a message that would go nowhere is dropped before it spends a
 * token (and before it is formatted), and `vlog/disable-rate-limit`
 * turns limiting off per module.  Without an installed configuration (a
 * test program, a library user), every message is considered, and one
 * process-wide switch applies.
 */

/* Tokens are kept in thousandths of a message, so that a rate of a few
 * messages a minute refills smoothly. */
#define TOKEN_SCALE 1000

static gboolean rate_limit_enabled = TRUE;

/**
 * uc_rate_limit_set_enabled:
 * @enabled: %FALSE to let every message through
 *
 * Turns rate limiting on or off for the whole process, as
 * `vlog/disable-rate-limit` with no module does in Open vSwitch: for
 * every module of the installed logging configuration, if any, and for
 * the modules that come later.
 */
void
uc_rate_limit_set_enabled (gboolean enabled)
{
  UcVlog *vlog = uc_vlog_get_default ();

  rate_limit_enabled = enabled;
  if (vlog != NULL)
    uc_vlog_set_rate_limit (vlog, NULL, enabled);
}

/**
 * uc_rate_limit_get_enabled:
 *
 * Returns: whether rate limiting is in force for modules that have no
 *   setting of their own
 */
gboolean
uc_rate_limit_get_enabled (void)
{
  UcVlog *vlog = uc_vlog_get_default ();

  if (vlog != NULL)
    return uc_vlog_get_rate_limit (vlog, NULL);
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
 * Decides whether the caller may log one more message: not if it would go
 * nowhere (see uc_vlog_is_enabled()), always if @log_domain's rate
 * limiting is off, otherwise if @rl has a token left.  When it may and
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
  UcVlog *vlog = uc_vlog_get_default ();
  gint64 now;

  if (vlog != NULL)
    {
      if (!uc_vlog_is_enabled (vlog, log_domain, level))
        return FALSE;
      if (!uc_vlog_get_rate_limit (vlog, log_domain))
        return TRUE;
    }
  else if (!rate_limit_enabled)
    return TRUE;

  now = g_get_monotonic_time ();
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
