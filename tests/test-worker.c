/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-worker"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uc-client.h"
#include "uc-error.h"
#include "uc-pstream.h"
#include "uc-rate-limit.h"
#include "uc-server.h"
#include "uc-system-stats.h"
#include "uc-test-util.h"
#include "uc-worker-protocol.h"
#include "uc-worker.h"

/*
 * The worker: UcWorker (the daemon's side) against the real
 * unixctld-worker ($UNIXCTLD_WORKER) and against fake-worker
 * ($FAKE_WORKER), which plays a worker that breaks the protocol in every
 * way a receiver must notice; the frames themselves (uc-worker-protocol.c)
 * on a socketpair, for what no peer process can provoke; then the control
 * commands through a real unixctld, with our client and with ovs-appctl.
 *
 * Rate limiting is off, so that every message a test provokes is logged,
 * and expected with g_test_expect_message(): the tests run with fatal
 * warnings, so a warning nobody expected fails the test.
 */

/* Short restart delays, so that the tests need not wait for the real
 * ones.  The stable time is long: no worker here runs that long. */
#define TEST_RESTART_MIN_MS 10
#define TEST_RESTART_MAX_MS 80
#define TEST_STABLE_MS      600000

/* Long enough for a daemon under ASan on a loaded machine. */
#define DEADLINE_US (30 * G_USEC_PER_SEC)

typedef struct
{
  char *dir;        /* (owned) */
  UcWorker *worker; /* (owned) (nullable) */
  guint n_started;
  guint n_died;
  GPtrArray *deaths;  /* (owned) (element-type utf8) how each ended */
  GArray *delays;     /* (owned) (element-type guint) restart delays */
  GArray *died_at;    /* (owned) (element-type gint64) monotonic µs */
  GArray *started_at; /* (owned) (element-type gint64) monotonic µs */
} Fixture;

static void
on_started (UcWorker *worker, int pid, gpointer user_data)
{
  Fixture *fixture = user_data;
  gint64 now = g_get_monotonic_time ();

  fixture->n_started++;
  g_array_append_val (fixture->started_at, now);
}

static void
on_died (UcWorker *worker, const char *how, guint delay_ms, gpointer user_data)
{
  Fixture *fixture = user_data;
  gint64 now = g_get_monotonic_time ();

  fixture->n_died++;
  g_ptr_array_add (fixture->deaths, g_strdup (how));
  g_array_append_val (fixture->delays, delay_ms);
  g_array_append_val (fixture->died_at, now);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  fixture->dir = uc_test_make_tmp_dir ("test-worker-XXXXXX");
  fixture->deaths = g_ptr_array_new_with_free_func (g_free);
  fixture->delays = g_array_new (FALSE, FALSE, sizeof (guint));
  fixture->died_at = g_array_new (FALSE, FALSE, sizeof (gint64));
  fixture->started_at = g_array_new (FALSE, FALSE, sizeof (gint64));
}

static void
store_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

/* Stops the fixture's worker and waits until its process is reaped. */
static void
stop_worker (Fixture *fixture)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  uc_worker_stop_async (fixture->worker, NULL, store_result, &result);
  uc_test_wait_until (result != NULL);
  g_assert_true (uc_worker_stop_finish (fixture->worker, result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (uc_worker_get_state (fixture->worker), ==,
                   UC_WORKER_STATE_STOPPED);
  g_assert_cmpint (uc_worker_get_pid (fixture->worker), ==, 0);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  if (fixture->worker != NULL)
    {
      stop_worker (fixture);
      g_clear_object (&fixture->worker);
    }
  g_assert_no_errno (uc_test_rm_rf (fixture->dir));
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->deaths, g_ptr_array_unref);
  g_clear_pointer (&fixture->delays, g_array_unref);
  g_clear_pointer (&fixture->died_at, g_array_unref);
  g_clear_pointer (&fixture->started_at, g_array_unref);
}

/* Creates the fixture's worker for @argv (NULL-terminated) and starts it. */
static void
start_worker_argv (Fixture *fixture, const char *const *argv)
{
  g_autoptr (GError) error = NULL;

  fixture->worker = uc_worker_new (argv);
  uc_worker_set_restart_delays (fixture->worker, TEST_RESTART_MIN_MS,
                                TEST_RESTART_MAX_MS, TEST_STABLE_MS);
  g_signal_connect (fixture->worker, "started", G_CALLBACK (on_started),
                    fixture);
  g_signal_connect (fixture->worker, "died", G_CALLBACK (on_died), fixture);
  g_assert_true (uc_worker_start (fixture->worker, &error));
  g_assert_no_error (error);
  g_assert_cmpint (uc_worker_get_state (fixture->worker), ==,
                   UC_WORKER_STATE_RUNNING);
  g_assert_cmpuint (fixture->n_started, ==, 1);
}

static void
start_real_worker (Fixture *fixture)
{
  const char *argv[] = { uc_test_built_program ("UNIXCTLD_WORKER"), NULL };

  start_worker_argv (fixture, argv);
}

/* A fake worker in @mode; with @once, only the first one is fake and the
 * restarted ones are real. */
static void
start_fake_worker (Fixture *fixture, const char *mode, gboolean once)
{
  g_autofree char *state = g_build_filename (fixture->dir, "fake-state", NULL);
  g_autofree char *once_arg = g_strconcat ("--once=", state, NULL);
  const char *argv[] = { uc_test_built_program ("FAKE_WORKER"),
                         once ? once_arg : mode, once ? mode : NULL, NULL };

  start_worker_argv (fixture, argv);
}

static GBytes *bytes_printf (const char *format, ...) G_GNUC_PRINTF (1, 2);

static GBytes *
bytes_printf (const char *format, ...)
{
  va_list args;
  char *text;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  return g_bytes_new_take (text, strlen (text));
}

/* A ping, waited for. */
static GBytes *
ping_sync (UcWorker *worker,
           GBytes *payload,
           GUnixFDList *fds,
           GVariant **descriptions,
           GUnixFDList **out_fds,
           GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  uc_worker_ping_async (worker, payload, fds, NULL, store_result, &result);
  uc_test_wait_until (result != NULL);
  return uc_worker_ping_finish (worker, result, descriptions, out_fds, error);
}

static void
assert_ping_works (UcWorker *worker)
{
  g_autoptr (GBytes) payload = bytes_printf ("are you there?");
  g_autoptr (GBytes) echo = NULL;
  g_autoptr (GError) error = NULL;

  echo = ping_sync (worker, payload, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (echo, payload));
}

/* Whether descriptor @fd of process @pid is close-on-exec, as
 * /proc/PID/fdinfo/FD shows its flags (in octal). */
static gboolean
is_cloexec (pid_t pid, int fd)
{
  g_autofree char *path =
    g_strdup_printf ("/proc/%ld/fdinfo/%d", (long) pid, fd);
  g_autofree char *info = uc_test_read_file (path);
  const char *flags = strstr (info, "flags:");

  g_assert_nonnull (flags);
  return (g_ascii_strtoull (flags + strlen ("flags:"), NULL, 8) & O_CLOEXEC) !=
         0;
}

/* Starts the real worker and waits until it runs: it has answered a
 * ping, so it is past its set-up (a signal sent before would reach it
 * while it starts, and a descriptor count taken before could catch it
 * exec()ing).  Returns its pid. */
static pid_t
start_running_worker (Fixture *fixture)
{
  start_real_worker (fixture);
  assert_ping_works (fixture->worker);
  return uc_worker_get_pid (fixture->worker);
}

/* Asserts that the ping that @result finishes echoed @payload. */
static void
assert_echo (UcWorker *worker, GAsyncResult *result, GBytes *payload)
{
  g_autoptr (GBytes) echo = NULL;
  g_autoptr (GError) error = NULL;

  echo = uc_worker_ping_finish (worker, result, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (echo, payload));
}

/* Asserts that the ping that @result finishes failed with @message. */
static void
assert_ping_fails (UcWorker *worker, GAsyncResult *result, const char *message)
{
  g_autoptr (GBytes) echo = NULL;
  g_autoptr (GError) error = NULL;

  echo = uc_worker_ping_finish (worker, result, NULL, NULL, &error);
  g_assert_null (echo);
  g_assert_error (error, UC_ERROR, UC_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, message);
}

static guint
count_fds (pid_t pid)
{
  return uc_test_proc_count_fds (pid, NULL);
}

/* /worker/ping/descriptors */
static void
test_ping_descriptors (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *file = g_build_filename (fixture->dir, "file", NULL);
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr (GUnixFDList) back = NULL;
  g_autoptr (GVariant) descriptions = NULL;
  g_autoptr (GBytes) payload = bytes_printf ("hello, worker");
  g_autoptr (GBytes) echo = NULL;
  g_autoptr (GError) error = NULL;
  static const char *const types[] = { "regular", "fifo", "socket" };
  int pipe_fds[2];
  int pair[2];
  int file_fd;
  char buf[8] = { 0 };

  start_real_worker (fixture);

  file_fd = open (file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  g_assert_no_errno (file_fd);
  g_assert_no_errno (pipe2 (pipe_fds, O_CLOEXEC));
  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair));
  g_assert_cmpint (g_unix_fd_list_append (fds, file_fd, NULL), ==, 0);
  g_assert_cmpint (g_unix_fd_list_append (fds, pipe_fds[0], NULL), ==, 1);
  g_assert_cmpint (g_unix_fd_list_append (fds, pair[0], NULL), ==, 2);

  echo =
    ping_sync (fixture->worker, payload, fds, &descriptions, &back, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (echo, payload));

  /* The worker saw each descriptor as what it is, by inode, and sent each
   * back: the inodes match both ways. */
  g_assert_cmpuint (g_variant_n_children (descriptions), ==, 3);
  g_assert_nonnull (back);
  g_assert_cmpint (g_unix_fd_list_get_length (back), ==, 3);
  for (int i = 0; i < 3; i++)
    {
      const int *sent = g_unix_fd_list_peek_fds (fds, NULL);
      const int *received = g_unix_fd_list_peek_fds (back, NULL);
      const char *type;
      guint64 dev;
      guint64 ino;
      struct stat st_sent;
      struct stat st_back;

      g_variant_get_child (descriptions, i, "(&stt)", &type, &dev, &ino);
      g_assert_no_errno (fstat (sent[i], &st_sent));
      g_assert_no_errno (fstat (received[i], &st_back));
      g_assert_cmpstr (type, ==, types[i]);
      g_assert_cmpuint (dev, ==, st_sent.st_dev);
      g_assert_cmpuint (ino, ==, st_sent.st_ino);
      g_assert_cmpuint (st_back.st_dev, ==, st_sent.st_dev);
      g_assert_cmpuint (st_back.st_ino, ==, st_sent.st_ino);
      /* A new descriptor of ours, close-on-exec. */
      g_assert_cmpint (received[i], !=, sent[i]);
      g_assert_cmpint (fcntl (received[i], F_GETFD) & FD_CLOEXEC, !=, 0);
    }

  /* And it is the same pipe: what goes in one end comes out of the copy
   * that went through the worker. */
  g_assert_cmpint (write (pipe_fds[1], "pipe", 4), ==, 4);
  g_assert_cmpint (read (g_unix_fd_list_peek_fds (back, NULL)[1], buf, 4), ==,
                   4);
  g_assert_cmpstr (buf, ==, "pipe");

  close (file_fd);
  close (pipe_fds[0]);
  close (pipe_fds[1]);
  close (pair[0]);
  close (pair[1]);
}

