/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-hostile"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "uc-json-framer.h"
#include "uc-server.h"
#include "uc-test-util.h"

/*
 * The built `unixctld` (path in $UNIXCTLD) against hostile and broken
 * clients: bad input must cost the daemon nothing.  Each test runs its
 * own daemon in the foreground, in a private run directory, and after
 * every scenario checks that
 *
 *  - a fresh client is still answered (`version`),
 *  - the daemon's open descriptors (/proc/PID/fd) are exactly those it
 *    had before the scenario: polled until equal, since closing a
 *    connection completes asynchronously,
 *  - its resident memory (VmRSS) is back within RSS_SLACK_KB of where it
 *    was: memory the allocator keeps for reuse is not a leak, so a little
 *    slack is allowed.  The daemon runs with malloc settings that make
 *    RSS follow what it holds (see fixture_set_up()), and a scenario that
 *    fragments the heap is run once more after a new baseline (see
 *    rebase_rss()).  Under ASan the quarantine keeps freed memory
 *    resident, so the slack is large there, and leaks are caught instead
 *    by LeakSanitizer when the daemon exits at the end of each test (it
 *    must exit 0).
 *
 * Clients are raw sockets, so that the test can do what no well-behaved
 * client library would: send garbage, stall, half-close, reset.
 *
 * Time bounds here are deadlines for things that must happen, generous
 * and scaled under ASan; the few checks that something does *not* happen
 * (a capped connection is not served, the daemon does not spin) observe
 * for a fixed short time and can only pass wrongly, never fail wrongly,
 * on a slow machine.
 */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* Slows deadlines down under ASan. */
#define SCALE (UNDER_ASAN ? 4 : 1)

/* For things that must happen. */
#define DEADLINE_US (30 * SCALE * G_USEC_PER_SEC)
/* For a transaction that must be answered promptly while the daemon is
 * under attack elsewhere. */
#define PROMPT_US (2 * SCALE * G_USEC_PER_SEC)

/* Resident memory the daemon may keep after a scenario, in KiB. */
#define RSS_SLACK_KB (UNDER_ASAN ? 256 * 1024 : 2 * 1024)

#define VERSION_REPLY_TEXT \
  PACKAGE_NAME " (" PACKAGE_NAME ") " PACKAGE_VERSION "\\n"

/* The reply to a version request with id 1 and arguments. */
#define VERSION_ARGUMENTS_REPLY                                             \
  "{\"id\":1,\"error\":\"\\\"version\\\" command takes at most 0 arguments" \
  "\\n\"}"

#define REMOTE_MAX_CONNECTIONS 5
#define REMOTE_IDLE_TIMEOUT_S  1

/* How each test's daemon runs. */
typedef struct
{
  guint fd_limit;  /* RLIMIT_NOFILE, soft and hard; 0 to inherit */
  gboolean remote; /* also serves a capped ptcp: remote */
} DaemonConfig;

static const DaemonConfig default_config = { 0, FALSE };
static const DaemonConfig low_fd_config = { 64, FALSE };
static const DaemonConfig remote_config = { 0, TRUE };

typedef struct
{
  const DaemonConfig *config; /* (unowned) static */

  char *dir;           /* (owned) private directory */
  char *rundir;        /* (owned) DIR/run, the daemon's run directory */
  char *socket;        /* (owned) its control socket */
  char *log;           /* (owned) DIR/unixctld.log, its stderr */
  GSubprocess *daemon; /* (owned) */
  pid_t pid;
  guint16 tcp_port; /* its remote, with config->remote */

  guint64 base_rss_kb; /* after warming up */
  guint base_fds;
  char *base_fd_list; /* (owned) for messages */
} Fixture;

/* Small helpers. */

static gint64
remaining_ms (gint64 deadline)
{
  gint64 left = deadline - g_get_monotonic_time ();

  return left > 0 ? (left + 999) / 1000 : 0;
}

/* The daemon as /proc shows it. */

/* CPU time the daemon has used, user and system, in clock ticks. */
static guint64
daemon_cpu_ticks (Fixture *fixture)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", fixture->pid);
  g_autofree char *stat = uc_test_read_file (path);
  g_auto (GStrv) fields = NULL;
  const char *after_name = strrchr (stat, ')');

  /* After "PID (comm) ", state is field 3; utime and stime are 14 and 15. */
  g_assert_nonnull (after_name);
  fields = g_strsplit (after_name + 2, " ", -1);
  g_assert_cmpuint (g_strv_length (fields), >, 12);
  return g_ascii_strtoull (fields[11], NULL, 10) +
         g_ascii_strtoull (fields[12], NULL, 10);
}

static void
assert_daemon_alive (Fixture *fixture)
{
  if (g_subprocess_get_identifier (fixture->daemon) == NULL)
    {
      g_autofree char *log = uc_test_read_file (fixture->log);

      g_error ("unixctld died; its log:\n%s", log);
    }
}

/* Raw sockets. */

static int
connect_unix_fd (const char *path, gboolean nonblocking)
{
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  int fd;

  g_assert_cmpuint (strlen (path), <, sizeof address.sun_path);
  strcpy (address.sun_path, path);
  fd = socket (
    AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  g_assert_cmpint (fd, >=, 0);
  if (connect (fd, (struct sockaddr *) &address, sizeof address) < 0)
    g_error ("connect to %s: %s", path, g_strerror (errno));
  return fd;
}

static int
connect_unix (Fixture *fixture)
{
  return connect_unix_fd (fixture->socket, FALSE);
}

/* A TCP connection to the daemon's remote.  Non-blocking ones may still
 * be connecting. */
static int
connect_tcp (Fixture *fixture, gboolean nonblocking)
{
  struct sockaddr_in address = {
    .sin_family = AF_INET,
    .sin_port = htons (fixture->tcp_port),
    .sin_addr.s_addr = htonl (INADDR_LOOPBACK),
  };
  int fd;

  fd = socket (
    AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  g_assert_cmpint (fd, >=, 0);
  if (connect (fd, (struct sockaddr *) &address, sizeof address) < 0)
    {
      if (!nonblocking || errno != EINPROGRESS)
        g_error ("connect to port %u: %s", fixture->tcp_port,
                 g_strerror (errno));
    }
  return fd;
}

/* Closes @fd; with @reset, with a TCP or unix reset instead of an
 * orderly end. */
static void
hang_up (int fd, gboolean reset)
{
  if (reset)
    {
      struct linger linger = { .l_onoff = 1, .l_linger = 0 };

      setsockopt (fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    }
  close (fd);
}

static gboolean
wait_for_events (int fd, short events, gint64 deadline)
{
  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = events };
      int n = poll (&pfd, 1, (int) remaining_ms (deadline));

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >=, 0);
      return n > 0;
    }
}

/* Sends all of @data on a blocking or non-blocking socket.  Returns
 * %FALSE if the peer closed the connection first (EPIPE, ECONNRESET). */
static gboolean
send_all (int fd, const char *data, gsize length)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;

  while (length > 0)
    {
      gssize n = send (fd, data, length, MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno == EPIPE || errno == ECONNRESET)
            return FALSE;
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN)
            {
              if (!wait_for_events (fd, POLLOUT, deadline))
                g_error ("send did not progress within %d s",
                         (int) (DEADLINE_US / G_USEC_PER_SEC));
              continue;
            }
          g_error ("send: %s", g_strerror (errno));
        }
      data += n;
      length -= (gsize) n;
    }
  return TRUE;
}

