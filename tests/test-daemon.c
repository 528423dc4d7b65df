/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-daemon"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uc-pidfile.h"
#include "uc-server.h"
#include "uc-test-util.h"

/*
 * The built `unixctld` (path in $UNIXCTLD), run as a real process in a
 * private run directory and spoken to with raw JSON-RPC, so that these
 * tests see exactly what ovs-appctl and other clients see.
 *
 * The test process is a child subreaper: a detached daemon, orphaned when
 * its parent exits, becomes our child, so that its exit status can be
 * checked and no test leaves one running.
 */

/* Long enough for a daemon under ASan on a loaded machine. */
#define DEADLINE_US (20 * G_USEC_PER_SEC)
#define DEADLINE_S  (DEADLINE_US / G_USEC_PER_SEC)

#define VERSION_REPLY PACKAGE_NAME " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n"

typedef struct
{
  char *rundir;         /* (owned) private run directory */
  char *pidfile;        /* (owned) RUNDIR/unixctld.pid */
  GPtrArray *processes; /* (owned) (element-type GSubprocess) */
  GArray *orphans;      /* (owned) (element-type pid_t) detached daemons */
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  fixture->rundir = uc_test_make_tmp_dir ("test-daemon-XXXXXX");
  fixture->pidfile = g_build_filename (fixture->rundir, "unixctld.pid", NULL);
  fixture->processes = g_ptr_array_new_with_free_func (g_object_unref);
  fixture->orphans = g_array_new (FALSE, FALSE, sizeof (pid_t));
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  /* A failed test may leave daemons running: never let them outlive it. */
  for (guint i = 0; i < fixture->processes->len; i++)
    {
      GSubprocess *process = g_ptr_array_index (fixture->processes, i);

      if (g_subprocess_get_identifier (process) != NULL)
        {
          g_subprocess_force_exit (process);
          g_subprocess_wait (process, NULL, NULL);
        }
    }
  for (guint i = 0; i < fixture->orphans->len; i++)
    {
      pid_t pid = g_array_index (fixture->orphans, pid_t, i);

      if (kill (pid, SIGKILL) == 0)
        waitpid (pid, NULL, 0);
    }

  g_clear_pointer (&fixture->orphans, g_array_unref);
  g_clear_pointer (&fixture->processes, g_ptr_array_unref);
  uc_test_rm_rf (fixture->rundir);
  g_clear_pointer (&fixture->pidfile, g_free);
  g_clear_pointer (&fixture->rundir, g_free);
}

/* A launcher with both output streams piped. */
static GSubprocessLauncher *
new_launcher (void)
{
  return uc_test_daemon_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);
}

/* Runs unixctld with @args (NULL-terminated).  With @rundir set, the
 * fixture's run directory comes first. */
static GSubprocess *
spawn_with (Fixture *fixture,
            GSubprocessLauncher *launcher,
            gboolean rundir,
            const char *const *args)
{
  GSubprocess *process =
    uc_test_spawn_unixctld (launcher, rundir ? fixture->rundir : NULL, args);

  g_ptr_array_add (fixture->processes, process);
  return process;
}

static GSubprocess *
spawn (Fixture *fixture, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher ();

  return spawn_with (fixture, launcher, TRUE, args);
}

static char *
default_socket (const char *rundir, pid_t pid)
{
  g_autofree char *name = g_strdup_printf ("unixctld.%ld.ctl", (long) pid);

  return g_build_filename (rundir, name, NULL);
}

/* Waits for @process to exit, then returns its exit status, with its
 * output in @out and @err.  A process killed by a signal fails the
 * test. */
static int
wait_exit (GSubprocess *process, char **out, char **err)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  int status = uc_test_subprocess_wait (process, DEADLINE_US);

  /* communicate() reads to the end of both pipes. */
  g_subprocess_communicate_utf8 (process, NULL, NULL, &stdout_text,
                                 &stderr_text, &error);
  g_assert_no_error (error);
  if (status < 0)
    g_error ("unixctld was killed by signal %d; stderr: %s",
             g_subprocess_get_term_sig (process), stderr_text);

  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  if (err != NULL)
    *err = g_steal_pointer (&stderr_text);
  return status;
}

