/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * unixctl against the real ovs-appctl (Open vSwitch 3.1), run side by side
 * on the same command lines against real servers: ovsdb-server, a server
 * built on the Open vSwitch Python library (python-unixctl-server.py) and
 * fake servers for the failures real ones do not produce.  Both must give
 * the same stdout bytes, the same exit status, and the same stderr once
 * ovs-appctl's timestamped vlog lines are dropped and its program name is
 * replaced by ours.
 *
 * Then unixctl's own extensions, which ovs-appctl cannot be compared on:
 * unix:/tcp:/ssl: targets, --timeout, --format json and --pretty.
 *
 * Tests whose peers are not installed are skipped; CI installs them all.
 */
#define G_LOG_DOMAIN "test-cli-compat"

#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <signal.h>
#include <string.h>

#include "uc-test-util.h"

/* How long a server may take to start, and a fake server waits for a
 * client, before the test fails instead of hanging. */
#define STARTUP_TIMEOUT_S 20
#define FAKE_IO_TIMEOUT_S 20

/* Peers a test needs. */
typedef enum
{
  NEED_APPCTL = UC_TEST_OVS_APPCTL, /* ovs-appctl, to compare with */
  NEED_OVSDB = UC_TEST_OVS_OVSDB,   /* a running ovsdb-server */
  NEED_PYTHON = UC_TEST_OVS_PYTHON, /* a running python-unixctl-server.py */
  NEED_UNIXCTLD = 1 << 8,           /* our own daemon, running */
} Needs;

/* What is installed, found once in main(). */
static UcTestOvs ovs;
static const char *unixctl;  /* (unowned) from $UNIXCTL */
static const char *unixctld; /* (unowned) (nullable) from $UNIXCTLD */

typedef struct _Fake Fake;
typedef void (*FakeScript) (Fake *fake, GSocket *conn);

/* A fake server: a thread that accepts @n_connections connections, one
 * after the other, and runs @script on each with blocking calls. */
struct _Fake
{
  GSocket *listener; /* (owned) */
  char *target;      /* (owned) socket path, or tcp:127.0.0.1:PORT */
  FakeScript script;
  const char *reply; /* (unowned) (nullable) what @script answers */
  guint n_connections;
  GThread *thread;  /* (owned) */
  gint n_completed; /* (atomic) scripts that ran to their end */
};

typedef struct
{
  char *dir; /* (owned) the rundir: $OVS_RUNDIR of every program run */

  GSubprocess *ovsdb;   /* (owned) (nullable) */
  char *ovsdb_ctl;      /* (owned) (nullable) its control socket */
  char *ovsdb_ctl_file; /* (owned) (nullable) the same, relative */
  guint16 ovsdb_port;   /* its ptcp: remote */

  GSubprocess *daemon; /* (owned) (nullable) unixctld */

  GSubprocess *python; /* (owned) (nullable) */
  char *python_ctl;    /* (owned) (nullable) */

  Fake *fake; /* (owned) (nullable) */

  gboolean ready; /* every peer the test needs runs */
} Fixture;

/* Running programs. */

/* Runs @program as @argv0 with @args and collects what it printed. */
static void
run_program (Fixture *fixture,
             const char *program,
             const char *argv0,
             const char *const *args,
             UcTestOutput *output)
{
  g_auto (GStrv) envp = uc_test_ovs_environ (fixture->dir, fixture->dir);

  uc_test_run (program, argv0, args, (const char *const *) envp, output);
}

static void
run_unixctl_argv (Fixture *fixture,
                  const char *const *args,
                  UcTestOutput *output)
{
  run_program (fixture, unixctl, "unixctl", args, output);
}

/* Runs unixctl with the NULL-terminated arguments. */
static void G_GNUC_NULL_TERMINATED
run_unixctl (Fixture *fixture, UcTestOutput *output, ...)
{
  g_autofree const char **args = NULL;
  va_list ap;

  va_start (ap, output);
  args = uc_test_args_va (ap);
  va_end (ap);
  run_unixctl_argv (fixture, args, output);
}

/* Runs ovs-appctl and unixctl with the NULL-terminated arguments and
 * checks that they behave the same, and that ovs-appctl exits with
 * @expected_status (so that a broken set-up, where both fail alike,
 * does not pass).  Returns unixctl's output in @output if not %NULL. */
static void G_GNUC_NULL_TERMINATED
compare (Fixture *fixture, int expected_status, UcTestOutput *output, ...)
{
  g_autofree const char **args = NULL;
  g_auto (UcTestOutput) theirs = { 0 };
  g_auto (UcTestOutput) ours = { 0 };
  g_autofree char *their_err = NULL;
  va_list ap;

  va_start (ap, output);
  args = uc_test_args_va (ap);
  va_end (ap);

  run_program (fixture, ovs.appctl, "ovs-appctl", args, &theirs);
  run_unixctl_argv (fixture, args, &ours);

  their_err = uc_test_unixctl_stderr (theirs.err);
  g_assert_cmpstr (ours.out, ==, theirs.out);
  g_assert_cmpstr (ours.err, ==, their_err);
  g_assert_cmpint (ours.status, ==, theirs.status);
  g_assert_cmpint (theirs.status, ==, expected_status);

  if (output != NULL)
    {
      *output = ours;
      memset (&ours, 0, sizeof ours);
    }
}

/* Fake servers. */

static void
fake_expect (GSocket *conn, const char *expected)
{
  g_autofree char *text = uc_test_receive_message (conn);

  g_assert_nonnull (text);
  g_assert_cmpstr (text, ==, expected);
}

