/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "memory"

#include "config.h"

#include "uc-memory.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/*
 * What the daemon holds, as Open vSwitch's memory module reports it:
 * objects register a reporter, which adds figures under names
 * ("connections", "backlog"), and `memory/show` prints the sums as
 * "name:value" pairs sorted by name.  Reporters of the same kind of
 * object add to the same names, so that each connection adds its own
 * backlog to one total.
 *
 * Every %UC_MEMORY_CHECK_INTERVAL_MS the main loop calls uc_memory_run(),
 * which logs the peak resident set size the first time and whenever it
 * has grown by half since last logged, followed by the usage, as Open
 * vSwitch does.
 */

/**
 * UcMemoryUsage:
 *
 * Figures being collected for one report.
 */
struct _UcMemoryUsage
{
  GHashTable *values; /* (owned) (element-type utf8 guint64) */
};

typedef struct
{
  UcMemoryReportFunc func;
  gpointer user_data;
} Reporter;

/* Reporters may come and go from any thread; reports run in the main
 * context. */
static GMutex lock;
static GHashTable *reporters; /* (owned) (nullable) guint id -> Reporter */
static guint next_id = 1;

/* uc_memory_run()'s state, main context only. */
static gint64 start_ms;      /* the first run; 0 before it */
static gint64 next_check_ms; /* when the next check is due */
static gint64 last_report_ms;
static guint64 last_reported_rss_kb; /* 0 until the first report */

/**
 * uc_memory_add_reporter:
 * @func: the reporter
 * @user_data: data for @func; it must outlive the registration
 *
 * Registers a reporter, which each `memory/show` calls.
 *
 * Returns: an id for uc_memory_remove_reporter(), never 0
 */
guint
uc_memory_add_reporter (UcMemoryReportFunc func, gpointer user_data)
{
  Reporter *reporter;
  guint id;

  g_return_val_if_fail (func != NULL, 0);

  reporter = g_new (Reporter, 1);
  reporter->func = func;
  reporter->user_data = user_data;

  g_mutex_lock (&lock);
  if (reporters == NULL)
    reporters = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  id = next_id++;
  g_hash_table_insert (reporters, GUINT_TO_POINTER (id), reporter);
  g_mutex_unlock (&lock);
  return id;
}

/**
 * uc_memory_remove_reporter:
 * @id: an id from uc_memory_add_reporter()
 *
 * Unregisters a reporter.  Once this returns, it is not called again.
 */
void
uc_memory_remove_reporter (guint id)
{
  gboolean removed = FALSE;

  g_return_if_fail (id != 0);

  g_mutex_lock (&lock);
  if (reporters != NULL)
    {
      removed = g_hash_table_remove (reporters, GUINT_TO_POINTER (id));
      if (g_hash_table_size (reporters) == 0)
        g_clear_pointer (&reporters, g_hash_table_unref);
    }
  g_mutex_unlock (&lock);
  g_return_if_fail (removed);
}

/**
 * uc_memory_usage_add:
 * @usage: the figures being collected
 * @key: a name, lower case with dashes (`worker-in-flight`)
 * @value: what to add under @key
 *
 * Adds @value to the figure named @key, which starts at 0.
 */
void
uc_memory_usage_add (UcMemoryUsage *usage, const char *key, guint64 value)
{
  guint64 *sum;

  g_return_if_fail (usage != NULL);
  g_return_if_fail (key != NULL);

  sum = g_hash_table_lookup (usage->values, key);
  if (sum == NULL)
    {
      sum = g_new0 (guint64, 1);
      g_hash_table_insert (usage->values, g_strdup (key), sum);
    }
  *sum += value;
}

/* The resident set size now, in kB: the second figure of
 * /proc/self/statm, in pages.  Reading /proc never waits for a disk. */
static guint64
current_rss_kb (void)
{
  g_autofree char *statm = NULL;
  guint64 pages = 0;
  const char *space;

  if (!g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
    return 0;
  space = strchr (statm, ' ');
  if (space != NULL)
    pages = g_ascii_strtoull (space + 1, NULL, 10);
  return pages * (guint64) sysconf (_SC_PAGESIZE) / 1024;
}

/* Every reporter's figures, and the process's own, by name. */
static GHashTable *
collect (void)
{
  UcMemoryUsage usage = { g_hash_table_new_full (g_str_hash, g_str_equal,
                                                 g_free, g_free) };

  uc_memory_usage_add (&usage, "rss-kb", current_rss_kb ());

  g_mutex_lock (&lock);
  if (reporters != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, reporters);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          Reporter *reporter = value;

          reporter->func (&usage, reporter->user_data);
        }
    }
  g_mutex_unlock (&lock);
  return usage.values;
}