/* Waits for an orphaned (detached) daemon to exit; returns its status. */
static int
wait_orphan (Fixture *fixture, pid_t pid)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;
  int status;
  pid_t reaped;

  while ((reaped = waitpid (pid, &status, WNOHANG)) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (UC_TEST_POLL_US);
    }
  g_assert_cmpint (reaped, ==, pid);
  for (guint i = 0; i < fixture->orphans->len; i++)
    {
      if (g_array_index (fixture->orphans, pid_t, i) == pid)
        g_array_remove_index (fixture->orphans, i--);
    }
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static GIOStream *
connect_unix (const char *path)
{
  return G_IO_STREAM (uc_test_connect_unix (path, DEADLINE_S));
}

/* Connects to @path as soon as the daemon @process listens there. */
static GIOStream *
wait_for_socket (GSubprocess *process, const char *path)
{
  GSocketConnection *connection =
    uc_test_wait_for_unix_socket (process, path, DEADLINE_US);

  if (connection == NULL)
    {
      g_autofree char *err = NULL;

      wait_exit (process, NULL, &err);
      g_error ("unixctld exited before listening on %s: %s", path, err);
    }
  return G_IO_STREAM (connection);
}

static GSocket *
socket_of (GIOStream *stream)
{
  return g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));
}

/* The text result of a successful request. */
static char *
call (GIOStream *stream, const char *method)
{
  g_autoptr (JsonNode) result = uc_test_call (socket_of (stream), method, NULL);

  return g_strdup (json_node_get_string (result));
}

/* Checks that @stream is served by a unixctld: `version` and
 * `list-commands` answer as they must. */
static void
assert_serves (GIOStream *stream)
{
  g_autofree char *version = call (stream, "version");
  g_autofree char *commands = call (stream, "list-commands");

  g_assert_cmpstr (version, ==, VERSION_REPLY);
  g_assert_true (g_str_has_prefix (commands, "The available commands are:\n"));
  g_assert_nonnull (strstr (commands, "\n  exit "));
  g_assert_nonnull (strstr (commands, "\n  version "));
}

/* The pidfile holds "%ld\n" with @pid, and @pid holds its POSIX lock (as
 * ovs-appctl checks it). */