/* Waits until the client closes the connection, sending nothing more. */
static void
fake_expect_eof (GSocket *conn)
{
  g_autoptr (GError) error = NULL;
  char byte;

  g_assert_cmpint (g_socket_receive (conn, &byte, 1, NULL, &error), ==, 0);
  g_assert_no_error (error);
}

static gpointer
fake_thread (gpointer user_data)
{
  Fake *fake = user_data;
  guint i;

  for (i = 0; i < fake->n_connections; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) conn = NULL;

      /* The listener's timeout ends a test whose client never came. */
      conn = g_socket_accept (fake->listener, NULL, &error);
      if (conn == NULL)
        {
          g_test_message ("fake server: %s", error->message);
          return NULL;
        }
      g_socket_set_blocking (conn, TRUE);
      g_socket_set_timeout (conn, FAKE_IO_TIMEOUT_S);
      fake->script (fake, conn);
      g_atomic_int_inc (&fake->n_completed);
    }
  return NULL;
}

/* Starts a fake server on a unix socket in the rundir, or on TCP.  Its
 * @script may answer @reply. */
static void
start_fake (Fixture *fixture,
            gboolean tcp,
            FakeScript script,
            const char *reply,
            guint n_connections)
{
  g_autoptr (GError) error = NULL;
  Fake *fake = g_new0 (Fake, 1);

  if (tcp)
    {
      guint16 port = 0;

      fake->listener = uc_test_bind_loopback (&port);
      fake->target = g_strdup_printf ("tcp:127.0.0.1:%u", port);
    }
  else
    {
      fake->target = g_build_filename (fixture->dir, "fake.ctl", NULL);
      fake->listener = uc_test_bind_unix (fake->target);
    }
  g_socket_listen (fake->listener, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (fake->listener, FAKE_IO_TIMEOUT_S);

  fake->script = script;
  fake->reply = reply;
  fake->n_connections = n_connections;
  fake->thread = g_thread_new ("fake-server", fake_thread, fake);
  fixture->fake = fake;
}

/* Waits for the fake server to serve all its connections, and checks
 * that every script ran to its end. */
static void
join_fake (Fixture *fixture)
{
  Fake *fake = fixture->fake;

  g_thread_join (g_steal_pointer (&fake->thread));
  g_assert_cmpint (g_atomic_int_get (&fake->n_completed), ==,
                   (gint) fake->n_connections);
}

static void
fake_free (Fake *fake)
{
  if (fake->thread != NULL)
    g_thread_join (fake->thread);
  g_clear_object (&fake->listener);
  g_free (fake->target);
  g_free (fake);
}

/* ovsdb-server. */

/* Polls until @func says the server is up, for at most
 * STARTUP_TIMEOUT_S. */
static void
wait_for (gboolean (*func) (Fixture *fixture), Fixture *fixture)
{
  gint64 deadline =
    g_get_monotonic_time () + STARTUP_TIMEOUT_S * G_USEC_PER_SEC;

  while (!func (fixture))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("server did not start within %d s", STARTUP_TIMEOUT_S);
      g_usleep (UC_TEST_POLL_US);
    }
}

static gboolean
ovsdb_is_up (Fixture *fixture)
{
  g_autofree char *pidfile = NULL;
  g_autofree char *pid_text = NULL;
  g_autofree char *log = NULL;
  g_autofree char *log_name = NULL;
  g_autoptr (GRegex) port_regex = NULL;
  g_autoptr (GMatchInfo) match = NULL;
  g_autofree char *port = NULL;

  pidfile = g_build_filename (fixture->dir, "ovsdb-server.pid", NULL);
  if (!g_file_get_contents (pidfile, &pid_text, NULL, NULL) ||
      !g_str_has_suffix (pid_text, "\n"))
    return FALSE;
  g_strchomp (pid_text);

  g_free (fixture->ovsdb_ctl_file);
  fixture->ovsdb_ctl_file = g_strdup_printf ("ovsdb-server.%s.ctl", pid_text);
  g_free (fixture->ovsdb_ctl);
  fixture->ovsdb_ctl =
    g_build_filename (fixture->dir, fixture->ovsdb_ctl_file, NULL);
  if (!g_file_test (fixture->ovsdb_ctl, G_FILE_TEST_EXISTS))
    return FALSE;

  log_name = g_build_filename (fixture->dir, "ovsdb-server.log", NULL);
  if (!g_file_get_contents (log_name, &log, NULL, NULL))
    return FALSE;
  port_regex = g_regex_new ("listening on port (\\d+)", 0, 0, NULL);
  if (!g_regex_match (port_regex, log, 0, &match))
    return FALSE;
  port = g_match_info_fetch (match, 1);
  fixture->ovsdb_port = (guint16) g_ascii_strtoull (port, NULL, 10);
  return TRUE;
}

