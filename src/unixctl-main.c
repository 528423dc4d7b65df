/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "appctl"

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "uc-client.h"
#include "uc-daemon.h"
#include "uc-dbus-mirror.h"
#include "uc-error.h"
#include "uc-i18n.h"
#include "uc-pidfile.h"
#include "uc-stream.h"
#include "uc-tls.h"

/*
 * unixctl: a drop-in for ovs-appctl.
 *
 * Everything ovs-appctl 3.1 defines comes out byte for byte the same:
 * options and their getopt messages, the result on stdout exactly as
 * received, the server's error text on stderr followed by "TARGET: server
 * returned an error", the local failures, and the exit codes 0, 1 and 2.
 * Only ovs-appctl's timestamped vlog lines are not printed (see
 * log_writer()).
 *
 * The messages that match ovs-appctl's stay untranslated, as ovs-appctl's
 * are: scripts look for them in any locale.  Our own messages go through
 * gettext.
 *
 * Beyond ovs-appctl: targets `unix:FILE`, `tcp:HOST:PORT` and
 * `ssl:HOST:PORT`; `--timeout` ends with a message and exit code 3
 * instead of SIGALRM; `--format json` and `--pretty`, as in later OVS;
 * `--dbus`, which calls the daemon's D-Bus mirror instead of its socket
 * (TARGET is then a bus name), with the same output and exit codes.
 */

/* Exit codes, as documented in --help. */
enum
{
  EXIT_OK = 0,
  EXIT_LOCAL_FAILURE = 1, /* usage, pidfile, connect, transaction */
  EXIT_SERVER_ERROR = 2,  /* the server answered with an error */
  EXIT_TIMED_OUT = 3,     /* --timeout expired */
};

#define DEFAULT_TARGET "unixctld"

typedef enum
{
  FORMAT_TEXT,
  FORMAT_JSON,
} Format;

typedef struct
{
  const char *target; /* (unowned) as given on the command line */
  Format format;
  gboolean pretty;
  gboolean verbose;
  guint timeout_s;            /* 0: wait forever */
  const char *const *command; /* (unowned) COMMAND ARG..., from argv */

  char *rundir;      /* (owned) */
  char *stream_name; /* (owned) what to connect to */
  char *socket_name; /* (owned) what "cannot connect to" quotes */

  /* A unixctl control socket rather than a generic JSON-RPC peer: text
   * replies must then be strings, as ovs-appctl 3.1 requires. */
  gboolean unixctl_socket;

  GBusType bus_type; /* --dbus: the bus, else %G_BUS_TYPE_NONE */

  /* --private-key, --certificate, --ca-cert: for ssl: targets. */
  const char *private_key; /* (unowned) (nullable) from argv */
  const char *certificate; /* (unowned) (nullable) from argv */
  const char *ca_cert;     /* (unowned) (nullable) from argv */

  /* When --timeout expires, as g_get_monotonic_time(); -1 without one. */
  gint64 deadline;

  /* --dbus only: the socket path needs no main loop. */
  GMainLoop *loop;           /* (owned) (nullable) */
  GCancellable *cancellable; /* (owned) (nullable) cancelled at the deadline */
  guint timeout_id;
  gboolean timed_out;
  int exit_status;
} Appctl;