static void
assert_pidfile (const char *path, pid_t pid)
{
  g_autofree char *contents = uc_test_read_file (path);
  g_autofree char *expected = g_strdup_printf ("%ld\n", (long) pid);
  g_autoptr (GError) error = NULL;
  struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  GPid read_pid = 0;
  int fd;

  g_assert_cmpstr (contents, ==, expected);

  fd = open (path, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_no_errno (fcntl (fd, F_GETLK, &lock));
  close (fd);
  g_assert_cmpint (lock.l_type, ==, F_WRLCK);
  g_assert_cmpint (lock.l_pid, ==, pid);

  g_assert_true (uc_pidfile_read (path, &read_pid, &error));
  g_assert_no_error (error);
  g_assert_cmpint (read_pid, ==, pid);
}

static void
assert_dir (const char *dir_path, const char *expected)
{
  g_autofree char *names = uc_test_list_dir (dir_path);

  g_assert_cmpstr (names, ==, expected);
}

/* Stops a daemon with @signum; it must exit 0, print nothing and leave
 * its run directory empty. */
static void
stop_with_signal (Fixture *fixture, GSubprocess *process, int signum)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_subprocess_send_signal (process, signum);
  g_assert_cmpint (wait_exit (process, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpstr (err, ==, "");
  assert_dir (fixture->rundir, "");
}

/* The daemon @pid runs with the default names: its pidfile and its
 * socket, and nothing else, are in the run directory. */
static void
assert_default_files (Fixture *fixture, pid_t pid)
{
  g_autofree char *names =
    g_strdup_printf ("unixctld.%ld.ctl unixctld.pid", (long) pid);

  assert_pidfile (fixture->pidfile, pid);
  assert_dir (fixture->rundir, names);
}

/* Starts a daemon with the default names and waits until it serves. */
static GSubprocess *
start_default (Fixture *fixture, GIOStream **stream_out)
{
  GSubprocess *process = spawn (fixture, NULL);
  g_autofree char *socket =
    default_socket (fixture->rundir, uc_test_subprocess_pid (process));
  g_autoptr (GIOStream) stream = wait_for_socket (process, socket);

  if (stream_out != NULL)
    *stream_out = g_steal_pointer (&stream);
  return process;
}

static void
test_foreground_serves (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GIOStream) stream = NULL;
  GSubprocess *process = start_default (fixture, &stream);

  assert_serves (stream);
  assert_default_files (fixture, uc_test_subprocess_pid (process));

  g_io_stream_close (stream, NULL, NULL);
  stop_with_signal (fixture, process, GPOINTER_TO_INT (user_data));
}

static void
test_exit_command (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GIOStream) stream = NULL;
  GSubprocess *process = start_default (fixture, &stream);
  g_autoptr (JsonObject) reply = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  JsonNode *error;

  reply = uc_test_transact (socket_of (stream), "exit", NULL);
  error = json_object_get_member (reply, "error");
  g_assert_true (error == NULL || JSON_NODE_HOLDS_NULL (error));

  g_assert_cmpint (wait_exit (process, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpstr (err, ==, "");
  assert_dir (fixture->rundir, "");
}

/* @second, started while the daemon @pid runs with the same pidfile,
 * must exit 1 and say why; its stdout goes to @out. */
static void
assert_already_running (Fixture *fixture,
                        GSubprocess *second,
                        pid_t pid,
                        char **out)
{
  g_autofree char *err = NULL;
  g_autofree char *expected =
    g_strdup_printf ("unixctld: %s: already running as pid %ld, aborting\n",
                     fixture->pidfile, (long) pid);

  g_assert_cmpint (wait_exit (second, out, &err), ==, 1);
  g_assert_cmpstr (err, ==, expected);
}

static void
test_pidfile_already_running (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GIOStream) stream = NULL;
  GSubprocess *first = start_default (fixture, &stream);
  pid_t pid = uc_test_subprocess_pid (first);

  assert_already_running (fixture, spawn (fixture, NULL), pid, NULL);

  /* The refused daemon left nothing behind and the first one still
   * serves. */
  assert_default_files (fixture, pid);
  assert_serves (stream);

  g_io_stream_close (stream, NULL, NULL);
  stop_with_signal (fixture, first, SIGTERM);
}

static void
test_pidfile_names (Fixture *fixture, gconstpointer user_data)
{
  const char *relative[] = { "--pidfile=my.pid", "--unixctl=my.ctl", NULL };
  g_autofree char *abs_dir = g_build_filename (fixture->rundir, "abs", NULL);
  g_autofree char *abs_pidfile = g_build_filename (abs_dir, "p.pid", NULL);
  g_autofree char *abs_socket = g_build_filename (abs_dir, "s.ctl", NULL);
  g_autofree char *pidfile_arg = g_strconcat ("--pidfile=", abs_pidfile, NULL);
  g_autofree char *unixctl_arg = g_strconcat ("--unixctl=", abs_socket, NULL);
  const char *absolute[] = { pidfile_arg, unixctl_arg, NULL };
  const char *bare[] = { "--pidfile", NULL };
  g_autofree char *my_pid = g_build_filename (fixture->rundir, "my.pid", NULL);
  g_autofree char *my_ctl = g_build_filename (fixture->rundir, "my.ctl", NULL);
  g_autofree char *bare_socket = NULL;
  GSubprocess *process;
  GIOStream *stream;

  /* Relative names go under the run directory. */
  process = spawn (fixture, relative);
  stream = wait_for_socket (process, my_ctl);
  assert_serves (stream);
  assert_pidfile (my_pid, uc_test_subprocess_pid (process));
  assert_dir (fixture->rundir, "my.ctl my.pid");
  g_object_unref (stream);
  stop_with_signal (fixture, process, SIGTERM);

  /* Absolute ones are used as given. */
  g_assert_no_errno (g_mkdir (abs_dir, 0700));
  process = spawn (fixture, absolute);
  stream = wait_for_socket (process, abs_socket);
  assert_serves (stream);
  assert_pidfile (abs_pidfile, uc_test_subprocess_pid (process));
  assert_dir (abs_dir, "p.pid s.ctl");
  g_object_unref (stream);
  g_subprocess_send_signal (process, SIGTERM);
  g_assert_cmpint (wait_exit (process, NULL, NULL), ==, 0);
  assert_dir (abs_dir, "");
  g_assert_no_errno (g_rmdir (abs_dir));

  /* --pidfile alone keeps the default name. */
  process = spawn (fixture, bare);
  bare_socket =
    default_socket (fixture->rundir, uc_test_subprocess_pid (process));
  stream = wait_for_socket (process, bare_socket);
  assert_pidfile (fixture->pidfile, uc_test_subprocess_pid (process));
  g_object_unref (stream);
  stop_with_signal (fixture, process, SIGTERM);
}

static void
test_pidfile_overwrite (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GIOStream) first_stream = NULL;
  GSubprocess *first = start_default (fixture, &first_stream);
  const char *args[] = { "--overwrite-pidfile", NULL };
  GSubprocess *second = spawn (fixture, args);
  g_autofree char *second_socket =
    default_socket (fixture->rundir, uc_test_subprocess_pid (second));
  g_autoptr (GIOStream) second_stream = wait_for_socket (second, second_socket);

  /* The pidfile names the second daemon now; both serve. */
  assert_pidfile (fixture->pidfile, uc_test_subprocess_pid (second));
  assert_serves (first_stream);
  assert_serves (second_stream);

  /* The first daemon must not remove the second one's pidfile. */
  g_io_stream_close (first_stream, NULL, NULL);
  g_subprocess_send_signal (first, SIGTERM);
  g_assert_cmpint (wait_exit (first, NULL, NULL), ==, 0);
  assert_pidfile (fixture->pidfile, uc_test_subprocess_pid (second));

  g_io_stream_close (second_stream, NULL, NULL);
  stop_with_signal (fixture, second, SIGTERM);
}