static void
start_ovsdb (Fixture *fixture)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) envp = uc_test_ovs_environ (fixture->dir, fixture->dir);
  g_autofree char *db = g_build_filename (fixture->dir, "conf.db", NULL);
  g_autofree char *log =
    g_build_filename (fixture->dir, "ovsdb-server.log", NULL);
  g_autofree char *log_option = g_strconcat ("--log-file=", log, NULL);
  const char *create_argv[] = { ovs.ovsdb_tool, "create", db,
                                UC_TEST_OVSDB_SCHEMA, NULL };
  int wait_status;

  g_spawn_sync (NULL, (char **) create_argv, envp, G_SPAWN_DEFAULT, NULL, NULL,
                NULL, NULL, &wait_status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (wait_status, &error);
  g_assert_no_error (error);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_environ (launcher, envp);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  /* The pidfile and the control socket take their default names in
   * $OVS_RUNDIR, so that `-t ovsdb-server` finds them. */
  fixture->ovsdb = g_subprocess_launcher_spawn (
    launcher, &error, ovs.ovsdb_server, "-vconsole:off", "--pidfile",
    "--no-chdir", log_option, "--remote=ptcp:0:127.0.0.1", db, NULL);
  g_assert_no_error (error);

  wait_for (ovsdb_is_up, fixture);
}

static void
stop_subprocess (GSubprocess **subprocess)
{
  g_autoptr (GError) error = NULL;

  if (*subprocess == NULL)
    return;
  g_subprocess_send_signal (*subprocess, SIGTERM);
  g_subprocess_wait (*subprocess, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (subprocess);
}

/* The Python server. */

static void
start_python (Fixture *fixture)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) envp = uc_test_ovs_environ (fixture->dir, fixture->dir);
  g_autofree char *script = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "python.ctl", NULL);
  g_autoptr (GDataInputStream) stdout_stream = NULL;
  g_autofree char *line = NULL;

  script =
    g_test_build_filename (G_TEST_DIST, "python-unixctl-server.py", NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_environ (launcher, envp);
  fixture->python = g_subprocess_launcher_spawn (
    launcher, &error, UC_TEST_PYTHON, script, path, NULL);
  g_assert_no_error (error);

  /* It prints the socket's path once it listens. */
  stdout_stream =
    g_data_input_stream_new (g_subprocess_get_stdout_pipe (fixture->python));
  line = g_data_input_stream_read_line (stdout_stream, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, path);
  fixture->python_ctl = g_steal_pointer (&path);
}

static void
stop_python (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;

  if (fixture->python == NULL)
    return;

  /* It exits at the end of its stdin. */
  g_output_stream_close (g_subprocess_get_stdin_pipe (fixture->python), NULL,
                         &error);
  g_assert_no_error (error);
  g_subprocess_wait_check (fixture->python, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&fixture->python);
}

/* unixctld, which names its pidfile and socket as ovsdb-server does. */

static gboolean
unixctld_is_up (Fixture *fixture)
{
  g_autofree char *pidfile = NULL;
  g_autofree char *pid_text = NULL;
  g_autofree char *socket_name = NULL;

  pidfile = g_build_filename (fixture->dir, "unixctld.pid", NULL);
  if (!g_file_get_contents (pidfile, &pid_text, NULL, NULL) ||
      !g_str_has_suffix (pid_text, "\n"))
    return FALSE;
  g_strchomp (pid_text);
  socket_name = g_strdup_printf ("%s/unixctld.%s.ctl", fixture->dir, pid_text);
  return g_file_test (socket_name, G_FILE_TEST_EXISTS);
}

static void
start_unixctld (Fixture *fixture)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_auto (GStrv) envp = uc_test_ovs_environ (fixture->dir, fixture->dir);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_environ (launcher, envp);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  fixture->daemon = uc_test_spawn_unixctld (launcher, NULL, NULL);

  wait_for (unixctld_is_up, fixture);
}

/* The fixture. */

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  Needs needs = GPOINTER_TO_UINT (user_data);

  if (unixctl == NULL)
    {
      g_test_skip ("$UNIXCTL is not set: run the test with meson test");
      return;
    }
  if ((needs & NEED_UNIXCTLD) && unixctld == NULL)
    {
      g_test_skip ("$UNIXCTLD is not set: run the test with meson test");
      return;
    }
  if (uc_test_ovs_skip_missing (&ovs, needs))
    return;

  fixture->dir = uc_test_make_tmp_dir ("test-cli-compat-XXXXXX");

  if (needs & NEED_OVSDB)
    start_ovsdb (fixture);
  if (needs & NEED_UNIXCTLD)
    start_unixctld (fixture);
  if (needs & NEED_PYTHON)
    start_python (fixture);
  fixture->ready = TRUE;
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  stop_subprocess (&fixture->ovsdb);
  stop_subprocess (&fixture->daemon);
  stop_python (fixture);
  g_clear_pointer (&fixture->fake, fake_free);

  if (fixture->dir != NULL)
    uc_test_rm_rf (fixture->dir);

  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->ovsdb_ctl, g_free);
  g_clear_pointer (&fixture->ovsdb_ctl_file, g_free);
  g_clear_pointer (&fixture->python_ctl, g_free);
}

/* Against ovsdb-server. */

static void
test_ovsdb_commands (Fixture *fixture, gconstpointer user_data)
{
  const char *ctl = fixture->ovsdb_ctl;
  g_autofree char *target_option = NULL;

  if (!fixture->ready)
    return;

  target_option = g_strconcat ("--target=", ctl, NULL);
  compare (fixture, 0, NULL, "-t", ctl, "list-commands", NULL);
  compare (fixture, 0, NULL, "-t", ctl, "version", NULL);
  compare (fixture, 0, NULL, "--target", ctl, "vlog/list", NULL);
  compare (fixture, 0, NULL, target_option, "memory/show", NULL);
  /* Arguments; a reply without a final newline. */
  compare (fixture, 0, NULL, "-t", ctl, "ovsdb-server/get-db-storage-status",
           "Open_vSwitch", NULL);
  compare (fixture, 0, NULL, "-t", ctl, "ovsdb-server/perf-counters-show",
           NULL);
  /* An empty result. */
  compare (fixture, 0, NULL, "-t", ctl, "vlog/set", "ANY:file:info", NULL);
  /* Options end at the command: "--foo" and "-t" are its arguments. */
  compare (fixture, 0, NULL, "-t", ctl, "ovsdb-server/list-remotes", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "version", "--foo", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "version", "-t", "x", NULL);
  compare (fixture, 0, NULL, "-t", ctl, "--", "version", NULL);
  /* Compacted options. */
  compare (fixture, 0, NULL, "-et", ctl, "version", NULL);
}

