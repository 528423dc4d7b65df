/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-pstream"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uc-error.h"
#include "uc-pstream-private.h"
#include "uc-pstream.h"
#include "uc-test-util.h"

typedef struct
{
  char *rundir; /* (owned) */
  char *path;   /* (owned): rundir/test.ctl */
  /* What #UcPstream::incoming handed out, in order. */
  GPtrArray *streams;     /* (owned) (element-type GIOStream) */
  GPtrArray *connections; /* (owned) (element-type GSocketConnection) */
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->rundir = uc_test_make_tmp_dir ("test-pstream-XXXXXX");
  f->path = g_build_filename (f->rundir, "test.ctl", NULL);
  f->streams = g_ptr_array_new_with_free_func (g_object_unref);
  f->connections = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_assert_no_errno (uc_test_rm_rf (f->rundir));
  g_free (f->rundir);
  g_free (f->path);
  g_ptr_array_unref (f->streams);
  g_ptr_array_unref (f->connections);
}

static UcPstream *
new_pstream (Fixture *f, const char *name)
{
  g_autoptr (UcPstream) pstream = NULL;
  g_autoptr (GError) error = NULL;

  pstream = uc_pstream_new (name, f->rundir, &error);
  g_assert_no_error (error);
  uc_test_collect_incoming (pstream, f->streams, f->connections);
  return g_steal_pointer (&pstream);
}

static UcPstream *
listen_on (Fixture *f, const char *name)
{
  g_autoptr (UcPstream) pstream = new_pstream (f, name);
  g_autoptr (GError) error = NULL;

  g_assert_true (uc_pstream_listen (pstream, &error));
  g_assert_no_error (error);
  g_assert_true (uc_pstream_is_listening (pstream));
  return g_steal_pointer (&pstream);
}

/* Runs the default main context until @f has @n incoming connections. */
static void
wait_for_incoming (Fixture *f, guint n)
{
  uc_test_wait_until (f->streams->len >= n);
}

/* A client socket connected, without blocking, to the unix socket @path.
 * A unix domain connect completes at once, into the listener's queue, or
 * fails: %NULL with @error set. */
static GSocket *
unix_client (const char *path, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  address = g_unix_socket_address_new (path);
  if (!g_socket_connect (socket, address, NULL, error))
    return NULL;
  return g_steal_pointer (&socket);
}

/* A client queued on the fixture's socket, which must succeed. */
static GSocket *
queue_client (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  GSocket *client = unix_client (f->path, &error);

  g_assert_no_error (error);
  return client;
}

/* A unix socket bound at @path, listening if @listen. */
static GSocket *
bind_unix_socket (const char *path, gboolean listen)
{
  g_autoptr (GSocket) socket = uc_test_bind_unix (path);
  g_autoptr (GError) error = NULL;

  if (listen)
    {
      g_socket_set_listen_backlog (socket, 1);
      g_socket_listen (socket, &error);
      g_assert_no_error (error);
    }
  return g_steal_pointer (&socket);
}

static ino_t
inode_of (const char *path)
{
  GStatBuf st;

  g_assert_no_errno (g_lstat (path, &st));
  return st.st_ino;
}

/* ---------------------------------------------------------------------- */
/* punix                                                                  */
/* ---------------------------------------------------------------------- */