static void
test_stale_default_socket (Fixture *fixture, gconstpointer user_data)
{
  GSubprocess *killed = start_default (fixture, NULL);
  pid_t killed_pid = uc_test_subprocess_pid (killed);
  g_autofree char *killed_socket = default_socket (fixture->rundir, killed_pid);
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  GSubprocess *process;
  GPid pid;

  g_subprocess_send_signal (killed, SIGKILL);
  g_subprocess_wait (killed, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (killed_socket, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (fixture->pidfile, G_FILE_TEST_EXISTS));
  g_assert_false (uc_pidfile_read (fixture->pidfile, &pid, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, g_strerror (ESRCH));

  /* The next daemon replaces the pidfile and removes the dead one's
   * socket. */
  process = start_default (fixture, &stream);
  assert_serves (stream);
  assert_default_files (fixture, uc_test_subprocess_pid (process));

  g_io_stream_close (stream, NULL, NULL);
  stop_with_signal (fixture, process, SIGTERM);
}

static void
test_stale_fixed_socket (Fixture *fixture, gconstpointer user_data)
{
  const char *args[] = { "--unixctl=fixed.ctl", NULL };
  g_autofree char *socket =
    g_build_filename (fixture->rundir, "fixed.ctl", NULL);
  GSubprocess *killed = spawn (fixture, args);
  g_autoptr (GIOStream) stream = wait_for_socket (killed, socket);
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  /* Killed once it serves, that is once its start-up is over: a daemon
   * killed while it forks its worker leaves the fork's copy of the
   * listening socket alive until that child execs, and a client of the
   * next daemon could be queued on it and then reset. */
  assert_serves (stream);
  g_clear_object (&stream);
  g_subprocess_send_signal (killed, SIGKILL);
  g_subprocess_wait (killed, NULL, &error);
  g_assert_no_error (error);
  assert_dir (fixture->rundir, "fixed.ctl unixctld.pid");

  process = spawn (fixture, args);
  stream = wait_for_socket (process, socket);
  assert_serves (stream);
  assert_pidfile (fixture->pidfile, uc_test_subprocess_pid (process));

  g_io_stream_close (stream, NULL, NULL);
  stop_with_signal (fixture, process, SIGTERM);
}

static void
test_unixctl_none (Fixture *fixture, gconstpointer user_data)
{
  const char *args[] = { "--unixctl=none", "--remote=punix:remote.ctl", NULL };
  GSubprocess *process = spawn (fixture, args);
  g_autofree char *remote =
    g_build_filename (fixture->rundir, "remote.ctl", NULL);
  g_autoptr (GIOStream) stream = wait_for_socket (process, remote);

  /* Only the remote listens: no control socket was made. */
  assert_serves (stream);
  assert_dir (fixture->rundir, "remote.ctl unixctld.pid");
  assert_pidfile (fixture->pidfile, uc_test_subprocess_pid (process));

  g_io_stream_close (stream, NULL, NULL);
  stop_with_signal (fixture, process, SIGTERM);
}

static void
test_remote_ptcp (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher ();
  const char *args[] = { "--remote=ptcp:0:127.0.0.1", NULL };
  g_autoptr (GDataInputStream) lines = NULL;
  g_autoptr (GSocketConnectable) address = NULL;
  g_autoptr (GIOStream) tcp = NULL;
  g_autoptr (GIOStream) local = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *socket = NULL;
  GSubprocess *process;
  guint64 port = 0;

  /* The kernel picks the port; the daemon logs the bound name at info
   * level, which G_MESSAGES_DEBUG shows. */
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "daemon", TRUE);
  process = spawn_with (fixture, launcher, TRUE, args);
  lines = g_data_input_stream_new (g_subprocess_get_stderr_pipe (process));
  while (port == 0)
    {
      g_autofree char *line =
        g_data_input_stream_read_line (lines, NULL, NULL, &error);
      const char *found;

      g_assert_no_error (error);
      g_assert_nonnull (line);
      found = strstr (line, "listening on ptcp:");
      if (found != NULL)
        port =
          g_ascii_strtoull (found + strlen ("listening on ptcp:"), NULL, 10);
    }
  g_assert_cmpuint (port, >, 0);
  g_assert_cmpuint (port, <=, G_MAXUINT16);

  address = G_SOCKET_CONNECTABLE (
    g_inet_socket_address_new_from_string ("127.0.0.1", (guint) port));
  tcp = G_IO_STREAM (uc_test_connect (address, DEADLINE_S, &error));
  g_assert_no_error (error);
  assert_serves (tcp);

  /* The control socket serves as well. */
  socket = default_socket (fixture->rundir, uc_test_subprocess_pid (process));
  local = connect_unix (socket);
  assert_serves (local);

  g_io_stream_close (tcp, NULL, NULL);
  g_io_stream_close (local, NULL, NULL);
  g_subprocess_send_signal (process, SIGTERM);
  g_assert_cmpint (wait_exit (process, NULL, NULL), ==, 0);
  assert_dir (fixture->rundir, "");
}

/* The target of /proc/PID/@entry. */
static char *
read_proc_link (pid_t pid, const char *entry)
{
  g_autofree char *path = g_strdup_printf ("/proc/%ld/%s", (long) pid, entry);
  g_autoptr (GError) error = NULL;
  char *target = g_file_read_link (path, &error);

  g_assert_no_error (error);
  return target;
}

static void
test_detach_ready (Fixture *fixture, gconstpointer user_data)
{
  const char *args[] = { "--detach", NULL };
  GSubprocess *parent = spawn (fixture, args);
  pid_t parent_pid = uc_test_subprocess_pid (parent);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *socket = NULL;
  g_autofree char *cwd = NULL;
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  GPid pid = 0;

  /* The parent exits only once the daemon serves: from here on nothing
   * is waited for. */
  g_assert_cmpint (wait_exit (parent, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpstr (err, ==, "");

  g_assert_true (uc_pidfile_read (fixture->pidfile, &pid, &error));
  g_assert_no_error (error);
  g_array_append_val (fixture->orphans, pid);
  g_assert_cmpint (pid, !=, parent_pid);
  assert_pidfile (fixture->pidfile, pid);

  socket = default_socket (fixture->rundir, pid);
  stream = connect_unix (socket);
  assert_serves (stream);

  /* A session leader in /, with its standard streams on /dev/null. */
  g_assert_cmpint (getsid (pid), ==, pid);
  cwd = read_proc_link (pid, "cwd");
  g_assert_cmpstr (cwd, ==, "/");
  for (int fd = 0; fd <= 2; fd++)
    {
      g_autofree char *entry = g_strdup_printf ("fd/%d", fd);
      g_autofree char *target = read_proc_link (pid, entry);

      g_assert_cmpstr (target, ==, "/dev/null");
    }

  g_io_stream_close (stream, NULL, NULL);
  g_assert_no_errno (kill (pid, SIGTERM));
  g_assert_cmpint (wait_orphan (fixture, pid), ==, 0);
  assert_dir (fixture->rundir, "");
}

static void
test_detach_no_chdir (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher ();
  const char *args[] = { "--detach", "--no-chdir", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *cwd = NULL;
  GSubprocess *parent;
  GPid pid = 0;

  g_subprocess_launcher_set_cwd (launcher, fixture->rundir);
  parent = spawn_with (fixture, launcher, TRUE, args);
  g_assert_cmpint (wait_exit (parent, NULL, NULL), ==, 0);

  g_assert_true (uc_pidfile_read (fixture->pidfile, &pid, &error));
  g_assert_no_error (error);
  g_array_append_val (fixture->orphans, pid);
  cwd = read_proc_link (pid, "cwd");
  g_assert_cmpstr (cwd, ==, fixture->rundir);

  g_assert_no_errno (kill (pid, SIGTERM));
  g_assert_cmpint (wait_orphan (fixture, pid), ==, 0);
  assert_dir (fixture->rundir, "");
}

static void
test_detach_failure (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GIOStream) stream = NULL;
  GSubprocess *first = start_default (fixture, &stream);
  pid_t pid = uc_test_subprocess_pid (first);
  const char *args[] = { "--detach", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *long_name = g_strnfill (120, 'x');
  g_autofree char *long_arg = g_strconcat ("--unixctl=", long_name, NULL);
  const char *late_args[] = { "--detach", "--pidfile=late.pid", long_arg,
                              NULL };
  g_autofree char *late_pidfile =
    g_build_filename (fixture->rundir, "late.pid", NULL);
  GSubprocess *second;

  /* The child fails to take the pidfile; the parent reports it. */
  assert_already_running (fixture, spawn (fixture, args), pid, &out);
  g_assert_cmpstr (out, ==, "");
  assert_pidfile (fixture->pidfile, pid);

  /* A later failure (a socket name too long to bind) too, and the child
   * removes the pidfile it had taken. */
  second = spawn (fixture, late_args);
  g_assert_cmpint (wait_exit (second, NULL, &err), ==, 1);
  g_assert_true (g_str_has_prefix (err, "unixctld: "));
  g_assert_nonnull (strstr (err, "\"punix:xxxxxxxx"));
  g_assert_true (g_str_has_suffix (err, "\n"));
  g_assert_false (g_file_test (late_pidfile, G_FILE_TEST_EXISTS));

  g_io_stream_close (stream, NULL, NULL);
  stop_with_signal (fixture, first, SIGTERM);
}

static void
test_rundir_from_env (Fixture *fixture, gconstpointer user_data)
{
  const char *variable = user_data;
  g_autoptr (GSubprocessLauncher) launcher = new_launcher ();
  g_autofree char *base = g_build_filename (fixture->rundir, "env", NULL);
  g_autofree char *expected_rundir = NULL;
  g_autofree char *socket = NULL;
  g_autofree char *pidfile = NULL;
  g_autoptr (GIOStream) stream = NULL;
  GSubprocess *process;
  struct stat st;

  /* Both unset first, then the one under test set to a directory that
   * does not exist yet. */
  g_subprocess_launcher_unsetenv (launcher, "XDG_RUNTIME_DIR");
  g_subprocess_launcher_setenv (launcher, variable, base, TRUE);
  if (g_str_equal (variable, "XDG_RUNTIME_DIR"))
    expected_rundir = g_build_filename (base, "unixctld", NULL);
  else
    {
      /* $OVS_RUNDIR wins over $XDG_RUNTIME_DIR. */
      g_autofree char *xdg = g_build_filename (fixture->rundir, "xdg", NULL);

      g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", xdg, TRUE);
      expected_rundir = g_strdup (base);
    }

  process = spawn_with (fixture, launcher, FALSE, NULL);
  socket = default_socket (expected_rundir, uc_test_subprocess_pid (process));
  stream = wait_for_socket (process, socket);
  assert_serves (stream);

  g_assert_no_errno (stat (expected_rundir, &st));
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  pidfile = g_build_filename (expected_rundir, "unixctld.pid", NULL);
  assert_pidfile (pidfile, uc_test_subprocess_pid (process));

  g_io_stream_close (stream, NULL, NULL);
  g_subprocess_send_signal (process, SIGTERM);
  g_assert_cmpint (wait_exit (process, NULL, NULL), ==, 0);
  assert_dir (expected_rundir, "");
}

static void
test_rundir_not_directory (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher ();
  g_autofree char *file = g_build_filename (fixture->rundir, "file", NULL);
  g_autofree char *rundir_arg = g_strconcat ("--rundir=", file, NULL);
  const char *args[] = { rundir_arg, NULL };
  g_autofree char *expected =
    g_strdup_printf ("unixctld: run directory “%s” is not a directory\n", file);
  g_autofree char *err = NULL;
  GSubprocess *process;

  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  process = spawn_with (fixture, launcher, FALSE, args);
  g_assert_cmpint (wait_exit (process, NULL, &err), ==, 1);
  g_assert_cmpstr (err, ==, expected);
}

/* Child setup of the fd-limit test: a soft RLIMIT_NOFILE below the hard
 * one, which the daemon must raise to the hard one. */
static void
lower_fd_limit (gpointer user_data)
{
  struct rlimit rl;

  uc_test_die_with_parent (GINT_TO_POINTER (SIGKILL));
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > 64)
    {
      rl.rlim_cur = 64;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

static void
test_fd_limit (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher ();
  g_autoptr (GIOStream) stream = NULL;
  g_autofree char *socket = NULL;
  g_autofree char *limits_path = NULL;
  g_autofree char *limits = NULL;
  g_autofree char *expected = NULL;
  g_auto (GStrv) lines = NULL;
  const char *line = NULL;
  GSubprocess *process;
  struct rlimit rl;

  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &rl));
  if (rl.rlim_max <= 64)
    {
      g_test_skip ("the hard descriptor limit is too low to lower");
      return;
    }

  g_subprocess_launcher_set_child_setup (launcher, lower_fd_limit, NULL, NULL);
  process = spawn_with (fixture, launcher, TRUE, NULL);
  socket = default_socket (fixture->rundir, uc_test_subprocess_pid (process));
  stream = wait_for_socket (process, socket);

  limits_path = g_strdup_printf ("/proc/%ld/limits",
                                 (long) uc_test_subprocess_pid (process));
  limits = uc_test_read_file (limits_path);
  lines = g_strsplit (limits, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "Max open files"))
        line = lines[i];
    }
  g_assert_nonnull (line);
  if (rl.rlim_max == RLIM_INFINITY)
    expected = g_strdup ("unlimited");
  else
    expected = g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) rl.rlim_max);
  {
    g_auto (GStrv) fields =
      g_strsplit_set (line + strlen ("Max open files"), " ", -1);
    g_autoptr (GPtrArray) values = g_ptr_array_new ();

    for (guint i = 0; fields[i] != NULL; i++)
      if (*fields[i] != '\0')
        g_ptr_array_add (values, fields[i]);
    g_assert_cmpuint (values->len, >=, 2);
    /* Soft limit, then hard limit. */
    g_assert_cmpstr (g_ptr_array_index (values, 0), ==, expected);
    g_assert_cmpstr (g_ptr_array_index (values, 1), ==, expected);
  }

  g_io_stream_close (stream, NULL, NULL);
  stop_with_signal (fixture, process, SIGTERM);
}