static void
test_ovsdb_errors (Fixture *fixture, gconstpointer user_data)
{
  const char *ctl = fixture->ovsdb_ctl;

  if (!fixture->ready)
    return;

  compare (fixture, 2, NULL, "-t", ctl, "help", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "no-such-command", "a", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "exit", "1", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "ovsdb-server/add-remote", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "vlog/set", "nonsense", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "coverage/read-counter", "nosuch",
           NULL);
}

static void
test_ovsdb_by_name (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!fixture->ready)
    return;

  /* RUNDIR/ovsdb-server.pid, then RUNDIR/ovsdb-server.PID.ctl. */
  compare (fixture, 0, &output, "-t", "ovsdb-server", "version", NULL);
  g_assert_true (g_str_has_prefix (output.out, "ovsdb-server (Open vSwitch)"));
  compare (fixture, 2, NULL, "-t", "ovsdb-server", "no-such-command", NULL);
}

/* Local failures. */

static void
test_local_targets (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *stale = NULL;
  g_autofree char *empty = NULL;
  g_autofree char *regular = NULL;
  g_autofree char *missing = NULL;

  if (!fixture->ready)
    return;

  compare (fixture, 1, NULL, "-t", "nosuchdaemon", "version", NULL);

  /* Not locked by a live daemon: stale. */
  stale = g_build_filename (fixture->dir, "stale.pid", NULL);
  uc_test_write_file (stale, "99999\n");
  compare (fixture, 1, NULL, "-t", "stale", "version", NULL);
  empty = g_build_filename (fixture->dir, "empty.pid", NULL);
  uc_test_write_file (empty, "");
  compare (fixture, 1, NULL, "-t", "empty", "version", NULL);

  missing = g_build_filename (fixture->dir, "missing.ctl", NULL);
  compare (fixture, 1, NULL, "-t", missing, "version", NULL);
  regular = g_build_filename (fixture->dir, "regular-file", NULL);
  uc_test_write_file (regular, "");
  compare (fixture, 1, NULL, "-t", regular, "version", NULL);
  compare (fixture, 1, NULL, "-t", fixture->dir, "version", NULL);

  /* A valid --timeout and the ignored -e change nothing. */
  compare (fixture, 1, NULL, "-T", "5", "-t", missing, "version", NULL);
  compare (fixture, 1, NULL, "--timeout= 7", "-t", missing, "version", NULL);
  compare (fixture, 1, NULL, "-e", "-t", missing, "version", NULL);
}

static void
test_local_usage (Fixture *fixture, gconstpointer user_data)
{
  if (!fixture->ready)
    return;

  compare (fixture, 1, NULL, NULL);
  compare (fixture, 1, NULL, "-t", "x", NULL);
  compare (fixture, 1, NULL, "--foo", NULL);
  compare (fixture, 1, NULL, "-x", "version", NULL);
  compare (fixture, 1, NULL, "-t", NULL);
  compare (fixture, 1, NULL, "--target", NULL);
  compare (fixture, 1, NULL, "--timeout=abc", "version", NULL);
  compare (fixture, 1, NULL, "-T", "0", "version", NULL);
  compare (fixture, 1, NULL, "-T", "-1", "version", NULL);
  compare (fixture, 1, NULL, "-T", "4294967296", "version", NULL);
  compare (fixture, 1, NULL, "-T", "5s", "version", NULL);
  compare (fixture, 1, NULL, "-T", "", "version", NULL);
  compare (fixture, 1, NULL, "--t=a", "version", NULL);
  compare (fixture, 1, NULL, "--ver", NULL);
  compare (fixture, 1, NULL, "--help=3", NULL);
  compare (fixture, 1, NULL, "-t", "a", "-t", "b", "version", NULL);
  compare (fixture, 1, NULL, "-e", "--execute", "version", NULL);
}

/* Against the Python library's server. */

static void
test_python_commands (Fixture *fixture, gconstpointer user_data)
{
  const char *ctl = fixture->python_ctl;

  if (!fixture->ready)
    return;

  compare (fixture, 0, NULL, "-t", ctl, "greet", "bob", NULL);
  compare (fixture, 0, NULL, "-t", ctl, "greet",
           "w\xc3\xb6rld \xe2\x98\x83 \"quoted\" \\ \t tab", NULL);
  compare (fixture, 0, NULL, "-t", ctl, "multi-line", NULL);
  compare (fixture, 0, NULL, "-t", ctl, "empty", NULL);
  compare (fixture, 0, NULL, "-t", ctl, "join", NULL);
  compare (fixture, 0, NULL, "-t", ctl, "join", "a", "", "c", NULL);
  compare (fixture, 0, NULL, "-t", ctl, "help", NULL);
  compare (fixture, 0, NULL, "-t", ctl, "version", NULL);
}

