/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-appctl-compat"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "uc-test-util.h"

/*
 * The built `unixctld` (path in $UNIXCTLD) against real peers: the real
 * ovs-appctl of Open vSwitch 3.1, the Open vSwitch Python unixctl client,
 * and our `unixctl` (path in $UNIXCTL).  Wherever the behaviour is the
 * protocol's and not the daemon's own (the list-commands layout, the
 * error texts, the exit codes), the same command lines also run against a
 * real ovsdb-server, so that the expectations are checked against Open
 * vSwitch itself and not only against what we believe it does.
 *
 * ovs-appctl writes timestamped vlog lines to stderr
 * ("2026-01-01T00:00:00Z|00001|unixctl|WARN|..."); they are dropped before
 * comparing.  Tests whose peers are not installed are skipped.
 */

#define VERSION_TEXT  PACKAGE_NAME " (" PACKAGE_NAME ") " PACKAGE_VERSION
#define VERSION_REPLY VERSION_TEXT "\n"

/* Deadlines, never expected to be reached: servers start and answer in
 * milliseconds, but a loaded machine or ASan may slow them a lot. */
#define DEADLINE_US (30 * G_USEC_PER_SEC)
#define DEADLINE_S  (DEADLINE_US / G_USEC_PER_SEC)

/* Peers and set-ups a test needs. */
typedef enum
{
  NEED_APPCTL = UC_TEST_OVS_APPCTL, /* ovs-appctl */
  NEED_OVSDB = UC_TEST_OVS_OVSDB,   /* a running ovsdb-server */
  NEED_PYTHON = UC_TEST_OVS_PYTHON, /* python3 with the ovs package */
  NEED_TCP = 1 << 8,                /* the daemon also serves --remote=ptcp: */
} Needs;

/* What is installed, found once in main(). */
static UcTestOvs ovs;
static const char *unixctld; /* (unowned) (nullable) from $UNIXCTLD */
static const char *unixctl;  /* (unowned) (nullable) from $UNIXCTL */

/* The built-in commands and their usage, as the daemon registers them. */
/* Every command a default daemon lists, sorted bytewise: the built-ins of
 * the server, Open vSwitch's standard daemon commands (coverage, memory,
 * vlog, with its usage texts) and those of the worker. */
static const char *const builtins[][2] = {
  { "coverage/read-counter", "COUNTER" },
  { "coverage/show", "" },
  { "exit", "" },
  { "help", "" },
  { "list-commands", "" },
  { "memory/show", "" },
  { "set-options", "[--format text|json]" },
  { "system-stats/show", "" },
  { "version", "" },
  { "vlog/close", "" },
  { "vlog/disable-rate-limit", "[module]..." },
  { "vlog/enable-rate-limit", "[module]..." },
  { "vlog/list", "" },
  { "vlog/list-pattern", "" },
  { "vlog/reopen", "" },
  { "vlog/set", "{spec | PATTERN:destination:pattern}" },
  { "worker/ping", "[BYTES]" },
  { "worker/restart", "" },
  { "worker/status", "" },
};

typedef struct
{
  char *dir;    /* (owned) logs and the database */
  char *rundir; /* (owned) DIR/run: the daemon's rundir, $OVS_RUNDIR */

  GSubprocess *daemon; /* (owned) (nullable) */
  char *socket;        /* (owned) (nullable) its control socket */
  char *socket_file;   /* (owned) (nullable) the same, relative to rundir */
  guint16 tcp_port;    /* its ptcp: remote, with NEED_TCP */

  GSubprocess *ovsdb; /* (owned) (nullable) */
  char *ovsdb_socket; /* (owned) (nullable) */

  gboolean ready; /* every peer the test needs runs */
} Fixture;

/* Running programs. */

static char **
child_environ (Fixture *fixture)
{
  char **envp = uc_test_ovs_environ (fixture->rundir, fixture->dir);

  envp = g_environ_unsetenv (envp, "G_MESSAGES_DEBUG");
  /* So that LeakSanitizer sees leaked GObjects: GLib 2.74's slice caches
   * keep them reachable. */
  envp = g_environ_setenv (envp, "G_SLICE", "always-malloc", TRUE);
  return envp;
}

/* Runs @program with @args (NULL-terminated, without argv[0]) and
 * collects what it printed, which must be text: these programs print
 * UTF-8 and are not killed. */
static void
run_argv (Fixture *fixture,
          const char *program,
          const char *const *args,
          UcTestOutput *output)
{
  g_auto (GStrv) envp = child_environ (fixture);

  uc_test_run (program, NULL, args, (const char *const *) envp, output);
  g_assert_true (g_utf8_validate (output->out, -1, NULL));
  g_assert_true (g_utf8_validate (output->err, -1, NULL));
  g_assert_cmpint (output->status, >=, 0);
}