typedef struct
{
  guint n_done;
  guint n_started;
  guint max_in_flight;
  guint next_expected;
  gboolean in_order;
} Pipeline;

typedef struct
{
  Pipeline *pipeline; /* (unowned) */
  GBytes *payload;    /* (owned) */
  guint index;
} PipelinedPing;

static void
on_pipelined_ping (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PipelinedPing *ping = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) echo = NULL;
  guint in_flight = uc_worker_get_n_in_flight (UC_WORKER (source));

  echo = uc_worker_ping_finish (UC_WORKER (source), result, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (echo, ping->payload));
  ping->pipeline->max_in_flight =
    MAX (ping->pipeline->max_in_flight, in_flight);
  if (ping->index != ping->pipeline->next_expected)
    ping->pipeline->in_order = FALSE;
  ping->pipeline->next_expected = ping->index + 1;
  ping->pipeline->n_done++;
  g_bytes_unref (ping->payload);
  g_free (ping);
}

/* /worker/ping/pipelined */
static void
test_ping_pipelined (Fixture *fixture, gconstpointer user_data)
{
  const guint n = 10000;
  Pipeline pipeline = { 0, 0, 0, 0, TRUE };
  guint64 served_before;

  start_real_worker (fixture);
  served_before = uc_worker_get_n_served (fixture->worker);

  for (guint i = 0; i < n; i++)
    {
      PipelinedPing *ping = g_new0 (PipelinedPing, 1);

      ping->pipeline = &pipeline;
      ping->index = i;
      ping->payload = bytes_printf ("ping number %u", i);
      uc_worker_ping_async (fixture->worker, ping->payload, NULL, NULL,
                            on_pipelined_ping, ping);
    }
  /* At most UC_WORKER_MAX_IN_FLIGHT went out; the rest wait their turn. */
  g_assert_cmpuint (uc_worker_get_n_in_flight (fixture->worker), ==,
                    UC_WORKER_MAX_IN_FLIGHT);
  g_assert_cmpuint (uc_worker_get_n_waiting (fixture->worker), ==,
                    n - UC_WORKER_MAX_IN_FLIGHT);

  uc_test_wait_until (pipeline.n_done == n);
  g_assert_true (pipeline.in_order);
  g_assert_cmpuint (pipeline.max_in_flight, <=, UC_WORKER_MAX_IN_FLIGHT);
  g_assert_cmpuint (uc_worker_get_n_served (fixture->worker) - served_before,
                    ==, n);
  g_assert_cmpuint (uc_worker_get_n_in_flight (fixture->worker), ==, 0);
  g_assert_cmpuint (uc_worker_get_n_waiting (fixture->worker), ==, 0);
}

static GBytes *
call_sync (UcWorker *worker,
           UcWorkerMethod method,
           GBytes *payload,
           GUnixFDList *fds,
           GUnixFDList **out_fds,
           GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  uc_worker_call_async (worker, method, payload, fds, NULL, store_result,
                        &result);
  uc_test_wait_until (result != NULL);
  return uc_worker_call_finish (worker, result, out_fds, error);
}

/* /worker/limits/payload */
static void
test_limits_payload (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GBytes) max =
    g_bytes_new_take (g_malloc0 (UC_WORKER_MAX_PAYLOAD), UC_WORKER_MAX_PAYLOAD);
  g_autoptr (GBytes) over = g_bytes_new_take (
    g_malloc0 (UC_WORKER_MAX_PAYLOAD + 1), UC_WORKER_MAX_PAYLOAD + 1);
  g_autoptr (GBytes) ping_max =
    g_bytes_new_from_bytes (max, 0, UC_WORKER_PING_MAX_BYTES);
  g_autoptr (GBytes) ping_over =
    g_bytes_new_from_bytes (max, 0, UC_WORKER_PING_MAX_BYTES + 1);
  g_autoptr (GUnixFDList) many = g_unix_fd_list_new ();
  g_autoptr (GUnixFDList) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) reply = NULL;
  g_autofree char *expected = NULL;
  guint64 served;

  start_real_worker (fixture);

  /* The largest payload crosses: the worker reads all of it, then finds
   * that its echo would not fit in a reply. */
  served = uc_worker_get_n_served (fixture->worker);
  reply =
    call_sync (fixture->worker, UC_WORKER_METHOD_PING, max, NULL, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  expected = g_strdup_printf ("an echo of %u bytes does not fit in a reply",
                              (unsigned) UC_WORKER_MAX_PAYLOAD);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpuint (uc_worker_get_n_served (fixture->worker), ==, served + 1);
  g_clear_error (&error);

  /* One byte more is refused before it is sent. */
  reply = call_sync (fixture->worker, UC_WORKER_METHOD_PING, over, NULL, NULL,
                     &error);
  g_assert_null (reply);
  g_assert_error (error, UC_ERROR, UC_ERROR_MESSAGE_TOO_LARGE);
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf (
    "a ping request of %u bytes exceeds the worker’s limit of %u bytes",
    (unsigned) UC_WORKER_MAX_PAYLOAD + 1, (unsigned) UC_WORKER_MAX_PAYLOAD);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpuint (uc_worker_get_n_served (fixture->worker), ==, served + 1);
  g_clear_error (&error);

  /* The largest ping echoes intact; one byte more is refused. */
  reply = ping_sync (fixture->worker, ping_max, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (reply, ping_max));
  g_clear_pointer (&reply, g_bytes_unref);
  reply = ping_sync (fixture->worker, ping_over, NULL, NULL, NULL, &error);
  g_assert_error (error, UC_ERROR, UC_ERROR_MESSAGE_TOO_LARGE);
  g_assert_null (reply);
  g_clear_error (&error);

  /* As many descriptors as allowed cross both ways; one more is refused
   * before sending. */
  for (int i = 0; i < UC_WORKER_MAX_FDS; i++)
    g_assert_cmpint (g_unix_fd_list_append (many, STDERR_FILENO, NULL), ==, i);
  reply = ping_sync (fixture->worker, NULL, many, NULL, &back, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_unix_fd_list_get_length (back), ==, UC_WORKER_MAX_FDS);
  g_clear_pointer (&reply, g_bytes_unref);
  g_assert_cmpint (g_unix_fd_list_append (many, STDERR_FILENO, NULL), ==,
                   UC_WORKER_MAX_FDS);
  served = uc_worker_get_n_served (fixture->worker);
  reply = ping_sync (fixture->worker, NULL, many, NULL, NULL, &error);
  g_assert_error (error, UC_ERROR, UC_ERROR_INVALID_ARGS);
  g_assert_null (reply);
  g_assert_cmpuint (uc_worker_get_n_served (fixture->worker), ==, served);
}

/* /worker/limits/max-reply: a reply of the largest payload is accepted. */
static void
test_limits_max_reply (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) reply = NULL;

  start_fake_worker (fixture, "max-reply", FALSE);
  reply = call_sync (fixture->worker, UC_WORKER_METHOD_PING, NULL, NULL, NULL,
                     &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (reply), ==, UC_WORKER_MAX_PAYLOAD);
  /* And the worker goes on. */
  assert_ping_works (fixture->worker);
  g_assert_cmpuint (fixture->n_died, ==, 0);
}

static int
open_sync (UcWorker *worker, const char *path, int flags, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  uc_worker_open_async (worker, path, flags, 0600, NULL, store_result, &result);
  uc_test_wait_until (result != NULL);
  return uc_worker_open_finish (worker, result, error);
}

/* /worker/open */
static void
test_open (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "data", NULL);
  g_autofree char *missing = g_build_filename (fixture->dir, "missing", NULL);
  g_autofree char *expected = NULL;
  g_autoptr (GError) error = NULL;
  char buf[16] = { 0 };
  int fd;

  start_real_worker (fixture);
  g_assert_true (g_file_set_contents (path, "contents", -1, NULL));

  fd = open_sync (fixture->worker, path, O_RDONLY, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fcntl (fd, F_GETFD) & FD_CLOEXEC, !=, 0);
  g_assert_cmpint (read (fd, buf, sizeof buf - 1), ==, 8);
  g_assert_cmpstr (buf, ==, "contents");
  close (fd);

  fd = open_sync (fixture->worker, missing, O_RDONLY, &error);
  g_assert_cmpint (fd, ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  expected =
    g_strdup_printf ("cannot open “%s”: %s", missing, g_strerror (ENOENT));
  g_assert_cmpstr (error->message, ==, expected);
}

static guint64
hold_sync (UcWorker *worker, int fd)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  guint64 handle;

  uc_worker_hold_async (worker, fd, NULL, store_result, &result);
  uc_test_wait_until (result != NULL);
  handle = uc_worker_hold_finish (worker, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (handle, !=, 0);
  return handle;
}

static gboolean
append_sync (UcWorker *worker,
             guint64 handle,
             guint64 offset,
             const char *text,
             GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GBytes) data = g_bytes_new (text, strlen (text));

  uc_worker_append_async (worker, handle, offset, data, NULL, store_result,
                          &result);
  uc_test_wait_until (result != NULL);
  return uc_worker_append_finish (worker, result, error);
}

static void
release_sync (UcWorker *worker, guint64 handle)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  uc_worker_release_async (worker, handle, NULL, store_result, &result);
  uc_test_wait_until (result != NULL);
  g_assert_true (uc_worker_release_finish (worker, result, &error));
  g_assert_no_error (error);
}