static int
compare_keys (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The names of the collected figures, sorted. */
static const char **
sorted_keys (GHashTable *values, guint *n)
{
  const char **keys =
    (const char **) g_hash_table_get_keys_as_array (values, n);

  qsort (keys, *n, sizeof *keys, compare_keys);
  return keys;
}

/**
 * uc_memory_show:
 *
 * What `memory/show` answers: every reporter's figures and the
 * process's resident set size (`rss-kb`), as "name:value" pairs sorted
 * by name and separated by spaces, as Open vSwitch prints them
 * ("backlog:0 connections:1 ...").
 *
 * Returns: (transfer full): the text, without a newline
 */
char *
uc_memory_show (void)
{
  g_autoptr (GHashTable) values = collect ();
  g_autofree const char **keys = NULL;
  GString *text = g_string_new (NULL);
  guint n;

  keys = sorted_keys (values, &n);
  for (guint i = 0; i < n; i++)
    {
      const guint64 *value = g_hash_table_lookup (values, keys[i]);

      g_string_append_printf (text, "%s%s:%" G_GUINT64_FORMAT, i > 0 ? " " : "",
                              keys[i], *value);
    }
  return g_string_free (text, FALSE);
}

/**
 * uc_memory_show_json:
 *
 * What `memory/show` answers in JSON mode: the same figures as an object,
 * `{"backlog": 0, "connections": 1, ...}`.
 *
 * Returns: (transfer full): the object
 */
JsonNode *
uc_memory_show_json (void)
{
  g_autoptr (GHashTable) values = collect ();
  g_autoptr (JsonObject) object = json_object_new ();
  g_autofree const char **keys = NULL;
  guint n;

  keys = sorted_keys (values, &n);
  for (guint i = 0; i < n; i++)
    {
      const guint64 *value = g_hash_table_lookup (values, keys[i]);

      json_object_set_int_member (object, keys[i], (gint64) *value);
    }
  return json_node_init_object (json_node_alloc (), object);
}

/**
 * uc_memory_run_at:
 * @now_ms: the monotonic time, in milliseconds
 * @peak_rss_kb: the peak resident set size, in kB
 *
 * uc_memory_run() with the time and the peak given, for tests.  The
 * first call starts the clock; from %UC_MEMORY_CHECK_INTERVAL_MS later
 * on, every interval, the peak is logged at info level the first time
 * ("N kB peak resident set size after S seconds") and then whenever it
 * has grown by half ("peak resident set size grew P% in last S seconds,
 * from A kB to B kB"), each time followed by the usage (see
 * uc_memory_show()), in Open vSwitch's words.
 */
void
uc_memory_run_at (gint64 now_ms, guint64 peak_rss_kb)
{
  g_autofree char *usage = NULL;

  if (start_ms == 0)
    {
      start_ms = now_ms;
      next_check_ms = now_ms + UC_MEMORY_CHECK_INTERVAL_MS;
      return;
    }
  if (now_ms < next_check_ms)
    return;
  next_check_ms = now_ms + UC_MEMORY_CHECK_INTERVAL_MS;

  if (last_reported_rss_kb == 0)
    g_message ("%" G_GUINT64_FORMAT
               " kB peak resident set size after %.1f seconds",
               peak_rss_kb, (now_ms - start_ms) / 1000.0);
  else if (peak_rss_kb >= last_reported_rss_kb * 1.5)
    g_message ("peak resident set size grew %.0f%% in last %.1f seconds, "
               "from %" G_GUINT64_FORMAT " kB to %" G_GUINT64_FORMAT " kB",
               ((double) peak_rss_kb / last_reported_rss_kb - 1) * 100,
               (now_ms - last_report_ms) / 1000.0, last_reported_rss_kb,
               peak_rss_kb);
  else
    return;

  last_report_ms = now_ms;
  last_reported_rss_kb = peak_rss_kb;
  usage = uc_memory_show ();
  g_message ("%s", usage);
}

/**
 * uc_memory_run:
 *
 * Checks the peak resident set size (getrusage()) and logs it when due
 * (see uc_memory_run_at()).  The main loop calls it at least every
 * %UC_MEMORY_CHECK_INTERVAL_MS, and once at start-up to start the clock.
 */
void
uc_memory_run (void)
{
  struct rusage usage;

  if (getrusage (RUSAGE_SELF, &usage) < 0)
    return;
  /* Linux counts ru_maxrss in kB. */
  uc_memory_run_at (g_get_monotonic_time () / 1000, (guint64) usage.ru_maxrss);
}

static void
cmd_show (UcRequest *request, gpointer user_data)
{
  if (uc_request_get_format (request) == UC_OUTPUT_FORMAT_JSON)
    uc_request_reply_json (request, uc_memory_show_json ());
  else
    {
      g_autofree char *text = uc_memory_show ();

      uc_request_reply (request, text);
    }
}

/**
 * uc_memory_register_commands:
 * @server: a server
 *
 * Registers `memory/show` on @server.
 */
void
uc_memory_register_commands (UcServer *server)
{
  g_return_if_fail (UC_IS_SERVER (server));

  uc_server_register (server, "memory/show", "", 0, 0, cmd_show, NULL, NULL);
}
