/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The standard daemon commands (vlog, coverage, memory) of the built
 * `unixctld` against a real ovsdb-server of Open vSwitch 3.1, through the
 * real ovs-appctl: the same command lines on both, and the same bytes out
 * wherever the text is Open vSwitch's (error texts, layouts, the rows of
 * the modules both have), the same shape wherever the content is each
 * daemon's own (its modules, counters and memory figures).  The hash of
 * coverage/show is recomputed from each server's own figures, which
 * checks our hash against Open vSwitch's live.
 *
 * Both servers run with the console and syslog off, so that their
 * vlog/list rows for a shared module are identical, and nothing goes to
 * the system's log.  Tests whose peers are not installed are skipped.
 */
#define G_LOG_DOMAIN "test-vlog-compat"

#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "uc-coverage.h"
#include "uc-test-util.h"

#define DEADLINE_US (30 * G_USEC_PER_SEC)

/* The modules both daemons have. */
static const char *const shared_modules[] = {
  "coverage", "daemon", "jsonrpc", "memory", "stream", "unixctl", "vlog",
};

/* What is installed, found once in main(). */
static UcTestOvs ovs;
static const char *unixctld; /* (unowned) (nullable) from $UNIXCTLD */

typedef enum
{
  WITH_LOG_FILE = 1 << 8,
  NO_DAEMONS = 1 << 9, /* the test starts them, with its own options */
} Flags;

typedef struct
{
  char *dir;    /* (owned) */
  char *rundir; /* (owned) DIR/run */
  char **envp;  /* (owned) for both daemons and ovs-appctl */

  GSubprocess *ours; /* (owned) (nullable) */
  char *our_socket;  /* (owned) */
  char *our_log;     /* (owned) */

  GSubprocess *theirs; /* (owned) (nullable) */
  char *their_socket;  /* (owned) */
  char *their_log;     /* (owned) */

  gboolean ready;
} Fixture;

/* Running programs. */

static void
run_argv (Fixture *fixture, const char *const *args, UcTestOutput *output)
{
  uc_test_run (ovs.appctl, NULL, args, (const char *const *) fixture->envp,
               output);
  g_assert_cmpint (output->status, >=, 0);
}

/* A command that must succeed on @socket; returns its output. */
static char *G_GNUC_NULL_TERMINATED
appctl_ok (Fixture *fixture, const char *socket, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_auto (UcTestOutput) output = { 0 };
  g_autofree char *err = NULL;
  const char *arg;
  va_list ap;

  g_ptr_array_add (args, (char *) "-t");
  g_ptr_array_add (args, (char *) socket);
  va_start (ap, socket);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  run_argv (fixture, (const char *const *) args->pdata, &output);
  err = uc_test_strip_vlog (output.err);
  g_assert_cmpstr (err, ==, "");
  g_assert_cmpint (output.status, ==, 0);
  return g_steal_pointer (&output.out);
}

static GSubprocess *
spawn (Fixture *fixture, const char *const *argv)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_set_environ (launcher, fixture->envp);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return process;
}

static void
wait_for (GSubprocess *process, const char *socket)
{
  g_autoptr (GSocketConnection) probe =
    uc_test_wait_for_unix_socket (process, socket, DEADLINE_US);

  g_assert_nonnull (probe);
}

static void
start_ours (Fixture *fixture, gboolean log_file)
{
  g_autofree char *unixctl =
    g_strconcat ("--unixctl=", fixture->our_socket, NULL);
  g_autofree char *log = g_strconcat ("--log-file=", fixture->our_log, NULL);
  const char *argv[] = {
    unixctld, unixctl, "-vconsole:off", "-vsyslog:off", log_file ? log : NULL,
    NULL
  };

  fixture->ours = spawn (fixture, argv);
  wait_for (fixture->ours, fixture->our_socket);
}

/* DIR/db.db, from Open vSwitch's schema, made anew. */
static char *
make_db (Fixture *fixture)
{
  g_autofree char *db = g_build_filename (fixture->dir, "db.db", NULL);
  const char *create[] = { ovs.ovsdb_tool, "create", db, UC_TEST_OVSDB_SCHEMA,
                           NULL };
  g_autoptr (GSubprocess) tool = NULL;
  g_autoptr (GError) error = NULL;

  g_unlink (db);
  tool = spawn (fixture, create);
  g_subprocess_wait_check (tool, NULL, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&db);
}