/* /worker/append/basic */
static void
test_append_basic (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "log", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *fd_dir = NULL;
  g_autofree char *listing = NULL;
  g_autoptr (GError) error = NULL;
  guint64 handle;
  guint worker_fds;
  pid_t pid;
  int fd;

  pid = start_running_worker (fixture);
  worker_fds = count_fds (pid);

  fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  g_assert_no_errno (fd);
  handle = hold_sync (fixture->worker, fd);
  /* Ours may go: the worker and the supervisor keep their own. */
  close (fd);
  g_assert_cmpuint (count_fds (pid), ==, worker_fds + 1);
  /* The worker's copy, its one descriptor beside its standard streams
   * and its socket, arrived close-on-exec. */
  fd_dir = g_strdup_printf ("/proc/%ld/fd", (long) pid);
  listing = uc_test_list_dir (fd_dir);
  g_assert_cmpstr (listing, ==, "0 1 2 3 4");
  g_assert_true (is_cloexec (pid, 4));

  /* Written where the caller says, in any order. */
  g_assert_true (append_sync (fixture->worker, handle, 6, "world\n", &error));
  g_assert_true (append_sync (fixture->worker, handle, 0, "hello ", &error));
  g_assert_no_error (error);
  /* The same bytes again at the same place change nothing. */
  g_assert_true (append_sync (fixture->worker, handle, 0, "hello ", &error));
  release_sync (fixture->worker, handle);
  g_assert_cmpuint (count_fds (pid), ==, worker_fds);

  contents = uc_test_read_file (path);
  g_assert_cmpstr (contents, ==, "hello world\n");

  /* A released or unknown handle is refused at once. */
  g_assert_false (append_sync (fixture->worker, handle, 12, "more", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (append_sync (fixture->worker, 4242, 0, "x", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* /worker/append/hold-cancelled: a hold cancelled once sent is released
 * when the worker answers it: nothing stays held in either process. */
static void
test_hold_cancelled (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "log", NULL);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  guint64 served;
  guint worker_fds;
  guint self_fds;
  pid_t pid;
  int fd;

  pid = start_running_worker (fixture);
  served = uc_worker_get_n_served (fixture->worker);
  fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  g_assert_no_errno (fd);
  worker_fds = count_fds (pid);
  self_fds = count_fds (getpid ());

  /* Stopped, so that the cancellation surely comes before the answer. */
  g_assert_no_errno (kill (pid, SIGSTOP));
  uc_worker_hold_async (fixture->worker, fd, cancellable, store_result,
                        &result);
  g_assert_cmpuint (uc_worker_get_n_in_flight (fixture->worker), ==, 1);
  g_cancellable_cancel (cancellable);
  uc_test_wait_until (result != NULL);
  g_assert_cmpuint (uc_worker_hold_finish (fixture->worker, result, &error), ==,
                    0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The hold, then the release that undoes it. */
  g_assert_no_errno (kill (pid, SIGCONT));
  uc_test_wait_until (uc_worker_get_n_served (fixture->worker) == served + 2);
  g_assert_cmpuint (count_fds (pid), ==, worker_fds);
  g_assert_cmpuint (count_fds (getpid ()), ==, self_fds);
  close (fd);
}

/* A control server in this process, whose main context the worker
 * shares, as in the daemon: listening on "ctl" in the fixture's
 * directory.  *@client_name is the name a client connects to. */
static UcServer *
start_server (Fixture *fixture, UcPstream **pstream, char **client_name)
{
  g_autofree char *socket_path = g_build_filename (fixture->dir, "ctl", NULL);
  g_autofree char *listener_name = g_strconcat ("punix:", socket_path, NULL);
  g_autoptr (UcServer) server = uc_server_new ("unixctld", PACKAGE_VERSION);
  g_autoptr (GError) error = NULL;

  *pstream = uc_pstream_new (listener_name, fixture->dir, &error);
  g_assert_no_error (error);
  uc_server_add_listener (server, *pstream, UC_LISTENER_NONE, &error);
  g_assert_no_error (error);
  *client_name = g_strconcat ("unix:", socket_path, NULL);
  return g_steal_pointer (&server);
}

typedef struct
{
  Fixture *fixture; /* (unowned) */
  guint n_done;
  guint n_killed;
  GArray *kill_at; /* (unowned) (element-type guint) */
  gboolean version_pending;
  char *version; /* (owned) (nullable): the reply */
  gboolean version_during_outage;
  char *socket_name; /* (owned) */
  UcClient *client;  /* (owned) (nullable) */
} Outage;

static void
on_version (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Outage *outage = user_data;
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (uc_client_transact_finish (UC_CLIENT (source), result, &body,
                                            NULL, &error));
  g_assert_no_error (error);
  outage->version = g_strdup (json_node_get_string (body));
  /* Answered while no worker ran. */
  outage->version_during_outage =
    uc_worker_get_state (outage->fixture->worker) == UC_WORKER_STATE_RESTARTING;
  outage->version_pending = FALSE;
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Outage *outage = user_data;
  g_autoptr (GError) error = NULL;

  outage->client = uc_client_connect_finish (result, &error);
  g_assert_no_error (error);
  uc_client_transact_async (outage->client, "version", NULL, NULL, on_version,
                            outage);
}

static void
on_outage_append (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Outage *outage = user_data;
  g_autoptr (GError) error = NULL;

  g_assert_true (uc_worker_append_finish (UC_WORKER (source), result, &error));
  g_assert_no_error (error);
  outage->n_done++;

  if (outage->n_killed < outage->kill_at->len &&
      outage->n_done ==
        g_array_index (outage->kill_at, guint, outage->n_killed))
    {
      pid_t pid = uc_worker_get_pid (UC_WORKER (source));

      g_test_message ("killing worker %ld after %u appends", (long) pid,
                      outage->n_done);
      g_assert_no_errno (kill (pid, SIGKILL));
      outage->n_killed++;
    }
}

/* A client asks the server while no worker runs. */
static void
on_outage_died (UcWorker *worker,
                const char *how,
                guint delay_ms,
                gpointer user_data)
{
  Outage *outage = user_data;

  if (outage->n_killed != 2)
    return;
  outage->version_pending = TRUE;
  uc_client_connect_async (outage->socket_name, NULL, NULL, on_connected,
                           outage);
}

/* /worker/append/kill9: appends stream to a file while the worker is
 * killed three times; nothing is lost or written twice, and a server in
 * the same main loop answers throughout. */
static void
test_append_kill9 (Fixture *fixture, gconstpointer user_data)
{
  const guint n = 3000;
  const guint kills[] = { 400, 1300, 2200 };
  g_autofree char *path = g_build_filename (fixture->dir, "log", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GString) expected = g_string_new (NULL);
  g_autoptr (GArray) kill_at = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (UcServer) server = NULL;
  g_autoptr (UcPstream) pstream = NULL;
  Outage outage = { fixture, 0, 0, kill_at, FALSE, NULL, FALSE, NULL, NULL };
  guint64 handle;
  int fd;

  server = start_server (fixture, &pstream, &outage.socket_name);
  g_array_append_vals (kill_at, kills, G_N_ELEMENTS (kills));

  start_real_worker (fixture);
  /* Outages long enough for the client to be answered within them. */
  uc_worker_set_restart_delays (fixture->worker, 500, 500, TEST_STABLE_MS);

  g_signal_connect (fixture->worker, "died", G_CALLBACK (on_outage_died),
                    &outage);

  fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  g_assert_no_errno (fd);
  handle = hold_sync (fixture->worker, fd);
  close (fd);

  for (guint i = 0; i < G_N_ELEMENTS (kills); i++)
    g_test_expect_message ("worker", G_LOG_LEVEL_WARNING,
                           "worker * died (signal 9); restarting in 500 ms");

  /* Lines of varying length, each at the offset the caller keeps. */
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *line = g_strdup_printf (
        "line %05u %.*s\n", i, (int) (i % 61),
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
      g_autoptr (GBytes) data = g_bytes_new (line, strlen (line));

      uc_worker_append_async (fixture->worker, handle, expected->len, data,
                              NULL, on_outage_append, &outage);
      g_string_append (expected, line);
    }

  uc_test_wait_until (outage.n_done == n && !outage.version_pending);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (outage.n_killed, ==, G_N_ELEMENTS (kills));
  g_assert_cmpuint (fixture->n_died, ==, G_N_ELEMENTS (kills));
  g_assert_cmpuint (uc_worker_get_restarts (fixture->worker), ==,
                    G_N_ELEMENTS (kills));
  g_assert_cmpstr (outage.version, ==,
                   PACKAGE_NAME " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
  g_assert_true (outage.version_during_outage);

  release_sync (fixture->worker, handle);
  contents = uc_test_read_file (path);
  g_assert_cmpuint (strlen (contents), ==, expected->len);
  g_assert_cmpstr (contents, ==, expected->str);

  g_clear_object (&outage.client);
  g_free (outage.version);
  g_free (outage.socket_name);
}

/* /worker/stop/sigstop: a stopped worker delays only its own callers. */
static void
test_sigstop (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *client_name = NULL;
  g_autoptr (UcServer) server = NULL;
  g_autoptr (UcPstream) pstream = NULL;
  g_autoptr (UcClient) client = NULL;
  g_autoptr (GAsyncResult) ping_result = NULL;
  g_autoptr (GAsyncResult) version_result = NULL;
  g_autoptr (GAsyncResult) connect_result = NULL;
  g_autoptr (GBytes) payload = bytes_printf ("wake up");
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (GError) error = NULL;
  pid_t pid;

  server = start_server (fixture, &pstream, &client_name);
  pid = start_running_worker (fixture);
  g_assert_no_errno (kill (pid, SIGSTOP));

  uc_worker_ping_async (fixture->worker, payload, NULL, NULL, store_result,
                        &ping_result);
  uc_test_run_for (300);
  g_assert_null (ping_result);
  g_assert_cmpuint (uc_worker_get_n_in_flight (fixture->worker), ==, 1);

  /* The main loop is free: the server answers.  (Asynchronously: the
   * client must belong to this main context, the server's.) */
  uc_client_connect_async (client_name, NULL, NULL, store_result,
                           &connect_result);
  uc_test_wait_until (connect_result != NULL);
  client = uc_client_connect_finish (connect_result, &error);
  g_assert_no_error (error);
  uc_client_transact_async (client, "version", NULL, NULL, store_result,
                            &version_result);
  uc_test_wait_until (version_result != NULL);
  g_assert_true (
    uc_client_transact_finish (client, version_result, &body, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (ping_result);

  g_assert_no_errno (kill (pid, SIGCONT));
  uc_test_wait_until (ping_result != NULL);
  assert_echo (fixture->worker, ping_result, payload);
  g_assert_cmpint (uc_worker_get_pid (fixture->worker), ==, pid);
  g_assert_cmpuint (fixture->n_died, ==, 0);
}

/* /worker/fds/flat: requests, each passing a descriptor to the worker
 * and back, and pings kept in flight (or waiting their turn) meanwhile.
 * A tenth of the million: what fits in this program's time under
 * ASan and UBSan (0.4 ms a request there, twice that on a loaded
 * machine); bench-worker checks the million. */
#define FLAT_REQUESTS 100000
#define FLAT_WINDOW   256

/* /worker/fds/flat: 100,000 requests, pipelined, each passing a
 * descriptor to the worker and back, leave both processes with the
 * descriptors they had. */
static void
test_fds_flat (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  guint self_before;
  guint worker_before;
  gint64 start;
  pid_t pid;

  g_assert_cmpint (g_unix_fd_list_append (fds, STDIN_FILENO, NULL), ==, 0);
  pid = start_running_worker (fixture);
  /* Once with a descriptor first, so that what GLib sets up on first use
   * is counted. */
  g_assert_cmpuint (uc_test_ping_flood (fixture->worker, NULL, fds, 1, 1, 0),
                    ==, 1);
  assert_ping_works (fixture->worker);
  self_before = count_fds (getpid ());
  worker_before = count_fds (pid);

  start = g_get_monotonic_time ();
  g_assert_cmpuint (uc_test_ping_flood (fixture->worker, NULL, fds, FLAT_WINDOW,
                                        FLAT_REQUESTS, 0),
                    ==, FLAT_REQUESTS);
  g_test_message ("%u requests with a descriptor each way in %.1f s",
                  FLAT_REQUESTS,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  /* The worker closes what it sent after sending it, and answers in
   * order: once this is answered, the last reply's copies are closed. */
  assert_ping_works (fixture->worker);

  g_assert_cmpuint (count_fds (getpid ()), ==, self_before);
  g_assert_cmpuint (count_fds (pid), ==, worker_before);
  g_assert_cmpint (uc_worker_get_pid (fixture->worker), ==, pid);
  g_assert_cmpuint (uc_worker_get_restarts (fixture->worker), ==, 0);
}

/* /worker/restart/backoff: the delay doubles with each death in a row,
 * up to the maximum. */
static void
test_restart_backoff (Fixture *fixture, gconstpointer user_data)
{
  const guint expected[] = { 10, 20, 40, 80, 80, 80 };

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *pattern = g_strdup_printf (
        "worker * died (exit status 3); restarting in %u ms", expected[i]);

      g_test_expect_message ("worker", G_LOG_LEVEL_WARNING, pattern);
    }

  start_fake_worker (fixture, "exit", FALSE);
  uc_test_wait_until (fixture->n_died == G_N_ELEMENTS (expected));
  /* Stopped before the next start, so that no other death is logged. */
  stop_worker (fixture);
  g_test_assert_expected_messages ();

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_assert_cmpuint (g_array_index (fixture->delays, guint, i), ==,
                        expected[i]);
      g_assert_cmpstr (g_ptr_array_index (fixture->deaths, i), ==,
                       "exit status 3");
    }
  /* Each worker started no sooner than its delay after the death. */
  g_assert_cmpuint (fixture->started_at->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 1; i < fixture->started_at->len; i++)
    g_assert_cmpint (g_array_index (fixture->started_at, gint64, i) -
                       g_array_index (fixture->died_at, gint64, i - 1),
                     >=, (gint64) expected[i - 1] * 1000);
  g_assert_cmpuint (uc_worker_get_restarts (fixture->worker), ==,
                    G_N_ELEMENTS (expected) - 1);
}

/* /worker/restart/stable: a worker that ran long enough restarts after
 * the shortest delay again. */
static void
test_restart_stable (Fixture *fixture, gconstpointer user_data)
{
  for (guint i = 0; i < 3; i++)
    g_test_expect_message (
      "worker", G_LOG_LEVEL_WARNING,
      "worker * died (exit status 3); restarting in 10 ms");

  start_fake_worker (fixture, "sleep-exit", FALSE);
  /* Each fake runs 150 ms: longer than this. */
  uc_worker_set_restart_delays (fixture->worker, TEST_RESTART_MIN_MS,
                                TEST_RESTART_MAX_MS, 100);
  uc_test_wait_until (fixture->n_died == 3);
  stop_worker (fixture);
  g_test_assert_expected_messages ();
}

/* /worker/restart/explicit: a restart replays the calls in flight. */
static void
test_restart_explicit (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GAsyncResult) ping_result = NULL;
  g_autoptr (GAsyncResult) restart_result = NULL;
  g_autoptr (GBytes) payload = bytes_printf ("survive the restart");
  g_autoptr (GError) error = NULL;
  pid_t old_pid;

  old_pid = start_running_worker (fixture);
  /* Stopped, so that the ping is surely in flight when the restart
   * kills it. */
  g_assert_no_errno (kill (old_pid, SIGSTOP));
  uc_worker_ping_async (fixture->worker, payload, NULL, NULL, store_result,
                        &ping_result);
  uc_test_run_for (50);
  g_assert_cmpuint (uc_worker_get_n_in_flight (fixture->worker), ==, 1);

  uc_worker_restart_async (fixture->worker, NULL, store_result,
                           &restart_result);
  uc_test_wait_until (restart_result != NULL && ping_result != NULL);
  g_assert_true (
    uc_worker_restart_finish (fixture->worker, restart_result, &error));
  g_assert_no_error (error);
  assert_echo (fixture->worker, ping_result, payload);

  g_assert_cmpint (uc_worker_get_pid (fixture->worker), !=, old_pid);
  g_assert_cmpuint (uc_worker_get_restarts (fixture->worker), ==, 1);
  g_assert_cmpuint (fixture->n_died, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->deaths, 0), ==,
                   "signal 9, restart requested");
  g_assert_cmpuint (g_array_index (fixture->delays, guint, 0), ==, 0);
}

/* /worker/replay/exhausted: a request that kills every worker fails after
 * its replays. */
static void
test_replay_exhausted (Fixture *fixture, gconstpointer user_data)
{
  const guint delays[] = { 10, 20, 40 };
  g_autoptr (GAsyncResult) result = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (delays); i++)
    {
      g_autofree char *pattern = g_strdup_printf (
        "worker * died (exit status 3); restarting in %u ms", delays[i]);

      g_test_expect_message ("worker", G_LOG_LEVEL_WARNING, pattern);
    }

  start_fake_worker (fixture, "exit-after-request", FALSE);
  uc_worker_ping_async (fixture->worker, NULL, NULL, NULL, store_result,
                        &result);
  uc_test_wait_until (result != NULL);
  stop_worker (fixture);
  g_test_assert_expected_messages ();

  assert_ping_fails (fixture->worker, result,
                     "worker died (exit status 3) while running ping");
  g_assert_cmpuint (fixture->n_died, ==, 1 + UC_WORKER_MAX_REPLAYS);
}

/* /worker/replay/open-exclusive: an open with O_EXCL is never sent twice;
 * other calls are replayed to the next worker. */
static void
test_replay_open_exclusive (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "new", NULL);
  g_autoptr (GError) error = NULL;
  int fd;

  g_test_expect_message ("worker", G_LOG_LEVEL_WARNING,
                         "worker * died (exit status 3); restarting in 10 ms");
  start_fake_worker (fixture, "exit-after-request", TRUE);
  fd = open_sync (fixture->worker, path, O_WRONLY | O_CREAT | O_EXCL, &error);
  g_assert_cmpint (fd, ==, -1);
  g_assert_error (error, UC_ERROR, UC_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==,
                   "worker died (exit status 3) while running open");
  g_clear_error (&error);
  g_test_assert_expected_messages ();

  /* The next worker is a real one: the same open works. */
  fd = open_sync (fixture->worker, path, O_WRONLY | O_CREAT | O_EXCL, &error);
  g_assert_no_error (error);
  close (fd);
}

/* /worker/replay/answered-before-exit: a reply the worker sent before it
 * exited is delivered, however soon its exit is noticed: the call is
 * answered, not replayed. */
static void
test_replay_answered_before_exit (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GBytes) payload = bytes_printf ("who answers?");
  g_autoptr (GBytes) echo = NULL;
  g_autoptr (GError) error = NULL;

  g_test_expect_message ("worker", G_LOG_LEVEL_WARNING,
                         "worker * died (exit status 3); restarting in 10 ms");
  start_fake_worker (fixture, "reply-then-exit", TRUE);
  echo = ping_sync (fixture->worker, payload, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (echo, NULL), g_bytes_get_size (echo),
                   "from the fake", 13);
  uc_test_wait_until (fixture->n_died == 1);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (uc_worker_get_n_served (fixture->worker), ==, 1);
}

typedef struct
{
  const char *mode;
  const char *violation; /* what the log says */
} Malformed;

static const Malformed malformed_cases[] = {
  { "bad-magic", "bad magic 0x" },
  { "bad-version", "unsupported protocol version 9 (expected 1)" },
  { "bad-kind", "unknown frame kind 7" },
  { "reserved", "reserved header field is not zero" },
  { "request-kind", "unexpected request frame from the worker" },
  { "unknown-method", "unknown method 99" },
  { "wrong-method", "reply for method open to a ping request" },
  { "wrong-id", ", which is not in flight" },
  { "over-limit", "payload of 16777217 bytes exceeds the limit" },
  { "more-fds", "reply frame announces 0 descriptors but carries 1" },
  { "fewer-fds", "reply frame announces 1 descriptors but carries 0" },
  { "extra-reply-fd", "ping reply carries 1 descriptors instead of 0" },
  /* Read apart, the payload's descriptor belongs to no frame's start; read
   * with the header, it is one more than the header announces. */
  { "fd-after-first-byte", "descriptors" },
  { "truncated-header", "end of file inside a frame header (10 of 24 bytes)" },
  { "truncated-payload", "end of file inside a frame payload" },
  { "garbage", "bad magic 0xabababab" },
  { "bad-payload", "payload is not a valid “(a(stt)ay)” value" },
  { "bad-error-payload", "payload is not a valid “(is)” value" },
};

/* /worker/malformed/MODE: a worker breaking the protocol is logged, killed
 * and replaced; the ping it broke on is replayed, the exclusive open that
 * it had received fails, and no descriptor is left behind. */
static void
test_malformed (Fixture *fixture, gconstpointer user_data)
{
  const Malformed *c = user_data;
  g_autofree char *violation = g_strdup_printf (
    "worker *: protocol violation: *%s*; killing it", c->violation);
  g_autofree char *death =
    g_strdup_printf ("worker * died (*%s*); restarting in 10 ms", c->violation);
  g_autofree char *path = g_build_filename (fixture->dir, "exclusive", NULL);
  g_autoptr (GAsyncResult) ping_result = NULL;
  g_autoptr (GAsyncResult) open_result = NULL;
  g_autoptr (GBytes) payload = bytes_printf ("replay me");
  g_autoptr (GError) error = NULL;
  guint fds_before;

  start_fake_worker (fixture, c->mode, TRUE);
  fds_before = count_fds (getpid ());

  g_test_expect_message ("worker", G_LOG_LEVEL_WARNING, violation);
  g_test_expect_message ("worker", G_LOG_LEVEL_WARNING, death);
  uc_worker_ping_async (fixture->worker, payload, NULL, NULL, store_result,
                        &ping_result);
  uc_worker_open_async (fixture->worker, path, O_WRONLY | O_CREAT | O_EXCL,
                        0600, NULL, store_result, &open_result);
  uc_test_wait_until (ping_result != NULL && open_result != NULL);
  g_test_assert_expected_messages ();

  assert_echo (fixture->worker, ping_result, payload);

  g_assert_cmpint (uc_worker_open_finish (fixture->worker, open_result, &error),
                   ==, -1);
  g_assert_error (error, UC_ERROR, UC_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "worker died ("));
  g_assert_nonnull (strstr (error->message, c->violation));
  g_assert_true (g_str_has_suffix (error->message, ") while running open"));

  g_assert_cmpuint (fixture->n_died, ==, 1);
  g_assert_cmpuint (uc_worker_get_restarts (fixture->worker), ==, 1);
  /* Whatever it sent was closed; the new worker's socket replaced the
   * old one. */
  g_assert_cmpuint (count_fds (getpid ()), ==, fds_before);
}

/* /worker/lifecycle/stop-timeout: a worker that ignores the end of file
 * is killed, and its call fails. */
static void
test_stop_timeout (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GAsyncResult) ping_result = NULL;
  gint64 start;

  start_fake_worker (fixture, "hang", FALSE);
  uc_worker_ping_async (fixture->worker, NULL, NULL, NULL, store_result,
                        &ping_result);
  uc_test_run_for (100);

  start = g_get_monotonic_time ();
  stop_worker (fixture);
  g_assert_cmpint (g_get_monotonic_time () - start, >=,
                   UC_WORKER_STOP_TIMEOUT_MS * 1000);
  uc_test_wait_until (ping_result != NULL);
  assert_ping_fails (fixture->worker, ping_result,
                     "the worker stopped (signal 9) while running ping");
  g_assert_cmpuint (fixture->n_died, ==, 0);

  /* Stopped for good: calls fail at once. */
  g_clear_object (&ping_result);
  uc_worker_ping_async (fixture->worker, NULL, NULL, NULL, store_result,
                        &ping_result);
  uc_test_wait_until (ping_result != NULL);
  assert_ping_fails (fixture->worker, ping_result, "the worker is not running");
}

