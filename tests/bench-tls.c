/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-tls: unixctld's pssl: listener measured beside a real
 * ovsdb-server's, both started here with the same certificates (made by
 * uc_test_pki_make()) and driven by the same client, the project's own
 * (uc_tls_config_wrap_client()), so that the figures differ only by the
 * server: GIO's GnuTLS backend in unixctld, OpenSSL in ovsdb-server.
 *
 *  1. new connections: each a TCP connect, a full TLS handshake with
 *     certificates both ways, one JSON-RPC request and its reply, and a
 *     close.  Connections/s, and the server's CPU time per connection;
 *  2. sequential requests on one established TLS connection: requests/s,
 *     and the server's CPU time per request.
 *
 * The server's CPU time is that of all its threads.  The client disables
 * Nagle's algorithm, as Open vSwitch's clients do, so that a wait on the
 * peer's delayed ACK, if any, is the server's doing.
 *
 * Each figure is the median of rounds that take turns between the
 * servers, so that a change in the machine's load during the run weighs
 * on both alike.  Nothing is pinned: a handshake costs enough CPU on
 * both sides that the client and the server each want a core.  Nothing
 * here asserts on time: a slow machine gives slow figures, never a
 * failure.
 */
#define G_LOG_DOMAIN "bench"

#include "config.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "uc-test-util.h"
#include "uc-tls.h"

#define ROUNDS          5
#define CONNECT_SECONDS 1.0
#define REQUEST_SECONDS 1.0
/* How long a server may take to listen, and any socket operation. */
#define START_SECONDS 10.0
#define IO_TIMEOUT_S  10
#define READ_CHUNK    4096

/* Both servers answer it with one small object: unixctld with an error
 * ("unknown command"), ovsdb-server with an empty result. */
#define REQUEST_FORMAT \
  "{\"id\":%" G_GUINT64_FORMAT ",\"method\":\"echo\",\"params\":[]}"

typedef struct
{
  const char *label;
  GSubprocess *process; /* (owned) (nullable) */
  GPid pid;
  GSocketAddress *address; /* (owned) (nullable) 127.0.0.1 and its port */
  char *negotiated;        /* (owned) (nullable) protocol and ciphersuite */
} Target;

typedef struct
{
  double conn_rate;          /* connections/s */
  double conn_server_cpu_ms; /* server CPU per connection */
  double conn_client_cpu_ms; /* this process's CPU per connection */
  double req_rate;           /* requests/s on one connection */
  double req_server_cpu_us;  /* server CPU per request */
} Figures;

static double
now_s (void)
{
  return g_get_monotonic_time () / (double) G_USEC_PER_SEC;
}

/* The client side: a TCP connection to @target with the TLS handshake
 * done, or %NULL with @error set.  @socket_connection gets the TCP
 * connection, to close after the TLS one.
 *
 * The TLS connection runs over a GSimpleIOStream rather than over the
 * GSocketConnection itself: GIO's GnuTLS client keeps the session
 * tickets of servers it has met, keyed by the socket's remote address,
 * and would resume sessions instead of making new ones.  Without a
 * socket address each handshake is a full one, as in each run of
 * unixctl. */
static GIOStream *
tls_connect (UcTlsConfig *config,
             Target *target,
             GSocketConnection **socket_connection,
             GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GIOStream) base = NULL;
  g_autoptr (GIOStream) tls = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_timeout (socket, IO_TIMEOUT_S);
  /* As Open vSwitch's clients do (C and Python alike): TLS sends a
   * handshake flight as several small records, which Nagle's algorithm
   * would hold until the peer's delayed ACK, some 40 ms each. */
  if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, error) ||
      !g_socket_connect (socket, target->address, NULL, error))
    return NULL;
  connection = g_socket_connection_factory_create_connection (socket);
  base = g_simple_io_stream_new (
    g_io_stream_get_input_stream (G_IO_STREAM (connection)),
    g_io_stream_get_output_stream (G_IO_STREAM (connection)));
  tls = uc_tls_config_wrap_client (config, base, error);
  if (tls == NULL ||
      !g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, error))
    return NULL;
  *socket_connection = g_steal_pointer (&connection);
  return g_steal_pointer (&tls);
}

