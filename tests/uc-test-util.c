/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-util"

#include "config.h"

#include "uc-test-util.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "uc-json-framer.h"

/* Files and directories. */

/**
 * uc_test_make_tmp_dir:
 * @tmpl: a g_dir_make_tmp() template, such as "test-foo-XXXXXX"
 *
 * Creates a private directory for one test, under the temporary directory
 * that %G_TEST_OPTION_ISOLATE_DIRS set up.
 *
 * Returns: (transfer full): its path
 */
char *
uc_test_make_tmp_dir (const char *tmpl)
{
  g_autoptr (GError) error = NULL;
  char *path = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  return path;
}

/**
 * uc_test_rm_rf:
 * @path: a directory
 *
 * Removes @path and everything below it, for a tear-down.  Symbolic
 * links are removed, not followed.  Failures to remove what is below are
 * not reported: the result says whether @path itself went.
 *
 * Returns: 0 if @path was removed; otherwise -1, with errno set as by
 *   g_rmdir(), so that a caller may check it with g_assert_no_errno()
 */
int
uc_test_rm_rf (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) &&
          !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        uc_test_rm_rf (child);
      else
        g_unlink (child);
    }
  return g_rmdir (path);
}

/**
 * uc_test_read_file:
 * @path: a file that must exist
 *
 * Returns: (transfer full): the contents of @path
 */
char *
uc_test_read_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

/**
 * uc_test_write_file:
 * @path: a file in an existing directory
 * @contents: what it is to hold
 *
 * Replaces @path with @contents, which must succeed.
 */
void
uc_test_write_file (const char *path, const char *contents)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * uc_test_list_dir:
 * @path: a directory that must exist
 *
 * Lists a directory in a form that compares with g_assert_cmpstr(): an
 * empty directory is "".
 *
 * Returns: (transfer full): the names in @path, sorted bytewise and
 *   joined with spaces
 */
char *
uc_test_list_dir (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, (gpointer) name);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/**
 * uc_test_wait_for_file_text:
 * @path: a file another process writes, such as a log file
 * @needle: the text to wait for
 * @timeout_us: how long to wait
 * @contents: (out) (optional) (transfer full): the file's text once it
 *   holds @needle
 *
 * Polls @path every %UC_TEST_POLL_US until it holds @needle, blocking:
 * for files written by another process.  Fails the test if @path does
 * not hold @needle within @timeout_us.
 */
void
uc_test_wait_for_file_text (const char *path,
                            const char *needle,
                            gint64 timeout_us,
                            char **contents)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;

  for (;;)
    {
      g_autofree char *text = NULL;

      if (g_file_get_contents (path, &text, NULL, NULL) &&
          strstr (text, needle) != NULL)
        {
          if (contents != NULL)
            *contents = g_steal_pointer (&text);
          return;
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("%s never held “%s”", path, needle);
      g_usleep (UC_TEST_POLL_US);
    }
}

/* The main loop. */

static gboolean
fail_on_timeout (gpointer user_data)
{
  g_error ("timed out waiting for %s", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

/**
 * uc_test_guard_add:
 * @seconds: how long the wait may take
 * @what: (not nullable): what is waited for, for the failure message;
 *   it must outlive the guard (a string literal)
 *
 * Adds a timeout to the default main context that fails the test, for a
 * loop that iterates the context until something happens.  Remove it
 * with g_source_remove() once it has.
 *
 * Returns: the source's id
 */
guint
uc_test_guard_add (guint seconds, const char *what)
{
  return g_timeout_add_seconds (seconds, fail_on_timeout, (gpointer) what);
}

static gboolean
set_flag (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/**
 * uc_test_run_for:
 * @ms: milliseconds
 *
 * Iterates the default main context for @ms milliseconds, for tests that
 * check that something does not happen meanwhile.
 */
void
uc_test_run_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, set_flag, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/**
 * uc_test_trap_in_subprocess:
 *
 * Runs the current test again in a subprocess that must pass, for a test
 * that changes what belongs to the whole process (its descriptor limit,
 * say).  The test goes on only in that subprocess:
 * `if (!uc_test_trap_in_subprocess ()) return;`.
 *
 * Returns: %TRUE in the subprocess; %FALSE in the test process, once the
 *   subprocess has passed
 */
gboolean
uc_test_trap_in_subprocess (void)
{
  if (g_test_subprocess ())
    return TRUE;
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  return FALSE;
}

/* Running programs. */

/**
 * uc_test_built_program:
 * @variable: the environment variable, such as "UNIXCTLD"
 *
 * The path of a program of this build, which tests/meson.build passes in
 * @variable.  Fails the test if it is not set: the test was not run
 * through meson.
 *
 * Returns: (transfer none): the path
 */
const char *
uc_test_built_program (const char *variable)
{
  const char *path = g_getenv (variable);

  if (path == NULL)
    g_error ("%s is not set: run this test through meson", variable);
  return path;
}

/**
 * uc_test_args_va:
 * @ap: strings, up to a %NULL
 *
 * Collects the arguments of a %G_GNUC_NULL_TERMINATED function.
 *
 * Returns: (transfer container): the strings of @ap, %NULL-terminated;
 *   free with g_free()
 */
const char **
uc_test_args_va (va_list ap)
{
  GPtrArray *args = g_ptr_array_new ();
  const char *arg;

  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  g_ptr_array_add (args, NULL);
  return (const char **) g_ptr_array_free (args, FALSE);
}

/**
 * uc_test_daemon_launcher_new:
 * @flags: where its output goes
 *
 * A launcher for daemons under test: a UTF-8 locale, so that messages
 * compare byte for byte; neither `$OVS_RUNDIR` nor `$G_MESSAGES_DEBUG`
 * from the test's environment; and SIGKILL when the test process dies,
 * since a test that fails aborts without its tear-down.
 *
 * Returns: (transfer full): the launcher
 */
GSubprocessLauncher *
uc_test_daemon_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "OVS_RUNDIR");
  g_subprocess_launcher_unsetenv (launcher, "G_MESSAGES_DEBUG");
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGKILL), NULL);
  return launcher;
}