static void
start_theirs (Fixture *fixture, gboolean log_file)
{
  g_autofree char *db = make_db (fixture);
  g_autofree char *unixctl =
    g_strconcat ("--unixctl=", fixture->their_socket, NULL);
  g_autofree char *log = g_strconcat ("--log-file=", fixture->their_log, NULL);
  const char *argv[] = { ovs.ovsdb_server,      unixctl,
                         "--no-chdir",          "-vconsole:off",
                         "-vsyslog:off",        db,
                         log_file ? log : NULL, NULL };

  fixture->theirs = spawn (fixture, argv);
  wait_for (fixture->theirs, fixture->their_socket);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  guint flags = GPOINTER_TO_UINT (user_data);

  if (unixctld == NULL)
    {
      g_test_skip ("$UNIXCTLD is not set: run through meson");
      return;
    }
  if (uc_test_ovs_skip_missing (&ovs, UC_TEST_OVS_APPCTL | UC_TEST_OVS_OVSDB))
    return;

  fixture->dir = uc_test_make_tmp_dir ("test-vlog-compat-XXXXXX");
  fixture->rundir = g_build_filename (fixture->dir, "run", NULL);
  g_assert_no_errno (g_mkdir (fixture->rundir, 0700));
  fixture->envp = uc_test_ovs_environ (fixture->rundir, fixture->dir);
  fixture->envp = g_environ_unsetenv (fixture->envp, "G_MESSAGES_DEBUG");
  fixture->envp =
    g_environ_setenv (fixture->envp, "G_SLICE", "always-malloc", TRUE);
  fixture->our_socket = g_build_filename (fixture->dir, "ours.ctl", NULL);
  fixture->our_log = g_build_filename (fixture->dir, "ours.log", NULL);
  fixture->their_socket = g_build_filename (fixture->dir, "theirs.ctl", NULL);
  fixture->their_log = g_build_filename (fixture->dir, "theirs.log", NULL);

  if ((flags & NO_DAEMONS) == 0)
    {
      start_ours (fixture, (flags & WITH_LOG_FILE) != 0);
      start_theirs (fixture, (flags & WITH_LOG_FILE) != 0);
    }
  fixture->ready = TRUE;
}

static void
stop (GSubprocess **process, gboolean ours)
{
  if (*process == NULL)
    return;
  g_subprocess_send_signal (*process, SIGTERM);
  /* Ours must exit 0; Open vSwitch re-raises the signal. */
  if (ours)
    g_assert_cmpint (uc_test_subprocess_wait (*process, DEADLINE_US), ==, 0);
  else
    uc_test_subprocess_wait (*process, DEADLINE_US);
  g_clear_object (process);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  stop (&fixture->ours, TRUE);
  stop (&fixture->theirs, FALSE);
  if (fixture->dir != NULL)
    uc_test_rm_rf (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->rundir, g_free);
  g_clear_pointer (&fixture->envp, g_strfreev);
  g_clear_pointer (&fixture->our_socket, g_free);
  g_clear_pointer (&fixture->our_log, g_free);
  g_clear_pointer (&fixture->their_socket, g_free);
  g_clear_pointer (&fixture->their_log, g_free);
}

/* Helpers on texts. */

static GStrv
split_lines (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);

  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpstr (lines[n - 1], ==, "");
  g_free (lines[n - 1]);
  lines[n - 1] = NULL;
  return g_steal_pointer (&lines);
}

/* The line of @text that starts with "@name ", or NULL. */
static const char *
find_row (char **lines, const char *name)
{
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, name) && (*l)[strlen (name)] == ' ')
      return *l;
  return NULL;
}

static void
assert_list_layout (const char *text)
{
  g_auto (GStrv) lines = split_lines (text);
  g_autoptr (GRegex) row = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (lines[0], ==, "                 console    syslog    file");
  g_assert_cmpstr (lines[1], ==,
                   "                 -------    ------    ------");
  row = g_regex_new ("^[A-Za-z0-9_-]+ *  [ A-Z]{4}       [ A-Z]{4}       "
                     "[ A-Z]{4}(    \\(rate limiting disabled\\))?$",
                     0, 0, &error);
  g_assert_no_error (error);
  for (guint i = 2; lines[i] != NULL; i++)
    {
      g_autofree char *name = g_strndup (lines[i], strcspn (lines[i], " "));

      g_assert_true (g_regex_match (row, lines[i], 0, NULL));
      /* The name in %-16s. */
      if (strlen (name) < 16)
        g_assert_cmpint (lines[i][16], ==, ' ');
      if (i > 2)
        g_assert_cmpint (strcmp (lines[i - 1], lines[i]), <, 0);
    }
}

/* vlog/list on both: the layout, and the same rows for shared modules. */
static void
assert_same_lists (Fixture *fixture)
{
  g_autofree char *ours =
    appctl_ok (fixture, fixture->our_socket, "vlog/list", NULL);
  g_autofree char *theirs =
    appctl_ok (fixture, fixture->their_socket, "vlog/list", NULL);
  g_auto (GStrv) our_lines = split_lines (ours);
  g_auto (GStrv) their_lines = split_lines (theirs);

  assert_list_layout (ours);
  assert_list_layout (theirs);
  for (gsize i = 0; i < G_N_ELEMENTS (shared_modules); i++)
    {
      const char *our_row = find_row (our_lines, shared_modules[i]);
      const char *their_row = find_row (their_lines, shared_modules[i]);

      g_assert_nonnull (our_row);
      g_assert_nonnull (their_row);
      g_assert_cmpstr (our_row, ==, their_row);
    }
}

