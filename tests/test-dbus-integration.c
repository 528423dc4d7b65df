/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-dbus-integration"

#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uc-daemon.h"
#include "uc-dbus-mirror.h"
#include "uc-test-util.h"

/*
 * unixctld as a service: the real daemon and real clients.
 *
 * In every build: readiness (sd_notify to $NOTIFY_SOCKET), the choice of
 * bus when there is none, and the generated systemd unit.
 *
 * With the D-Bus mirror, on a private session bus (GTestDBus): the
 * daemon's name and properties, every built-in command through `gdbus
 * call` and `busctl` compared with the same command on the control
 * socket, `unixctl --dbus` against `unixctl` on the socket (same output,
 * same exit codes), `exit` over D-Bus, `--replace` and the queue, and
 * D-Bus activation with the generated activation file.
 */

/* How long a daemon may take to start or stop. */
#define DAEMON_TIMEOUT_US (20 * G_USEC_PER_SEC)

#if HAVE_DBUS_MIRROR
/* One private bus for the whole program, with a directory of activation
 * files that the activation test fills.  One only: GLib 2.74's GTestDBus
 * leaks the pipe of its clean-up watcher into every bus daemon but the
 * first, so that after a failed assertion a second daemon would never be
 * killed, and the test would hang until meson's timeout instead of
 * failing. */
static GTestDBus *test_bus;
static char *test_services_dir;
#endif

typedef struct
{
  char *dir;                   /* (owned) rundirs and sockets go below */
  GTestDBus *bus;              /* (unowned) (nullable) the program's, if used */
  GDBusConnection *bus_client; /* (owned) (nullable) */
  GPtrArray *processes;        /* (owned) (element-type GSubprocess) */
  char *activated_pidfile;     /* (owned) (nullable) the pidfile of a daemon
                            * the bus started, killed at tear-down */
  char *activation_file;       /* (owned) (nullable) removed at tear-down */
} Fixture;

static void
setup (Fixture *fixture, gconstpointer user_data)
{
  fixture->dir = uc_test_make_tmp_dir ("test-dbus-integration-XXXXXX");
  fixture->processes = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
teardown (Fixture *fixture, gconstpointer user_data)
{
  for (guint i = 0; i < fixture->processes->len; i++)
    {
      GSubprocess *process = g_ptr_array_index (fixture->processes, i);

      if (g_subprocess_get_identifier (process) != NULL)
        {
          g_subprocess_force_exit (process);
          uc_test_subprocess_wait (process, DAEMON_TIMEOUT_US);
        }
    }
  g_clear_pointer (&fixture->processes, g_ptr_array_unref);
  if (fixture->activated_pidfile != NULL)
    {
      g_autofree char *contents = NULL;

      /* Not our child: the pidfile says which process it is. */
      if (g_file_get_contents (fixture->activated_pidfile, &contents, NULL,
                               NULL) &&
          atol (contents) > 0)
        kill ((pid_t) atol (contents), SIGKILL);
      g_clear_pointer (&fixture->activated_pidfile, g_free);
    }
  if (fixture->activation_file != NULL)
    g_unlink (fixture->activation_file);
  g_clear_pointer (&fixture->activation_file, g_free);
  if (fixture->bus_client != NULL)
    g_dbus_connection_close_sync (fixture->bus_client, NULL, NULL);
  g_clear_object (&fixture->bus_client);
  fixture->bus = NULL;
  uc_test_rm_rf (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
}

/* A subdirectory of the fixture's, for one daemon's rundir. */
static char *
make_rundir (Fixture *fixture, const char *name)
{
  char *rundir = g_build_filename (fixture->dir, name, NULL);

  g_assert_no_errno (g_mkdir (rundir, 0700));
  return rundir;
}

/* Runs unixctld in @rundir with @args (%NULL-terminated), with the
 * session bus of the fixture's, or none.  Its stderr is piped. */
static GSubprocess *
spawn_daemon (Fixture *fixture,
              const char *rundir,
              const char *notify_socket,
              const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = uc_test_daemon_launcher_new (
    G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  GSubprocess *process;

  if (fixture->bus != NULL)
    g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                  g_test_dbus_get_bus_address (fixture->bus),
                                  TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  if (notify_socket != NULL)
    g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", notify_socket,
                                  TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "NOTIFY_SOCKET");

  process = uc_test_spawn_unixctld (launcher, rundir, args);
  g_ptr_array_add (fixture->processes, process);
  return process;
}

static char *
control_socket (const char *rundir, GSubprocess *process)
{
  return g_strdup_printf ("%s/unixctld.%ld.ctl", rundir,
                          (long) uc_test_subprocess_pid (process));
}

/* Waits until @process serves its control socket. */
static void
wait_for_socket (GSubprocess *process, const char *rundir)
{
  g_autofree char *path = control_socket (rundir, process);
  g_autoptr (GSocketConnection) connection =
    uc_test_wait_for_unix_socket (process, path, DAEMON_TIMEOUT_US);

  if (connection == NULL)
    g_error ("unixctld exited before listening on %s", path);
}

/* Waits for @process to exit, and returns its status and what it wrote on
 * stderr. */
static int
wait_exit (GSubprocess *process, char **err)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  int status = uc_test_subprocess_wait (process, DAEMON_TIMEOUT_US);

  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &text, &error);
  g_assert_no_error (error);
  if (err != NULL)
    *err = g_steal_pointer (&text);
  return status;
}

/* Stops @process with SIGTERM: it must exit 0 and have said nothing. */
static void
stop_daemon (GSubprocess *process)
{
  g_autofree char *err = NULL;

  g_subprocess_send_signal (process, SIGTERM);
  g_assert_cmpint (wait_exit (process, &err), ==, 0);
  g_assert_cmpstr (err, ==, "");
}

/* Runs @program (a path) with @args, in an environment that reaches the
 * fixture's bus, if any, with @runtime_dir as $XDG_RUNTIME_DIR if set. */
static void
run_program_in (Fixture *fixture,
                const char *runtime_dir,
                const char *program,
                const char *const *args,
                UcTestOutput *output)
{
  g_auto (GStrv) envp = g_get_environ ();

  if (runtime_dir != NULL)
    envp = g_environ_setenv (envp, "XDG_RUNTIME_DIR", runtime_dir, TRUE);
  envp = g_environ_setenv (envp, "LC_ALL", "C.UTF-8", TRUE);
  envp = g_environ_unsetenv (envp, "G_MESSAGES_DEBUG");
  if (fixture->bus != NULL)
    envp = g_environ_setenv (envp, "DBUS_SESSION_BUS_ADDRESS",
                             g_test_dbus_get_bus_address (fixture->bus), TRUE);
  uc_test_run (program, NULL, args, (const char *const *) envp, output);
}

