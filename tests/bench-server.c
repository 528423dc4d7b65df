/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-server: the control server measured beside a real ovsdb-server.
 *
 * Both daemons are started here, in the same run, and driven by the same
 * raw-socket client, so the figures differ only by the server:
 *
 *  1. one connection, sequential `version` requests, client and server
 *     pinned to the same CPU: requests/s and server CPU µs per request,
 *     the medians of rounds that take turns between the servers.  A third
 *     server takes its turns too: bench-floor-server, which makes the
 *     system calls of a request and does nothing else, so its rate over
 *     ovsdb-server's is the best ratio this machine allows any server;
 *  2. 1,000 concurrent connections, each sending `version` as soon as the
 *     previous reply arrives: aggregate requests/s, p99 latency, the time
 *     to open them all and the connects refused;
 *  3. one-shot `unixctl -t SOCKET version` against `ovs-appctl -t SOCKET
 *     version`, both against the same server, taking turns;
 *  4. resident memory after start and after the 1,000-connection run.
 *
 * The targets of the issue are printed beside each ratio.  Nothing here
 * asserts on time: a slow machine gives slow figures, never a failure.
 */
#define G_LOG_DOMAIN "bench"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uc-test-util.h"

extern char **environ;

/* The sequential figures are the medians of rounds that alternate
 * between the two servers, so that a change in the machine's load during
 * the run weighs on both alike. */
#define SEQUENTIAL_ROUNDS      5
#define SEQUENTIAL_SECONDS     0.6
#define N_SEQUENTIAL_TARGETS   3
#define CONCURRENT_CONNECTIONS 1000
#define CONCURRENT_SECONDS     3.0
#define ONESHOT_RUNS           30
#define READ_CHUNK             65536

typedef struct
{
  const char *label;
  GSubprocess *process; /* (owned) */
  char *socket_path;    /* (owned) */
  GPid pid;
} Target;

typedef struct
{
  double seq_rate;       /* requests/s */
  double seq_cpu_us;     /* server CPU µs per request */
  double conc_rate;      /* requests/s over all connections */
  double conc_p99_ms;    /* 99th percentile latency */
  double conc_open_ms;   /* time to open every connection */
  guint conc_refused;    /* connects that failed */
  double oneshot_ms;     /* mean wall time of one CLI run */
  guint64 rss_start_kib; /* VmRSS after start */
  guint64 rss_after_kib; /* VmRSS after the concurrent run */
} Figures;

static double
now_s (void)
{
  return g_get_monotonic_time () / (double) G_USEC_PER_SEC;
}

static int
connect_unix (const char *path, gboolean nonblocking)
{
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  g_strlcpy (sun.sun_path, path, sizeof sun.sun_path);
  if (connect (fd, (struct sockaddr *) &sun, sizeof sun) < 0)
    {
      close (fd);
      return -1;
    }
  if (nonblocking)
    fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static gboolean
write_all (int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static guint64
read_rss_kib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *contents = NULL;
  const char *line;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  line = strstr (contents, "VmRSS:");
  if (line == NULL)
    return 0;
  return g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10);
}

static void
pin_to_cpu0 (GPid pid)
{
  cpu_set_t set;

  CPU_ZERO (&set);
  CPU_SET (0, &set);
  sched_setaffinity (pid, sizeof set, &set);
}

static void
unpin (GPid pid)
{
  cpu_set_t set;

  CPU_ZERO (&set);
  for (int i = 0; i < CPU_SETSIZE; i++)
    CPU_SET (i, &set);
  sched_setaffinity (pid, sizeof set, &set);
}

static gboolean
wait_for_socket (const char *path)
{
  double deadline = now_s () + 10.0;

  while (now_s () < deadline)
    {
      int fd = connect_unix (path, FALSE);

      if (fd >= 0)
        {
          close (fd);
          return TRUE;
        }
      g_usleep (10000);
    }
  return FALSE;
}

