/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-vlog: what logging to a file costs, and what it does not cost the
 * control socket.
 *
 *  1. Lines per second into the log file, from g_message() to the disk,
 *     in this process: through the worker (UcLogWriter's appends, the
 *     daemon's way), written here by the writer itself (--no-worker's
 *     way), and, as the floor, one write(2) per preformatted line with no
 *     logging at all.  Each figure includes waiting until the last line
 *     is in the file.
 *  2. The latency of `version` over the control socket, a new connection
 *     each time (as ovs-appctl makes them), against a unixctld that logs
 *     every connection to its file: with its worker running, and with the
 *     worker stopped (SIGSTOP), when the lines can only pile up in
 *     memory.  The two should read the same: the main loop never waits
 *     for the disk or the worker.  Beside them, in the same rounds, a real
 *     ovsdb-server that logs the same connections to its own file, which
 *     it writes from its main loop.
 *
 * Conditions are measured in interleaved rounds; figures are medians.
 * Nothing here asserts on time.
 */
#define G_LOG_DOMAIN "bench"

#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uc-coverage.h"
#include "uc-log-writer.h"
#include "uc-test-util.h"
#include "uc-vlog.h"
#include "uc-worker.h"

#define ROUNDS          5
#define LINES_PER_ROUND 50000
#define LINES_PER_BATCH 500
#define REQUESTS        400 /* per round and condition */
#define DEADLINE_S      30

