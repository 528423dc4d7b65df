/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "system-stats"

#include "config.h"

#include "uc-system-stats.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/*
 * System statistics: CPU times, load, memory, the daemon's and the
 * worker's process figures, and the file systems of configured paths.
 *
 * Collecting them reads /proc and calls statvfs(), which can block (a
 * hung NFS mount blocks statvfs() for minutes), so it runs in the worker,
 * never in the daemon's main loop.  The daemon only formats the result.
 *
 * The result is an `a{sv}`; every figure that could not be read is left
 * out (a file system that cannot be queried carries an "error" instead),
 * so that one missing source never hides the others.  The formatters
 * look every value up with its expected type: the result crosses a
 * process boundary, and a broken worker must not crash the daemon.
 *
 *   time-us        x       wall clock of the collection, µs since the epoch
 *   cpus           u       processors online
 *   load-average   (ddd)   1, 5 and 15 minutes
 *   cpu            a{st}   ms spent since boot, all processors: user nice
 *                          system idle iowait irq softirq steal
 *   memory         a{st}   bytes: total free available buffers cached
 *                          swap-total swap-free
 *   processes      aa{sv}  role s, pid u, name s, state s, rss t,
 *                          rss-peak t, vm-size t (bytes), user-ms t,
 *                          system-ms t, threads u, fds u; or role, pid
 *                          and error s
 *   filesystems    aa{sv}  path s, size t, free t, available t (bytes),
 *                          files t, files-free t; or path and error s
 */

static const char *const cpu_fields[] = {
  "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
};

static const struct
{
  const char *proc_name;
  const char *key;
} memory_fields[] = {
  { "MemTotal", "total" },         { "MemFree", "free" },
  { "MemAvailable", "available" }, { "Buffers", "buffers" },
  { "Cached", "cached" },          { "SwapTotal", "swap-total" },
  { "SwapFree", "swap-free" },
};

static guint64
ticks_to_ms (guint64 ticks)
{
  static long ticks_per_second;

  if (ticks_per_second <= 0)
    ticks_per_second = sysconf (_SC_CLK_TCK);
  if (ticks_per_second <= 0)
    ticks_per_second = 100;
  return ticks * 1000 / (guint64) ticks_per_second;
}

static void
add_load_average (GVariantDict *dict)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) fields = NULL;
  double load[3];

  if (!g_file_get_contents ("/proc/loadavg", &contents, NULL, NULL))
    return;
  fields = g_strsplit (contents, " ", 4);
  if (g_strv_length (fields) < 4)
    return;
  for (int i = 0; i < 3; i++)
    {
      char *end = NULL;

      load[i] = g_ascii_strtod (fields[i], &end);
      if (end == fields[i])
        return;
    }
  g_variant_dict_insert (dict, "load-average", "(ddd)", load[0], load[1],
                         load[2]);
}

static void
add_cpu (GVariantDict *dict)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) fields = NULL;
  g_auto (GVariantBuilder) builder =
    G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{st}"));
  char *newline;

  if (!g_file_get_contents ("/proc/stat", &contents, NULL, NULL) ||
      !g_str_has_prefix (contents, "cpu "))
    return;
  newline = strchr (contents, '\n');
  if (newline != NULL)
    *newline = '\0';
  /* "cpu  user nice system ...": the aggregate line, in clock ticks. */
  fields = g_strsplit_set (contents + 4, " ", -1);
  {
    gsize i = 0;

    for (char **f = fields; *f != NULL && i < G_N_ELEMENTS (cpu_fields); f++)
      {
        guint64 ticks;

        if (**f == '\0')
          continue;
        if (!g_ascii_string_to_unsigned (*f, 10, 0, G_MAXUINT64, &ticks, NULL))
          return;
        g_variant_builder_add (&builder, "{st}", cpu_fields[i++],
                               ticks_to_ms (ticks));
      }
  }
  g_variant_dict_insert_value (dict, "cpu", g_variant_builder_end (&builder));
}

