/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-tls"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "uc-error.h"
#include "uc-test-util.h"
#include "uc-tls.h"

/*
 * TLS, as users meet it: the built `unixctld` with a `pssl:` remote and
 * the built `unixctl` with an `ssl:` target, run as real processes with
 * certificates that the `openssl` command makes once for the whole
 * program.  The trust model is Open vSwitch's (mutual certificates, both
 * checked against the CA, names not checked), so the compat tests put
 * Open vSwitch's own TLS peers on the other side: the Python library
 * (OpenSSL) as a client of unixctld, and ovsdb-server as a server for
 * unixctl.
 */

/* Long enough for a daemon under ASan on a loaded machine. */
#define DEADLINE_US (20 * G_USEC_PER_SEC)
#define DEADLINE_S  (DEADLINE_US / G_USEC_PER_SEC)

#define VERSION_REPLY PACKAGE_NAME " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n"

#define PSSL_REMOTE "pssl:0:127.0.0.1"

/* The certificates: see uc_test_pki_make(). */
static UcTestPki pki;
static UcTestOvs ovs;

typedef struct
{
  char *dir; /* (owned) private run and log directory */
  char *ctl; /* (owned) the daemon's control socket */

  GSubprocess *daemon;           /* (owned) (nullable) */
  GDataInputStream *daemon_err;  /* (owned) (nullable) its stderr */
  GCancellable *log_cancellable; /* (owned) */
  GString *log;                  /* (owned) its stderr so far */
  gboolean log_done;             /* stderr ended, or reading was cancelled */
  guint16 port;                  /* its pssl: port */
  char *target;                  /* (owned) "ssl:127.0.0.1:PORT" */

  GSubprocess *ovsdb; /* (owned) (nullable) */
} Fixture;

/* The fixture. */

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  fixture->dir = uc_test_make_tmp_dir ("test-tls-XXXXXX");
  fixture->ctl = g_build_filename (fixture->dir, "unixctld.ctl", NULL);
  fixture->log = g_string_new (NULL);
  fixture->log_cancellable = g_cancellable_new ();
}

static void
stop_process (GSubprocess **process)
{
  if (*process == NULL)
    return;
  if (g_subprocess_get_identifier (*process) != NULL)
    g_subprocess_force_exit (*process);
  uc_test_subprocess_wait (*process, DEADLINE_US);
  g_clear_object (process);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  /* A failed test may leave servers running: never let them outlive it. */
  stop_process (&fixture->daemon);
  stop_process (&fixture->ovsdb);

  /* The read in flight points at @fixture: wait for its end. */
  g_cancellable_cancel (fixture->log_cancellable);
  if (fixture->daemon_err != NULL)
    uc_test_wait_until (fixture->log_done);
  g_clear_object (&fixture->daemon_err);
  g_clear_object (&fixture->log_cancellable);
  g_string_free (g_steal_pointer (&fixture->log), TRUE);

  uc_test_rm_rf (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->ctl, g_free);
  g_clear_pointer (&fixture->target, g_free);
}

/* The daemon and its log. */

static void read_log_line (Fixture *fixture);

static void
log_line_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source),
                                               result, NULL, NULL);
  if (line == NULL)
    {
      fixture->log_done = TRUE;
      return;
    }
  g_test_message ("unixctld: %s", line);
  g_string_append (fixture->log, line);
  g_string_append_c (fixture->log, '\n');
  read_log_line (fixture);
}

static void
read_log_line (Fixture *fixture)
{
  g_data_input_stream_read_line_async (fixture->daemon_err, G_PRIORITY_DEFAULT,
                                       fixture->log_cancellable, log_line_cb,
                                       fixture);
}

/* Waits until the daemon's stderr, from byte @from on, holds @needle.
 *
 * Returns: where @needle is in fixture->log->str */
static const char *
wait_for_log (Fixture *fixture, gsize from, const char *needle)
{
  uc_test_wait_until (fixture->log_done ||
                      strstr (fixture->log->str + from, needle) != NULL);
  if (strstr (fixture->log->str + from, needle) == NULL)
    g_error ("unixctld's stderr ended without “%s”:\n%s", needle,
             fixture->log->str + from);
  return strstr (fixture->log->str + from, needle);
}

/* Starts unixctld with its control socket at fixture->ctl, without D-Bus,
 * and with @args.  Its stderr is collected in fixture->log, with its
 * info messages. */
static void
spawn_daemon (Fixture *fixture, gboolean worker, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  g_assert_null (fixture->daemon);
  launcher = uc_test_daemon_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                          G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* "listening on pssl:PORT" is an info message. */
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "daemon", TRUE);
  /* Peers provoke warnings on purpose: they must not kill the daemon.  A
   * critical is a bug. */
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-criticals", TRUE);

  g_ptr_array_add (argv, g_strconcat ("--unixctl=", fixture->ctl, NULL));
  g_ptr_array_add (argv, g_strdup ("--dbus=none"));
  if (!worker)
    g_ptr_array_add (argv, g_strdup ("--no-worker"));
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);

  fixture->daemon = uc_test_spawn_unixctld (launcher, fixture->dir,
                                            (const char *const *) argv->pdata);
  fixture->daemon_err =
    g_data_input_stream_new (g_subprocess_get_stderr_pipe (fixture->daemon));
  read_log_line (fixture);
}

/* Starts unixctld serving PSSL_REMOTE with @key, @cert and @ca and the
 * other @args (NULL-terminated), and waits until it listens: sets
 * fixture->port and fixture->target. */
