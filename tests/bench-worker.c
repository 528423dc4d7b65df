/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-worker: round trips and descriptors through UcWorker, beside a
 * raw socketpair ping-pong measured in the same run.
 *
 *  1. raw: a forked child echoes what it receives on a socketpair, one
 *     sendmsg() and one recvmsg() each way, blocking, with no framing and
 *     no main loop: the floor of what any worker RPC can cost.  Measured
 *     without and with one SCM_RIGHTS descriptor per message.
 *  2. UcWorker: pings of the same size to the real unixctld-worker, from
 *     the main loop, frames on a #GSocket with descriptors in a
 *     #GUnixFDMessage (uc-worker-protocol.c): sequential (the next sent
 *     from the previous one's callback) and pipelined (a window of calls
 *     kept outstanding, so that UC_WORKER_MAX_IN_FLIGHT are on the wire),
 *     without and with one descriptor, which the worker sends back.
 *  3. Descriptor flatness at the scale: a million pipelined
 *     requests, each passing a descriptor both ways, and the descriptor
 *     counts of both processes before and after (/worker/fds/flat in
 *     test-worker does a tenth of that, what fits in the test suite's
 *     time under the sanitizers).  The one check here that fails the
 *     run: a descriptor leaked is a bug, not a slow machine.
 *
 * Everything runs on one CPU (the worker and the raw child inherit the
 * affinity), so that the figures measure the work done, not where the
 * scheduler puts the two ends.  The measures are taken in interleaved
 * rounds and each figure is the median of its rounds, so that a burst of
 * load on the machine weighs on both sides alike.  The target is
 * printed beside each ratio: UcWorker at least half the raw rate.
 * Nothing here asserts on time.
 */
#define G_LOG_DOMAIN "bench"

#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uc-test-util.h"
#include "uc-worker.h"

#define ROUNDS        7
#define ROUND_SECONDS 0.3
#define PAYLOAD_SIZE  16
#define WINDOW        1024
#define FLAT_REQUESTS 1000000

static double
now_s (void)
{
  return g_get_monotonic_time () / (double) G_USEC_PER_SEC;
}

/* One message with @n_fds copies of @fd; returns what sendmsg() does. */
static ssize_t
send_message (int sock, const void *data, gsize length, int fd, int n_fds)
{
  union
  {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int))];
  } control;
  struct iovec iov = { (void *) data, length };
  struct msghdr msg = { 0 };

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (n_fds > 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
    }
  return sendmsg (sock, &msg, MSG_NOSIGNAL);
}

/* One message; the descriptor that came with it, if any, in *@fd. */
static ssize_t
receive_message (int sock, void *data, gsize length, int *fd)
{
  union
  {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int) * 4)];
  } control;
  struct iovec iov = { data, length };
  struct msghdr msg = { 0 };
  ssize_t n;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  *fd = -1;
  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR (&msg); cmsg != NULL;
       cmsg = CMSG_NXTHDR (&msg, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
      memcpy (fd, CMSG_DATA (cmsg), sizeof (int));
  return n;
}

/* The raw echo: what it receives goes back, descriptors included. */
G_GNUC_NORETURN static void
raw_echo (int sock)
{
  char buf[PAYLOAD_SIZE];

  for (;;)
    {
      int fd;
      ssize_t n = receive_message (sock, buf, sizeof buf, &fd);

      if (n <= 0)
        _exit (0);
      if (send_message (sock, buf, (gsize) n, fd, fd >= 0 ? 1 : 0) != n)
        _exit (1);
      if (fd >= 0)
        close (fd);
    }
}

/* A raw echo child on the other end of the returned socket. */
static int
raw_start (pid_t *child)
{
  int pair[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair));
  *child = fork ();
  g_assert_no_errno (*child);
  if (*child == 0)
    {
      close (pair[0]);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      raw_echo (pair[1]);
    }
  close (pair[1]);
  return pair[0];
}

/* Round trips per second of the raw ping-pong, over one round. */
static double
measure_raw (int sock, int memfd, gboolean with_fd)
{
  char buf[PAYLOAD_SIZE] = "0123456789abcde";
  double start = now_s ();
  double elapsed;
  guint64 n = 0;

  do
    {
      for (int i = 0; i < 500; i++)
        {
          int fd;

          if (send_message (sock, buf, sizeof buf, memfd, with_fd ? 1 : 0) !=
                sizeof buf ||
              receive_message (sock, buf, sizeof buf, &fd) != sizeof buf)
            g_error ("raw ping-pong failed: %s", g_strerror (errno));
          if (fd >= 0)
            close (fd);
        }
      n += 500;
      elapsed = now_s () - start;
    }
  while (elapsed < ROUND_SECONDS);
  return n / elapsed;
}

/* Round trips per second through @worker, over one round. */
static double
measure_worker (UcWorker *worker, gboolean with_fd, guint window)
{
  g_autoptr (GBytes) payload = g_bytes_new ("0123456789abcde", PAYLOAD_SIZE);
  g_autoptr (GUnixFDList) fds = NULL;
  gint64 start;
  guint64 n;

  if (with_fd)
    {
      int memfd = memfd_create ("bench", MFD_CLOEXEC);

      fds = g_unix_fd_list_new_from_array (&memfd, 1);
    }

  start = g_get_monotonic_time ();
  n = uc_test_ping_flood (worker, payload, fds, window, G_MAXUINT64,
                          start + (gint64) (ROUND_SECONDS * G_USEC_PER_SEC));
  return n / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
}