static gboolean
send_text (int fd, const char *text)
{
  return send_all (fd, text, strlen (text));
}

/* Reads one message the daemon sent, framed as the daemon frames: exactly
 * its bytes are consumed (read with MSG_PEEK, then taken), so that a
 * pipelined reply stays for the next call.  Returns %NULL if the
 * connection ended cleanly between messages; fails the test on a timeout,
 * on an end inside a message, and on anything the framer refuses (such as
 * invalid UTF-8): the daemon only sends valid JSON.  Main thread only:
 * the buffer is shared. */
static char *
receive_message (int fd, gsize *length, gint64 deadline)
{
  g_autoptr (UcJsonFramer) framer = uc_json_framer_new (
    UC_JSON_DEFAULT_MAX_MESSAGE_SIZE, UC_JSON_DEFAULT_MAX_DEPTH);
  static char buffer[64 * 1024];

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      UcJsonFramerStatus status;
      gsize consumed = 0;
      gssize n;

      if (!wait_for_events (fd, POLLIN, deadline))
        g_error ("no reply within the deadline");
      n = recv (fd, buffer, sizeof buffer, MSG_PEEK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n == 0 || (n < 0 && errno == ECONNRESET))
        {
          g_assert_true (uc_json_framer_is_idle (framer));
          return NULL;
        }
      g_assert_cmpint (n, >, 0);

      status =
        uc_json_framer_feed (framer, buffer, (gsize) n, &consumed, &error);
      g_assert_no_error (error);
      g_assert_cmpint (status, !=, UC_JSON_FRAMER_ERROR);
      g_assert_cmpint (recv (fd, buffer, consumed, 0), ==, (gssize) consumed);
      if (status == UC_JSON_FRAMER_MESSAGE)
        return uc_json_framer_take_message (framer, length);
    }
}

typedef enum
{
  END_EOF,
  END_RESET,
  END_TIMEOUT,
} End;

/* Reads everything until the connection ends, or the deadline. */
static End
read_to_end (int fd, GString *received, gint64 deadline)
{
  for (;;)
    {
      char buffer[4096];
      gssize n;

      if (!wait_for_events (fd, POLLIN, deadline))
        return END_TIMEOUT;
      n = recv (fd, buffer, sizeof buffer, 0);
      if (n == 0)
        return END_EOF;
      if (n < 0)
        {
          if (errno == EINTR || errno == EAGAIN)
            continue;
          g_assert_cmpint (errno, ==, ECONNRESET);
          return END_RESET;
        }
      g_string_append_len (received, buffer, n);
    }
}

/* The daemon closes @fd, and sends nothing before it does. */
static void
assert_closed_without_reply (int fd)
{
  g_autoptr (GString) received = g_string_new (NULL);
  End end = read_to_end (fd, received, g_get_monotonic_time () + DEADLINE_US);

  g_assert_cmpstr (received->str, ==, "");
  g_assert_cmpint (end, !=, END_TIMEOUT);
}

static char *
version_request (const char *id)
{
  return g_strdup_printf ("{\"method\":\"version\",\"params\":[],\"id\":%s}",
                          id);
}

/* The exact reply to version_request(@id). */
static char *
version_reply (const char *id)
{
  return g_strdup_printf (
    "{\"id\":%s,\"result\":\"" VERSION_REPLY_TEXT "\",\"error\":null}", id);
}

static void
expect_version_reply (int fd, const char *id, gint64 deadline)
{
  g_autofree char *expected = version_reply (id);
  g_autofree char *reply = receive_message (fd, NULL, deadline);

  g_assert_cmpstr (reply, ==, expected);
}

/* Sends version_request(@id) on @fd; its reply must come by @deadline. */
static void
transact_version (int fd, const char *id, gint64 deadline)
{
  g_autofree char *request = version_request (id);

  g_assert_true (send_text (fd, request));
  expect_version_reply (fd, id, deadline);
}

/* Sends a version request on each of @fds at once, with its index as the
 * id, then reads every reply. */
static void
transact_version_all (const int *fds, guint n_fds)
{
  gint64 deadline;

  for (guint i = 0; i < n_fds; i++)
    {
      g_autofree char *id = g_strdup_printf ("%u", i);
      g_autofree char *request = version_request (id);

      g_assert_true (send_text (fds[i], request));
    }

  deadline = g_get_monotonic_time () + DEADLINE_US;
  for (guint i = 0; i < n_fds; i++)
    {
      g_autofree char *id = g_strdup_printf ("%u", i);

      expect_version_reply (fds[i], id, deadline);
    }
}

/* A fresh connection is answered, within @timeout_us. */
static void
assert_serves (Fixture *fixture, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  int fd = connect_unix (fixture);

  transact_version (fd, "\"fresh\"", deadline);
  close (fd);
}

/* Sends @text on a new connection: the daemon must close it without a
 * reply.  The send itself may fail, if the daemon closes first. */
static void
assert_refused (Fixture *fixture, const char *text)
{
  int fd = connect_unix (fixture);

  send_text (fd, text);
  assert_closed_without_reply (fd);
  close (fd);
}

/* Sends @request on a new connection: the daemon must answer exactly
 * @expected. */
static void
assert_answered (Fixture *fixture, const char *request, const char *expected)
{
  g_autofree char *reply = NULL;
  int fd = connect_unix (fixture);

  g_assert_true (send_text (fd, request));
  reply = receive_message (fd, NULL, g_get_monotonic_time () + DEADLINE_US);
  g_assert_cmpstr (reply, ==, expected);
  close (fd);
}

/* Waits until the daemon holds exactly its baseline descriptors. */
static void
wait_fds_at_baseline (Fixture *fixture)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;

  while (uc_test_proc_count_fds (fixture->pid, NULL) != fixture->base_fds)
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_autofree char *list = NULL;
          guint n = uc_test_proc_count_fds (fixture->pid, &list);

          g_error ("unixctld holds %u descriptors, not %u:\n%s\nbefore:\n%s", n,
                   fixture->base_fds, list, fixture->base_fd_list);
        }
      g_usleep (UC_TEST_POLL_US);
    }
}

/* Waits until the daemon's memory is back near its baseline. */
static void
wait_rss_at_baseline (Fixture *fixture)
{
  gint64 deadline = g_get_monotonic_time () + 5 * SCALE * G_USEC_PER_SEC;
  guint64 rss;

  while ((rss = uc_test_proc_rss_kib (fixture->pid)) >
         fixture->base_rss_kb + RSS_SLACK_KB)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("unixctld's RSS is %" G_GUINT64_FORMAT " KiB, more than "
                 "%" G_GUINT64_FORMAT " KiB + %u KiB",
                 rss, fixture->base_rss_kb, (guint) RSS_SLACK_KB);
      g_usleep (UC_TEST_POLL_US);
    }
  g_test_message ("RSS %" G_GUINT64_FORMAT " KiB (baseline %" G_GUINT64_FORMAT
                  " KiB)",
                  rss, fixture->base_rss_kb);
}

