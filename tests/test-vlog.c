/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging: Open vSwitch's patterns and specs (texts from ovsdb-server 3.1;
 * test-vlog-compat compares them with a live one), the module table, the
 * log writer installed in this process, the rate limiters, the vlog
 * commands through a server, the worker-backed log file (UcLogWriter)
 * with a real worker that is killed, stopped and replaced under it, and
 * the daemon's log file from the outside: its format, lines intact
 * around `kill -9` and SIGSTOP of the worker, rotation with vlog/reopen,
 * and the -v and --log-file options.
 */
#define G_LOG_DOMAIN "test-vlog"

#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "uc-coverage.h"
#include "uc-error.h"
#include "uc-log-writer.h"
#include "uc-memory.h"
#include "uc-rate-limit.h"
#include "uc-request.h"
#include "uc-server.h"
#include "uc-test-util.h"
#include "uc-vlog.h"
#include "uc-worker.h"

/* Deadlines, never expected to be reached. */
#define DEADLINE_US (30 * G_USEC_PER_SEC)
#define DEADLINE_S  (DEADLINE_US / G_USEC_PER_SEC)

/* A file log line in the default pattern. */
#define FILE_LINE_REGEX                                                   \
  "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z\\|" \
  "[0-9]{5,}\\|[A-Za-z0-9_-]+\\|(EMER|ERR|WARN|INFO|DBG)\\|.*$"

/* 2026-11-26T06:45:46.123Z */
#define SAMPLE_TIME_US \
  (G_GINT64_CONSTANT (1795675546) * G_USEC_PER_SEC + 123000)

/* Helpers. */

static gsize
count_substrings (const char *text, const char *needle)
{
  gsize n = 0;

  for (const char *p = strstr (text, needle); p != NULL;
       p = strstr (p + 1, needle))
    n++;
  return n;
}

/* Runs @argv in text mode, which must answer @expected (a success when
 * @success); the answer's newline is left out of @expected. */
static void
assert_call (UcServer *server,
             const char *const *argv,
             gboolean success,
             const char *expected)
{
  g_auto (UcTestReply) reply = { 0 };
  g_autofree char *with_newline = NULL;

  uc_test_dispatch (server, UC_OUTPUT_FORMAT_TEXT, argv, &reply);
  with_newline =
    *expected != '\0' ? g_strconcat (expected, "\n", NULL) : g_strdup ("");
  g_assert_cmpstr (json_node_get_string (reply.body), ==, with_newline);
  g_assert_cmpint (reply.success, ==, success);
}

/* Formatting. */

static UcVlogRecord
sample_record (void)
{
  return (UcVlogRecord){
    .program_name = "ovsdb-server",
    .module = "vlog",
    .level = UC_VLOG_LEVEL_INFO,
    .message = "opened log file /tmp/v/log",
    .serial = 4,
    .time_us = SAMPLE_TIME_US,
    .uptime_ms = 44,
    .subprogram = "",
    .facility = 0,
    .hostname = "vm",
    .pid = 13241,
  };
}

static char *
format (const char *pattern, const UcVlogRecord *record)
{
  GString *out = g_string_new (NULL);

  uc_vlog_format (out, pattern, record);
  return g_string_free (out, FALSE);
}

/* The directives, with what ovsdb-server 3.1 wrote for each (with its own
 * time, pid, host and serial in place of the sample's). */
static void
test_format_directives (void)
{
  static const struct
  {
    const char *pattern;
    const char *expected;
  } cases[] = {
    { UC_VLOG_DEFAULT_FILE_PATTERN,
      "2026-11-26T06:45:46.123Z|00004|vlog|INFO|opened log file /tmp/v/log" },
    { UC_VLOG_DEFAULT_CONSOLE_PATTERN,
      "2026-11-26T06:45:46Z|00004|vlog|INFO|opened log file /tmp/v/log" },
    { UC_VLOG_DEFAULT_SYSLOG_PATTERN,
      "ovs|00004|vlog|INFO|opened log file /tmp/v/log" },
    { "%H", "H" },
    { "%5N|%-5N|%05m", "    4|4    |opened log file /tmp/v/log" },
    { "%c{abc}", "vlog" },
    { "%D{%Y}", "2026" },
    { "%d{}", "" },
    { "%010d{%H}", "0000000006" },
    { "%%", "%" },
    { "%-3c{x}%t|%3T", "vlogmain|   " },
    { "%r", "44" },
    { "%-6p|%06p|%2A", "INFO  |00INFO|ovsdb-server" },
    { "%D{%H:%M:%S.### ###}", "06:45:46.123 123" },
    { "%d{%s.###}", "1795675546.123" },
    { "%D{###}", "123" },
    { "%D{%%###}", "%123" },
    { "%05E", "000vm" },
    { "%P %B", "13241 133" },
    { "%d", "2026-11-26 06:45:46.123" },
    { "%D", "2026-11-26 06:45:46.123" },
    { "a%nb", "a\nb" },
    { "[%-08c]", "[vlog0000]" },
    /* Where Open vSwitch reads past the pattern's end, and crashes. */
    { "%c{unterminated", "vlog" },
    { "ends in %", "ends in %" },
    { "%-", "%" },
  };
  UcVlogRecord record = sample_record ();

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = format (cases[i].pattern, &record);

      g_test_message ("pattern %s", cases[i].pattern);
      g_assert_cmpstr (text, ==, cases[i].expected);
    }
}

static void
test_format_record (void)
{
  UcVlogRecord record = sample_record ();
  g_autofree char *thread = NULL;
  g_autofree char *levels = NULL;
  g_autofree char *facility = NULL;
  g_autofree char *trimmed = NULL;
  g_autofree char *wide = NULL;
  GString *appended = g_string_new ("kept|");

  /* Another thread than the main one. */
  record.subprogram = "gdbus";
  thread = format ("%t|%T|%c%T", &record);
  g_assert_cmpstr (thread, ==, "gdbus|(gdbus)|vlog(gdbus)");

  /* Levels, and their syslog priorities: Open vSwitch's mapping (INFO is
   * NOTICE, EMER is ALERT), in LOG_LOCAL0 by default. */
  record.level = UC_VLOG_LEVEL_EMER;
  levels = format ("%p %B", &record);
  g_assert_cmpstr (levels, ==, "EMER 129");
  g_clear_pointer (&levels, g_free);
  record.level = UC_VLOG_LEVEL_DBG;
  levels = format ("%p %B", &record);
  g_assert_cmpstr (levels, ==, "DBG 135");
  record.level = UC_VLOG_LEVEL_INFO;
  record.facility = LOG_LOCAL1;
  facility = format ("%B", &record);
  g_assert_cmpstr (facility, ==, "141");

  /* Trailing newlines of the message go. */
  record.message = "two lines\nhere\n\n";
  trimmed = format ("[%m]", &record);
  g_assert_cmpstr (trimmed, ==, "[two lines\nhere]");

  /* An absurd width is cut. */
  record.message = "m";
  wide = format ("%99999999999m", &record);
  g_assert_cmpuint (strlen (wide), ==, 1024);
  g_assert_true (g_str_has_suffix (wide, " m"));

  /* It appends. */
  uc_vlog_format (appended, "%p", &record);
  g_assert_cmpstr (appended->str, ==, "kept|INFO");
  g_string_free (appended, TRUE);
}

static void
test_levels (void)
{
  UcVlogLevel level = UC_VLOG_LEVEL_OFF;

  g_assert_cmpint (uc_vlog_level_from_glib (G_LOG_LEVEL_ERROR), ==,
                   UC_VLOG_LEVEL_EMER);
  g_assert_cmpint (uc_vlog_level_from_glib (G_LOG_LEVEL_CRITICAL), ==,
                   UC_VLOG_LEVEL_ERR);
  g_assert_cmpint (
    uc_vlog_level_from_glib (G_LOG_LEVEL_WARNING | G_LOG_FLAG_FATAL), ==,
    UC_VLOG_LEVEL_WARN);
  g_assert_cmpint (uc_vlog_level_from_glib (G_LOG_LEVEL_MESSAGE), ==,
                   UC_VLOG_LEVEL_INFO);
  g_assert_cmpint (uc_vlog_level_from_glib (G_LOG_LEVEL_INFO), ==,
                   UC_VLOG_LEVEL_DBG);
  g_assert_cmpint (uc_vlog_level_from_glib (G_LOG_LEVEL_DEBUG), ==,
                   UC_VLOG_LEVEL_DBG);

  g_assert_true (uc_vlog_level_from_string ("wArN", &level));
  g_assert_cmpint (level, ==, UC_VLOG_LEVEL_WARN);
  g_assert_false (uc_vlog_level_from_string ("warning", &level));
  g_assert_cmpstr (uc_vlog_level_to_string (UC_VLOG_LEVEL_OFF), ==, "OFF");
  g_assert_cmpstr (uc_vlog_destination_to_string (UC_VLOG_DESTINATION_SYSLOG),
                   ==, "syslog");
}

/* Specs. */

/* Every vlog/set error, with ovsdb-server's text for it. */
static const struct
{
  const char *spec;
  const char *error;
} bad_specs[] = {
  { "foo:bar", "no destination, level, or module \"foo\"" },
  { "foo", "no destination, level, or module \"foo\"" },
  { "console:file", "cannot specify multiple destinations" },
  { "dbg:info", "cannot specify multiple levels" },
  { "vlog:daemon", "cannot specify multiple modules" },
  { "PATTERN", "missing destination" },
  { "pattern:", "missing destination" },
  { "PATTERN:foo", "unknown destination \"foo\"" },
  { "FACILITY", "invalid facility" },
  { "FACILITY:foo", "invalid facility" },
  { "FACILITY:local0 x", "invalid facility" },
  { "FACILITY:cron", "invalid facility" },
  { "FACILITY:authpriv", "invalid facility" },
  { "FACILITY:local8", "invalid facility" },
  { "vlog:console:off extra", "no destination, level, or module \"extra\"" },
};

static void
test_spec_errors (void)
{
  g_autoptr (UcVlog) vlog = uc_vlog_new ("test");

  for (gsize i = 0; i < G_N_ELEMENTS (bad_specs); i++)
    {
      g_autoptr (GError) error = NULL;

      g_test_message ("spec %s", bad_specs[i].spec);
      g_assert_false (
        uc_vlog_set_levels_from_string (vlog, bad_specs[i].spec, &error));
      g_assert_error (error, UC_ERROR, UC_ERROR_INVALID_ARGS);
      g_assert_cmpstr (error->message, ==, bad_specs[i].error);
    }
}

static void
assert_levels (UcVlog *vlog,
               const char *module,
               UcVlogLevel console,
               UcVlogLevel syslog_level,
               UcVlogLevel file)
{
  g_assert_cmpint (
    uc_vlog_get_level (vlog, module, UC_VLOG_DESTINATION_CONSOLE), ==, console);
  g_assert_cmpint (uc_vlog_get_level (vlog, module, UC_VLOG_DESTINATION_SYSLOG),
                   ==, syslog_level);
  g_assert_cmpint (uc_vlog_get_level (vlog, module, UC_VLOG_DESTINATION_FILE),
                   ==, file);
}