static void
appctl_clear (Appctl *app)
{
  g_clear_handle_id (&app->timeout_id, g_source_remove);
  g_clear_object (&app->cancellable);
  g_clear_pointer (&app->loop, g_main_loop_unref);
  g_clear_pointer (&app->rundir, g_free);
  g_clear_pointer (&app->stream_name, g_free);
  g_clear_pointer (&app->socket_name, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Appctl, appctl_clear)

/* Prints "PROGRAM: MESSAGE\n" on stderr, as ovs_error() does. */
static void G_GNUC_PRINTF (1, 2) print_error (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fprintf (stderr, "%s: %s\n", g_get_prgname (), message);
}

/* The errnos whose text may end a GIO message about a connection. */
static const int connection_errnos[] = {
  ENOENT,        ECONNREFUSED, EACCES,      EPERM,      ENOTSOCK,
  ENOTDIR,       ENAMETOOLONG, ELOOP,       ECONNRESET, EPIPE,
  ETIMEDOUT,     EHOSTUNREACH, ENETUNREACH, EHOSTDOWN,  ENETDOWN,
  EADDRNOTAVAIL, EAFNOSUPPORT, EPROTOTYPE,  EMFILE,     ENFILE,
  ENOBUFS,       ENOMEM,       EIO,         EAGAIN,     EINVAL,
};

/* The words of strerror(errno) that Open vSwitch prints for @error.
 * GIO keeps the errno only in its error code, which merges several of
 * them (ECONNRESET and EPIPE are both %G_IO_ERROR_CONNECTION_CLOSED), and
 * in its message, which ends in g_strerror() of it: so that is looked for
 * first.  Returns %NULL if @error did not come from an errno. */
static const char *
errno_text (const GError *error)
{
  gsize i;

  if (error->domain != G_IO_ERROR)
    return NULL;

  for (i = 0; i < G_N_ELEMENTS (connection_errnos); i++)
    {
      const char *text = g_strerror (connection_errnos[i]);

      if (g_str_has_suffix (error->message, text))
        return text;
    }

  switch (error->code)
    {
      case G_IO_ERROR_NOT_FOUND:
        return g_strerror (ENOENT);
      case G_IO_ERROR_CONNECTION_REFUSED:
        return g_strerror (ECONNREFUSED);
      case G_IO_ERROR_PERMISSION_DENIED:
        return g_strerror (EACCES);
      case G_IO_ERROR_TIMED_OUT:
        return g_strerror (ETIMEDOUT);
      default:
        return NULL;
    }
}

/* Whether @error means that @app's timeout expired: the socket path
 * reports its deadline, the D-Bus path the cancellation at it. */
static gboolean
is_timeout (Appctl *app, const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return app->deadline >= 0 && g_get_monotonic_time () >= app->deadline;
  return app->timed_out &&
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static int
report_timed_out (Appctl *app)
{
  print_error (g_dngettext (GETTEXT_PACKAGE, "%s: timed out after %u second",
                            "%s: timed out after %u seconds", app->timeout_s),
               app->target, app->timeout_s);
  return EXIT_TIMED_OUT;
}

static int
report_transaction_error (Appctl *app, const GError *error)
{
  const char *reason;

  if (is_timeout (app, error))
    return report_timed_out (app);

  /* What Open vSwitch reports for the same failures: EOF for a server that
   * closed the connection, EPROTO for one that broke the protocol. */
  reason = errno_text (error);
  if (reason == NULL &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    reason = "End of file";
  else if (reason == NULL && error->domain == UC_ERROR)
    reason = g_strerror (EPROTO);
  else if (reason == NULL)
    reason = error->message;

  print_error ("%s: transaction error (%s)", app->target, reason);
  return EXIT_LOCAL_FAILURE;
}

/* A copy of @node with the members of every object sorted bytewise by
 * name, as Open vSwitch prints JSON (JSSF_SORT), so that output does not
 * depend on the server's member order. */
static JsonNode *
json_node_sorted_copy (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      g_autoptr (JsonObject) sorted = json_object_new ();
      g_autoptr (GList) members = json_object_get_members (object);
      GList *l;

      members = g_list_sort (members, (GCompareFunc) strcmp);
      for (l = members; l != NULL; l = l->next)
        json_object_set_member (
          sorted, l->data,
          json_node_sorted_copy (json_object_get_member (object, l->data)));
      return json_node_init_object (json_node_alloc (), sorted);
    }

  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      guint n = json_array_get_length (array);
      g_autoptr (JsonArray) sorted = json_array_sized_new (n);
      guint i;

      for (i = 0; i < n; i++)
        json_array_add_element (
          sorted, json_node_sorted_copy (json_array_get_element (array, i)));
      return json_node_init_array (json_node_alloc (), sorted);
    }

  return json_node_copy (node);
}

/* @node as JSON text ending in a newline: compact, or indented by four
 * spaces with --pretty. */
static char *
json_to_text (JsonNode *node, gboolean pretty)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) sorted = json_node_sorted_copy (node);
  g_autoptr (GString) text = NULL;

  json_generator_set_root (generator, sorted);
  json_generator_set_pretty (generator, pretty);
  json_generator_set_indent (generator, 4);
  json_generator_set_indent_char (generator, ' ');

  text = json_generator_to_gstring (generator, g_string_new (NULL));
  g_string_append_c (text, '\n');
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Prints a reply body.  A string in text mode goes out exactly as
 * received, without a newline added (ovs-appctl 3.1 uses fputs()); JSON
 * mode, or a non-string body from a generic JSON-RPC server, prints as
 * JSON.  Returns %FALSE for a non-string text-mode body from a unixctl
 * socket, which ovs-appctl 3.1 refuses. */