static void G_GNUC_NULL_TERMINATED
run (Fixture *fixture, const char *program, UcTestOutput *output, ...)
{
  g_autofree const char **args = NULL;
  va_list ap;

  va_start (ap, output);
  args = uc_test_args_va (ap);
  va_end (ap);
  run_argv (fixture, program, args, output);
}

/* Checks an ovs-appctl run against the expected bytes; @expected_err is
 * compared after uc_test_strip_vlog(). */
static void
assert_output (const UcTestOutput *output,
               int expected_status,
               const char *expected_out,
               const char *expected_err)
{
  g_autofree char *err = uc_test_strip_vlog (output->err);

  g_assert_cmpstr (output->out, ==, expected_out);
  g_assert_cmpstr (err, ==, expected_err);
  g_assert_cmpint (output->status, ==, expected_status);
}

/* The daemon. */

/* Waits until @process is gone and returns its exit status; a process
 * killed by a signal fails the test, with @log shown. */
static int
wait_exit (GSubprocess *process, const char *log)
{
  int status = uc_test_subprocess_wait (process, DEADLINE_US);

  if (status < 0)
    {
      g_autofree char *text =
        log != NULL ? uc_test_read_file (log) : g_strdup ("");

      g_error ("killed by signal %d; its log:\n%s",
               g_subprocess_get_term_sig (process), text);
    }
  return status;
}

static char *
daemon_log (Fixture *fixture)
{
  return g_build_filename (fixture->dir, "unixctld.log", NULL);
}

static void
start_daemon (Fixture *fixture, gboolean tcp)
{
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_auto (GStrv) envp = child_environ (fixture);
  g_autofree char *rundir_option = NULL;
  g_autofree char *remote_option = NULL;
  g_autofree char *log = daemon_log (fixture);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) probe = NULL;
  const char *id;

  rundir_option = g_strconcat ("--rundir=", fixture->rundir, NULL);
  if (tcp)
    {
      fixture->tcp_port = uc_test_pick_free_port ();
      remote_option =
        g_strdup_printf ("--remote=ptcp:%u:127.0.0.1", fixture->tcp_port);
    }

  g_subprocess_launcher_set_environ (launcher, envp);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  /* The default socket name, <rundir>/unixctld.<pid>.ctl, and the default
   * pidfile, so that `ovs-appctl -t unixctld` finds it. */
  fixture->daemon = g_subprocess_launcher_spawn (
    launcher, &error, unixctld, rundir_option, remote_option, NULL);
  g_assert_no_error (error);

  id = g_subprocess_get_identifier (fixture->daemon);
  fixture->socket_file = g_strdup_printf ("unixctld.%s.ctl", id);
  fixture->socket =
    g_build_filename (fixture->rundir, fixture->socket_file, NULL);

  probe = uc_test_wait_for_unix_socket (fixture->daemon, fixture->socket,
                                        DEADLINE_US);
  if (probe == NULL)
    {
      g_autofree char *text = uc_test_read_file (log);

      g_error ("unixctld exited before listening: %s", text);
    }
}

/* Stops the daemon with SIGTERM: it must exit 0 and leave its run
 * directory empty. */
static void
stop_daemon (Fixture *fixture)
{
  g_autofree char *log = daemon_log (fixture);

  if (fixture->daemon == NULL)
    return;
  if (g_subprocess_get_identifier (fixture->daemon) != NULL)
    g_subprocess_send_signal (fixture->daemon, SIGTERM);
  g_assert_cmpint (wait_exit (fixture->daemon, log), ==, 0);
  g_clear_object (&fixture->daemon);
}

/* ovsdb-server, a real Open vSwitch unixctl server. */

static void
start_ovsdb (Fixture *fixture)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) create = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) envp = child_environ (fixture);
  g_autofree char *db = g_build_filename (fixture->dir, "db.db", NULL);
  g_autofree char *log = g_build_filename (fixture->dir, "ovs.log", NULL);
  g_autofree char *log_option = g_strconcat ("--log-file=", log, NULL);
  g_autofree char *unixctl_option = NULL;
  g_autoptr (GSocketConnection) probe = NULL;

  fixture->ovsdb_socket = g_build_filename (fixture->dir, "ovs.ctl", NULL);
  unixctl_option = g_strconcat ("--unixctl=", fixture->ovsdb_socket, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_environ (launcher, envp);
  create = g_subprocess_launcher_spawn (
    launcher, &error, ovs.ovsdb_tool, "create", db, UC_TEST_OVSDB_SCHEMA, NULL);
  g_assert_no_error (error);
  g_subprocess_wait_check (create, NULL, &error);
  g_assert_no_error (error);

  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  fixture->ovsdb = g_subprocess_launcher_spawn (
    launcher, &error, ovs.ovsdb_server, unixctl_option, "--no-chdir",
    log_option, "-vconsole:off", db, NULL);
  g_assert_no_error (error);

  /* It must not exit before it listens. */
  probe = uc_test_wait_for_unix_socket (fixture->ovsdb, fixture->ovsdb_socket,
                                        DEADLINE_US);
  g_assert_nonnull (probe);
}