/* /worker/lifecycle/stop-graceful: stopping lets the worker answer what
 * it has, then it exits by itself. */
static void
test_stop_graceful (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GAsyncResult) ping_result = NULL;
  g_autoptr (GAsyncResult) stop_result = NULL;
  g_autoptr (GBytes) payload = bytes_printf ("last words");
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  start_real_worker (fixture);
  uc_worker_ping_async (fixture->worker, payload, NULL, NULL, store_result,
                        &ping_result);
  uc_worker_stop_async (fixture->worker, NULL, store_result, &stop_result);
  uc_test_wait_until (ping_result != NULL && stop_result != NULL);
  assert_echo (fixture->worker, ping_result, payload);
  g_assert_true (uc_worker_stop_finish (fixture->worker, stop_result, &error));
  /* Well before the kill. */
  g_assert_cmpint (g_get_monotonic_time () - start, <,
                   UC_WORKER_STOP_TIMEOUT_MS * 1000);

  /* It can be started again. */
  g_assert_true (uc_worker_start (fixture->worker, &error));
  g_assert_no_error (error);
  assert_ping_works (fixture->worker);
}

/* /worker/lifecycle/eof: the worker exits with status 0 at end of file;
 * run without the socket, it refuses. */
static void
test_lifecycle_eof (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (UcTestOutput) output = { 0 };
  g_auto (GStrv) envp = g_get_environ ();
  const char *argv[] = { uc_test_built_program ("UNIXCTLD_WORKER"), NULL };
  const char *no_args[] = { NULL };
  int pair[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair));
  g_subprocess_launcher_take_fd (launcher, pair[1], UC_WORKER_FD);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGKILL), NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_clear_object (&launcher);
  close (pair[0]);
  g_assert_cmpint (uc_test_subprocess_wait (process, DEADLINE_US), ==, 0);

  uc_test_run (uc_test_built_program ("UNIXCTLD_WORKER"), NULL, no_args,
               (const char *const *) envp, &output);
  g_assert_cmpint (output.status, ==, 1);
  g_assert_nonnull (strstr (output.err, "descriptor 3 is not a socket"));
}