static void
start_daemon_with (Fixture *fixture,
                   gboolean worker,
                   const char *key,
                   const char *cert,
                   const char *ca,
                   ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  const char *found;
  guint64 port;
  va_list ap;

  g_ptr_array_add (args, g_strdup ("--remote=" PSSL_REMOTE));
  g_ptr_array_add (args, g_strconcat ("--private-key=", key, NULL));
  g_ptr_array_add (args, g_strconcat ("--certificate=", cert, NULL));
  g_ptr_array_add (args, g_strconcat ("--ca-cert=", ca, NULL));
  va_start (ap, ca);
  for (const char *arg = va_arg (ap, const char *); arg != NULL;
       arg = va_arg (ap, const char *))
    g_ptr_array_add (args, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (args, NULL);
  spawn_daemon (fixture, worker, (const char *const *) args->pdata);

  /* The control socket is set up before the remotes: both serve now. */
  found = wait_for_log (fixture, 0, "listening on pssl:");
  port = g_ascii_strtoull (found + strlen ("listening on pssl:"), NULL, 10);
  g_assert_cmpuint (port, >, 0);
  g_assert_cmpuint (port, <=, G_MAXUINT16);
  fixture->port = (guint16) port;
  g_free (fixture->target);
  fixture->target = g_strdup_printf ("ssl:127.0.0.1:%u", fixture->port);
}

/* The usual daemon: the server's certificate, the CA, no worker. */
static void
start_daemon (Fixture *fixture)
{
  start_daemon_with (fixture, FALSE, pki.server_key, pki.server_cert,
                     pki.ca_cert, NULL);
}

/* Stops the daemon with SIGTERM, which must succeed and leave nothing in
 * its run directory. */
static void
stop_daemon (Fixture *fixture)
{
  g_autofree char *left = NULL;

  g_subprocess_send_signal (fixture->daemon, SIGTERM);
  g_assert_cmpint (uc_test_subprocess_wait (fixture->daemon, DEADLINE_US), ==,
                   0);
  uc_test_wait_until (fixture->log_done);
  g_clear_object (&fixture->daemon);
  left = uc_test_list_dir (fixture->dir);
  g_assert_cmpstr (left, ==, "");
}

/* unixctl. */

static void
run_unixctlv (UcTestOutput *output, const char *const *args)
{
  g_auto (GStrv) envp = g_get_environ ();

  /* The messages compared hold “’”: a UTF-8 locale prints it as it is. */
  envp = g_environ_setenv (envp, "LC_ALL", "C.UTF-8", TRUE);
  envp = g_environ_unsetenv (envp, "LANGUAGE");
  /* A server that resets the connection makes unixctl warn (not print:
   * without -v): that must not kill it.  A critical is a bug. */
  envp = g_environ_setenv (envp, "G_DEBUG", "fatal-criticals", TRUE);
  uc_test_run (uc_test_built_program ("UNIXCTL"), "unixctl", args,
               (const char *const *) envp, output);
}

/* Runs unixctl with the arguments that follow, up to a NULL. */
static void G_GNUC_NULL_TERMINATED
run_unixctl (UcTestOutput *output, ...)
{
  g_autofree const char **args = NULL;
  va_list ap;

  va_start (ap, output);
  args = uc_test_args_va (ap);
  va_end (ap);
  run_unixctlv (output, args);
}

/* Runs `unixctl -t fixture->target -p @key -c @cert -C @ca` with the
 * arguments that follow, up to a NULL. */
static void G_GNUC_NULL_TERMINATED
run_ssl (Fixture *fixture,
         UcTestOutput *output,
         const char *key,
         const char *cert,
         const char *ca,
         ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autofree const char **rest = NULL;
  va_list ap;

  g_ptr_array_add (args, (gpointer) "-t");
  g_ptr_array_add (args, fixture->target);
  g_ptr_array_add (args, (gpointer) "-p");
  g_ptr_array_add (args, (gpointer) key);
  g_ptr_array_add (args, (gpointer) "-c");
  g_ptr_array_add (args, (gpointer) cert);
  g_ptr_array_add (args, (gpointer) "-C");
  g_ptr_array_add (args, (gpointer) ca);
  va_start (ap, ca);
  rest = uc_test_args_va (ap);
  va_end (ap);
  for (gsize i = 0; rest[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) rest[i]);
  g_ptr_array_add (args, NULL);
  run_unixctlv (output, (const char *const *) args->pdata);
}

/* A good client gets the daemon's version over TLS. */
static void
assert_serves_ssl (Fixture *fixture)
{
  g_auto (UcTestOutput) output = { 0 };

  run_ssl (fixture, &output, pki.client_key, pki.client_cert, pki.ca_cert,
           "version", NULL);
  g_assert_cmpstr (output.err, ==, "");
  g_assert_cmpstr (output.out, ==, VERSION_REPLY);
  g_assert_cmpint (output.status, ==, 0);
}

/* The control socket serves. */
static void
assert_serves_local (Fixture *fixture)
{
  g_auto (UcTestOutput) output = { 0 };

  run_unixctl (&output, "-t", fixture->ctl, "version", NULL);
  g_assert_cmpstr (output.err, ==, "");
  g_assert_cmpstr (output.out, ==, VERSION_REPLY);
  g_assert_cmpint (output.status, ==, 0);
}

/* Raw TCP to the pssl: port. */

static GSocketConnection *
connect_tcp (guint16 port, guint timeout_s)
{
  g_autoptr (GSocketConnectable) address = NULL;
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection;

  address = G_SOCKET_CONNECTABLE (
    g_inet_socket_address_new_from_string ("127.0.0.1", port));
  connection = uc_test_connect (address, timeout_s, &error);
  g_assert_no_error (error);
  return connection;
}

/* Reads from @connection until the server closes it, which it must do
 * within the connection's I/O timeout.
 *
 * Returns: (transfer full): what came before the end */
static GByteArray *
read_until_closed (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr (GByteArray) received = g_byte_array_new ();

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      guint8 buffer[4096];
      gssize n;

      n =
        g_socket_receive (socket, (char *) buffer, sizeof buffer, NULL, &error);
      if (n == 0)
        break;
      if (n < 0)
        {
          /* A reset, when the server closed with our bytes unread. */
          g_assert_false (
            g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
          g_test_message ("the connection ended with: %s", error->message);
          break;
        }
      g_byte_array_append (received, buffer, (guint) n);
    }
  return g_steal_pointer (&received);
}

/* How many sockets the daemon holds.  Not all its descriptors: GIO's TLS
 * backend runs each handshake in a thread of GLib's pool, and a thread
 * may hold a descriptor of its own (an eventfd) for as long as it
 * lives.
 *
 * Returns: the count, and in @description the daemon's descriptors */
static guint
count_daemon_sockets (Fixture *fixture, char **description)
{
  g_autofree char *fds = NULL;
  guint n = 0;

  uc_test_proc_count_fds (uc_test_subprocess_pid (fixture->daemon), &fds);
  for (const char *p = strstr (fds, "→socket:"); p != NULL;
       p = strstr (p + 1, "→socket:"))
    n++;
  if (description != NULL)
    *description = g_steal_pointer (&fds);
  return n;
}

/* Polls until the daemon holds @n sockets. */
static void
wait_daemon_sockets (Fixture *fixture, guint n)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;

  while (count_daemon_sockets (fixture, NULL) != n)
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_autofree char *description = NULL;
          guint now = count_daemon_sockets (fixture, &description);

          g_error ("unixctld holds %u sockets, not %u:%s", now, n, description);
        }
      g_usleep (UC_TEST_POLL_US);
    }
}