static void
test_unix_accept (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = listen_on (f, "punix:test.ctl");
  g_autoptr (GSocket) client = NULL;
  g_autoptr (GCredentials) credentials = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *bound_name = NULL;
  GSocketConnection *connection;

  g_assert_cmpstr (uc_pstream_get_path (pstream), ==, f->path);
  bound_name = uc_pstream_get_bound_name (pstream);
  g_assert_true (g_str_has_prefix (bound_name, "punix:"));
  g_assert_cmpstr (bound_name + strlen ("punix:"), ==, f->path);
  g_assert_cmpuint (uc_pstream_get_port (pstream), ==, 0);

  client = queue_client (f);
  wait_for_incoming (f, 1);

  /* For punix the stream is the connection itself, and the connection
   * carries the peer's credentials: here, our own. */
  connection = g_ptr_array_index (f->connections, 0);
  g_assert_true (g_ptr_array_index (f->streams, 0) == (gpointer) connection);
  credentials = g_socket_get_credentials (
    g_socket_connection_get_socket (connection), &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_credentials_get_unix_pid (credentials, NULL), ==,
                   getpid ());
  g_assert_cmpuint (g_credentials_get_unix_user (credentials, NULL), ==,
                    getuid ());

  /* Data flows from the client to the accepted end. */
  g_socket_send (client, "x", 1, NULL, &error);
  g_assert_no_error (error);
  {
    char c = 0;

    g_input_stream_read_all (
      g_io_stream_get_input_stream (G_IO_STREAM (connection)), &c, 1, NULL,
      NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (c, ==, 'x');
  }
}

/* Only the owner may connect, from the moment the file exists, and the
 * process umask is left as it was. */
static void
test_unix_mode (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = NULL;
  mode_t old_umask = umask (022);
  GStatBuf st;

  pstream = listen_on (f, "punix:test.ctl");
  g_assert_cmpint (umask (old_umask), ==, 022);

  g_assert_no_errno (g_lstat (f->path, &st));
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
}

/* A socket nothing listens on is left over from a dead process: it is
 * replaced. */
static void
test_unix_stale (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocket) stale = bind_unix_socket (f->path, FALSE);
  g_autoptr (UcPstream) pstream = NULL;
  g_autoptr (GSocket) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *held = g_build_filename (f->rundir, "held.ctl", NULL);
  ino_t stale_inode = inode_of (f->path);

  g_socket_close (stale, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_EXISTS));
  /* A second link keeps the stale inode alive, so that the file system
   * cannot hand its number to the new socket. */
  g_assert_no_errno (link (f->path, held));

  pstream = listen_on (f, "punix:test.ctl");
  g_assert_cmpuint (inode_of (f->path), !=, stale_inode);
  client = queue_client (f);
  wait_for_incoming (f, 1);
}

static void
assert_in_use (Fixture *f)
{
  g_autoptr (UcPstream) pstream = new_pstream (f, "punix:test.ctl");
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  ino_t inode = inode_of (f->path);

  g_assert_false (uc_pstream_listen (pstream, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  expected = g_strdup_printf ("Cannot listen on \"punix:test.ctl\": \"%s\" is "
                              "in use by a running process",
                              f->path);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_false (uc_pstream_is_listening (pstream));

  /* The running process keeps its socket. */
  g_assert_cmpuint (inode_of (f->path), ==, inode);
}

/* A socket something accepts on belongs to a running process: refused. */
static void
test_unix_in_use (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocket) live = bind_unix_socket (f->path, TRUE);
  g_autoptr (GSocket) client = NULL;
  g_autoptr (GSocket) accepted = NULL;
  g_autoptr (GError) error = NULL;

  assert_in_use (f);

  /* ...and the running process still gets its clients. */
  client = queue_client (f);
  accepted = g_socket_accept (live, NULL, &error);
  g_assert_no_error (error);
}

/* A live listener whose queue is full answers EAGAIN, not "refused": it is
 * busy, not stale. */
static void
test_unix_in_use_busy (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocket) live = bind_unix_socket (f->path, TRUE);
  g_autoptr (GPtrArray) clients =
    g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;

  for (;;)
    {
      GSocket *client = unix_client (f->path, &error);

      if (client == NULL)
        break;
      g_ptr_array_add (clients, client);
      g_assert_cmpuint (clients->len, <, 100);
    }
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);

  assert_in_use (f);
  g_assert_true (g_socket_is_connected (g_ptr_array_index (clients, 0)));
  g_assert_false (g_socket_is_closed (live));
}