static void
tls_close (GIOStream *tls, GSocketConnection *connection, const char *label)
{
  g_autoptr (GError) error = NULL;

  /* Sends close_notify, as unixctl does. */
  if (!g_io_stream_close (tls, NULL, &error) ||
      !g_io_stream_close (G_IO_STREAM (connection), NULL, &error))
    g_error ("%s: close failed: %s", label, error->message);
}

/* Sends request @id on @tls and reads until the end of its reply. */
static void
transact (GIOStream *tls, guint64 id, const char *label)
{
  GInputStream *in = g_io_stream_get_input_stream (tls);
  GOutputStream *out = g_io_stream_get_output_stream (tls);
  g_autoptr (GError) error = NULL;
  UcTestReplyScanner scanner = { 0 };
  char request[96];
  char buf[READ_CHUNK];
  int len = g_snprintf (request, sizeof request, REQUEST_FORMAT, id);

  if (!g_output_stream_write_all (out, request, (gsize) len, NULL, NULL,
                                  &error))
    g_error ("%s: write failed: %s", label, error->message);
  for (;;)
    {
      gssize n = g_input_stream_read (in, buf, sizeof buf, NULL, &error);

      if (n < 0)
        g_error ("%s: read failed: %s", label, error->message);
      if (n == 0)
        g_error ("%s: the server closed the connection", label);
      if (uc_test_scan_replies (&scanner, buf, (gsize) n) > 0)
        return;
    }
}

/* One round of new connections: connections/s, and the server's and
 * this process's CPU ms per connection. */
static double
measure_connections_round (UcTlsConfig *config,
                           Target *target,
                           double *server_cpu_ms,
                           double *client_cpu_ms)
{
  double start, elapsed, server_start, client_start;
  guint64 n = 0;

  server_start = uc_test_process_cpu_us (target->pid);
  client_start = uc_test_process_cpu_us (getpid ());
  start = now_s ();
  do
    {
      g_autoptr (GSocketConnection) connection = NULL;
      g_autoptr (GIOStream) tls = NULL;
      g_autoptr (GError) error = NULL;

      tls = tls_connect (config, target, &connection, &error);
      if (tls == NULL)
        g_error ("%s: %s", target->label, error->message);
      transact (tls, 1, target->label);
      tls_close (tls, connection, target->label);
      n++;
      elapsed = now_s () - start;
    }
  while (elapsed < CONNECT_SECONDS);

  *server_cpu_ms =
    (uc_test_process_cpu_us (target->pid) - server_start) / n / 1e3;
  *client_cpu_ms =
    (uc_test_process_cpu_us (getpid ()) - client_start) / n / 1e3;
  return n / elapsed;
}

/* One round of sequential requests on one connection: requests/s, and
 * the server's CPU µs per request. */
static double
measure_requests_round (UcTlsConfig *config,
                        Target *target,
                        double *server_cpu_us)
{
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GError) error = NULL;
  double start, elapsed, server_start;
  guint64 n = 0;

  tls = tls_connect (config, target, &connection, &error);
  if (tls == NULL)
    g_error ("%s: %s", target->label, error->message);

  server_start = uc_test_process_cpu_us (target->pid);
  start = now_s ();
  do
    {
      transact (tls, n, target->label);
      n++;
      elapsed = now_s () - start;
    }
  while (elapsed < REQUEST_SECONDS);
  *server_cpu_us = (uc_test_process_cpu_us (target->pid) - server_start) / n;

  tls_close (tls, connection, target->label);
  return n / elapsed;
}

/* Rounds that take turns between the targets, of which those that are
 * %NULL are left out; each target's figures are the medians of its
 * rounds. */
static void
measure (UcTlsConfig *config, Target *const *targets, Figures *const *figs)
{
  double conn_rate[2][ROUNDS], conn_server[2][ROUNDS], conn_client[2][ROUNDS];
  double req_rate[2][ROUNDS], req_server[2][ROUNDS];

  for (guint round = 0; round < ROUNDS; round++)
    for (guint t = 0; t < 2; t++)
      if (targets[t] != NULL)
        conn_rate[t][round] = measure_connections_round (
          config, targets[t], &conn_server[t][round], &conn_client[t][round]);
  for (guint round = 0; round < ROUNDS; round++)
    for (guint t = 0; t < 2; t++)
      if (targets[t] != NULL)
        req_rate[t][round] =
          measure_requests_round (config, targets[t], &req_server[t][round]);

  for (guint t = 0; t < 2; t++)
    if (targets[t] != NULL)
      {
        figs[t]->conn_rate = uc_test_median (conn_rate[t], ROUNDS);
        figs[t]->conn_server_cpu_ms = uc_test_median (conn_server[t], ROUNDS);
        figs[t]->conn_client_cpu_ms = uc_test_median (conn_client[t], ROUNDS);
        figs[t]->req_rate = uc_test_median (req_rate[t], ROUNDS);
        figs[t]->req_server_cpu_us = uc_test_median (req_server[t], ROUNDS);
      }
}