/* The tests. */

/* A failure to load names the files and their roles, then says what was
 * wrong in GIO's words, which must hold @reason: the path of a file that
 * cannot be read, or what a file lacks. */
static void
assert_config_fails (const char *key,
                     const char *cert,
                     const char *ca,
                     const char *prefix,
                     const char *reason)
{
  g_autoptr (UcTlsConfig) config = NULL;
  g_autoptr (GError) error = NULL;

  config = uc_tls_config_new_from_files (key, cert, ca, &error);
  g_assert_null (config);
  g_assert_error (error, UC_ERROR, UC_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_assert_nonnull (strstr (error->message + strlen (prefix), reason));
}

static void
test_config_errors (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *missing = g_build_filename (pki.dir, "missing.pem", NULL);
  g_autofree char *cert_prefix = NULL;
  g_autofree char *ca_prefix = NULL;
  g_autoptr (UcTlsConfig) config = NULL;
  g_autoptr (GError) error = NULL;

  /* A missing key, certificate or CA. */
  cert_prefix = g_strdup_printf (
    "Cannot load the certificate “%s” with the private key “%s”: ",
    pki.server_cert, missing);
  assert_config_fails (missing, pki.server_cert, pki.ca_cert, cert_prefix,
                       missing);
  g_clear_pointer (&cert_prefix, g_free);
  cert_prefix = g_strdup_printf (
    "Cannot load the certificate “%s” with the private key “%s”: ", missing,
    pki.server_key);
  assert_config_fails (pki.server_key, missing, pki.ca_cert, cert_prefix,
                       missing);
  ca_prefix =
    g_strdup_printf ("Cannot load the CA certificate “%s”: ", missing);
  assert_config_fails (pki.server_key, pki.server_cert, missing, ca_prefix,
                       missing);

  /* Files that are there but hold no PEM: GIO says what it looked for,
   * and our message which file that was. */
  g_clear_pointer (&cert_prefix, g_free);
  cert_prefix = g_strdup_printf (
    "Cannot load the certificate “%s” with the private key “%s”: ",
    pki.server_cert, pki.garbage);
  assert_config_fails (pki.garbage, pki.server_cert, pki.ca_cert, cert_prefix,
                       "No PEM-encoded private key found");
  g_clear_pointer (&cert_prefix, g_free);
  cert_prefix = g_strdup_printf (
    "Cannot load the certificate “%s” with the private key “%s”: ", pki.garbage,
    pki.server_key);
  assert_config_fails (pki.server_key, pki.garbage, pki.ca_cert, cert_prefix,
                       "No PEM-encoded certificate found");
  g_clear_pointer (&ca_prefix, g_free);
  ca_prefix =
    g_strdup_printf ("Cannot load the CA certificate “%s”: ", pki.garbage);
  assert_config_fails (pki.server_key, pki.server_cert, pki.garbage, ca_prefix,
                       pki.garbage);

  /* Two good files that do not go together: the client's key with the
   * server's certificate.  Found at load, as Open vSwitch does. */
  config = uc_tls_config_new_from_files (pki.client_key, pki.server_cert,
                                         pki.ca_cert, &error);
  g_assert_null (config);
  g_assert_error (error, UC_ERROR, UC_ERROR_FAILED);
  {
    g_autofree char *expected =
      g_strdup_printf ("The private key “%s” is not the key of the "
                       "certificate “%s”",
                       pki.client_key, pki.server_cert);

    g_assert_cmpstr (error->message, ==, expected);
  }
  g_clear_error (&error);

  /* And the good files load. */
  config = uc_tls_config_new_from_files (pki.server_key, pki.server_cert,
                                         pki.ca_cert, &error);
  g_assert_no_error (error);
  g_assert_nonnull (uc_tls_config_get_certificate (config));
  g_assert_nonnull (uc_tls_config_get_database (config));
}

/* Verifies @cert_file against @config's CA database. */
static GTlsCertificateFlags
verify_with (UcTlsConfig *config, const char *cert_file)
{
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (GError) error = NULL;
  GTlsCertificateFlags flags;

  cert = g_tls_certificate_new_from_file (cert_file, &error);
  g_assert_no_error (error);
  flags = g_tls_database_verify_chain (
    uc_tls_config_get_database (config), cert,
    G_TLS_DATABASE_PURPOSE_AUTHENTICATE_CLIENT, NULL, NULL,
    G_TLS_DATABASE_VERIFY_NONE, NULL, &error);
  g_assert_no_error (error);
  return flags;
}

/* Names relative to the working directory, as users type them, work for
 * the library and for both programs.  In a subprocess, which may change
 * its directory. */
static void
test_config_relative (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcTlsConfig) config = NULL;
  g_autoptr (GError) error = NULL;

  if (!uc_test_trap_in_subprocess ())
    return;

  g_assert_no_errno (g_chdir (pki.dir));
  config = uc_tls_config_new_from_files ("client-key.pem", "client-cert.pem",
                                         "ca-cert.pem", &error);
  g_assert_no_error (error);
  g_assert_cmpint (verify_with (config, "client-cert.pem"), ==, 0);
  g_assert_cmpint (verify_with (config, "rogue-cert.pem"), ==,
                   G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_assert_cmpint (verify_with (config, "expired-cert.pem"), ==,
                   G_TLS_CERTIFICATE_EXPIRED);

  /* The programs, started in this directory. */
  start_daemon_with (fixture, FALSE, "server-key.pem", "server-cert.pem",
                     "ca-cert.pem", NULL);
  {
    g_auto (UcTestOutput) output = { 0 };

    run_ssl (fixture, &output, "client-key.pem", "client-cert.pem",
             "ca-cert.pem", "version", NULL);
    g_assert_cmpstr (output.err, ==, "");
    g_assert_cmpstr (output.out, ==, VERSION_REPLY);
    g_assert_cmpint (output.status, ==, 0);
  }
  stop_daemon (fixture);
}

/* Runs @command (NULL-terminated) with unixctl against @other_target and
 * against fixture->target over ssl: with the good client files, and
 * checks that both print the same and exit alike, error messages naming
 * their own target.  The ssl run's output is left in @ssl. */
static void
assert_same_over_ssl (Fixture *fixture,
                      const char *other_target,
                      const char *const *command,
                      UcTestOutput *ssl)
{
  g_autoptr (GPtrArray) other_args = g_ptr_array_new ();
  g_autoptr (GPtrArray) ssl_args = g_ptr_array_new ();
  g_auto (UcTestOutput) other = { 0 };
  g_autofree char *other_err = NULL;
  g_auto (GStrv) parts = NULL;

  g_ptr_array_add (other_args, (gpointer) "-t");
  g_ptr_array_add (other_args, (gpointer) other_target);
  g_ptr_array_add (ssl_args, (gpointer) "-t");
  g_ptr_array_add (ssl_args, fixture->target);
  g_ptr_array_add (ssl_args, (gpointer) "-p");
  g_ptr_array_add (ssl_args, pki.client_key);
  g_ptr_array_add (ssl_args, (gpointer) "-c");
  g_ptr_array_add (ssl_args, pki.client_cert);
  g_ptr_array_add (ssl_args, (gpointer) "-C");
  g_ptr_array_add (ssl_args, pki.ca_cert);
  for (gsize j = 0; command[j] != NULL; j++)
    {
      g_ptr_array_add (other_args, (gpointer) command[j]);
      g_ptr_array_add (ssl_args, (gpointer) command[j]);
    }
  g_ptr_array_add (other_args, NULL);
  g_ptr_array_add (ssl_args, NULL);

  run_unixctlv (&other, (const char *const *) other_args->pdata);
  run_unixctlv (ssl, (const char *const *) ssl_args->pdata);

  g_assert_cmpstr (ssl->out, ==, other.out);
  /* Error messages name the target. */
  parts = g_strsplit (other.err, other_target, -1);
  other_err = g_strjoinv (fixture->target, parts);
  g_assert_cmpstr (ssl->err, ==, other_err);
  g_assert_cmpint (ssl->status, ==, other.status);
}

/* What a client sees over ssl: is what it sees on the control socket, in
 * both output formats. */
static void
test_round_trip (Fixture *fixture, gconstpointer user_data)
{
  static const char *const commands[][5] = {
    { "version", NULL },
    { "list-commands", NULL },
    { "-f", "json", "--pretty", "list-commands", NULL },
    { "-f", "json", "version", NULL },
    { "vlog/list", NULL },
    /* A command's error too: exit status 2, the same text. */
    { "no-such-command", NULL },
  };

  start_daemon_with (fixture, TRUE, pki.server_key, pki.server_cert,
                     pki.ca_cert, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_auto (UcTestOutput) ssl = { 0 };

      assert_same_over_ssl (fixture, fixture->ctl, commands[i], &ssl);
    }

  /* What was compared is what the commands print. */
  {
    g_auto (UcTestOutput) output = { 0 };

    run_ssl (fixture, &output, pki.client_key, pki.client_cert, pki.ca_cert,
             "-f", "json", "--pretty", "version", NULL);
    g_assert_cmpint (output.status, ==, 0);
    g_assert_cmpstr (output.out, ==,
                     "{\n    \"reply\" : \"" PACKAGE_NAME " (" PACKAGE_NAME
                     ") " PACKAGE_VERSION "\",\n"
                     "    \"reply-format\" : \"plain\"\n}\n");
  }
  {
    g_auto (UcTestOutput) output = { 0 };

    run_ssl (fixture, &output, pki.client_key, pki.client_cert, pki.ca_cert,
             "no-such-command", NULL);
    g_assert_cmpint (output.status, ==, 2);
    g_assert_cmpstr (output.out, ==, "");
  }
  assert_serves_ssl (fixture);
  stop_daemon (fixture);
}

/* A client whose certificate the server's CA did not sign, or did sign
 * but long ago: unixctl fails (with TLS 1.3 the client's side of the
 * handshake ends before the server has checked, so the reason is the
 * server's to give), the daemon logs why, and goes on serving. */
static void
test_pssl_bad_client (Fixture *fixture, gconstpointer user_data)
{
  const gboolean expired = GPOINTER_TO_INT (user_data);
  const char *key = expired ? pki.expired_key : pki.rogue_key;
  const char *cert = expired ? pki.expired_cert : pki.rogue_cert;
  const char *reason = expired ? "expired" : "not signed by the CA certificate";
  g_autofree char *expected = NULL;
  g_auto (UcTestOutput) output = { 0 };

  start_daemon (fixture);

  run_ssl (fixture, &output, key, cert, pki.ca_cert, "version", NULL);
  g_assert_cmpint (output.status, ==, 1);
  g_assert_cmpstr (output.out, ==, "");
  g_assert_true (g_str_has_prefix (output.err, "unixctl: "));

  expected = g_strdup_printf ("|pstream|WARN|" PSSL_REMOTE
                              ": dropping connection: TLS handshake "
                              "failed: the client’s certificate is %s\n",
                              reason);
  wait_for_log (fixture, 0, expected);

  assert_serves_ssl (fixture);
  assert_serves_local (fixture);
  stop_daemon (fixture);
}

/* A server whose certificate the client's CA did not sign, or that has
 * expired: unixctl says so, in the words of the brief, and exits 1. */
static void
test_ssl_bad_server (Fixture *fixture, gconstpointer user_data)
{
  const gboolean expired = GPOINTER_TO_INT (user_data);
  g_autofree char *expected = NULL;
  g_auto (UcTestOutput) output = { 0 };

  if (expired)
    start_daemon_with (fixture, FALSE, pki.expired_key, pki.expired_cert,
                       pki.ca_cert, NULL);
  else
    start_daemon (fixture);

  /* The client trusts only the rogue CA, or the right one. */
  run_ssl (fixture, &output, pki.client_key, pki.client_cert,
           expired ? pki.ca_cert : pki.rogue_ca_cert, "version", NULL);
  expected = g_strdup_printf (
    "unixctl: \"%s\": the server’s certificate is %s\n", fixture->target,
    expired ? "expired" : "not signed by the CA certificate");
  g_assert_cmpstr (output.err, ==, expected);
  g_assert_cmpstr (output.out, ==, "");
  g_assert_cmpint (output.status, ==, 1);

  if (!expired)
    assert_serves_ssl (fixture);
  assert_serves_local (fixture);
  stop_daemon (fixture);
}

/* A server that accepts and never speaks: unixctl's --timeout covers the
 * handshake, as it covers a tcp: connection. */
static void
test_ssl_silent_server (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSocket) listener = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  g_auto (UcTestOutput) output = { 0 };

  /* The kernel completes the connection from the backlog; nobody
   * accepts it. */
  listener = uc_test_bind_loopback (&fixture->port);
  g_socket_listen (listener, &error);
  g_assert_no_error (error);
  fixture->target = g_strdup_printf ("ssl:127.0.0.1:%u", fixture->port);

  run_ssl (fixture, &output, pki.client_key, pki.client_cert, pki.ca_cert, "-T",
           "1", "version", NULL);
  expected = g_strdup_printf ("unixctl: %s: timed out after 1 second\n",
                              fixture->target);
  g_assert_cmpstr (output.err, ==, expected);
  g_assert_cmpstr (output.out, ==, "");
  g_assert_cmpint (output.status, ==, 3);
}