/* The value in kB of "@name:" in a /proc file of "Name:   123 kB" lines. */
static gboolean
lookup_kb (const char *contents, const char *name, guint64 *kb)
{
  gsize name_length = strlen (name);

  for (const char *line = contents; line != NULL && *line != '\0';)
    {
      const char *next = strchr (line, '\n');

      if (strncmp (line, name, name_length) == 0 && line[name_length] == ':')
        {
          char *end = NULL;

          *kb = g_ascii_strtoull (line + name_length + 1, &end, 10);
          return end != line + name_length + 1;
        }
      line = next != NULL ? next + 1 : NULL;
    }
  return FALSE;
}

static void
add_memory (GVariantDict *dict)
{
  g_autofree char *contents = NULL;
  g_auto (GVariantBuilder) builder =
    G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{st}"));

  if (!g_file_get_contents ("/proc/meminfo", &contents, NULL, NULL))
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (memory_fields); i++)
    {
      guint64 kb;

      if (lookup_kb (contents, memory_fields[i].proc_name, &kb))
        g_variant_builder_add (&builder, "{st}", memory_fields[i].key,
                               kb * 1024);
    }
  g_variant_dict_insert_value (dict, "memory",
                               g_variant_builder_end (&builder));
}

static guint
count_fds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%ld/fd", (long) pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  /* Reading our own list, the directory's descriptor is in it. */
  if (pid == getpid () && n > 0)
    n--;
  return n;
}

/* One process's figures, from /proc/PID/stat, status and fd. */
static GVariant *
process_stats (const char *role, GPid pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%ld/stat", (long) pid);
  g_autofree char *status_path =
    g_strdup_printf ("/proc/%ld/status", (long) pid);
  g_autofree char *stat = NULL;
  g_autofree char *status = NULL;
  g_autofree char *name = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) fields = NULL;
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  char *open_paren;
  char *close_paren;
  guint64 kb;

  g_variant_dict_insert (&dict, "role", "s", role);
  g_variant_dict_insert (&dict, "pid", "u", (guint32) pid);

  if (!g_file_get_contents (stat_path, &stat, NULL, &error))
    {
      g_variant_dict_insert (&dict, "error", "s", error->message);
      return g_variant_dict_end (&dict);
    }

  /* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses,
   * so the fields start after the last ')'. */
  open_paren = strchr (stat, '(');
  close_paren = strrchr (stat, ')');
  if (open_paren == NULL || close_paren == NULL || close_paren < open_paren)
    {
      g_variant_dict_insert (&dict, "error", "s", "unreadable stat file");
      return g_variant_dict_end (&dict);
    }
  name = g_utf8_make_valid (open_paren + 1, close_paren - open_paren - 1);
  g_variant_dict_insert (&dict, "name", "s", name);

  /* Fields from STATE (field 3 of proc(5)) on: index = field - 3. */
  fields = g_strsplit (g_strstrip (close_paren + 1), " ", -1);
  if (g_strv_length (fields) > 21)
    {
      g_autofree char *state = g_utf8_make_valid (fields[0], -1);

      g_variant_dict_insert (&dict, "state", "s", state);
      g_variant_dict_insert (
        &dict, "user-ms", "t",
        ticks_to_ms (g_ascii_strtoull (fields[11], NULL, 10)));
      g_variant_dict_insert (
        &dict, "system-ms", "t",
        ticks_to_ms (g_ascii_strtoull (fields[12], NULL, 10)));
      g_variant_dict_insert (&dict, "threads", "u",
                             (guint32) g_ascii_strtoull (fields[17], NULL, 10));
      g_variant_dict_insert (&dict, "vm-size", "t",
                             g_ascii_strtoull (fields[20], NULL, 10));
    }

  if (g_file_get_contents (status_path, &status, NULL, NULL))
    {
      if (lookup_kb (status, "VmRSS", &kb))
        g_variant_dict_insert (&dict, "rss", "t", kb * 1024);
      if (lookup_kb (status, "VmHWM", &kb))
        g_variant_dict_insert (&dict, "rss-peak", "t", kb * 1024);
    }
  g_variant_dict_insert (&dict, "fds", "u", count_fds (pid));
  return g_variant_dict_end (&dict);
}

