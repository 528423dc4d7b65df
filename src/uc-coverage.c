/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "coverage"

#include "config.h"

#include "uc-coverage.h"

#include <stdlib.h>
#include <string.h>

/*
 * Event coverage counters, as Open vSwitch keeps them (lib/coverage.c):
 * each module defines its counters with UC_COVERAGE_DEFINE() and counts
 * with uc_coverage_inc(), a plain increment.  Every
 * %UC_COVERAGE_RUN_INTERVAL_MS the main loop calls uc_coverage_run(),
 * which closes a slot: the events since the last run go into the slot of
 * the current minute, and each full minute into a slot of the hour, from
 * which coverage/show computes the rates over the last 5 seconds, minute
 * and hour.
 *
 * The registry is a list threaded through the counters themselves, built
 * by constructors before main(): registering allocates nothing.
 */

/* Every counter, newest first. */
static UcCoverageCounter *registry;
static guint n_registered;

/* The slot the next run fills, counted over an hour of slots, and when
 * that run is due (monotonic ms; 0 before the first run). */
static guint idx_count;
static gint64 run_time_ms;

/**
 * uc_coverage_register:
 * @counter: (transfer none): a counter that lives as long as the program
 *
 * Adds @counter to the registry.  UC_COVERAGE_DEFINE() calls this before
 * main(); call it directly only for a counter made otherwise.
 */
void
uc_coverage_register (UcCoverageCounter *counter)
{
  g_return_if_fail (counter != NULL && counter->name != NULL);

  counter->next = registry;
  registry = counter;
  n_registered++;
}

/**
 * uc_coverage_get_n_counters:
 *
 * Returns: how many counters the program has
 */
guint
uc_coverage_get_n_counters (void)
{
  return n_registered;
}

static int
compare_by_name (gconstpointer a, gconstpointer b)
{
  const UcCoverageCounter *ca = *(UcCoverageCounter *const *) a;
  const UcCoverageCounter *cb = *(UcCoverageCounter *const *) b;

  return strcmp (ca->name, cb->name);
}

/* The counters in an array, sorted by name: the order coverage/show
 * prints them in, which does not depend on the order of the program's
 * constructors. */
static GPtrArray *
sorted_counters (void)
{
  GPtrArray *array = g_ptr_array_sized_new (n_registered);

  for (UcCoverageCounter *c = registry; c != NULL; c = c->next)
    g_ptr_array_add (array, c);
  g_ptr_array_sort (array, compare_by_name);
  return array;
}

/**
 * uc_coverage_read_counter:
 * @name: a counter's name
 * @count: (out): where to store its total
 *
 * Reads one counter, as `coverage/read-counter` does.
 *
 * Returns: %TRUE if @name is a counter, otherwise %FALSE
 */
gboolean
uc_coverage_read_counter (const char *name, guint64 *count)
{
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (count != NULL, FALSE);

  for (UcCoverageCounter *c = registry; c != NULL; c = c->next)
    {
      if (strcmp (c->name, name) == 0)
        {
          *count = c->total;
          return TRUE;
        }
    }
  return FALSE;
}

/* Open vSwitch's hash functions (lib/hash.h, lib/hash.c, without the
 * SSE 4.2 variant), so that coverage/show prints the same hash as Open
 * vSwitch for the same counts: murmurhash3's mixing steps. */
static guint32
hash_rot (guint32 x, int k)
{
  return (x << k) | (x >> (32 - k));
}

static guint32
hash_add (guint32 hash, guint32 data)
{
  if (data != 0)
    {
      data *= 0xcc9e2d51;
      data = hash_rot (data, 15);
      data *= 0x1b873593;
      hash ^= data;
    }
  hash = hash_rot (hash, 13);
  return hash * 5 + 0xe6546b64;
}

static guint32
hash_finish (guint32 hash, guint32 final)
{
  hash ^= final;
  hash ^= hash >> 16;
  hash *= 0x85ebca6b;
  hash ^= hash >> 13;
  hash *= 0xc2b2ae35;
  hash ^= hash >> 16;
  return hash;
}

static guint32
hash_int (guint32 x, guint32 basis)
{
  return hash_finish (hash_add (hash_add (x, 0), basis), 8);
}

static guint32
hash_string (const char *s, guint32 basis)
{
  gsize n = strlen (s);
  guint32 hash = basis;
  gsize i;

  /* Four bytes at a time, read as a little-endian word as on the
   * machines Open vSwitch runs on; the tail is zero-padded. */
  for (i = 0; i < n; i += 4)
    {
      guint8 word[4] = { 0 };

      memcpy (word, s + i, MIN (4, n - i));
      hash =
        hash_add (hash, (guint32) word[0] | (guint32) word[1] << 8 |
                          (guint32) word[2] << 16 | (guint32) word[3] << 24);
    }
  return hash_finish (hash, (guint32) n);
}