/* A daemon must not outlive a benchmark that aborts. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static gboolean
target_start (Target *target,
              const char *const *argv,
              const char *socket_path,
              GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  target->process = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (target->process == NULL)
    return FALSE;
  target->pid = (GPid) g_ascii_strtoll (
    g_subprocess_get_identifier (target->process), NULL, 10);
  target->socket_path = g_strdup (socket_path);
  if (!wait_for_socket (socket_path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s did not open %s",
                   argv[0], socket_path);
      return FALSE;
    }
  return TRUE;
}

static void
target_stop (Target *target)
{
  if (target->process == NULL)
    return;
  g_subprocess_send_signal (target->process, SIGTERM);
  g_subprocess_wait (target->process, NULL, NULL);
  g_clear_object (&target->process);
  g_clear_pointer (&target->socket_path, g_free);
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* One round: requests/s, and the server's CPU µs per request in
 * @cpu_us. */
static double
measure_sequential_round (Target *target, double *cpu_us)
{
  char buf[READ_CHUNK];
  UcTestReplyScanner scanner = { 0 };
  double start, elapsed, cpu_start;
  guint64 n = 0;
  int fd;

  pin_to_cpu0 (target->pid);
  pin_to_cpu0 (0);
  fd = connect_unix (target->socket_path, FALSE);
  g_assert (fd >= 0);

  cpu_start = uc_test_process_cpu_us (target->pid);
  start = now_s ();
  do
    {
      char request[96];
      int len = g_snprintf (request, sizeof request,
                            "{\"id\":%" G_GUINT64_FORMAT
                            ",\"method\":\"version\",\"params\":[]}",
                            n);
      guint replies = 0;

      if (!write_all (fd, request, (gsize) len))
        g_error ("%s: write failed: %s", target->label, g_strerror (errno));
      while (replies == 0)
        {
          struct pollfd pfd = { .fd = fd, .events = POLLIN };
          ssize_t r;

          /* Wait in poll(), as ovs-appctl does: a blocking read() is
           * also woken each time the server's read frees buffer space. */
          while (poll (&pfd, 1, -1) < 0 && errno == EINTR)
            ;
          r = read (fd, buf, sizeof buf);

          if (r <= 0)
            g_error ("%s: connection lost", target->label);
          replies = uc_test_scan_replies (&scanner, buf, (gsize) r);
        }
      n++;
      elapsed = now_s () - start;
    }
  while (elapsed < SEQUENTIAL_SECONDS);

  *cpu_us = (uc_test_process_cpu_us (target->pid) - cpu_start) / n;
  close (fd);
  unpin (target->pid);
  unpin (0);
  return n / elapsed;
}

/* Rounds that take turns between the @n_targets @targets, of which those
 * that are %NULL are left out; each target's figures are the medians of
 * its rounds. */
static void
measure_sequential (Target *const *targets,
                    Figures *const *figs,
                    guint n_targets)
{
  double rates[N_SEQUENTIAL_TARGETS][SEQUENTIAL_ROUNDS];
  double cpu[N_SEQUENTIAL_TARGETS][SEQUENTIAL_ROUNDS];

  g_assert (n_targets <= N_SEQUENTIAL_TARGETS);
  for (guint round = 0; round < SEQUENTIAL_ROUNDS; round++)
    for (guint t = 0; t < n_targets; t++)
      if (targets[t] != NULL)
        rates[t][round] = measure_sequential_round (targets[t], &cpu[t][round]);

  for (guint t = 0; t < n_targets; t++)
    if (targets[t] != NULL)
      {
        figs[t]->seq_rate = uc_test_median (rates[t], SEQUENTIAL_ROUNDS);
        figs[t]->seq_cpu_us = uc_test_median (cpu[t], SEQUENTIAL_ROUNDS);
      }
}

typedef struct
{
  int fd;
  double sent_at;
  UcTestReplyScanner scanner;
} BenchConn;