static void
assert_not_socket_refused (Fixture *f)
{
  g_autoptr (UcPstream) pstream = new_pstream (f, "punix:test.ctl");
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;

  g_assert_false (uc_pstream_listen (pstream, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  expected = g_strdup_printf ("Cannot listen on \"punix:test.ctl\": \"%s\" "
                              "exists and is not a socket",
                              f->path);
  g_assert_cmpstr (error->message, ==, expected);
}

/* Anything that is not a socket is not ours to remove. */
static void
test_unix_not_socket (Fixture *f, gconstpointer data)
{
  g_autofree char *contents = NULL;
  g_autofree char *target = NULL;
  g_autoptr (GSocket) stale = NULL;

  /* A regular file. */
  uc_test_write_file (f->path, "precious");
  assert_not_socket_refused (f);
  contents = uc_test_read_file (f->path);
  g_assert_cmpstr (contents, ==, "precious");
  g_assert_no_errno (g_unlink (f->path));

  /* A symbolic link, even to a stale socket: it is not followed. */
  target = g_build_filename (f->rundir, "target.ctl", NULL);
  stale = bind_unix_socket (target, FALSE);
  g_socket_close (stale, NULL);
  g_assert_no_errno (symlink (target, f->path));
  assert_not_socket_refused (f);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_SYMLINK));
  g_assert_true (g_file_test (target, G_FILE_TEST_EXISTS));
  g_assert_no_errno (g_unlink (f->path));

  /* A directory. */
  g_assert_no_errno (g_mkdir (f->path, 0700));
  assert_not_socket_refused (f);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_DIR));
  g_assert_no_errno (g_rmdir (f->path));
}

static void
test_unix_close_removes (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = listen_on (f, "punix:test.ctl");

  g_assert_true (g_file_test (f->path, G_FILE_TEST_EXISTS));
  uc_pstream_close (pstream);
  g_assert_false (uc_pstream_is_listening (pstream));
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  /* Idempotent. */
  uc_pstream_close (pstream);

  /* Dropping the last reference closes too. */
  g_clear_object (&pstream);
  pstream = listen_on (f, "punix:test.ctl");
  g_assert_true (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_clear_object (&pstream);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
}

/* A file that replaced ours (a successor's socket, or anything else)
 * survives our close. */
static void
test_unix_close_keeps_replaced (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = listen_on (f, "punix:test.ctl");
  g_autoptr (UcPstream) second = listen_on (f, "punix:second.ctl");
  g_autofree char *second_path =
    g_build_filename (f->rundir, "second.ctl", NULL);
  g_autoptr (GSocket) successor = NULL;
  g_autofree char *contents = NULL;

  /* A regular file. */
  g_assert_no_errno (g_unlink (f->path));
  uc_test_write_file (f->path, "successor");
  uc_pstream_close (pstream);
  contents = uc_test_read_file (f->path);
  g_assert_cmpstr (contents, ==, "successor");

  /* Another process's socket at the same path. */
  g_assert_no_errno (g_unlink (second_path));
  successor = bind_unix_socket (second_path, TRUE);
  uc_pstream_close (second);
  g_assert_true (g_file_test (second_path, G_FILE_TEST_EXISTS));
}

/* ---------------------------------------------------------------------- */
/* ptcp                                                                   */
/* ---------------------------------------------------------------------- */

static void
assert_tcp_listens (Fixture *f, const char *name, const char *ip)
{
  g_autoptr (UcPstream) pstream = listen_on (f, name);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GSocketAddress) peer = NULL;
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *bound_name = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *peer_ip = NULL;
  guint16 port = uc_pstream_get_port (pstream);
  gboolean ipv6 = strchr (ip, ':') != NULL;
  int nodelay = 0;

  /* Port 0 reads back as the port the kernel chose. */
  g_assert_cmpuint (port, !=, 0);
  bound_name = uc_pstream_get_bound_name (pstream);
  expected = g_strdup_printf ("ptcp:%u:%s%s%s", port, ipv6 ? "[" : "", ip,
                              ipv6 ? "]" : "");
  g_assert_cmpstr (bound_name, ==, expected);
  g_assert_null (uc_pstream_get_path (pstream));

  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, ip, port, NULL, &error);
  g_assert_no_error (error);
  wait_for_incoming (f, 1);

  /* The accepted end is the peer of our client. */
  local = g_socket_connection_get_local_address (connection, &error);
  g_assert_no_error (error);
  peer = g_socket_connection_get_remote_address (
    g_ptr_array_index (f->connections, 0), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (
    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (peer)), ==,
    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
  peer_ip = g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (peer)));
  g_assert_cmpstr (peer_ip, ==, ip);

  /* Nagle is off, as on every TCP connection of Open vSwitch's: replies
   * and TLS records must not wait for the client's delayed ACK. */
  g_assert_true (g_socket_get_option (
    g_socket_connection_get_socket (g_ptr_array_index (f->connections, 0)),
    IPPROTO_TCP, TCP_NODELAY, &nodelay, &error));
  g_assert_no_error (error);
  g_assert_cmpint (nodelay, !=, 0);
}