/* Readiness, in every build. */

/* A datagram socket for the daemon's notifications, bound at @name (a
 * path, or an abstract name after '@'). */
static GSocket *
bind_notify_socket (const char *name)
{
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GError) error = NULL;
  GSocket *socket;

  if (name[0] == '@')
    address = g_unix_socket_address_new_with_type (
      name + 1, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  else
    address = g_unix_socket_address_new (name);
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (socket, DAEMON_TIMEOUT_US / G_USEC_PER_SEC);
  return socket;
}

static char *
receive_notification (GSocket *socket)
{
  g_autoptr (GError) error = NULL;
  char buffer[256];
  gssize n;

  n = g_socket_receive (socket, buffer, sizeof buffer - 1, NULL, &error);
  g_assert_no_error (error);
  return g_strndup (buffer, (gsize) n);
}

/* READY=1 once the control socket answers; STOPPING=1 at SIGTERM. */
static void
check_ready_and_stopping (Fixture *fixture, const char *name)
{
  g_autofree char *rundir = make_rundir (fixture, "run");
  g_autoptr (GSocket) notify = bind_notify_socket (name);
  const char *const args[] = { "--no-worker", NULL };
  g_autofree char *ready = NULL;
  g_autofree char *stopping = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (JsonNode) version = NULL;
  GSubprocess *process;

  process = spawn_daemon (fixture, rundir, name, args);
  ready = receive_notification (notify);
  g_assert_cmpstr (ready, ==, "READY=1");

  /* Ready means serving: no polling needed. */
  path = control_socket (rundir, process);
  connection = uc_test_connect_unix (path, 10);
  version =
    uc_test_call (g_socket_connection_get_socket (connection), "version", NULL);
  g_assert_cmpstr (json_node_get_string (version), ==,
                   "unixctld (unixctld) " PACKAGE_VERSION "\n");
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

  g_subprocess_send_signal (process, SIGTERM);
  stopping = receive_notification (notify);
  g_assert_cmpstr (stopping, ==, "STOPPING=1");
  {
    g_autofree char *err = NULL;

    g_assert_cmpint (wait_exit (process, &err), ==, 0);
    g_assert_cmpstr (err, ==, "");
  }
}

static void
test_notify_path (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *name = g_build_filename (fixture->dir, "notify", NULL);

  check_ready_and_stopping (fixture, name);
}

static void
test_notify_abstract (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *name = g_strdup_printf ("@unixctld-test-notify-%ld-%u",
                                           (long) getpid (), g_random_int ());

  check_ready_and_stopping (fixture, name);
}

/* A NOTIFY_SOCKET that cannot be used is logged, and the daemon serves
 * anyway. */
static void
test_notify_invalid (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *rundir = make_rundir (fixture, "run");
  const char *const args[] = { "--no-worker", NULL };
  g_autofree char *err = NULL;
  GSubprocess *process;

  process = spawn_daemon (fixture, rundir, "relative/notify", args);
  wait_for_socket (process, rundir);
  g_subprocess_send_signal (process, SIGTERM);
  g_assert_cmpint (wait_exit (process, &err), ==, 0);
  g_assert_nonnull (
    strstr (err, "cannot tell the service manager READY=1: NOTIFY_SOCKET "
                 "“relative/notify” is neither an absolute path nor an "
                 "abstract name\n"));
  g_assert_nonnull (strstr (err, "cannot tell the service manager "
                                 "STOPPING=1: "));
}

/* uc_daemon_sd_notify() itself: nothing to do without NOTIFY_SOCKET;
 * errors for one that is malformed or has nobody listening. */