static const char *
protocol_name (GTlsProtocolVersion version)
{
  /* The only two that both servers accept. */
  if (version == G_TLS_PROTOCOL_VERSION_TLS_1_3)
    return "TLS 1.3";
  if (version == G_TLS_PROTOCOL_VERSION_TLS_1_2)
    return "TLS 1.2";
  return "TLS (other)";
}

/* Waits until @target serves TLS, by connecting until a connection is not
 * refused, and checks that it answers the request; notes what the
 * handshake negotiated. */
static gboolean
target_wait_ready (UcTlsConfig *config, Target *target, GError **error)
{
  double deadline = now_s () + START_SECONDS;

  for (;;)
    {
      g_autoptr (GSocketConnection) connection = NULL;
      g_autoptr (GIOStream) tls = NULL;
      g_autoptr (GError) local_error = NULL;

      tls = tls_connect (config, target, &connection, &local_error);
      if (tls != NULL)
        {
          GTlsConnection *conn = G_TLS_CONNECTION (tls);
          g_autofree char *ciphersuite =
            g_tls_connection_get_ciphersuite_name (conn);

          target->negotiated = g_strdup_printf (
            "%s %s",
            protocol_name (g_tls_connection_get_protocol_version (conn)),
            ciphersuite);
          transact (tls, 1, target->label);
          tls_close (tls, connection, target->label);
          return TRUE;
        }
      if (!g_error_matches (local_error, G_IO_ERROR,
                            G_IO_ERROR_CONNECTION_REFUSED) ||
          g_subprocess_get_identifier (target->process) == NULL ||
          now_s () > deadline)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "%s does not serve TLS: ", target->label);
          return FALSE;
        }
      g_usleep (UC_TEST_POLL_US);
    }
}

static gboolean
target_start (Target *target,
              UcTlsConfig *config,
              const char *const *argv,
              guint16 port,
              GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GInetAddress) loopback =
    g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  /* A daemon must not outlive a benchmark that aborts. */
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  target->process = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (target->process == NULL)
    return FALSE;
  target->pid = uc_test_subprocess_pid (target->process);
  target->address = g_inet_socket_address_new (loopback, port);
  return target_wait_ready (config, target, error);
}

static void
target_stop (Target *target)
{
  if (target->process != NULL)
    {
      g_subprocess_send_signal (target->process, SIGTERM);
      g_subprocess_wait (target->process, NULL, NULL);
    }
  g_clear_object (&target->process);
  g_clear_object (&target->address);
  g_clear_pointer (&target->negotiated, g_free);
}

static gboolean
start_unixctld (Target *target,
                UcTlsConfig *config,
                const char *program,
                const char *dir,
                const UcTestPki *pki,
                GError **error)
{
  guint16 port = uc_test_pick_free_port ();
  g_autofree char *unixctl_arg =
    g_strdup_printf ("--unixctl=%s/unixctld.ctl", dir);
  g_autofree char *rundir_arg = g_strdup_printf ("--rundir=%s", dir);
  g_autofree char *remote_arg =
    g_strdup_printf ("--remote=pssl:%u:127.0.0.1", port);
  const char *argv[] = {
    program,       unixctl_arg,      rundir_arg, "--no-chdir", "--no-worker",
    "--dbus=none", "-vconsole:off",  remote_arg, "-p",         pki->server_key,
    "-c",          pki->server_cert, "-C",       pki->ca_cert, NULL
  };

  return target_start (target, config, argv, port, error);
}