/* /worker/lifecycle/sigint: the terminal's ^C is the daemon's to handle. */
static void
test_lifecycle_sigint (Fixture *fixture, gconstpointer user_data)
{
  pid_t pid;

  pid = start_running_worker (fixture);
  g_assert_no_errno (kill (pid, SIGINT));
  assert_ping_works (fixture->worker);
  g_assert_cmpint (uc_worker_get_pid (fixture->worker), ==, pid);
  g_assert_cmpuint (fixture->n_died, ==, 0);
}

/* Waits for @pid, an orphan this process adopted as a subreaper, with a
 * deadline; returns its wait status. */
static int
wait_orphan (pid_t pid)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;
  int status = 0;

  while (waitpid (pid, &status, WNOHANG) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (UC_TEST_POLL_US);
    }
  return status;
}

/* /worker/lifecycle/parent-death: a worker whose daemon dies is killed,
 * even stopped (when it could not see the end of file). */
static void
test_lifecycle_parent_death (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *pid_file = NULL;
  g_autofree char *contents = NULL;
  int status = 0;
  pid_t pid;

  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("TEST_WORKER_PID_FILE");
      g_autofree char *text = NULL;

      pid = start_running_worker (fixture);
      text = g_strdup_printf ("%ld", (long) pid);
      g_assert_true (g_file_set_contents (path, text, -1, NULL));
      g_assert_no_errno (kill (pid, SIGSTOP));
      /* Dies without a word: no tear-down, no stop. */
      _exit (0);
    }

  pid_file = g_build_filename (fixture->dir, "worker.pid", NULL);
  g_setenv ("TEST_WORKER_PID_FILE", pid_file, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv ("TEST_WORKER_PID_FILE");
  g_test_trap_assert_passed ();

  contents = uc_test_read_file (pid_file);
  pid = (pid_t) atol (contents);
  /* This process is a subreaper (see main()): the orphan is ours. */
  status = wait_orphan (pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
}

/* /worker/lifecycle/inherited-fds: the worker gets its socket and the
 * standard streams, nothing else of the daemon's. */
static void
test_lifecycle_inherited_fds (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "pidfile", NULL);
  g_autofree char *fd_dir = NULL;
  g_autofree char *listing = NULL;
  int leaky;

  /* What a careless daemon could leak: a descriptor without
   * close-on-exec, like a lock held on a pidfile. */
  leaky = open (path, O_RDWR | O_CREAT, 0600);
  g_assert_no_errno (leaky);

  fd_dir =
    g_strdup_printf ("/proc/%ld/fd", (long) start_running_worker (fixture));
  listing = uc_test_list_dir (fd_dir);
  g_assert_cmpstr (listing, ==, "0 1 2 3");
  close (leaky);
}

/* /worker/spawn/failure */
static void
test_spawn_failure (Fixture *fixture, gconstpointer user_data)
{
  const char *argv[] = { "/nonexistent/unixctld-worker", NULL };
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  fixture->worker = uc_worker_new (argv);
  g_assert_false (uc_worker_start (fixture->worker, &error));
  g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT);
  g_assert_true (g_str_has_prefix (
    error->message,
    "cannot start the worker “/nonexistent/unixctld-worker”: "));
  g_assert_cmpint (uc_worker_get_state (fixture->worker), ==,
                   UC_WORKER_STATE_FAILED);
  g_assert_cmpint (uc_worker_get_pid (fixture->worker), ==, 0);
  g_clear_error (&error);

  uc_worker_ping_async (fixture->worker, NULL, NULL, NULL, store_result,
                        &result);
  uc_test_wait_until (result != NULL);
  g_assert_null (
    uc_worker_ping_finish (fixture->worker, result, NULL, NULL, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (
    error->message, "the worker is not running: cannot start the worker"));
}

typedef struct
{
  guint n_ok;
  guint n_cancelled;
} CancelCount;

static void
on_cancel_ping (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CancelCount *count = user_data;
  g_autoptr (GBytes) echo = NULL;
  g_autoptr (GError) error = NULL;

  echo = uc_worker_ping_finish (UC_WORKER (source), result, NULL, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    count->n_cancelled++;
  else
    {
      g_assert_no_error (error);
      count->n_ok++;
    }
}

/* /worker/cancel: a waiting call goes at once; one in flight completes at
 * once too, and the worker's late answer is dropped. */
static void
test_cancel (Fixture *fixture, gconstpointer user_data)
{
  const guint n = UC_WORKER_MAX_IN_FLIGHT + 6;
  g_autoptr (GPtrArray) cancellables =
    g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  CancelCount count = { 0, 0 };
  guint64 served;
  guint fds_before;
  pid_t pid;

  pid = start_running_worker (fixture);
  served = uc_worker_get_n_served (fixture->worker);
  g_assert_cmpint (g_unix_fd_list_append (fds, STDIN_FILENO, NULL), ==, 0);
  fds_before = count_fds (getpid ());
  g_assert_no_errno (kill (pid, SIGSTOP));

  for (guint i = 0; i < n; i++)
    {
      GCancellable *cancellable = g_cancellable_new ();

      g_ptr_array_add (cancellables, cancellable);
      uc_worker_ping_async (fixture->worker, NULL, fds, cancellable,
                            on_cancel_ping, &count);
    }
  g_assert_cmpuint (uc_worker_get_n_waiting (fixture->worker), ==, 6);

  g_cancellable_cancel (g_ptr_array_index (cancellables, 0));
  g_cancellable_cancel (g_ptr_array_index (cancellables, n - 1));
  uc_test_wait_until (count.n_cancelled == 2);
  g_assert_cmpuint (count.n_ok, ==, 0);
  /* The one in flight keeps its slot until the worker answers it. */
  g_assert_cmpuint (uc_worker_get_n_in_flight (fixture->worker), ==,
                    UC_WORKER_MAX_IN_FLIGHT);
  g_assert_cmpuint (uc_worker_get_n_waiting (fixture->worker), ==, 5);

  g_assert_no_errno (kill (pid, SIGCONT));
  uc_test_wait_until (count.n_ok == n - 2);
  uc_test_wait_until (uc_worker_get_n_in_flight (fixture->worker) == 0);
  g_assert_cmpuint (count.n_cancelled, ==, 2);
  g_assert_cmpuint (uc_worker_get_n_served (fixture->worker) - served, ==,
                    n - 1);
  /* The dropped answer's descriptor was closed. */
  g_assert_cmpuint (count_fds (getpid ()), ==, fds_before);
}

/* /worker/system-stats */
static void
test_system_stats (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *missing = g_build_filename (fixture->dir, "missing", NULL);
  const char *paths[] = { fixture->dir, missing, NULL };
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GVariant) stats = NULL;
  g_autoptr (GVariant) cpu = NULL;
  g_autoptr (GVariant) memory = NULL;
  g_autoptr (GVariant) processes = NULL;
  g_autoptr (GVariant) filesystems = NULL;
  g_autoptr (GVariant) daemon = NULL;
  g_autoptr (GVariant) worker = NULL;
  g_autoptr (GVariant) fs = NULL;
  g_autoptr (GVariant) fs_missing = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) json = NULL;
  g_autofree char *text = NULL;
  g_autofree char *section = NULL;
  const char *string;
  guint32 pid;
  guint64 value;
  double load[3];

  start_real_worker (fixture);
  uc_worker_system_stats_async (fixture->worker, getpid (), paths, NULL,
                                store_result, &result);
  uc_test_wait_until (result != NULL);
  stats = uc_worker_system_stats_finish (fixture->worker, result, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (stats, G_VARIANT_TYPE_VARDICT));

  g_assert_true (g_variant_lookup (stats, "load-average", "(ddd)", &load[0],
                                   &load[1], &load[2]));
  g_assert_true (g_variant_lookup (stats, "cpus", "u", &pid));
  g_assert_cmpuint (pid, >=, 1);
  cpu = g_variant_lookup_value (stats, "cpu", G_VARIANT_TYPE ("a{st}"));
  g_assert_true (g_variant_lookup (cpu, "user", "t", &value));
  memory = g_variant_lookup_value (stats, "memory", G_VARIANT_TYPE ("a{st}"));
  g_assert_true (g_variant_lookup (memory, "total", "t", &value));
  g_assert_cmpuint (value, >, 0);

  processes =
    g_variant_lookup_value (stats, "processes", G_VARIANT_TYPE ("aa{sv}"));
  g_assert_cmpuint (g_variant_n_children (processes), ==, 2);
  daemon = g_variant_get_child_value (processes, 0);
  worker = g_variant_get_child_value (processes, 1);
  g_assert_true (g_variant_lookup (daemon, "pid", "u", &pid));
  g_assert_cmpuint (pid, ==, getpid ());
  g_assert_true (g_variant_lookup (daemon, "role", "&s", &string));
  g_assert_cmpstr (string, ==, "daemon");
  g_assert_true (g_variant_lookup (daemon, "rss", "t", &value));
  g_assert_cmpuint (value, >, 0);
  g_assert_true (g_variant_lookup (daemon, "fds", "u", &pid));
  g_assert_cmpuint (pid, >=, 4);
  g_assert_true (g_variant_lookup (worker, "pid", "u", &pid));
  g_assert_cmpuint (pid, ==, uc_worker_get_pid (fixture->worker));
  g_assert_true (g_variant_lookup (worker, "threads", "u", &pid));
  g_assert_cmpuint (pid, ==, 1);
  g_assert_true (g_variant_lookup (worker, "fds", "u", &pid));
  g_assert_cmpuint (pid, ==, 4);

  filesystems =
    g_variant_lookup_value (stats, "filesystems", G_VARIANT_TYPE ("aa{sv}"));
  g_assert_cmpuint (g_variant_n_children (filesystems), ==, 2);
  fs = g_variant_get_child_value (filesystems, 0);
  g_assert_true (g_variant_lookup (fs, "path", "&s", &string));
  g_assert_cmpstr (string, ==, fixture->dir);
  g_assert_true (g_variant_lookup (fs, "size", "t", &value));
  g_assert_cmpuint (value, >, 0);
  fs_missing = g_variant_get_child_value (filesystems, 1);
  g_assert_true (g_variant_lookup (fs_missing, "error", "&s", &string));
  g_assert_cmpstr (string, ==, g_strerror (ENOENT));

  text = uc_system_stats_to_text (stats);
  g_test_message ("%s", text);
  g_assert_true (g_str_has_prefix (text, "load average: "));
  /* The name is the kernel's (comm), not the path GLib knows us by. */
  section =
    g_strdup_printf ("\ndaemon test-worker (pid %ld):\n", (long) getpid ());
  g_assert_nonnull (strstr (text, section));
  g_clear_pointer (&section, g_free);
  section = g_strdup_printf ("\nfile system of %s:\n  size: ", fixture->dir);
  g_assert_nonnull (strstr (text, section));
  g_clear_pointer (&section, g_free);
  section = g_strdup_printf ("\nfile system of %s:\n  error: %s\n", missing,
                             g_strerror (ENOENT));
  g_assert_nonnull (strstr (text, section));
  g_assert_true (g_str_has_suffix (text, "\n"));

  json = uc_system_stats_to_json (stats);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json));
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (
                     json_node_get_object (json), "processes")),
                   ==, 2);
}