static void
test_notify_function (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "notify", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = NULL;
  g_autofree char *received = NULL;

  if (!uc_test_trap_in_subprocess ())
    return;

  g_unsetenv ("NOTIFY_SOCKET");
  g_assert_true (uc_daemon_sd_notify ("READY=1", &error));
  g_assert_no_error (error);
  g_setenv ("NOTIFY_SOCKET", "", TRUE);
  g_assert_true (uc_daemon_sd_notify ("READY=1", &error));
  g_assert_no_error (error);

  g_setenv ("NOTIFY_SOCKET", "notify", TRUE);
  g_assert_false (uc_daemon_sd_notify ("READY=1", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_setenv ("NOTIFY_SOCKET", path, TRUE);
  g_assert_false (uc_daemon_sd_notify ("READY=1", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  socket = bind_notify_socket (path);
  g_assert_true (uc_daemon_sd_notify ("STATUS=testing", &error));
  g_assert_no_error (error);
  received = receive_notification (socket);
  g_assert_cmpstr (received, ==, "STATUS=testing");
}

/* Choosing the bus, in every build. */

/* No session bus: the default runs without the mirror and says nothing
 * about it; --dbus=none likewise. */
static void
test_no_bus_default (Fixture *fixture, gconstpointer user_data)
{
  const char *const no_worker[] = { "--no-worker", NULL };
  const char *const none[] = { "--no-worker", "--dbus=none", NULL };
  const char *const *cases[] = { no_worker, none };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("run%zu", i);
      g_autofree char *rundir = make_rundir (fixture, name);
      GSubprocess *process = spawn_daemon (fixture, rundir, NULL, cases[i]);

      wait_for_socket (process, rundir);
      stop_daemon (process);
    }
}

static void
check_start_failure (Fixture *fixture,
                     const char *const *args,
                     const char *expected_prefix)
{
  g_autofree char *rundir = make_rundir (fixture, "run");
  g_autofree char *err = NULL;
  GSubprocess *process = spawn_daemon (fixture, rundir, NULL, args);

  g_assert_cmpint (wait_exit (process, &err), ==, 1);
  if (!g_str_has_prefix (err, expected_prefix))
    g_error ("expected “%s…”, got “%s”", expected_prefix, err);
  g_assert_true (g_str_has_suffix (err, "\n"));
  /* Nothing left behind. */
  {
    g_autofree char *listing = uc_test_list_dir (rundir);

    g_assert_cmpstr (listing, ==, "");
  }
  uc_test_rm_rf (rundir);
}

/* Asked for explicitly, a bus that cannot be had is a start-up failure. */
static void
test_no_bus_explicit (Fixture *fixture, gconstpointer user_data)
{
  const char *const session[] = { "--no-worker", "--dbus=session", NULL };

#if HAVE_DBUS_MIRROR
  check_start_failure (fixture, session,
                       "unixctld: cannot connect to the session bus: ");
#else
  check_start_failure (fixture, session,
                       "unixctld: this build has no D-Bus mirror\n");
#endif
}

static void
test_dbus_option_errors (Fixture *fixture, gconstpointer user_data)
{
  const char *const bogus[] = { "--dbus=bogus", NULL };
  const char *const replace_none[] = { "--dbus=none", "--replace", NULL };
  const char *const replace_no_bus[] = { "--replace", NULL };

  /* Taking a name over needs the bus, whatever the default would do. */
#if HAVE_DBUS_MIRROR
  check_start_failure (fixture, replace_no_bus,
                       "unixctld: cannot connect to the session bus: ");
#else
  check_start_failure (fixture, replace_no_bus,
                       "unixctld: this build has no D-Bus mirror\n");
#endif
  check_start_failure (fixture, bogus,
                       "unixctld: invalid value “bogus” for --dbus: use "
                       "session, system or none (use --help for help)\n");
  check_start_failure (fixture, replace_none,
                       "unixctld: --replace needs a bus: --dbus=session or "
                       "--dbus=system (use --help for help)\n");
}

/* The user unit, in every build. */

/* The generated unit with ExecStart= pointing at this build's daemon, so
 * that systemd-analyze finds the program. */
static char *
write_testable_unit (Fixture *fixture, char **contents_out)
{
  const char *unit = uc_test_built_program ("UNIXCTLD_SERVICE");
  g_autofree char *contents = uc_test_read_file (unit);
  g_autofree char *dir = g_build_filename (fixture->dir, "units", NULL);
  g_autofree char *path = g_build_filename (dir, "unixctld.service", NULL);
  g_autoptr (GString) text = g_string_new (NULL);
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  g_autoptr (GError) error = NULL;

  for (char **line = lines; *line != NULL; line++)
    {
      if (g_str_has_prefix (*line, "ExecStart="))
        {
          const char *space = strchr (*line, ' ');
          g_autofree char *program = NULL;

          g_assert_nonnull (space);
          program = g_strndup (*line, (gsize) (space - *line));
          g_assert_true (g_str_has_suffix (program, "/bin/unixctld"));
          g_string_append_printf (text, "ExecStart=%s%s",
                                  uc_test_built_program ("UNIXCTLD"), space);
        }
      else
        g_string_append (text, *line);
      if (line[1] != NULL)
        g_string_append_c (text, '\n');
    }

  g_assert_no_errno (g_mkdir (dir, 0700));
  g_file_set_contents (path, text->str, -1, &error);
  g_assert_no_error (error);
  *contents_out = g_steal_pointer (&contents);
  return g_steal_pointer (&path);
}

static void
test_unit_file (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *contents = NULL;
  g_autofree char *unit = write_testable_unit (fixture, &contents);
  g_autofree char *analyze = g_find_program_in_path ("systemd-analyze");
  g_autofree char *good =
    g_build_filename (fixture->dir, "units", "known-good.service", NULL);
  g_autoptr (GError) error = NULL;
  g_auto (UcTestOutput) probe = { 0 };
  g_auto (UcTestOutput) output = { 0 };
  g_autofree char *runtime_dir = NULL;

#if HAVE_DBUS_MIRROR
  g_assert_nonnull (strstr (contents, "\nType=dbus\n"
                                      "BusName=io.github.unixctld\n"));
  g_assert_nonnull (strstr (contents, " --no-chdir --dbus=session\n"));
#else
  g_assert_nonnull (strstr (contents, "\nType=notify\n"));
  g_assert_null (strstr (contents, "BusName="));
  g_assert_null (strstr (contents, "--dbus"));
#endif
  g_assert_nonnull (strstr (contents, "\nRestart=on-failure\n"));

  if (analyze == NULL)
    {
      g_test_skip ("systemd-analyze is not installed");
      return;
    }

  /* systemd-analyze --user wants the runtime directory to exist, which
   * the isolated one does not yet; where it cannot even check a trivial
   * unit, it can check none. */
  runtime_dir = g_build_filename (fixture->dir, "runtime", NULL);
  g_assert_no_errno (g_mkdir (runtime_dir, 0700));
  g_file_set_contents (good, "[Service]\nType=oneshot\nExecStart=/bin/true\n",
                       -1, &error);
  g_assert_no_error (error);
  {
    const char *const args[] = { "--user", "verify", "--man=no", good, NULL };

    run_program_in (fixture, runtime_dir, analyze, args, &probe);
  }
  if (probe.status != 0)
    {
      g_autofree char *why =
        g_strdup_printf ("systemd-analyze cannot run here: %s", probe.err);

      g_test_skip (why);
      return;
    }

  {
    const char *const args[] = { "--user", "verify", "--man=no", unit, NULL };

    run_program_in (fixture, runtime_dir, analyze, args, &output);
  }
  /* Warnings about the unit (an unknown key, say) leave the status at 0:
   * none is allowed.  What it says about its surroundings (an isolated
   * test environment) it says about the trivial unit too. */
  g_assert_cmpstr (output.err, ==, probe.err);
  g_assert_cmpint (output.status, ==, 0);
}

#if HAVE_DBUS_MIRROR

/* The mirror, on a private session bus. */

static void
run_program (Fixture *fixture,
             const char *program,
             const char *const *args,
             UcTestOutput *output)
{
  run_program_in (fixture, NULL, program, args, output);
}

static void
setup_bus (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  setup (fixture, user_data);
  fixture->bus = test_bus;
  fixture->bus_client = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (fixture->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (fixture->bus_client, FALSE);
}

/* The pid of the owner of the mirror's name, or 0 if it has none. */
static pid_t
name_owner_pid (Fixture *fixture)
{
  g_autoptr (GVariant) reply = NULL;
  guint32 pid;

  reply = g_dbus_connection_call_sync (
    fixture->bus_client, "org.freedesktop.DBus", "/org/freedesktop/DBus",
    "org.freedesktop.DBus", "GetConnectionUnixProcessID",
    g_variant_new ("(s)", UC_DBUS_MIRROR_NAME), G_VARIANT_TYPE ("(u)"),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  if (reply == NULL)
    return 0;
  g_variant_get (reply, "(u)", &pid);
  return (pid_t) pid;
}

/* Waits until @process owns the mirror's name. */
static void
wait_for_name (Fixture *fixture, GSubprocess *process)
{
  gint64 deadline = g_get_monotonic_time () + DAEMON_TIMEOUT_US;
  pid_t pid = uc_test_subprocess_pid (process);

  while (name_owner_pid (fixture) != pid)
    {
      if (g_subprocess_get_identifier (process) == NULL)
        g_error ("unixctld exited before owning %s", UC_DBUS_MIRROR_NAME);
      if (g_get_monotonic_time () > deadline)
        g_error ("unixctld did not own %s in time", UC_DBUS_MIRROR_NAME);
      g_usleep (UC_TEST_POLL_US);
    }
}

/* A daemon on the fixture's bus, serving its socket and owning the name. */
static GSubprocess *
start_daemon (Fixture *fixture, const char *rundir, const char *const *args)
{
  const char *const no_worker[] = { "--no-worker", NULL };
  GSubprocess *process =
    spawn_daemon (fixture, rundir, NULL, args != NULL ? args : no_worker);

  wait_for_socket (process, rundir);
  wait_for_name (fixture, process);
  return process;
}

/* Without --dbus, on the session bus there is: the name, and properties
 * that say which daemon it is. */
static void
test_default_session (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *rundir = make_rundir (fixture, "run");
  GSubprocess *process = start_daemon (fixture, rundir, NULL);
  g_autofree char *path = control_socket (rundir, process);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) properties = NULL;
  g_autoptr (GError) error = NULL;
  const char *text;
  guint32 pid;

  reply = g_dbus_connection_call_sync (
    fixture->bus_client, UC_DBUS_MIRROR_NAME, UC_DBUS_MIRROR_PATH,
    "org.freedesktop.DBus.Properties", "GetAll",
    g_variant_new ("(s)", UC_DBUS_MIRROR_INTERFACE), G_VARIANT_TYPE ("(a{sv})"),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  properties = g_variant_get_child_value (reply, 0);
  g_assert_true (g_variant_lookup (properties, "Version", "&s", &text));
  g_assert_cmpstr (text, ==, PACKAGE_VERSION);
  g_assert_true (g_variant_lookup (properties, "ControlSocket", "&s", &text));
  g_assert_cmpstr (text, ==, path);
  g_assert_true (g_variant_lookup (properties, "Pid", "u", &pid));
  g_assert_cmpint ((pid_t) pid, ==, uc_test_subprocess_pid (process));

  stop_daemon (process);
  g_assert_cmpint (name_owner_pid (fixture), ==, 0);
}

/* What the socket answers: the reply object of a fresh connection, which
 * first switches to JSON when @json is set. */
static JsonObject *
socket_reply (const char *path, const char *const *argv, gboolean json)
{
  g_autoptr (GSocketConnection) connection = uc_test_connect_unix (path, 10);
  GSocket *socket = g_socket_connection_get_socket (connection);
  JsonObject *reply;

  if (json)
    {
      const char *const options[] = { "--format", "json", NULL };
      g_autoptr (JsonNode) result =
        uc_test_call (socket, "set-options", options);

      (void) result;
    }
  reply = uc_test_transact (socket, argv[0], argv + 1);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return reply;
}

/* A D-Bus answer as a client saw it: the reply text, or the error's name
 * and message. */
typedef struct
{
  char *text;    /* (owned) (nullable) */
  char *error;   /* (owned) (nullable) the D-Bus error name */
  char *message; /* (owned) (nullable) */
} DbusAnswer;

static void
dbus_answer_clear (DbusAnswer *answer)
{
  g_clear_pointer (&answer->text, g_free);
  g_clear_pointer (&answer->error, g_free);
  g_clear_pointer (&answer->message, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DbusAnswer, dbus_answer_clear)

/* @method of @argv with `gdbus call`, the GLib command-line client. */
static void
gdbus_call (Fixture *fixture,
            const char *method,
            const char *const *argv,
            DbusAnswer *answer)
{
  g_autofree char *gdbus = g_find_program_in_path ("gdbus");
  g_autofree char *method_name =
    g_strconcat (UC_DBUS_MIRROR_INTERFACE ".", method, NULL);
  g_autoptr (GVariant) command =
    g_variant_ref_sink (g_variant_new_string (argv[0]));
  g_autoptr (GVariant) args =
    g_variant_ref_sink (g_variant_new_strv (argv + 1, -1));
  g_autofree char *command_text = g_variant_print (command, FALSE);
  g_autofree char *args_text = g_variant_print (args, TRUE);
  const char *const call[] = {
    "call",          "--session",         "--dest",   UC_DBUS_MIRROR_NAME,
    "--object-path", UC_DBUS_MIRROR_PATH, "--method", method_name,
    command_text,    args_text,           NULL
  };
  g_auto (UcTestOutput) output = { 0 };
  static const char prefix[] = "Error: GDBus.Error:";

  g_assert_nonnull (gdbus);
  run_program (fixture, gdbus, call, &output);
  if (output.status == 0)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) reply = g_variant_parse (
        G_VARIANT_TYPE ("(s)"), output.out, NULL, NULL, &error);

      g_assert_no_error (error);
      g_variant_get (reply, "(s)", &answer->text);
      g_assert_cmpstr (output.err, ==, "");
      return;
    }

  /* "Error: GDBus.Error:NAME: MESSAGE\n" */
  g_assert_cmpint (output.status, ==, 1);
  g_assert_true (g_str_has_prefix (output.err, prefix));
  {
    const char *name = output.err + strlen (prefix);
    const char *colon = strstr (name, ": ");

    g_assert_nonnull (colon);
    g_assert_true (g_str_has_suffix (output.err, "\n"));
    answer->error = g_strndup (name, (gsize) (colon - name));
    answer->message =
      g_strndup (colon + 2, strlen (colon + 2) - 1 /* the newline */);
  }
}

/* Checks that @answer is what the socket's @reply says, in the D-Bus
 * mirror's terms (see data/io.github.unixctld.Control1.xml). */
static void
assert_same_answer (JsonObject *reply, const DbusAnswer *answer, gboolean json)
{
  JsonNode *error = json_object_get_member (reply, "error");

  if (error != NULL && !JSON_NODE_HOLDS_NULL (error))
    {
      const char *text = json_node_get_string (error);
      g_autofree char *expected = NULL;

      g_assert_true (g_str_has_suffix (text, "\n"));
      expected = g_strndup (text, strlen (text) - 1);
      g_assert_nonnull (answer->error);
      g_assert_true (
        g_str_has_prefix (answer->error, UC_DBUS_MIRROR_NAME ".Error."));
      g_assert_cmpstr (answer->message, ==, expected);
      return;
    }

  g_assert_null (answer->error);
  if (json)
    {
      g_autofree char *expected =
        json_to_string (json_object_get_member (reply, "result"), FALSE);

      g_assert_cmpstr (answer->text, ==, expected);
    }
  else
    g_assert_cmpstr (answer->text, ==,
                     json_object_get_string_member (reply, "result"));
}

/* Call (or with @json, CallJson) of @argv through gdbus, against the
 * socket at @path. */
static void
compare_call (Fixture *fixture,
              const char *path,
              const char *const *argv,
              gboolean json)
{
  g_autoptr (JsonObject) reply = socket_reply (path, argv, json);
  g_auto (DbusAnswer) answer = { 0 };
  g_autofree char *joined = g_strjoinv (" ", (char **) argv);

  g_test_message ("%s: %s", json ? "CallJson" : "Call", joined);
  gdbus_call (fixture, json ? "CallJson" : "Call", argv, &answer);
  assert_same_answer (reply, &answer, json);
}

/* Every built-in command, with and without an argument, and the variants
 * of set-options: gdbus's Call and CallJson against the socket, text and
 * JSON.  `exit` has a test of its own. */
static void
test_compare_builtins (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *rundir = make_rundir (fixture, "run");
  GSubprocess *process = start_daemon (fixture, rundir, NULL);
  g_autofree char *path = control_socket (rundir, process);
  g_autoptr (GPtrArray) cases =
    g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr (JsonObject) listing = NULL;
  g_autoptr (GList) names = NULL;
  const char *const list[] = { "list-commands", NULL };
  /* (set-options --format text goes in the text loop only: in JSON mode
   * it is a format change, below.) */
  static const char *const more_cases[][5] = {
    { "set-options", "--format", "TEXT" },
    { "set-options", "--format", "bogus" },
    { "set-options", "--format" },
    { "set-options", "-f", "text", "x" },
    { "no-such-command" },
    { "exit", "now" },
  };
  /* Without arguments, these answer differently from one call to the
   * next (counters, memory use), or turn debug logging on everywhere,
   * the console included (vlog/set): their own tests cover them, and
   * their refusals of an argument are compared here. */
  static const char *const bare_unstable[] = { "coverage/show", "memory/show",
                                               "vlog/set", NULL };
  guint n_compared = 0;

  listing = socket_reply (path, list, TRUE);
  names =
    json_object_get_members (json_object_get_object_member (listing, "result"));
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *const bare[] = { l->data, NULL };
      const char *const one_arg[] = { l->data, "x", NULL };

      if (strcmp (l->data, "exit") == 0)
        continue;
      if (!g_strv_contains (bare_unstable, l->data))
        g_ptr_array_add (cases, g_strdupv ((char **) bare));
      g_ptr_array_add (cases, g_strdupv ((char **) one_arg));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (more_cases); i++)
    g_ptr_array_add (cases, g_strdupv ((char **) more_cases[i]));

  for (guint i = 0; i < cases->len; i++)
    {
      const char *const *argv = g_ptr_array_index (cases, i);

      compare_call (fixture, path, argv, FALSE);
      n_compared++;
      if (g_strv_length ((char **) argv) == 3 &&
          g_ascii_strcasecmp (argv[2], "text") == 0)
        continue;
      compare_call (fixture, path, argv, TRUE);
      n_compared++;
    }
  g_assert_cmpuint (n_compared, >=, 2 * 14 - 1);

  /* ListCommands: list-commands in JSON, as a dictionary. */
  {
    g_autofree char *gdbus = g_find_program_in_path ("gdbus");
    const char *const call[] = { "call",
                                 "--session",
                                 "--dest",
                                 UC_DBUS_MIRROR_NAME,
                                 "--object-path",
                                 UC_DBUS_MIRROR_PATH,
                                 "--method",
                                 UC_DBUS_MIRROR_INTERFACE ".ListCommands",
                                 NULL };
    g_auto (UcTestOutput) output = { 0 };
    g_autoptr (GVariant) reply = NULL;
    g_autoptr (GVariant) dict = NULL;
    g_autoptr (GError) error = NULL;
    JsonObject *expected = json_object_get_object_member (listing, "result");

    run_program (fixture, gdbus, call, &output);
    g_assert_cmpint (output.status, ==, 0);
    reply = g_variant_parse (G_VARIANT_TYPE ("(a{ss})"), output.out, NULL, NULL,
                             &error);
    g_assert_no_error (error);
    dict = g_variant_get_child_value (reply, 0);
    g_assert_cmpuint (g_variant_n_children (dict), ==,
                      json_object_get_size (expected));
    for (GList *l = names; l != NULL; l = l->next)
      {
        const char *usage;

        g_assert_true (g_variant_lookup (dict, l->data, "&s", &usage));
        g_assert_cmpstr (usage, ==,
                         json_object_get_string_member (expected, l->data));
      }
  }

  /* The documented difference: a format change has no connection to
   * apply to over D-Bus.  It is refused in Call, and in CallJson a change
   * to text; keeping JSON in CallJson is as on the socket. */
  {
    const char *const to_json[] = { "set-options", "--format", "json", NULL };
    const char *const to_text[] = { "set-options", "--format", "text", NULL };
    g_auto (DbusAnswer) answer = { 0 };
    g_auto (DbusAnswer) back = { 0 };
    g_auto (DbusAnswer) keep = { 0 };
    g_autoptr (JsonObject) reply = socket_reply (path, to_json, TRUE);

    gdbus_call (fixture, "Call", to_json, &answer);
    g_assert_cmpstr (answer.error, ==, "io.github.unixctld.Error.NotSupported");
    gdbus_call (fixture, "CallJson", to_text, &back);
    g_assert_cmpstr (back.error, ==, "io.github.unixctld.Error.NotSupported");
    gdbus_call (fixture, "CallJson", to_json, &keep);
    assert_same_answer (reply, &keep, TRUE);
  }

  stop_daemon (process);
}

/* busctl, systemd's client, on the session bus: with --user where it
 * finds the bus that way, else by address.  NULL if it cannot connect at
 * all (no busctl, or one that insists on a user manager). */
static GPtrArray *
busctl_command (Fixture *fixture)
{
  g_autofree char *busctl = g_find_program_in_path ("busctl");
  g_autofree char *address_option = NULL;
  const char *const modes[] = { "--user", NULL };

  if (busctl == NULL)
    return NULL;

  address_option = g_strconcat (
    "--address=", g_test_dbus_get_bus_address (fixture->bus), NULL);
  for (int i = 0; i < 2; i++)
    {
      const char *mode = i == 0 ? modes[0] : address_option;
      const char *const args[] = { mode,
                                   "call",
                                   "org.freedesktop.DBus",
                                   "/org/freedesktop/DBus",
                                   "org.freedesktop.DBus",
                                   "GetId",
                                   NULL };
      g_auto (UcTestOutput) output = { 0 };

      run_program (fixture, busctl, args, &output);
      if (output.status == 0)
        {
          GPtrArray *command = g_ptr_array_new_with_free_func (g_free);

          g_test_message ("busctl reaches the bus with %s", mode);
          g_ptr_array_add (command, g_strdup (mode));
          g_ptr_array_add (command, g_strdup ("--json=short"));
          return command;
        }
      g_test_message ("busctl %s: %s", mode, output.err);
    }
  return NULL;
}

/* Runs busctl with @command's options and @args; returns the reply's
 * "data" array, or %NULL with the error message in @message. */
static JsonArray *
busctl_call (Fixture *fixture,
             GPtrArray *command,
             const char *const *args,
             char **message)
{
  g_autofree char *busctl = g_find_program_in_path ("busctl");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (UcTestOutput) output = { 0 };
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *object;

  for (guint i = 0; i < command->len; i++)
    g_ptr_array_add (argv, g_ptr_array_index (command, i));
  g_ptr_array_add (argv, (gpointer) "call");
  g_ptr_array_add (argv, (gpointer) UC_DBUS_MIRROR_NAME);
  g_ptr_array_add (argv, (gpointer) UC_DBUS_MIRROR_PATH);
  g_ptr_array_add (argv, (gpointer) UC_DBUS_MIRROR_INTERFACE);
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  run_program (fixture, busctl, (const char *const *) argv->pdata, &output);
  if (output.status != 0)
    {
      /* "Call failed: MESSAGE\n" */
      g_assert_true (g_str_has_prefix (output.err, "Call failed: "));
      *message = g_strndup (output.err + strlen ("Call failed: "),
                            strlen (output.err) - strlen ("Call failed: ") - 1);
      return NULL;
    }
  root = json_from_string (output.out, &error);
  g_assert_no_error (error);
  object = json_node_get_object (root);
  return json_array_ref (json_object_get_array_member (object, "data"));
}

static void
test_busctl (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *rundir = make_rundir (fixture, "run");
  GSubprocess *process = start_daemon (fixture, rundir, NULL);
  g_autofree char *path = control_socket (rundir, process);
  g_autoptr (GPtrArray) command = busctl_command (fixture);
  const char *const version[] = { "version", NULL };
  const char *const list[] = { "list-commands", NULL };
  const char *const foo[] = { "foo", NULL };

  if (command == NULL)
    {
      g_test_skip ("busctl cannot reach the test bus");
      stop_daemon (process);
      return;
    }

  /* Call: the socket's text, byte for byte. */
  {
    const char *const *cases[] = { version, list };

    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        const char *const args[] = { "Call", "sas", cases[i][0], "0", NULL };
        g_autoptr (JsonObject) reply = socket_reply (path, cases[i], FALSE);
        g_autoptr (JsonArray) data = NULL;
        g_autofree char *message = NULL;

        data = busctl_call (fixture, command, args, &message);
        g_assert_nonnull (data);
        g_assert_cmpstr (json_array_get_string_element (data, 0), ==,
                         json_object_get_string_member (reply, "result"));
      }
  }

  /* ListCommands: what list-commands lists in JSON. */
  {
    const char *const args[] = { "ListCommands", NULL };
    g_autoptr (JsonObject) reply = socket_reply (path, list, TRUE);
    g_autoptr (JsonArray) data = NULL;
    g_autofree char *message = NULL;

    data = busctl_call (fixture, command, args, &message);
    g_assert_nonnull (data);
    g_assert_true (json_node_equal (json_array_get_element (data, 0),
                                    json_object_get_member (reply, "result")));
  }

  /* An error: the socket's text as the message. */
  {
    const char *const args[] = { "Call", "sas", "foo", "0", NULL };
    g_autoptr (JsonObject) reply = socket_reply (path, foo, FALSE);
    g_autoptr (JsonArray) data = NULL;
    g_autofree char *message = NULL;
    g_autofree char *expected = NULL;
    const char *text = json_object_get_string_member (reply, "error");

    data = busctl_call (fixture, command, args, &message);
    g_assert_null (data);
    expected = g_strndup (text, strlen (text) - 1);
    g_assert_cmpstr (message, ==, expected);
  }

  stop_daemon (process);
}

/* Replaces @path with "TARGET" in @text, for comparing the CLI's stderr
 * over the socket with its stderr over D-Bus. */
static char *
replace_target (const char *text, const char *target)
{
  g_auto (GStrv) parts = g_strsplit (text, target, -1);

  return g_strjoinv ("TARGET", parts);
}

/* `unixctl --dbus` prints and exits as `unixctl` does on the socket, the
 * TARGET in messages aside. */
static void
test_unixctl_dbus (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *rundir = make_rundir (fixture, "run");
  GSubprocess *process = start_daemon (fixture, rundir, NULL);
  g_autofree char *path = control_socket (rundir, process);
  const char *unixctl = uc_test_built_program ("UNIXCTL");
  static const char *const cases[][6] = {
    { "version" },
    { "list-commands" },
    { "help" },
    { "no-such-command", "x" },
    { "version", "x" },
    { "set-options" },
    { "set-options", "--format", "text" },
    { "set-options", "--format", "bogus" },
    { "-f", "json", "version" },
    { "-f", "json", "list-commands" },
    { "-f", "json", "--pretty", "list-commands" },
    { "-f", "json", "no-such-command" },
    { "-f", "json", "set-options", "--format", "json" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) socket_args = g_ptr_array_new ();
      g_autoptr (GPtrArray) dbus_args = g_ptr_array_new ();
      g_auto (UcTestOutput) over_socket = { 0 };
      g_auto (UcTestOutput) over_dbus = { 0 };
      g_autofree char *socket_err = NULL;
      g_autofree char *dbus_err = NULL;

      g_ptr_array_add (socket_args, (gpointer) "-t");
      g_ptr_array_add (socket_args, path);
      g_ptr_array_add (dbus_args, (gpointer) "--dbus");
      for (gsize j = 0; j < G_N_ELEMENTS (cases[i]) && cases[i][j] != NULL; j++)
        {
          g_ptr_array_add (socket_args, (gpointer) cases[i][j]);
          g_ptr_array_add (dbus_args, (gpointer) cases[i][j]);
        }
      g_ptr_array_add (socket_args, NULL);
      g_ptr_array_add (dbus_args, NULL);

      run_program (fixture, unixctl, (const char *const *) socket_args->pdata,
                   &over_socket);
      run_program (fixture, unixctl, (const char *const *) dbus_args->pdata,
                   &over_dbus);
      socket_err = replace_target (over_socket.err, path);
      dbus_err = replace_target (over_dbus.err, UC_DBUS_MIRROR_NAME);
      g_assert_cmpstr (over_dbus.out, ==, over_socket.out);
      g_assert_cmpstr (dbus_err, ==, socket_err);
      g_assert_cmpint (over_dbus.status, ==, over_socket.status);
    }

  /* Spelled out once: a server error is exit status 2. */
  {
    const char *const args[] = { "--dbus", "version", "x", NULL };
    g_auto (UcTestOutput) output = { 0 };

    run_program (fixture, unixctl, args, &output);
    g_assert_cmpint (output.status, ==, 2);
    g_assert_cmpstr (output.out, ==, "");
    g_assert_cmpstr (output.err, ==,
                     "\"version\" command takes at most 0 arguments\n"
                     "unixctl: io.github.unixctld: server returned an "
                     "error\n");
  }

  stop_daemon (process);

  /* Nobody owns the name: a local failure, exit status 1. */
  {
    const char *const args[] = { "--dbus", "version", NULL };
    g_auto (UcTestOutput) output = { 0 };

    run_program (fixture, unixctl, args, &output);
    g_assert_cmpint (output.status, ==, 1);
    g_assert_cmpstr (output.out, ==, "");
    g_assert_true (g_str_has_prefix (
      output.err, "unixctl: cannot connect to \"io.github.unixctld\" ("));
  }
  /* Not a bus name. */
  {
    const char *const args[] = { "--dbus", "-t", "unixctld", "version", NULL };
    g_auto (UcTestOutput) output = { 0 };

    run_program (fixture, unixctl, args, &output);
    g_assert_cmpint (output.status, ==, 1);
    g_assert_cmpstr (output.err, ==,
                     "unixctl: “unixctld” is not a D-Bus name\n");
  }
}

/* A deferred reply through the real daemon: worker/ping goes to the
 * worker process and back before it is answered. */
static void
test_deferred_worker (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *rundir = make_rundir (fixture, "run");
  const char *const args[] = { NULL };
  GSubprocess *process = start_daemon (fixture, rundir, args);
  const char *const ping[] = { "worker/ping", "64", NULL };
  g_autofree char *path = control_socket (rundir, process);
  g_autoptr (JsonObject) reply = socket_reply (path, ping, FALSE);
  JsonNode *error = json_object_get_member (reply, "error");
  g_auto (DbusAnswer) answer = { 0 };
  const char *socket_text;
  g_autofree char *head = NULL;

  g_assert_true (error == NULL || JSON_NODE_HOLDS_NULL (error));
  socket_text = json_object_get_string_member (reply, "result");
  gdbus_call (fixture, "Call", ping, &answer);
  g_assert_null (answer.error);

  /* The round-trip time and the descriptor's inode differ from one ping
   * to the next; the rest does not: "worker PID answered in T ms\n
   * payload: N bytes echoed intact\ndescriptor: ...". */
  head = g_strndup (
    socket_text, (gsize) (strstr (socket_text, " answered in ") - socket_text));
  g_assert_true (g_str_has_prefix (answer.text, head));
  g_assert_nonnull (
    strstr (socket_text, "\npayload: 64 bytes echoed intact\n"));
  g_assert_nonnull (
    strstr (answer.text, "\npayload: 64 bytes echoed intact\n"));
  g_assert_true (
    g_str_has_suffix (answer.text, ", came back with the same inode\n"));

  stop_daemon (process);
}

/* `exit` over D-Bus: the reply arrives, then the daemon stops cleanly. */
static void
test_exit (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *rundir = make_rundir (fixture, "run");
  GSubprocess *process = start_daemon (fixture, rundir, NULL);
  const char *const exit_argv[] = { "exit", NULL };
  g_auto (DbusAnswer) answer = { 0 };
  g_autofree char *err = NULL;
  g_autofree char *listing = NULL;

  gdbus_call (fixture, "Call", exit_argv, &answer);
  g_assert_null (answer.error);
  g_assert_cmpstr (answer.text, ==, "");
  g_assert_cmpint (wait_exit (process, &err), ==, 0);
  g_assert_cmpstr (err, ==, "");
  listing = uc_test_list_dir (rundir);
  g_assert_cmpstr (listing, ==, "");
  g_assert_cmpint (name_owner_pid (fixture), ==, 0);
}

/* --replace: the new daemon takes the name, the old one says why and
 * shuts down cleanly.  In the same rundir the new one also takes the
 * pidfile over (--overwrite-pidfile), which the old one then leaves in
 * place. */
static void
test_replace (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *rundir = make_rundir (fixture, "run");
  g_autofree char *pidfile = g_build_filename (rundir, "unixctld.pid", NULL);
  const char *const replace[] = { "--no-worker", "--replace",
                                  "--overwrite-pidfile", NULL };
  GSubprocess *first = start_daemon (fixture, rundir, NULL);
  GSubprocess *second;
  g_autofree char *err = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *contents = NULL;

  second = start_daemon (fixture, rundir, replace);
  g_assert_cmpint (wait_exit (first, &err), ==, 0);
  g_assert_nonnull (strstr (err, "lost io.github.unixctld to an instance "
                                 "that replaced this one\n"));
  g_assert_cmpint (name_owner_pid (fixture), ==,
                   uc_test_subprocess_pid (second));

  /* The first one's socket is gone; the second one's files stay. */
  listing = uc_test_list_dir (rundir);
  expected = g_strdup_printf ("unixctld.%ld.ctl unixctld.pid",
                              (long) uc_test_subprocess_pid (second));
  g_assert_cmpstr (listing, ==, expected);
  contents = uc_test_read_file (pidfile);
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("%ld\n", (long) uc_test_subprocess_pid (second));
  g_assert_cmpstr (contents, ==, expected);

  stop_daemon (second);
}

/* Without --replace, a second daemon serves its socket and waits for the
 * name, which it gets when the first stops. */
static void
test_queue (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *first_dir = make_rundir (fixture, "first");
  g_autofree char *second_dir = make_rundir (fixture, "second");
  const char *const no_worker[] = { "--no-worker", NULL };
  GSubprocess *first = start_daemon (fixture, first_dir, NULL);
  GSubprocess *second;
  g_autofree char *err = NULL;

  second = spawn_daemon (fixture, second_dir, NULL, no_worker);
  wait_for_socket (second, second_dir);
  uc_test_run_for (200);
  g_assert_cmpint (name_owner_pid (fixture), ==,
                   uc_test_subprocess_pid (first));

  stop_daemon (first);
  wait_for_name (fixture, second);
  g_subprocess_send_signal (second, SIGTERM);
  g_assert_cmpint (wait_exit (second, &err), ==, 0);
  g_assert_nonnull (strstr (err, "io.github.unixctld is owned by another "
                                 "instance; waiting for it (use --replace "
                                 "to take it)\n"));
}

/* D-Bus activation with the generated activation file: a call to the name
 * starts the daemon (Exec=, as a bus without systemd runs it). */
static void
test_activation (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *contents = NULL;
  g_autofree char *rundir = make_rundir (fixture, "run");
  g_autofree char *pidfile = g_build_filename (rundir, "unixctld.pid", NULL);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  g_auto (GVariantBuilder) environment =
    G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));
  const char *const version[] = { "version", NULL };
  const char *const exit_argv[] = { "exit", NULL };
  g_auto (DbusAnswer) answer = { 0 };
  g_auto (DbusAnswer) bye = { 0 };
  gint64 deadline;

  contents =
    uc_test_read_file (uc_test_built_program ("UNIXCTLD_DBUS_SERVICE"));
  g_assert_nonnull (strstr (contents, "[D-BUS Service]\n"
                                      "Name=io.github.unixctld\n"));
  g_assert_nonnull (strstr (contents, "\nSystemdService=unixctld.service\n"));

  /* This build's daemon in Exec=, with the rest of the line kept. */
  lines = g_strsplit (contents, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    {
      if (g_str_has_prefix (*line, "Exec="))
        {
          const char *space = strchr (*line, ' ');

          g_assert_nonnull (space);
          g_string_append_printf (text, "Exec=%s%s --no-worker\n",
                                  uc_test_built_program ("UNIXCTLD"), space);
        }
      else if (**line != '\0')
        g_string_append_printf (text, "%s\n", *line);
    }
  fixture->activation_file =
    g_build_filename (test_services_dir, "io.github.unixctld.service", NULL);
  fixture->activated_pidfile = g_strdup (pidfile);
  g_file_set_contents (fixture->activation_file, text->str, -1, &error);
  g_assert_no_error (error);

  /* What the bus starts gets the bus's environment, with these. */
  g_variant_builder_add (&environment, "{ss}", "OVS_RUNDIR", rundir);
  g_variant_builder_add (&environment, "{ss}", "LC_ALL", "C.UTF-8");
  reply = g_dbus_connection_call_sync (
    fixture->bus_client, "org.freedesktop.DBus", "/org/freedesktop/DBus",
    "org.freedesktop.DBus", "UpdateActivationEnvironment",
    g_variant_new ("(a{ss})", &environment), NULL, G_DBUS_CALL_FLAGS_NONE, -1,
    NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpint (name_owner_pid (fixture), ==, 0);
  gdbus_call (fixture, "Call", version, &answer);
  g_assert_null (answer.error);
  g_assert_cmpstr (answer.text, ==,
                   "unixctld (unixctld) " PACKAGE_VERSION "\n");
  g_assert_true (g_file_test (pidfile, G_FILE_TEST_EXISTS));
  g_assert_cmpint (name_owner_pid (fixture), >, 0);

  /* Stopped the way it was reached; its files go with it. */
  gdbus_call (fixture, "Call", exit_argv, &bye);
  g_assert_null (bye.error);
  deadline = g_get_monotonic_time () + DAEMON_TIMEOUT_US;
  while (g_file_test (pidfile, G_FILE_TEST_EXISTS))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (UC_TEST_POLL_US);
    }
}

#endif /* HAVE_DBUS_MIRROR */

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, set_up, func) \
  g_test_add (path, Fixture, NULL, set_up, func, teardown)

  ADD ("/dbus-integration/notify/path", setup, test_notify_path);
  ADD ("/dbus-integration/notify/abstract", setup, test_notify_abstract);
  ADD ("/dbus-integration/notify/invalid", setup, test_notify_invalid);
  ADD ("/dbus-integration/notify/function", setup, test_notify_function);
  ADD ("/dbus-integration/no-bus/default", setup, test_no_bus_default);
  ADD ("/dbus-integration/no-bus/explicit", setup, test_no_bus_explicit);
  ADD ("/dbus-integration/options/errors", setup, test_dbus_option_errors);
  ADD ("/dbus-integration/unit/verify", setup, test_unit_file);