static gboolean
start_ovsdb_server (Target *target,
                    UcTlsConfig *config,
                    const char *dir,
                    const UcTestPki *pki,
                    GError **error)
{
  guint16 port = uc_test_pick_free_port ();
  g_autofree char *db_path = uc_test_ovsdb_create ("ovsdb-tool", dir, error);
  g_autofree char *log_arg = g_strdup_printf ("--log-file=%s/ovsdb.log", dir);
  g_autofree char *ctl_arg =
    g_strdup_printf ("--unixctl=%s/ovsdb-server.ctl", dir);
  g_autofree char *remote_arg =
    g_strdup_printf ("--remote=pssl:%u:127.0.0.1", port);
  g_autofree char *key_arg =
    g_strconcat ("--private-key=", pki->server_key, NULL);
  g_autofree char *cert_arg =
    g_strconcat ("--certificate=", pki->server_cert, NULL);
  g_autofree char *ca_arg = g_strconcat ("--ca-cert=", pki->ca_cert, NULL);
  /* -vconsole:off first, or "opened log file" goes to the console. */
  const char *argv[] = { "ovsdb-server", "-vconsole:off", ctl_arg, "--no-chdir",
                         log_arg,        remote_arg,      key_arg, cert_arg,
                         ca_arg,         db_path,         NULL };

  if (db_path == NULL)
    return FALSE;
  return target_start (target, config, argv, port, error);
}

int
main (int argc, char **argv)
{
  const char *unixctld = g_getenv ("UNIXCTLD");
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autoptr (UcTlsConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  UcTestPki pki = { 0 };
  Target ours = { .label = "unixctld" }, theirs = { .label = "ovsdb-server" };
  Figures fo = { 0 }, ft = { 0 };
  gboolean have_ovsdb;

  if (unixctld == NULL)
    {
      g_printerr ("bench-tls: set UNIXCTLD (meson does)\n");
      return 1;
    }
  if (openssl == NULL)
    {
      /* Meson's exit code for a skip. */
      g_print ("bench-tls: no openssl command to make the certificates "
               "with: nothing measured\n");
      return 77;
    }
  signal (SIGPIPE, SIG_IGN);

  uc_test_pki_make (&pki, "bench-tls");
  config = uc_tls_config_new_from_files (pki.client_key, pki.client_cert,
                                         pki.ca_cert, &error);
  g_assert_no_error (error);
  dir = g_dir_make_tmp ("bench-tls-XXXXXX", &error);
  g_assert_no_error (error);

  if (!start_unixctld (&ours, config, unixctld, dir, &pki, &error))
    g_error ("cannot start unixctld: %s", error->message);
  have_ovsdb = start_ovsdb_server (&theirs, config, dir, &pki, &error);
  if (!have_ovsdb)
    {
      g_print ("bench-tls: ovsdb-server unavailable (%s); "
               "only our figures are shown\n",
               error->message);
      g_clear_error (&error);
      target_stop (&theirs);
    }

  {
    Target *const targets[] = { &ours, have_ovsdb ? &theirs : NULL };
    Figures *const figs[] = { &fo, &ft };

    measure (config, targets, figs);
  }

  g_print ("\nnegotiated: unixctld %s; ovsdb-server %s\n", ours.negotiated,
           have_ovsdb ? theirs.negotiated : "(not run)");
  uc_test_print_comparison_header ("note");
  uc_test_print_comparison_row (2, "new TLS conns: connect to close",
                                fo.conn_rate, ft.conn_rate, "conn/s", TRUE,
                                "(no target; GnuTLS vs OpenSSL)");
  uc_test_print_comparison_row (2, "server CPU per connection",
                                fo.conn_server_cpu_ms, ft.conn_server_cpu_ms,
                                "ms", FALSE, "(lower is better)");
  uc_test_print_comparison_row (
    2, "  client CPU per connection", fo.conn_client_cpu_ms,
    ft.conn_client_cpu_ms, "ms", FALSE, "(the same client code against both)");
  uc_test_print_comparison_row (2, "sequential echo, 1 TLS conn", fo.req_rate,
                                ft.req_rate, "req/s", TRUE,
                                "(no target; GnuTLS vs OpenSSL)");
  uc_test_print_comparison_row (2, "server CPU per request",
                                fo.req_server_cpu_us, ft.req_server_cpu_us,
                                "us", FALSE, "(lower is better)");

  target_stop (&ours);
  target_stop (&theirs);
  uc_test_rm_rf (dir);
  uc_test_pki_clear (&pki);
  return 0;
}