static void
test_spec_apply (void)
{
  g_autoptr (UcVlog) vlog = uc_vlog_new ("test");
  g_autoptr (GError) error = NULL;
  g_autofree char *pattern = NULL;
  const UcVlogLevel info = UC_VLOG_LEVEL_INFO;
  const UcVlogLevel dbg = UC_VLOG_LEVEL_DBG;
  const UcVlogLevel off = UC_VLOG_LEVEL_OFF;

  /* The defaults (standard error is no journal here). */
  uc_vlog_set_levels (vlog, NULL, UC_VLOG_DESTINATION_CONSOLE, info);
  assert_levels (vlog, "jsonrpc", info, info, info);

  /* Module, destination and level, in any order, in any case. */
  g_assert_true (
    uc_vlog_set_levels_from_string (vlog, "vlog:console:off", &error));
  assert_levels (vlog, "vlog", off, info, info);
  g_assert_true (
    uc_vlog_set_levels_from_string (vlog, "syslog:Warn:JSONRPC", &error));
  assert_levels (vlog, "jsonrpc", info, UC_VLOG_LEVEL_WARN, info);
  g_assert_true (uc_vlog_set_levels_from_string (vlog, "ERR file", &error));
  assert_levels (vlog, "daemon", info, info, UC_VLOG_LEVEL_ERR);
  assert_levels (vlog, "vlog", off, info, UC_VLOG_LEVEL_ERR);
  /* No level means dbg; ANY is a placeholder. */
  g_assert_true (uc_vlog_set_levels_from_string (vlog, "daemon:ANY", &error));
  assert_levels (vlog, "daemon", dbg, dbg, dbg);
  g_assert_true (uc_vlog_set_levels_from_string (vlog, "ANY:ANY:info", &error));
  assert_levels (vlog, "daemon", info, info, info);
  /* An empty spec, or ANY alone: everything to dbg, modules to come
   * included. */
  g_assert_true (uc_vlog_set_levels_from_string (vlog, "", &error));
  assert_levels (vlog, "worker", dbg, dbg, dbg);
  assert_levels (vlog, "not-seen-yet", dbg, dbg, dbg);
  g_assert_true (uc_vlog_set_levels_from_string (vlog, "off", &error));
  g_assert_true (uc_vlog_set_levels_from_string (vlog, "ANY", &error));
  assert_levels (vlog, "worker", dbg, dbg, dbg);

  /* PATTERN takes the rest of the text, colons and spaces included. */
  g_assert_true (
    uc_vlog_set_levels_from_string (vlog, "PATTERN:console:%d %m", &error));
  pattern = uc_vlog_get_pattern (vlog, UC_VLOG_DESTINATION_CONSOLE);
  g_assert_cmpstr (pattern, ==, "%d %m");
  g_clear_pointer (&pattern, g_free);
  g_assert_true (
    uc_vlog_set_levels_from_string (vlog, "pattern:ANY:%c: %m", &error));
  pattern = uc_vlog_get_pattern (vlog, UC_VLOG_DESTINATION_FILE);
  g_assert_cmpstr (pattern, ==, "%c: %m");
  g_clear_pointer (&pattern, g_free);
  g_assert_true (uc_vlog_set_levels_from_string (vlog, "PATTERN:file", &error));
  pattern = uc_vlog_get_pattern (vlog, UC_VLOG_DESTINATION_FILE);
  g_assert_cmpstr (pattern, ==, "");

  g_assert_true (
    uc_vlog_set_levels_from_string (vlog, "FACILITY:LOCAL3", &error));
  g_assert_true (
    uc_vlog_set_levels_from_string (vlog, "facility:clock", &error));
  g_assert_no_error (error);
}

static void
test_spec_verbosity (void)
{
  g_autoptr (UcVlog) vlog = uc_vlog_new ("test");
  g_autoptr (GError) error = NULL;

  g_assert_true (uc_vlog_set_verbosity (vlog, NULL, &error));
  assert_levels (vlog, "jsonrpc", UC_VLOG_LEVEL_DBG, UC_VLOG_LEVEL_DBG,
                 UC_VLOG_LEVEL_DBG);
  g_assert_true (uc_vlog_set_verbosity (vlog, "console:off", &error));
  g_assert_no_error (error);
  assert_levels (vlog, "jsonrpc", UC_VLOG_LEVEL_OFF, UC_VLOG_LEVEL_DBG,
                 UC_VLOG_LEVEL_DBG);

  g_assert_false (uc_vlog_set_verbosity (vlog, "foo", &error));
  g_assert_cmpstr (error->message, ==,
                   "processing \"foo\": no destination, level, or module "
                   "\"foo\"");
}

/* G_MESSAGES_DEBUG, GLib's switch, puts the domains it names at dbg on
 * the console. */
static void
test_messages_debug (void)
{
  g_autoptr (UcVlog) some = NULL;
  g_autoptr (UcVlog) all = NULL;

  g_setenv ("G_MESSAGES_DEBUG", "daemon, brand-new", TRUE);
  some = uc_vlog_new ("test");
  g_assert_cmpint (
    uc_vlog_get_level (some, "daemon", UC_VLOG_DESTINATION_CONSOLE), ==,
    UC_VLOG_LEVEL_DBG);
  g_assert_cmpint (
    uc_vlog_get_level (some, "brand-new", UC_VLOG_DESTINATION_CONSOLE), ==,
    UC_VLOG_LEVEL_DBG);
  g_assert_cmpint (uc_vlog_get_level (some, "daemon", UC_VLOG_DESTINATION_FILE),
                   ==, UC_VLOG_LEVEL_INFO);
  g_assert_cmpint (
    uc_vlog_get_level (some, "worker", UC_VLOG_DESTINATION_CONSOLE), ==,
    UC_VLOG_LEVEL_INFO);

  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  all = uc_vlog_new ("test");
  g_assert_cmpint (
    uc_vlog_get_level (all, "worker", UC_VLOG_DESTINATION_CONSOLE), ==,
    UC_VLOG_LEVEL_DBG);
  g_unsetenv ("G_MESSAGES_DEBUG");
}

/* Lists. */

/* vlog/list as ovsdb-server lays it out: the header, then
 * "%-16s  %4s       %4s       %4s" rows, sorted. */
static void
test_list_layout (void)
{
  g_autoptr (UcVlog) vlog = uc_vlog_new ("test");
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GRegex) row = NULL;
  g_autoptr (GError) error = NULL;
  guint n_lines;

  uc_vlog_set_levels (vlog, NULL, UC_VLOG_DESTINATION_CONSOLE,
                      UC_VLOG_LEVEL_OFF);
  uc_vlog_set_levels (vlog, "jsonrpc", UC_VLOG_DESTINATION_FILE,
                      UC_VLOG_LEVEL_DBG);
  uc_vlog_set_levels (vlog, "worker", UC_VLOG_DESTINATION_SYSLOG,
                      UC_VLOG_LEVEL_EMER);
  uc_vlog_set_rate_limit (vlog, "daemon", FALSE);
  text = uc_vlog_list (vlog);

  g_assert_true (
    g_str_has_prefix (text, "                 console    syslog    file\n"
                            "                 -------    ------    ------\n"));
  g_assert_nonnull (
    strstr (text, "\njsonrpc            OFF       INFO        DBG\n"));
  g_assert_nonnull (
    strstr (text, "\nworker             OFF       EMER       INFO\n"));
  g_assert_nonnull (strstr (text, "\ndaemon             OFF       INFO       "
                                  "INFO    (rate limiting disabled)\n"));
  /* A name longer than its column pushes the rest right, as in Open
   * vSwitch ("dpif_lookup_autovalidator   OFF"). */
  g_assert_nonnull (strstr (text, "\nworker-protocol    OFF"));
  uc_vlog_set_levels (vlog, "a-very-long-module-name", UC_VLOG_DESTINATION_FILE,
                      UC_VLOG_LEVEL_DBG);
  g_clear_pointer (&text, g_free);
  text = uc_vlog_list (vlog);
  g_assert_nonnull (
    strstr (text, "\na-very-long-module-name   OFF       INFO        DBG\n"));

  lines = g_strsplit (text, "\n", -1);
  n_lines = g_strv_length (lines);
  g_assert_cmpstr (lines[n_lines - 1], ==, "");
  row = g_regex_new ("^[^ ]+ +(OFF|EMER| ERR|WARN|INFO| DBG|  OFF| ERR)  .*$",
                     0, 0, &error);
  g_assert_no_error (error);
  for (guint i = 2; i < n_lines - 1; i++)
    {
      g_autofree char *name = g_strndup (lines[i], strcspn (lines[i], " "));
      g_autofree char *rebuilt = NULL;

      rebuilt =
        g_strdup_printf ("%-16s  %4s       %4s       %4s%s", name, "", "", "",
                         g_str_has_suffix (lines[i], "(rate limiting disabled)")
                           ? "    (rate limiting disabled)"
                           : "");
      g_assert_cmpuint (strlen (lines[i]), ==, strlen (rebuilt));
      if (i > 2)
        g_assert_cmpint (strcmp (lines[i - 1], lines[i]), <, 0);
    }
}

/* Every log domain of the daemon's sources is in vlog/list before it
 * logs anything (the table in uc-vlog.c is complete). */
static void
test_list_known_modules (void)
{
  g_autofree char *src = g_test_build_filename (G_TEST_DIST, "..", "src", NULL);
  g_autoptr (UcVlog) vlog = uc_vlog_new ("test");
  g_autofree char *text = uc_vlog_list (vlog);
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GError) error = NULL;
  const char *name;
  guint n_checked = 0;

  dir = g_dir_open (src, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *contents = NULL;
      g_autofree char *row = NULL;
      const char *define;
      const char *start;
      const char *end;
      g_autofree char *domain = NULL;

      /* The CLI and the worker log to their own standard error. */
      if (!g_str_has_suffix (name, ".c") ||
          g_str_equal (name, "unixctl-main.c") ||
          g_str_equal (name, "unixctld-worker-main.c"))
        continue;
      path = g_build_filename (src, name, NULL);
      contents = uc_test_read_file (path);
      define = strstr (contents, "#define G_LOG_DOMAIN \"");
      /* A file that logs nothing may have no domain (uc-fd.c). */
      if (define == NULL)
        {
          g_assert_null (strstr (contents, "g_debug ("));
          g_assert_null (strstr (contents, "g_message ("));
          g_assert_null (strstr (contents, "g_warning ("));
          continue;
        }
      start = define + strlen ("#define G_LOG_DOMAIN \"");
      end = strchr (start, '"');
      domain = g_strndup (start, end - start);
      row = g_strdup_printf ("\n%-16s  ", domain);
      g_test_message ("%s: %s", name, domain);
      g_assert_nonnull (strstr (text, row));
      n_checked++;
    }
  g_assert_cmpuint (n_checked, >, 20);
}

static void
test_list_patterns (void)
{
  g_autoptr (UcVlog) vlog = uc_vlog_new ("test");
  g_autofree char *text = uc_vlog_list_patterns (vlog);
  g_autofree char *libc = NULL;
  g_autofree char *journal = NULL;
  g_autoptr (JsonNode) json = uc_vlog_list_patterns_json (vlog);
  JsonObject *object = json_node_get_object (json);

  /* ovsdb-server's layout; the syslog prefix is what syslog(3) adds, and
   * the journal takes fields, with none. */
  libc = g_strdup_printf (
    "         prefix                            format\n"
    "         ------                            ------\n"
    "SYSLOG   <%%B> %%D{%%h %%e %%T} %%E %%A:          %s\n"
    "CONSOLE  none                              %s\n"
    "FILE     none                              %s\n",
    UC_VLOG_DEFAULT_SYSLOG_PATTERN, UC_VLOG_DEFAULT_CONSOLE_PATTERN,
    UC_VLOG_DEFAULT_FILE_PATTERN);
  journal = g_strdup_printf (
    "         prefix                            format\n"
    "         ------                            ------\n"
    "SYSLOG   none                              %s\n"
    "CONSOLE  none                              %s\n"
    "FILE     none                              %s\n",
    UC_VLOG_DEFAULT_SYSLOG_PATTERN, UC_VLOG_DEFAULT_CONSOLE_PATTERN,
    UC_VLOG_DEFAULT_FILE_PATTERN);
  if (g_strcmp0 (text, journal) != 0)
    g_assert_cmpstr (text, ==, libc);

  g_assert_cmpstr (json_object_get_string_member (
                     json_object_get_object_member (object, "file"), "pattern"),
                   ==, UC_VLOG_DEFAULT_FILE_PATTERN);
  g_assert_true (json_object_get_null_member (
    json_object_get_object_member (object, "console"), "prefix"));
  g_assert_cmpuint (json_object_get_size (object), ==, 3);
}

/* The writer, installed in this process. */

typedef struct
{
  char *dir;    /* (owned) */
  char *log;    /* (owned) DIR/test.log */
  UcVlog *vlog; /* (owned) installed */
} VlogFixture;