static void
test_python_errors (Fixture *fixture, gconstpointer user_data)
{
  const char *ctl = fixture->python_ctl;

  if (!fixture->ready)
    return;

  compare (fixture, 2, NULL, "-t", ctl, "fail", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "join", "a", "b", "c", "d", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "greet", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "list-commands", NULL);
  compare (fixture, 2, NULL, "-t", ctl, "set-options", "--format", "json",
           NULL);
}

/* Against fake servers: failures real servers do not produce. */

/* Takes the `version` request, then closes at once or, with a reply,
 * sends it and waits for the client to close. */
static void
script_version (Fake *fake, GSocket *conn)
{
  fake_expect (conn, "{\"id\":0,\"method\":\"version\",\"params\":[]}");
  if (fake->reply == NULL)
    return;
  uc_test_send_text (conn, fake->reply);
  fake_expect_eof (conn);
}

/* What a fake server answers to `version`, and how ovs-appctl exits on
 * it. */
typedef struct
{
  const char *path;
  const char *reply; /* (nullable) none: the server closes */
  int status;
} FakeCase;

static const FakeCase fake_cases[] = {
  { "/cli-compat/fake/close-without-reply", NULL, 1 },
  { "/cli-compat/fake/non-string-result",
    "{\"id\":0,\"result\":{\"a\":[1,2]},\"error\":null}", 1 },
  { "/cli-compat/fake/non-string-error", "{\"id\":0,\"error\":{\"code\":1}}",
    1 },
  { "/cli-compat/fake/protocol-error",
    "{\"id\":0,\"result\":\"x\",\"error\":\"both\"}", 1 },
  /* A reply to another id, a notification, the reply. */
  { "/cli-compat/fake/stray-messages",
    "{\"id\":77,\"result\":\"other\",\"error\":null}"
    "{\"id\":null,\"method\":\"note\",\"params\":[]}"
    "{\"id\":0,\"result\":\"mine\\n\",\"error\":null}",
    0 },
};

static void
fake_fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  fixture_set_up (fixture, GUINT_TO_POINTER (NEED_APPCTL));
}

static void
test_fake (Fixture *fixture, gconstpointer user_data)
{
  const FakeCase *fake_case = user_data;

  if (!fixture->ready)
    return;

  /* One connection for ovs-appctl, one for unixctl. */
  start_fake (fixture, FALSE, script_version, fake_case->reply, 2);
  compare (fixture, fake_case->status, NULL, "-t", fixture->fake->target,
           "version", NULL);
  join_fake (fixture);
}

/* unixctl's extensions. */

static void
test_ext_unix_names (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) theirs = { 0 };
  g_auto (UcTestOutput) ours = { 0 };
  g_auto (UcTestOutput) relative = { 0 };
  g_autofree char *unix_name = NULL;
  g_autofree char *relative_name = NULL;
  const char *const their_args[] = { "-t", fixture->ovsdb_ctl, "version",
                                     NULL };

  if (!fixture->ready)
    return;

  /* unix:PATH is the same socket as PATH; a relative FILE is under the
   * rundir. */
  unix_name = g_strconcat ("unix:", fixture->ovsdb_ctl, NULL);
  relative_name = g_strconcat ("unix:", fixture->ovsdb_ctl_file, NULL);
  run_program (fixture, ovs.appctl, "ovs-appctl", their_args, &theirs);
  run_unixctl (fixture, &ours, "-t", unix_name, "version", NULL);
  run_unixctl (fixture, &relative, "-t", relative_name, "version", NULL);

  g_assert_cmpint (theirs.status, ==, 0);
  g_assert_cmpint (ours.status, ==, 0);
  g_assert_cmpstr (ours.out, ==, theirs.out);
  g_assert_cmpstr (ours.err, ==, "");
  g_assert_cmpint (relative.status, ==, 0);
  g_assert_cmpstr (relative.out, ==, theirs.out);
}

static void
test_ext_tcp (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *target = NULL;
  g_autofree char *expected_err = NULL;

  if (!fixture->ready)
    return;

  /* ovsdb-server's tcp remote speaks OVSDB: its results are JSON values,
   * printed as compact JSON. */
  target = g_strdup_printf ("tcp:127.0.0.1:%u", fixture->ovsdb_port);
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (fixture, &output, "-t", target, "list_dbs", NULL);
    g_assert_cmpstr (output.err, ==, "");
    g_assert_cmpstr (output.out, ==, "[\"Open_vSwitch\",\"_Server\"]\n");
    g_assert_cmpint (output.status, ==, 0);
  }
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (fixture, &output, "-t", target, "echo", "a", "b", NULL);
    g_assert_cmpstr (output.out, ==, "[\"a\",\"b\"]\n");
    g_assert_cmpint (output.status, ==, 0);
  }
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (fixture, &output, "-t", target, "lock", "x", NULL);
    g_assert_cmpstr (output.out, ==, "{\"locked\":true}\n");
    g_assert_cmpint (output.status, ==, 0);
  }
  /* A string error prints as it is; an object as JSON, members sorted. */
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (fixture, &output, "-t", target, "no_such_method", NULL);
    expected_err = g_strdup_printf (
      "unknown methodunixctl: %s: server returned an error\n", target);
    g_assert_cmpstr (output.out, ==, "");
    g_assert_cmpstr (output.err, ==, expected_err);
    g_assert_cmpint (output.status, ==, 2);
  }
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (fixture, &output, "-t", target, "get_schema", "nosuch", NULL);
    g_clear_pointer (&expected_err, g_free);
    expected_err = g_strdup_printf (
      "{\"details\":\"get_schema request specifies unknown database "
      "nosuch\",\"error\":\"unknown database\",\"syntax\":\"[\\\"nosuch\\\"]\"}"
      "\nunixctl: %s: server returned an error\n",
      target);
    g_assert_cmpstr (output.err, ==, expected_err);
    g_assert_cmpint (output.status, ==, 2);
  }
}