static gboolean
print_body (Appctl *app, JsonNode *body, Format format, FILE *stream)
{
  g_autofree char *text = NULL;

  if (format == FORMAT_TEXT && JSON_NODE_HOLDS_VALUE (body) &&
      json_node_get_value_type (body) == G_TYPE_STRING)
    {
      fputs (json_node_get_string (body), stream);
      return TRUE;
    }

  if (format == FORMAT_TEXT && app->unixctl_socket)
    return FALSE;

  text = json_to_text (body, app->pretty);
  fputs (text, stream);
  return TRUE;
}

/* Runs one transaction and prints its outcome: the result (if
 * @print_result) on stdout in @format, or an error on stderr.  Returns the
 * exit status, %EXIT_OK if the server gave a result. */
static int
transact (Appctl *app,
          UcClient *client,
          const char *const *command,
          Format format,
          gboolean print_result)
{
  g_autoptr (JsonNode) result_body = NULL;
  g_autoptr (JsonNode) error_body = NULL;
  g_autoptr (GError) error = NULL;

  if (!uc_client_transact (client, command[0], command + 1, app->deadline,
                           &result_body, &error_body, NULL, &error))
    return report_transaction_error (app, error);

  if (error_body != NULL)
    {
      /* Errors print as text in every format, as in ovs-appctl. */
      if (!print_body (app, error_body, FORMAT_TEXT, stderr))
        {
          print_error ("%s: transaction error (%s)", app->target,
                       g_strerror (EINVAL));
          return EXIT_LOCAL_FAILURE;
        }
      print_error ("%s: server returned an error", app->target);
      return EXIT_SERVER_ERROR;
    }

  if (print_result && !print_body (app, result_body, format, stdout))
    {
      print_error ("%s: transaction error (%s)", app->target,
                   g_strerror (EINVAL));
      return EXIT_LOCAL_FAILURE;
    }
  return EXIT_OK;
}

/* Loads the TLS files for an `ssl:` target, which cannot do without;
 * other targets ignore them, as Open vSwitch's programs do. */
static gboolean
set_up_tls (Appctl *app, UcStream *stream, GError **error)
{
  g_autoptr (UcTlsConfig) config = NULL;

  if (g_strcmp0 (uc_stream_get_type_name (stream), "ssl") != 0)
    return TRUE;
  if (app->private_key == NULL || app->certificate == NULL ||
      app->ca_cert == NULL)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_NOT_SUPPORTED,
                   _ ("an ssl: target needs --private-key, --certificate "
                      "and --ca-cert"));
      return FALSE;
    }
  config = uc_tls_config_new_from_files (app->private_key, app->certificate,
                                         app->ca_cert, error);
  if (config == NULL)
    return FALSE;
  uc_stream_set_tls_config (stream, config);
  return TRUE;
}

/* The command over a socket, as ovs-appctl sends it: connect, then one
 * transaction (two with --format json), all waiting in place.  A one-shot
 * client needs neither a main loop nor a thread, and on a unix socket
 * uses none: start-up is most of a run, and each would cost it. */
static int
run_socket (Appctl *app)
{
  g_autoptr (UcStream) stream = NULL;
  g_autoptr (UcClient) client = NULL;
  g_autoptr (GError) error = NULL;
  const char *reason;
  int status;

  stream = uc_stream_new (app->stream_name, app->rundir, &error);
  if (stream != NULL && !set_up_tls (app, stream, &error))
    g_clear_object (&stream);
  if (stream != NULL)
    client = uc_client_connect_stream (stream, app->deadline, NULL, &error);
  if (client == NULL)
    {
      if (is_timeout (app, error))
        return report_timed_out (app);

      reason = errno_text (error);
      if (reason != NULL)
        print_error ("cannot connect to \"%s\" (%s)", app->socket_name, reason);
      else
        print_error ("%s", error->message);
      return EXIT_LOCAL_FAILURE;
    }

  /* The command goes out only once the server has taken the options:
   * sent at once, it would run even if they failed. */
  if (app->format == FORMAT_JSON)
    {
      const char *const options[] = { "set-options", "--format", "json", NULL };

      status = transact (app, client, options, FORMAT_TEXT, FALSE);
      if (status != EXIT_OK)
        return status;
    }
  return transact (app, client, app->command, app->format, TRUE);
}