/* Open vSwitch re-raises a fatal signal once it has cleaned up: how it
 * died does not matter here. */
static void
stop_ovsdb (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;

  if (fixture->ovsdb == NULL)
    return;
  g_subprocess_send_signal (fixture->ovsdb, SIGTERM);
  g_subprocess_wait (fixture->ovsdb, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&fixture->ovsdb);
}

/* The fixture. */

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  Needs needs = GPOINTER_TO_UINT (user_data);

  if (unixctld == NULL || unixctl == NULL)
    {
      g_test_skip ("$UNIXCTLD or $UNIXCTL is not set: run through meson");
      return;
    }
  if (uc_test_ovs_skip_missing (&ovs, needs))
    return;

  fixture->dir = uc_test_make_tmp_dir ("test-appctl-compat-XXXXXX");
  fixture->rundir = g_build_filename (fixture->dir, "run", NULL);
  g_assert_no_errno (g_mkdir (fixture->rundir, 0700));

  start_daemon (fixture, (needs & NEED_TCP) != 0);
  if (needs & NEED_OVSDB)
    start_ovsdb (fixture);
  fixture->ready = TRUE;
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  stop_daemon (fixture);
  stop_ovsdb (fixture);

  if (fixture->dir != NULL)
    uc_test_rm_rf (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->rundir, g_free);
  g_clear_pointer (&fixture->socket, g_free);
  g_clear_pointer (&fixture->socket_file, g_free);
  g_clear_pointer (&fixture->ovsdb_socket, g_free);
}

/* Expected texts. */

/* list-commands as Open vSwitch lays it out, for the built-ins. */
static char *
expected_listing (void)
{
  GString *text = g_string_new ("The available commands are:\n");

  for (gsize i = 0; i < G_N_ELEMENTS (builtins); i++)
    g_string_append_printf (text, "  %-23s %s\n", builtins[i][0],
                            builtins[i][1]);
  return g_string_free (text, FALSE);
}

/* Checks the layout of any list-commands output: the header, then rows
 * of exactly "  %-23s %s", names sorted bytewise and unique. */
static void
assert_listing_layout (const char *text)
{
  g_auto (GStrv) lines = NULL;
  const char *previous = NULL;
  guint n_lines;

  g_assert_true (g_str_has_prefix (text, "The available commands are:\n"));
  g_assert_true (g_str_has_suffix (text, "\n"));

  lines = g_strsplit (text, "\n", -1);
  n_lines = g_strv_length (lines);
  /* The header, at least one row, and the empty string after the last
   * newline. */
  g_assert_cmpuint (n_lines, >=, 3);
  g_assert_cmpstr (lines[n_lines - 1], ==, "");

  for (guint i = 1; i < n_lines - 1; i++)
    {
      const char *row = lines[i];
      g_autofree char *name = NULL;
      g_autofree char *rebuilt = NULL;
      const char *usage;
      gsize name_length;

      g_assert_true (g_str_has_prefix (row, "  "));
      name_length = strcspn (row + 2, " ");
      g_assert_cmpuint (name_length, >, 0);
      name = g_strndup (row + 2, name_length);

      /* The usage starts after the padded name and one space. */
      g_assert_cmpuint (strlen (row), >=, 2 + MAX (name_length, 23) + 1);
      usage = row + 2 + MAX (name_length, 23) + 1;
      rebuilt = g_strdup_printf ("  %-23s %s", name, usage);
      g_assert_cmpstr (rebuilt, ==, row);

      if (previous != NULL)
        g_assert_cmpint (strcmp (previous, row + 2), <, 0);
      previous = row + 2;
    }
}

/* The stderr of ovs-appctl (or unixctl as @program) for an error reply
 * from @target. */
static char *
server_error (const char *program, const char *text, const char *target)
{
  return g_strdup_printf ("%s\n%s: %s: server returned an error\n", text,
                          program, target);
}

/* ovs-appctl against unixctld. */

static void
test_appctl_list_commands (Fixture *fixture, gconstpointer user_data)
{
  const char *const commands[] = { "list-commands", "help" };
  g_autofree char *expected = expected_listing ();

  if (!fixture->ready)
    return;

  assert_listing_layout (expected);
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_auto (UcTestOutput) output = { 0 };

      run (fixture, ovs.appctl, &output, "-t", fixture->socket, commands[i],
           NULL);
      assert_output (&output, 0, expected, "");
      assert_listing_layout (output.out);
    }
}

static void
test_appctl_version (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!fixture->ready)
    return;

  run (fixture, ovs.appctl, &output, "-t", fixture->socket, "version", NULL);
  assert_output (&output, 0, VERSION_REPLY, "");
  /* Nothing at all on stderr, not even a vlog line. */
  g_assert_cmpstr (output.err, ==, "");
}