/* /worker/system-stats/hostile-values: values of unexpected types are
 * left out of the text, not trusted. */
static void
test_system_stats_hostile (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GVariant) stats = NULL;
  g_autofree char *text = NULL;
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "load-average", "s", "high");
  g_variant_dict_insert (&dict, "cpu", "u", 3);
  g_variant_dict_insert (&dict, "processes", "as", NULL);
  stats = g_variant_ref_sink (g_variant_dict_end (&dict));
  text = uc_system_stats_to_text (stats);
  g_assert_cmpstr (text, ==, "");
}

/* /worker/find-program */
static void
test_find_program (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *saved = g_strdup (g_getenv ("UNIXCTLD_WORKER"));
  g_autofree char *found = NULL;
  g_autofree char *installed =
    g_build_filename (LIBEXECDIR, "unixctld-worker", NULL);

  g_setenv ("UNIXCTLD_WORKER", "/some/where/worker", TRUE);
  found = uc_worker_find_program ();
  g_assert_cmpstr (found, ==, "/some/where/worker");
  g_clear_pointer (&found, g_free);

  /* Nothing is next to this test program: the installed path. */
  g_unsetenv ("UNIXCTLD_WORKER");
  found = uc_worker_find_program ();
  g_assert_cmpstr (found, ==, installed);
  g_setenv ("UNIXCTLD_WORKER", saved, TRUE);
}

/* The frames themselves: uc-worker-protocol.c on a socketpair, both
 * ends in this process. */

/* A connected pair, @sender blocking (the worker's side) and @receiver
 * non-blocking (the daemon's), and a reader of @receiver. */
static UcWorkerReader *
socket_pair (GSocket **sender, GSocket **receiver)
{
  g_autoptr (GError) error = NULL;
  int pair[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair));
  *sender = g_socket_new_from_fd (pair[0], &error);
  g_assert_no_error (error);
  *receiver = g_socket_new_from_fd (pair[1], &error);
  g_assert_no_error (error);
  g_socket_set_blocking (*receiver, FALSE);
  return uc_worker_reader_new (*receiver, NULL, NULL);
}

/* Sends a ping request @id with @payload and @fds, wholly. */
static void
send_request (GSocket *socket,
              guint64 id,
              const char *payload,
              GUnixFDList *fds)
{
  UcWorkerHeader header = { UC_WORKER_KIND_REQUEST, UC_WORKER_METHOD_PING, id,
                            (guint32) strlen (payload), 0 };
  guint8 bytes[UC_WORKER_HEADER_SIZE];
  g_autoptr (GError) error = NULL;
  gsize offset = 0;

  header.n_fds = fds != NULL ? (guint16) g_unix_fd_list_get_length (fds) : 0;
  uc_worker_header_pack (&header, bytes);
  g_assert_true (uc_worker_send_frame (socket, bytes, payload, strlen (payload),
                                       fds, &offset, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (offset, ==, UC_WORKER_HEADER_SIZE + strlen (payload));
}

/* Reads what has come on a non-blocking socket: a frame, or @status. */
static UcWorkerFrame *
read_frame (UcWorkerReader *reader, UcWorkerReadStatus status, GError **error)
{
  UcWorkerFrame *frame = NULL;
  UcWorkerReadStatus got = uc_worker_reader_read (reader, &frame, error);

  /* The first AGAIN may only mean that the last read was short. */
  if (got == UC_WORKER_READ_AGAIN)
    got = uc_worker_reader_read (reader, &frame, error);
  g_assert_cmpint (got, ==, status);
  return frame;
}

static void
assert_same_file (int a, int b)
{
  struct stat st_a;
  struct stat st_b;

  g_assert_no_errno (fstat (a, &st_a));
  g_assert_no_errno (fstat (b, &st_b));
  g_assert_cmpuint (st_a.st_dev, ==, st_b.st_dev);
  g_assert_cmpuint (st_a.st_ino, ==, st_b.st_ino);
}

/* /worker/protocol/frames: pipelined frames, with and without
 * descriptors, arrive whole and in order, each with its own descriptors,
 * close-on-exec; the sender keeps none, the receiver's go with the
 * frames. */
static void
test_protocol_frames (Fixture *fixture, gconstpointer user_data)
{
  static const char *const payloads[] = { "one", "two", "three", "four" };
  static const guint n_fds[] = { 0, 2, 1, 0 };
  g_autoptr (GSocket) sender = NULL;
  g_autoptr (GSocket) receiver = NULL;
  g_autoptr (UcWorkerReader) reader = NULL;
  g_autoptr (GPtrArray) frames =
    g_ptr_array_new_with_free_func ((GDestroyNotify) uc_worker_frame_free);
  g_autoptr (GError) error = NULL;
  int pipe_fds[2];
  guint fds_before;

  reader = socket_pair (&sender, &receiver);
  g_assert_no_errno (pipe2 (pipe_fds, O_CLOEXEC));
  fds_before = count_fds (getpid ());

  /* Back to back, before anything is read: two frames with descriptors
   * in a row, which the kernel keeps apart only if each went in a send of
   * its own. */
  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();

      for (guint j = 0; j < n_fds[i]; j++)
        g_assert_cmpint (g_unix_fd_list_append (fds, pipe_fds[j], NULL), >=, 0);
      send_request (sender, i + 1, payloads[i], fds);
    }
  /* The sender's copies are closed; the kernel holds its own. */
  g_assert_cmpuint (count_fds (getpid ()), ==, fds_before);

  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      UcWorkerFrame *frame = read_frame (reader, UC_WORKER_READ_FRAME, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (frame->header.id, ==, i + 1);
      g_assert_cmpmem (g_bytes_get_data (frame->payload, NULL),
                       g_bytes_get_size (frame->payload), payloads[i],
                       strlen (payloads[i]));
      g_assert_cmpuint (frame->fds->len, ==, n_fds[i]);
      for (guint j = 0; j < frame->fds->len; j++)
        {
          int fd = g_array_index (frame->fds, int, j);

          assert_same_file (fd, pipe_fds[j]);
          g_assert_cmpint (fcntl (fd, F_GETFD) & FD_CLOEXEC, !=, 0);
        }
      g_ptr_array_add (frames, frame);
    }
  g_assert_null (read_frame (reader, UC_WORKER_READ_AGAIN, &error));
  g_assert_cmpuint (count_fds (getpid ()), ==, fds_before + 3);
  g_ptr_array_set_size (frames, 0);
  g_assert_cmpuint (count_fds (getpid ()), ==, fds_before);

  g_assert_true (g_socket_close (sender, &error));
  g_assert_null (read_frame (reader, UC_WORKER_READ_EOF, &error));
  g_assert_no_error (error);
  close (pipe_fds[0]);
  close (pipe_fds[1]);
}

/* /worker/protocol/control-message: a control message other than
 * descriptors (here credentials, which the receiver asked for) breaks
 * the protocol, and the descriptors that came with it are closed. */
static void
test_protocol_control_message (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSocket) sender = NULL;
  g_autoptr (GSocket) receiver = NULL;
  g_autoptr (UcWorkerReader) reader = NULL;
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr (GError) error = NULL;
  guint fds_before;

  reader = socket_pair (&sender, &receiver);
  g_assert_true (
    g_socket_set_option (receiver, SOL_SOCKET, SO_PASSCRED, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_unix_fd_list_append (fds, STDERR_FILENO, NULL), ==, 0);
  send_request (sender, 1, "credentials", fds);
  g_clear_object (&fds);
  fds_before = count_fds (getpid ());

  g_assert_null (read_frame (reader, UC_WORKER_READ_FAILED, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==,
                   "unexpected control message GUnixCredentialsMessage (only "
                   "descriptors may come with a frame)");
  g_assert_cmpuint (count_fds (getpid ()), ==, fds_before);
}

/* /worker/protocol/ctrunc: descriptors the kernel had to drop (here, the
 * receiver is out of descriptors) break the protocol, and those that did
 * arrive are closed.  In a subprocess: it lowers its limit of open
 * files. */
static void
test_protocol_ctrunc (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSocket) sender = NULL;
  g_autoptr (GSocket) receiver = NULL;
  g_autoptr (UcWorkerReader) reader = NULL;
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *listing = NULL;
  struct rlimit saved;
  struct rlimit low;
  guint fds_before;
  guint free_slots;
  int highest;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  reader = socket_pair (&sender, &receiver);
  for (int i = 0; i < UC_WORKER_MAX_FDS; i++)
    g_assert_cmpint (g_unix_fd_list_append (fds, STDERR_FILENO, NULL), ==, i);
  send_request (sender, 1, "too many for here", fds);
  g_clear_object (&fds);

  /* Room for two more descriptors above the highest open one, and the
   * gaps below it: fewer than the frame carries. */
  listing = uc_test_list_dir ("/proc/self/fd");
  highest = atoi (strrchr (listing, ' ') + 1);
  fds_before = count_fds (getpid ());
  free_slots = (guint) (highest + 1) - fds_before + 2;
  g_assert_cmpuint (free_slots, <, UC_WORKER_MAX_FDS);
  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &saved));
  low = saved;
  low.rlim_cur = (rlim_t) highest + 3;
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &low));

  g_assert_null (read_frame (reader, UC_WORKER_READ_FAILED, &error));
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &saved));
  g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
  g_assert_true (
    g_str_has_prefix (error->message, "descriptors cut off (MSG_CTRUNC)"));
  g_assert_cmpuint (count_fds (getpid ()), ==, fds_before);
}