/**
 * uc_test_spawn_unixctld:
 * @launcher: how to start it
 * @rundir: (nullable): its run directory, given first as `--rundir`; %NULL
 *   for none
 * @args: (array zero-terminated=1) (nullable): its other arguments
 *
 * Starts the daemon under test, %UNIXCTLD.
 *
 * Returns: (transfer full): the process
 */
GSubprocess *
uc_test_spawn_unixctld (GSubprocessLauncher *launcher,
                        const char *rundir,
                        const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  g_ptr_array_add (argv, g_strdup (uc_test_built_program ("UNIXCTLD")));
  if (rundir != NULL)
    g_ptr_array_add (argv, g_strconcat ("--rundir=", rundir, NULL));
  for (gsize i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (
    launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  return process;
}

static gboolean
python_can_import (const char *module)
{
  g_autofree char *statement = g_strconcat ("import ", module, NULL);
  const char *argv[] = { UC_TEST_PYTHON, "-c", statement, NULL };
  int wait_status = 0;

  if (!g_file_test (UC_TEST_PYTHON, G_FILE_TEST_IS_EXECUTABLE))
    return FALSE;
  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &wait_status, NULL))
    return FALSE;
  return g_spawn_check_wait_status (wait_status, NULL);
}

/**
 * uc_test_ovs_find:
 * @ovs: (out caller-allocates): where to store what was found
 * @python_module: (nullable): the module of the ovs package the tests
 *   use, such as "ovs.unixctl.client"; %NULL if they use none
 *
 * Looks for the Open vSwitch programs once, in main(), so that tests
 * whose peers are missing are skipped (see uc_test_ovs_skip_missing()).
 * ovsdb-server is looked for in /usr/sbin too, outside a user's $PATH.
 */
void
uc_test_ovs_find (UcTestOvs *ovs, const char *python_module)
{
  ovs->appctl = g_find_program_in_path ("ovs-appctl");
  ovs->ovsdb_server = g_find_program_in_path ("ovsdb-server");
  if (ovs->ovsdb_server == NULL &&
      g_file_test ("/usr/sbin/ovsdb-server", G_FILE_TEST_IS_EXECUTABLE))
    ovs->ovsdb_server = g_strdup ("/usr/sbin/ovsdb-server");
  ovs->ovsdb_tool = g_find_program_in_path ("ovsdb-tool");
  if (!g_file_test (UC_TEST_OVSDB_SCHEMA, G_FILE_TEST_EXISTS))
    g_clear_pointer (&ovs->ovsdb_server, g_free);
  ovs->python = python_module != NULL && python_can_import (python_module);
}

/**
 * uc_test_ovs_clear:
 * @ovs: what uc_test_ovs_find() found
 *
 * Frees what @ovs holds.
 */
void
uc_test_ovs_clear (UcTestOvs *ovs)
{
  g_clear_pointer (&ovs->appctl, g_free);
  g_clear_pointer (&ovs->ovsdb_server, g_free);
  g_clear_pointer (&ovs->ovsdb_tool, g_free);
}

/**
 * uc_test_ovs_skip_missing:
 * @ovs: what uc_test_ovs_find() found
 * @needs: the #UcTestOvsPeers a test needs; other bits are ignored
 *
 * Marks the current test skipped, saying which package to install, if
 * one of the peers it needs is missing.
 *
 * Returns: %TRUE if the test was skipped, and must return at once
 */
gboolean
uc_test_ovs_skip_missing (const UcTestOvs *ovs, guint needs)
{
  if ((needs & UC_TEST_OVS_APPCTL) && ovs->appctl == NULL)
    g_test_skip ("ovs-appctl is not installed (openvswitch-common)");
  else if ((needs & UC_TEST_OVS_OVSDB) &&
           (ovs->ovsdb_server == NULL || ovs->ovsdb_tool == NULL))
    g_test_skip ("ovsdb-server is not installed (openvswitch-switch)");
  else if ((needs & UC_TEST_OVS_PYTHON) && !ovs->python)
    g_test_skip (UC_TEST_PYTHON " cannot import ovs (python3-openvswitch)");
  else
    return FALSE;
  return TRUE;
}

/**
 * uc_test_ovs_environ:
 * @rundir: the run directory, $OVS_RUNDIR, where ovs-appctl looks for
 *   pidfiles and sockets
 * @dir: the log and database directory, $OVS_LOGDIR and $OVS_DBDIR
 *
 * The environment for Open vSwitch programs and ours, run side by side:
 * this process's, with the directories set, $XDG_RUNTIME_DIR unset (so
 * that only $OVS_RUNDIR decides), the C locale (ovs-appctl never
 * translates, so compared messages are untranslated) and
 * `G_DEBUG=fatal-criticals`: a peer may make our programs warn, and they
 * must survive that, but a critical is a bug.
 *
 * Returns: (transfer full): the environment; free with g_strfreev()
 */
char **
uc_test_ovs_environ (const char *rundir, const char *dir)
{
  char **envp = g_get_environ ();

  envp = g_environ_setenv (envp, "LC_ALL", "C", TRUE);
  envp = g_environ_unsetenv (envp, "LANGUAGE");
  envp = g_environ_setenv (envp, "OVS_RUNDIR", rundir, TRUE);
  envp = g_environ_setenv (envp, "OVS_LOGDIR", dir, TRUE);
  envp = g_environ_setenv (envp, "OVS_DBDIR", dir, TRUE);
  envp = g_environ_unsetenv (envp, "XDG_RUNTIME_DIR");
  envp = g_environ_setenv (envp, "G_DEBUG", "fatal-criticals", TRUE);
  return envp;
}