/* The check after every scenario: nothing was lost. */
static void
assert_recovered (Fixture *fixture)
{
  assert_daemon_alive (fixture);
  assert_serves (fixture, DEADLINE_US);
  wait_fds_at_baseline (fixture);
  wait_rss_at_baseline (fixture);
}

/* The fixture. */

static void
daemon_child_setup (gpointer user_data)
{
  const DaemonConfig *config = user_data;

  uc_test_die_with_parent (GINT_TO_POINTER (SIGTERM));
  if (config->fd_limit > 0)
    {
      /* The daemon raises its soft limit to the hard one: lower both. */
      struct rlimit rl = { config->fd_limit, config->fd_limit };

      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

/* The daemon's descriptors once they stop changing. */
static guint
settled_n_fds (Fixture *fixture)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;
  guint previous = uc_test_proc_count_fds (fixture->pid, NULL);
  guint n_same = 0;

  while (n_same < 5)
    {
      guint n;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (UC_TEST_POLL_US);
      n = uc_test_proc_count_fds (fixture->pid, NULL);
      n_same = n == previous ? n_same + 1 : 0;
      previous = n;
    }
  return previous;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) probe = NULL;
  const char *unixctld = uc_test_built_program ("UNIXCTLD");
  int fd;

  fixture->config = user_data;
  fixture->dir = uc_test_make_tmp_dir ("test-hostile-XXXXXX");
  fixture->rundir = g_build_filename (fixture->dir, "run", NULL);
  g_assert_no_errno (g_mkdir (fixture->rundir, 0700));
  fixture->socket = g_build_filename (fixture->rundir, "unixctld.ctl", NULL);
  fixture->log = g_build_filename (fixture->dir, "unixctld.log", NULL);

  g_ptr_array_add (argv, g_strdup (unixctld));
  g_ptr_array_add (argv, g_strconcat ("--rundir=", fixture->rundir, NULL));
  g_ptr_array_add (argv, g_strconcat ("--unixctl=", fixture->socket, NULL));
  if (fixture->config->remote)
    {
      fixture->tcp_port = uc_test_pick_free_port ();
      g_ptr_array_add (argv, g_strdup_printf ("--remote=ptcp:%u:127.0.0.1",
                                              fixture->tcp_port));
      g_ptr_array_add (argv, g_strdup_printf ("--remote-max-connections=%u",
                                              REMOTE_MAX_CONNECTIONS));
      g_ptr_array_add (argv, g_strdup_printf ("--remote-idle-timeout=%u",
                                              REMOTE_IDLE_TIMEOUT_S));
    }
  g_ptr_array_add (argv, NULL);

  /* Peers provoke warnings on purpose: they must not kill the daemon.  A
   * critical is a bug. */
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-criticals", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "G_MESSAGES_DEBUG");
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  /* GLib 2.74's slice allocator keeps freed blocks in caches reachable
   * from globals, where LeakSanitizer cannot see a leaked object and RSS
   * never shrinks; GLib 2.76 dropped it for malloc.  Use malloc now. */
  g_subprocess_launcher_setenv (launcher, "G_SLICE", "always-malloc", TRUE);
  /* glibc adapts its mmap threshold to the largest block freed so far, so
   * that a multi-MiB buffer, once freed, is followed by others taken from
   * (and kept in) the heap.  Fixed thresholds make RSS follow what the
   * daemon holds: large blocks are mapped and unmapped, and a free heap
   * top is given back. */
  g_subprocess_launcher_setenv (launcher, "GLIBC_TUNABLES",
                                "glibc.malloc.mmap_threshold=131072:"
                                "glibc.malloc.trim_threshold=131072",
                                TRUE);
  g_subprocess_launcher_set_stderr_file_path (launcher, fixture->log);
  g_subprocess_launcher_set_child_setup (launcher, daemon_child_setup,
                                         (gpointer) fixture->config, NULL);
  fixture->daemon = g_subprocess_launcher_spawnv (
    launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  fixture->pid = uc_test_subprocess_pid (fixture->daemon);

  probe = uc_test_wait_for_unix_socket (fixture->daemon, fixture->socket,
                                        DEADLINE_US);
  if (probe == NULL)
    assert_daemon_alive (fixture);
  g_clear_object (&probe);

  /* Warm up what the first connections, requests and peer-provoked log
   * lines allocate once, so that the baseline is the steady state. */
  for (int i = 0; i < 3; i++)
    {
      assert_serves (fixture, DEADLINE_US);
      fd = connect_unix (fixture);
      g_assert_true (send_text (fd, "{\"bad\""));
      g_assert_true (send_text (fd, "}"));
      assert_closed_without_reply (fd);
      close (fd);
    }

  fixture->base_fds = settled_n_fds (fixture);
  uc_test_proc_count_fds (fixture->pid, &fixture->base_fd_list);
  fixture->base_rss_kb = uc_test_proc_rss_kib (fixture->pid);
  g_test_message ("baseline: %u descriptors, RSS %" G_GUINT64_FORMAT " KiB",
                  fixture->base_fds, fixture->base_rss_kb);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *left = NULL;

  /* A clean stop: exit 0 (under ASan, also no leak), nothing left. */
  assert_daemon_alive (fixture);
  g_subprocess_send_signal (fixture->daemon, SIGTERM);
  if (uc_test_subprocess_wait (fixture->daemon, DEADLINE_US) != 0)
    {
      g_autofree char *log = uc_test_read_file (fixture->log);

      g_error ("unixctld did not exit cleanly; its log:\n%s", log);
    }
  left = uc_test_list_dir (fixture->rundir);
  g_assert_cmpstr (left, ==, "");

  uc_test_rm_rf (fixture->dir);
  g_clear_object (&fixture->daemon);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->rundir, g_free);
  g_clear_pointer (&fixture->socket, g_free);
  g_clear_pointer (&fixture->log, g_free);
  g_clear_pointer (&fixture->base_fd_list, g_free);
}

/* Scenarios. */

/* Wire fact 3: each of these ends the connection without a reply. */
static const struct
{
  const char *what;
  const char *text;
} malformed[] = {
  { "unquoted name", "{method:\"version\",\"params\":[],\"id\":1}" },
  { "missing colon", "{\"method\" \"version\",\"params\":[],\"id\":1}" },
  { "trailing comma", "{\"method\":\"version\",\"params\":[],\"id\":1,}" },
  { "bad literal", "{\"method\":\"version\",\"params\":[tru],\"id\":1}" },
  { "bad number", "{\"method\":\"version\",\"params\":[],\"id\":01}" },
  { "stray closer", "]" },
  { "not JSON at all", "GET / HTTP/1.0\r\n\r\n" },
  { "array", "[\"version\",[],1]" },
  { "string", "\"version\"" },
  { "number", "42 " },
  { "null", "null" },
  { "empty object", "{}" },
  { "params missing", "{\"method\":\"version\",\"id\":1}" },
  { "params null", "{\"method\":\"version\",\"params\":null,\"id\":1}" },
  { "params object", "{\"method\":\"version\",\"params\":{},\"id\":1}" },
  { "params string", "{\"method\":\"version\",\"params\":\"x\",\"id\":1}" },
  { "method missing", "{\"params\":[],\"id\":1}" },
  { "method not a string", "{\"method\":1,\"params\":[],\"id\":1}" },
  { "unexpected member",
    "{\"method\":\"version\",\"params\":[],\"id\":1,\"extra\":0}" },
  { "result beside method",
    "{\"method\":\"version\",\"params\":[],\"result\":\"x\",\"id\":1}" },
  { "notification, id null",
    "{\"method\":\"version\",\"params\":[],\"id\":null}" },
  { "notification, id missing", "{\"method\":\"version\",\"params\":[]}" },
  { "reply", "{\"result\":\"x\",\"error\":null,\"id\":1}" },
  { "reply without error", "{\"result\":\"x\",\"id\":1}" },
  { "error", "{\"error\":\"x\",\"id\":1}" },
  { "error beside null result", "{\"result\":null,\"error\":\"x\",\"id\":1}" },
};