static int
compare_by_total (gconstpointer a, gconstpointer b)
{
  const UcCoverageCounter *ca = *(UcCoverageCounter *const *) a;
  const UcCoverageCounter *cb = *(UcCoverageCounter *const *) b;

  if (ca->total != cb->total)
    return ca->total < cb->total ? 1 : -1;
  return strcmp (ca->name, cb->name);
}

/**
 * uc_coverage_hash:
 * @counters: (array length=n_counters): counters
 * @n_counters: how many
 *
 * The hash coverage/show prints, computed as Open vSwitch computes it:
 * the counters are ranked by total (largest first, then by name), and
 * the names of each group of counters with the same nonzero total are
 * hashed with the group's rank.  Two processes that counted the same
 * events print the same hash, whatever order their counters are in.
 *
 * Returns: the hash
 */
guint32
uc_coverage_hash (UcCoverageCounter *const *counters, gsize n_counters)
{
  g_autofree UcCoverageCounter **c = NULL;
  guint32 hash = 0;
  guint n_groups = 0;
  gsize i = 0;

  g_return_val_if_fail (counters != NULL || n_counters == 0, 0);

  c = g_memdup2 (counters, n_counters * sizeof *c);
  if (n_counters > 0)
    qsort (c, n_counters, sizeof *c, compare_by_total);

  while (i < n_counters && c[i]->total != 0)
    {
      gsize j;

      n_groups++;
      hash = hash_int ((guint32) i, hash);
      for (j = i; j < n_counters && c[j]->total == c[i]->total; j++)
        hash = hash_string (c[j]->name, hash);
      i = j;
    }
  return hash_int (n_groups, hash);
}

static guint32
sum_slots (const guint32 *slots, gsize n)
{
  guint32 sum = 0;

  for (gsize i = 0; i < n; i++)
    sum += slots[i];
  return sum;
}

/**
 * uc_coverage_run_at:
 * @now_ms: the monotonic time, in milliseconds
 *
 * uc_coverage_run() at a given time, for callers (and tests) with their
 * own clock.  It does nothing before the run is due.  A run that comes
 * late closes every slot it missed, the events since the last run spread
 * evenly over them, as Open vSwitch does.
 */
void
uc_coverage_run_at (gint64 now_ms)
{
  guint slots;

  if (run_time_ms != 0 && now_ms < run_time_ms)
    return;

  slots =
    run_time_ms == 0
      ? 1
      : (guint) MIN ((now_ms - run_time_ms) / UC_COVERAGE_RUN_INTERVAL_MS + 1,
                     UC_COVERAGE_MIN_AVG_LEN * UC_COVERAGE_HR_AVG_LEN);

  for (UcCoverageCounter *c = registry; c != NULL; c = c->next)
    {
      /* Counts are kept in 32 bits per slot, as Open vSwitch does; a
       * slot of 2^32 events in 5 seconds is out of reach. */
      guint32 count = (guint32) (c->total - c->last_total);
      guint32 portion = count / slots;
      guint idx = idx_count;

      c->last_total = c->total;
      for (guint j = 0; j < slots; j++)
        {
          guint m_idx = idx % UC_COVERAGE_MIN_AVG_LEN;
          guint h_idx = idx / UC_COVERAGE_MIN_AVG_LEN;

          c->min[m_idx] = portion + (j == slots - 1 ? count % slots : 0);
          c->hr[h_idx] =
            m_idx == 0 ? c->min[m_idx] : c->hr[h_idx] + c->min[m_idx];
          idx = (idx + 1) % (UC_COVERAGE_MIN_AVG_LEN * UC_COVERAGE_HR_AVG_LEN);
        }
    }

  idx_count =
    (idx_count + slots) % (UC_COVERAGE_MIN_AVG_LEN * UC_COVERAGE_HR_AVG_LEN);
  run_time_ms = now_ms + UC_COVERAGE_RUN_INTERVAL_MS;
}

/**
 * uc_coverage_run:
 *
 * Brings the rates up to date.  The main loop calls it at least every
 * %UC_COVERAGE_RUN_INTERVAL_MS (see uc_coverage_run_at()).
 */
void
uc_coverage_run (void)
{
  uc_coverage_run_at (g_get_monotonic_time () / 1000);
}

/* The per-second rates over the last slot, minute and hour. */
static void
counter_rates (const UcCoverageCounter *c,
               double *last_slot,
               double *last_minute,
               double *last_hour)
{
  guint last =
    (idx_count + UC_COVERAGE_MIN_AVG_LEN * UC_COVERAGE_HR_AVG_LEN - 1) %
    UC_COVERAGE_MIN_AVG_LEN;

  *last_slot = c->min[last] * 1000.0 / UC_COVERAGE_RUN_INTERVAL_MS;
  *last_minute = sum_slots (c->min, UC_COVERAGE_MIN_AVG_LEN) / 60.0;
  *last_hour = sum_slots (c->hr, UC_COVERAGE_HR_AVG_LEN) / 3600.0;
}