static double
now_s (void)
{
  return g_get_monotonic_time () / (double) G_USEC_PER_SEC;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
on_flushed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  uc_log_writer_flush_finish (UC_LOG_WRITER (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

/* Logs LINES_PER_ROUND messages, a batch per main loop iteration, and
 * waits until they are in the file.  Returns lines per second. */
static double
log_round (UcLogWriter *writer)
{
  gboolean done = FALSE;
  double start = now_s ();

  for (guint i = 0; i < LINES_PER_ROUND; i++)
    {
      g_message ("request %u from unix#%u: version", i, i % 64);
      if (i % LINES_PER_BATCH == LINES_PER_BATCH - 1)
        while (g_main_context_iteration (NULL, FALSE))
          ;
    }
  uc_log_writer_flush_async (writer, NULL, on_flushed, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  return LINES_PER_ROUND / (now_s () - start);
}

/* One write(2) per line of the same length, preformatted. */
static double
raw_round (const char *path)
{
  char line[96];
  double start = now_s ();
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

  g_assert_cmpint (fd, >=, 0);
  memset (line, 'x', sizeof line - 1);
  line[sizeof line - 1] = '\n';
  for (guint i = 0; i < LINES_PER_ROUND; i++)
    g_assert_cmpint (write (fd, line, sizeof line), ==, sizeof line);
  close (fd);
  return LINES_PER_ROUND / (now_s () - start);
}

static void
bench_lines (const char *dir)
{
  g_autofree char *worker_log = g_build_filename (dir, "worker.log", NULL);
  g_autofree char *direct_log = g_build_filename (dir, "direct.log", NULL);
  g_autofree char *raw_log = g_build_filename (dir, "raw.log", NULL);
  g_autoptr (UcVlog) through_worker = uc_vlog_new ("bench");
  g_autoptr (UcVlog) direct = uc_vlog_new ("bench");
  g_autoptr (UcWorker) worker = uc_worker_new (NULL);
  g_autoptr (GError) error = NULL;
  double worker_rates[ROUNDS];
  double direct_rates[ROUNDS];
  double raw_rates[ROUNDS];
  guint64 appends_before = 0;
  guint64 appends_after = 0;
  UcVlog *vlogs[] = { through_worker, direct };

  if (!uc_worker_start (worker, &error))
    g_error ("cannot start the worker: %s", error->message);
  for (gsize v = 0; v < G_N_ELEMENTS (vlogs); v++)
    {
      uc_vlog_set_levels (vlogs[v], NULL, UC_VLOG_DESTINATION_CONSOLE,
                          UC_VLOG_LEVEL_OFF);
      uc_vlog_set_levels (vlogs[v], NULL, UC_VLOG_DESTINATION_SYSLOG,
                          UC_VLOG_LEVEL_OFF);
    }
  uc_vlog_install (through_worker);
  uc_vlog_set_log_file (through_worker, worker_log, NULL);
  uc_vlog_set_worker (through_worker, worker);
  uc_vlog_install (direct);
  uc_vlog_set_log_file (direct, direct_log, NULL);
  uc_vlog_set_worker (direct, NULL);

  uc_coverage_read_counter ("vlog_file_append", &appends_before);
  for (guint r = 0; r < ROUNDS; r++)
    {
      uc_vlog_install (through_worker);
      worker_rates[r] = log_round (uc_vlog_get_log_writer (through_worker));
      uc_vlog_install (direct);
      direct_rates[r] = log_round (uc_vlog_get_log_writer (direct));
      raw_rates[r] = raw_round (raw_log);
    }
  uc_coverage_read_counter ("vlog_file_append", &appends_after);
  uc_vlog_uninstall (direct);

  g_print ("\nLog lines into a file (%u lines a round, %u per main loop "
           "iteration, median of %u rounds):\n",
           LINES_PER_ROUND, LINES_PER_BATCH, ROUNDS);
  g_print ("%-44s %12s\n", "path", "lines/s");
  g_print ("%-44s %12.0f\n", "g_message() -> vlog -> worker append",
           uc_test_median (worker_rates, ROUNDS));
  g_print ("%-44s %12.0f\n", "g_message() -> vlog -> pwrite() here",
           uc_test_median (direct_rates, ROUNDS));
  g_print ("%-44s %12.0f\n", "raw write(2) per preformatted line",
           uc_test_median (raw_rates, ROUNDS));
  g_print ("worker appends: %.1f per 1000 lines\n",
           (appends_after - appends_before) * 1000.0 /
             (ROUNDS * LINES_PER_ROUND));
}

/* The daemon. */

typedef struct
{
  char *dir;           /* (unowned) */
  char *socket;        /* (owned) */
  GSubprocess *daemon; /* (owned) */
  GPid worker;
} Daemon;

static GPid
worker_pid (Daemon *daemon)
{
  g_autoptr (GSocketConnection) connection =
    uc_test_connect_unix (daemon->socket, DEADLINE_S);
  const char *const json[] = { "--format", "json", NULL };
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr (JsonNode) status = NULL;

  json_node_unref (uc_test_call (socket, "set-options", json));
  status = uc_test_call (socket, "worker/status", NULL);

  return (GPid) json_object_get_int_member (json_node_get_object (status),
                                            "pid");
}

static void
start_daemon (Daemon *daemon)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autofree char *log = g_build_filename (daemon->dir, "unixctld.log", NULL);
  g_autofree char *log_option = g_strconcat ("--log-file=", log, NULL);
  g_autofree char *unixctl = NULL;
  g_autoptr (GSocketConnection) probe = NULL;
  g_autoptr (GError) error = NULL;

  daemon->socket = g_build_filename (daemon->dir, "ctl", NULL);
  unixctl = g_strconcat ("--unixctl=", daemon->socket, NULL);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  daemon->daemon = g_subprocess_launcher_spawn (
    launcher, &error, g_getenv ("UNIXCTLD"), unixctl, log_option,
    "-vconsole:off", "-vsyslog:off", "-vunixctl:file:dbg", "-vjsonrpc:file:dbg",
    NULL);
  if (daemon->daemon == NULL)
    g_error ("cannot start unixctld: %s", error->message);
  probe = uc_test_wait_for_unix_socket (daemon->daemon, daemon->socket,
                                        DEADLINE_S * G_USEC_PER_SEC);
  g_assert_nonnull (probe);
  daemon->worker = worker_pid (daemon);
}

/* A real ovsdb-server logging every connection to its file, as the
 * daemon above does; %NULL if it is not installed. */
static GSubprocess *
start_ovsdb_server (const char *dir, char **socket_out)
{
  UcTestOvs ovs = { 0 };
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) tool = NULL;
  g_autoptr (GSubprocess) server = NULL;
  g_autoptr (GSocketConnection) probe = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *db = g_build_filename (dir, "ovsdb.db", NULL);
  g_autofree char *socket = g_build_filename (dir, "ovsdb-server.ctl", NULL);
  g_autofree char *unixctl = g_strconcat ("--unixctl=", socket, NULL);
  g_autofree char *log =
    g_strdup_printf ("--log-file=%s/ovsdb-server.log", dir);

  uc_test_ovs_find (&ovs, NULL);
  if (ovs.ovsdb_server == NULL)
    {
      uc_test_ovs_clear (&ovs);
      return NULL;
    }

  tool = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, ovs.ovsdb_tool,
                           "create", db, UC_TEST_OVSDB_SCHEMA, NULL);
  if (tool == NULL || !g_subprocess_wait_check (tool, NULL, &error))
    g_error ("ovsdb-tool create: %s", error->message);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  server = g_subprocess_launcher_spawn (
    launcher, &error, ovs.ovsdb_server, unixctl, log, "--no-chdir",
    "-vconsole:off", "-vsyslog:off", "-vunixctl:file:dbg", "-vjsonrpc:file:dbg",
    db, NULL);
  if (server == NULL)
    g_error ("cannot start ovsdb-server: %s", error->message);
  probe =
    uc_test_wait_for_unix_socket (server, socket, DEADLINE_S * G_USEC_PER_SEC);
  g_assert_nonnull (probe);
  uc_test_ovs_clear (&ovs);
  *socket_out = g_steal_pointer (&socket);
  return g_steal_pointer (&server);
}

/* One `version` on a new connection to @socket_path; returns how long it
 * took. */
static double
request (const char *socket_path)
{
  double start = now_s ();
  g_autoptr (GSocketConnection) connection =
    uc_test_connect_unix (socket_path, DEADLINE_S);

  json_node_unref (uc_test_call (g_socket_connection_get_socket (connection),
                                 "version", NULL));
  return now_s () - start;
}

/* @n requests to @socket_path, their times appended to @times. */
static void
request_round (const char *socket_path, GArray *times, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      double t = request (socket_path);

      g_array_append_val (times, t);
    }
}