static GVariant *
filesystem_stats (const char *path)
{
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  g_autofree char *display = g_filename_display_name (path);
  struct statvfs st;
  int r;

  g_variant_dict_insert (&dict, "path", "s", display);

  do
    r = statvfs (path, &st);
  while (r < 0 && errno == EINTR);

  if (r < 0)
    {
      g_variant_dict_insert (&dict, "error", "s", g_strerror (errno));
      return g_variant_dict_end (&dict);
    }
  g_variant_dict_insert (&dict, "size", "t",
                         (guint64) st.f_blocks * st.f_frsize);
  g_variant_dict_insert (&dict, "free", "t",
                         (guint64) st.f_bfree * st.f_frsize);
  g_variant_dict_insert (&dict, "available", "t",
                         (guint64) st.f_bavail * st.f_frsize);
  g_variant_dict_insert (&dict, "files", "t", (guint64) st.f_files);
  g_variant_dict_insert (&dict, "files-free", "t", (guint64) st.f_ffree);
  return g_variant_dict_end (&dict);
}

/**
 * uc_system_stats_collect:
 * @daemon_pid: the daemon's process, described beside the caller's own
 * @paths: (nullable) (array zero-terminated=1): paths whose file systems
 *   to describe (statvfs)
 *
 * Collects the statistics described at the top of this file.  Blocks on
 * /proc and on the file systems of @paths: call it in the worker only.
 *
 * Returns: (transfer full): an `a{sv}` of what could be read
 */
GVariant *
uc_system_stats_collect (GPid daemon_pid, const char *const *paths)
{
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  g_auto (GVariantBuilder) processes =
    G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  g_auto (GVariantBuilder) filesystems =
    G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);

  g_variant_dict_insert (&dict, "time-us", "x", g_get_real_time ());
  if (cpus > 0)
    g_variant_dict_insert (&dict, "cpus", "u", (guint32) cpus);
  add_load_average (&dict);
  add_cpu (&dict);
  add_memory (&dict);

  g_variant_builder_add_value (&processes,
                               process_stats ("daemon", daemon_pid));
  g_variant_builder_add_value (&processes, process_stats ("worker", getpid ()));
  g_variant_dict_insert_value (&dict, "processes",
                               g_variant_builder_end (&processes));

  for (gsize i = 0; paths != NULL && paths[i] != NULL; i++)
    g_variant_builder_add_value (&filesystems, filesystem_stats (paths[i]));
  g_variant_dict_insert_value (&dict, "filesystems",
                               g_variant_builder_end (&filesystems));

  return g_variant_ref_sink (g_variant_dict_end (&dict));
}

/* "1.5 GiB", with a plain space: GLib puts a no-break space there, which
 * terminals and scripts reading the control protocol do not expect. */
static char *
format_size (guint64 bytes)
{
  g_autofree char *size = g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
  g_auto (GStrv) parts = g_strsplit (size, "\u00a0", -1);

  return g_strjoinv (" ", parts);
}

/* Appends ", KEY VALUE" items from an a{st} of ms as seconds. */
static void
append_seconds (GString *out,
                GVariant *times,
                const char *const *keys,
                gsize n_keys)
{
  gboolean first = TRUE;

  for (gsize i = 0; i < n_keys; i++)
    {
      guint64 ms;

      if (!g_variant_lookup (times, keys[i], "t", &ms))
        continue;
      g_string_append_printf (out, "%s%s %" G_GUINT64_FORMAT ".%02u s",
                              first ? "" : ", ", keys[i], ms / 1000,
                              (guint) (ms % 1000) / 10);
      first = FALSE;
    }
}