#if HAVE_DBUS_MIRROR
  ADD ("/dbus-integration/session/default", setup_bus, test_default_session);
  ADD ("/dbus-integration/compare/builtins", setup_bus, test_compare_builtins);
  ADD ("/dbus-integration/compare/busctl", setup_bus, test_busctl);
  ADD ("/dbus-integration/compare/unixctl", setup_bus, test_unixctl_dbus);
  ADD ("/dbus-integration/deferred/worker", setup_bus, test_deferred_worker);
  ADD ("/dbus-integration/exit", setup_bus, test_exit);
  ADD ("/dbus-integration/name/replace", setup_bus, test_replace);
  ADD ("/dbus-integration/name/queue", setup_bus, test_queue);
  ADD ("/dbus-integration/activation", setup_bus, test_activation);
#endif

#undef ADD

#if HAVE_DBUS_MIRROR
  {
    int status;

    test_services_dir = uc_test_make_tmp_dir ("unixctld-services-XXXXXX");
    test_bus = g_test_dbus_new (G_TEST_DBUS_NONE);
    g_test_dbus_add_service_dir (test_bus, test_services_dir);
    g_test_dbus_up (test_bus);
    status = g_test_run ();
    g_test_dbus_down (test_bus);
    g_clear_object (&test_bus);
    uc_test_rm_rf (test_services_dir);
    g_clear_pointer (&test_services_dir, g_free);
    return status;
  }
#else
  return g_test_run ();
#endif
}