static void
bench_latency (const char *dir)
{
  Daemon daemon = { (char *) dir };
  g_autoptr (GArray) running = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) stopped = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) theirs = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GSubprocess) ovsdb = NULL;
  g_autofree char *ovsdb_socket = NULL;
  GArray *arrays[] = { running, stopped, theirs };
  const char *names[] = { "worker running", "worker stopped (SIGSTOP)",
                          "ovsdb-server" };

  start_daemon (&daemon);
  ovsdb = start_ovsdb_server (dir, &ovsdb_socket);
  for (guint r = 0; r < ROUNDS; r++)
    {
      request_round (daemon.socket, running, REQUESTS);
      kill (daemon.worker, SIGSTOP);
      request_round (daemon.socket, stopped, REQUESTS);
      kill (daemon.worker, SIGCONT);
      if (ovsdb != NULL)
        request_round (ovsdb_socket, theirs, REQUESTS);
    }

  g_print ("\nControl requests: `version` on a new connection each, against a "
           "unixctld logging\nevery connection to its file, and an "
           "ovsdb-server doing the same (%u requests a\ncondition):\n",
           ROUNDS * REQUESTS);
  g_print ("%-28s %10s %10s %10s\n", "condition", "p50 us", "p99 us", "max us");
  for (gsize a = 0; a < G_N_ELEMENTS (arrays); a++)
    {
      double *values = &g_array_index (arrays[a], double, 0);
      guint n = arrays[a]->len;

      if (n == 0)
        {
          g_print ("%-28s %10s\n", names[a], "(not installed)");
          continue;
        }
      qsort (values, n, sizeof *values, compare_doubles);
      g_print ("%-28s %10.1f %10.1f %10.1f\n", names[a], values[n / 2] * 1e6,
               values[n * 99 / 100] * 1e6, values[n - 1] * 1e6);
    }

  if (ovsdb != NULL)
    {
      g_subprocess_send_signal (ovsdb, SIGTERM);
      uc_test_subprocess_wait (ovsdb, DEADLINE_S * G_USEC_PER_SEC);
    }
  g_subprocess_send_signal (daemon.daemon, SIGTERM);
  uc_test_subprocess_wait (daemon.daemon, DEADLINE_S * G_USEC_PER_SEC);
  g_clear_object (&daemon.daemon);
  g_clear_pointer (&daemon.socket, g_free);
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = NULL;

  if (g_getenv ("UNIXCTLD") == NULL || g_getenv ("UNIXCTLD_WORKER") == NULL)
    {
      g_printerr ("bench-vlog: set UNIXCTLD and UNIXCTLD_WORKER (meson "
                  "does)\n");
      return EXIT_FAILURE;
    }
  dir = g_dir_make_tmp ("bench-vlog-XXXXXX", NULL);
  g_assert_nonnull (dir);

  bench_lines (dir);
  bench_latency (dir);

  uc_test_rm_rf (dir);
  return EXIT_SUCCESS;
}