/* D-Bus (--dbus): asynchronous, since g_bus_get() has no timeout of its
 * own and --timeout must stop it too. */

static void
finish (Appctl *app, int exit_status)
{
  app->exit_status = exit_status;
  g_main_loop_quit (app->loop);
}

static void
on_dbus_reply (GObject *source_object, GAsyncResult *result, gpointer user_data)
{
  Appctl *app = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (GError) error = NULL;
  const char *text;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source_object),
                                         result, &error);
  if (reply == NULL)
    {
      g_autofree char *name = g_dbus_error_get_remote_error (error);

      if (is_timeout (app, error))
        {
          finish (app, report_timed_out (app));
          return;
        }
      g_dbus_error_strip_remote_error (error);

      /* Our errors are the server's answer to the command. */
      if (name != NULL &&
          g_str_has_prefix (name, UC_DBUS_MIRROR_NAME ".Error."))
        {
          /* The socket's error text, less the newline that D-Bus messages
           * do not carry: printed as the socket's would be. */
          if (*error->message != '\0')
            fprintf (stderr, "%s\n", error->message);
          print_error ("%s: server returned an error", app->target);
          finish (app, EXIT_SERVER_ERROR);
          return;
        }

      /* Nobody owns the name: the daemon is not running, as a missing
       * pidfile or socket says on the socket path. */
      if (g_strcmp0 (name, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
          g_strcmp0 (name, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0)
        print_error ("cannot connect to \"%s\" (%s)", app->target,
                     error->message);
      else
        print_error ("%s: transaction error (%s)", app->target, error->message);
      finish (app, EXIT_LOCAL_FAILURE);
      return;
    }

  g_variant_get (reply, "(&s)", &text);
  if (app->format == FORMAT_JSON)
    {
      body = json_from_string (text, NULL);
      if (body == NULL)
        {
          print_error ("%s: transaction error (%s)", app->target,
                       g_strerror (EPROTO));
          finish (app, EXIT_LOCAL_FAILURE);
          return;
        }
    }
  else
    body = json_node_init_string (json_node_alloc (), text);

  print_body (app, body, app->format, stdout);
  finish (app, EXIT_OK);
}

static void
on_bus_connected (GObject *source_object,
                  GAsyncResult *result,
                  gpointer user_data)
{
  Appctl *app = user_data;
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  connection = g_bus_get_finish (result, &error);
  if (connection == NULL)
    {
      if (is_timeout (app, error))
        finish (app, report_timed_out (app));
      else
        {
          print_error (_ ("cannot connect to the %s bus (%s)"),
                       app->bus_type == G_BUS_TYPE_SYSTEM ? "system"
                                                          : "session",
                       error->message);
          finish (app, EXIT_LOCAL_FAILURE);
        }
      return;
    }

  /* No D-Bus timeout: as on the socket, only --timeout limits the wait. */
  g_dbus_connection_call (
    connection, app->target, UC_DBUS_MIRROR_PATH, UC_DBUS_MIRROR_INTERFACE,
    app->format == FORMAT_JSON ? "CallJson" : "Call",
    g_variant_new ("(s^as)", app->command[0], app->command + 1),
    G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, G_MAXINT, app->cancellable,
    on_dbus_reply, app);
}

static gboolean
on_timeout (gpointer user_data)
{
  Appctl *app = user_data;

  app->timeout_id = 0;
  app->timed_out = TRUE;
  g_cancellable_cancel (app->cancellable);
  return G_SOURCE_REMOVE;
}

/* Finds the socket for @app->target as ovs-appctl does: an absolute path
 * is the socket; a name is a daemon whose pidfile RUNDIR/NAME.pid gives
 * the pid in its socket's name, RUNDIR/NAME.PID.ctl.  A name with a colon
 * is a stream name (unix:, tcp:, ssl:), which program names never are. */
static gboolean
resolve_target (Appctl *app)
{
  g_autofree char *pidfile_name = NULL;
  g_autoptr (GError) error = NULL;
  GPid pid;

  app->rundir = uc_daemon_resolve_rundir (NULL);

  if (app->target[0] == '/')
    {
      app->socket_name = g_strdup (app->target);
      app->stream_name = g_strconcat ("unix:", app->target, NULL);
      app->unixctl_socket = TRUE;
      return TRUE;
    }

  if (strchr (app->target, ':') != NULL)
    {
      app->socket_name = g_strdup (app->target);
      app->stream_name = g_strdup (app->target);
      app->unixctl_socket = g_str_has_prefix (app->target, "unix:");
      return TRUE;
    }

  pidfile_name = g_strdup_printf ("%s/%s.pid", app->rundir, app->target);
  if (!uc_pidfile_read (pidfile_name, &pid, &error))
    {
      print_error ("cannot read pidfile \"%s\" (%s)", pidfile_name,
                   error->message);
      return FALSE;
    }

  app->socket_name =
    g_strdup_printf ("%s/%s.%ld.ctl", app->rundir, app->target, (long) pid);
  app->stream_name = g_strconcat ("unix:", app->socket_name, NULL);
  app->unixctl_socket = TRUE;
  return TRUE;
}

static int
run_dbus (Appctl *app)
{
  if (!g_dbus_is_name (app->target))
    {
      print_error (_ ("“%s” is not a D-Bus name"), app->target);
      return EXIT_LOCAL_FAILURE;
    }

  app->loop = g_main_loop_new (NULL, FALSE);
  app->cancellable = g_cancellable_new ();
  /* Not g_timeout_add_seconds(), which may fire up to a second early: it
   * is only for the values too large for milliseconds. */
  if (app->timeout_s > 0 && app->timeout_s <= G_MAXUINT / 1000)
    app->timeout_id = g_timeout_add (app->timeout_s * 1000, on_timeout, app);
  else if (app->timeout_s > 0)
    app->timeout_id = g_timeout_add_seconds (app->timeout_s, on_timeout, app);

  g_bus_get (app->bus_type, app->cancellable, on_bus_connected, app);
  g_main_loop_run (app->loop);
  return app->exit_status;
}

static int
run (Appctl *app)
{
  /* The time starts now, as ovs-appctl's alarm() does: reading the
   * pidfile and connecting count too. */
  app->deadline = -1;
  if (app->timeout_s > 0)
    app->deadline =
      g_get_monotonic_time () + (gint64) app->timeout_s * G_USEC_PER_SEC;

  if (app->bus_type != G_BUS_TYPE_NONE)
    return run_dbus (app);
  if (!resolve_target (app))
    return EXIT_LOCAL_FAILURE;
  return run_socket (app);
}

/* Shows the library's log messages only with --verbose, as ovs-appctl
 * logs to the console only with -v: failures reach the user as the
 * one-line messages above.  Programming errors always show. */
static GLogWriterOutput
log_writer (GLogLevelFlags log_level,
            const GLogField *fields,
            gsize n_fields,
            gpointer user_data)
{
  const gboolean *verbose = user_data;

  if (*verbose)
    return g_log_writer_standard_streams (log_level, fields, n_fields, NULL);
  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return g_log_writer_default (log_level, fields, n_fields, NULL);
  return G_LOG_WRITER_HANDLED;
}

static void
usage (void)
{
  const char *name = g_get_prgname ();

  printf (
    _ ("%s, for querying and controlling unixctld and Open vSwitch "
       "daemons\n"
       "usage: %s [TARGET] COMMAND [ARG...]\n"
       "Targets:\n"
       "  -t, --target=TARGET  pidfile or socket to contact "
       "(default: %s):\n"
       "      NAME             the daemon whose pidfile is RUNDIR/NAME.pid\n"
       "      /PATH            the control socket at PATH\n"
       "      unix:FILE        a control socket; FILE is relative to "
       "RUNDIR\n"
       "      tcp:HOST:PORT    a JSON-RPC server over TCP\n"
       "      ssl:HOST:PORT    a JSON-RPC server over SSL/TLS\n"
       "    RUNDIR is $OVS_RUNDIR, else $XDG_RUNTIME_DIR/%s, else %s\n"
       "Common commands:\n"
       "  list-commands      List commands supported by the target\n"
       "  version            Print version of the target\n"
       "  vlog/list          List current logging levels\n"
       "  vlog/list-pattern  List logging patterns for each "
       "destination.\n"
       "  vlog/set [SPEC]\n"
       "      Set log levels as detailed in SPEC, which may include:\n"
       "      A valid module name (all modules, by default)\n"
       "      'syslog', 'console', 'file' (all destinations, by "
       "default)\n"
       "      'off', 'emer', 'err', 'warn', 'info', or 'dbg' ('dbg', by "
       "default)\n"
       "  vlog/reopen        Make the program reopen its log file\n"
       "Other options:\n"
       "  -T, --timeout=SECS wait at most SECS seconds for a response\n"
       "      --dbus[=BUS]   call TARGET over D-Bus instead, on the session "
       "bus\n"
       "                     or with BUS=system; TARGET is then a bus name\n"
       "                     (default: %s)\n"
       "  -p, --private-key=FILE\n"
       "  -c, --certificate=FILE\n"
       "  -C, --ca-cert=FILE with an ssl: target, this side's private key "
       "and\n"
       "                     certificate, and the CA certificate the "
       "server's\n"
       "                     must be signed by (PEM files)\n"
       "  -f, --format=FMT   Output format. One of: 'json', or 'text'\n"
       "                     (default: text)\n"
       "      --pretty       With --format json, indent the output\n"
       "  -e, --execute      Ignored, for compatibility\n"
       "  -v, --verbose      Show the log messages of the connection\n"
       "  -o, --option       List the options\n"
       "  -h, --help         Print this helpful information\n"
       "  -V, --version      Display version information\n"
       "Exit status:\n"
       "  0  the command succeeded; its output is on stdout\n"
       "  1  a local failure: bad usage, no pidfile, cannot connect,\n"
       "     or the connection failed before the reply\n"
       "  2  the server returned an error, which is on stderr\n"
       "  3  no reply within the --timeout\n"),
    name, name, DEFAULT_TARGET, PACKAGE_NAME, UC_DEFAULT_RUNDIR,
    UC_DBUS_MIRROR_NAME);
}

/* Prints the options as Open vSwitch's ovs_cmdl_print_options() does. */
static void
print_options (const struct option *options)
{
  const struct option *o;

  for (o = options; o->name != NULL; o++)
    {
      const char *arg = o->has_arg == required_argument   ? "ARG"
                        : o->has_arg == optional_argument ? "[ARG]"
                                                          : NULL;

      if (arg != NULL)
        printf ("--%s=%s\n", o->name, arg);
      else
        printf ("--%s\n", o->name);
      if (o->flag == NULL && o->val > 0 && o->val <= UCHAR_MAX)
        printf ("-%c %s\n", o->val, arg != NULL ? arg : "");
    }
}

/* Parses SECS as Open vSwitch's str_to_uint() does: a whole decimal
 * number, optionally signed, within unsigned int, and not zero. */
static gboolean
parse_timeout (const char *text, guint *timeout_s)
{
  long long value;
  char *tail;

  errno = 0;
  value = strtoll (text, &tail, 10);
  if (errno != 0 || tail == text || *tail != '\0' || value <= 0 ||
      value > UINT_MAX)
    return FALSE;

  *timeout_s = (guint) value;
  return TRUE;
}

/* Parses the command line as ovs-appctl does, to the same getopt
 * messages.  Returns -1 to go on, else the exit status. */
static int
parse_command_line (Appctl *app, int argc, char **argv)
{
  enum
  {
    OPT_PRETTY = UCHAR_MAX + 1,
    OPT_DBUS,
  };
  /* The TLS options take ovs-vsctl's and ovsdb-client's letters. */
  static const struct option long_options[] = {
    { "target", required_argument, NULL, 't' },
    { "execute", no_argument, NULL, 'e' },
    { "format", required_argument, NULL, 'f' },
    { "pretty", no_argument, NULL, OPT_PRETTY },
    { "help", no_argument, NULL, 'h' },
    { "option", no_argument, NULL, 'o' },
    { "version", no_argument, NULL, 'V' },
    { "timeout", required_argument, NULL, 'T' },
    { "verbose", no_argument, NULL, 'v' },
    { "dbus", optional_argument, NULL, OPT_DBUS },
    { "private-key", required_argument, NULL, 'p' },
    { "certificate", required_argument, NULL, 'c' },
    { "ca-cert", required_argument, NULL, 'C' },
    { NULL, 0, NULL, 0 },
  };
  /* "+": options end at the first non-option, which is the command. */
  static const char short_options[] = "+t:ef:hoVT:vp:c:C:";
  int n_execute = 0;
  int option;

  while ((option =
            getopt_long (argc, argv, short_options, long_options, NULL)) != -1)
    {
      switch (option)
        {
          case 't':
            if (app->target != NULL)
              {
                print_error ("-t or --target may be specified only once");
                return EXIT_LOCAL_FAILURE;
              }
            app->target = optarg;
            break;

          case 'e':
            /* Older ovs-appctl took the command as -e's argument; it is
             * now the first non-option, so -e is ignored (the typo in the
             * message is ovs-appctl's). */
            if (n_execute++ > 0)
              {
                print_error ("-e or --execute may be speciifed only once");
                return EXIT_LOCAL_FAILURE;
              }
            break;

          case 'f':
            if (g_ascii_strcasecmp (optarg, "text") == 0)
              app->format = FORMAT_TEXT;
            else if (g_ascii_strcasecmp (optarg, "json") == 0)
              app->format = FORMAT_JSON;
            else
              {
                print_error ("value %s on -f or --format is invalid", optarg);
                return EXIT_LOCAL_FAILURE;
              }
            break;

          case OPT_PRETTY:
            app->pretty = TRUE;
            break;

          case OPT_DBUS:
            if (optarg == NULL || strcmp (optarg, "session") == 0)
              app->bus_type = G_BUS_TYPE_SESSION;
            else if (strcmp (optarg, "system") == 0)
              app->bus_type = G_BUS_TYPE_SYSTEM;
            else
              {
                print_error (_ ("value %s on --dbus is invalid"), optarg);
                return EXIT_LOCAL_FAILURE;
              }
            break;

          case 'p':
            app->private_key = optarg;
            break;

          case 'c':
            app->certificate = optarg;
            break;

          case 'C':
            app->ca_cert = optarg;
            break;

          case 'h':
            usage ();
            return EXIT_OK;

          case 'o':
            print_options (long_options);
            return EXIT_OK;

          case 'V':
            printf ("%s (%s) %s\n", g_get_prgname (), PACKAGE_NAME,
                    PACKAGE_VERSION);
            return EXIT_OK;

          case 'T':
            if (!parse_timeout (optarg, &app->timeout_s))
              {
                print_error ("value %s on -T or --timeout is invalid", optarg);
                return EXIT_LOCAL_FAILURE;
              }
            break;

          case 'v':
            app->verbose = TRUE;
            break;

          case '?':
            /* getopt has printed why. */
            return EXIT_LOCAL_FAILURE;

          default:
            g_assert_not_reached ();
        }
    }

  if (app->pretty && app->format != FORMAT_JSON)
    {
      print_error ("--pretty is only valid with --format json");
      return EXIT_LOCAL_FAILURE;
    }

  if (optind >= argc)
    {
      print_error ("at least one non-option argument is required "
                   "(use --help for help)");
      return EXIT_LOCAL_FAILURE;
    }

  if (app->target == NULL)
    app->target =
      app->bus_type != G_BUS_TYPE_NONE ? UC_DBUS_MIRROR_NAME : DEFAULT_TARGET;
  app->command = (const char *const *) argv + optind;
  return -1;
}

int
main (int argc, char **argv)
{
  g_auto (Appctl) app = { NULL };
  g_autofree char *program_name = NULL;
  int status;

  /* Only the categories a one-shot client uses: its messages and the
   * character set of the terminal.  Each further category costs a locale
   * file to map on every run, and start-up time is most of a run. */
  setlocale (LC_CTYPE, "");
  setlocale (LC_MESSAGES, "");
  uc_i18n_init ();

  /* getopt prints argv[0] in its messages: make it the same name as ours
   * ("unixctl", not a path). */
  program_name = g_path_get_basename (argc > 0 ? argv[0] : "unixctl");
  g_set_prgname (program_name);
  if (argc > 0)
    argv[0] = program_name;

  g_log_set_writer_func (log_writer, &app.verbose, NULL);

  status = parse_command_line (&app, argc, argv);
  if (status >= 0)
    return status;

  return run (&app);
}