/**
 * uc_test_ovsdb_create:
 * @ovsdb_tool: the ovsdb-tool to run (a path, or a name in $PATH)
 * @dir: the directory to make the database in
 * @error: return location for a #GError
 *
 * Makes `DIR/uctest.db`, a database of one small table, for a test or a
 * benchmark that runs an ovsdb-server for its control socket or its
 * JSON-RPC remotes and needs none of its data (nor an installed schema).
 * A database left there by a previous call is replaced.
 *
 * Returns: (transfer full): the path of the database, or %NULL with
 *   @error set
 */
char *
uc_test_ovsdb_create (const char *ovsdb_tool, const char *dir, GError **error)
{
  static const char schema[] =
    "{\"name\":\"uctest\",\"version\":\"1.0.0\",\"tables\":"
    "{\"t\":{\"columns\":{\"c\":{\"type\":\"integer\"}}}}}";
  g_autofree char *schema_path =
    g_build_filename (dir, "uctest.ovsschema", NULL);
  g_autofree char *db = g_build_filename (dir, "uctest.db", NULL);
  const char *argv[] = { ovsdb_tool, "create", db, schema_path, NULL };
  g_autoptr (GSubprocess) tool = NULL;

  if (!g_file_set_contents (schema_path, schema, -1, error))
    return NULL;
  g_unlink (db);
  tool = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, error);
  if (tool == NULL || !g_subprocess_wait_check (tool, NULL, error))
    return NULL;
  return g_steal_pointer (&db);
}

/**
 * uc_test_run:
 * @program: the program's path
 * @argv0: (nullable): the name it runs under, or %NULL for @program
 * @args: (array zero-terminated=1): its arguments, without argv[0]
 * @envp: (array zero-terminated=1): its environment
 * @output: (out caller-allocates): where its output goes
 *
 * Runs @program to its end, with nothing on its stdin, and collects what
 * it printed and its exit status.
 */
void
uc_test_run (const char *program,
             const char *argv0,
             const char *const *args,
             const char *const *envp,
             UcTestOutput *output)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *command_line = NULL;
  gint64 start;
  int wait_status = 0;

  g_ptr_array_add (argv, (gpointer) program);
  g_ptr_array_add (argv, (gpointer) (argv0 != NULL ? argv0 : program));
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  command_line = g_strjoinv (" ", (char **) argv->pdata + 1);
  g_test_message ("running: %s", command_line);

  start = g_get_monotonic_time ();
  g_spawn_sync (NULL, (char **) argv->pdata, (char **) envp,
                G_SPAWN_FILE_AND_ARGV_ZERO, NULL, NULL, &output->out,
                &output->err, &wait_status, &error);
  g_assert_no_error (error);
  output->elapsed_us = g_get_monotonic_time () - start;
  output->status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
}

/**
 * uc_test_output_clear:
 * @output: a #UcTestOutput
 *
 * Frees what @output holds.  The cleanup of `g_auto (UcTestOutput)`.
 */
void
uc_test_output_clear (UcTestOutput *output)
{
  g_clear_pointer (&output->out, g_free);
  g_clear_pointer (&output->err, g_free);
}

/**
 * uc_test_strip_vlog:
 * @text: what ovs-appctl wrote on stderr
 *
 * Drops ovs-appctl's timestamped vlog lines
 * ("2026-01-01T00:00:00Z|00001|unixctl|WARN|..."), which unixctl does not
 * print, before a comparison.
 *
 * Returns: (transfer full): @text without them
 */
char *
uc_test_strip_vlog (const char *text)
{
  g_autoptr (GRegex) log_line = NULL;
  g_autoptr (GError) error = NULL;
  char *stripped;

  log_line = g_regex_new ("^\\d{4}-\\d\\d-\\d\\dT[^\\n]*\\|[^\\n]*(\\n|$)",
                          G_REGEX_MULTILINE, 0, &error);
  g_assert_no_error (error);
  stripped = g_regex_replace_literal (log_line, text, -1, 0, "", 0, &error);
  g_assert_no_error (error);
  return stripped;
}

/**
 * uc_test_unixctl_stderr:
 * @text: what ovs-appctl wrote on stderr
 *
 * ovs-appctl's stderr as unixctl prints it in the same case: without the
 * vlog lines (see uc_test_strip_vlog()) and with our program name.
 *
 * Returns: (transfer full): the text unixctl must print
 */
char *
uc_test_unixctl_stderr (const char *text)
{
  g_autofree char *stripped = uc_test_strip_vlog (text);
  g_auto (GStrv) parts = g_strsplit (stripped, "ovs-appctl:", -1);

  return g_strjoinv ("unixctl:", parts);
}

/* Subprocesses. */

/**
 * uc_test_die_with_parent:
 * @signum: the signal, as GINT_TO_POINTER()
 *
 * A #GSpawnChildSetupFunc: the child gets @signum when the test process
 * dies, so that a test that aborts before its tear-down leaves no server
 * running.
 */
void
uc_test_die_with_parent (gpointer signum)
{
  prctl (PR_SET_PDEATHSIG, GPOINTER_TO_INT (signum));
}

/**
 * uc_test_subprocess_pid:
 * @process: a running process
 *
 * Returns: the process id of @process
 */
pid_t
uc_test_subprocess_pid (GSubprocess *process)
{
  const char *id = g_subprocess_get_identifier (process);

  g_assert_nonnull (id);
  return (pid_t) atol (id);
}

/**
 * uc_test_subprocess_wait:
 * @process: a process that is about to exit
 * @timeout_us: how long it may take, failing the test after that
 *
 * Waits for @process to exit.  GLib reaps children in its worker thread,
 * so this polls, which allows a deadline (g_subprocess_wait() has none).
 * Its output pipes, if any, are left for the caller to read.
 *
 * Returns: its exit status, or -1 if a signal killed it
 */