/* The daemon, through its control socket. */

typedef struct
{
  char *dir;           /* (owned) */
  GSubprocess *daemon; /* (owned) */
  pid_t pid;
  char *socket; /* (owned) */
  char **envp;  /* (owned) */
} Daemon;

static void
daemon_free (Daemon *daemon)
{
  if (daemon->daemon != NULL &&
      g_subprocess_get_identifier (daemon->daemon) != NULL)
    {
      g_subprocess_force_exit (daemon->daemon);
      uc_test_subprocess_wait (daemon->daemon, DEADLINE_US);
    }
  g_clear_object (&daemon->daemon);
  uc_test_rm_rf (daemon->dir);
  g_free (daemon->dir);
  g_free (daemon->socket);
  g_strfreev (daemon->envp);
  g_free (daemon);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Daemon, daemon_free)

/* Runs unixctld in the foreground in a run directory of its own, with
 * @extra (NULL-terminated) arguments.  The worker is found next to it:
 * $UNIXCTLD_WORKER is unset, so that the lookup is tested too. */
static Daemon *
daemon_start (const char *const *extra)
{
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GSocketConnection) connection = NULL;
  Daemon *daemon = g_new0 (Daemon, 1);
  g_autofree char *name = NULL;

  daemon->dir = uc_test_make_tmp_dir ("test-worker-daemon-XXXXXX");
  daemon->envp = uc_test_ovs_environ (daemon->dir, daemon->dir);
  daemon->envp = g_environ_unsetenv (daemon->envp, "UNIXCTLD_WORKER");
  g_subprocess_launcher_set_environ (launcher, daemon->envp);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGKILL), NULL);
  daemon->daemon = uc_test_spawn_unixctld (launcher, daemon->dir, extra);
  daemon->pid = uc_test_subprocess_pid (daemon->daemon);
  name = g_strdup_printf ("unixctld.%ld.ctl", (long) daemon->pid);
  daemon->socket = g_build_filename (daemon->dir, name, NULL);
  connection =
    uc_test_wait_for_unix_socket (daemon->daemon, daemon->socket, DEADLINE_US);
  g_assert_nonnull (connection);
  return daemon;
}

static GSocket *
daemon_connect (Daemon *daemon, GSocketConnection **connection)
{
  *connection = uc_test_connect_unix (daemon->socket, 30);
  return g_socket_connection_get_socket (*connection);
}

/* Calls @method, which must succeed with a string; returns it. */
static char *
call_text (GSocket *socket, const char *method, const char *const *params)
{
  g_autoptr (JsonNode) result = uc_test_call (socket, method, params);

  g_assert_true (JSON_NODE_HOLDS_VALUE (result));
  return g_strdup (json_node_get_string (result));
}

static pid_t
parent_of (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%ld/stat", (long) pid);
  g_autofree char *stat = uc_test_read_file (path);
  const char *after = strrchr (stat, ')');

  g_assert_nonnull (after);
  /* ") STATE PPID" */
  return (pid_t) atol (after + 4);
}

/* The number after "KEY:" in aligned "key: value" text. */
static long
text_value (const char *text, const char *key)
{
  g_autofree char *prefix = g_strconcat (key, ":", NULL);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (char **line = lines; *line != NULL; line++)
    if (g_str_has_prefix (*line, prefix))
      return atol (g_strchug (*line + strlen (prefix)));
  g_error ("no “%s” in:\n%s", key, text);
  return -1;
}

/* /worker/daemon/commands */
static void
test_daemon_commands (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (Daemon) daemon = daemon_start (NULL);
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GSocketConnection) json_connection = NULL;
  g_autoptr (JsonNode) status = NULL;
  g_autoptr (JsonNode) pong = NULL;
  g_autoptr (JsonNode) stats = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *fd_dir = NULL;
  g_autofree char *listing = NULL;
  const char *format_json[] = { "--format", "json", NULL };
  const char *ping_args[] = { "1000", NULL };
  const char *bad_ping[] = { "abc", NULL };
  GSocket *socket = daemon_connect (daemon, &connection);
  GSocket *json_socket;
  JsonObject *object;
  pid_t worker_pid;
  pid_t new_pid;

  /* worker/status, text: aligned lines. */
  text = call_text (socket, "worker/status", NULL);
  g_test_message ("%s", text);
  g_assert_true (g_str_has_prefix (text, "state:            running\npid: "));
  worker_pid = (pid_t) text_value (text, "pid");
  g_assert_cmpint (parent_of (worker_pid), ==, daemon->pid);
  g_assert_cmpint (text_value (text, "restarts"), ==, 0);
  g_assert_cmpint (text_value (text, "in flight"), ==, 0);
  g_assert_nonnull (strstr (text, "\nqueue depth:      0\n"));
  g_clear_pointer (&text, g_free);

  /* Only its socket and the standard streams, once it runs (answers a
   * request that passes no descriptor: it closes those after replying). */
  g_free (call_text (socket, "system-stats/show", NULL));
  fd_dir = g_strdup_printf ("/proc/%ld/fd", (long) worker_pid);
  listing = uc_test_list_dir (fd_dir);
  g_assert_cmpstr (listing, ==, "0 1 2 3");

  /* JSON. */
  json_socket = daemon_connect (daemon, &json_connection);
  g_clear_pointer (&status, json_node_unref);
  status = uc_test_call (json_socket, "set-options", format_json);
  g_clear_pointer (&status, json_node_unref);
  status = uc_test_call (json_socket, "worker/status", NULL);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (status));
  object = json_node_get_object (status);
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==,
                   "running");
  g_assert_cmpint (json_object_get_int_member (object, "pid"), ==, worker_pid);
  g_assert_cmpint (json_object_get_int_member (object, "restarts"), ==, 0);
  g_assert_true (json_object_has_member (object, "queue-depth"));
  g_assert_true (json_object_has_member (object, "in-flight"));
  g_assert_true (json_object_has_member (object, "requests-served"));
  g_assert_true (json_object_has_member (object, "uptime-ms"));

  pong = uc_test_call (json_socket, "worker/ping", NULL);
  object = json_node_get_object (pong);
  g_assert_cmpint (json_object_get_int_member (object, "bytes"), ==, 16);
  g_assert_true (json_object_get_boolean_member (
    json_object_get_object_member (object, "descriptor"), "same-inode"));

  /* worker/ping, text. */
  text = call_text (socket, "worker/ping", ping_args);
  g_test_message ("%s", text);
  expected = g_strdup_printf ("worker %ld answered in ", (long) worker_pid);
  g_assert_true (g_str_has_prefix (text, expected));
  g_assert_nonnull (strstr (text, "\npayload: 1000 bytes echoed intact\n"));
  g_assert_nonnull (strstr (text, ", came back with the same inode\n"));
  g_clear_pointer (&text, g_free);

  reply = uc_test_transact (socket, "worker/ping", bad_ping);
  g_assert_cmpstr (json_object_get_string_member (reply, "error"), ==,
                   "invalid byte count “abc”: “abc” is not an unsigned "
                   "number\n");
  g_clear_pointer (&reply, json_object_unref);

  /* system-stats/show, text and JSON. */
  text = call_text (socket, "system-stats/show", NULL);
  g_test_message ("%s", text);
  g_clear_pointer (&expected, g_free);
  expected =
    g_strdup_printf ("\ndaemon unixctld (pid %ld):\n", (long) daemon->pid);
  g_assert_nonnull (strstr (text, expected));
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("\nworker unixctld-worker (pid %ld):\n",
                              (long) worker_pid);
  g_assert_nonnull (strstr (text, expected));
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("\nfile system of %s:\n", daemon->dir);
  g_assert_nonnull (strstr (text, expected));
  g_clear_pointer (&text, g_free);
  stats = uc_test_call (json_socket, "system-stats/show", NULL);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (stats));
  g_assert_true (
    json_object_has_member (json_node_get_object (stats), "load-average"));

  /* worker/restart answers once the new worker runs. */
  text = call_text (socket, "worker/restart", NULL);
  g_assert_true (g_str_has_prefix (text, "worker restarted: pid "));
  new_pid = (pid_t) atol (text + strlen ("worker restarted: pid "));
  g_assert_cmpint (new_pid, !=, worker_pid);
  g_assert_cmpint (parent_of (new_pid), ==, daemon->pid);
  g_clear_pointer (&text, g_free);
  text = call_text (socket, "worker/status", NULL);
  g_assert_cmpint (text_value (text, "pid"), ==, new_pid);
  g_assert_cmpint (text_value (text, "restarts"), ==, 1);
  g_assert_cmpint (text_value (text, "requests served"), >=, 5);
  g_clear_pointer (&text, g_free);

  /* A clean stop takes the worker along. */
  g_subprocess_send_signal (daemon->daemon, SIGTERM);
  g_assert_cmpint (uc_test_subprocess_wait (daemon->daemon, DEADLINE_US), ==,
                   0);
  g_assert_cmpint (kill (new_pid, 0), ==, -1);
  g_assert_cmpint (errno, ==, ESRCH);
}