/* Command lines that the server refuses, with the error text.  Only
 * built-ins: nothing is registered for the test. */
static const struct
{
  const char *args[5];
  const char *text;
} refused[] = {
  { { "foo" },
    "\"foo\" is not a valid command (use \"list-commands\" to see a list of "
    "valid commands)" },
  { { "set-options" },
    "\"set-options\" command requires at least 1 arguments" },
  { { "exit", "x" }, "\"exit\" command takes at most 0 arguments" },
  { { "version", "a" }, "\"version\" command takes at most 0 arguments" },
  { { "list-commands", "a", "b" },
    "\"list-commands\" command takes at most 0 arguments" },
  { { "set-options", "a", "b", "c" },
    "\"set-options\" command takes at most 2 arguments" },
  { { "set-options", "--format", "bogus" },
    "option format has invalid value bogus" },
};

static void
test_appctl_errors (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!fixture->ready)
    return;

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GPtrArray) args = g_ptr_array_new ();
      g_autofree char *expected =
        server_error ("ovs-appctl", refused[i].text, fixture->socket);
      g_auto (UcTestOutput) error_output = { 0 };

      g_ptr_array_add (args, (char *) "-t");
      g_ptr_array_add (args, fixture->socket);
      for (gsize j = 0; refused[i].args[j] != NULL; j++)
        g_ptr_array_add (args, (char *) refused[i].args[j]);
      g_ptr_array_add (args, NULL);

      run_argv (fixture, ovs.appctl, (const char *const *) args->pdata,
                &error_output);
      assert_output (&error_output, 2, "", expected);
    }

  /* `exit x` was refused, not obeyed. */
  run (fixture, ovs.appctl, &output, "-t", fixture->socket, "version", NULL);
  assert_output (&output, 0, VERSION_REPLY, "");
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

static void
assert_json_equal (JsonNode *node, const char *expected_text)
{
  g_autoptr (JsonNode) expected = parse_json (expected_text);

  if (!json_node_equal (node, expected))
    {
      g_autofree char *text = json_to_string (node, FALSE);

      g_error ("got %s, expected %s", text, expected_text);
    }
}

/* The JSON object list-commands answers in JSON mode. */
static char *
expected_listing_json (void)
{
  g_autoptr (JsonObject) object = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  for (gsize i = 0; i < G_N_ELEMENTS (builtins); i++)
    json_object_set_string_member (object, builtins[i][0], builtins[i][1]);
  json_node_set_object (node, object);
  return json_to_string (node, FALSE);
}

static void
test_appctl_json_format (Fixture *fixture, gconstpointer user_data)
{
  const char *to_json[] = { "--format", "json", NULL };
  const char *to_text[] = { "--format", "TEXT", NULL };
  g_autofree char *listing_json = expected_listing_json ();
  g_autofree char *text_listing = expected_listing ();
  g_autofree char *expected_err = NULL;
  g_autoptr (GSocketConnection) json_connection = NULL;
  g_autoptr (GSocketConnection) other_connection = NULL;
  GSocket *json_socket;
  GSocket *other_socket;
  g_auto (UcTestOutput) output = { 0 };
  g_auto (UcTestOutput) after = { 0 };
  /* Requests on one connection, as a JSON-aware client sends them, and
   * their results: a string, or a JSON value. */
  const struct
  {
    gboolean other; /* on another connection instead */
    const char *method;
    const char *const *params;
    const char *text;
    const char *json;
  } calls[] = {
    { FALSE, "version", NULL, VERSION_REPLY, NULL },
    { FALSE, "set-options", to_json, NULL,
      "{\"reply-format\":\"plain\",\"reply\":\"\"}" },
    { FALSE, "version", NULL, NULL,
      "{\"reply-format\":\"plain\",\"reply\":\"" VERSION_TEXT "\"}" },
    { FALSE, "list-commands", NULL, NULL, listing_json },
    /* Meanwhile another connection stays in text mode. */
    { TRUE, "list-commands", NULL, text_listing, NULL },
    /* The value is case-insensitive; the reply is shaped in the new
     * format, text, where an empty result is the empty string. */
    { FALSE, "set-options", to_text, "", NULL },
    { FALSE, "version", NULL, VERSION_REPLY, NULL },
  };

  if (!fixture->ready)
    return;

  /* Open vSwitch shapes set-options' own reply in the new format (see
   * DESIGN.md, wire fact 8): an object that ovs-appctl 3.1, which knows
   * no JSON mode, refuses as it would from Open vSwitch 3.3 and later.
   * unixctl prints the same (test_unixctl_same_as_appctl). */
  run (fixture, ovs.appctl, &output, "-t", fixture->socket, "set-options",
       "--format", "json", NULL);
  expected_err = g_strdup_printf ("ovs-appctl: %s: transaction error "
                                  "(Invalid argument)\n",
                                  fixture->socket);
  assert_output (&output, 1, "", expected_err);
  g_assert_nonnull (
    strstr (output.err, "unexpected result type in JSON rpc reply: object"));

  /* The format belonged to that connection: a new one is text again. */
  run (fixture, ovs.appctl, &after, "-t", fixture->socket, "version", NULL);
  assert_output (&after, 0, VERSION_REPLY, "");

  json_connection = uc_test_connect_unix (fixture->socket, DEADLINE_S);
  other_connection = uc_test_connect_unix (fixture->socket, DEADLINE_S);
  json_socket = g_socket_connection_get_socket (json_connection);
  other_socket = g_socket_connection_get_socket (other_connection);

  for (gsize i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      g_autoptr (JsonNode) node =
        uc_test_call (calls[i].other ? other_socket : json_socket,
                      calls[i].method, calls[i].params);

      if (calls[i].text != NULL)
        g_assert_cmpstr (json_node_get_string (node), ==, calls[i].text);
      else
        assert_json_equal (node, calls[i].json);
    }
}