int
uc_test_subprocess_wait (GSubprocess *process, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  g_autoptr (GError) error = NULL;

  while (g_subprocess_get_identifier (process) != NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("process did not exit within %d s",
                 (int) (timeout_us / G_USEC_PER_SEC));
      g_usleep (UC_TEST_POLL_US);
    }
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (process))
    return -1;
  return g_subprocess_get_exit_status (process);
}

/**
 * uc_test_proc_count_fds:
 * @pid: a live process
 * @description: (out) (optional): where to store what each descriptor
 *   is, as " FD→TARGET" for each, for a failure message
 *
 * Counts the open descriptors of @pid, from /proc/PID/fd.
 *
 * Returns: how many it holds
 */
guint
uc_test_proc_count_fds (pid_t pid, char **description)
{
  g_autofree char *path = g_strdup_printf ("/proc/%ld/fd", (long) pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GString) text = g_string_new (NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (description != NULL)
        {
          g_autofree char *link = g_build_filename (path, name, NULL);
          g_autofree char *target = g_file_read_link (link, NULL);

          g_string_append_printf (text, " %s→%s", name,
                                  target != NULL ? target : "?");
        }
      n++;
    }
  if (description != NULL)
    *description = g_strdup (text->str);
  return n;
}

/**
 * uc_test_proc_rss_kib:
 * @pid: a live process
 *
 * Returns: the resident memory of @pid (VmRSS in /proc/PID/status), in
 *   KiB
 */
guint64
uc_test_proc_rss_kib (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%ld/status", (long) pid);
  g_autofree char *status = uc_test_read_file (path);
  const char *line = strstr (status, "\nVmRSS:");

  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("\nVmRSS:"), NULL, 10);
}

/* Sockets. */

static GSocket *
bind_address (GSocketAddress *address)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GError) error = NULL;

  socket =
    g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                  G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&socket);
}

/**
 * uc_test_bind_unix:
 * @path: where the socket goes; nothing may be there
 *
 * A unix stream socket bound at @path that does not listen yet: connects
 * to it are refused until the caller calls g_socket_listen().
 *
 * Returns: (transfer full): the socket
 */
GSocket *
uc_test_bind_unix (const char *path)
{
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);

  return bind_address (address);
}

/**
 * uc_test_bind_loopback:
 * @port: (out): the port the kernel picked
 *
 * A TCP socket bound to a free port of 127.0.0.1 that does not listen
 * yet: connects to the port are refused until the caller calls
 * g_socket_listen(), and no other socket can take it meanwhile.
 *
 * Returns: (transfer full): the socket
 */
GSocket *
uc_test_bind_loopback (guint16 *port)
{
  g_autoptr (GInetAddress) loopback =
    g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSocket) socket = bind_address (address);
  g_autoptr (GError) error = NULL;

  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return g_steal_pointer (&socket);
}

/**
 * uc_test_pick_free_port:
 *
 * A TCP port of 127.0.0.1 that was free a moment ago (bound to port 0,
 * read back and released), for a server that needs a fixed port on its
 * command line.
 *
 * Returns: the port
 */
guint16
uc_test_pick_free_port (void)
{
  guint16 port = 0;
  g_autoptr (GSocket) socket = uc_test_bind_loopback (&port);

  g_socket_close (socket, NULL);
  return port;
}

/**
 * uc_test_has_ipv6_loopback:
 *
 * Returns: %TRUE if a TCP socket can bind to ::1 here (containers and CI
 *   machines often have IPv6 disabled)
 */
gboolean
uc_test_has_ipv6_loopback (void)
{
  g_autoptr (GInetAddress) loopback =
    g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocket) socket = g_socket_new (
    G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);

  return socket != NULL && g_socket_bind (socket, address, TRUE, NULL);
}

/**
 * uc_test_connect:
 * @address: where to connect
 * @timeout_s: the I/O timeout of the connection, in seconds
 * @error: return location for a #GError
 *
 * Connects with a #GSocketClient, without a proxy: the proxy resolver
 * would read GSettings, absent in isolated directories.
 *
 * Returns: (transfer full): the connection; %NULL with @error set on
 *   failure
 */
GSocketConnection *
uc_test_connect (GSocketConnectable *address, guint timeout_s, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();

  g_socket_client_set_timeout (client, timeout_s);
  g_socket_client_set_enable_proxy (client, FALSE);
  return g_socket_client_connect (client, address, NULL, error);
}

static gboolean
on_socket_ready (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/**
 * uc_test_wait_socket:
 * @socket: a socket
 * @condition: what to wait for, such as %G_IO_IN
 *
 * Runs the default main context (the code under test) until @socket is
 * ready for @condition.
 */
void
uc_test_wait_socket (GSocket *socket, GIOCondition condition)
{
  g_autoptr (GSource) source = g_socket_create_source (socket, condition, NULL);
  gboolean ready = FALSE;

  g_source_set_callback (source, G_SOURCE_FUNC (on_socket_ready), &ready, NULL);
  g_source_attach (source, NULL);
  uc_test_wait_until (ready);
  g_source_destroy (source);
}

/**
 * uc_test_connect_unix:
 * @path: a listening unix socket
 * @timeout_s: the I/O timeout of the connection, in seconds
 *
 * Connects to @path, which must succeed.
 *
 * Returns: (transfer full): the connection
 */
GSocketConnection *
uc_test_connect_unix (const char *path, guint timeout_s)
{
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection;

  connection =
    uc_test_connect (G_SOCKET_CONNECTABLE (address), timeout_s, &error);
  g_assert_no_error (error);
  return connection;
}

/**
 * uc_test_wait_for_unix_socket:
 * @process: the server, just started
 * @path: the unix socket it is to listen on
 * @timeout_us: how long it may take to start, failing the test after that
 *
 * Connects to @path as soon as @process listens there.  Polled: a daemon
 * in the foreground has no readiness signal.
 *
 * Returns: (transfer full) (nullable): a connection to @path, with an
 *   I/O timeout of @timeout_us; or %NULL if @process exited first, for
 *   the caller to say why
 */
GSocketConnection *
uc_test_wait_for_unix_socket (GSubprocess *process,
                              const char *path,
                              gint64 timeout_us)
{
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  gint64 deadline = g_get_monotonic_time () + timeout_us;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      GSocketConnection *connection;

      connection =
        uc_test_connect (G_SOCKET_CONNECTABLE (address),
                         (guint) (timeout_us / G_USEC_PER_SEC), &error);
      if (connection != NULL)
        return connection;
      if (g_subprocess_get_identifier (process) == NULL)
        return NULL;
      if (g_get_monotonic_time () > deadline)
        g_error ("nothing listened on %s within %d s (%s)", path,
                 (int) (timeout_us / G_USEC_PER_SEC), error->message);
      g_usleep (UC_TEST_POLL_US);
    }
}