static void
test_malformed (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *request = version_request ("1");

  for (gsize i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_test_message ("%s: %s", malformed[i].what, malformed[i].text);
      assert_refused (fixture, malformed[i].text);
      assert_recovered (fixture);
    }

  /* After a good request on the same connection: its reply, then the
   * end. */
  for (gsize i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autofree char *both = g_strconcat (request, malformed[i].text, NULL);
      int fd = connect_unix (fixture);

      send_text (fd, both);
      expect_version_reply (fd, "1", g_get_monotonic_time () + DEADLINE_US);
      assert_closed_without_reply (fd);
      close (fd);
    }
  assert_recovered (fixture);
}

/* @depth levels of nesting (the request object and params count) in
 * params of a version request. */
static char *
nested_request (guint depth, gboolean objects)
{
  GString *text = g_string_new ("{\"method\":\"version\",\"params\":[");

  /* Levels 1 and 2 are the request and params; then containers down to
   * an empty one at level @depth. */
  g_assert_cmpuint (depth, >=, 3);
  for (guint level = 3; level < depth; level++)
    g_string_append (text, objects ? "{\"k\":" : "[");
  g_string_append (text, objects ? "{}" : "[]");
  for (guint level = 3; level < depth; level++)
    g_string_append_c (text, objects ? '}' : ']');
  g_string_append (text, "],\"id\":1}");
  return g_string_free (text, FALSE);
}

static void
test_deep_nesting (Fixture *fixture, gconstpointer user_data)
{
  for (int objects = 0; objects <= 1; objects++)
    {
      g_autofree char *deep = nested_request (100000, objects);
      g_autofree char *limit =
        nested_request (UC_JSON_DEFAULT_MAX_DEPTH, objects);
      g_autofree char *over =
        nested_request (UC_JSON_DEFAULT_MAX_DEPTH + 1, objects);

      /* 100k deep: refused while it is still being read. */
      assert_refused (fixture, deep);
      assert_recovered (fixture);

      /* Exactly at the limit the request is parsed and answered (with an
       * error: version takes no arguments); one more level is refused. */
      assert_answered (fixture, limit, VERSION_ARGUMENTS_REPLY);
      assert_refused (fixture, over);
      assert_recovered (fixture);
    }
}

static void
test_oversized (Fixture *fixture, gconstpointer user_data)
{
  const gsize total = 64 * 1024 * 1024;
  const char head[] = "{\"method\":\"version\",\"params\":[\"";
  g_autofree char *chunk = g_malloc (256 * 1024);
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;
  guint64 peak = 0;
  gsize sent = 0;
  gboolean closed = FALSE;
  int fd;

  memset (chunk, 'a', 256 * 1024);
  fd = connect_unix_fd (fixture->socket, TRUE);
  g_assert_true (send_text (fd, head));

  /* 64 MiB of one string, four times the limit, sampling the daemon's
   * memory as it goes: it must refuse the message once it passes the
   * limit, having kept at most about the limit of it. */
  while (sent < total)
    {
      gssize n = send (fd, chunk, MIN (total - sent, 256 * 1024), MSG_NOSIGNAL);

      peak = MAX (peak, uc_test_proc_rss_kib (fixture->pid));
      if (n < 0)
        {
          if (errno == EPIPE || errno == ECONNRESET)
            {
              closed = TRUE;
              break;
            }
          g_assert_cmpint (errno, ==, EAGAIN);
          g_assert_true (wait_for_events (fd, POLLOUT, deadline));
          continue;
        }
      sent += (gsize) n;
    }

  g_test_message ("sent %" G_GSIZE_FORMAT " bytes; peak RSS %" G_GUINT64_FORMAT
                  " KiB (baseline %" G_GUINT64_FORMAT " KiB)",
                  sent, peak, fixture->base_rss_kb);
  g_assert_true (closed);
  g_assert_cmpuint (sent, <, total / 2);
  /* The limit's worth of buffer (under ASan, whose quarantine keeps every
   * buffer the message outgrew, twice that: they double, plus 1/8 for
   * the shadow memory), and far from the whole request. */
  g_assert_cmpuint (peak, <,
                    fixture->base_rss_kb +
                      (UC_JSON_DEFAULT_MAX_MESSAGE_SIZE / 1024) *
                        (UNDER_ASAN ? 9 : 4) / 4 +
                      8 * 1024);
  assert_closed_without_reply (fd);
  close (fd);
  assert_recovered (fixture);
}

static void
test_invalid_utf8 (Fixture *fixture, gconstpointer user_data)
{
  /* Each is refused (closed, no reply) wherever it appears. */
  static const char *const bad[] = {
    "\xff",             /* never valid */
    "\xc0\xaf",         /* overlong "/" */
    "\xed\xa0\x80",     /* a UTF-8-encoded surrogate */
    "\xf4\x90\x80\x80", /* past U+10FFFF */
    "\xe2\x82",         /* truncated */
    "a\x80",            /* stray continuation byte */
    "\\ud800",          /* lone high surrogate */
    "\\udc00",          /* lone low surrogate */
    "\\ud800\\u0041",   /* high surrogate without its low half */
    "\\ud800x",         /* high surrogate then text */
    "\\u0000",          /* NUL */
    "x\\u0000y",        /* NUL inside */
  };
  /* Where: in an argument, the method, the id, a member name. */
  static const char *const places[][2] = {
    { "{\"method\":\"version\",\"params\":[\"", "\"],\"id\":1}" },
    { "{\"method\":\"", "\",\"params\":[],\"id\":1}" },
    { "{\"method\":\"version\",\"params\":[],\"id\":\"", "\"}" },
    { "{\"method\":\"version\",\"params\":[{\"", "\":0}],\"id\":1}" },
  };

  for (gsize t = 0; t < G_N_ELEMENTS (places); t++)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
        {
          g_autofree char *text =
            g_strconcat (places[t][0], bad[i], places[t][1], NULL);

          assert_refused (fixture, text);
        }
      assert_recovered (fixture);
    }

  /* What is valid is answered: a surrogate pair, and non-ASCII text. */
  assert_answered (fixture,
                   "{\"method\":\"version\",\"params\":"
                   "[\"\\ud83d\\ude00\xc3\xa9\"],\"id\":1}",
                   VERSION_ARGUMENTS_REPLY);
}