/* The stderr of ovs-appctl for an error reply, without its vlog lines and
 * with the target named TARGET. */
static char *
error_text (const UcTestOutput *output, const char *socket)
{
  g_autofree char *stripped = uc_test_strip_vlog (output->err);
  g_auto (GStrv) parts = g_strsplit (stripped, socket, -1);

  return g_strjoinv ("TARGET", parts);
}

/* Runs @args on both, which must answer alike: the same status, output
 * and error text. */
static void
assert_same (Fixture *fixture, const char *const *args, int expected_status)
{
  const char *sockets[] = { fixture->our_socket, fixture->their_socket };
  g_auto (UcTestOutput) ours = { 0 };
  g_auto (UcTestOutput) theirs = { 0 };
  UcTestOutput *outputs[] = { &ours, &theirs };
  g_autofree char *our_err = NULL;
  g_autofree char *their_err = NULL;
  g_autofree char *joined = g_strjoinv (" ", (char **) args);

  g_test_message ("both: %s", joined);
  for (gsize s = 0; s < G_N_ELEMENTS (sockets); s++)
    {
      g_autoptr (GPtrArray) argv = g_ptr_array_new ();

      g_ptr_array_add (argv, (char *) "-t");
      g_ptr_array_add (argv, (char *) sockets[s]);
      for (gsize i = 0; args[i] != NULL; i++)
        g_ptr_array_add (argv, (char *) args[i]);
      g_ptr_array_add (argv, NULL);
      run_argv (fixture, (const char *const *) argv->pdata, outputs[s]);
    }
  our_err = error_text (&ours, fixture->our_socket);
  their_err = error_text (&theirs, fixture->their_socket);
  g_assert_cmpstr (our_err, ==, their_err);
  g_assert_cmpstr (ours.out, ==, theirs.out);
  g_assert_cmpint (ours.status, ==, theirs.status);
  g_assert_cmpint (theirs.status, ==, expected_status);
}

/* vlog. */

static void
test_list (Fixture *fixture, gconstpointer user_data)
{
  const char *const disable[] = { "vlog/disable-rate-limit", "vlog", "DAEMON",
                                  NULL };
  const char *const unknown[] = { "vlog/enable-rate-limit", "nope", NULL };
  const char *const enable[] = { "vlog/enable-rate-limit", "ANY", NULL };
  const char *const disable_all[] = { "vlog/disable-rate-limit", NULL };
  const char *const enable_all[] = { "vlog/enable-rate-limit", NULL };
  const char *const set[] = { "vlog/set", "jsonrpc:file:dbg", "syslog:emer",
                              "unixctl:console:warn", NULL };

  if (!fixture->ready)
    return;

  assert_same_lists (fixture);
  assert_same (fixture, set, 0);
  assert_same_lists (fixture);
  assert_same (fixture, disable, 0);
  assert_same_lists (fixture);
  assert_same (fixture, unknown, 2);
  assert_same (fixture, enable, 0);
  assert_same_lists (fixture);
  assert_same (fixture, disable_all, 0);
  assert_same_lists (fixture);
  assert_same (fixture, enable_all, 0);
  assert_same_lists (fixture);
}

static void
test_list_pattern (Fixture *fixture, gconstpointer user_data)
{
  const char *const list[] = { "vlog/list-pattern", NULL };
  const char *const set[] = { "vlog/set", "PATTERN:console:%c",
                              "pattern:file:%d x", NULL };
  const char *const set_any[] = { "vlog/set", "PATTERN:ANY:[%B] %m", NULL };
  g_autofree char *ours = NULL;
  g_autofree char *theirs = NULL;

  if (!fixture->ready)
    return;

  /* With the journal, our syslog takes fields and has no prefix. */
  if (g_file_test ("/run/systemd/journal/socket", G_FILE_TEST_EXISTS))
    {
      g_auto (GStrv) our_lines = NULL;
      g_auto (GStrv) their_lines = NULL;

      ours =
        appctl_ok (fixture, fixture->our_socket, "vlog/list-pattern", NULL);
      theirs =
        appctl_ok (fixture, fixture->their_socket, "vlog/list-pattern", NULL);
      our_lines = split_lines (ours);
      their_lines = split_lines (theirs);
      g_assert_cmpuint (g_strv_length (our_lines), ==, 5);
      for (guint i = 0; i < 5; i++)
        if (i != 2)
          g_assert_cmpstr (our_lines[i], ==, their_lines[i]);
      return;
    }
  assert_same (fixture, list, 0);
  assert_same (fixture, set, 0);
  assert_same (fixture, list, 0);
  assert_same (fixture, set_any, 0);
  assert_same (fixture, list, 0);
}