static void
test_tcp_ipv4 (Fixture *f, gconstpointer data)
{
  assert_tcp_listens (f, "ptcp:0:127.0.0.1", "127.0.0.1");
}

static void
test_tcp_ipv6 (Fixture *f, gconstpointer data)
{
  if (!uc_test_has_ipv6_loopback ())
    {
      g_test_skip ("IPv6 loopback is not available");
      return;
    }
  assert_tcp_listens (f, "ptcp:0:[::1]", "::1");
}

static void
test_tcp_in_use (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) first = listen_on (f, "ptcp:0:127.0.0.1");
  g_autoptr (UcPstream) second = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *prefix = NULL;

  name = g_strdup_printf ("ptcp:%u:127.0.0.1", uc_pstream_get_port (first));
  second = new_pstream (f, name);
  g_assert_false (uc_pstream_listen (second, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  prefix = g_strdup_printf ("Cannot listen on \"%s\": ", name);
  g_assert_true (g_str_has_prefix (error->message, prefix));
}

/* ---------------------------------------------------------------------- */
/* Accepting                                                              */
/* ---------------------------------------------------------------------- */

/* Opens clients until one is refused for want of room in the queue. */
static GPtrArray *
fill_queue (Fixture *f, guint max)
{
  g_autoptr (GPtrArray) clients =
    g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;

  while (clients->len < max)
    {
      GSocket *client = unix_client (f->path, &error);

      if (client == NULL)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          break;
        }
      g_ptr_array_add (clients, client);
    }
  return g_steal_pointer (&clients);
}

/* A burst of UC_PSTREAM_DEFAULT_BACKLOG clients is queued while nobody
 * accepts (GSocketListener's default of 10 would refuse most), and all of
 * them are accepted once accepting resumes. */
static void
test_backlog_default (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = new_pstream (f, "punix:test.ctl");
  g_autoptr (GPtrArray) clients = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (uc_pstream_get_backlog (pstream), ==,
                   UC_PSTREAM_DEFAULT_BACKLOG);
  uc_pstream_pause (pstream);
  g_assert_true (uc_pstream_listen (pstream, &error));
  g_assert_no_error (error);
  g_assert_true (uc_pstream_is_paused (pstream));

  clients = fill_queue (f, UC_PSTREAM_DEFAULT_BACKLOG);
  g_assert_cmpuint (clients->len, ==, UC_PSTREAM_DEFAULT_BACKLOG);
  g_assert_cmpuint (uc_pstream_get_n_accepts_for_testing (pstream), ==, 0);

  uc_pstream_resume (pstream);
  g_assert_false (uc_pstream_is_paused (pstream));
  wait_for_incoming (f, UC_PSTREAM_DEFAULT_BACKLOG);
}

/* uc_pstream_set_backlog() reaches listen(): a small queue fills up. */
static void
test_backlog_set (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = new_pstream (f, "punix:test.ctl");
  g_autoptr (GPtrArray) clients = NULL;
  g_autoptr (GError) error = NULL;

  uc_pstream_set_backlog (pstream, 4);
  g_assert_cmpint (uc_pstream_get_backlog (pstream), ==, 4);
  uc_pstream_pause (pstream);
  g_assert_true (uc_pstream_listen (pstream, &error));
  g_assert_no_error (error);

  /* Linux queues one more than the backlog on a unix socket. */
  clients = fill_queue (f, 100);
  g_assert_cmpuint (clients->len, >=, 4);
  g_assert_cmpuint (clients->len, <=, 5);
}

/* Sends one byte from @client and reads it from the @n-th stream handed
 * out, to show that they are the two ends of one connection. */
static void
assert_peers (Fixture *f, GSocket *client, guint n, char c)
{
  g_autoptr (GError) error = NULL;
  char got = 0;

  g_socket_send (client, &c, 1, NULL, &error);
  g_assert_no_error (error);
  g_input_stream_read_all (
    g_io_stream_get_input_stream (g_ptr_array_index (f->streams, n)), &got, 1,
    NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got, ==, c);
}