/* Raises the test's own descriptor limit as far as it goes. */
static rlim_t
raise_fd_limit (void)
{
  struct rlimit rl;

  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &rl));
  rl.rlim_cur = rl.rlim_max;
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &rl));
  return rl.rlim_cur;
}

/* Takes the daemon's current memory as its baseline, once a round of a
 * scenario has raised the allocator's high-water mark: glibc cannot give
 * back freed heap that lies below blocks still in use, and GSlice keeps
 * freed blocks for reuse.  The next round must then cost nothing more, so
 * that a leak of even 1 KiB per connection exceeds the slack. */
static void
rebase_rss (Fixture *fixture)
{
  wait_fds_at_baseline (fixture);
  fixture->base_rss_kb = uc_test_proc_rss_kib (fixture->pid);
  g_test_message ("new RSS baseline %" G_GUINT64_FORMAT " KiB",
                  fixture->base_rss_kb);
}

#define N_SIMULTANEOUS 2000

static void
many_connections_round (Fixture *fixture)
{
  g_autofree int *fds = g_new (int, N_SIMULTANEOUS);

  /* All connected at once, with blocking connects: the daemon must keep
   * accepting while the kernel queue is full. */
  for (guint i = 0; i < N_SIMULTANEOUS; i++)
    fds[i] = connect_unix (fixture);

  transact_version_all (fds, N_SIMULTANEOUS);
  g_assert_cmpuint (uc_test_proc_count_fds (fixture->pid, NULL), >=,
                    fixture->base_fds + N_SIMULTANEOUS);

  for (guint i = 0; i < N_SIMULTANEOUS; i++)
    close (fds[i]);
}

static void
test_many_connections (Fixture *fixture, gconstpointer user_data)
{
  if (raise_fd_limit () < N_SIMULTANEOUS + 64)
    {
      g_test_skip ("the hard descriptor limit is too low");
      return;
    }

  many_connections_round (fixture);
  assert_serves (fixture, DEADLINE_US);
  rebase_rss (fixture);
  /* Three more rounds, 6000 connections: a leak of 400 bytes a
   * connection exceeds the slack. */
  for (int round = 0; round < 3; round++)
    {
      many_connections_round (fixture);
      assert_serves (fixture, DEADLINE_US);
    }
  assert_recovered (fixture);
}

#define N_PIPELINED 100000

static void
test_pipeline_no_read (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GString) requests = g_string_new (NULL);
  guint64 peak = 0;
  guint64 cpu_before;
  guint64 cpu_used;
  gsize sent = 0;
  guint n_served = 0;
  gint64 last_check = 0;
  int fd;

  for (guint i = 0; i < N_PIPELINED; i++)
    g_string_append_printf (requests,
                            "{\"method\":\"version\",\"params\":[],"
                            "\"id\":%u}",
                            i);

  /* Sends as fast as the daemon takes them, never reading a reply.  The
   * daemon reads no more once a reply cannot be written, so the sending
   * stalls: that is the proof that nothing is buffered without bound. */
  fd = connect_unix_fd (fixture->socket, TRUE);
  for (;;)
    {
      gssize n =
        send (fd, requests->str + sent, requests->len - sent, MSG_NOSIGNAL);

      if (n > 0)
        sent += (gsize) n;
      else if (errno != EAGAIN)
        g_error ("the daemon dropped a client that only pipelined requests "
                 "(%s): it must stop reading from it instead",
                 g_strerror (errno));
      peak = MAX (peak, uc_test_proc_rss_kib (fixture->pid));

      /* Others are served meanwhile. */
      if (g_get_monotonic_time () - last_check > 100 * 1000)
        {
          assert_serves (fixture, PROMPT_US);
          n_served++;
          last_check = g_get_monotonic_time ();
        }

      g_assert_cmpuint (sent, <, requests->len);
      if (n <= 0 && !wait_for_events (fd, POLLOUT,
                                      g_get_monotonic_time () + G_USEC_PER_SEC))
        break;
    }

  /* Stalled, and neither spinning nor deaf: the daemon waits for the
   * client, and serves others meanwhile. */
  cpu_before = daemon_cpu_ticks (fixture);
  for (int i = 0; i < 5; i++)
    {
      assert_serves (fixture, PROMPT_US);
      n_served++;
      g_usleep (G_USEC_PER_SEC / 10);
    }
  cpu_used = daemon_cpu_ticks (fixture) - cpu_before;
  peak = MAX (peak, uc_test_proc_rss_kib (fixture->pid));

  g_test_message ("sent %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                  " bytes; %u others served; peak RSS %" G_GUINT64_FORMAT
                  " KiB (baseline %" G_GUINT64_FORMAT
                  " KiB); %" G_GUINT64_FORMAT " ticks of CPU while stalled",
                  sent, requests->len, n_served, peak, fixture->base_rss_kb,
                  cpu_used);
  g_assert_cmpuint (sent, <, requests->len / 2);
  g_assert_cmpuint (peak, <, fixture->base_rss_kb + 4 * 1024 * SCALE);
  g_assert_cmpuint (cpu_used, <, (guint64) sysconf (_SC_CLK_TCK) / 10);

  close (fd);
  assert_recovered (fixture);
}

static void
test_slow_sender (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *request = version_request ("\"slow\"");
  gsize length = strlen (request);
  int fd = connect_unix (fixture);

  /* One byte at a time, with small delays; others do not wait for it. */
  for (gsize i = 0; i < length; i++)
    {
      g_assert_true (send_all (fd, request + i, 1));
      g_usleep (2 * 1000);
      if (i % 8 == 0)
        assert_serves (fixture, PROMPT_US);
    }
  expect_version_reply (fd, "\"slow\"", g_get_monotonic_time () + DEADLINE_US);

  /* The next request in pieces split inside a string and an escape. */
  {
    const char *pieces[] = {
      "{\"meth",      "od\":\"vers", "ion\",\"params\":[]",
      ",\"id\":\"\\", "u0041\"",     "}"
    };

    for (gsize i = 0; i < G_N_ELEMENTS (pieces); i++)
      {
        g_assert_true (send_text (fd, pieces[i]));
        assert_serves (fixture, PROMPT_US);
      }
    expect_version_reply (fd, "\"A\"", g_get_monotonic_time () + DEADLINE_US);
  }
  close (fd);
  assert_recovered (fixture);
}

static void
test_abrupt_close (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *request = version_request ("1");
  /* Gone mid-request, with a complete request before its reply, and
   * without a word. */
  const gsize sent[] = { strlen (request) / 2, strlen (request), 0 };

  for (int reset = 0; reset <= 1; reset++)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (sent); i++)
        {
          int fd = connect_unix (fixture);

          if (sent[i] > 0)
            g_assert_true (send_all (fd, request, sent[i]));
          hang_up (fd, reset);
          assert_recovered (fixture);
        }
    }
}

/* Sends @length bytes of @data on a new connection, then shuts its
 * sending side down. */
static int
send_then_shut (Fixture *fixture, const char *data, gsize length)
{
  int fd = connect_unix (fixture);

  g_assert_true (send_all (fd, data, length));
  g_assert_no_errno (shutdown (fd, SHUT_WR));
  return fd;
}

