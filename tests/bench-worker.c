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
 *     the main loop: sequential (the next sent from the previous one's
 *     callback) and pipelined (a window of calls kept outstanding, so that
 *     UC_WORKER_MAX_IN_FLIGHT are on the wire), without and with one
 *     descriptor, which the worker sends back.
 *
 * Everything runs on one CPU (the worker and the raw child inherit the
 * affinity), so that the figures measure the work done, not where the
 * scheduler puts the two ends.  The measures are taken in interleaved
 * rounds and each figure is the median of its rounds, so that a burst of
 * load on the machine weighs on both sides alike.  The target is printed beside each ratio:
 * UcWorker at least half the raw rate.  Nothing here asserts on time.
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

#include "uc-worker.h"

#define ROUNDS        7
#define ROUND_SECONDS 0.3
#define PAYLOAD_SIZE  16
#define WINDOW        1024

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

typedef struct
{
  UcWorker *worker; /* (unowned) */
  GBytes *payload;  /* (unowned) */
  GUnixFDList *fds; /* (unowned) (nullable) */
  guint window;     /* calls kept outstanding */
  guint outstanding;
  guint64 n_done;
  double deadline;
  gboolean stopping;
} Run;

static void send_one (Run *run);

static void
on_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  g_autoptr (GUnixFDList) fds = NULL;
  g_autoptr (GBytes) echo = NULL;
  g_autoptr (GError) error = NULL;

  echo = uc_worker_call_finish (UC_WORKER (source), result, &fds, &error);
  if (echo == NULL)
    g_error ("ping failed: %s", error->message);
  run->outstanding--;
  run->n_done++;
  /* The clock is read once per window, not per reply. */
  if (run->n_done % run->window == 0 && now_s () >= run->deadline)
    run->stopping = TRUE;
  if (!run->stopping)
    send_one (run);
}

static void
send_one (Run *run)
{
  run->outstanding++;
  uc_worker_call_async (run->worker, UC_WORKER_METHOD_PING, run->payload,
                        run->fds, NULL, on_reply, run);
}

/* Round trips per second through @worker. */
static double
measure_worker (UcWorker *worker, gboolean with_fd, guint window)
{
  g_autoptr (GBytes) payload = g_bytes_new ("0123456789abcde", PAYLOAD_SIZE);
  g_autoptr (GUnixFDList) fds = NULL;
  Run run = { worker, payload, NULL, window, 0, 0, 0, FALSE };
  double start;

  if (with_fd)
    {
      int memfd = memfd_create ("bench", MFD_CLOEXEC);

      fds = g_unix_fd_list_new_from_array (&memfd, 1);
      run.fds = fds;
    }

  start = now_s ();
  run.deadline = start + ROUND_SECONDS;
  for (guint i = 0; i < window; i++)
    send_one (&run);
  while (run.outstanding > 0)
    g_main_context_iteration (NULL, TRUE);
  return run.n_done / (now_s () - start);
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

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (double *values)
{
  qsort (values, ROUNDS, sizeof (double), compare_doubles);
  return values[ROUNDS / 2];
}

static void
print_row (const char *what, double ours, double raw)
{
  double ratio = ours / raw;

  g_print ("%-36s %12.0f %12.0f  %6.2fx  %s\n", what, ours, raw, ratio,
           ratio >= 0.5 ? ">= 0.5x: met" : ">= 0.5x: NOT met");
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
    result[m] = median (figures[m]);

  close (raw_sock);
  waitpid (child, NULL, 0);
  close (memfd);

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
  return 0;
}