/* Every vlog/set text, byte for byte. */
static void
test_set (Fixture *fixture, gconstpointer user_data)
{
  static const char *const refused[] = {
    "foo:bar",
    "foo",
    "console:file",
    "dbg:info",
    "vlog:daemon",
    "PATTERN",
    "PATTERN:foo",
    "FACILITY",
    "FACILITY:foo",
    "FACILITY:cron",
    "FACILITY:authpriv",
    "FACILITY:local8",
    "FACILITY:local0 x",
    "vlog:console:off extra",
    "jsonrpc:file:info:x",
  };
  static const char *const accepted[] = {
    "ANY",
    "",
    "console:DBG",
    "syslog:Info:VLOG",
    "FACILITY:local0",
    "FACILITY:LOCAL1",
    "facility:clock",
    "ANY:ANY:ANY",
    "jsonrpc:off",
    "  vlog ,file:\twarn",
    "console:off",
    "syslog:off",
  };
  const char *const two_then_bad[] = { "vlog/set", "daemon:file:warn", "nope",
                                       "stream:file:err", NULL };
  const char *const none[] = { "vlog/set", NULL };
  const char *const reset[] = { "vlog/set", "file:info", "console:off",
                                "syslog:off", NULL };

  if (!fixture->ready)
    return;

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      const char *const args[] = { "vlog/set", refused[i], NULL };

      assert_same (fixture, args, 2);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      const char *const args[] = { "vlog/set", accepted[i], NULL };

      assert_same (fixture, args, 0);
      assert_same_lists (fixture);
      /* Nothing for the system's log. */
      assert_same (fixture, reset, 0);
    }
  /* The arguments before the bad one are applied, those after are not. */
  assert_same (fixture, two_then_bad, 2);
  assert_same_lists (fixture);
  assert_same (fixture, none, 0);
  assert_same_lists (fixture);
  assert_same (fixture, reset, 0);
}

/* "failed to open" aside, -v's errors read the same. */
static void
test_verbose_option (Fixture *fixture, gconstpointer user_data)
{
  static const char *const specs[] = { "foo", "console:file", "FACILITY:x" };
  g_autofree char *db = NULL;

  if (!fixture->ready)
    return;

  db = g_build_filename (fixture->dir, "db.db", NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      g_autofree char *option = g_strconcat ("-v", specs[i], NULL);
      const char *our_args[] = { option, NULL };
      const char *their_args[] = { option, db, NULL };
      g_auto (UcTestOutput) ours = { 0 };
      g_auto (UcTestOutput) theirs = { 0 };
      g_autofree char *expected = NULL;

      uc_test_run (unixctld, NULL, our_args,
                   (const char *const *) fixture->envp, &ours);
      uc_test_run (ovs.ovsdb_server, NULL, their_args,
                   (const char *const *) fixture->envp, &theirs);
      g_assert_true (
        g_str_has_prefix (theirs.err, "ovsdb-server: processing "));
      g_assert_true (g_str_has_suffix (theirs.err, "\n"));
      /* Ours adds its usual hint. */
      expected = g_strdup_printf (
        "unixctld: %.*s (use --help for help)\n",
        (int) (strlen (theirs.err) - strlen ("ovsdb-server: ") - 1),
        theirs.err + strlen ("ovsdb-server: "));
      g_assert_cmpstr (ours.err, ==, expected);
      g_assert_cmpint (ours.status, ==, 1);
      g_assert_cmpint (theirs.status, ==, 1);
    }
}

/* The part of a log line after its timestamp and serial number, with
 * @path named PATH. */
static char *
line_tail (const char *line, const char *path)
{
  const char *p = strchr (line, '|');
  g_auto (GStrv) parts = NULL;

  g_assert_nonnull (p);
  p = strchr (p + 1, '|');
  g_assert_nonnull (p);
  parts = g_strsplit (p + 1, path, -1);
  return g_strjoinv ("PATH", parts);
}