static void
test_half_close (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *first = version_request ("1");
  g_autofree char *second = version_request ("2");
  g_autofree char *both = g_strconcat (first, second, NULL);
  /* One request, and two pipelined (with ids 1 and 2). */
  const char *const complete[] = { first, both };
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;
  int fd;

  /* Complete requests, then the end of what the client sends: the
   * replies still come, in order, then the daemon closes. */
  for (guint n = 0; n < G_N_ELEMENTS (complete); n++)
    {
      g_autoptr (GString) rest = g_string_new (NULL);

      fd = send_then_shut (fixture, complete[n], strlen (complete[n]));
      for (guint i = 1; i <= n + 1; i++)
        {
          g_autofree char *id = g_strdup_printf ("%u", i);

          expect_version_reply (fd, id, deadline);
        }
      g_assert_cmpint (read_to_end (fd, rest, deadline), ==, END_EOF);
      g_assert_cmpstr (rest->str, ==, "");
      close (fd);
      assert_recovered (fixture);
    }

  /* Half a request, then the end: nothing to answer. */
  fd = send_then_shut (fixture, first, strlen (first) / 2);
  assert_closed_without_reply (fd);
  close (fd);
  assert_recovered (fixture);
}

static void
test_large_reply_close (Fixture *fixture, gconstpointer user_data)
{
  /* Ids are echoed, so a large id makes a large reply (the built-ins'
   * own replies are all small). */
  const gsize id_length = 3 * 1024 * 1024;
  g_autoptr (GString) id = g_string_sized_new (id_length + 2);
  g_autofree char *request = NULL;
  g_autofree char *reply = NULL;
  gsize reply_length = 0;
  int fd;

  g_string_append_c (id, '"');
  for (gsize i = 0; i < id_length; i++)
    g_string_append_c (id, 'a' + (char) (i % 26));
  g_string_append_c (id, '"');
  request = version_request (id->str);

  /* Read whole once, so that the cases below are not vacuous. */
  fd = connect_unix (fixture);
  g_assert_true (send_text (fd, request));
  reply =
    receive_message (fd, &reply_length, g_get_monotonic_time () + DEADLINE_US);
  g_assert_nonnull (reply);
  g_assert_cmpuint (reply_length, >, id_length);
  g_assert_true (g_str_has_prefix (reply + strlen ("{\"id\":"), id->str));
  close (fd);
  assert_recovered (fixture);

  for (int variant = 0; variant < 3; variant++)
    {
      fd = connect_unix (fixture);
      g_assert_true (send_text (fd, request));
      /* Wait until the daemon has started to answer, then go. */
      g_assert_true (
        wait_for_events (fd, POLLIN, g_get_monotonic_time () + DEADLINE_US));
      if (variant == 1)
        {
          char byte;

          g_assert_cmpint (recv (fd, &byte, 1, 0), ==, 1);
        }
      hang_up (fd, variant == 2);
      assert_recovered (fixture);
    }
}

static void
test_fd_limit (Fixture *fixture, gconstpointer user_data)
{
  const guint limit = fixture->config->fd_limit;
  const guint n_extra = 16;
  g_autoptr (GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree char *log = NULL;
  gint64 deadline;
  guint64 cpu_before;
  guint64 cpu_used;
  guint n_accepted;
  guint n_to_close;
  int fd;

  g_assert_cmpuint (limit, >, fixture->base_fds);
  n_accepted = limit - fixture->base_fds;

  /* More connections than the daemon has descriptors for: the first ones
   * are accepted, until accept() fails with EMFILE; the rest wait in the
   * listen queue. */
  for (guint i = 0; i < n_accepted + n_extra; i++)
    {
      fd = connect_unix (fixture);
      g_array_append_val (fds, fd);
    }
  deadline = g_get_monotonic_time () + DEADLINE_US;
  while (uc_test_proc_count_fds (fixture->pid, NULL) < limit)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (UC_TEST_POLL_US);
    }
  do
    {
      g_clear_pointer (&log, g_free);
      log = uc_test_read_file (fixture->log);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (UC_TEST_POLL_US);
    }
  while (strstr (log, "Too many open files") == NULL);

  /* At the limit, the listening socket stays readable; a daemon that
   * retried accept() at once would spin.  It must use next to no CPU
   * (30% of a second, at most; a spinning one uses all of it).  This
   * measures CPU use, not speed. */
  cpu_before = daemon_cpu_ticks (fixture);
  g_usleep (G_USEC_PER_SEC);
  cpu_used = daemon_cpu_ticks (fixture) - cpu_before;
  g_test_message (
    "CPU used over 1 s at the descriptor limit: %" G_GUINT64_FORMAT
    " ticks of %ld",
    cpu_used, sysconf (_SC_CLK_TCK));
  g_assert_cmpuint (cpu_used, <, (guint64) sysconf (_SC_CLK_TCK) * 3 / 10);
  g_assert_cmpuint (uc_test_proc_count_fds (fixture->pid, NULL), ==, limit);

  /* Free enough descriptors for the queued connections and one more: the
   * first connections were accepted first. */
  n_to_close = n_extra + 4;
  for (guint i = 0; i < n_to_close; i++)
    close (g_array_index (fds, int, i));
  g_array_remove_range (fds, 0, n_to_close);
  assert_serves (fixture, DEADLINE_US);

  /* And every connection still open is served. */
  transact_version_all (&g_array_index (fds, int, 0), fds->len);

  for (guint i = 0; i < fds->len; i++)
    close (g_array_index (fds, int, i));
  assert_recovered (fixture);
}

/* The error text of a reply to @method, checked as any text the daemon
 * sends must be. */
static char *
error_text_for (Fixture *fixture, const char *request)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *reply = NULL;
  gsize length = 0;
  JsonObject *object;
  const char *text;
  int fd = connect_unix (fixture);

  g_assert_true (send_text (fd, request));
  reply = receive_message (fd, &length, g_get_monotonic_time () + DEADLINE_US);
  close (fd);
  g_assert_nonnull (reply);

  /* On the wire: UTF-8 (receive_message() checked it as well), no raw
   * control character, and bounded whatever the request's size. */
  g_assert_true (g_utf8_validate (reply, (gssize) length, NULL));
  for (gsize i = 0; i < length; i++)
    g_assert_cmpint ((guchar) reply[i], >=, 0x20);
  g_assert_cmpuint (length, <, 2 * UC_SERVER_QUOTE_MAX + 256);

  json_parser_load_from_data (parser, reply, (gssize) length, &error);
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (object, "id"), ==, 7);
  text = json_object_get_string_member (object, "error");
  g_assert_nonnull (text);

  /* Decoded: still no control character (but the final newline), so that
   * a terminal or a log shows it harmlessly. */
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_true (g_str_has_suffix (text, "\n"));
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (p[1] != '\0')
        g_assert_false (g_unichar_iscntrl (c));
    }
  return g_strdup (text);
}