static void
test_appctl_target_pidfile (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) by_name = { 0 };
  g_auto (UcTestOutput) by_path = { 0 };
  g_autofree char *target_option = NULL;

  if (!fixture->ready)
    return;

  /* ovs-appctl reads $OVS_RUNDIR/unixctld.pid, checks its lock holder and
   * connects to $OVS_RUNDIR/unixctld.<pid>.ctl. */
  run (fixture, ovs.appctl, &by_name, "-t", PACKAGE_NAME, "version", NULL);
  assert_output (&by_name, 0, VERSION_REPLY, "");

  target_option = g_strconcat ("--target=", fixture->socket, NULL);
  run (fixture, ovs.appctl, &by_path, target_option, "version", NULL);
  assert_output (&by_path, 0, VERSION_REPLY, "");
}

static void
test_appctl_exit (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *log = daemon_log (fixture);
  g_autofree char *left = NULL;
  g_auto (UcTestOutput) output = { 0 };

  if (!fixture->ready)
    return;

  run (fixture, ovs.appctl, &output, "-t", fixture->socket, "exit", NULL);
  assert_output (&output, 0, "", "");
  g_assert_cmpstr (output.err, ==, "");

  /* The daemon exits 0 by itself, and removes its socket and pidfile. */
  g_assert_cmpint (wait_exit (fixture->daemon, log), ==, 0);
  g_clear_object (&fixture->daemon);
  left = uc_test_list_dir (fixture->rundir);
  g_assert_cmpstr (left, ==, "");
}

/* ovs-appctl against ovsdb-server and unixctld alike. */

static void
test_ovsdb_shared (Fixture *fixture, gconstpointer user_data)
{
  /* The same failure on each server, each with commands it has. */
  static const struct
  {
    const char *ours[3];
    const char *theirs[3];
    const char *suffix; /* after the quoted command name */
  } errors[] = {
    { { "foo" },
      { "foo" },
      " is not a valid command (use \"list-commands\" to see a list of "
      "valid commands)" },
    { { "exit", "x" }, { "exit", "x" }, " command takes at most 0 arguments" },
    { { "version", "a" },
      { "version", "a" },
      " command takes at most 0 arguments" },
    { { "set-options" },
      { "ovsdb-server/add-remote" },
      " command requires at least 1 arguments" },
  };
  const char *servers[] = { fixture->socket, fixture->ovsdb_socket };
  g_auto (UcTestOutput) our_list = { 0 };
  g_auto (UcTestOutput) their_list = { 0 };
  g_autofree char *log = daemon_log (fixture);

  if (!fixture->ready)
    return;

  run (fixture, ovs.appctl, &our_list, "-t", fixture->socket, "list-commands",
       NULL);
  run (fixture, ovs.appctl, &their_list, "-t", fixture->ovsdb_socket,
       "list-commands", NULL);
  assert_output (&their_list, 0, their_list.out, "");
  assert_output (&our_list, 0, our_list.out, "");
  assert_listing_layout (their_list.out);
  assert_listing_layout (our_list.out);

  for (gsize i = 0; i < G_N_ELEMENTS (errors); i++)
    {
      for (gsize s = 0; s < G_N_ELEMENTS (servers); s++)
        {
          const char *const *command =
            s == 0 ? errors[i].ours : errors[i].theirs;
          g_autoptr (GPtrArray) args = g_ptr_array_new ();
          g_autofree char *text = NULL;
          g_autofree char *expected = NULL;
          g_auto (UcTestOutput) output = { 0 };

          g_ptr_array_add (args, (char *) "-t");
          g_ptr_array_add (args, (char *) servers[s]);
          for (gsize j = 0;
               j < G_N_ELEMENTS (errors[i].ours) && command[j] != NULL; j++)
            g_ptr_array_add (args, (char *) command[j]);
          g_ptr_array_add (args, NULL);

          text = g_strconcat ("\"", command[0], "\"", errors[i].suffix, NULL);
          expected = server_error ("ovs-appctl", text, servers[s]);
          run_argv (fixture, ovs.appctl, (const char *const *) args->pdata,
                    &output);
          assert_output (&output, 2, "", expected);
        }
    }

  /* `exit`: an empty reply, printed as nothing, and both servers go. */
  for (gsize s = 0; s < G_N_ELEMENTS (servers); s++)
    {
      g_auto (UcTestOutput) output = { 0 };

      run (fixture, ovs.appctl, &output, "-t", servers[s], "exit", NULL);
      assert_output (&output, 0, "", "");
    }
  g_assert_cmpint (wait_exit (fixture->daemon, log), ==, 0);
  g_clear_object (&fixture->daemon);
  g_assert_cmpint (wait_exit (fixture->ovsdb, NULL), ==, 0);
  g_clear_object (&fixture->ovsdb);
}