typedef struct
{
  GPtrArray *streams;     /* (unowned) */
  GPtrArray *connections; /* (unowned) (nullable) */
} Collector;

static void
collect_incoming_cb (UcPstream *pstream,
                     GIOStream *stream,
                     GSocketConnection *connection,
                     gpointer user_data)
{
  Collector *collector = user_data;

  g_ptr_array_add (collector->streams, g_object_ref (stream));
  if (collector->connections != NULL)
    g_ptr_array_add (collector->connections, g_object_ref (connection));
}

static void
collector_free (gpointer data, GClosure *closure)
{
  g_free (data);
}

/**
 * uc_test_collect_incoming:
 * @pstream: a listener
 * @streams: (element-type GIOStream): where each stream it hands out goes
 * @connections: (element-type GSocketConnection) (nullable): where the
 *   connection under each goes, or %NULL
 *
 * Keeps what #UcPstream::incoming hands out, in order, so that a test can
 * wait for it and use it.  The arrays must free their elements with
 * g_object_unref() and outlive @pstream.
 */
void
uc_test_collect_incoming (UcPstream *pstream,
                          GPtrArray *streams,
                          GPtrArray *connections)
{
  Collector *collector = g_new0 (Collector, 1);

  collector->streams = streams;
  collector->connections = connections;
  g_signal_connect_data (pstream, "incoming", G_CALLBACK (collect_incoming_cb),
                         collector, collector_free, 0);
}

/* JSON-RPC over a socket. */

/**
 * uc_test_send_all:
 * @socket: a blocking socket
 * @data: (array length=length): the bytes
 * @length: how many
 *
 * Sends all of @data, which must succeed.
 */
void
uc_test_send_all (GSocket *socket, const char *data, gsize length)
{
  while (length > 0)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_send (socket, data, length, NULL, &error);

      g_assert_no_error (error);
      data += n;
      length -= (gsize) n;
    }
}

/**
 * uc_test_send_text:
 * @socket: a blocking socket
 * @text: a string
 *
 * Sends all of @text, without its NUL, which must succeed.
 */
void
uc_test_send_text (GSocket *socket, const char *text)
{
  uc_test_send_all (socket, text, strlen (text));
}

/**
 * uc_test_receive_message:
 * @socket: a blocking socket
 *
 * Reads the next JSON-RPC message from @socket, framed as unixctld frames
 * it.  The socket is read one byte at a time, so that nothing past the
 * message is taken: a pipelined message stays for the next call.  An end
 * of the stream inside a message, and anything the framer refuses, fail
 * the test.
 *
 * Returns: (transfer full) (nullable): the message's text; %NULL if the
 *   stream ended cleanly before it
 */
char *
uc_test_receive_message (GSocket *socket)
{
  g_autoptr (UcJsonFramer) framer = uc_json_framer_new (
    UC_JSON_DEFAULT_MAX_MESSAGE_SIZE, UC_JSON_DEFAULT_MAX_DEPTH);

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      UcJsonFramerStatus status;
      gsize consumed = 0;
      char byte;
      gssize n;

      n = g_socket_receive (socket, &byte, 1, NULL, &error);
      g_assert_no_error (error);
      if (n == 0)
        {
          g_assert_true (uc_json_framer_is_idle (framer));
          return NULL;
        }
      status = uc_json_framer_feed (framer, &byte, 1, &consumed, &error);
      g_assert_no_error (error);
      if (status == UC_JSON_FRAMER_MESSAGE)
        return uc_json_framer_take_message (framer, NULL);
    }
}

/**
 * uc_test_receive_object:
 * @socket: a blocking socket
 *
 * Reads the next message from @socket (see uc_test_receive_message()),
 * which must come and be a JSON object.
 *
 * Returns: (transfer full): the object
 */
JsonObject *
uc_test_receive_object (GSocket *socket)
{
  g_autofree char *text = uc_test_receive_message (socket);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonNode *root;

  g_assert_nonnull (text);
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

/**
 * uc_test_transact:
 * @socket: a blocking socket connected to a unixctl server
 * @method: the command
 * @params: (array zero-terminated=1) (nullable): its arguments
 *
 * Sends a request with an id of its own and reads the reply, which must
 * carry that id.
 *
 * Returns: (transfer full): the reply
 */
JsonObject *
uc_test_transact (GSocket *socket,
                  const char *method,
                  const char *const *params)
{
  static gint64 next_id = 1;
  gint64 id = next_id++;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) request = NULL;
  g_autofree char *text = NULL;
  JsonObject *reply;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "method");
  json_builder_add_string_value (builder, method);
  json_builder_set_member_name (builder, "params");
  json_builder_begin_array (builder);
  for (gsize i = 0; params != NULL && params[i] != NULL; i++)
    json_builder_add_string_value (builder, params[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, id);
  json_builder_end_object (builder);
  request = json_builder_get_root (builder);
  text = json_to_string (request, FALSE);

  uc_test_send_text (socket, text);
  reply = uc_test_receive_object (socket);
  g_assert_cmpint (json_object_get_int_member (reply, "id"), ==, id);
  return reply;
}