/* Runs the real ovs-appctl with OVS_RUNDIR set to the run directory. */
static int
run_ovs_appctl (Fixture *fixture,
                const char *ovs_appctl,
                char **out,
                char **err)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher ();
  GSubprocess *process;

  g_subprocess_launcher_setenv (launcher, "OVS_RUNDIR", fixture->rundir, TRUE);
  process = g_subprocess_launcher_spawn (launcher, NULL, ovs_appctl, "-t",
                                         "unixctld", "version", NULL);
  g_assert_nonnull (process);
  g_ptr_array_add (fixture->processes, process);
  return wait_exit (process, out, err);
}

static void
test_ovs_appctl (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *ovs_appctl = g_find_program_in_path ("ovs-appctl");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  if (ovs_appctl == NULL)
    {
      g_test_skip ("ovs-appctl is not installed (openvswitch-common)");
      return;
    }

  /* ovs-appctl finds the daemon through the pidfile and its lock. */
  process = start_default (fixture, NULL);
  g_assert_cmpint (run_ovs_appctl (fixture, ovs_appctl, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, VERSION_REPLY);
  g_assert_cmpstr (err, ==, "");

  /* A killed daemon's pidfile is stale to it: no lock holder. */
  g_subprocess_send_signal (process, SIGKILL);
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_ovs_appctl (fixture, ovs_appctl, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "cannot read pidfile"));
  g_assert_nonnull (strstr (err, "(No such process)"));
}