/* unixctl: an ssl: target needs all three files. */
static void
test_options_unixctl (Fixture *fixture, gconstpointer user_data)
{
  static const char needs[] = "unixctl: an ssl: target needs --private-key, "
                              "--certificate and --ca-cert\n";
  g_autofree char *missing = g_build_filename (pki.dir, "missing.pem", NULL);

  fixture->target = g_strdup ("ssl:127.0.0.1:1");
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (&output, "-t", fixture->target, "version", NULL);
    g_assert_cmpstr (output.err, ==, needs);
    g_assert_cmpstr (output.out, ==, "");
    g_assert_cmpint (output.status, ==, 1);
  }
  /* Any one missing: long options and short. */
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (&output, "-t", fixture->target, "--private-key",
                 pki.client_key, "--certificate", pki.client_cert, "version",
                 NULL);
    g_assert_cmpstr (output.err, ==, needs);
    g_assert_cmpint (output.status, ==, 1);
  }
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (&output, "-t", fixture->target, "-c", pki.client_cert, "-C",
                 pki.ca_cert, "version", NULL);
    g_assert_cmpstr (output.err, ==, needs);
    g_assert_cmpint (output.status, ==, 1);
  }
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (&output, "-t", fixture->target, "-p", pki.client_key, "-C",
                 pki.ca_cert, "version", NULL);
    g_assert_cmpstr (output.err, ==, needs);
    g_assert_cmpint (output.status, ==, 1);
  }
  /* A file that cannot be used is named, before any connection. */
  {
    g_auto (UcTestOutput) output = { 0 };
    g_autofree char *expected = g_strdup_printf (
      "unixctl: Cannot load the CA certificate “%s”: ", missing);

    run_ssl (fixture, &output, pki.client_key, pki.client_cert, missing,
             "version", NULL);
    g_assert_true (g_str_has_prefix (output.err, expected));
    g_assert_cmpstr (output.out, ==, "");
    g_assert_cmpint (output.status, ==, 1);
  }
  /* Other targets ignore the options, as in Open vSwitch. */
  start_daemon (fixture);
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (&output, "-t", fixture->ctl, "-p", missing, "version", NULL);
    g_assert_cmpstr (output.err, ==, "");
    g_assert_cmpstr (output.out, ==, VERSION_REPLY);
    g_assert_cmpint (output.status, ==, 0);
  }
  stop_daemon (fixture);
}