static void
test_reply_is_utf8_json (Fixture *fixture, gconstpointer user_data)
{
  static const char unknown_suffix[] =
    "\" is not a valid command (use \"list-commands\" to see a list of valid "
    "commands)\n";
  static const struct
  {
    const char *unit;    /* repeated to 100 KiB, as written in JSON */
    const char *decoded; /* the unit as text */
  } long_names[] = {
    { "a", "a" },
    { "\xc3\xa9", "\xc3\xa9" },
    { "\\u00e9", "\xc3\xa9" },
    { "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
    { "ab\\u0001", NULL },
  };

  /* 100 KiB names: the error quotes a bounded prefix, cut at a character
   * boundary and marked. */
  for (gsize i = 0; i < G_N_ELEMENTS (long_names); i++)
    {
      g_autoptr (GString) request = g_string_new ("{\"method\":\"");
      g_autofree char *text = NULL;
      gsize quoted_length;

      while (request->len < 100 * 1024)
        g_string_append (request, long_names[i].unit);
      g_string_append (request, "\",\"params\":[],\"id\":7}");

      text = error_text_for (fixture, request->str);
      g_assert_true (g_str_has_prefix (text, "\""));
      g_assert_true (g_str_has_suffix (text, "...\" is not a valid command "
                                             "(use \"list-commands\" to see "
                                             "a list of valid commands)\n"));
      quoted_length =
        strlen (text) - 1 - strlen ("...") - strlen (unknown_suffix);
      g_assert_cmpuint (quoted_length, <=, UC_SERVER_QUOTE_MAX);
      g_assert_cmpuint (quoted_length, >, UC_SERVER_QUOTE_MAX - 8);
      if (long_names[i].decoded != NULL)
        {
          gsize unit = strlen (long_names[i].decoded);

          g_assert_cmpuint (quoted_length % unit, ==, 0);
          for (gsize j = 0; j < quoted_length; j += unit)
            g_assert_cmpmem (text + 1 + j, unit, long_names[i].decoded, unit);
        }
      assert_recovered (fixture);
    }

  /* Control characters, C1 controls, escape sequences: escaped as JSON
   * writes them, within the text. */
  {
    const char *request =
      "{\"method\":\"\\u0001\\u001b[31mred\\u001b[0m\\n\\t\\r\\b\\f\x7f"
      "\\u0085\\u009b2J\\\\\\\"\",\"params\":[],\"id\":7}";
    g_autofree char *text = error_text_for (fixture, request);

    g_assert_cmpstr (text, ==,
                     "\"\\u0001\\u001b[31mred\\u001b[0m\\n\\t\\r\\b\\f\\u007f"
                     "\\u0085\\u009b2J\\\"\" is not a valid command (use "
                     "\"list-commands\" to see a list of valid commands)\n");
  }

  /* Argument texts quoted in errors are bounded and escaped too. */
  {
    g_autoptr (GString) request = g_string_new (
      "{\"method\":\"set-options\",\"params\":[\"--format\",\"\\u001b");
    g_autofree char *text = NULL;

    while (request->len < 100 * 1024)
      g_string_append (request, "x");
    g_string_append (request, "\"],\"id\":7}");
    text = error_text_for (fixture, request->str);
    g_assert_true (
      g_str_has_prefix (text, "option format has invalid value \\u001bxxx"));
    g_assert_true (g_str_has_suffix (text, "xxx...\n"));
  }
  {
    const char *request = "{\"method\":\"set-options\",\"params\":"
                          "[\"\\u0007bell\\u009b\"],\"id\":7}";
    g_autofree char *text = error_text_for (fixture, request);

    g_assert_cmpstr (text, ==, "unexpected argument '\\u0007bell\\u009b'\n");
  }
  assert_recovered (fixture);
}

static void
test_request_ids (Fixture *fixture, gconstpointer user_data)
{
  /* Ids that would not come back as sent (json-glib reads integers past
   * 64 bits as other numbers; 1e2 would print as 100.0): refused, or the
   * client could not match the reply. */
  static const char *const refused_ids[] = {
    "99999999999999999999",
    "-99999999999999999999",
    "9223372036854775808",
    "1e2",
    "1E2",
    "1e+2",
    "-0",
    "1.50",
    "0.10",
    "1.5e300",
    "[1e2]",
    "{\"k\":1.50}",
  };
  /* Ids that come back byte for byte.  1.0 is among them: it reads as a
   * double and prints back as "1.0". */
  static const char *const echoed_ids[] = {
    "0",
    "-1",
    "\"abc\"",
    "1.5",
    "1.0",
    "100.0",
    "9223372036854775807",
    "-9223372036854775808",
    "true",
    "false",
    "\"\"",
    "[1,\"a\",[]]",
    "{\"k\":\"v\"}",
    "\"\xc3\xa9\\n\\u0001\"",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (refused_ids); i++)
    {
      g_autofree char *request = version_request (refused_ids[i]);

      g_test_message ("refused id %s", refused_ids[i]);
      assert_refused (fixture, request);
    }
  assert_recovered (fixture);

  for (gsize i = 0; i < G_N_ELEMENTS (echoed_ids); i++)
    {
      g_autofree char *request = version_request (echoed_ids[i]);
      g_autofree char *reply = version_reply (echoed_ids[i]);

      g_test_message ("echoed id %s", echoed_ids[i]);
      assert_answered (fixture, request, reply);
    }

  /* A string id comes back as the same string, escapes written as the
   * daemon writes them. */
  {
    g_autofree char *request = version_request ("\"\\u0041\\/\"");
    g_autofree char *reply = version_reply ("\"A/\"");

    assert_answered (fixture, request, reply);
  }
  assert_recovered (fixture);
}

/* Remote listener limits. */

static void
test_remote_cap (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *request = version_request ("1");
  int fds[REMOTE_MAX_CONNECTIONS];
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;
  int waiting;

  for (guint i = 0; i < REMOTE_MAX_CONNECTIONS; i++)
    {
      fds[i] = connect_tcp (fixture, FALSE);
      transact_version (fds[i], "1", deadline);
    }

  /* One too many: the kernel completes the connection, but the daemon
   * does not take it while the others are open.  Observed for a while,
   * which can only make this pass wrongly, never fail; meanwhile the
   * others send requests, so that none of them reaches its idle
   * timeout. */
  waiting = connect_tcp (fixture, FALSE);
  g_assert_true (send_text (waiting, request));
  for (guint round = 0; round < 4; round++)
    {
      g_assert_false (wait_for_events (waiting, POLLIN,
                                       g_get_monotonic_time () + 150 * 1000));
      for (guint i = 0; i < REMOTE_MAX_CONNECTIONS; i++)
        transact_version (fds[i], "1", g_get_monotonic_time () + DEADLINE_US);
    }

  /* The local control socket is not affected by the remote cap. */
  assert_serves (fixture, PROMPT_US);

  /* One goes: the waiting one is served. */
  close (fds[0]);
  expect_version_reply (waiting, "1", g_get_monotonic_time () + DEADLINE_US);

  close (waiting);
  for (guint i = 1; i < REMOTE_MAX_CONNECTIONS; i++)
    close (fds[i]);
  assert_recovered (fixture);
}

static void
test_remote_idle (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *request = version_request ("1");
  g_autoptr (GString) received = g_string_new (NULL);
  gint64 start = g_get_monotonic_time ();
  gint64 idle_end = 0;
  gint64 trickle_end = 0;
  int local = connect_unix (fixture);
  int idle = connect_tcp (fixture, FALSE);
  int trickle = connect_tcp (fixture, FALSE);
  int busy = connect_tcp (fixture, FALSE);
  guint n_busy = 0;

  /* Half a request is idle too: only a complete one counts. */
  g_assert_true (send_all (trickle, request, 5));

  /* @busy sends a request every 300 ms for 3 s and stays open; @idle and
   * @trickle are closed by the daemon about 1 s after they connected. */
  while (g_get_monotonic_time () - start < 3 * G_USEC_PER_SEC ||
         idle_end == 0 || trickle_end == 0)
    {
      /* A negative descriptor is ignored once its end was seen. */
      struct pollfd pfds[2] = {
        { .fd = idle_end == 0 ? idle : -1, .events = POLLIN },
        { .fd = trickle_end == 0 ? trickle : -1, .events = POLLIN },
      };

      g_assert_cmpint (g_get_monotonic_time () - start, <, DEADLINE_US);
      transact_version (busy, "1", g_get_monotonic_time () + DEADLINE_US);
      n_busy++;

      g_assert_cmpint (poll (pfds, 2, 300), >=, 0);
      if (idle_end == 0 && pfds[0].revents != 0)
        {
          g_assert_cmpint (
            read_to_end (idle, received, g_get_monotonic_time () + DEADLINE_US),
            !=, END_TIMEOUT);
          idle_end = g_get_monotonic_time ();
        }
      if (trickle_end == 0 && pfds[1].revents != 0)
        {
          g_assert_cmpint (read_to_end (trickle, received,
                                        g_get_monotonic_time () + DEADLINE_US),
                           !=, END_TIMEOUT);
          trickle_end = g_get_monotonic_time ();
        }
    }

  g_test_message ("idle closed after %" G_GINT64_FORMAT " ms, trickle after "
                  "%" G_GINT64_FORMAT " ms; %u busy requests",
                  (idle_end - start) / 1000, (trickle_end - start) / 1000,
                  n_busy);
  g_assert_cmpstr (received->str, ==, "");
  /* Not before the timeout (and not at the default of 300 s). */
  g_assert_cmpint (idle_end - start, >=,
                   REMOTE_IDLE_TIMEOUT_S * G_USEC_PER_SEC * 9 / 10);
  g_assert_cmpint (trickle_end - start, >=,
                   REMOTE_IDLE_TIMEOUT_S * G_USEC_PER_SEC * 9 / 10);
  g_assert_cmpuint (n_busy, >=, 5);

  /* The busy one is still served, and so is the local connection, idle
   * for 3 s: local connections have no idle timeout. */
  transact_version (busy, "1", g_get_monotonic_time () + DEADLINE_US);
  transact_version (local, "1", g_get_monotonic_time () + DEADLINE_US);

  close (idle);
  close (trickle);
  close (busy);
  close (local);
  assert_recovered (fixture);
}

typedef struct
{
  guint16 port;
  gint stop;        /* (atomic) */
  guint n_attempts; /* written by the thread, read after the join */
} Flood;

static gpointer
flood_thread (gpointer user_data)
{
  Flood *flood = user_data;
  struct sockaddr_in address = {
    .sin_family = AF_INET,
    .sin_port = htons (flood->port),
    .sin_addr.s_addr = htonl (INADDR_LOOPBACK),
  };
  const char request[] = "{\"method\":\"version\",\"params\":[],\"id\":1}";
  g_autoptr (GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));

  /* Non-blocking connects, each sending a request if it can, kept open in
   * batches and then dropped, half of them with a reset. */
  while (!g_atomic_int_get (&flood->stop))
    {
      int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

      g_assert_cmpint (fd, >=, 0);
      connect (fd, (struct sockaddr *) &address, sizeof address);
      send (fd, request, sizeof request - 1, MSG_NOSIGNAL);
      g_array_append_val (fds, fd);
      flood->n_attempts++;

      if (fds->len >= 300)
        {
          for (guint i = 0; i < fds->len; i++)
            {
              hang_up (g_array_index (fds, int, i), i % 2 == 0);
            }
          g_array_set_size (fds, 0);
        }
      if (flood->n_attempts % 50 == 0)
        g_usleep (1000);
    }

  for (guint i = 0; i < fds->len; i++)
    close (g_array_index (fds, int, i));
  return NULL;
}