static void
vlog_set_up (VlogFixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = uc_test_make_tmp_dir ("test-vlog-XXXXXX");
  fixture->log = g_build_filename (fixture->dir, "test.log", NULL);
  fixture->vlog = uc_vlog_new ("test-vlog");
  /* Only the file: the test's output stays clean, and nothing goes to
   * the system's log. */
  uc_vlog_set_levels (fixture->vlog, NULL, UC_VLOG_DESTINATION_CONSOLE,
                      UC_VLOG_LEVEL_OFF);
  uc_vlog_set_levels (fixture->vlog, NULL, UC_VLOG_DESTINATION_SYSLOG,
                      UC_VLOG_LEVEL_OFF);
  uc_vlog_install (fixture->vlog);
  g_assert_true (uc_vlog_set_log_file (fixture->vlog, fixture->log, &error));
  g_assert_no_error (error);
  /* Written here, by the test's thread. */
  uc_vlog_set_worker (fixture->vlog, NULL);
}

static void
vlog_tear_down (VlogFixture *fixture, gconstpointer user_data)
{
  uc_vlog_uninstall (fixture->vlog);
  g_clear_object (&fixture->vlog);
  uc_rate_limit_set_enabled (TRUE);
  uc_test_rm_rf (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->log, g_free);
}

static void
on_flushed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (
    uc_log_writer_flush_finish (UC_LOG_WRITER (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

/* Waits until what @writer was given is in the file. */
static void
flush_writer (UcLogWriter *writer)
{
  gboolean done = FALSE;

  uc_log_writer_flush_async (writer, NULL, on_flushed, &done);
  uc_test_wait_until (done);
}

/* The log file's lines, once written. */
static GStrv
log_lines (VlogFixture *fixture)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  guint n;

  flush_writer (uc_vlog_get_log_writer (fixture->vlog));
  text = uc_test_read_file (fixture->log);
  g_assert_true (g_str_has_suffix (text, "\n"));
  lines = g_strsplit (text, "\n", -1);
  n = g_strv_length (lines);
  g_free (lines[n - 1]);
  lines[n - 1] = NULL;
  return g_steal_pointer (&lines);
}

/* The part after the serial, level and all: "MODULE|LEVEL|MESSAGE". */
static const char *
line_tail (const char *line)
{
  const char *p = strchr (line, '|');

  g_assert_nonnull (p);
  p = strchr (p + 1, '|');
  g_assert_nonnull (p);
  return p + 1;
}

static void
test_writer_file (VlogFixture *fixture, gconstpointer user_data)
{
  g_auto (GStrv) lines = NULL;
  g_autoptr (GRegex) regex = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *first = NULL;

  g_message ("hello %d", 42);
  g_debug ("hidden at info");
  g_info ("hidden too: GLib's info is dbg");
  uc_vlog_set_levels (fixture->vlog, G_LOG_DOMAIN, UC_VLOG_DESTINATION_FILE,
                      UC_VLOG_LEVEL_DBG);
  g_debug ("shown at dbg");
  g_info ("info as DBG");
  g_log ("another-domain", G_LOG_LEVEL_MESSAGE, "from elsewhere");
  uc_vlog_set_levels (fixture->vlog, "another-domain", UC_VLOG_DESTINATION_FILE,
                      UC_VLOG_LEVEL_WARN);
  g_log ("another-domain", G_LOG_LEVEL_MESSAGE, "filtered");
  g_log (NULL, G_LOG_LEVEL_MESSAGE, "no domain");

  lines = log_lines (fixture);
  g_assert_cmpuint (g_strv_length (lines), ==, 6);
  first = g_strdup_printf ("vlog|INFO|opened log file %s", fixture->log);
  g_assert_cmpstr (line_tail (lines[0]), ==, first);
  g_assert_cmpstr (line_tail (lines[1]), ==, "test-vlog|INFO|hello 42");
  g_assert_cmpstr (line_tail (lines[2]), ==, "test-vlog|DBG|shown at dbg");
  g_assert_cmpstr (line_tail (lines[3]), ==, "test-vlog|DBG|info as DBG");
  g_assert_cmpstr (line_tail (lines[4]), ==,
                   "another-domain|INFO|from elsewhere");
  g_assert_cmpstr (line_tail (lines[5]), ==, "default|INFO|no domain");

  /* The default file pattern, and serial numbers from 1 for the messages
   * that went somewhere. */
  regex = g_regex_new (FILE_LINE_REGEX, 0, 0, &error);
  g_assert_no_error (error);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *serial = g_strdup_printf ("|%05u|", i + 1);

      g_assert_true (g_regex_match (regex, lines[i], 0, NULL));
      g_assert_nonnull (strstr (lines[i], serial));
    }

  /* Modules that logged are listed. */
  {
    g_autofree char *list = uc_vlog_list (fixture->vlog);

    g_assert_nonnull (strstr (list, "\nanother-domain     OFF        OFF       "
                                    "WARN\n"));
    g_assert_nonnull (strstr (list, "\ndefault    "));
  }
}

static void
test_writer_pattern (VlogFixture *fixture, gconstpointer user_data)
{
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (uc_vlog_set_levels_from_string (
    fixture->vlog, "PATTERN:file:%c %p %A: %m", &error));
  g_assert_true (
    uc_vlog_set_levels_from_string (fixture->vlog, "FACILITY:local1", &error));
  g_message ("patterned");
  g_assert_true (
    uc_vlog_set_levels_from_string (fixture->vlog, "PATTERN:file:%B", &error));
  g_message ("priority");

  lines = log_lines (fixture);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_cmpstr (lines[1], ==, "test-vlog INFO test-vlog: patterned");
  g_assert_cmpstr (lines[2], ==, "141");
}

/* --syslog-method=unix:FILE: each message is one datagram, "<PRI>" and
 * the syslog pattern, and a receiver that never reads only loses
 * messages: once its buffer is full, logging goes on without waiting. */
static void
test_writer_syslog_socket (VlogFixture *fixture, gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "log.sock", NULL);
  g_autofree char *method = g_strconcat ("unix:", path, NULL);
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr (GSocket) receiver = NULL;
  g_autoptr (GError) error = NULL;
  char buffer[256];
  gssize n;

  receiver = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                           G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (receiver, address, FALSE, &error));
  g_assert_no_error (error);

  g_assert_true (uc_vlog_set_syslog_method (fixture->vlog, method, &error));
  g_assert_no_error (error);
  uc_vlog_set_levels (fixture->vlog, NULL, UC_VLOG_DESTINATION_SYSLOG,
                      UC_VLOG_LEVEL_INFO);
  g_message ("to the socket");
  n = g_socket_receive (receiver, buffer, sizeof buffer - 1, NULL, &error);
  g_assert_no_error (error);
  buffer[n] = '\0';
  /* daemon (24) + notice (5), Open vSwitch's info; the serial is the
   * second message's, after the log file's "opened". */
  g_assert_cmpstr (buffer, ==, "<29>ovs|00002|test-vlog|INFO|to the socket");

  /* Far more than the socket's queue holds (net.unix.max_dgram_qlen,
   * 512 by default): returns, having dropped some. */
  for (guint i = 0; i < 20000; i++)
    g_message ("flood %u", i);
  g_assert_true (g_socket_condition_check (receiver, G_IO_IN) & G_IO_IN);

  g_assert_false (uc_vlog_set_syslog_method (fixture->vlog, "tcp:x", &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_INVALID_NAME);
  g_clear_error (&error);
  g_assert_true (uc_vlog_set_syslog_method (fixture->vlog, "libc", &error));
  g_assert_no_error (error);
  uc_vlog_set_levels (fixture->vlog, NULL, UC_VLOG_DESTINATION_SYSLOG,
                      UC_VLOG_LEVEL_OFF);
}

#define N_THREADS    4
#define N_PER_THREAD 2000

static int threads_done;

static gpointer
log_from_thread (gpointer data)
{
  guint id = GPOINTER_TO_UINT (data);

  for (guint i = 0; i < N_PER_THREAD; i++)
    g_message ("thread %u line %u", id, i);
  g_atomic_int_inc (&threads_done);
  g_main_context_wakeup (NULL);
  return NULL;
}

/* Threads log while the main context writes: every line arrives once, in
 * each thread's order, named after its thread (%T). */
static void
test_writer_threads (VlogFixture *fixture, gconstpointer user_data)
{
  GThread *threads[N_THREADS];
  guint next[N_THREADS] = { 0 };
  g_auto (GStrv) lines = NULL;
  guint n_lines;

  g_atomic_int_set (&threads_done, 0);
  for (guint t = 0; t < N_THREADS; t++)
    {
      g_autofree char *name = g_strdup_printf ("logger-%u", t);

      threads[t] = g_thread_new (name, log_from_thread, GUINT_TO_POINTER (t));
    }
  uc_test_wait_until (g_atomic_int_get (&threads_done) == N_THREADS);
  for (guint t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);

  lines = log_lines (fixture);
  n_lines = g_strv_length (lines);
  g_assert_cmpuint (n_lines, ==, 1 + N_THREADS * N_PER_THREAD);
  for (guint i = 1; i < n_lines; i++)
    {
      guint t;
      guint l;
      const char *tail = line_tail (lines[i]);

      g_assert_cmpint (sscanf (tail,
                               "test-vlog(logger-%u)|INFO|thread %*u "
                               "line %u",
                               &t, &l),
                       ==, 2);
      g_assert_cmpuint (t, <, N_THREADS);
      g_assert_cmpuint (l, ==, next[t]);
      next[t]++;
    }
  for (guint t = 0; t < N_THREADS; t++)
    g_assert_cmpuint (next[t], ==, N_PER_THREAD);
}

/* A fatal message is in the file before the process aborts, and on
 * standard error whatever the console's level. */