/* Runs unixctld with @args, which must fail at start-up with @expected on
 * stderr (or, if @expected ends with no newline, a line starting so) and
 * leave nothing in its run directory. */
static void
assert_daemon_fails (Fixture *fixture,
                     const char *const *args,
                     const char *expected)
{
  g_autofree char *left = NULL;

  spawn_daemon (fixture, FALSE, args);
  g_assert_cmpint (uc_test_subprocess_wait (fixture->daemon, DEADLINE_US), ==,
                   1);
  uc_test_wait_until (fixture->log_done);
  if (g_str_has_suffix (expected, "\n"))
    g_assert_cmpstr (fixture->log->str, ==, expected);
  else
    {
      /* After its start-up (debug) messages: the files load once the
       * daemon has started, since checking them runs threads that must
       * come after --detach's fork. */
      const char *found = strstr (fixture->log->str, expected);

      g_assert_nonnull (found);
      g_assert_true (found == fixture->log->str || found[-1] == '\n');
    }
  left = uc_test_list_dir (fixture->dir);
  g_assert_cmpstr (left, ==, "");

  /* Ready for the next. */
  g_clear_object (&fixture->daemon);
  g_clear_object (&fixture->daemon_err);
  g_string_truncate (fixture->log, 0);
  fixture->log_done = FALSE;
}