static void
measure_concurrent (Target *target, Figures *fig)
{
  static const char request[] =
    "{\"id\":1,\"method\":\"version\",\"params\":[]}";
  g_autofree BenchConn *conns = g_new0 (BenchConn, CONCURRENT_CONNECTIONS);
  g_autoptr (GArray) latencies = g_array_new (FALSE, FALSE, sizeof (double));
  char buf[READ_CHUNK];
  double start, end;
  guint64 n = 0;
  guint n_open = 0;
  int ep = epoll_create1 (EPOLL_CLOEXEC);

  /* Blocking connects: one that finds the listen backlog full waits for
   * the server to accept instead of failing, so a refused connect really
   * is a refusal. */
  start = now_s ();
  for (guint i = 0; i < CONCURRENT_CONNECTIONS; i++)
    {
      conns[i].fd = connect_unix (target->socket_path, TRUE);
      if (conns[i].fd < 0)
        {
          fig->conc_refused++;
          continue;
        }
      n_open++;
    }
  fig->conc_open_ms = (now_s () - start) * 1000.0;

  for (guint i = 0; i < CONCURRENT_CONNECTIONS; i++)
    {
      struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

      if (conns[i].fd < 0)
        continue;
      epoll_ctl (ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }

  start = now_s ();
  for (guint i = 0; i < CONCURRENT_CONNECTIONS; i++)
    if (conns[i].fd >= 0)
      {
        conns[i].sent_at = now_s ();
        write_all (conns[i].fd, request, sizeof request - 1);
      }

  end = start + CONCURRENT_SECONDS;
  while (now_s () < end && n_open > 0)
    {
      struct epoll_event events[256];
      int ready = epoll_wait (ep, events, G_N_ELEMENTS (events), 100);

      for (int e = 0; e < ready; e++)
        {
          BenchConn *c = &conns[events[e].data.u32];
          ssize_t r = read (c->fd, buf, sizeof buf);
          guint replies;

          if (r <= 0)
            {
              if (r < 0 && errno == EAGAIN)
                continue;
              close (c->fd);
              c->fd = -1;
              n_open--;
              continue;
            }
          replies = uc_test_scan_replies (&c->scanner, buf, (gsize) r);
          for (guint k = 0; k < replies; k++)
            {
              double now = now_s ();
              double latency = (now - c->sent_at) * 1000.0;

              g_array_append_val (latencies, latency);
              n++;
              c->sent_at = now;
              write_all (c->fd, request, sizeof request - 1);
            }
        }
    }
  fig->conc_rate = n / (now_s () - start);
  if (latencies->len > 0)
    {
      g_array_sort (latencies, compare_doubles);
      fig->conc_p99_ms =
        g_array_index (latencies, double, (latencies->len * 99) / 100);
    }
  fig->rss_after_kib = read_rss_kib (target->pid);

  for (guint i = 0; i < CONCURRENT_CONNECTIONS; i++)
    if (conns[i].fd >= 0)
      close (conns[i].fd);
  close (ep);
}

/* Wall time of one `PROGRAM -t SOCKET version`, spawned with
 * posix_spawn so that the harness adds as little as possible.  Returns
 * it in seconds, or a negative value if the run failed. */
static double
run_oneshot (const char *program,
             const char *socket_path,
             const posix_spawn_file_actions_t *actions)
{
  const char *argv[] = { program, "-t", socket_path, "version", NULL };
  double start = now_s ();
  pid_t pid;
  int status;

  if (posix_spawn (&pid, program, actions, NULL, (char **) argv, environ) != 0)
    return -1;
  waitpid (pid, &status, 0);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return -1;
  return now_s () - start;
}

/* Mean wall time, in ms, of a one-shot `version` by each of @programs
 * (%NULL-terminated, at most 2), stored in @means_ms.  The runs take
 * turns, so that a change in the machine's load while they run weighs on
 * each program alike.  A failed run makes its program's mean -1. */
static void
measure_oneshot (const char *const *programs,
                 const char *socket_path,
                 double *means_ms)
{
  posix_spawn_file_actions_t actions;
  double total[2] = { 0, 0 };
  gboolean failed[2] = { FALSE, FALSE };
  guint n;

  for (n = 0; programs[n] != NULL; n++)
    g_assert (n < G_N_ELEMENTS (total));

  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, "/dev/null",
                                    O_WRONLY, 0);
  for (guint i = 0; i < ONESHOT_RUNS; i++)
    for (guint p = 0; p < n; p++)
      {
        double elapsed = run_oneshot (programs[p], socket_path, &actions);

        if (elapsed < 0)
          failed[p] = TRUE;
        total[p] += elapsed;
      }
  posix_spawn_file_actions_destroy (&actions);

  for (guint p = 0; p < n; p++)
    means_ms[p] = failed[p] ? -1 : total[p] / ONESHOT_RUNS * 1000.0;
}