/* Appends ", LABEL SIZE" items from an a{st} of bytes; each key is
 * followed by its label in @keys. */
static void
append_sizes (GString *out,
              GVariant *sizes,
              const char *const *keys,
              gsize n_keys)
{
  gboolean first = TRUE;

  for (gsize i = 0; i + 1 < n_keys; i += 2)
    {
      g_autofree char *size = NULL;
      guint64 bytes;

      if (!g_variant_lookup (sizes, keys[i], "t", &bytes))
        continue;
      size = format_size (bytes);
      g_string_append_printf (out, "%s%s %s", first ? "" : ", ", keys[i + 1],
                              size);
      first = FALSE;
    }
}

static void
append_process (GString *out, GVariant *process)
{
  const char *role = "process";
  const char *name = "?";
  const char *text;
  guint32 pid = 0;
  guint32 count;
  guint64 value;

  g_variant_lookup (process, "role", "&s", &role);
  g_variant_lookup (process, "name", "&s", &name);
  g_variant_lookup (process, "pid", "u", &pid);
  g_string_append_printf (out, "\n%s %s (pid %u):\n", role, name, pid);

  if (g_variant_lookup (process, "error", "&s", &text))
    g_string_append_printf (out, "  error: %s\n", text);
  if (g_variant_lookup (process, "state", "&s", &text))
    g_string_append_printf (out, "  state: %s\n", text);
  if (g_variant_lookup (process, "rss", "t", &value))
    {
      g_autofree char *rss = format_size (value);
      guint64 peak;

      if (g_variant_lookup (process, "rss-peak", "t", &peak))
        {
          g_autofree char *peak_text = format_size (peak);

          g_string_append_printf (out, "  rss: %s (peak %s)\n", rss, peak_text);
        }
      else
        g_string_append_printf (out, "  rss: %s\n", rss);
    }
  if (g_variant_lookup (process, "vm-size", "t", &value))
    {
      g_autofree char *size = format_size (value);

      g_string_append_printf (out, "  virtual size: %s\n", size);
    }
  {
    static const char *const keys[] = { "user-ms", "system-ms" };
    static const char *const labels[] = { "user", "system" };
    gboolean any = FALSE;

    for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
      {
        if (!g_variant_lookup (process, keys[i], "t", &value))
          continue;
        g_string_append_printf (out, "%s%s %" G_GUINT64_FORMAT ".%02u s",
                                any ? ", " : "  cpu: ", labels[i], value / 1000,
                                (guint) (value % 1000) / 10);
        any = TRUE;
      }
    if (any)
      g_string_append_c (out, '\n');
  }
  if (g_variant_lookup (process, "threads", "u", &count))
    g_string_append_printf (out, "  threads: %u\n", count);
  if (g_variant_lookup (process, "fds", "u", &count))
    g_string_append_printf (out, "  fds: %u\n", count);
}

static void
append_filesystem (GString *out, GVariant *fs)
{
  const char *path = "?";
  const char *text;
  guint64 size;
  guint64 available;
  guint64 free_bytes;
  guint64 files;
  guint64 files_free;

  g_variant_lookup (fs, "path", "&s", &path);
  g_string_append_printf (out, "\nfile system of %s:\n", path);
  if (g_variant_lookup (fs, "error", "&s", &text))
    g_string_append_printf (out, "  error: %s\n", text);
  if (g_variant_lookup (fs, "size", "t", &size))
    {
      g_autofree char *size_text = format_size (size);

      g_string_append_printf (out, "  size: %s\n", size_text);
    }
  if (g_variant_lookup (fs, "available", "t", &available) &&
      g_variant_lookup (fs, "free", "t", &free_bytes))
    {
      g_autofree char *available_text = format_size (available);
      g_autofree char *free_text = format_size (free_bytes);

      g_string_append_printf (out, "  available: %s (free %s)\n",
                              available_text, free_text);
    }
  if (g_variant_lookup (fs, "files", "t", &files) &&
      g_variant_lookup (fs, "files-free", "t", &files_free))
    g_string_append_printf (
      out, "  inodes: %" G_GUINT64_FORMAT " free of %" G_GUINT64_FORMAT "\n",
      files_free, files);
}