/* unixctld: a pssl: remote needs all three files, which must load. */
static void
test_options_unixctld (Fixture *fixture, gconstpointer user_data)
{
  static const char needs[] =
    "unixctld: --remote=" PSSL_REMOTE " needs --private-key, --certificate "
    "and --ca-cert (use --help for help)\n";
  g_autofree char *key = g_strconcat ("--private-key=", pki.server_key, NULL);
  g_autofree char *cert = g_strconcat ("--certificate=", pki.server_cert, NULL);
  g_autofree char *ca = g_strconcat ("--ca-cert=", pki.ca_cert, NULL);
  g_autofree char *missing = g_build_filename (pki.dir, "missing.pem", NULL);
  g_autofree char *missing_ca = g_strconcat ("--ca-cert=", missing, NULL);
  g_autofree char *cannot = g_strdup_printf (
    "unixctld: Cannot load the CA certificate “%s”: ", missing);

  {
    const char *const args[] = { "--remote=" PSSL_REMOTE, NULL };

    assert_daemon_fails (fixture, args, needs);
  }
  {
    const char *const args[] = { "--remote=" PSSL_REMOTE, key, cert, NULL };

    assert_daemon_fails (fixture, args, needs);
  }
  {
    const char *const args[] = {
      "--remote=" PSSL_REMOTE, "-c", pki.server_cert, "-C", pki.ca_cert, NULL
    };

    assert_daemon_fails (fixture, args, needs);
  }
  /* Among other remotes too. */
  {
    const char *const args[] = { "--remote=ptcp:0:127.0.0.1",
                                 "--remote=" PSSL_REMOTE, key, ca, NULL };

    assert_daemon_fails (fixture, args, needs);
  }
  {
    const char *const args[] = { "--remote=" PSSL_REMOTE, key, cert, missing_ca,
                                 NULL };

    assert_daemon_fails (fixture, args, cannot);
  }

  /* Without a pssl: remote the options are not needed: one alone is no
   * error, and its file is not read. */
  {
    const char *const args[] = { "--remote=ptcp:0:127.0.0.1", missing_ca,
                                 NULL };

    spawn_daemon (fixture, FALSE, args);
    wait_for_log (fixture, 0, "listening on ptcp:");
    assert_serves_local (fixture);
    stop_daemon (fixture);
  }
}

/* A client that speaks JSON-RPC, not TLS, to the pssl: port: no JSON
 * comes back, the connection ends, and the daemon goes on serving. */
static void
test_pssl_plain_client (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GByteArray) received = NULL;

  start_daemon (fixture);

  connection = connect_tcp (fixture->port, DEADLINE_S);
  uc_test_send_text (g_socket_connection_get_socket (connection),
                     "{\"method\":\"version\",\"params\":[],\"id\":1}");
  received = read_until_closed (connection);
  /* At most a TLS alert record (content type 21), never a reply. */
  g_test_message ("received %u bytes", received->len);
  if (received->len > 0)
    {
      g_assert_cmphex (received->data[0], ==, 21);
      g_assert_null (memchr (received->data, '{', received->len));
    }

  wait_for_log (fixture, 0,
                "|pstream|WARN|" PSSL_REMOTE
                ": dropping connection: TLS handshake failed: ");

  assert_serves_ssl (fixture);
  assert_serves_local (fixture);
  stop_daemon (fixture);
}

/* A client that connects and says nothing is dropped once the handshake
 * timeout, the idle timeout here, has passed.  3 s, which a good client's
 * handshake (the one that follows) needs under ASan on a loaded machine. */
static void
test_pssl_silent_client (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GByteArray) received = NULL;
  guint idle_sockets;

  start_daemon_with (fixture, FALSE, pki.server_key, pki.server_cert,
                     pki.ca_cert, "--remote-idle-timeout=3", NULL);
  idle_sockets = count_daemon_sockets (fixture, NULL);

  /* Well before the UC_TLS_HANDSHAKE_TIMEOUT_MS that applies without an
   * idle timeout: a bound, not a measure. */
  connection =
    connect_tcp (fixture->port, UC_TLS_HANDSHAKE_TIMEOUT_MS / 1000 - 2);
  received = read_until_closed (connection);
  g_assert_cmpuint (received->len, ==, 0);
  wait_for_log (fixture, 0,
                "|pstream|WARN|" PSSL_REMOTE
                ": dropping connection: TLS handshake not completed within "
                "3000 ms\n");
  wait_daemon_sockets (fixture, idle_sockets);

  assert_serves_ssl (fixture);
  assert_serves_local (fixture);
  stop_daemon (fixture);
}

/* Loading the TLS files checks the key with a handshake, which runs in
 * threads; only the forking thread survives --detach's fork, so that
 * must come after it.  Before, a detached pssl: daemon left good clients
 * waiting and ignored SIGTERM (GLib's worker thread was gone).  Now it
 * serves at once and stops cleanly. */
static void
test_pssl_detach (Fixture *fixture, gconstpointer user_data)
{
  guint16 port = uc_test_pick_free_port ();
  g_autofree char *remote =
    g_strdup_printf ("--remote=pssl:%u:127.0.0.1", port);
  g_autofree char *pidfile =
    g_build_filename (fixture->dir, "unixctld.pid", NULL);
  g_autofree char *unixctl = g_strconcat ("--unixctl=", fixture->ctl, NULL);
  g_autofree char *pidfile_arg = g_strconcat ("--pidfile=", pidfile, NULL);
  g_autofree char *rundir = g_strconcat ("--rundir=", fixture->dir, NULL);
  g_autofree char *key = g_strconcat ("--private-key=", pki.server_key, NULL);
  g_autofree char *cert = g_strconcat ("--certificate=", pki.server_cert, NULL);
  g_autofree char *ca = g_strconcat ("--ca-cert=", pki.ca_cert, NULL);
  const char *const args[] = {
    rundir,        unixctl,    pidfile_arg,  "--dbus=none",
    "--no-worker", "--detach", "--no-chdir", key,
    cert,          ca,         remote,       NULL
  };
  g_auto (GStrv) envp =
    g_environ_setenv (g_get_environ (), "G_DEBUG", "fatal-criticals", TRUE);
  g_auto (UcTestOutput) started = { 0 };
  g_autofree char *pid_text = NULL;
  gint64 deadline;
  pid_t pid;

  uc_test_run (uc_test_built_program ("UNIXCTLD"), "unixctld", args,
               (const char *const *) envp, &started);
  g_assert_cmpstr (started.err, ==, "");
  g_assert_cmpint (started.status, ==, 0);
  pid_text = uc_test_read_file (pidfile);
  pid = (pid_t) g_ascii_strtoll (pid_text, NULL, 10);
  g_assert_cmpint (pid, >, 0);

  fixture->target = g_strdup_printf ("ssl:127.0.0.1:%u", port);
  for (int i = 0; i < 3; i++)
    assert_serves_ssl (fixture);
  assert_serves_local (fixture);

  g_assert_no_errno (kill (pid, SIGTERM));
  deadline = g_get_monotonic_time () + DEADLINE_US;
  while (kill (pid, 0) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (UC_TEST_POLL_US);
    }
  g_assert_false (g_file_test (pidfile, G_FILE_TEST_EXISTS));
}