static void
test_writer_fatal (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;

  if (g_test_subprocess ())
    {
      UcVlog *vlog = uc_vlog_new ("test-vlog");

      uc_vlog_set_levels (vlog, NULL, UC_VLOG_DESTINATION_CONSOLE,
                          UC_VLOG_LEVEL_OFF);
      uc_vlog_set_levels (vlog, NULL, UC_VLOG_DESTINATION_SYSLOG,
                          UC_VLOG_LEVEL_OFF);
      uc_vlog_install (vlog);
      uc_vlog_set_log_file (vlog, g_getenv ("TEST_VLOG_FATAL_LOG"), NULL);
      uc_vlog_set_worker (vlog, NULL);
      g_message ("before the end");
      g_error ("the end");
    }

  dir = uc_test_make_tmp_dir ("test-vlog-XXXXXX");
  path = g_build_filename (dir, "fatal.log", NULL);
  g_setenv ("TEST_VLOG_FATAL_LOG", path, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv ("TEST_VLOG_FATAL_LOG");
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*Z|00003|test-vlog|EMER|the end\n*");

  text = uc_test_read_file (path);
  g_assert_nonnull (strstr (text, "|00002|test-vlog|INFO|before the end\n"));
  g_assert_nonnull (strstr (text, "|00003|test-vlog|EMER|the end\n"));
  uc_test_rm_rf (dir);
}

/* Rate limiting. */

static void
test_rate_limit (VlogFixture *fixture, gconstpointer user_data)
{
  static UcRateLimit rl = UC_RATE_LIMIT_INIT (5, 3);
  static UcRateLimit quiet_rl = UC_RATE_LIMIT_INIT (5, 2);
  g_autoptr (UcServer) server = uc_server_new ("test", "1");
  const char *const disable[] = { "vlog/disable-rate-limit", "TEST-VLOG",
                                  NULL };
  const char *const enable_all[] = { "vlog/enable-rate-limit", NULL };
  const char *const unknown[] = { "vlog/disable-rate-limit", "vlog", "nope",
                                  NULL };
  const char *const enable_any[] = { "vlog/enable-rate-limit", "ANY", NULL };
  g_auto (GStrv) lines = NULL;
  g_autofree char *list = NULL;

  uc_vlog_register_commands (fixture->vlog, server);

  /* A burst of 3, then a few a minute: not within this test. */
  for (int i = 0; i < 10; i++)
    uc_log_rl (&rl, G_LOG_LEVEL_MESSAGE, "limited %d", i);

  /* Off for the module: every message. */
  assert_call (server, disable, TRUE, "");
  list = uc_vlog_list (fixture->vlog);
  g_assert_nonnull (strstr (list, "\ntest-vlog          OFF        OFF       "
                                  "INFO    (rate limiting disabled)\n"));
  g_assert_false (uc_vlog_get_rate_limit (fixture->vlog, "test-vlog"));
  for (int i = 10; i < 15; i++)
    uc_log_rl (&rl, G_LOG_LEVEL_MESSAGE, "limited %d", i);

  /* An unknown module is refused; those named before it are done. */
  assert_call (server, unknown, FALSE, "unknown module");
  g_assert_false (uc_vlog_get_rate_limit (fixture->vlog, "vlog"));
  assert_call (server, enable_any, TRUE, "");
  g_assert_true (uc_vlog_get_rate_limit (fixture->vlog, "vlog"));

  /* On again: the tokens are spent. */
  assert_call (server, disable, TRUE, "");
  assert_call (server, enable_all, TRUE, "");
  for (int i = 15; i < 20; i++)
    uc_log_rl (&rl, G_LOG_LEVEL_MESSAGE, "limited %d", i);

  /* A message that would go nowhere spends no token. */
  uc_vlog_set_levels (fixture->vlog, G_LOG_DOMAIN, UC_VLOG_DESTINATION_FILE,
                      UC_VLOG_LEVEL_WARN);
  for (int i = 0; i < 10; i++)
    uc_log_rl (&quiet_rl, G_LOG_LEVEL_MESSAGE, "quiet %d", i);
  uc_vlog_set_levels (fixture->vlog, G_LOG_DOMAIN, UC_VLOG_DESTINATION_FILE,
                      UC_VLOG_LEVEL_INFO);
  for (int i = 0; i < 3; i++)
    uc_log_rl (&quiet_rl, G_LOG_LEVEL_MESSAGE, "loud %d", i);

  /* The process-wide switch is every module's. */
  uc_rate_limit_set_enabled (FALSE);
  g_assert_false (uc_rate_limit_get_enabled ());
  g_assert_false (uc_vlog_get_rate_limit (fixture->vlog, "jsonrpc"));
  for (int i = 20; i < 22; i++)
    uc_log_rl (&rl, G_LOG_LEVEL_MESSAGE, "limited %d", i);
  uc_rate_limit_set_enabled (TRUE);

  lines = log_lines (fixture);
  {
    const char *expected[] = {
      "limited 0",  "limited 1",  "limited 2",  "limited 10",
      "limited 11", "limited 12", "limited 13", "limited 14",
      "loud 0",     "loud 1",     "limited 20", "limited 21",
    };

    g_assert_cmpuint (g_strv_length (lines), ==, 1 + G_N_ELEMENTS (expected));
    for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
      {
        g_autofree char *tail =
          g_strconcat ("test-vlog|INFO|", expected[i], NULL);

        g_assert_cmpstr (line_tail (lines[i + 1]), ==, tail);
      }
  }
}

/* Once messages were dropped, the next one that passes is preceded by
 * Open vSwitch's summary. */
static void
test_rate_limit_summary (VlogFixture *fixture, gconstpointer user_data)
{
  /* 10 a second: a token every 100 ms. */
  static UcRateLimit rl = UC_RATE_LIMIT_INIT (600, 1);
  g_auto (GStrv) lines = NULL;

  uc_log_rl (&rl, G_LOG_LEVEL_MESSAGE, "first");
  for (int i = 0; i < 5; i++)
    uc_log_rl (&rl, G_LOG_LEVEL_MESSAGE, "dropped %d", i);
  g_usleep (150 * 1000);
  uc_log_rl (&rl, G_LOG_LEVEL_MESSAGE, "after");

  lines = log_lines (fixture);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_cmpstr (line_tail (lines[1]), ==, "test-vlog|INFO|first");
  g_assert_cmpstr (line_tail (lines[2]), ==,
                   "test-vlog|INFO|Dropped 5 log messages in last 0 seconds "
                   "(most recently, 0 seconds ago) due to excessive rate");
  g_assert_cmpstr (line_tail (lines[3]), ==, "test-vlog|INFO|after");
}

/* The commands. */

static void
test_commands (VlogFixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcServer) server = uc_server_new ("test", "1");
  const char *const list[] = { "vlog/list", NULL };
  const char *const list_pattern[] = { "vlog/list-pattern", NULL };
  const char *const set_all[] = { "vlog/set", NULL };
  const char *const set_partly[] = { "vlog/set", "vlog:file:warn",
                                     "console:file", "jsonrpc:file:err", NULL };
  const char *const set_console_off[] = { "vlog/set", "console:off", NULL };
  const char *const close[] = { "vlog/close", NULL };
  const char *const reopen[] = { "vlog/reopen", NULL };
  static const struct
  {
    const char *name;
    const char *usage;
  } usages[] = {
    { "vlog/set", "{spec | PATTERN:destination:pattern}" },
    { "vlog/list", "" },
    { "vlog/list-pattern", "" },
    { "vlog/reopen", "" },
    { "vlog/close", "" },
    { "vlog/enable-rate-limit", "[module]..." },
    { "vlog/disable-rate-limit", "[module]..." },
  };
  g_auto (GStrv) lines = NULL;

  uc_vlog_register_commands (fixture->vlog, server);
  for (gsize i = 0; i < G_N_ELEMENTS (usages); i++)
    g_assert_cmpstr (uc_server_get_usage (server, usages[i].name), ==,
                     usages[i].usage);

  /* Each bad spec, with ovsdb-server's text. */
  for (gsize i = 0; i < G_N_ELEMENTS (bad_specs); i++)
    {
      const char *const argv[] = { "vlog/set", bad_specs[i].spec, NULL };

      assert_call (server, argv, FALSE, bad_specs[i].error);
    }
  /* The specs before a bad one are applied, not those after. */
  assert_call (server, set_partly, FALSE,
               "cannot specify multiple destinations");
  g_assert_cmpint (
    uc_vlog_get_level (fixture->vlog, "vlog", UC_VLOG_DESTINATION_FILE), ==,
    UC_VLOG_LEVEL_WARN);
  g_assert_cmpint (
    uc_vlog_get_level (fixture->vlog, "jsonrpc", UC_VLOG_DESTINATION_FILE), ==,
    UC_VLOG_LEVEL_INFO);

  /* Lists, in text and in JSON. */
  {
    g_auto (UcTestReply) reply = { 0 };
    g_autofree char *expected = uc_vlog_list (fixture->vlog);

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_TEXT, list, &reply);
    g_assert_cmpstr (json_node_get_string (reply.body), ==, expected);
  }
  {
    g_auto (UcTestReply) reply = { 0 };
    g_autofree char *expected = uc_vlog_list_patterns (fixture->vlog);

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_TEXT, list_pattern, &reply);
    g_assert_cmpstr (json_node_get_string (reply.body), ==, expected);
  }
  {
    g_auto (UcTestReply) reply = { 0 };
    JsonObject *module;

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_JSON, list, &reply);
    g_assert_true (reply.success);
    module =
      json_object_get_object_member (json_node_get_object (reply.body), "vlog");
    g_assert_cmpstr (json_object_get_string_member (module, "console"), ==,
                     "off");
    g_assert_cmpstr (json_object_get_string_member (module, "syslog"), ==,
                     "off");
    g_assert_cmpstr (json_object_get_string_member (module, "file"), ==,
                     "warn");
    g_assert_true (json_object_get_boolean_member (module, "rate-limit"));
    g_assert_cmpuint (json_object_get_size (module), ==, 4);
  }
  {
    g_auto (UcTestReply) reply = { 0 };

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_JSON, list_pattern, &reply);
    g_assert_true (reply.success);
    g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (
                         json_node_get_object (reply.body), "console"),
                       "pattern"),
                     ==, UC_VLOG_DEFAULT_CONSOLE_PATTERN);
  }

  /* No argument: everything to dbg. */
  assert_call (server, set_all, TRUE, "");
  g_assert_cmpint (
    uc_vlog_get_level (fixture->vlog, "vlog", UC_VLOG_DESTINATION_SYSLOG), ==,
    UC_VLOG_LEVEL_DBG);
  assert_call (server, set_console_off, TRUE, "");
  uc_vlog_set_levels (fixture->vlog, NULL, UC_VLOG_DESTINATION_SYSLOG,
                      UC_VLOG_LEVEL_OFF);

  /* Closed, lines are not kept; reopened, they are again. */
  g_message ("before close");
  assert_call (server, close, TRUE, "");
  g_message ("while closed");
  assert_call (server, reopen, TRUE, "");
  g_message ("after reopen");

  lines = log_lines (fixture);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_cmpstr (line_tail (lines[1]), ==, "test-vlog|INFO|before close");
  g_assert_true (
    g_str_has_prefix (line_tail (lines[2]), "vlog|INFO|opened log file "));
  g_assert_cmpstr (line_tail (lines[3]), ==, "test-vlog|INFO|after reopen");
}

/* vlog/reopen without a log file, and with one that cannot be opened. */
static void
test_commands_reopen_errors (void)
{
  g_autoptr (UcVlog) vlog = uc_vlog_new ("test");
  g_autoptr (UcServer) server = uc_server_new ("test", "1");
  g_autofree char *dir = uc_test_make_tmp_dir ("test-vlog-XXXXXX");
  g_autofree char *sub = g_build_filename (dir, "missing", NULL);
  g_autofree char *path = g_build_filename (sub, "x.log", NULL);
  g_autofree char *warning = NULL;
  g_autoptr (GError) error = NULL;
  const char *const reopen[] = { "vlog/reopen", NULL };

  uc_vlog_register_commands (vlog, server);
  assert_call (server, reopen, FALSE, "Logging to file not configured");

  /* Open vSwitch's warning, and its reply: the system's text alone. */
  warning = g_strdup_printf ("failed to open %s for logging: No such file or "
                             "directory",
                             path);
  g_test_expect_message ("vlog", G_LOG_LEVEL_WARNING, warning);
  g_assert_false (uc_vlog_set_log_file (vlog, path, &error));
  g_test_assert_expected_messages ();
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "No such file or directory");

  g_test_expect_message ("vlog", G_LOG_LEVEL_WARNING, warning);
  assert_call (server, reopen, FALSE, "No such file or directory");
  g_test_assert_expected_messages ();

  /* The path was kept: once it can be opened, it is. */
  g_assert_no_errno (g_mkdir (sub, 0700));
  g_test_expect_message ("vlog", G_LOG_LEVEL_MESSAGE, "opened log file *");
  assert_call (server, reopen, TRUE, "");
  g_test_assert_expected_messages ();
  g_assert_true (uc_log_writer_is_open (uc_vlog_get_log_writer (vlog)));
  g_clear_object (&server);
  g_clear_object (&vlog);
  uc_test_rm_rf (dir);
}

/* UcLogWriter and a real worker. */

typedef struct
{
  char *dir;           /* (owned) */
  char *path;          /* (owned) DIR/writer.log */
  UcWorker *worker;    /* (owned) running */
  UcLogWriter *writer; /* (owned) (nullable) */
  GString *expected;   /* (owned) what the file must end up holding */
  gboolean stopped;    /* the worker got SIGSTOP */
} WriterFixture;

static void
writer_set_up (WriterFixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = uc_test_make_tmp_dir ("test-vlog-XXXXXX");
  fixture->path = g_build_filename (fixture->dir, "writer.log", NULL);
  fixture->expected = g_string_new (NULL);
  fixture->worker = uc_worker_new (NULL);
  uc_worker_set_restart_delays (fixture->worker, 10, 100, 30000);
  g_assert_true (uc_worker_start (fixture->worker, &error));
  g_assert_no_error (error);
}

static void
on_worker_stopped (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_assert_true (uc_worker_stop_finish (UC_WORKER (source), result, NULL));
  *(gboolean *) user_data = TRUE;
}