static void
test_remote_flood (Fixture *fixture, gconstpointer user_data)
{
  Flood flood = { .port = fixture->tcp_port };
  g_autoptr (GThread) thread = NULL;
  gint64 start;
  gint64 slowest = 0;
  guint n_local = 0;

  thread = g_thread_new ("flood", flood_thread, &flood);

  /* While remote clients pour in, the owner's socket answers promptly. */
  start = g_get_monotonic_time ();
  while (g_get_monotonic_time () - start < 2 * G_USEC_PER_SEC)
    {
      gint64 before = g_get_monotonic_time ();

      assert_serves (fixture, PROMPT_US);
      slowest = MAX (slowest, g_get_monotonic_time () - before);
      n_local++;
      g_usleep (20 * 1000);
    }

  g_atomic_int_set (&flood.stop, 1);
  g_thread_join (g_steal_pointer (&thread));
  g_test_message ("%u remote connection attempts; %u local requests, slowest "
                  "%" G_GINT64_FORMAT " ms",
                  flood.n_attempts, n_local, slowest / 1000);
  g_assert_cmpuint (flood.n_attempts, >, 1000);
  g_assert_cmpuint (n_local, >=, 10);

  /* The remote still serves once the flood is over. */
  {
    int fd = connect_tcp (fixture, FALSE);

    transact_version (fd, "1", g_get_monotonic_time () + DEADLINE_US);
    close (fd);
  }
  assert_recovered (fixture);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  /* Writes to closed connections fail with EPIPE instead. */
  signal (SIGPIPE, SIG_IGN);
  raise_fd_limit ();

#define ADD(path, config, func) \
  g_test_add (path, Fixture, config, fixture_set_up, func, fixture_tear_down)

  ADD ("/hostile/malformed", &default_config, test_malformed);
  ADD ("/hostile/deep-nesting", &default_config, test_deep_nesting);
  ADD ("/hostile/oversized", &default_config, test_oversized);
  ADD ("/hostile/invalid-utf8", &default_config, test_invalid_utf8);
  ADD ("/hostile/many-connections", &default_config, test_many_connections);
  ADD ("/hostile/pipeline-no-read", &default_config, test_pipeline_no_read);
  ADD ("/hostile/slow-sender", &default_config, test_slow_sender);
  ADD ("/hostile/abrupt-close", &default_config, test_abrupt_close);
  ADD ("/hostile/half-close", &default_config, test_half_close);
  ADD ("/hostile/large-reply-close", &default_config, test_large_reply_close);
  ADD ("/hostile/fd-limit", &low_fd_config, test_fd_limit);
  ADD ("/hostile/reply-is-utf8-json", &default_config, test_reply_is_utf8_json);
  ADD ("/hostile/request-ids", &default_config, test_request_ids);
  ADD ("/hostile/remote/cap", &remote_config, test_remote_cap);
  ADD ("/hostile/remote/idle-timeout", &remote_config, test_remote_idle);
  ADD ("/hostile/remote/flood", &remote_config, test_remote_flood);

#undef ADD

  return g_test_run ();
}