/* UC_TLS_MAX_HANDSHAKES silent clients hold every handshake slot: the
 * next client is closed at once, the control socket still serves, and
 * once they leave a good client is served again. */
static void
test_pssl_handshake_limit (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GPtrArray) silent =
    g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GSocketConnection) extra = NULL;
  g_autoptr (GByteArray) received = NULL;
  g_autofree char *full = NULL;
  guint idle_sockets;
  gsize mark;

  /* The handshake timeout is then UC_TLS_HANDSHAKE_TIMEOUT_MS, far
   * longer than this test needs. */
  start_daemon_with (fixture, FALSE, pki.server_key, pki.server_cert,
                     pki.ca_cert, "--remote-idle-timeout=3600", NULL);
  idle_sockets = count_daemon_sockets (fixture, NULL);

  for (guint i = 0; i < UC_TLS_MAX_HANDSHAKES; i++)
    g_ptr_array_add (silent, connect_tcp (fixture->port, DEADLINE_S));
  /* Accepted, each a handshake under way: a socket each. */
  wait_daemon_sockets (fixture, idle_sockets + UC_TLS_MAX_HANDSHAKES);

  mark = fixture->log->len;
  extra = connect_tcp (fixture->port, UC_TLS_HANDSHAKE_TIMEOUT_MS / 2000);
  received = read_until_closed (extra);
  g_assert_cmpuint (received->len, ==, 0);
  full = g_strdup_printf ("|pstream|WARN|" PSSL_REMOTE
                          ": dropping connection: %u TLS handshakes already "
                          "under way\n",
                          (guint) UC_TLS_MAX_HANDSHAKES);
  wait_for_log (fixture, mark, full);

  assert_serves_local (fixture);
  g_assert_cmpuint (count_daemon_sockets (fixture, NULL), ==,
                    idle_sockets + UC_TLS_MAX_HANDSHAKES);
  /* The silent ones are still held: nothing to read, no end. */
  for (guint i = 0; i < silent->len; i++)
    {
      GSocket *socket =
        g_socket_connection_get_socket (g_ptr_array_index (silent, i));

      g_assert_cmpint (g_socket_condition_check (socket, G_IO_IN), ==, 0);
    }
  g_assert_null (strstr (fixture->log->str, "not completed within"));

  /* One leaves: a good client takes its slot while the others still wait
   * for their ClientHello.  They do so in the main loop, not each in a
   * handshake thread, which would have kept this client waiting past its
   * handshake timeout. */
  g_ptr_array_remove_index (silent, 0);
  wait_daemon_sockets (fixture, idle_sockets + UC_TLS_MAX_HANDSHAKES - 1);
  assert_serves_ssl (fixture);
  g_assert_null (strstr (fixture->log->str, "not completed within"));

  /* They leave; their slots free. */
  g_ptr_array_set_size (silent, 0);
  wait_daemon_sockets (fixture, idle_sockets);
  assert_serves_ssl (fixture);
  assert_serves_local (fixture);
  stop_daemon (fixture);
}

/* Open vSwitch's Python library, over OpenSSL, as a client of our
 * pssl:, gets what unixctl gets on the control socket. */
static void
test_compat_python_client (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *script = NULL;
  g_auto (GStrv) envp = NULL;
  static const char *const commands[] = { "version", "list-commands" };

  if (uc_test_ovs_skip_missing (&ovs, UC_TEST_OVS_PYTHON))
    return;

  script = g_test_build_filename (G_TEST_DIST, "python-ssl-client.py", NULL);
  envp = uc_test_ovs_environ (fixture->dir, fixture->dir);
  start_daemon_with (fixture, TRUE, pki.server_key, pki.server_cert,
                     pki.ca_cert, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      const char *const args[] = {
        script,      pki.client_key,  pki.client_cert,
        pki.ca_cert, fixture->target, commands[i],
        NULL
      };
      g_auto (UcTestOutput) python = { 0 };
      g_auto (UcTestOutput) local = { 0 };

      uc_test_run (UC_TEST_PYTHON, NULL, args, (const char *const *) envp,
                   &python);
      run_unixctl (&local, "-t", fixture->ctl, commands[i], NULL);
      g_assert_cmpint (local.status, ==, 0);
      g_assert_cmpstr (python.err, ==, "");
      g_assert_cmpstr (python.out, ==, local.out);
      g_assert_cmpint (python.status, ==, 0);
    }

  /* OpenSSL's client with a rogue certificate: refused, for the reason
   * GnuTLS gives. */
  {
    const char *const args[] = { script,      pki.rogue_key,   pki.rogue_cert,
                                 pki.ca_cert, fixture->target, "version",
                                 NULL };
    g_auto (UcTestOutput) python = { 0 };
    gsize mark = fixture->log->len;

    uc_test_run (UC_TEST_PYTHON, NULL, args, (const char *const *) envp,
                 &python);
    g_assert_cmpint (python.status, ==, 1);
    g_assert_cmpstr (python.out, ==, "");
    wait_for_log (fixture, mark,
                  "dropping connection: TLS handshake failed: the client’s "
                  "certificate is not signed by the CA certificate\n");
  }
  assert_serves_ssl (fixture);
  stop_daemon (fixture);
}

/* Waits until ovsdb-server's log says it listens on @n ports, and
 * returns the last. */