static void
writer_tear_down (WriterFixture *fixture, gconstpointer user_data)
{
  if (fixture->stopped)
    kill (uc_worker_get_pid (fixture->worker), SIGCONT);
  g_clear_object (&fixture->writer);
  /* Its calls complete, so that nothing holds the worker. */
  if (uc_worker_get_state (fixture->worker) != UC_WORKER_STATE_STOPPED)
    {
      gboolean stopped = FALSE;

      uc_worker_stop_async (fixture->worker, NULL, on_worker_stopped, &stopped);
      uc_test_wait_until (stopped);
    }
  g_clear_object (&fixture->worker);
  g_string_free (fixture->expected, TRUE);
  uc_test_rm_rf (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->path, g_free);
}

/* Creates the writer and opens its file, which says so. */
static void
writer_open (WriterFixture *fixture, gsize max_buffered)
{
  g_autoptr (GError) error = NULL;

  fixture->writer = uc_log_writer_new (fixture->path, max_buffered);
  g_test_expect_message ("vlog", G_LOG_LEVEL_MESSAGE, "opened log file *");
  g_assert_true (uc_log_writer_open (fixture->writer, &error));
  g_assert_no_error (error);
  g_test_assert_expected_messages ();
}

/* Writes a line the file must hold. */
static void G_GNUC_PRINTF (2, 3)
  put (WriterFixture *fixture, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  uc_log_writer_write (fixture->writer, line, strlen (line));
  g_string_append (fixture->expected, line);
}

static void
assert_file (WriterFixture *fixture)
{
  g_autofree char *text = NULL;

  flush_writer (fixture->writer);
  text = uc_test_read_file (fixture->path);
  g_assert_cmpstr (text, ==, fixture->expected->str);
}

static void
store_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* A figure of memory/show. */
static gint64
memory_value (const char *key)
{
  g_autofree char *text = uc_memory_show ();
  g_autofree char *needle = g_strconcat (key, ":", NULL);
  const char *found = strstr (text, needle);

  if (found == NULL)
    return -1;
  return (gint64) g_ascii_strtoull (found + strlen (needle), NULL, 10);
}

static guint64
read_counter (const char *name)
{
  guint64 count = 0;

  g_assert_true (uc_coverage_read_counter (name, &count));
  return count;
}

/* What is logged within one main loop iteration goes in one append, after
 * the one hold; lines go after what the file held. */
static void
test_log_writer_appends (WriterFixture *fixture, gconstpointer user_data)
{
  guint64 appends;

  uc_test_write_file (fixture->path, "from before\n");
  g_string_append (fixture->expected, "from before\n");
  writer_open (fixture, UC_VLOG_MAX_BUFFERED);
  g_assert_true (uc_log_writer_is_open (fixture->writer));
  uc_log_writer_set_worker (fixture->writer, fixture->worker);

  appends = read_counter ("vlog_file_append");
  for (guint i = 0; i < 1000; i++)
    put (fixture, "line %u of the first batch\n", i);
  assert_file (fixture);
  g_assert_cmpuint (read_counter ("vlog_file_append"), ==, appends + 1);
  g_assert_cmpuint (uc_log_writer_get_n_written (fixture->writer), ==, 1000);

  put (fixture, "one more\n");
  assert_file (fixture);
  g_assert_cmpuint (read_counter ("vlog_file_append"), ==, appends + 2);
  g_assert_cmpuint (uc_log_writer_get_buffered (fixture->writer), ==, 0);
  g_assert_cmpuint (uc_log_writer_get_n_dropped (fixture->writer), ==, 0);
}

/* Lines written before the worker is there wait for it. */
static void
test_log_writer_before_worker (WriterFixture *fixture, gconstpointer user_data)
{
  g_autofree char *text = NULL;

  writer_open (fixture, UC_VLOG_MAX_BUFFERED);
  put (fixture, "early\n");
  uc_test_run_for (50);
  text = uc_test_read_file (fixture->path);
  g_assert_cmpstr (text, ==, "");
  g_assert_cmpuint (uc_log_writer_get_buffered (fixture->writer), ==, 6);

  uc_log_writer_set_worker (fixture->writer, fixture->worker);
  put (fixture, "later\n");
  assert_file (fixture);
}

/* Kills the worker while it has an append, and waits for the next one,
 * which gets the append again.  Nothing may be in flight before. */
static void
kill_worker_with_append (WriterFixture *fixture, guint round)
{
  guint restarts = uc_worker_get_restarts (fixture->worker);
  guint64 appends = read_counter ("vlog_file_append");
  GPid pid = uc_worker_get_pid (fixture->worker);

  /* Stopped, it cannot answer the append before it dies. */
  g_assert_no_errno (kill (pid, SIGSTOP));
  for (guint i = 0; i < 200; i++)
    put (fixture, "round %u line %u\n", round, i);
  uc_test_wait_until (read_counter ("vlog_file_append") > appends);
  g_assert_cmpuint (uc_worker_get_n_in_flight (fixture->worker), >, 0);

  g_test_expect_message ("worker", G_LOG_LEVEL_WARNING,
                         "worker * died (signal 9); restarting in * ms");
  g_assert_no_errno (kill (pid, SIGKILL));
  uc_test_wait_until (uc_worker_get_restarts (fixture->worker) == restarts + 1);
  g_test_assert_expected_messages ();
}

/* Workers killed with appends in flight: the file has every line once. */
static void
test_log_writer_worker_killed (WriterFixture *fixture, gconstpointer user_data)
{
  writer_open (fixture, UC_VLOG_MAX_BUFFERED);
  uc_log_writer_set_worker (fixture->writer, fixture->worker);
  put (fixture, "held\n");

  for (guint round = 0; round < 4; round++)
    {
      flush_writer (fixture->writer);
      kill_worker_with_append (fixture, round);
      for (guint i = 200; i < 300; i++)
        put (fixture, "round %u line %u\n", round, i);
    }
  assert_file (fixture);
  g_assert_cmpuint (uc_log_writer_get_n_written (fixture->writer), ==, 1201);
}

/* A stopped worker: lines wait in memory, nothing is written, nothing is
 * lost; the buffered bytes show in memory/show. */
static void
test_log_writer_worker_stopped (WriterFixture *fixture, gconstpointer user_data)
{
  g_autofree char *before = NULL;
  g_autofree char *during = NULL;

  writer_open (fixture, UC_VLOG_MAX_BUFFERED);
  uc_log_writer_set_worker (fixture->writer, fixture->worker);
  put (fixture, "before the stop\n");
  assert_file (fixture);
  before = uc_test_read_file (fixture->path);

  g_assert_no_errno (kill (uc_worker_get_pid (fixture->worker), SIGSTOP));
  fixture->stopped = TRUE;
  for (guint i = 0; i < 500; i++)
    {
      put (fixture, "while stopped %u\n", i);
      if (i % 50 == 0)
        uc_test_run_for (5);
    }
  uc_test_run_for (50);
  during = uc_test_read_file (fixture->path);
  g_assert_cmpstr (during, ==, before);
  g_assert_cmpuint (uc_log_writer_get_buffered (fixture->writer), >, 0);
  g_assert_cmpint (memory_value ("log-buffered"), >, 0);

  g_assert_no_errno (kill (uc_worker_get_pid (fixture->worker), SIGCONT));
  fixture->stopped = FALSE;
  assert_file (fixture);
  g_assert_cmpuint (uc_log_writer_get_n_dropped (fixture->writer), ==, 0);
}

/* Past the bound, lines are dropped and counted; once writing resumes,
 * the loss is logged. */
static void
test_log_writer_bounded (WriterFixture *fixture, gconstpointer user_data)
{
  /* Lines of 100 bytes, 40 of which fit. */
  const gsize max = 4096;
  char line[101];

  writer_open (fixture, max);
  uc_log_writer_set_worker (fixture->writer, fixture->worker);
  g_assert_no_errno (kill (uc_worker_get_pid (fixture->worker), SIGSTOP));
  fixture->stopped = TRUE;

  memset (line, 'x', 99);
  line[99] = '\n';
  line[100] = '\0';
  for (guint i = 0; i < 100; i++)
    {
      line[0] = (char) ('0' + i % 10);
      if (i < 40)
        put (fixture, "%s", line);
      else
        uc_log_writer_write (fixture->writer, line, 100);
    }
  g_assert_cmpuint (uc_log_writer_get_n_dropped (fixture->writer), ==, 60);
  g_assert_cmpuint (uc_log_writer_get_buffered (fixture->writer), ==, 4000);

  g_test_expect_message ("vlog", G_LOG_LEVEL_MESSAGE,
                         "dropped 60 log messages: more than 4096 bytes were "
                         "waiting for the log file");
  g_assert_no_errno (kill (uc_worker_get_pid (fixture->worker), SIGCONT));
  fixture->stopped = FALSE;
  assert_file (fixture);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (read_counter ("vlog_file_dropped"), >=, 60);
}

/* Rotation: after a rename, reopen switches to a new file, "closing log
 * file" going to the old one; without one, nothing changes. */
static void
test_log_writer_reopen (WriterFixture *fixture, gconstpointer user_data)
{
  g_autofree char *rotated =
    g_build_filename (fixture->dir, "writer.log.1", NULL);
  g_autofree char *old_text = NULL;
  g_autofree char *new_text = NULL;
  g_autoptr (GError) error = NULL;

  writer_open (fixture, UC_VLOG_MAX_BUFFERED);
  uc_log_writer_set_worker (fixture->writer, fixture->worker);
  put (fixture, "first file\n");

  /* Not rotated: the same file goes on, with nothing said. */
  {
    g_autoptr (GAsyncResult) result = NULL;

    uc_log_writer_reopen_async (fixture->writer, NULL, store_result, &result);
    uc_test_wait_until (result != NULL);
    g_assert_true (
      uc_log_writer_reopen_finish (fixture->writer, result, &error));
    g_assert_no_error (error);
  }
  put (fixture, "still the first file\n");
  assert_file (fixture);

  g_assert_no_errno (g_rename (fixture->path, rotated));
  put (fixture, "logged before the reopen\n");
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autofree char *opened =
      g_strdup_printf ("opened log file %s", fixture->path);

    g_test_expect_message ("vlog", G_LOG_LEVEL_MESSAGE, "closing log file");
    g_test_expect_message ("vlog", G_LOG_LEVEL_MESSAGE, opened);
    uc_log_writer_reopen_async (fixture->writer, NULL, store_result, &result);
    uc_test_wait_until (result != NULL);
    g_assert_true (
      uc_log_writer_reopen_finish (fixture->writer, result, &error));
    g_assert_no_error (error);
    g_test_assert_expected_messages ();
  }
  uc_log_writer_write (fixture->writer, "second file\n", 12);
  flush_writer (fixture->writer);

  old_text = uc_test_read_file (rotated);
  g_assert_cmpstr (old_text, ==, fixture->expected->str);
  new_text = uc_test_read_file (fixture->path);
  g_assert_cmpstr (new_text, ==, "second file\n");
  /* The worker was given the old file back. */
  uc_test_wait_until (memory_value ("worker-held") == 1);
}

/* Closed, the writer keeps nothing; what came before is still written. */
static void
test_log_writer_close (WriterFixture *fixture, gconstpointer user_data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  writer_open (fixture, UC_VLOG_MAX_BUFFERED);
  uc_log_writer_set_worker (fixture->writer, fixture->worker);
  put (fixture, "before the close\n");
  uc_log_writer_close (fixture->writer);
  g_assert_false (uc_log_writer_is_open (fixture->writer));
  uc_log_writer_write (fixture->writer, "not kept\n", 9);
  assert_file (fixture);
  g_assert_cmpuint (uc_log_writer_get_n_dropped (fixture->writer), ==, 0);
  uc_test_wait_until (memory_value ("worker-held") == 0);

  /* Reopened: the same path, no "closing", lines after the old ones. */
  g_test_expect_message ("vlog", G_LOG_LEVEL_MESSAGE, "opened log file *");
  uc_log_writer_reopen_async (fixture->writer, NULL, store_result, &result);
  uc_test_wait_until (result != NULL);
  g_assert_true (uc_log_writer_reopen_finish (fixture->writer, result, &error));
  g_test_assert_expected_messages ();
  put (fixture, "after the reopen\n");
  assert_file (fixture);
}