/* Sends @text, a raw request, on a new connection to @path, and returns
 * the error text of the reply, which must be an error. */
static char *
raw_error (const char *path, const char *text)
{
  g_autoptr (GSocketConnection) connection =
    uc_test_connect_unix (path, DEADLINE_S);
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr (JsonObject) reply = NULL;
  JsonNode *result;

  uc_test_send_text (socket, text);
  reply = uc_test_receive_object (socket);
  g_assert_cmpint (json_object_get_int_member (reply, "id"), ==, 1);
  result = json_object_get_member (reply, "result");
  g_assert_true (result == NULL || JSON_NODE_HOLDS_NULL (result));
  return g_strdup (json_object_get_string_member (reply, "error"));
}

static void
test_ovsdb_non_string (Fixture *fixture, gconstpointer user_data)
{
  /* ovs-appctl only sends strings: the last error text of wire fact 4,
   * and where it comes in the order of checks, need raw requests.  Each
   * server gets a command it has, with the same shape of call. */
  static const struct
  {
    const char *ours;
    const char *theirs;
    const char *suffix; /* after the quoted command name */
  } cases[] = {
    /* The command exists and the count fits: the type is checked. */
    { "{\"method\":\"set-options\",\"params\":[1],\"id\":1}",
      "{\"method\":\"vlog/set\",\"params\":[1],\"id\":1}",
      " command has non-string argument\n" },
    { "{\"method\":\"set-options\",\"params\":[\"--format\",null],"
      "\"id\":1}",
      "{\"method\":\"vlog/set\",\"params\":[\"x\",{}],\"id\":1}",
      " command has non-string argument\n" },
    /* The count is checked before the types. */
    { "{\"method\":\"exit\",\"params\":[1],\"id\":1}",
      "{\"method\":\"exit\",\"params\":[1],\"id\":1}",
      " command takes at most 0 arguments\n" },
    /* And the name before both. */
    { "{\"method\":\"nope\",\"params\":[[]],\"id\":1}",
      "{\"method\":\"nope\",\"params\":[[]],\"id\":1}",
      " is not a valid command (use \"list-commands\" to see a list of "
      "valid commands)\n" },
  };

  if (!fixture->ready)
    return;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *requests[] = { cases[i].ours, cases[i].theirs };
      const char *servers[] = { fixture->socket, fixture->ovsdb_socket };

      for (gsize s = 0; s < G_N_ELEMENTS (servers); s++)
        {
          g_autoptr (JsonNode) request = parse_json (requests[s]);
          const char *method = json_object_get_string_member (
            json_node_get_object (request), "method");
          g_autofree char *expected =
            g_strconcat ("\"", method, "\"", cases[i].suffix, NULL);
          g_autofree char *text = raw_error (servers[s], requests[s]);

          g_assert_cmpstr (text, ==, expected);
        }
    }
}

/* The Python client. */

static void
test_python_client (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *script =
    g_test_build_filename (G_TEST_DIST, "python-unixctl-client.py", NULL);
  g_autofree char *listing = expected_listing ();
  g_autofree char *listing_json = NULL;
  g_autoptr (GString) expected = g_string_new (NULL);
  g_auto (UcTestOutput) output = { 0 };

  if (!fixture->ready)
    return;

  /* The listing as the script prints it: a JSON string. */
  {
    g_autoptr (JsonNode) node = json_node_new (JSON_NODE_VALUE);

    json_node_set_string (node, listing);
    listing_json = json_to_string (node, FALSE);
  }

  run (fixture, UC_TEST_PYTHON, &output, script, fixture->socket, "version",
       "--", "list-commands", "--", "foo", "--", "set-options", "--format",
       "bogus", "--", "exit", "now", "--", "version", NULL);

  g_string_append (expected, "error=0\n"
                             "result=\"" VERSION_TEXT "\\n\"\n"
                             "error_body=null\n");
  g_string_append_printf (expected,
                          "error=0\n"
                          "result=%s\n"
                          "error_body=null\n",
                          listing_json);
  g_string_append (expected,
                   "error=0\n"
                   "result=null\n"
                   "error_body=\"\\\"foo\\\" is not a valid command (use "
                   "\\\"list-commands\\\" to see a list of valid commands)"
                   "\\n\"\n");
  g_string_append (expected, "error=0\n"
                             "result=null\n"
                             "error_body=\"option format has invalid value "
                             "bogus\\n\"\n");
  g_string_append (expected, "error=0\n"
                             "result=null\n"
                             "error_body=\"\\\"exit\\\" command takes at most "
                             "0 arguments\\n\"\n");
  g_string_append (expected, "error=0\n"
                             "result=\"" VERSION_TEXT "\\n\"\n"
                             "error_body=null\n");

  g_assert_cmpstr (output.err, ==, "");
  g_assert_cmpstr (output.out, ==, expected->str);
  g_assert_cmpint (output.status, ==, 0);
}