/* The log files: the same first line, and rotation with vlog/reopen. */
static void
test_log_file (Fixture *fixture, gconstpointer user_data)
{
  const char *const reopen[] = { "vlog/reopen", NULL };
  const char *const close[] = { "vlog/close", NULL };
  const char *logs[] = { fixture->our_log, fixture->their_log };
  g_autoptr (GRegex) regex = NULL;
  g_autoptr (GError) error = NULL;

  if (!fixture->ready)
    return;

  regex = g_regex_new ("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                       "[0-9]{2}\\.[0-9]{3}Z\\|[0-9]{5}\\|[a-z_]+\\|"
                       "(EMER|ERR|WARN|INFO|DBG)\\|.*$",
                       0, 0, &error);
  g_assert_no_error (error);

  /* Not rotated: nothing changes. */
  assert_same (fixture, reopen, 0);
  for (gsize s = 0; s < G_N_ELEMENTS (logs); s++)
    {
      g_autofree char *rotated = g_strconcat (logs[s], ".1", NULL);

      g_assert_no_errno (g_rename (logs[s], rotated));
    }
  assert_same (fixture, reopen, 0);
  assert_same (fixture, close, 0);
  assert_same (fixture, close, 0);

  for (gsize s = 0; s < G_N_ELEMENTS (logs); s++)
    {
      g_autofree char *rotated = g_strconcat (logs[s], ".1", NULL);
      g_autofree char *old_text = NULL;
      g_autofree char *new_text = NULL;
      g_autofree char *first = NULL;
      g_autofree char *last = NULL;
      g_autofree char *opened = NULL;
      g_auto (GStrv) old_lines = NULL;
      g_auto (GStrv) new_lines = NULL;

      /* Our writer has the lines once the reopen is answered; the file,
       * a moment later. */
      uc_test_wait_for_file_text (logs[s], "opened log file", DEADLINE_US,
                                  &new_text);
      uc_test_wait_for_file_text (rotated, "closing log file", DEADLINE_US,
                                  &old_text);
      old_lines = split_lines (old_text);
      new_lines = split_lines (new_text);
      for (guint i = 0; old_lines[i] != NULL; i++)
        g_assert_true (g_regex_match (regex, old_lines[i], 0, NULL));
      for (guint i = 0; new_lines[i] != NULL; i++)
        g_assert_true (g_regex_match (regex, new_lines[i], 0, NULL));

      first = line_tail (old_lines[0], logs[s]);
      g_assert_cmpstr (first, ==, "vlog|INFO|opened log file PATH");
      g_assert_nonnull (strstr (old_lines[0], "|00001|vlog|"));
      last = line_tail (old_lines[g_strv_length (old_lines) - 1], logs[s]);
      g_assert_cmpstr (last, ==, "vlog|INFO|closing log file");
      opened = line_tail (new_lines[0], logs[s]);
      g_assert_cmpstr (opened, ==, "vlog|INFO|opened log file PATH");
    }
}

static void
test_reopen_unconfigured (Fixture *fixture, gconstpointer user_data)
{
  const char *const reopen[] = { "vlog/reopen", NULL };
  const char *const close[] = { "vlog/close", NULL };

  if (!fixture->ready)
    return;

  assert_same (fixture, reopen, 2);
  assert_same (fixture, close, 0);
}

/* coverage and memory. */

/* Checks coverage/show's layout, and recomputes its hash from the
 * counters it lists, as Open vSwitch computes it. */