/* Closed and opened again while lines for the file are still on their
 * way (the worker is stopped): they keep their place, the new lines go
 * after them. */
static void
test_log_writer_close_busy (WriterFixture *fixture, gconstpointer user_data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  guint64 appends;

  writer_open (fixture, UC_VLOG_MAX_BUFFERED);
  uc_log_writer_set_worker (fixture->writer, fixture->worker);
  put (fixture, "held\n");
  flush_writer (fixture->writer);

  g_assert_no_errno (kill (uc_worker_get_pid (fixture->worker), SIGSTOP));
  fixture->stopped = TRUE;
  appends = read_counter ("vlog_file_append");
  put (fixture, "in flight when closed\n");
  uc_test_wait_until (read_counter ("vlog_file_append") > appends);
  put (fixture, "waiting when closed\n");
  uc_test_run_for (10);
  uc_log_writer_close (fixture->writer);

  g_test_expect_message ("vlog", G_LOG_LEVEL_MESSAGE, "opened log file *");
  uc_log_writer_reopen_async (fixture->writer, NULL, store_result, &result);
  uc_test_run_for (10);
  g_assert_no_errno (kill (uc_worker_get_pid (fixture->worker), SIGCONT));
  fixture->stopped = FALSE;
  uc_test_wait_until (result != NULL);
  g_assert_true (uc_log_writer_reopen_finish (fixture->writer, result, &error));
  g_test_assert_expected_messages ();
  for (guint i = 0; i < 10; i++)
    put (fixture, "after the reopen %u\n", i);
  assert_file (fixture);
}

/* Without a worker, the writer writes itself. */
static void
test_log_writer_direct (WriterFixture *fixture, gconstpointer user_data)
{
  guint64 appends = read_counter ("vlog_file_append");

  writer_open (fixture, UC_VLOG_MAX_BUFFERED);
  uc_log_writer_set_worker (fixture->writer, NULL);
  for (guint i = 0; i < 100; i++)
    put (fixture, "direct %u\n", i);
  assert_file (fixture);
  g_assert_cmpuint (read_counter ("vlog_file_append"), ==, appends);
}

/* When the worker is stopped (the daemon's shutdown), the writer writes
 * the rest itself, what was in flight included. */
static void
test_log_writer_worker_gone (WriterFixture *fixture, gconstpointer user_data)
{
  gboolean stopped = FALSE;

  writer_open (fixture, UC_VLOG_MAX_BUFFERED);
  uc_log_writer_set_worker (fixture->writer, fixture->worker);
  for (guint i = 0; i < 100; i++)
    put (fixture, "to the worker %u\n", i);
  uc_test_wait_until (uc_worker_get_n_in_flight (fixture->worker) > 0);
  uc_worker_stop_async (fixture->worker, NULL, on_worker_stopped, &stopped);
  for (guint i = 0; i < 100; i++)
    put (fixture, "while it stops %u\n", i);
  uc_test_wait_until (stopped);
  for (guint i = 0; i < 100; i++)
    put (fixture, "after it stopped %u\n", i);
  assert_file (fixture);
}

/* A write that fails is tried again, after a growing back-off, without
 * losing its place. */
static void
test_log_writer_retry (WriterFixture *fixture, gconstpointer user_data)
{
  guint64 appends;

  /* Every write to /dev/full fails with ENOSPC. */
  g_clear_pointer (&fixture->path, g_free);
  fixture->path = g_strdup ("/dev/full");
  writer_open (fixture, UC_VLOG_MAX_BUFFERED);
  uc_log_writer_set_worker (fixture->writer, fixture->worker);
  uc_test_wait_until (memory_value ("worker-held") == 1);

  appends = read_counter ("vlog_file_append");
  g_test_expect_message ("vlog", G_LOG_LEVEL_WARNING,
                         "/dev/full: cannot write: *No space left on device; "
                         "retrying in 100 ms");
  g_test_expect_message ("vlog", G_LOG_LEVEL_WARNING,
                         "/dev/full: cannot write: *No space left on device; "
                         "retrying in 200 ms");
  uc_log_writer_write (fixture->writer, "lost\n", 5);
  /* The third attempt is made once the second has failed. */
  uc_test_wait_until (read_counter ("vlog_file_append") == appends + 3);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (uc_log_writer_get_n_written (fixture->writer), ==, 0);
  g_assert_cmpuint (uc_log_writer_get_buffered (fixture->writer), ==, 5);
  /* Gone before it fails again. */
  g_clear_object (&fixture->writer);
}

/* The daemon's log, from the outside. */

typedef struct
{
  char *dir;           /* (owned) */
  char *rundir;        /* (owned) DIR/run: $OVS_RUNDIR */
  char *log;           /* (owned) DIR/unixctld.log: in $OVS_LOGDIR */
  char *err;           /* (owned) DIR/stderr: the daemon's */
  char *socket;        /* (owned) RUNDIR/ctl */
  GSubprocess *daemon; /* (owned) (nullable) */
  guint n_connections; /* made to it so far: the next is unix#N */
  GPid stopped_worker; /* got SIGSTOP, or 0 */
} DaemonFixture;

static void
daemon_set_up (DaemonFixture *fixture, gconstpointer user_data)
{
  fixture->dir = uc_test_make_tmp_dir ("test-vlog-XXXXXX");
  fixture->rundir = g_build_filename (fixture->dir, "run", NULL);
  g_assert_no_errno (g_mkdir (fixture->rundir, 0700));
  fixture->log = g_build_filename (fixture->dir, "unixctld.log", NULL);
  fixture->err = g_build_filename (fixture->dir, "stderr", NULL);
  fixture->socket = g_build_filename (fixture->rundir, "ctl", NULL);
}

/* Sends `exit` to a daemon that is not our child (it detached), if it
 * still listens: a test that failed half-way leaves none behind. */
static void
exit_detached (DaemonFixture *fixture)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  const char request[] = "{\"method\":\"exit\",\"params\":[],\"id\":0}";

  if (!g_file_test (fixture->socket, G_FILE_TEST_EXISTS))
    return;
  address = g_unix_socket_address_new (fixture->socket);
  g_socket_client_set_timeout (client, 5);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address),
                                        NULL, NULL);
  if (connection != NULL)
    g_output_stream_write_all (
      g_io_stream_get_output_stream (G_IO_STREAM (connection)), request,
      strlen (request), NULL, NULL, NULL);
}

static void
daemon_tear_down (DaemonFixture *fixture, gconstpointer user_data)
{
  if (fixture->stopped_worker > 0)
    kill (fixture->stopped_worker, SIGCONT);
  if (fixture->daemon == NULL)
    exit_detached (fixture);
  if (fixture->daemon != NULL &&
      g_subprocess_get_identifier (fixture->daemon) != NULL)
    {
      g_subprocess_send_signal (fixture->daemon, SIGTERM);
      uc_test_subprocess_wait (fixture->daemon, DEADLINE_US);
    }
  g_clear_object (&fixture->daemon);
  uc_test_rm_rf (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->rundir, g_free);
  g_clear_pointer (&fixture->log, g_free);
  g_clear_pointer (&fixture->err, g_free);
  g_clear_pointer (&fixture->socket, g_free);
}

/* The environment the daemon runs in: this one, with $OVS_RUNDIR and
 * $OVS_LOGDIR, critical messages fatal, and no debug switch. */
static char **
daemon_environ (DaemonFixture *fixture)
{
  char **envp = uc_test_ovs_environ (fixture->rundir, fixture->dir);

  envp = g_environ_unsetenv (envp, "G_MESSAGES_DEBUG");
  envp = g_environ_unsetenv (envp, "JOURNAL_STREAM");
  /* So that LeakSanitizer sees leaked GObjects. */
  envp = g_environ_setenv (envp, "G_SLICE", "always-malloc", TRUE);
  return envp;
}

/* Starts unixctld with @extra (NULL-terminated) after the control socket
 * option and syslog off (nothing for the system's log), in @envp, and
 * waits until it serves. */
static void
daemon_start_in (DaemonFixture *fixture, char **envp, const char *const *extra)
{
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSocketConnection) probe = NULL;
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (argv, (char *) uc_test_built_program ("UNIXCTLD"));
  g_ptr_array_add (argv, (char *) "--unixctl=ctl");
  g_ptr_array_add (argv, (char *) "-vsyslog:off");
  for (gsize i = 0; extra[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) extra[i]);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_environ (launcher, envp);
  g_subprocess_launcher_set_stderr_file_path (launcher, fixture->err);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  fixture->daemon = g_subprocess_launcher_spawnv (
    launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  probe = uc_test_wait_for_unix_socket (fixture->daemon, fixture->socket,
                                        DEADLINE_US);
  if (probe == NULL)
    g_error ("unixctld exited before listening: %s",
             uc_test_read_file (fixture->err));
  /* The probe was a connection too. */
  fixture->n_connections++;
}

static void G_GNUC_NULL_TERMINATED
daemon_start (DaemonFixture *fixture, ...)
{
  g_auto (GStrv) envp = daemon_environ (fixture);
  g_autofree const char **args = NULL;
  va_list ap;

  va_start (ap, fixture);
  args = uc_test_args_va (ap);
  va_end (ap);
  daemon_start_in (fixture, envp, args);
}

/* Runs a command on a connection of its own; returns the reply. */
static JsonObject *
daemon_transact (DaemonFixture *fixture,
                 const char *method,
                 const char *const *params)
{
  g_autoptr (GSocketConnection) connection =
    uc_test_connect_unix (fixture->socket, DEADLINE_S);

  fixture->n_connections++;
  return uc_test_transact (g_socket_connection_get_socket (connection), method,
                           params);
}

/* Runs a command that must succeed; returns its text. */
static char *G_GNUC_NULL_TERMINATED
daemon_call (DaemonFixture *fixture, const char *method, ...)
{
  g_autofree const char **params = NULL;
  g_autoptr (JsonObject) reply = NULL;
  JsonNode *error;
  va_list ap;

  va_start (ap, method);
  params = uc_test_args_va (ap);
  va_end (ap);
  reply = daemon_transact (fixture, method, params);
  error = json_object_get_member (reply, "error");
  if (error != NULL && !JSON_NODE_HOLDS_NULL (error))
    g_error ("%s: %s", method, json_node_get_string (error));
  return g_strdup (json_object_get_string_member (reply, "result"));
}

/* Runs a command that must fail; returns its error text. */
static char *G_GNUC_NULL_TERMINATED
daemon_call_error (DaemonFixture *fixture, const char *method, ...)
{
  g_autofree const char **params = NULL;
  g_autoptr (JsonObject) reply = NULL;
  va_list ap;

  va_start (ap, method);
  params = uc_test_args_va (ap);
  va_end (ap);
  reply = daemon_transact (fixture, method, params);
  return g_strdup (json_object_get_string_member (reply, "error"));
}

static void
daemon_version (DaemonFixture *fixture, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = daemon_call (fixture, "version", NULL);

      g_assert_cmpstr (
        text, ==, PACKAGE_NAME " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
    }
}

/* The pid of the worker that runs, other than @not_this one, from
 * worker/status (asked again while it restarts). */
static GPid
daemon_worker_pid (DaemonFixture *fixture, GPid not_this)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;

  for (;;)
    {
      g_autofree char *status = daemon_call (fixture, "worker/status", NULL);
      const char *line = strstr (status, "\npid:");
      GPid pid;

      g_assert_nonnull (line);
      pid = (GPid) g_ascii_strtoll (line + strlen ("\npid:"), NULL, 10);
      if (g_str_has_prefix (status, "state:            running\n") && pid > 0 &&
          pid != not_this)
        return pid;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (UC_TEST_POLL_US);
    }
}

/* SIGTERM: the daemon must exit 0. */
static void
daemon_stop (DaemonFixture *fixture)
{
  int status;

  g_subprocess_send_signal (fixture->daemon, SIGTERM);
  status = uc_test_subprocess_wait (fixture->daemon, DEADLINE_US);
  if (status != 0)
    g_error ("unixctld exited with %d: %s", status,
             uc_test_read_file (fixture->err));
  g_clear_object (&fixture->daemon);
}