/**
 * uc_test_call:
 * @socket: a blocking socket connected to a unixctl server
 * @method: the command
 * @params: (array zero-terminated=1) (nullable): its arguments
 *
 * Runs uc_test_transact(), whose reply must be a success: a null or
 * absent error.
 *
 * Returns: (transfer full): the result
 */
JsonNode *
uc_test_call (GSocket *socket, const char *method, const char *const *params)
{
  g_autoptr (JsonObject) reply = uc_test_transact (socket, method, params);
  JsonNode *error = json_object_get_member (reply, "error");
  JsonNode *result = json_object_get_member (reply, "result");

  g_assert_true (error == NULL || JSON_NODE_HOLDS_NULL (error));
  g_assert_nonnull (result);
  return json_node_copy (result);
}

/* Commands in-process. */

static void
on_dispatch_reply (UcRequest *request,
                   gboolean success,
                   JsonNode *body,
                   gpointer user_data)
{
  UcTestReply *reply = user_data;

  reply->done = TRUE;
  reply->success = success;
  reply->body = json_node_ref (body);
}

/**
 * uc_test_cmd_echo:
 * @request: a request
 * @user_data: unused
 *
 * A #UcCommandFunc for tests, registered as `echo ARG...`: answers at
 * once with its arguments joined by spaces.
 */
void
uc_test_cmd_echo (UcRequest *request, gpointer user_data)
{
  g_autofree char *text =
    g_strjoinv (" ", (char **) uc_request_get_argv (request) + 1);

  uc_request_reply (request, text);
}

/**
 * uc_test_request_new:
 * @argv: (array zero-terminated=1): the command, then its arguments
 * @format: the output format of the request
 * @reply: (out caller-allocates): an empty reply, to fill in; it must
 *   outlive the answer
 *
 * Makes a request with no transport behind it: its answer goes to
 * @reply.
 *
 * Returns: (transfer full): the request, for uc_server_dispatch()
 */
UcRequest *
uc_test_request_new (const char *const *argv,
                     UcOutputFormat format,
                     UcTestReply *reply)
{
  g_assert_false (reply->done);
  return uc_request_new (argv, format, NULL, on_dispatch_reply, reply, NULL);
}

/**
 * uc_test_dispatch:
 * @server: a server
 * @format: the output format of the request
 * @argv: (array zero-terminated=1): the command, then its arguments
 * @reply: (out caller-allocates): an empty reply, to fill in
 *
 * Runs @argv on @server as a transport would, with uc_server_dispatch(),
 * and waits for the answer: a deferred one too.
 */
void
uc_test_dispatch (UcServer *server,
                  UcOutputFormat format,
                  const char *const *argv,
                  UcTestReply *reply)
{
  g_autoptr (UcRequest) request = uc_test_request_new (argv, format, reply);

  uc_server_dispatch (server, request);
  uc_test_wait_until (reply->done);
}

/**
 * uc_test_reply_get_text:
 * @reply: an answer, in text mode
 *
 * Returns: (transfer none): its text, with the newline that ends a
 *   non-empty text on the wire
 */
const char *
uc_test_reply_get_text (const UcTestReply *reply)
{
  g_assert_true (JSON_NODE_HOLDS_VALUE (reply->body));
  return json_node_get_string (reply->body);
}

/**
 * uc_test_reply_clear:
 * @reply: an answer
 *
 * Frees what @reply holds and empties it, for reuse.
 */
void
uc_test_reply_clear (UcTestReply *reply)
{
  g_clear_pointer (&reply->body, json_node_unref);
  reply->done = FALSE;
  reply->success = FALSE;
}

/* The test PKI. */

/* Runs `openssl @args` in @dir, which must succeed. */
static void
openssl (const char *dir, const char *first_arg, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int wait_status = 0;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) "openssl");
  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL;
       arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (dir, (char **) argv->pdata, NULL,
                G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                NULL, &err, &wait_status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (wait_status, &error))
    g_error ("openssl %s failed: %s\n%s", first_arg, error->message, err);
}

/* The extensions of a CA certificate and of the others, and what
 * `openssl ca` needs to sign with set dates.  A file of our own, so that
 * the system's openssl.cnf does not decide what the certificates hold. */
static const char openssl_cnf[] =
  "[req]\n"
  "distinguished_name = dn\n"
  "[dn]\n"
  "[ca_ext]\n"
  "basicConstraints = critical, CA:true\n"
  "keyUsage = critical, keyCertSign, cRLSign\n"
  "subjectKeyIdentifier = hash\n"
  "[peer_ext]\n"
  "basicConstraints = CA:false\n"
  "keyUsage = critical, digitalSignature, keyEncipherment\n"
  "extendedKeyUsage = serverAuth, clientAuth\n"
  "[ca]\n"
  "default_ca = ca_default\n"
  "[ca_default]\n"
  "database = index.txt\n"
  "new_certs_dir = .\n"
  "serial = serial\n"
  "default_md = sha256\n"
  "policy = policy_any\n"
  "unique_subject = no\n"
  "x509_extensions = peer_ext\n"
  "[policy_any]\n"
  "commonName = supplied\n";