/* Our unixctl, byte for byte against ovs-appctl. */

static void
test_unixctl_same_as_appctl (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *target_option =
    g_strconcat ("--target=", fixture->socket, NULL);
  const struct
  {
    const char *args[8];
    int status;
  } cases[] = {
    { { "-t", fixture->socket, "list-commands" }, 0 },
    { { "-t", fixture->socket, "help" }, 0 },
    { { "-t", fixture->socket, "version" }, 0 },
    { { "-t", PACKAGE_NAME, "version" }, 0 },
    { { "--target", fixture->socket, "version" }, 0 },
    { { target_option, "version" }, 0 },
    { { "-t", fixture->socket, "foo", "bar" }, 2 },
    { { "-t", fixture->socket, "set-options" }, 2 },
    { { "-t", fixture->socket, "exit", "x" }, 2 },
    { { "-t", fixture->socket, "version", "a" }, 2 },
    { { "-t", fixture->socket, "set-options", "--format", "bogus" }, 2 },
    { { "-t", fixture->socket, "set-options", "a", "b", "c" }, 2 },
    { { "-t", fixture->socket, "set-options", "--format", "json" }, 1 },
    { { "-t", "nonexistent", "version" }, 1 },
  };

  if (!fixture->ready)
    return;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (UcTestOutput) theirs = { 0 };
      g_auto (UcTestOutput) ours = { 0 };
      g_autofree char *their_err = NULL;

      run_argv (fixture, ovs.appctl, cases[i].args, &theirs);
      run_argv (fixture, unixctl, cases[i].args, &ours);

      their_err = uc_test_unixctl_stderr (theirs.err);
      g_assert_cmpstr (ours.out, ==, theirs.out);
      g_assert_cmpstr (ours.err, ==, their_err);
      g_assert_cmpint (ours.status, ==, theirs.status);
      /* Both failing alike from a broken set-up must not pass. */
      g_assert_cmpint (theirs.status, ==, cases[i].status);
    }

  /* Last, the exit command. */
  {
    g_autofree char *log = daemon_log (fixture);
    g_auto (UcTestOutput) ours = { 0 };

    run (fixture, unixctl, &ours, "-t", fixture->socket, "exit", NULL);
    g_assert_cmpstr (ours.out, ==, "");
    g_assert_cmpstr (ours.err, ==, "");
    g_assert_cmpint (ours.status, ==, 0);
    g_assert_cmpint (wait_exit (fixture->daemon, log), ==, 0);
    g_clear_object (&fixture->daemon);
  }
}

/* Checks that @text is one JSON value and a newline, and returns it. */
static JsonNode *
parse_output_json (const char *text)
{
  g_assert_true (g_str_has_suffix (text, "\n"));
  return parse_json (text);
}

static void
test_unixctl_json (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *listing_json = expected_listing_json ();
  g_auto (UcTestOutput) compact = { 0 };
  g_auto (UcTestOutput) pretty = { 0 };
  g_auto (UcTestOutput) version = { 0 };
  g_auto (GStrv) pretty_lines = NULL;
  g_autoptr (JsonNode) node = NULL;

  if (!fixture->ready)
    return;

  run (fixture, unixctl, &compact, "-t", fixture->socket, "-f", "json",
       "list-commands", NULL);
  g_assert_cmpstr (compact.err, ==, "");
  g_assert_cmpint (compact.status, ==, 0);
  node = parse_output_json (compact.out);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  assert_json_equal (node, listing_json);
  /* Compact: one line. */
  g_assert_true (strchr (compact.out, '\n') ==
                 compact.out + strlen (compact.out) - 1);
  g_clear_pointer (&node, json_node_unref);

  run (fixture, unixctl, &pretty, "-t", fixture->socket, "--format=json",
       "--pretty", "list-commands", NULL);
  g_assert_cmpstr (pretty.err, ==, "");
  g_assert_cmpint (pretty.status, ==, 0);
  node = parse_output_json (pretty.out);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  assert_json_equal (node, listing_json);
  /* Indented: a line per member. */
  g_assert_true (g_str_has_prefix (pretty.out, "{\n "));
  pretty_lines = g_strsplit (pretty.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (pretty_lines), >=,
                    G_N_ELEMENTS (builtins) + 2);
  g_clear_pointer (&node, json_node_unref);

  /* A plain-text reply comes wrapped. */
  run (fixture, unixctl, &version, "-t", fixture->socket, "-f", "json",
       "version", NULL);
  g_assert_cmpint (version.status, ==, 0);
  node = parse_output_json (version.out);
  assert_json_equal (
    node, "{\"reply-format\":\"plain\",\"reply\":\"" VERSION_TEXT "\"}");
}