static void
test_options_version (Fixture *fixture, gconstpointer user_data)
{
  const char *spellings[] = { "--version", "-V" };

  for (gsize i = 0; i < G_N_ELEMENTS (spellings); i++)
    {
      const char *args[] = { spellings[i], NULL };
      GSubprocess *process = spawn (fixture, args);
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;

      g_assert_cmpint (wait_exit (process, &out, &err), ==, 0);
      g_assert_cmpstr (out, ==, VERSION_REPLY);
      g_assert_cmpstr (err, ==, "");
    }
  /* Nothing was started. */
  assert_dir (fixture->rundir, "");
}

static void
test_options_help (Fixture *fixture, gconstpointer user_data)
{
  const char *args[] = { "--help", NULL };
  GSubprocess *process = spawn (fixture, args);
  g_autofree char *out = NULL;
  g_autofree char *expected = g_strdup_printf (
    "(default %u)", (guint) UC_SERVER_DEFAULT_REMOTE_MAX_CONNECTIONS);

  g_assert_cmpint (wait_exit (process, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--remote-max-connections=N"));
  g_assert_nonnull (strstr (out, expected));
  g_assert_nonnull (strstr (out, "--overwrite-pidfile"));
  g_assert_nonnull (strstr (out, "OVS_RUNDIR"));
}

static void
test_options_bad (Fixture *fixture, gconstpointer user_data)
{
  const char *cases[][2] = {
    { "--max-depth=abc", "unixctld: invalid value “abc” for --max-depth: " },
    { "--max-depth=0", "unixctld: invalid value “0” for --max-depth: " },
    { "--max-message-size=-1",
      "unixctld: invalid value “-1” for --max-message-size: " },
    { "--remote-max-connections=0",
      "unixctld: invalid value “0” for --remote-max-connections: " },
    { "--bogus", "unixctld: Unknown option --bogus" },
    { "extra", "unixctld: unexpected argument “extra”" },
    { "--remote=bogus:1", "unixctld: " },
    { "--unixctl=", "unixctld: " },
    { "--pidfile=", "unixctld: " },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *args[] = { cases[i][0], NULL };
      GSubprocess *process = spawn (fixture, args);
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;

      g_test_message ("%s", cases[i][0]);
      g_assert_cmpint (wait_exit (process, &out, &err), ==, 1);
      g_assert_cmpstr (out, ==, "");
      g_assert_true (g_str_has_prefix (err, cases[i][1]));
      g_assert_true (g_str_has_suffix (err, " (use --help for help)\n"));
      /* One line: its only newline ends it. */
      g_assert_true (strchr (err, '\n') == err + strlen (err) - 1);
    }
  assert_dir (fixture->rundir, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  /* Detached daemons become our children when their parent exits. */
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    g_error ("PR_SET_CHILD_SUBREAPER: %s", g_strerror (errno));

#define ADD(path, data, func) \
  g_test_add (path, Fixture, data, fixture_set_up, func, fixture_tear_down)

  ADD ("/daemon/foreground/sigterm", GINT_TO_POINTER (SIGTERM),
       test_foreground_serves);
  ADD ("/daemon/foreground/sigint", GINT_TO_POINTER (SIGINT),
       test_foreground_serves);
  ADD ("/daemon/foreground/exit-command", NULL, test_exit_command);
  ADD ("/daemon/pidfile/already-running", NULL, test_pidfile_already_running);
  ADD ("/daemon/pidfile/names", NULL, test_pidfile_names);
  ADD ("/daemon/pidfile/overwrite", NULL, test_pidfile_overwrite);
  ADD ("/daemon/stale/default-socket", NULL, test_stale_default_socket);
  ADD ("/daemon/stale/fixed-socket", NULL, test_stale_fixed_socket);
  ADD ("/daemon/unixctl/none", NULL, test_unixctl_none);
  ADD ("/daemon/remote/ptcp", NULL, test_remote_ptcp);
  ADD ("/daemon/detach/ready", NULL, test_detach_ready);
  ADD ("/daemon/detach/no-chdir", NULL, test_detach_no_chdir);
  ADD ("/daemon/detach/failure", NULL, test_detach_failure);
  ADD ("/daemon/rundir/ovs-rundir", "OVS_RUNDIR", test_rundir_from_env);
  ADD ("/daemon/rundir/xdg-runtime-dir", "XDG_RUNTIME_DIR",
       test_rundir_from_env);
  ADD ("/daemon/rundir/not-a-directory", NULL, test_rundir_not_directory);
  ADD ("/daemon/fd-limit", NULL, test_fd_limit);
  ADD ("/daemon/ovs-appctl", NULL, test_ovs_appctl);
  ADD ("/daemon/options/version", NULL, test_options_version);
  ADD ("/daemon/options/help", NULL, test_options_help);
  ADD ("/daemon/options/bad", NULL, test_options_bad);

#undef ADD

  return g_test_run ();
}