/**
 * uc_coverage_show:
 *
 * What `coverage/show` answers, in Open vSwitch's layout: a header with
 * the hash (see uc_coverage_hash()), a line per counter that has counted
 * anything, with its rates per second over the last 5 seconds, minute and
 * hour and its total, and the number of counters never hit.
 *
 * Returns: (transfer full): the text, ending in a newline
 */
char *
uc_coverage_show (void)
{
  g_autoptr (GPtrArray) sorted = sorted_counters ();
  GString *text = g_string_new (NULL);
  guint n_never_hit = 0;

  g_string_append_printf (
    text,
    "Event coverage, avg rate over last: %d seconds, "
    "last minute, last hour,  hash=%08x:\n",
    UC_COVERAGE_RUN_INTERVAL_MS / 1000,
    uc_coverage_hash ((UcCoverageCounter *const *) sorted->pdata, sorted->len));
  for (guint i = 0; i < sorted->len; i++)
    {
      const UcCoverageCounter *c = g_ptr_array_index (sorted, i);
      double last_slot, last_minute, last_hour;

      if (c->total == 0)
        {
          n_never_hit++;
          continue;
        }
      counter_rates (c, &last_slot, &last_minute, &last_hour);
      g_string_append_printf (text,
                              "%-24s %5.1f/sec %9.3f/sec %10.4f/sec   "
                              "total: %" G_GUINT64_FORMAT "\n",
                              c->name, last_slot, last_minute, last_hour,
                              c->total);
    }
  g_string_append_printf (text, "%u events never hit\n", n_never_hit);
  return g_string_free (text, FALSE);
}

/**
 * uc_coverage_show_json:
 *
 * What `coverage/show` answers in JSON mode: an object with a member per
 * counter, never-hit ones included,
 * `{"NAME": {"total": N, "5s": R, "1m": R, "1h": R}, ...}`, where the
 * rates are events per second over the last 5 seconds, minute and hour.
 *
 * Returns: (transfer full): the object
 */
JsonNode *
uc_coverage_show_json (void)
{
  g_autoptr (GPtrArray) sorted = sorted_counters ();
  g_autoptr (JsonObject) object = json_object_new ();

  for (guint i = 0; i < sorted->len; i++)
    {
      const UcCoverageCounter *c = g_ptr_array_index (sorted, i);
      g_autoptr (JsonObject) member = json_object_new ();
      double last_slot, last_minute, last_hour;

      counter_rates (c, &last_slot, &last_minute, &last_hour);
      json_object_set_int_member (member, "total", (gint64) c->total);
      json_object_set_double_member (member, "5s", last_slot);
      json_object_set_double_member (member, "1m", last_minute);
      json_object_set_double_member (member, "1h", last_hour);
      json_object_set_object_member (object, c->name,
                                     g_steal_pointer (&member));
    }
  return json_node_init_object (json_node_alloc (), object);
}

static void
cmd_show (UcRequest *request, gpointer user_data)
{
  if (uc_request_get_format (request) == UC_OUTPUT_FORMAT_JSON)
    uc_request_reply_json (request, uc_coverage_show_json ());
  else
    {
      g_autofree char *text = uc_coverage_show ();

      uc_request_reply (request, text);
    }
}

static void
cmd_read_counter (UcRequest *request, gpointer user_data)
{
  const char *name = uc_request_get_argv (request)[1];
  guint64 count;

  if (!uc_coverage_read_counter (name, &count))
    {
      /* Open vSwitch's text, untranslated like every protocol text. */
      uc_request_reply_error (request, "No such counter");
      return;
    }
  if (uc_request_get_format (request) == UC_OUTPUT_FORMAT_JSON)
    uc_request_reply_json (
      request, json_node_init_int (json_node_alloc (), (gint64) count));
  else
    {
      g_autofree char *text =
        g_strdup_printf ("%" G_GUINT64_FORMAT "\n", count);

      uc_request_reply (request, text);
    }
}

/**
 * uc_coverage_register_commands:
 * @server: a server
 *
 * Registers `coverage/show` and `coverage/read-counter COUNTER` on
 * @server, with Open vSwitch's usage texts.  The rates stay at zero
 * unless the main loop calls uc_coverage_run().
 */
void
uc_coverage_register_commands (UcServer *server)
{
  g_return_if_fail (UC_IS_SERVER (server));

  uc_server_register (server, "coverage/show", "", 0, 0, cmd_show, NULL, NULL);
  uc_server_register (server, "coverage/read-counter", "COUNTER", 1, 1,
                      cmd_read_counter, NULL, NULL);
}