static void
test_pause_resume (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = listen_on (f, "punix:test.ctl");
  g_autoptr (GSocket) first = queue_client (f);
  g_autoptr (GSocket) second = NULL;
  g_autoptr (GSocket) third = NULL;

  wait_for_incoming (f, 1);
  g_assert_cmpuint (uc_pstream_get_n_accepts_for_testing (pstream), ==, 2);

  /* Paused with the next accept in flight: that accept may still take a
   * client, which is held back, not dropped... */
  uc_pstream_pause (pstream);
  g_assert_true (uc_pstream_is_paused (pstream));
  second = queue_client (f);
  uc_test_run_for (100);
  g_assert_cmpuint (f->streams->len, ==, 1);

  /* ...and no further accept starts: the next client stays queued. */
  third = queue_client (f);
  uc_test_run_for (100);
  g_assert_cmpuint (f->streams->len, ==, 1);
  g_assert_cmpuint (uc_pstream_get_n_accepts_for_testing (pstream), ==, 2);

  /* Resuming hands them out in the order they came. */
  uc_pstream_resume (pstream);
  g_assert_false (uc_pstream_is_paused (pstream));
  wait_for_incoming (f, 3);
  assert_peers (f, first, 0, '1');
  assert_peers (f, second, 1, '2');
  assert_peers (f, third, 2, '3');
}

/* Closing while paused closes the client held back, instead of leaking
 * it or handing it out. */
static void
test_close_while_paused (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = listen_on (f, "punix:test.ctl");
  g_autoptr (GSocket) client = NULL;
  g_autoptr (GError) error = NULL;
  char c;

  uc_pstream_pause (pstream);
  client = queue_client (f);
  uc_test_run_for (100);
  uc_pstream_close (pstream);
  uc_test_run_for (50);
  g_assert_cmpuint (f->streams->len, ==, 0);

  /* The client sees end of file. */
  g_socket_set_blocking (client, TRUE);
  g_assert_cmpint (g_socket_receive (client, &c, 1, NULL, &error), ==, 0);
  g_assert_no_error (error);
}

/* ---------------------------------------------------------------------- */
/* Running out of descriptors                                             */
/* ---------------------------------------------------------------------- */

/* A listener with one client queued and no descriptor left to accept it
 * with. */
typedef struct
{
  UcPstream *pstream; /* (owned) */
  GSocket *client;    /* (owned) */
  GArray *fillers;    /* (owned) (element-type int) what uses up the rest */
} Emfile;

static void
emfile_clear (Emfile *emfile)
{
  for (guint i = 0; emfile->fillers != NULL && i < emfile->fillers->len; i++)
    close (g_array_index (emfile->fillers, int, i));
  g_clear_pointer (&emfile->fillers, g_array_unref);
  g_clear_object (&emfile->client);
  g_clear_object (&emfile->pstream);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Emfile, emfile_clear)

/* Lowers the descriptor limit and opens descriptors until the process has
 * none left. */