static guint16
wait_ovsdb_port (const char *log, guint n)
{
  g_autoptr (GRegex) regex =
    g_regex_new ("listening on port (\\d+)", 0, 0, NULL);
  gint64 deadline = g_get_monotonic_time () + DEADLINE_US;

  for (;;)
    {
      g_autofree char *text = NULL;
      g_autoptr (GMatchInfo) match = NULL;
      guint found = 0;
      guint64 port = 0;

      if (g_file_get_contents (log, &text, NULL, NULL))
        {
          g_regex_match (regex, text, 0, &match);
          while (g_match_info_matches (match))
            {
              g_autofree char *digits = g_match_info_fetch (match, 1);

              port = g_ascii_strtoull (digits, NULL, 10);
              found++;
              g_match_info_next (match, NULL);
            }
        }
      if (found >= n)
        {
          g_assert_cmpuint (found, ==, n);
          g_assert_cmpuint (port, >, 0);
          g_assert_cmpuint (port, <=, G_MAXUINT16);
          return (guint16) port;
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("ovsdb-server never listened on %u ports:\n%s", n, text);
      g_usleep (UC_TEST_POLL_US);
    }
}

/* Our ssl: client against ovsdb-server's pssl: (OpenSSL): the same output
 * and exit status as over its ptcp:. */
static void
test_compat_ovsdb_server (Fixture *fixture, gconstpointer user_data)
{
  static const char *const commands[][4] = {
    { "echo", "hi", NULL },
    { "list_dbs", NULL },
    { "no_such_method", NULL },
  };
  g_autofree char *db = NULL;
  g_autofree char *log = NULL;
  g_autofree char *ctl = NULL;
  g_autofree char *log_arg = NULL;
  g_autofree char *ctl_arg = NULL;
  g_autofree char *key_arg = NULL;
  g_autofree char *cert_arg = NULL;
  g_autofree char *ca_arg = NULL;
  g_autofree char *tcp_target = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) envp = NULL;
  guint16 tcp_port;

  if (uc_test_ovs_skip_missing (&ovs, UC_TEST_OVS_OVSDB))
    return;

  log = g_build_filename (fixture->dir, "ovsdb-server.log", NULL);
  ctl = g_build_filename (fixture->dir, "ovsdb-server.ctl", NULL);
  envp = uc_test_ovs_environ (fixture->dir, fixture->dir);
  db = uc_test_ovsdb_create (ovs.ovsdb_tool, fixture->dir, &error);
  g_assert_no_error (error);

  log_arg = g_strconcat ("--log-file=", log, NULL);
  ctl_arg = g_strconcat ("--unixctl=", ctl, NULL);
  key_arg = g_strconcat ("--private-key=", pki.server_key, NULL);
  cert_arg = g_strconcat ("--certificate=", pki.server_cert, NULL);
  ca_arg = g_strconcat ("--ca-cert=", pki.ca_cert, NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_environ (launcher, envp);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  fixture->ovsdb = g_subprocess_launcher_spawn (
    launcher, &error, ovs.ovsdb_server, "-vconsole:off", "--no-chdir", log_arg,
    ctl_arg, "--remote=pssl:0:127.0.0.1", key_arg, cert_arg, ca_arg, db, NULL);
  g_assert_no_error (error);

  /* Both remotes log the same "listening on port N": add the second
   * once the first has, to tell them apart. */
  fixture->port = wait_ovsdb_port (log, 1);
  fixture->target = g_strdup_printf ("ssl:127.0.0.1:%u", fixture->port);
  {
    g_auto (UcTestOutput) output = { 0 };

    run_unixctl (&output, "-t", ctl, "ovsdb-server/add-remote",
                 "ptcp:0:127.0.0.1", NULL);
    g_assert_cmpstr (output.err, ==, "");
    g_assert_cmpint (output.status, ==, 0);
  }
  tcp_port = wait_ovsdb_port (log, 2);
  tcp_target = g_strdup_printf ("tcp:127.0.0.1:%u", tcp_port);

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_auto (UcTestOutput) ssl = { 0 };

      assert_same_over_ssl (fixture, tcp_target, commands[i], &ssl);
      if (i == 0)
        g_assert_cmpstr (ssl.out, ==, "[\"hi\"]\n");
    }

  /* OpenSSL on the other side explains no better than "unknown CA", but
   * unixctl's own check of the server names the fault. */
  {
    g_auto (UcTestOutput) output = { 0 };
    g_autofree char *expected = g_strdup_printf (
      "unixctl: \"%s\": the server’s certificate is not signed by the CA "
      "certificate\n",
      fixture->target);

    run_ssl (fixture, &output, pki.client_key, pki.client_cert,
             pki.rogue_ca_cert, "list_dbs", NULL);
    g_assert_cmpstr (output.err, ==, expected);
    g_assert_cmpint (output.status, ==, 1);
  }
  {
    g_auto (UcTestOutput) output = { 0 };

    run_ssl (fixture, &output, pki.rogue_key, pki.rogue_cert, pki.ca_cert,
             "list_dbs", NULL);
    g_assert_cmpstr (output.out, ==, "");
    g_assert_cmpint (output.status, ==, 1);
  }

  g_subprocess_send_signal (fixture->ovsdb, SIGTERM);
  uc_test_subprocess_wait (fixture->ovsdb, DEADLINE_US);
  g_clear_object (&fixture->ovsdb);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  /* Once for every test, and in every subprocess a test traps: the
   * subprocess is a new run of main(). */
  uc_test_pki_make (&pki, "test-tls");
  uc_test_ovs_find (&ovs, "ovs.stream");

#define ADD(path, data, func) \
  g_test_add (path, Fixture, data, fixture_set_up, func, fixture_tear_down)

  ADD ("/tls/config/errors", NULL, test_config_errors);
  ADD ("/tls/config/relative", NULL, test_config_relative);
  ADD ("/tls/pssl/round-trip", NULL, test_round_trip);
  ADD ("/tls/pssl/rogue-client", GINT_TO_POINTER (FALSE), test_pssl_bad_client);
  ADD ("/tls/pssl/expired-client", GINT_TO_POINTER (TRUE),
       test_pssl_bad_client);
  ADD ("/tls/pssl/plain-client", NULL, test_pssl_plain_client);
  ADD ("/tls/pssl/silent-client", NULL, test_pssl_silent_client);
  ADD ("/tls/pssl/handshake-limit", NULL, test_pssl_handshake_limit);
  ADD ("/tls/pssl/detach", NULL, test_pssl_detach);
  ADD ("/tls/ssl/rogue-server", GINT_TO_POINTER (FALSE), test_ssl_bad_server);
  ADD ("/tls/ssl/expired-server", GINT_TO_POINTER (TRUE), test_ssl_bad_server);
  ADD ("/tls/ssl/silent-server", NULL, test_ssl_silent_server);
  ADD ("/tls/options/unixctl", NULL, test_options_unixctl);
  ADD ("/tls/options/unixctld", NULL, test_options_unixctld);
  ADD ("/tls/compat/python-client", NULL, test_compat_python_client);
  ADD ("/tls/compat/ovsdb-server", NULL, test_compat_ovsdb_server);

#undef ADD

  status = g_test_run ();
  uc_test_pki_clear (&pki);
  uc_test_ovs_clear (&ovs);
  return status;
}