static void
assert_coverage_show (const char *text)
{
  g_auto (GStrv) lines = split_lines (text);
  g_autoptr (GRegex) header = NULL;
  g_autoptr (GRegex) row = NULL;
  g_autoptr (GRegex) footer = NULL;
  g_autoptr (GMatchInfo) match = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree UcCoverageCounter *counters = NULL;
  g_autofree UcCoverageCounter **pointers = NULL;
  g_autofree char *hash_text = NULL;
  g_autofree char *expected_hash = NULL;
  guint n_lines = g_strv_length (lines);
  guint n = 0;

  header = g_regex_new ("^Event coverage, avg rate over last: 5 seconds, last "
                        "minute, last hour,  hash=([0-9a-f]{8}):$",
                        0, 0, &error);
  g_assert_no_error (error);
  row = g_regex_new ("^([a-z0-9_]+) +[0-9]+\\.[0-9]/sec +[0-9]+\\.[0-9]{3}/sec "
                     "+[0-9]+\\.[0-9]{4}/sec   total: ([0-9]+)$",
                     0, 0, &error);
  g_assert_no_error (error);
  footer = g_regex_new ("^[0-9]+ events never hit$", 0, 0, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (n_lines, >=, 2);
  g_assert_true (g_regex_match (header, lines[0], 0, &match));
  hash_text = g_match_info_fetch (match, 1);
  g_clear_pointer (&match, g_match_info_free);
  g_assert_true (g_regex_match (footer, lines[n_lines - 1], 0, NULL));

  counters = g_new0 (UcCoverageCounter, n_lines);
  pointers = g_new (UcCoverageCounter *, n_lines);
  for (guint i = 1; i < n_lines - 1; i++)
    {
      g_autofree char *total = NULL;

      if (!g_regex_match (row, lines[i], 0, &match))
        g_error ("not a coverage line: %s", lines[i]);
      /* Names in %-24s, then a space. */
      if (strcspn (lines[i], " ") < 24)
        g_assert_cmpint (lines[i][24], ==, ' ');
      counters[n].name = g_match_info_fetch (match, 1);
      total = g_match_info_fetch (match, 2);
      counters[n].total = g_ascii_strtoull (total, NULL, 10);
      g_assert_cmpuint (counters[n].total, >, 0);
      pointers[n] = &counters[n];
      n++;
      g_clear_pointer (&match, g_match_info_free);
    }
  expected_hash = g_strdup_printf ("%08x", uc_coverage_hash (pointers, n));
  g_assert_cmpstr (hash_text, ==, expected_hash);
  for (guint i = 0; i < n; i++)
    g_free ((char *) counters[i].name);
}

static void
test_coverage (Fixture *fixture, gconstpointer user_data)
{
  const char *sockets[] = { fixture->our_socket, fixture->their_socket };
  const char *const unknown[] = { "coverage/read-counter", "nope", NULL };
  const char *const bare[] = { "coverage/read-counter", NULL };
  const char *const extra[] = { "coverage/show", "x", NULL };

  if (!fixture->ready)
    return;

  /* Open vSwitch adds the counts of each thread to the totals at most
   * once a second, from its main loop: count, wait, wake it up. */
  for (gsize s = 0; s < G_N_ELEMENTS (sockets); s++)
    for (guint i = 0; i < 3; i++)
      g_free (appctl_ok (fixture, sockets[s], "version", NULL));
  g_usleep (1100 * 1000);

  for (gsize s = 0; s < G_N_ELEMENTS (sockets); s++)
    {
      g_autofree char *show = NULL;
      g_autofree char *count = NULL;

      /* The request that wakes Open vSwitch's main loop up. */
      g_free (appctl_ok (fixture, sockets[s], "version", NULL));
      show = appctl_ok (fixture, sockets[s], "coverage/show", NULL);
      count = appctl_ok (fixture, sockets[s], "coverage/read-counter",
                         "unixctl_received", NULL);

      assert_coverage_show (show);
      /* Counters were hit: the hash was computed over something. */
      g_assert_nonnull (strstr (show, "\nunixctl_received "));
      g_assert_true (g_regex_match_simple ("^[0-9]+\n$", count, 0, 0));
      g_assert_cmpuint (g_ascii_strtoull (count, NULL, 10), >=, 3);
    }
  assert_same (fixture, unknown, 2);
  assert_same (fixture, bare, 2);
  assert_same (fixture, extra, 2);
}

static void
test_memory (Fixture *fixture, gconstpointer user_data)
{
  const char *sockets[] = { fixture->our_socket, fixture->their_socket };
  const char *const extra[] = { "memory/show", "x", NULL };

  if (!fixture->ready)
    return;

  for (gsize s = 0; s < G_N_ELEMENTS (sockets); s++)
    {
      g_autofree char *show =
        appctl_ok (fixture, sockets[s], "memory/show", NULL);
      g_auto (GStrv) pairs = NULL;

      g_assert_true (g_regex_match_simple (
        "^[a-z0-9-]+:[0-9]+( [a-z0-9-]+:[0-9]+)*\n$", show, 0, 0));
      show[strlen (show) - 1] = '\0';
      pairs = g_strsplit (show, " ", -1);
      for (guint i = 1; pairs[i] != NULL; i++)
        g_assert_cmpint (strcmp (pairs[i - 1], pairs[i]), <, 0);
    }
  assert_same (fixture, extra, 2);
}

/* The usage texts of the standard commands. */
static void
test_list_commands (Fixture *fixture, gconstpointer user_data)
{
  static const char *const commands[] = {
    "coverage/read-counter",
    "coverage/show",
    "memory/show",
    "vlog/close",
    "vlog/disable-rate-limit",
    "vlog/enable-rate-limit",
    "vlog/list",
    "vlog/list-pattern",
    "vlog/reopen",
    "vlog/set",
  };
  g_autofree char *ours = NULL;
  g_autofree char *theirs = NULL;
  g_auto (GStrv) our_lines = NULL;
  g_auto (GStrv) their_lines = NULL;

  if (!fixture->ready)
    return;

  ours = appctl_ok (fixture, fixture->our_socket, "list-commands", NULL);
  theirs = appctl_ok (fixture, fixture->their_socket, "list-commands", NULL);
  our_lines = split_lines (ours);
  their_lines = split_lines (theirs);
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *name = g_strconcat ("  ", commands[i], NULL);
      const char *our_row = find_row (our_lines, name);
      const char *their_row = find_row (their_lines, name);

      g_assert_nonnull (their_row);
      g_assert_cmpstr (our_row, ==, their_row);
    }
}

/* Syslog over sockets: a datagram socket bound for the daemons to send
 * to, and its address as --syslog-method/--syslog-target take it. */
static GSocket *
bind_datagram (Fixture *fixture, gboolean udp, char **address_text)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  if (udp)
    {
      g_autoptr (GInetAddress) loopback =
        g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

      address = g_inet_socket_address_new (loopback, 0);
    }
  else
    {
      g_autofree char *path = g_build_filename (fixture->dir, "log.sock", NULL);

      g_unlink (path);
      address = g_unix_socket_address_new (path);
    }
  socket =
    g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_DATAGRAM,
                  G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  if (udp)
    *address_text = g_strdup_printf (
      "127.0.0.1:%u",
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  else
    *address_text =
      g_strdup (g_unix_socket_address_get_path (G_UNIX_SOCKET_ADDRESS (bound)));
  return g_steal_pointer (&socket);
}