enum
{
  RAW,
  RAW_FD,
  SEQUENTIAL,
  SEQUENTIAL_FD,
  PIPELINED,
  PIPELINED_FD,
  N_MEASURES
};

static void
print_row (const char *what, double ours, double raw)
{
  double ratio = ours / raw;

  g_print ("%-36s %12.0f %12.0f  %6.2fx  %s\n", what, ours, raw, ratio,
           ratio >= 0.5 ? ">= 0.5x: met" : ">= 0.5x: NOT met");
}

/* Part 3: a million requests with a descriptor each way; prints the
 * descriptor counts of both processes before and after.  Returns whether
 * they are the same. */
static gboolean
check_fds_flat (UcWorker *worker, int memfd)
{
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  pid_t worker_pid = uc_worker_get_pid (worker);
  guint self_before;
  guint self_after;
  guint worker_before;
  guint worker_after;
  gint64 start;
  double seconds;
  guint64 n;

  g_assert_cmpint (g_unix_fd_list_append (fds, memfd, NULL), ==, 0);
  /* After the measures: what GLib sets up on first use is there. */
  self_before = uc_test_proc_count_fds (getpid (), NULL);
  worker_before = uc_test_proc_count_fds (worker_pid, NULL);

  start = g_get_monotonic_time ();
  n = uc_test_ping_flood (worker, NULL, fds, WINDOW, FLAT_REQUESTS, 0);
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  /* The worker closes what it sent after sending it, and answers in
   * order: once this is answered, the last reply's copies are closed. */
  uc_test_ping_flood (worker, NULL, NULL, 1, 1, 0);

  self_after = uc_test_proc_count_fds (getpid (), NULL);
  worker_after = uc_test_proc_count_fds (worker_pid, NULL);
  g_print ("\ndescriptor flatness: %" G_GUINT64_FORMAT
           " pipelined requests with a descriptor each way in %.1f s\n"
           "  daemon (pid %ld): %u descriptors before, %u after\n"
           "  worker (pid %ld): %u descriptors before, %u after\n"
           "  %s\n",
           n, seconds, (long) getpid (), self_before, self_after,
           (long) worker_pid, worker_before, worker_after,
           self_after == self_before && worker_after == worker_before
             ? "flat: met"
             : "flat: NOT met");
  return self_after == self_before && worker_after == worker_before &&
         uc_worker_get_pid (worker) == worker_pid;
}

int
main (int argc, char **argv)
{
  g_autoptr (UcWorker) worker = NULL;
  g_autoptr (GError) error = NULL;
  double figures[N_MEASURES][ROUNDS];
  double result[N_MEASURES];
  int memfd = memfd_create ("bench", MFD_CLOEXEC);
  cpu_set_t cpus;
  gboolean flat;
  pid_t child;
  int raw_sock;

  /* One CPU for all, children included. */
  CPU_ZERO (&cpus);
  CPU_SET (0, &cpus);
  if (sched_setaffinity (0, sizeof cpus, &cpus) < 0)
    g_printerr ("bench-worker: cannot pin to CPU 0: %s\n", g_strerror (errno));

  /* The raw child first, before GLib starts any thread. */
  raw_sock = raw_start (&child);

  worker = uc_worker_new (NULL);
  if (!uc_worker_start (worker, &error))
    {
      g_printerr ("bench-worker: %s\n", error->message);
      return 1;
    }
  /* Warm-up. */
  measure_worker (worker, TRUE, 64);
  measure_raw (raw_sock, memfd, TRUE);

  for (int round = 0; round < ROUNDS; round++)
    {
      figures[RAW][round] = measure_raw (raw_sock, memfd, FALSE);
      figures[SEQUENTIAL][round] = measure_worker (worker, FALSE, 1);
      figures[RAW_FD][round] = measure_raw (raw_sock, memfd, TRUE);
      figures[SEQUENTIAL_FD][round] = measure_worker (worker, TRUE, 1);
      figures[PIPELINED][round] = measure_worker (worker, FALSE, WINDOW);
      figures[PIPELINED_FD][round] = measure_worker (worker, TRUE, WINDOW);
    }
  for (int m = 0; m < N_MEASURES; m++)
    result[m] = uc_test_median (figures[m], ROUNDS);

  close (raw_sock);
  waitpid (child, NULL, 0);

  g_print ("\nunixctld-worker %s, %d-byte payloads, median of %d interleaved "
           "rounds of %.1f s, on one CPU,\nagainst a raw socketpair ping-pong "
           "(blocking sendmsg/recvmsg, no framing, no main loop)\n\n",
           PACKAGE_VERSION, PAYLOAD_SIZE, ROUNDS, ROUND_SECONDS);
  g_print ("%-36s %12s %12s  %7s  %s\n", "measure (per second)", "UcWorker",
           "raw", "ratio", "target");
  print_row ("round trips, sequential", result[SEQUENTIAL], result[RAW]);
  print_row ("round trips, pipelined", result[PIPELINED], result[RAW]);
  print_row ("descriptors passed, sequential", result[SEQUENTIAL_FD],
             result[RAW_FD]);
  print_row ("descriptors passed, pipelined", result[PIPELINED_FD],
             result[RAW_FD]);
  g_print ("\n(a descriptor figure counts round trips, each carrying one "
           "descriptor each way)\n");

  flat = check_fds_flat (worker, memfd);
  close (memfd);
  return flat ? 0 : 1;
}