/**
 * uc_system_stats_to_text:
 * @stats: statistics from uc_system_stats_collect()
 *
 * Formats @stats for people, in the `key: value` lines and indented
 * sections of Open vSwitch's show commands.  Values that are missing or
 * of an unexpected type are left out.
 *
 * Returns: (transfer full): the text, ending in a newline
 */
char *
uc_system_stats_to_text (GVariant *stats)
{
  static const char *const memory_keys[] = {
    "total",     "total",   "free",    "free",   "available",
    "available", "buffers", "buffers", "cached", "cached",
  };
  static const char *const swap_keys[] = { "swap-total", "total", "swap-free",
                                           "free" };
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GVariant) cpu = NULL;
  g_autoptr (GVariant) memory = NULL;
  g_autoptr (GVariant) processes = NULL;
  g_autoptr (GVariant) filesystems = NULL;
  double load[3];
  guint32 cpus;

  g_return_val_if_fail (stats != NULL, NULL);
  g_return_val_if_fail (g_variant_is_of_type (stats, UC_SYSTEM_STATS_TYPE),
                        NULL);

  if (g_variant_lookup (stats, "load-average", "(ddd)", &load[0], &load[1],
                        &load[2]))
    g_string_append_printf (out, "load average: %.2f, %.2f, %.2f\n", load[0],
                            load[1], load[2]);
  if (g_variant_lookup (stats, "cpus", "u", &cpus))
    g_string_append_printf (out, "cpus: %u\n", cpus);
  cpu = g_variant_lookup_value (stats, "cpu", G_VARIANT_TYPE ("a{st}"));
  if (cpu != NULL)
    {
      g_string_append (out, "cpu: ");
      append_seconds (out, cpu, cpu_fields, G_N_ELEMENTS (cpu_fields));
      g_string_append_c (out, '\n');
    }
  memory = g_variant_lookup_value (stats, "memory", G_VARIANT_TYPE ("a{st}"));
  if (memory != NULL)
    {
      g_string_append (out, "memory: ");
      append_sizes (out, memory, memory_keys, G_N_ELEMENTS (memory_keys));
      g_string_append (out, "\nswap: ");
      append_sizes (out, memory, swap_keys, G_N_ELEMENTS (swap_keys));
      g_string_append_c (out, '\n');
    }

  processes =
    g_variant_lookup_value (stats, "processes", G_VARIANT_TYPE ("aa{sv}"));
  for (gsize i = 0; processes != NULL && i < g_variant_n_children (processes);
       i++)
    {
      g_autoptr (GVariant) process = g_variant_get_child_value (processes, i);

      append_process (out, process);
    }

  filesystems =
    g_variant_lookup_value (stats, "filesystems", G_VARIANT_TYPE ("aa{sv}"));
  for (gsize i = 0;
       filesystems != NULL && i < g_variant_n_children (filesystems); i++)
    {
      g_autoptr (GVariant) fs = g_variant_get_child_value (filesystems, i);

      append_filesystem (out, fs);
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * uc_system_stats_to_json:
 * @stats: statistics from uc_system_stats_collect()
 *
 * Turns @stats into JSON, for `set-options --format json` clients: the
 * dictionaries become objects with the same keys, the load average an
 * array of three numbers.
 *
 * Returns: (transfer full): the JSON object
 */
JsonNode *
uc_system_stats_to_json (GVariant *stats)
{
  g_return_val_if_fail (stats != NULL, NULL);
  g_return_val_if_fail (g_variant_is_of_type (stats, UC_SYSTEM_STATS_TYPE),
                        NULL);

  return json_gvariant_serialize (stats);
}