/* The first datagram on @socket that holds @needle; earlier ones (Open
 * vSwitch warns that --syslog-target is deprecated) are skipped. */
static char *
receive_datagram (GSocket *socket, const char *needle)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      char buffer[4096];
      gssize n;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (!g_socket_condition_timed_wait (
            socket, G_IO_IN, deadline - g_get_monotonic_time (), NULL, &error))
        g_error ("no datagram with \"%s\": %s", needle, error->message);
      n = g_socket_receive (socket, buffer, sizeof buffer - 1, NULL, &error);
      g_assert_no_error (error);
      buffer[n] = '\0';
      if (strstr (buffer, needle) != NULL)
        return g_strdup (buffer);
    }
}

/* @datagram with what differs between two daemons by nature made
 * constant: @program, the pid, the serial number (Open vSwitch's count
 * includes its deprecation warning), @log_path, and in RFC 5424 form the
 * timestamp, checked for its shape first. */
static char *
normalize_datagram (const char *datagram,
                    const char *program,
                    GPid pid,
                    const char *log_path)
{
  g_autoptr (GRegex) timestamp = g_regex_new (
    "^(<[0-9]+>1 )[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    "\\.[0-9]{3}Z ",
    0, 0, NULL);
  g_autoptr (GRegex) serial = g_regex_new ("\\|[0-9]{5}\\|", 0, 0, NULL);
  g_autofree char *pid_text = g_strdup_printf (" %d ", (int) pid);
  g_autofree char *program_text = g_strdup_printf (" %s ", program);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_auto (GStrv) parts = NULL;

  a = g_regex_replace (timestamp, datagram, -1, 0, "\\1TIME ", 0, NULL);
  b = g_regex_replace_literal (serial, a, -1, 0, "|SERIAL|", 0, NULL);
  parts = g_strsplit (b, log_path, -1);
  g_free (a);
  a = g_strjoinv ("LOG", parts);
  g_strfreev (parts);
  parts = g_strsplit (a, program_text, 2);
  g_free (b);
  b = g_strjoinv (" PROGRAM ", parts);
  g_strfreev (parts);
  parts = g_strsplit (b, pid_text, 2);
  return g_strjoinv (" PID ", parts);
}

/* What one daemon sends with --syslog-method=METHOD and --syslog-target:
 * the datagram of its first message ("opened log file") to each, and its
 * vlog/list-pattern. */
typedef struct
{
  char *method_datagram;
  char *target_datagram;
  char *patterns;
} SyslogCapture;