static void
make_key (const char *dir, const char *name)
{
  g_autofree char *key = g_strconcat (name, "-key.pem", NULL);

  openssl (dir, "genpkey", "-algorithm", "EC", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-out", key, NULL);
}

/* NAME-key.pem and NAME-cert.pem, a self-signed CA. */
static void
make_ca (const char *dir, const char *name)
{
  g_autofree char *key = g_strconcat (name, "-key.pem", NULL);
  g_autofree char *cert = g_strconcat (name, "-cert.pem", NULL);
  g_autofree char *subject = g_strconcat ("/CN=test-tls ", name, NULL);

  make_key (dir, name);
  openssl (dir, "req", "-config", "openssl.cnf", "-x509", "-new", "-key", key,
           "-subj", subject, "-days", "3650", "-extensions", "ca_ext", "-out",
           cert, NULL);
}

/* NAME-key.pem and NAME.csr, a request for a peer certificate. */
static void
make_request (const char *dir, const char *name)
{
  g_autofree char *key = g_strconcat (name, "-key.pem", NULL);
  g_autofree char *csr = g_strconcat (name, ".csr", NULL);
  g_autofree char *subject = g_strconcat ("/CN=test-tls ", name, NULL);

  make_key (dir, name);
  openssl (dir, "req", "-config", "openssl.cnf", "-new", "-key", key, "-subj",
           subject, "-out", csr, NULL);
}

/* NAME-key.pem and NAME-cert.pem, signed by the CA @ca, valid now. */
static void
make_peer (const char *dir, const char *name, const char *ca)
{
  g_autofree char *csr = g_strconcat (name, ".csr", NULL);
  g_autofree char *cert = g_strconcat (name, "-cert.pem", NULL);
  g_autofree char *ca_key = g_strconcat (ca, "-key.pem", NULL);
  g_autofree char *ca_cert = g_strconcat (ca, "-cert.pem", NULL);

  make_request (dir, name);
  openssl (dir, "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
           "-CAcreateserial", "-days", "3650", "-extfile", "openssl.cnf",
           "-extensions", "peer_ext", "-out", cert, NULL);
}

/**
 * uc_test_pki_make:
 * @pki: (out caller-allocates): where to store the paths
 * @prefix: the start of the new directory's name, such as "test-tls"
 *
 * Makes, with the `openssl` command, in a new temporary directory, what
 * the TLS tests and benchmarks use: a CA with a server and a client
 * certificate, a rogue CA with a certificate of its own, a certificate of
 * the CA that expired long ago, and a file that is not PEM.  EC keys, so
 * that this takes a fraction of a second.  A failure of `openssl` fails
 * the test.  Free it with uc_test_pki_clear().
 */
void
uc_test_pki_make (UcTestPki *pki, const char *prefix)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cnf = NULL;
  g_autofree char *index = NULL;
  g_autofree char *serial = NULL;
  g_autofree char *tmpl = g_strconcat (prefix, "-pki-XXXXXX", NULL);

  pki->dir = g_dir_make_tmp (tmpl, &error);
  g_assert_no_error (error);
  cnf = g_build_filename (pki->dir, "openssl.cnf", NULL);
  index = g_build_filename (pki->dir, "index.txt", NULL);
  serial = g_build_filename (pki->dir, "serial", NULL);
  uc_test_write_file (cnf, openssl_cnf);
  uc_test_write_file (index, "");
  uc_test_write_file (serial, "1000\n");

  make_ca (pki->dir, "ca");
  make_peer (pki->dir, "server", "ca");
  make_peer (pki->dir, "client", "ca");
  make_ca (pki->dir, "rogue-ca");
  make_peer (pki->dir, "rogue", "rogue-ca");
  /* `openssl x509 -days` cannot go back in time; `openssl ca` takes
   * dates. */
  make_request (pki->dir, "expired");
  openssl (pki->dir, "ca", "-config", "openssl.cnf", "-batch", "-notext",
           "-cert", "ca-cert.pem", "-keyfile", "ca-key.pem", "-in",
           "expired.csr", "-out", "expired-cert.pem", "-startdate",
           "20000101000000Z", "-enddate", "20010101000000Z", NULL);

  pki->ca_cert = g_build_filename (pki->dir, "ca-cert.pem", NULL);
  pki->server_key = g_build_filename (pki->dir, "server-key.pem", NULL);
  pki->server_cert = g_build_filename (pki->dir, "server-cert.pem", NULL);
  pki->client_key = g_build_filename (pki->dir, "client-key.pem", NULL);
  pki->client_cert = g_build_filename (pki->dir, "client-cert.pem", NULL);
  pki->rogue_ca_cert = g_build_filename (pki->dir, "rogue-ca-cert.pem", NULL);
  pki->rogue_key = g_build_filename (pki->dir, "rogue-key.pem", NULL);
  pki->rogue_cert = g_build_filename (pki->dir, "rogue-cert.pem", NULL);
  pki->expired_key = g_build_filename (pki->dir, "expired-key.pem", NULL);
  pki->expired_cert = g_build_filename (pki->dir, "expired-cert.pem", NULL);
  pki->garbage = g_build_filename (pki->dir, "garbage.pem", NULL);
  uc_test_write_file (pki->garbage, "this is not a PEM file\n");
}

/**
 * uc_test_pki_clear:
 * @pki: what uc_test_pki_make() made, or all zeroes
 *
 * Removes the directory of @pki with everything in it, and frees and
 * clears the paths, so that @pki may be made again.
 */
void
uc_test_pki_clear (UcTestPki *pki)
{
  if (pki->dir != NULL)
    uc_test_rm_rf (pki->dir);
  g_clear_pointer (&pki->dir, g_free);
  g_clear_pointer (&pki->ca_cert, g_free);
  g_clear_pointer (&pki->server_key, g_free);
  g_clear_pointer (&pki->server_cert, g_free);
  g_clear_pointer (&pki->client_key, g_free);
  g_clear_pointer (&pki->client_cert, g_free);
  g_clear_pointer (&pki->rogue_ca_cert, g_free);
  g_clear_pointer (&pki->rogue_key, g_free);
  g_clear_pointer (&pki->rogue_cert, g_free);
  g_clear_pointer (&pki->expired_key, g_free);
  g_clear_pointer (&pki->expired_cert, g_free);
  g_clear_pointer (&pki->garbage, g_free);
}

/* Benchmarks. */

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/**
 * uc_test_median:
 * @values: (array length=n_values): figures; sorted in place
 * @n_values: how many, at least one
 *
 * The figure a benchmark reports from its rounds: a burst of load on the
 * machine moves the median less than the mean.
 *
 * Returns: the middle figure (the upper middle one of an even count)
 */