static void
script_echo_probe (Fake *fake, GSocket *conn)
{
  fake_expect (conn, "{\"id\":0,\"method\":\"version\",\"params\":[]}");
  uc_test_send_text (
    conn, "{\"method\":\"echo\",\"params\":[\"probe\"],\"id\":\"echo\"}");
  /* No reply until the probe is answered, as an OVS peer would drop the
   * connection. */
  fake_expect (conn, "{\"id\":\"echo\",\"result\":[\"probe\"],\"error\":null}");
  uc_test_send_text (conn,
                     "{\"id\":0,\"result\":\"answered\\n\",\"error\":null}");
  fake_expect_eof (conn);
}

static void
test_ext_echo_probe (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!fixture->ready)
    return;

  start_fake (fixture, TRUE, script_echo_probe, NULL, 1);
  run_unixctl (fixture, &output, "-t", fixture->fake->target, "version", NULL);
  join_fake (fixture);

  g_assert_cmpstr (output.err, ==, "");
  g_assert_cmpstr (output.out, ==, "answered\n");
  g_assert_cmpint (output.status, ==, 0);
}

static void
test_ext_timeout (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };
  g_autofree char *expected = NULL;

  if (!fixture->ready)
    return;

  /* The server never answers "hang". */
  run_unixctl (fixture, &output, "--timeout=1", "-t", fixture->python_ctl,
               "hang", NULL);
  expected = g_strdup_printf ("unixctl: %s: timed out after 1 second\n",
                              fixture->python_ctl);
  g_assert_cmpstr (output.out, ==, "");
  g_assert_cmpstr (output.err, ==, expected);
  g_assert_cmpint (output.status, ==, 3);
  g_assert_cmpint (output.elapsed_us, >=, 900 * 1000);
  g_assert_cmpint (output.elapsed_us, <, 5 * G_USEC_PER_SEC);

  /* A timeout that does not expire changes nothing. */
  {
    g_auto (UcTestOutput) quick = { 0 };

    run_unixctl (fixture, &quick, "-T", "30", "-t", fixture->python_ctl,
                 "greet", "x", NULL);
    g_assert_cmpstr (quick.out, ==, "hello, x\n");
    g_assert_cmpint (quick.status, ==, 0);
  }
}

/* Answers the options late, and the command later still, unless the
 * client hangs up first. */
static void
script_slow_options (Fake *fake, GSocket *conn)
{
  fake_expect (
    conn,
    "{\"id\":0,\"method\":\"set-options\",\"params\":[\"--format\",\"json\"]}");
  g_usleep (700 * 1000);
  uc_test_send_text (conn, "{\"id\":0,\"result\":\"\",\"error\":null}");
  fake_expect (conn, "{\"id\":1,\"method\":\"version\",\"params\":[]}");

  /* The command's answer would come 1.4 s after the client started: in
   * time for a client that gave each transaction a second of its own,
   * never for one whose second covers the whole run, which hangs up
   * first.  The outcome does not depend on how loaded the machine is. */
  if (!g_socket_condition_timed_wait (conn, G_IO_IN, 700 * 1000, NULL, NULL))
    uc_test_send_text (conn, "{\"id\":1,\"result\":{\"reply-format\":"
                             "\"plain\",\"reply\":\"v\\n\"},\"error\":null}");
  fake_expect_eof (conn);
}

/* --timeout bounds the whole run, as ovs-appctl's alarm() does, not each
 * transaction: with --format json the command gets what the options left
 * of it. */
static void
test_ext_timeout_shared (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };
  g_autofree char *expected = NULL;

  if (!fixture->ready)
    return;

  start_fake (fixture, FALSE, script_slow_options, NULL, 1);
  run_unixctl (fixture, &output, "--timeout=1", "--format=json", "-t",
               fixture->fake->target, "version", NULL);
  join_fake (fixture);

  expected = g_strdup_printf ("unixctl: %s: timed out after 1 second\n",
                              fixture->fake->target);
  g_assert_cmpstr (output.out, ==, "");
  g_assert_cmpstr (output.err, ==, expected);
  g_assert_cmpint (output.status, ==, 3);
}

static void
script_json_mode (Fake *fake, GSocket *conn)
{
  fake_expect (
    conn,
    "{\"id\":0,\"method\":\"set-options\",\"params\":[\"--format\",\"json\"]}");
  uc_test_send_text (conn, "{\"id\":0,\"result\":\"\",\"error\":null}");
  fake_expect (conn, "{\"id\":1,\"method\":\"version\",\"params\":[]}");
  uc_test_send_text (conn, "{\"id\":1,\"result\":{\"reply-format\":\"plain\","
                           "\"reply\":\"v\\n\"},\"error\":null}");
  fake_expect_eof (conn);
}