/* /worker/daemon/ovs-appctl */
static void
test_daemon_ovs_appctl (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (Daemon) daemon = daemon_start (NULL);
  g_auto (UcTestOutput) output = { 0 };
  g_auto (UcTestOutput) ping = { 0 };
  const char *status_args[] = { "-t", "unixctld", "worker/status", NULL };
  const char *ping_args[] = { "-t", "unixctld", "worker/ping", "64", NULL };

  if (!g_file_test ("/usr/bin/ovs-appctl", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("ovs-appctl is not installed");
      return;
    }
  uc_test_run ("/usr/bin/ovs-appctl", NULL, status_args,
               (const char *const *) daemon->envp, &output);
  g_assert_cmpstr (output.err, ==, "");
  g_assert_cmpint (output.status, ==, 0);
  g_assert_true (g_str_has_prefix (output.out, "state:            running\n"));
  g_assert_cmpint (text_value (output.out, "restarts"), ==, 0);

  uc_test_run ("/usr/bin/ovs-appctl", NULL, ping_args,
               (const char *const *) daemon->envp, &ping);
  g_assert_cmpint (ping.status, ==, 0);
  g_assert_nonnull (strstr (ping.out, "payload: 64 bytes echoed intact\n"));
}

/* /worker/daemon/sigstop: a stopped worker holds up its own commands
 * only. */
static void
test_daemon_sigstop (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (Daemon) daemon = daemon_start (NULL);
  g_autoptr (GSocketConnection) waiting = NULL;
  g_autoptr (GSocketConnection) other = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *version = NULL;
  GSocket *waiting_socket = daemon_connect (daemon, &waiting);
  GSocket *other_socket = daemon_connect (daemon, &other);
  const char *request =
    "{\"method\":\"worker/ping\",\"params\":[],\"id\":\"late\"}";
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;
  pid_t worker_pid;

  /* Stopped once it runs, not while it starts. */
  g_free (call_text (other_socket, "worker/ping", NULL));
  text = call_text (other_socket, "worker/status", NULL);
  worker_pid = (pid_t) text_value (text, "pid");
  g_assert_no_errno (kill (worker_pid, SIGSTOP));

  uc_test_send_all (waiting_socket, request, strlen (request));
  /* Once the daemon has read it, the ping waits for the stopped worker
   * while the other connection is served at once. */
  do
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_clear_pointer (&text, g_free);
      text = call_text (other_socket, "worker/status", NULL);
    }
  while (text_value (text, "in flight") != 1);
  version = call_text (other_socket, "version", NULL);
  g_assert_cmpstr (version, ==,
                   PACKAGE_NAME " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
  g_assert_false (g_socket_condition_timed_wait (waiting_socket, G_IO_IN,
                                                 300000, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  g_assert_no_errno (kill (worker_pid, SIGCONT));
  reply = uc_test_receive_object (waiting_socket);
  g_assert_cmpstr (json_object_get_string_member (reply, "id"), ==, "late");
  g_assert_true (g_str_has_prefix (
    json_object_get_string_member (reply, "result"), "worker "));
}

/* /worker/daemon/no-worker */
static void
test_daemon_no_worker (Fixture *fixture, gconstpointer user_data)
{
  const char *args[] = { "--no-worker", NULL };
  g_autoptr (Daemon) daemon = daemon_start (args);
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (JsonObject) reply = NULL;
  g_autofree char *commands = NULL;
  g_autofree char *children = NULL;
  g_autofree char *path = NULL;
  GSocket *socket = daemon_connect (daemon, &connection);

  commands = call_text (socket, "list-commands", NULL);
  g_assert_null (strstr (commands, "worker/"));
  g_assert_null (strstr (commands, "system-stats/"));
  reply = uc_test_transact (socket, "worker/status", NULL);
  g_assert_nonnull (
    strstr (json_object_get_string_member (reply, "error"), "not a valid"));

  path = g_strdup_printf ("/proc/%ld/task/%ld/children", (long) daemon->pid,
                          (long) daemon->pid);
  children = uc_test_read_file (path);
  g_assert_cmpstr (children, ==, "");
}

/* /worker/daemon/missing-worker: a worker that cannot be started is a
 * start-up failure, with the reason, and nothing is left behind. */
static void
test_daemon_missing_worker (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *rundir = g_build_filename (fixture->dir, "run", NULL);
  g_autofree char *rundir_arg = g_strconcat ("--rundir=", rundir, NULL);
  g_autofree char *listing = NULL;
  g_auto (UcTestOutput) output = { 0 };
  g_auto (GStrv) envp = uc_test_ovs_environ (rundir, fixture->dir);
  const char *args[] = { rundir_arg, NULL };

  envp =
    g_environ_setenv (envp, "UNIXCTLD_WORKER", "/nonexistent/worker", TRUE);
  /* Its quotes survive on stderr only in a UTF-8 locale. */
  envp = g_environ_setenv (envp, "LC_ALL", "C.UTF-8", TRUE);
  uc_test_run (uc_test_built_program ("UNIXCTLD"), NULL, args,
               (const char *const *) envp, &output);
  g_assert_cmpint (output.status, ==, 1);
  g_assert_true (g_str_has_prefix (
    output.err, "unixctld: cannot start the worker “/nonexistent/worker”: "));
  listing = uc_test_list_dir (rundir);
  g_assert_cmpstr (listing, ==, "");
}

/* /worker/daemon/detach: a detached daemon's worker holds none of the
 * caller's streams: the caller sees their end as soon as the daemon is
 * ready. */
static void
test_daemon_detach (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *rundir = g_build_filename (fixture->dir, "run", NULL);
  g_autofree char *rundir_arg = g_strconcat ("--rundir=", rundir, NULL);
  g_autofree char *pidfile = g_build_filename (rundir, "unixctld.pid", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *socket_name = NULL;
  g_autofree char *socket_path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *stderr_target = NULL;
  g_autofree char *link = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_auto (UcTestOutput) output = { 0 };
  g_auto (GStrv) envp = uc_test_ovs_environ (rundir, fixture->dir);
  const char *args[] = { rundir_arg, "--detach", "--no-chdir", NULL };
  int status = 0;
  pid_t pid;
  pid_t worker_pid;

  /* Returns only once nothing holds its stdout and stderr pipes. */
  uc_test_run (uc_test_built_program ("UNIXCTLD"), NULL, args,
               (const char *const *) envp, &output);
  g_assert_cmpint (output.status, ==, 0);
  g_assert_cmpstr (output.err, ==, "");

  contents = uc_test_read_file (pidfile);
  pid = (pid_t) atol (contents);
  socket_name = g_strdup_printf ("unixctld.%ld.ctl", (long) pid);
  socket_path = g_build_filename (rundir, socket_name, NULL);
  connection = uc_test_connect_unix (socket_path, 30);
  text = call_text (g_socket_connection_get_socket (connection),
                    "worker/status", NULL);
  worker_pid = (pid_t) text_value (text, "pid");
  link = g_strdup_printf ("/proc/%ld/fd/2", (long) worker_pid);
  stderr_target = g_file_read_link (link, NULL);
  g_assert_cmpstr (stderr_target, ==, "/dev/null");

  /* This process is a subreaper (see main()): the daemon is ours. */
  g_assert_no_errno (kill (pid, SIGTERM));
  status = wait_orphan (pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_assert_cmpint (kill (worker_pid, 0), ==, -1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  /* Every message a test provokes must be logged, to be expected. */
  uc_rate_limit_set_enabled (FALSE);
  /* Orphans (a detached daemon, a worker whose parent died) become our
   * children, so that their fate can be checked. */
  prctl (PR_SET_CHILD_SUBREAPER, 1);

#define ADD(path, data, func)                                  \
  g_test_add ((path), Fixture, (data), fixture_set_up, (func), \
              fixture_tear_down)

  ADD ("/worker/ping/descriptors", NULL, test_ping_descriptors);
  ADD ("/worker/ping/pipelined", NULL, test_ping_pipelined);
  ADD ("/worker/limits/payload", NULL, test_limits_payload);
  ADD ("/worker/limits/max-reply", NULL, test_limits_max_reply);
  ADD ("/worker/open", NULL, test_open);
  ADD ("/worker/append/basic", NULL, test_append_basic);
  ADD ("/worker/append/kill9", NULL, test_append_kill9);
  ADD ("/worker/append/hold-cancelled", NULL, test_hold_cancelled);
  ADD ("/worker/stop/sigstop", NULL, test_sigstop);
  ADD ("/worker/fds/flat", NULL, test_fds_flat);
  ADD ("/worker/restart/backoff", NULL, test_restart_backoff);
  ADD ("/worker/restart/stable", NULL, test_restart_stable);
  ADD ("/worker/restart/explicit", NULL, test_restart_explicit);
  ADD ("/worker/replay/exhausted", NULL, test_replay_exhausted);
  ADD ("/worker/replay/open-exclusive", NULL, test_replay_open_exclusive);
  ADD ("/worker/replay/answered-before-exit", NULL,
       test_replay_answered_before_exit);
  for (gsize i = 0; i < G_N_ELEMENTS (malformed_cases); i++)
    {
      g_autofree char *path =
        g_strconcat ("/worker/malformed/", malformed_cases[i].mode, NULL);

      ADD (path, &malformed_cases[i], test_malformed);
    }
  ADD ("/worker/lifecycle/stop-timeout", NULL, test_stop_timeout);
  ADD ("/worker/lifecycle/stop-graceful", NULL, test_stop_graceful);
  ADD ("/worker/lifecycle/eof", NULL, test_lifecycle_eof);
  ADD ("/worker/lifecycle/sigint", NULL, test_lifecycle_sigint);
  ADD ("/worker/lifecycle/parent-death", NULL, test_lifecycle_parent_death);
  ADD ("/worker/lifecycle/inherited-fds", NULL, test_lifecycle_inherited_fds);
  ADD ("/worker/spawn/failure", NULL, test_spawn_failure);
  ADD ("/worker/cancel", NULL, test_cancel);
  ADD ("/worker/system-stats", NULL, test_system_stats);
  ADD ("/worker/system-stats/hostile-values", NULL, test_system_stats_hostile);
  ADD ("/worker/find-program", NULL, test_find_program);
  ADD ("/worker/protocol/frames", NULL, test_protocol_frames);
  ADD ("/worker/protocol/control-message", NULL, test_protocol_control_message);
  ADD ("/worker/protocol/ctrunc", NULL, test_protocol_ctrunc);
  ADD ("/worker/daemon/commands", NULL, test_daemon_commands);
  ADD ("/worker/daemon/ovs-appctl", NULL, test_daemon_ovs_appctl);
  ADD ("/worker/daemon/sigstop", NULL, test_daemon_sigstop);
  ADD ("/worker/daemon/no-worker", NULL, test_daemon_no_worker);
  ADD ("/worker/daemon/detach", NULL, test_daemon_detach);
  ADD ("/worker/daemon/missing-worker", NULL, test_daemon_missing_worker);

#undef ADD

  return g_test_run ();
}