static void
syslog_capture_clear (SyslogCapture *capture)
{
  g_clear_pointer (&capture->method_datagram, g_free);
  g_clear_pointer (&capture->target_datagram, g_free);
  g_clear_pointer (&capture->patterns, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SyslogCapture, syslog_capture_clear)

static void
capture_syslog (Fixture *fixture,
                gboolean ours,
                gboolean udp,
                SyslogCapture *capture)
{
  g_autofree char *method_address = NULL;
  g_autofree char *target_address = NULL;
  g_autoptr (GSocket) method_socket =
    bind_datagram (fixture, udp, &method_address);
  g_autoptr (GSocket) target_socket =
    bind_datagram (fixture, TRUE, &target_address);
  g_autofree char *method = g_strconcat (
    "--syslog-method=", udp ? "udp:" : "unix:", method_address, NULL);
  g_autofree char *target =
    g_strconcat ("--syslog-target=", target_address, NULL);
  const char *socket = ours ? fixture->our_socket : fixture->their_socket;
  const char *log_path = ours ? fixture->our_log : fixture->their_log;
  g_autofree char *unixctl = g_strconcat ("--unixctl=", socket, NULL);
  g_autofree char *log = g_strconcat ("--log-file=", log_path, NULL);
  g_autofree char *raw = NULL;
  GSubprocess **process = ours ? &fixture->ours : &fixture->theirs;
  const char *program = ours ? "unixctld" : "ovsdb-server";
  GPid pid;

  /* The socket options before --log-file, so that "opened log file" is
   * sent: both daemons apply their options in order. */
  if (ours)
    {
      const char *argv[] = { unixctld, unixctl, "-vconsole:off", method, target,
                             log,      NULL };

      *process = spawn (fixture, argv);
    }
  else
    {
      /* A database of its own each time. */
      g_autofree char *db = make_db (fixture);
      const char *argv[] = { ovs.ovsdb_server,
                             unixctl,
                             "--no-chdir",
                             "-vconsole:off",
                             method,
                             target,
                             log,
                             db,
                             NULL };

      *process = spawn (fixture, argv);
    }
  wait_for (*process, socket);
  pid =
    (GPid) g_ascii_strtoll (g_subprocess_get_identifier (*process), NULL, 10);

  raw = receive_datagram (method_socket, "|vlog|INFO|opened log file ");
  capture->method_datagram = normalize_datagram (raw, program, pid, log_path);
  g_free (raw);
  raw =
    receive_datagram (target_socket, " vlog - \xef\xbb\xbfopened log file ");
  capture->target_datagram = normalize_datagram (raw, program, pid, log_path);
  capture->patterns = appctl_ok (fixture, socket, "vlog/list-pattern", NULL);
  stop (process, ours);
}

/* --syslog-method=udp:/unix: and --syslog-target, against Open vSwitch:
 * the same datagrams, byte for byte but for the program's name, pid,
 * serial number and timestamp, and the same vlog/list-pattern. */
static void
test_syslog_sockets (Fixture *fixture, gconstpointer user_data)
{
  if (!fixture->ready)
    return;

  for (int udp = 0; udp <= 1; udp++)
    {
      g_auto (SyslogCapture) ours = { 0 };
      g_auto (SyslogCapture) theirs = { 0 };

      capture_syslog (fixture, TRUE, udp, &ours);
      capture_syslog (fixture, FALSE, udp, &theirs);

      g_assert_cmpstr (ours.method_datagram, ==,
                       "<29>ovs|SERIAL|vlog|INFO|opened log file LOG");
      g_assert_cmpstr (ours.method_datagram, ==, theirs.method_datagram);
      g_assert_true (g_str_has_prefix (ours.target_datagram, "<133>1 TIME "));
      g_assert_true (g_str_has_suffix (ours.target_datagram,
                                       " PROGRAM PID vlog - \xef\xbb\xbf"
                                       "opened log file LOG"));
      g_assert_cmpstr (ours.target_datagram, ==, theirs.target_datagram);
      g_assert_nonnull (strstr (ours.patterns, "\nSYSLOG   <%B>   "));
      g_assert_cmpstr (ours.patterns, ==, theirs.patterns);
    }
}

/* The errors of the socket options. */
static void
test_syslog_errors (Fixture *fixture, gconstpointer user_data)
{
  static const struct
  {
    const char *option;
    const char *message;
  } cases[] = {
    { "--syslog-method=bogus", "unsupported syslog method “bogus” (libc, "
                               "unix:FILE or udp:HOST:PORT)" },
    { "--syslog-method=udp:127.0.0.1",
      "Cannot send log messages to “udp:127.0.0.1”: a port is needed "
      "(HOST:PORT)" },
    { "--syslog-target=127.0.0.1",
      "Cannot send log messages to “127.0.0.1”: a port is needed "
      "(HOST:PORT)" },
  };

  g_auto (GStrv) envp = NULL;

  if (!fixture->ready)
    return;

  /* The messages hold “”: a UTF-8 locale prints them as they are. */
  envp =
    g_environ_setenv (g_strdupv (fixture->envp), "LC_ALL", "C.UTF-8", TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *args[] = { cases[i].option, NULL };
      g_auto (UcTestOutput) output = { 0 };
      g_autofree char *expected = g_strdup_printf (
        "unixctld: %s (use --help for help)\n", cases[i].message);

      uc_test_run (unixctld, NULL, args, (const char *const *) envp, &output);
      g_assert_cmpstr (output.err, ==, expected);
      g_assert_cmpint (output.status, ==, 1);
    }
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  unixctld = g_getenv ("UNIXCTLD");
  uc_test_ovs_find (&ovs, NULL);

#define ADD(path, flags, func)                                               \
  g_test_add (path, Fixture, GUINT_TO_POINTER (flags), fixture_set_up, func, \
              fixture_tear_down)
  ADD ("/vlog-compat/list/rows", 0, test_list);
  ADD ("/vlog-compat/list-pattern/same", 0, test_list_pattern);
  ADD ("/vlog-compat/set/texts", 0, test_set);
  ADD ("/vlog-compat/option/verbose", 0, test_verbose_option);
  ADD ("/vlog-compat/log-file/rotation", WITH_LOG_FILE, test_log_file);
  ADD ("/vlog-compat/log-file/unconfigured", 0, test_reopen_unconfigured);
  ADD ("/vlog-compat/coverage/show", 0, test_coverage);
  ADD ("/vlog-compat/memory/show", 0, test_memory);
  ADD ("/vlog-compat/list-commands/usage", 0, test_list_commands);
  ADD ("/vlog-compat/syslog/sockets", NO_DAEMONS, test_syslog_sockets);
  ADD ("/vlog-compat/syslog/errors", NO_DAEMONS, test_syslog_errors);

  status = g_test_run ();
  uc_test_ovs_clear (&ovs);
  return status;
}