static void
fill_fd_table (Emfile *emfile)
{
  struct rlimit limit;
  int fd;

  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &limit));
  limit.rlim_cur = 64;
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &limit));

  emfile->fillers = g_array_new (FALSE, FALSE, sizeof (int));
  while ((fd = open ("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
    g_array_append_val (emfile->fillers, fd);
  g_assert_cmpint (errno, ==, EMFILE);
  g_assert_cmpuint (emfile->fillers->len, >, 0);
}

static void
free_one_fd (Emfile *emfile)
{
  GArray *fillers = emfile->fillers;

  g_assert_no_errno (close (g_array_index (fillers, int, fillers->len - 1)));
  g_array_set_size (fillers, fillers->len - 1);
}

#define EMFILE_WARNING \
  "punix:test.ctl: *Too many open files; not accepting for 250 ms"
G_STATIC_ASSERT (UC_PSTREAM_EMFILE_RETRY_MS == 250);

/* Sets up @emfile, and runs until the first accept fails.  The descriptor
 * limit is process-wide: the caller runs in a test subprocess. */
static void
start_emfile (Fixture *f, Emfile *emfile)
{
  emfile->pstream = listen_on (f, "punix:test.ctl");
  /* The client's own descriptor comes first; then none are left. */
  emfile->client = queue_client (f);
  fill_fd_table (emfile);

  g_test_expect_message ("pstream", G_LOG_LEVEL_WARNING, EMFILE_WARNING);
  uc_test_wait_until (uc_pstream_is_paused (emfile->pstream));
  g_test_assert_expected_messages ();
  g_assert_cmpuint (uc_pstream_get_n_accepts_for_testing (emfile->pstream), ==,
                    1);

  /* Paused, not spinning: no further accept while the pause lasts. */
  uc_test_run_for (UC_PSTREAM_EMFILE_RETRY_MS / 2);
  g_assert_cmpuint (uc_pstream_get_n_accepts_for_testing (emfile->pstream), ==,
                    1);
  g_assert_true (uc_pstream_is_paused (emfile->pstream));
  g_assert_cmpuint (f->streams->len, ==, 0);
}

/* When the owner frees a descriptor and says so, the queued client is
 * accepted at once. */
static void
test_emfile_resume (Fixture *f, gconstpointer data)
{
  g_auto (Emfile) emfile = { NULL };
  gint64 start;

  if (!uc_test_trap_in_subprocess ())
    return;
  start_emfile (f, &emfile);

  free_one_fd (&emfile);
  start = g_get_monotonic_time ();
  uc_pstream_resume (emfile.pstream);
  g_assert_false (uc_pstream_is_paused (emfile.pstream));
  wait_for_incoming (f, 1);
  g_assert_cmpint (g_get_monotonic_time () - start, <,
                   UC_PSTREAM_EMFILE_RETRY_MS * 1000 / 2);
  g_assert_cmpuint (uc_pstream_get_n_accepts_for_testing (emfile.pstream), ==,
                    3);
}

/* Without a word from the owner, accepting is retried after
 * UC_PSTREAM_EMFILE_RETRY_MS, once per period while descriptors stay
 * exhausted. */
static void
test_emfile_retry (Fixture *f, gconstpointer data)
{
  g_auto (Emfile) emfile = { NULL };
  UcPstream *pstream;
  gint64 start;

  if (!uc_test_trap_in_subprocess ())
    return;
  start_emfile (f, &emfile);
  pstream = emfile.pstream;

  /* Still no descriptor: the retry fails and pauses again. */
  g_test_expect_message ("pstream", G_LOG_LEVEL_WARNING, EMFILE_WARNING);
  uc_test_wait_until (uc_pstream_get_n_accepts_for_testing (pstream) >= 2 &&
                      uc_pstream_is_paused (pstream));
  g_test_assert_expected_messages ();
  g_assert_true (uc_pstream_is_paused (pstream));

  /* A descriptor comes free behind the listener's back: the next retry
   * accepts, a full period later. */
  free_one_fd (&emfile);
  start = g_get_monotonic_time ();
  wait_for_incoming (f, 1);
  g_assert_cmpint (g_get_monotonic_time () - start, >=,
                   UC_PSTREAM_EMFILE_RETRY_MS * 1000 / 2);
  g_assert_cmpuint (uc_pstream_get_n_accepts_for_testing (pstream), >=, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(PATH, FUNC) \
  g_test_add (PATH, Fixture, NULL, fixture_set_up, FUNC, fixture_tear_down)
  ADD ("/pstream/unix/accept", test_unix_accept);
  ADD ("/pstream/unix/mode", test_unix_mode);
  ADD ("/pstream/unix/stale", test_unix_stale);
  ADD ("/pstream/unix/in-use", test_unix_in_use);
  ADD ("/pstream/unix/in-use-busy", test_unix_in_use_busy);
  ADD ("/pstream/unix/not-socket", test_unix_not_socket);
  ADD ("/pstream/unix/close-removes", test_unix_close_removes);
  ADD ("/pstream/unix/close-keeps-replaced", test_unix_close_keeps_replaced);
  ADD ("/pstream/tcp/ipv4", test_tcp_ipv4);
  ADD ("/pstream/tcp/ipv6", test_tcp_ipv6);
  ADD ("/pstream/tcp/in-use", test_tcp_in_use);
  ADD ("/pstream/accept/backlog-default", test_backlog_default);
  ADD ("/pstream/accept/backlog-set", test_backlog_set);
  ADD ("/pstream/accept/pause-resume", test_pause_resume);
  ADD ("/pstream/accept/close-while-paused", test_close_while_paused);
  ADD ("/pstream/accept/emfile-resume", test_emfile_resume);
  ADD ("/pstream/accept/emfile-retry", test_emfile_retry);
#undef ADD

  return g_test_run ();
}