double
uc_test_median (double *values, guint n_values)
{
  g_assert_cmpuint (n_values, >, 0);
  qsort (values, n_values, sizeof (double), compare_doubles);
  return values[n_values / 2];
}

/* The worker. */

typedef struct
{
  UcWorker *worker; /* (unowned) */
  GBytes *payload;  /* (unowned) (nullable) */
  GUnixFDList *fds; /* (unowned) (nullable) */
  int n_fds;
  guint window;
  guint64 n_pings; /* how many to send */
  gint64 deadline_us;
  guint64 n_sent;
  guint64 n_done;
} PingFlood;

static void ping_flood_send (PingFlood *flood);

static void
on_flood_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PingFlood *flood = user_data;
  g_autoptr (GUnixFDList) back = NULL;
  g_autoptr (GBytes) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = uc_worker_call_finish (UC_WORKER (source), result, &back, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back != NULL ? g_unix_fd_list_get_length (back) : 0, ==,
                   flood->n_fds);
  flood->n_done++;
  /* The clock is read once per window, not per reply. */
  if (flood->deadline_us > 0 && flood->n_done % flood->window == 0 &&
      g_get_monotonic_time () >= flood->deadline_us)
    flood->n_pings = flood->n_sent;
  if (flood->n_sent < flood->n_pings)
    ping_flood_send (flood);
}

static void
ping_flood_send (PingFlood *flood)
{
  flood->n_sent++;
  uc_worker_call_async (flood->worker, UC_WORKER_METHOD_PING, flood->payload,
                        flood->fds, NULL, on_flood_reply, flood);
}

/**
 * uc_test_ping_flood:
 * @worker: a running worker
 * @payload: (nullable): what each ping sends
 * @fds: (nullable): descriptors each ping sends, and gets back
 * @window: pings kept outstanding: each reply's callback sends the next
 * @n_pings: how many to send at most
 * @deadline_us: monotonic time after which no more are sent; 0 for none
 *
 * Pipelines pings through @worker, iterating the default main context,
 * until @n_pings are answered or the deadline has passed.  Each must
 * succeed and bring back as many descriptors as it sent, which are closed
 * at once.  The deadline is checked once per @window replies.
 *
 * Returns: the pings answered
 */
guint64
uc_test_ping_flood (UcWorker *worker,
                    GBytes *payload,
                    GUnixFDList *fds,
                    guint window,
                    guint64 n_pings,
                    gint64 deadline_us)
{
  PingFlood flood = { worker,  payload,     fds, 0, window,
                      n_pings, deadline_us, 0,   0 };

  g_assert_cmpuint (window, >, 0);
  flood.n_fds = fds != NULL ? g_unix_fd_list_get_length (fds) : 0;
  while (flood.n_sent < MIN (window, n_pings))
    ping_flood_send (&flood);
  while (flood.n_done < flood.n_sent)
    g_main_context_iteration (NULL, TRUE);
  return flood.n_done;
}

/**
 * uc_test_process_cpu_us:
 * @pid: a process
 *
 * The CPU time @pid has used, in µs, over all its threads, those that
 * have exited included (not /proc/PID/schedstat, which counts the main
 * thread only: GIO runs TLS handshakes in threads of its pool).
 *
 * Returns: the CPU time, or 0 if it cannot be read
 */
double
uc_test_process_cpu_us (pid_t pid)
{
  struct timespec ts;
  clockid_t clock;

  if (clock_getcpuclockid (pid, &clock) != 0 || clock_gettime (clock, &ts) != 0)
    return 0;
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/**
 * uc_test_scan_replies:
 * @scanner: where the previous call left off
 * @data: the bytes that follow
 * @length: how many
 *
 * Counts the JSON-RPC replies that @data completes: a reply is one JSON
 * object, so its end is the closing bracket that brings the depth back to
 * zero, outside strings.
 *
 * Returns: the number of replies completed in @data
 */
guint
uc_test_scan_replies (UcTestReplyScanner *scanner,
                      const char *data,
                      gsize length)
{
  guint n = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      if (scanner->in_string)
        {
          if (scanner->escaped)
            scanner->escaped = FALSE;
          else if (c == '\\')
            scanner->escaped = TRUE;
          else if (c == '"')
            scanner->in_string = FALSE;
        }
      else if (c == '"')
        scanner->in_string = TRUE;
      else if (c == '{' || c == '[')
        scanner->depth++;
      else if ((c == '}' || c == ']') && --scanner->depth == 0)
        n++;
    }
  return n;
}

/**
 * uc_test_print_comparison_header:
 * @last_column: the title of the last column ("target", "note")
 *
 * Prints the header of a benchmark's table: unixctld's figures beside
 * ovsdb-server's, measured in the same run (see
 * uc_test_print_comparison_row()).
 */
void
uc_test_print_comparison_header (const char *last_column)
{
  g_print ("\n%-34s %12s %12s  %-6s %7s   %s\n", "measure", "unixctld",
           "ovsdb-server", "unit", "better", last_column);
}

/**
 * uc_test_print_comparison_row:
 * @decimals: how many decimals the figures get
 * @what: what was measured
 * @ours: unixctld's figure
 * @theirs: ovsdb-server's figure, or 0 if it was not measured
 * @unit: the figures' unit
 * @higher_is_better: whether a higher figure is better
 * @note: the target, or a note
 *
 * Prints one row of a benchmark's table, with how many times better ours
 * is (a ratio above 1 is better whichever way the figure goes; 0 when
 * either figure is missing).
 */
void
uc_test_print_comparison_row (int decimals,
                              const char *what,
                              double ours,
                              double theirs,
                              const char *unit,
                              gboolean higher_is_better,
                              const char *note)
{
  double ratio = 0;

  if (theirs > 0 && ours > 0)
    ratio = higher_is_better ? ours / theirs : theirs / ours;
  g_print ("%-34s %12.*f %12.*f  %-6s %6.2fx   %s\n", what, decimals, ours,
           decimals, theirs, unit, ratio, note);
}