static void
test_ext_json (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) compact = { 0 };
  g_auto (UcTestOutput) pretty = { 0 };

  if (!fixture->ready)
    return;

  start_fake (fixture, FALSE, script_json_mode, NULL, 2);
  run_unixctl (fixture, &compact, "-f", "json", "-t", fixture->fake->target,
               "version", NULL);
  run_unixctl (fixture, &pretty, "--format=JSON", "--pretty", "-t",
               fixture->fake->target, "version", NULL);
  join_fake (fixture);

  g_assert_cmpstr (compact.err, ==, "");
  g_assert_cmpstr (compact.out, ==,
                   "{\"reply\":\"v\\n\",\"reply-format\":\"plain\"}\n");
  g_assert_cmpint (compact.status, ==, 0);
  g_assert_cmpstr (pretty.err, ==, "");
  g_assert_cmpstr (pretty.out, ==,
                   "{\n"
                   "    \"reply\" : \"v\\n\",\n"
                   "    \"reply-format\" : \"plain\"\n"
                   "}\n");
  g_assert_cmpint (pretty.status, ==, 0);
}

static void
test_ext_json_unsupported (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };
  g_autofree char *expected = NULL;

  if (!fixture->ready)
    return;

  /* OVS 3.1 servers have no set-options: the command is not sent. */
  run_unixctl (fixture, &output, "-f", "json", "--pretty", "-t",
               fixture->python_ctl, "exit", NULL);
  expected = g_strdup_printf ("\"set-options\" is not a valid command\n"
                              "unixctl: %s: server returned an error\n",
                              fixture->python_ctl);
  g_assert_cmpstr (output.out, ==, "");
  g_assert_cmpstr (output.err, ==, expected);
  g_assert_cmpint (output.status, ==, 2);

  /* The server is still there: "exit" was never sent. */
  {
    g_auto (UcTestOutput) version = { 0 };

    run_unixctl (fixture, &version, "-t", fixture->python_ctl, "version", NULL);
    g_assert_cmpint (version.status, ==, 0);
  }
}

/* Checks unixctl alone: @expected_out and @expected_err exactly (a
 * %NULL one is not checked) and @expected_status. */
static void
check_unixctl (Fixture *fixture,
               const char *const *args,
               int expected_status,
               const char *expected_out,
               const char *expected_err)
{
  g_auto (UcTestOutput) output = { 0 };

  run_unixctl_argv (fixture, args, &output);
  if (expected_out != NULL)
    g_assert_cmpstr (output.out, ==, expected_out);
  if (expected_err != NULL)
    g_assert_cmpstr (output.err, ==, expected_err);
  g_assert_cmpint (output.status, ==, expected_status);
}

static void
test_ext_options (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *default_pidfile = NULL;
  g_auto (UcTestOutput) help = { 0 };
  g_auto (UcTestOutput) options = { 0 };
  g_auto (UcTestOutput) ssl = { 0 };
  g_auto (UcTestOutput) bad_name = { 0 };

  if (!fixture->ready)
    return;

  {
    const char *const args[] = { "--pretty", "version", NULL };

    check_unixctl (fixture, args, 1, "",
                   "unixctl: --pretty is only valid with --format json\n");
  }
  {
    const char *const args[] = { "-f", "xml", "version", NULL };

    check_unixctl (fixture, args, 1, "",
                   "unixctl: value xml on -f or --format is invalid\n");
  }
  {
    const char *const args[] = { "-V", NULL };

    check_unixctl (fixture, args, 0, "unixctl (unixctld) " PACKAGE_VERSION "\n",
                   "");
  }
  {
    const char *const args[] = { "version", NULL };

    /* The default target is unixctld, found through $OVS_RUNDIR. */
    default_pidfile = g_strdup_printf (
      "unixctl: cannot read pidfile \"%s/unixctld.pid\" (No such file or "
      "directory)\n",
      fixture->dir);
    check_unixctl (fixture, args, 1, "", default_pidfile);
  }

  run_unixctl (fixture, &help, "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  g_assert_true (g_str_has_prefix (help.out, "unixctl, for querying"));
  g_assert_nonnull (strstr (help.out, "usage: unixctl [TARGET] COMMAND"));
  g_assert_nonnull (strstr (help.out, "Exit status:\n"));
  g_assert_nonnull (strstr (help.out, "  3  no reply within the --timeout\n"));

  run_unixctl (fixture, &options, "-o", NULL);
  g_assert_cmpint (options.status, ==, 0);
  g_assert_true (g_str_has_prefix (options.out, "--target=ARG\n-t ARG\n"
                                                "--execute\n-e \n"));
  g_assert_nonnull (strstr (options.out, "--pretty\n--help\n-h \n"));

  run_unixctl (fixture, &ssl, "-t", "ssl:127.0.0.1:1", "version", NULL);
  g_assert_cmpint (ssl.status, ==, 1);
  g_assert_cmpstr (ssl.out, ==, "");
  g_assert_cmpstr (ssl.err, ==,
                   "unixctl: an ssl: target needs --private-key, "
                   "--certificate and --ca-cert\n");

  run_unixctl (fixture, &bad_name, "-t", "tcp:127.0.0.1", "version", NULL);
  g_assert_cmpint (bad_name.status, ==, 1);
  g_assert_true (g_str_has_prefix (bad_name.err, "unixctl: "));
  g_assert_nonnull (strstr (bad_name.err, "tcp:127.0.0.1"));
}

static void
test_ext_tcp_refused (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };
  g_autoptr (GSocket) socket = NULL;
  g_autofree char *target = NULL;
  g_autofree char *expected = NULL;
  guint16 port = 0;

  if (!fixture->ready)
    return;

  /* A port that is bound but does not listen refuses connections. */
  socket = uc_test_bind_loopback (&port);
  target = g_strdup_printf ("tcp:127.0.0.1:%u", port);

  run_unixctl (fixture, &output, "-t", target, "version", NULL);
  expected = g_strdup_printf (
    "unixctl: cannot connect to \"%s\" (Connection refused)\n", target);
  g_assert_cmpstr (output.err, ==, expected);
  g_assert_cmpint (output.status, ==, 1);
}