static char *
connection_line (guint n, const char *what)
{
  return g_strdup_printf ("|unixctl|DBG|unix#%u: %s\n", n, what);
}

/* Checks that every line has the file layout, and that serial numbers
 * go up by one from @first (by at least one without @contiguous).
 * Returns the last. */
static guint64
check_lines (const char *text, guint64 first, gboolean contiguous)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GRegex) regex = NULL;
  g_autoptr (GError) error = NULL;
  guint64 expected = first;
  guint n;

  regex = g_regex_new (FILE_LINE_REGEX, 0, 0, &error);
  g_assert_no_error (error);
  n = g_strv_length (lines);
  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpstr (lines[n - 1], ==, "");
  for (guint i = 0; i < n - 1; i++)
    {
      guint64 serial;

      if (!g_regex_match (regex, lines[i], 0, NULL))
        g_error ("not a log line: %s", lines[i]);
      serial = g_ascii_strtoull (strchr (lines[i], '|') + 1, NULL, 10);
      if (contiguous)
        g_assert_cmpuint (serial, ==, expected);
      else
        g_assert_cmpuint (serial, >=, expected);
      expected = serial + 1;
    }
  return expected - 1;
}

/* Each connection from @from to @to (excluded) has its two lines in
 * @text, once. */
static void
check_connections (const char *text, guint from, guint to)
{
  for (guint n = from; n < to; n++)
    {
      g_autofree char *connected = connection_line (n, "connected");
      g_autofree char *disconnected = connection_line (n, "disconnected");

      g_assert_cmpuint (count_substrings (text, connected), ==, 1);
      g_assert_cmpuint (count_substrings (text, disconnected), ==, 1);
    }
}

/* Checks that @text is all the daemon of @fixture logged: every line in
 * the file's layout, numbered from 1 without a gap, and the two lines of
 * each connection, once. */
static void
check_whole_log (DaemonFixture *fixture, const char *text)
{
  check_lines (text, 1, TRUE);
  check_connections (text, 0, fixture->n_connections);
}

/* Stops the daemon once the end of its last connection is in the log
 * file: the worker writing the file has caught up. */
static void
daemon_stop_when_logged (DaemonFixture *fixture)
{
  g_autofree char *last =
    connection_line (fixture->n_connections - 1, "disconnected");

  uc_test_wait_for_file_text (fixture->log, last, DEADLINE_US, NULL);
  daemon_stop (fixture);
}

/* The log file in Open vSwitch's format, with everything logged until the
 * end, after the worker stopped too; the console has the same start. */
static void
test_daemon_log_file (DaemonFixture *fixture, gconstpointer user_data)
{
  g_autofree char *text = NULL;
  g_autofree char *first = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GRegex) console = NULL;
  g_autoptr (GError) error = NULL;

  daemon_start (fixture, "--log-file", "-vunixctl:file:dbg",
                "-vdaemon:file:dbg", "-vworker:file:dbg", NULL);
  daemon_version (fixture, 5);
  daemon_stop (fixture);

  text = uc_test_read_file (fixture->log);
  first =
    g_strdup_printf ("|00001|vlog|INFO|opened log file %s\n", fixture->log);
  g_assert_nonnull (strstr (text, first));
  g_assert_cmpuint (strstr (text, first) - text, ==,
                    strlen ("2026-01-01T00:00:00.000Z"));
  check_whole_log (fixture, text);
  g_assert_nonnull (strstr (text, "|daemon|DBG|shutting down\n"));
  /* Logged once the worker was gone. */
  g_assert_true (g_regex_match_simple ("\\|worker\\|DBG\\|worker [0-9]+ "
                                       "stopped \\(exit status 0\\)\\n$",
                                       text, 0, 0));

  /* The console, at info: the same first line, in its own pattern. */
  err = uc_test_read_file (fixture->err);
  console = g_regex_new ("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                         "[0-9]{2}Z\\|00001\\|vlog\\|INFO\\|opened log file "
                         "[^\\n]*\\n$",
                         0, 0, &error);
  g_assert_no_error (error);
  if (!g_regex_match (console, err, 0, NULL))
    g_error ("unexpected console output: %s", err);
}

/* The worker killed again and again while lines are logged: the file has
 * each line once, the serial numbers without a gap. */
static void
test_daemon_worker_killed (DaemonFixture *fixture, gconstpointer user_data)
{
  g_autofree char *text = NULL;
  GPid killed = 0;

  daemon_start (fixture, "--log-file", "-vunixctl:file:dbg", NULL);
  for (guint round = 0; round < 4; round++)
    {
      daemon_version (fixture, 10);
      killed = daemon_worker_pid (fixture, killed);
      g_assert_no_errno (kill (killed, SIGKILL));
    }
  daemon_version (fixture, 10);
  daemon_stop_when_logged (fixture);

  text = uc_test_read_file (fixture->log);
  check_whole_log (fixture, text);
  g_assert_cmpuint (count_substrings (text, " died (signal 9); restarting in "),
                    ==, 4);
}

/* A stopped worker: the daemon answers, its lines wait in memory, and
 * all arrive once the worker goes on. */
static void
test_daemon_worker_stopped (DaemonFixture *fixture, gconstpointer user_data)
{
  g_autofree char *before = NULL;
  g_autofree char *during = NULL;
  g_autofree char *text = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *usage = NULL;
  const char *buffered;
  GPid pid;

  daemon_start (fixture, "--log-file", "-vunixctl:file:dbg", NULL);
  daemon_version (fixture, 3);
  pid = daemon_worker_pid (fixture, 0);
  seen = connection_line (fixture->n_connections - 1, "disconnected");
  uc_test_wait_for_file_text (fixture->log, seen, DEADLINE_US, NULL);

  g_assert_no_errno (kill (pid, SIGSTOP));
  fixture->stopped_worker = pid;
  g_usleep (100 * 1000);
  before = uc_test_read_file (fixture->log);

  /* Every request is answered (each within the connection's deadline). */
  daemon_version (fixture, 30);
  usage = daemon_call (fixture, "memory/show", NULL);
  buffered = strstr (usage, "log-buffered:");
  g_assert_nonnull (buffered);
  g_assert_cmpuint (
    g_ascii_strtoull (buffered + strlen ("log-buffered:"), NULL, 10), >, 0);
  g_usleep (100 * 1000);
  during = uc_test_read_file (fixture->log);
  g_assert_cmpstr (during, ==, before);

  g_assert_no_errno (kill (pid, SIGCONT));
  fixture->stopped_worker = 0;
  daemon_stop_when_logged (fixture);

  text = uc_test_read_file (fixture->log);
  check_whole_log (fixture, text);
}

/* Rotation: rename, vlog/reopen; the old file ends with "closing log
 * file", the new one starts with "opened log file", the serial numbers
 * run on from one to the other.  A reopen with nothing renamed changes
 * nothing. */
static void
test_daemon_reopen (DaemonFixture *fixture, gconstpointer user_data)
{
  g_autofree char *rotated = g_strconcat (fixture->log, ".1", NULL);
  g_autofree char *old_text = NULL;
  g_autofree char *new_text = NULL;
  g_autofree char *both = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *again = NULL;
  g_autofree char *opened = NULL;
  guint first_new;

  daemon_start (fixture, "--log-file", "-vunixctl:file:dbg", NULL);
  daemon_version (fixture, 3);
  g_assert_no_errno (g_rename (fixture->log, rotated));
  reply = daemon_call (fixture, "vlog/reopen", NULL);
  g_assert_cmpstr (reply, ==, "");
  first_new = fixture->n_connections;
  daemon_version (fixture, 3);
  again = daemon_call (fixture, "vlog/reopen", NULL);
  g_assert_cmpstr (again, ==, "");
  daemon_version (fixture, 1);
  daemon_stop (fixture);

  old_text = uc_test_read_file (rotated);
  new_text = uc_test_read_file (fixture->log);
  g_assert_true (g_str_has_suffix (old_text, "|vlog|INFO|closing log file\n"));
  check_connections (old_text, 0, first_new - 1);
  opened = g_strdup_printf ("|vlog|INFO|opened log file %s\n", fixture->log);
  g_assert_nonnull (strstr (new_text, opened));
  g_assert_cmpuint (strstr (new_text, opened) - new_text, ==,
                    strlen ("2026-01-01T00:00:00.000Z|00000"));
  check_connections (new_text, first_new, fixture->n_connections);

  both = g_strconcat (old_text, new_text, NULL);
  check_whole_log (fixture, both);
  g_assert_cmpuint (count_substrings (both, "closing log file"), ==, 1);
  g_assert_cmpuint (count_substrings (both, "opened log file"), ==, 2);
}

/* vlog/close: nothing is written until vlog/reopen. */
static void
test_daemon_close (DaemonFixture *fixture, gconstpointer user_data)
{
  g_autofree char *text = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *closed = NULL;
  g_autofree char *reopened = NULL;
  guint while_closed;

  daemon_start (fixture, "--log-file", "-vunixctl:file:dbg", NULL);
  reply = daemon_call (fixture, "vlog/close", NULL);
  g_assert_cmpstr (reply, ==, "");
  while_closed = fixture->n_connections;
  daemon_version (fixture, 2);
  g_clear_pointer (&reply, g_free);
  reply = daemon_call (fixture, "vlog/reopen", NULL);
  g_assert_cmpstr (reply, ==, "");
  daemon_version (fixture, 1);
  daemon_stop (fixture);

  text = uc_test_read_file (fixture->log);
  check_lines (text, 1, FALSE);
  closed = connection_line (while_closed, "connected");
  g_assert_null (strstr (text, closed));
  reopened = connection_line (fixture->n_connections - 1, "connected");
  g_assert_nonnull (strstr (text, reopened));
  g_assert_cmpuint (count_substrings (text, "opened log file"), ==, 2);
  g_assert_cmpuint (count_substrings (text, "closing log file"), ==, 0);
}

/* -v and --verbose, as Open vSwitch takes them. */
static void
test_daemon_options (DaemonFixture *fixture, gconstpointer user_data)
{
  g_autofree char *list = NULL;
  g_autofree char *patterns = NULL;
  g_autofree char *err = NULL;
  g_auto (GStrv) rows = NULL;

  /* Alone: everything to dbg. */
  daemon_start (fixture, "-v", "-vconsole:off", NULL);
  list = daemon_call (fixture, "vlog/list", NULL);
  rows = g_strsplit (list, "\n", -1);
  for (guint i = 2; rows[i] != NULL && rows[i][0] != '\0'; i++)
    g_assert_true (g_str_has_suffix (rows[i], "OFF        DBG        DBG"));
  daemon_stop (fixture);
  g_clear_pointer (&list, g_free);

  daemon_start (fixture, "-vconsole:off", "--verbose=file:warn",
                "-vjsonrpc:ERR:syslog", "-vPATTERN:file:%p %m", "--log-file",
                NULL);
  list = daemon_call (fixture, "vlog/list", NULL);
  g_assert_nonnull (
    strstr (list, "\njsonrpc            OFF        ERR       WARN\n"));
  g_assert_nonnull (
    strstr (list, "\ndaemon             OFF        OFF       WARN\n"));
  patterns = daemon_call (fixture, "vlog/list-pattern", NULL);
  g_assert_true (g_str_has_suffix (patterns, "\nFILE     none               "
                                             "               %p %m\n"));
  daemon_stop (fixture);
  err = uc_test_read_file (fixture->err);
  g_assert_cmpstr (err, ==, "");
}