static void
test_unixctl_targets (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *unix_target = NULL;
  g_autofree char *relative_target = NULL;
  g_autofree char *tcp_target = NULL;
  g_autofree char *listing = expected_listing ();
  const char *version_targets[3];

  if (!fixture->ready)
    return;

  unix_target = g_strconcat ("unix:", fixture->socket, NULL);
  relative_target = g_strconcat ("unix:", fixture->socket_file, NULL);
  tcp_target = g_strdup_printf ("tcp:127.0.0.1:%u", fixture->tcp_port);
  version_targets[0] = unix_target;
  version_targets[1] = relative_target;
  version_targets[2] = tcp_target;

  for (gsize i = 0; i < G_N_ELEMENTS (version_targets); i++)
    {
      g_auto (UcTestOutput) output = { 0 };

      run (fixture, unixctl, &output, "-t", version_targets[i], "version",
           NULL);
      g_assert_cmpstr (output.out, ==, VERSION_REPLY);
      g_assert_cmpstr (output.err, ==, "");
      g_assert_cmpint (output.status, ==, 0);
    }

  /* Over TCP too, every request is answered as over the unix socket. */
  {
    g_auto (UcTestOutput) list = { 0 };
    g_auto (UcTestOutput) error = { 0 };
    g_auto (UcTestOutput) json = { 0 };
    g_autofree char *expected = server_error (
      "unixctl", "\"exit\" command takes at most 0 arguments", tcp_target);
    g_autoptr (JsonNode) node = NULL;

    run (fixture, unixctl, &list, "-t", tcp_target, "list-commands", NULL);
    g_assert_cmpstr (list.out, ==, listing);
    g_assert_cmpint (list.status, ==, 0);

    run (fixture, unixctl, &error, "-t", tcp_target, "exit", "x", NULL);
    g_assert_cmpstr (error.out, ==, "");
    g_assert_cmpstr (error.err, ==, expected);
    g_assert_cmpint (error.status, ==, 2);

    run (fixture, unixctl, &json, "-t", tcp_target, "-f", "json", "version",
         NULL);
    g_assert_cmpint (json.status, ==, 0);
    node = parse_output_json (json.out);
    assert_json_equal (
      node, "{\"reply-format\":\"plain\",\"reply\":\"" VERSION_TEXT "\"}");
  }
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  unixctld = g_getenv ("UNIXCTLD");
  unixctl = g_getenv ("UNIXCTL");
  uc_test_ovs_find (&ovs, "ovs.unixctl.client");

#define ADD(path, needs, func)                                           \
  g_test_add ((path), Fixture, GUINT_TO_POINTER (needs), fixture_set_up, \
              (func), fixture_tear_down)

  ADD ("/appctl-compat/ovs-appctl/list-commands", NEED_APPCTL,
       test_appctl_list_commands);
  ADD ("/appctl-compat/ovs-appctl/version", NEED_APPCTL, test_appctl_version);
  ADD ("/appctl-compat/ovs-appctl/errors", NEED_APPCTL, test_appctl_errors);
  ADD ("/appctl-compat/ovs-appctl/json-format", NEED_APPCTL,
       test_appctl_json_format);
  ADD ("/appctl-compat/ovs-appctl/target", NEED_APPCTL,
       test_appctl_target_pidfile);
  ADD ("/appctl-compat/ovs-appctl/exit", NEED_APPCTL, test_appctl_exit);
  ADD ("/appctl-compat/ovsdb-server/shared", NEED_APPCTL | NEED_OVSDB,
       test_ovsdb_shared);
  ADD ("/appctl-compat/ovsdb-server/non-string-argument", NEED_OVSDB,
       test_ovsdb_non_string);
  ADD ("/appctl-compat/python/client", NEED_PYTHON, test_python_client);
  ADD ("/appctl-compat/unixctl/same-as-ovs-appctl", NEED_APPCTL,
       test_unixctl_same_as_appctl);
  ADD ("/appctl-compat/unixctl/json", 0, test_unixctl_json);
  ADD ("/appctl-compat/unixctl/targets", NEED_TCP, test_unixctl_targets);

#undef ADD

  status = g_test_run ();

  uc_test_ovs_clear (&ovs);
  return status;
}