/* Against our own daemon: the drop-in holds both ways. */

static void
test_unixctld_commands (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!fixture->ready)
    return;

  compare (fixture, 0, &output, "-t", "unixctld", "version", NULL);
  g_assert_cmpstr (output.out, ==, "unixctld (unixctld) " PACKAGE_VERSION "\n");
  compare (fixture, 0, NULL, "-t", "unixctld", "list-commands", NULL);
  compare (fixture, 0, NULL, "-t", "unixctld", "help", NULL);
  compare (fixture, 0, NULL, "-t", "unixctld", "set-options", "--format",
           "text", NULL);
  compare (fixture, 2, NULL, "-t", "unixctld", "set-options", NULL);
  compare (fixture, 2, NULL, "-t", "unixctld", "set-options", "--format", "xml",
           NULL);
  compare (fixture, 2, NULL, "-t", "unixctld", "nosuch", NULL);
  compare (fixture, 2, NULL, "-t", "unixctld", "exit", "now", NULL);
}

static void
test_unixctld_json (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) version = { 0 };
  g_auto (UcTestOutput) commands = { 0 };
  g_auto (UcTestOutput) error = { 0 };

  if (!fixture->ready)
    return;

  /* Text replies come wrapped; JSON-aware commands answer in JSON. */
  run_unixctl (fixture, &version, "-f", "json", "version", NULL);
  g_assert_cmpstr (version.err, ==, "");
  g_assert_cmpstr (version.out, ==,
                   "{\"reply\":\"unixctld (unixctld) " PACKAGE_VERSION
                   "\",\"reply-format\":\"plain\"}\n");
  g_assert_cmpint (version.status, ==, 0);

  run_unixctl (fixture, &commands, "-f", "json", "--pretty", "list-commands",
               NULL);
  g_assert_cmpint (commands.status, ==, 0);
  g_assert_true (g_str_has_prefix (commands.out, "{\n    \""));
  g_assert_nonnull (strstr (commands.out, "\n    \"version\" : \"\""));
  g_assert_true (g_str_has_suffix (commands.out, "\n}\n"));

  /* Errors stay text in JSON mode. */
  run_unixctl (fixture, &error, "-f", "json", "nosuch", NULL);
  g_assert_cmpstr (error.out, ==, "");
  g_assert_cmpstr (error.err, ==,
                   "\"nosuch\" is not a valid command (use \"list-commands\" "
                   "to see a list of valid commands)\n"
                   "unixctl: unixctld: server returned an error\n");
  g_assert_cmpint (error.status, ==, 2);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  unixctl = g_getenv ("UNIXCTL");
  unixctld = g_getenv ("UNIXCTLD");
  uc_test_ovs_find (&ovs, "ovs.unixctl.server");

#define ADD(path, needs, func)                                           \
  g_test_add ((path), Fixture, GUINT_TO_POINTER (needs), fixture_set_up, \
              (func), fixture_tear_down)

  ADD ("/cli-compat/ovsdb/commands", NEED_APPCTL | NEED_OVSDB,
       test_ovsdb_commands);
  ADD ("/cli-compat/ovsdb/errors", NEED_APPCTL | NEED_OVSDB, test_ovsdb_errors);
  ADD ("/cli-compat/ovsdb/by-name", NEED_APPCTL | NEED_OVSDB,
       test_ovsdb_by_name);
  ADD ("/cli-compat/local/targets", NEED_APPCTL, test_local_targets);
  ADD ("/cli-compat/local/usage", NEED_APPCTL, test_local_usage);
  ADD ("/cli-compat/python/commands", NEED_APPCTL | NEED_PYTHON,
       test_python_commands);
  ADD ("/cli-compat/python/errors", NEED_APPCTL | NEED_PYTHON,
       test_python_errors);
  for (gsize i = 0; i < G_N_ELEMENTS (fake_cases); i++)
    g_test_add (fake_cases[i].path, Fixture, &fake_cases[i],
                fake_fixture_set_up, test_fake, fixture_tear_down);
  ADD ("/cli-compat/ext/unix-names", NEED_APPCTL | NEED_OVSDB,
       test_ext_unix_names);
  ADD ("/cli-compat/ext/tcp", NEED_OVSDB, test_ext_tcp);
  ADD ("/cli-compat/ext/tcp-refused", 0, test_ext_tcp_refused);
  ADD ("/cli-compat/ext/echo-probe", 0, test_ext_echo_probe);
  ADD ("/cli-compat/ext/timeout", NEED_PYTHON, test_ext_timeout);
  ADD ("/cli-compat/ext/timeout-shared", 0, test_ext_timeout_shared);
  ADD ("/cli-compat/ext/json", 0, test_ext_json);
  ADD ("/cli-compat/ext/json-unsupported", NEED_PYTHON,
       test_ext_json_unsupported);
  ADD ("/cli-compat/ext/options", 0, test_ext_options);
  ADD ("/cli-compat/unixctld/commands", NEED_APPCTL | NEED_UNIXCTLD,
       test_unixctld_commands);
  ADD ("/cli-compat/unixctld/json", NEED_UNIXCTLD, test_unixctld_json);

#undef ADD

  status = g_test_run ();

  uc_test_ovs_clear (&ovs);
  return status;
}