static void
raise_fd_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

static gboolean
start_ovsdb_server (Target *target, const char *dir, GError **error)
{
  g_autofree char *db_path = uc_test_ovsdb_create ("ovsdb-tool", dir, error);
  g_autofree char *ctl = g_build_filename (dir, "ovsdb-server.ctl", NULL);
  g_autofree char *log_arg = g_strdup_printf ("--log-file=%s/ovsdb.log", dir);
  g_autofree char *ctl_arg = g_strdup_printf ("--unixctl=%s", ctl);
  /* -vconsole:off first, or "opened log file" goes to the console. */
  const char *argv[] = { "ovsdb-server", "-vconsole:off", ctl_arg, "--no-chdir",
                         log_arg,        db_path,         NULL };

  if (db_path == NULL)
    return FALSE;
  return target_start (target, argv, ctl, error);
}

int
main (int argc, char **argv)
{
  const char *unixctld = g_getenv ("UNIXCTLD");
  const char *unixctl = g_getenv ("UNIXCTL");
  const char *floor_server = g_getenv ("BENCH_FLOOR_SERVER");
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *ctl = NULL;
  g_autofree char *rundir_arg = NULL;
  g_autofree char *unixctl_arg = NULL;
  g_autofree char *floor_ctl = NULL;
  g_autofree char *ovs_appctl = g_find_program_in_path ("ovs-appctl");
  Target ours = { .label = "unixctld" }, theirs = { .label = "ovsdb-server" };
  Target floor = { .label = "bench-floor-server" };
  Figures fo = { 0 }, ft = { 0 }, ff = { 0 };
  gboolean have_ovsdb;

  if (unixctld == NULL || unixctl == NULL || floor_server == NULL)
    {
      g_printerr ("bench-server: set UNIXCTLD, UNIXCTL and BENCH_FLOOR_SERVER "
                  "(meson does)\n");
      return 1;
    }
  signal (SIGPIPE, SIG_IGN);
  raise_fd_limit ();

  dir = g_dir_make_tmp ("bench-server-XXXXXX", &error);
  g_assert_no_error (error);
  ctl = g_build_filename (dir, "unixctld.ctl", NULL);
  rundir_arg = g_strdup_printf ("--rundir=%s", dir);
  unixctl_arg = g_strdup_printf ("--unixctl=%s", ctl);
  {
    const char *args[] = { unixctld, rundir_arg, unixctl_arg, "--no-chdir",
                           NULL };

    if (!target_start (&ours, args, ctl, &error))
      g_error ("cannot start unixctld: %s", error->message);
  }
  have_ovsdb = start_ovsdb_server (&theirs, dir, &error);
  if (!have_ovsdb)
    {
      g_printerr ("bench-server: ovsdb-server unavailable (%s); "
                  "only our figures are shown\n",
                  error->message);
      g_clear_error (&error);
    }

  floor_ctl = g_build_filename (dir, "floor.ctl", NULL);
  {
    const char *args[] = { floor_server, floor_ctl, NULL };

    if (!target_start (&floor, args, floor_ctl, &error))
      g_error ("cannot start bench-floor-server: %s", error->message);
  }

  fo.rss_start_kib = read_rss_kib (ours.pid);
  if (have_ovsdb)
    ft.rss_start_kib = read_rss_kib (theirs.pid);

  {
    Target *const targets[] = { &ours, have_ovsdb ? &theirs : NULL, &floor };
    Figures *const figs[] = { &fo, &ft, &ff };

    measure_sequential (targets, figs, G_N_ELEMENTS (targets));
  }
  target_stop (&floor);
  measure_concurrent (&ours, &fo);
  if (have_ovsdb)
    measure_concurrent (&theirs, &ft);
  if (have_ovsdb && ovs_appctl != NULL)
    {
      /* Both CLIs against the same (real) server. */
      const char *const programs[] = { unixctl, ovs_appctl, NULL };
      double means_ms[2];

      measure_oneshot (programs, theirs.socket_path, means_ms);
      fo.oneshot_ms = means_ms[0];
      ft.oneshot_ms = means_ms[1];
    }
  else
    {
      const char *const programs[] = { unixctl, NULL };

      measure_oneshot (programs, ours.socket_path, &fo.oneshot_ms);
    }

  uc_test_print_comparison_header ("target");
  uc_test_print_comparison_row (1, "sequential version, 1 conn", fo.seq_rate,
                                ft.seq_rate, "req/s", TRUE, ">= 1.25x");
  uc_test_print_comparison_row (1, "server CPU per request", fo.seq_cpu_us,
                                ft.seq_cpu_us, "us", FALSE,
                                "(lower is better)");
  /* In the unixctld column, as the one server it is compared with. */
  uc_test_print_comparison_row (
    1, "  floor: syscalls only, no work", ff.seq_rate, ft.seq_rate, "req/s",
    TRUE, "(bench-floor-server: the best ratio possible)");
  uc_test_print_comparison_row (1, "  floor: server CPU per request",
                                ff.seq_cpu_us, ft.seq_cpu_us, "us", FALSE,
                                "(lower is better)");
  uc_test_print_comparison_row (1, "1000 conns aggregate", fo.conc_rate,
                                ft.conc_rate, "req/s", TRUE, ">= 1.5x");
  uc_test_print_comparison_row (1, "1000 conns p99 latency", fo.conc_p99_ms,
                                ft.conc_p99_ms, "ms", FALSE,
                                "(lower is better)");
  uc_test_print_comparison_row (1, "time to open 1000 conns", fo.conc_open_ms,
                                ft.conc_open_ms, "ms", FALSE,
                                "(lower is better)");
  uc_test_print_comparison_row (1, "refused connects", fo.conc_refused,
                                ft.conc_refused, "", FALSE, "0");
  uc_test_print_comparison_row (1, "one-shot CLI version (vs ovs-appctl)",
                                fo.oneshot_ms, ft.oneshot_ms, "ms", FALSE,
                                ">= 1.25x (i.e. <= 0.8x time)");
  uc_test_print_comparison_row (1, "RSS after start", fo.rss_start_kib,
                                ft.rss_start_kib, "KiB", FALSE,
                                ">= 1.0x (no more than ovsdb-server)");
  uc_test_print_comparison_row (1, "RSS after 1000 conns", fo.rss_after_kib,
                                ft.rss_after_kib, "KiB", FALSE,
                                ">= 1.0x (no more than ovsdb-server)");

  target_stop (&ours);
  target_stop (&theirs);
  {
    g_autoptr (GFile) d = g_file_new_for_path (dir);
    g_autoptr (GFileEnumerator) e = g_file_enumerate_children (
      d, G_FILE_ATTRIBUTE_STANDARD_NAME, G_FILE_QUERY_INFO_NONE, NULL, NULL);
    GFileInfo *info;

    while (e != NULL &&
           (info = g_file_enumerator_next_file (e, NULL, NULL)) != NULL)
      {
        g_autoptr (GFile) child =
          g_file_get_child (d, g_file_info_get_name (info));

        g_file_delete (child, NULL, NULL);
        g_object_unref (info);
      }
    g_file_delete (d, NULL, NULL);
  }
  return 0;
}