static void
test_daemon_bad_options (DaemonFixture *fixture, gconstpointer user_data)
{
  g_auto (GStrv) envp = daemon_environ (fixture);
  static const struct
  {
    const char *option;
    const char *error;
  } cases[] = {
    { "-vfoo", "processing \"foo\": no destination, level, or module "
               "\"foo\"" },
    { "--verbose=console:file",
      "processing \"console:file\": cannot specify multiple destinations" },
    { "-vFACILITY:nope", "processing \"FACILITY:nope\": invalid facility" },
    { "--log-file=", "--log-file needs a file name" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *const args[] = { cases[i].option, NULL };
      g_auto (UcTestOutput) output = { 0 };
      g_autofree char *expected = NULL;

      uc_test_run (uc_test_built_program ("UNIXCTLD"), NULL, args,
                   (const char *const *) envp, &output);
      expected = g_strdup_printf ("unixctld: %s (use --help for help)\n",
                                  cases[i].error);
      g_assert_cmpstr (output.err, ==, expected);
      g_assert_cmpint (output.status, ==, 1);
    }
}

/* --log-file alone: unixctld.log in $OVS_LOGDIR, else in the XDG state
 * directory's unixctld, made if missing. */
static void
test_daemon_default_log_dir (DaemonFixture *fixture, gconstpointer user_data)
{
  g_auto (GStrv) envp = daemon_environ (fixture);
  g_autofree char *state = g_build_filename (fixture->dir, "state", NULL);
  g_autofree char *logdir = g_build_filename (state, "unixctld", NULL);
  g_autofree char *log = g_build_filename (logdir, "unixctld.log", NULL);
  g_autofree char *text = NULL;
  const char *const args[] = { "--log-file", NULL };
  struct stat st;

  envp = g_environ_unsetenv (envp, "OVS_LOGDIR");
  envp = g_environ_setenv (envp, "XDG_STATE_HOME", state, TRUE);
  daemon_start_in (fixture, envp, args);
  daemon_stop (fixture);

  g_assert_no_errno (g_stat (logdir, &st));
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_no_errno (g_stat (log, &st));
  g_assert_cmpint (st.st_mode & 0077, ==, 0640 & 0077 & ~0022);
  text = uc_test_read_file (log);
  g_assert_nonnull (strstr (text, "|00001|vlog|INFO|opened log file "));
  g_assert_false (g_file_test (fixture->log, G_FILE_TEST_EXISTS));
}

/* Without a worker, the daemon writes its log itself. */
static void
test_daemon_no_worker (DaemonFixture *fixture, gconstpointer user_data)
{
  g_autofree char *text = NULL;

  daemon_start (fixture, "--no-worker", "--log-file", "-vunixctl:file:dbg",
                NULL);
  daemon_version (fixture, 3);
  daemon_stop (fixture);
  text = uc_test_read_file (fixture->log);
  check_whole_log (fixture, text);
}

/* A log file that cannot be opened: logged, the daemon serves, and
 * vlog/reopen tries again. */
static void
test_daemon_log_file_error (DaemonFixture *fixture, gconstpointer user_data)
{
  g_autofree char *missing = g_build_filename (fixture->dir, "missing", NULL);
  g_autofree char *path = g_build_filename (missing, "x.log", NULL);
  g_autofree char *option = g_strconcat ("--log-file=", path, NULL);
  g_autofree char *warning = NULL;
  g_autofree char *err = NULL;
  g_autofree char *error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *text = NULL;

  daemon_start (fixture, option, NULL);
  daemon_version (fixture, 1);
  error = daemon_call_error (fixture, "vlog/reopen", NULL);
  g_assert_true (g_str_has_suffix (error, "No such file or directory\n"));

  g_assert_no_errno (g_mkdir (missing, 0700));
  reply = daemon_call (fixture, "vlog/reopen", NULL);
  g_assert_cmpstr (reply, ==, "");
  daemon_stop (fixture);

  warning = g_strdup_printf ("|vlog|WARN|failed to open %s for logging: "
                             "No such file or directory\n",
                             path);
  err = uc_test_read_file (fixture->err);
  g_assert_nonnull (strstr (err, warning));
  text = uc_test_read_file (path);
  g_assert_nonnull (strstr (text, "|vlog|INFO|opened log file "));
}

/* Detached, the daemon's standard error is /dev/null: the console is
 * off, as Open vSwitch turns it off. */
static void
test_daemon_detach (DaemonFixture *fixture, gconstpointer user_data)
{
  g_auto (GStrv) envp = daemon_environ (fixture);
  const char *const args[] = { "--detach", "--unixctl=ctl", "-vsyslog:off",
                               "--log-file", NULL };
  g_auto (UcTestOutput) output = { 0 };
  g_autofree char *list = NULL;
  g_autofree char *bye = NULL;
  g_autofree char *text = NULL;
  g_auto (GStrv) rows = NULL;
  gint64 deadline;

  uc_test_run (uc_test_built_program ("UNIXCTLD"), NULL, args,
               (const char *const *) envp, &output);
  g_assert_cmpint (output.status, ==, 0);
  /* Printed before the detach, while the console was on. */
  g_assert_nonnull (strstr (output.err, "|vlog|INFO|opened log file "));

  list = daemon_call (fixture, "vlog/list", NULL);
  rows = g_strsplit (list, "\n", -1);
  for (guint i = 2; rows[i] != NULL && rows[i][0] != '\0'; i++)
    g_assert_true (g_regex_match_simple ("^[^ ]+ +OFF        OFF       INFO$",
                                         rows[i], 0, 0));

  bye = daemon_call (fixture, "exit", NULL);
  deadline = g_get_monotonic_time () + DEADLINE_US;
  while (g_file_test (fixture->socket, G_FILE_TEST_EXISTS))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (UC_TEST_POLL_US);
    }
  /* The pidfile goes last, once the log is written. */
  uc_test_wait_for_file_text (fixture->log, "|vlog|INFO|opened log file ",
                              DEADLINE_US, NULL);
  while (g_file_test (fixture->rundir, G_FILE_TEST_EXISTS) &&
         g_strcmp0 (text = uc_test_list_dir (fixture->rundir), "") != 0)
    {
      g_clear_pointer (&text, g_free);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (UC_TEST_POLL_US);
    }
}

/* The commands' JSON forms, as documented. */
static void
test_daemon_json (DaemonFixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSocketConnection) connection = NULL;
  const char *const json[] = { "--format", "json", NULL };
  const char *const read[] = { "unixctl_received", NULL };
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (JsonNode) patterns = NULL;
  g_autoptr (JsonNode) coverage = NULL;
  g_autoptr (JsonNode) counter = NULL;
  g_autoptr (JsonNode) memory = NULL;
  g_autoptr (JsonNode) set = NULL;
  GSocket *socket;
  JsonObject *row;

  daemon_start (fixture, NULL);
  connection = uc_test_connect_unix (fixture->socket, DEADLINE_S);
  socket = g_socket_connection_get_socket (connection);
  set = uc_test_call (socket, "set-options", json);

  list = uc_test_call (socket, "vlog/list", NULL);
  row = json_object_get_object_member (json_node_get_object (list), "jsonrpc");
  g_assert_cmpstr (json_object_get_string_member (row, "console"), ==, "info");
  g_assert_cmpstr (json_object_get_string_member (row, "syslog"), ==, "off");
  g_assert_cmpstr (json_object_get_string_member (row, "file"), ==, "info");
  g_assert_true (json_object_get_boolean_member (row, "rate-limit"));

  patterns = uc_test_call (socket, "vlog/list-pattern", NULL);
  g_assert_cmpstr (
    json_object_get_string_member (
      json_object_get_object_member (json_node_get_object (patterns), "file"),
      "pattern"),
    ==, UC_VLOG_DEFAULT_FILE_PATTERN);

  coverage = uc_test_call (socket, "coverage/show", NULL);
  row = json_object_get_object_member (json_node_get_object (coverage),
                                       "unixctl_received");
  g_assert_cmpint (json_object_get_int_member (row, "total"), >=, 4);

  counter = uc_test_call (socket, "coverage/read-counter", read);
  g_assert_cmpint (json_node_get_int (counter), >=, 5);

  memory = uc_test_call (socket, "memory/show", NULL);
  g_assert_cmpint (
    json_object_get_int_member (json_node_get_object (memory), "connections"),
    ==, 1);
  g_assert_cmpint (
    json_object_get_int_member (json_node_get_object (memory), "worker-held"),
    ==, 0);
  g_clear_object (&connection);
  daemon_stop (fixture);
}

int
main (int argc, char **argv)
{
  /* %d is local time: make it UTC, as the expected texts are. */
  g_setenv ("TZ", "UTC", TRUE);
  tzset ();
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/vlog/format/directives", test_format_directives);
  g_test_add_func ("/vlog/format/record", test_format_record);
  g_test_add_func ("/vlog/levels/names", test_levels);
  g_test_add_func ("/vlog/spec/errors", test_spec_errors);
  g_test_add_func ("/vlog/spec/apply", test_spec_apply);
  g_test_add_func ("/vlog/spec/verbosity", test_spec_verbosity);
  g_test_add_func ("/vlog/spec/messages-debug", test_messages_debug);
  g_test_add_func ("/vlog/list/layout", test_list_layout);
  g_test_add_func ("/vlog/list/known-modules", test_list_known_modules);
  g_test_add_func ("/vlog/list/patterns", test_list_patterns);

#define ADD_VLOG(path, func) \
  g_test_add (path, VlogFixture, NULL, vlog_set_up, func, vlog_tear_down)
  ADD_VLOG ("/vlog/writer/file", test_writer_file);
  ADD_VLOG ("/vlog/writer/pattern", test_writer_pattern);
  ADD_VLOG ("/vlog/writer/threads", test_writer_threads);
  ADD_VLOG ("/vlog/writer/syslog-socket", test_writer_syslog_socket);
  g_test_add_func ("/vlog/writer/fatal", test_writer_fatal);
  ADD_VLOG ("/vlog/rate-limit/modules", test_rate_limit);
  ADD_VLOG ("/vlog/rate-limit/summary", test_rate_limit_summary);
  ADD_VLOG ("/vlog/commands/all", test_commands);
  g_test_add_func ("/vlog/commands/reopen-errors", test_commands_reopen_errors);

#define ADD_WRITER(path, func) \
  g_test_add (path, WriterFixture, NULL, writer_set_up, func, writer_tear_down)
  ADD_WRITER ("/vlog/log-writer/appends", test_log_writer_appends);
  ADD_WRITER ("/vlog/log-writer/before-worker", test_log_writer_before_worker);
  ADD_WRITER ("/vlog/log-writer/worker-killed", test_log_writer_worker_killed);
  ADD_WRITER ("/vlog/log-writer/worker-stopped",
              test_log_writer_worker_stopped);
  ADD_WRITER ("/vlog/log-writer/bounded", test_log_writer_bounded);
  ADD_WRITER ("/vlog/log-writer/reopen", test_log_writer_reopen);
  ADD_WRITER ("/vlog/log-writer/close", test_log_writer_close);
  ADD_WRITER ("/vlog/log-writer/close-busy", test_log_writer_close_busy);
  ADD_WRITER ("/vlog/log-writer/direct", test_log_writer_direct);
  ADD_WRITER ("/vlog/log-writer/worker-gone", test_log_writer_worker_gone);
  ADD_WRITER ("/vlog/log-writer/retry", test_log_writer_retry);

#define ADD_DAEMON(path, func) \
  g_test_add (path, DaemonFixture, NULL, daemon_set_up, func, daemon_tear_down)
  ADD_DAEMON ("/vlog/daemon/log-file", test_daemon_log_file);
  ADD_DAEMON ("/vlog/daemon/worker-killed", test_daemon_worker_killed);
  ADD_DAEMON ("/vlog/daemon/worker-stopped", test_daemon_worker_stopped);
  ADD_DAEMON ("/vlog/daemon/reopen", test_daemon_reopen);
  ADD_DAEMON ("/vlog/daemon/close", test_daemon_close);
  ADD_DAEMON ("/vlog/daemon/options", test_daemon_options);
  ADD_DAEMON ("/vlog/daemon/bad-options", test_daemon_bad_options);
  ADD_DAEMON ("/vlog/daemon/default-log-dir", test_daemon_default_log_dir);
  ADD_DAEMON ("/vlog/daemon/no-worker", test_daemon_no_worker);
  ADD_DAEMON ("/vlog/daemon/log-file-error", test_daemon_log_file_error);
  ADD_DAEMON ("/vlog/daemon/json", test_daemon_json);
  ADD_DAEMON ("/vlog/daemon/detach", test_daemon_detach);

  return g_test_run ();
}
