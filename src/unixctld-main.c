/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "unixctld"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uc-daemon.h"
#include "uc-i18n.h"
#include "uc-json-framer.h"
#include "uc-jsonrpc.h"
#include "uc-pstream.h"
#include "uc-server.h"
#include "uc-tls.h"
#include "uc-vlog.h"
#include "uc-worker-commands.h"
#include "uc-worker.h"

/* Deepest nesting --max-depth accepts.  json-glib's parser recurses once
 * per level, so the depth limit is also what keeps its stack bounded; a
 * few thousand levels stay far below the main thread's stack. */
#define MAX_DEPTH_LIMIT 4096

typedef struct
{
  char *rundir;  /* (owned) (nullable) */
  char *unixctl; /* (owned) (nullable) */
  char *pidfile; /* (owned) (nullable) */
  gboolean overwrite_pidfile;
  gboolean detach;
  gboolean no_chdir;
  char **remotes;    /* (owned) (nullable) */
  char *private_key; /* (owned) (nullable) */
  char *certificate; /* (owned) (nullable) */
  char *ca_cert;     /* (owned) (nullable) */
  guint64 remote_max_connections;
  guint64 remote_idle_timeout;
  guint64 max_message_size;
  guint64 max_depth;
  guint64 max_backlog;
  gboolean no_worker;
  char *dbus; /* (owned) (nullable): %NULL chooses */
  gboolean replace;
  gboolean version;

  UcVlog *vlog;        /* (unowned) what -v configures */
  gboolean log_file;   /* --log-file was given */
  char *log_file_name; /* (owned) (nullable): its value, %NULL for the
                        * default */
} Options;

static void
options_clear (Options *options)
{
  g_clear_pointer (&options->rundir, g_free);
  g_clear_pointer (&options->unixctl, g_free);
  g_clear_pointer (&options->pidfile, g_free);
  g_clear_pointer (&options->remotes, g_strfreev);
  g_clear_pointer (&options->private_key, g_free);
  g_clear_pointer (&options->certificate, g_free);
  g_clear_pointer (&options->ca_cert, g_free);
  g_clear_pointer (&options->dbus, g_free);
  g_clear_pointer (&options->log_file_name, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

/* The numeric options, parsed by one callback. */
static const struct
{
  const char *name;
  gsize offset;
  guint64 min;
  guint64 max;
} numeric_options[] = {
  { "--remote-max-connections",
    G_STRUCT_OFFSET (Options, remote_max_connections), 1, G_MAXUINT },
  { "--remote-idle-timeout", G_STRUCT_OFFSET (Options, remote_idle_timeout), 0,
    G_MAXUINT },
  { "--max-message-size", G_STRUCT_OFFSET (Options, max_message_size), 1,
    G_MAXSSIZE },
  { "--max-depth", G_STRUCT_OFFSET (Options, max_depth), 1, MAX_DEPTH_LIMIT },
  { "--max-backlog", G_STRUCT_OFFSET (Options, max_backlog), 1, G_MAXSSIZE },
};

static gboolean
parse_number (const char *option_name,
              const char *value,
              gpointer data,
              GError **error)
{
  Options *options = data;

  for (gsize i = 0; i < G_N_ELEMENTS (numeric_options); i++)
    {
      g_autoptr (GError) local_error = NULL;
      guint64 number;

      if (g_strcmp0 (option_name, numeric_options[i].name) != 0)
        continue;

      if (!g_ascii_string_to_unsigned (value, 10, numeric_options[i].min,
                                       numeric_options[i].max, &number,
                                       &local_error))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _ ("invalid value “%s” for %s: %s"), value, option_name,
                       local_error->message);
          return FALSE;
        }
      *(guint64 *) G_STRUCT_MEMBER_P (options, numeric_options[i].offset) =
        number;
      return TRUE;
    }

  g_assert_not_reached ();
}

/* The file name of --pidfile and --log-file may be left out, for the
 * default, but not given empty. */
static gboolean
check_optional_file_name (const char *option_name,
                          const char *value,
                          GError **error)
{
  if (value != NULL && *value == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("%s needs a file name"), option_name);
      return FALSE;
    }
  return TRUE;
}

/* --pidfile takes an optional value: alone it keeps the default name. */
static gboolean
parse_pidfile (const char *option_name,
               const char *value,
               gpointer data,
               GError **error)
{
  Options *options = data;

  if (!check_optional_file_name (option_name, value, error))
    return FALSE;
  g_free (options->pidfile);
  options->pidfile = g_strdup (value);
  return TRUE;
}

/* The options that configure logging at once, in the order given, so
 * that messages logged during start-up follow them: -v and
 * --verbose[=SPEC], repeatable, applied as Open vSwitch applies them
 * (alone, everything to "dbg"), --syslog-method=METHOD and
 * --syslog-target=HOST:PORT. */
static gboolean
parse_vlog_option (const char *option_name,
                   const char *value,
                   gpointer data,
                   GError **error)
{
  Options *options = data;
  g_autoptr (GError) local_error = NULL;
  gboolean ok;

  if (strcmp (option_name, "--syslog-method") == 0)
    ok = uc_vlog_set_syslog_method (options->vlog, value, &local_error);
  else if (strcmp (option_name, "--syslog-target") == 0)
    ok = uc_vlog_set_syslog_target (options->vlog, value, &local_error);
  else
    ok = uc_vlog_set_verbosity (options->vlog, value, &local_error);
  if (!ok)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* --log-file[=FILE]: alone, the default name. */
static gboolean
parse_log_file (const char *option_name,
                const char *value,
                gpointer data,
                GError **error)
{
  Options *options = data;

  if (!check_optional_file_name (option_name, value, error))
    return FALSE;
  options->log_file = TRUE;
  g_free (options->log_file_name);
  /* From the current directory, which a detached daemon leaves before it
   * opens the file. */
  options->log_file_name =
    value != NULL ? g_canonicalize_filename (value, NULL) : NULL;
  return TRUE;
}

/* GOption takes no value glued to a short option with an optional value,
 * as in Open vSwitch's "-vconsole:dbg": make each such "-vSPEC" a
 * "--verbose=SPEC".  Options end at "--". */
static char **
expand_verbose (int argc, char **argv)
{
  GPtrArray *args = g_ptr_array_new_full (argc + 1, g_free);
  gboolean options_ended = FALSE;

  for (int i = 0; i < argc; i++)
    {
      if (i > 0 && !options_ended && g_str_has_prefix (argv[i], "-v") &&
          argv[i][2] != '\0')
        g_ptr_array_add (args, g_strconcat ("--verbose=", argv[i] + 2, NULL));
      else
        g_ptr_array_add (args, g_strdup (argv[i]));
      if (strcmp (argv[i], "--") == 0)
        options_ended = TRUE;
    }
  g_ptr_array_add (args, NULL);
  return (char **) g_ptr_array_free (args, FALSE);
}

static gboolean
parse_options (Options *options, char ***args, GError **error)
{
  g_autofree char *remote_max_connections_help = NULL;
  g_autofree char *remote_idle_timeout_help = NULL;
  g_autofree char *max_message_size_help = NULL;
  g_autofree char *max_depth_help = NULL;
  g_autofree char *max_backlog_help = NULL;
  g_autofree char *description = NULL;
  g_autoptr (GOptionContext) context = NULL;
  GOptionGroup *group;

  /* The defaults are the constants the modules use, so that --help never
   * disagrees with the code. */
  remote_max_connections_help =
    g_strdup_printf (_ ("Connections each remote serves at once (default %u)"),
                     (guint) UC_SERVER_DEFAULT_REMOTE_MAX_CONNECTIONS);
  remote_idle_timeout_help = g_strdup_printf (
    _ ("Close remote connections idle this long, 0 never (default %u)"),
    (guint) UC_SERVER_DEFAULT_REMOTE_IDLE_TIMEOUT);
  max_message_size_help =
    g_strdup_printf (_ ("Largest JSON-RPC message accepted (default %lu)"),
                     (unsigned long) UC_JSON_DEFAULT_MAX_MESSAGE_SIZE);
  max_depth_help = g_strdup_printf (
    _ ("Deepest JSON nesting accepted, at most %u (default %u)"),
    (guint) MAX_DEPTH_LIMIT, (guint) UC_JSON_DEFAULT_MAX_DEPTH);
  max_backlog_help = g_strdup_printf (
    _ ("Bytes queued for a client that does not read (default %lu)"),
    (unsigned long) UC_JSONRPC_DEFAULT_MAX_BACKLOG);

  {
    const GOptionEntry entries[] = {
      { "rundir", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME,
        &options->rundir, N_ ("Directory of the pidfile and control socket"),
        N_ ("DIR") },
      { "unixctl", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME,
        &options->unixctl,
        N_ ("Control socket (default RUNDIR/unixctld.PID.ctl), or “none”"),
        N_ ("SOCKET") },
      { "pidfile", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
        (gpointer) parse_pidfile, N_ ("Pidfile (default RUNDIR/unixctld.pid)"),
        N_ ("FILE") },
      { "overwrite-pidfile", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE,
        &options->overwrite_pidfile,
        N_ ("Replace the pidfile even if another daemon holds it"), NULL },
      { "detach", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &options->detach,
        N_ ("Run in the background once ready"), NULL },
      { "no-chdir", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE,
        &options->no_chdir, N_ ("With --detach, do not change to “/”"), NULL },
      { "remote", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_STRING_ARRAY,
        &options->remotes,
        N_ ("Also serve commands on punix:FILE, ptcp:[PORT][:IP] or "
            "pssl:[PORT][:IP] (repeatable)"),
        N_ ("PSTREAM") },
      { "private-key", 'p', G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME,
        &options->private_key, N_ ("Private key for pssl: remotes (PEM)"),
        N_ ("FILE") },
      { "certificate", 'c', G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME,
        &options->certificate,
        N_ ("Certificate for pssl: remotes, signed by a CA clients trust "
            "(PEM)"),
        N_ ("FILE") },
      { "ca-cert", 'C', G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME,
        &options->ca_cert,
        N_ ("CA certificate that pssl: clients' certificates must be signed "
            "by (PEM)"),
        N_ ("FILE") },
      { "remote-max-connections", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_CALLBACK,
        (gpointer) parse_number, remote_max_connections_help, N_ ("N") },
      { "remote-idle-timeout", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_CALLBACK,
        (gpointer) parse_number, remote_idle_timeout_help, N_ ("SECS") },
      { "max-message-size", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_CALLBACK,
        (gpointer) parse_number, max_message_size_help, N_ ("BYTES") },
      { "max-depth", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_CALLBACK,
        (gpointer) parse_number, max_depth_help, N_ ("N") },
      { "max-backlog", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_CALLBACK,
        (gpointer) parse_number, max_backlog_help, N_ ("BYTES") },
      { "no-worker", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE,
        &options->no_worker,
        N_ ("Run without the worker process (no worker/* and "
            "system-stats/* commands)"),
        NULL },
      { "dbus", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_STRING, &options->dbus,
        N_ ("Mirror the commands on D-Bus as io.github.unixctld: session, "
            "system or none (default: session, if there is one)"),
        N_ ("BUS") },
      { "verbose", 'v', G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
        (gpointer) parse_vlog_option,
        N_ ("Set log levels, as vlog/set does (MODULE:DESTINATION:LEVEL); "
            "alone, everything to dbg (repeatable)"),
        N_ ("SPEC") },
      { "log-file", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
        (gpointer) parse_log_file,
        N_ ("Log to FILE (default: LOGDIR/unixctld.log)"), N_ ("FILE") },
      { "syslog-method", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_CALLBACK,
        (gpointer) parse_vlog_option,
        N_ ("How to send to syslog: libc (syslog(3)), unix:FILE or "
            "udp:HOST:PORT (default: the journal if there is one, else "
            "libc)"),
        N_ ("METHOD") },
      { "syslog-target", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_CALLBACK,
        (gpointer) parse_vlog_option,
        N_ ("Also send what goes to syslog to HOST:PORT over UDP, in "
            "RFC 5424 form"),
        N_ ("HOST:PORT") },
      { "replace", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, &options->replace,
        N_ ("Take the D-Bus name from the instance that owns it, which "
            "then exits (with its pidfile: add --overwrite-pidfile)"),
        NULL },
      { "version", 'V', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE,
        &options->version, N_ ("Print the version and exit"), NULL },
      G_OPTION_ENTRY_NULL
    };

    context = g_option_context_new (NULL);
    group = g_option_group_new (NULL, NULL, NULL, options, NULL);
    g_option_group_add_entries (group, entries);
    /* The group's domain translates the entries' N_() texts; the
     * context's only its own (summary, description). */
    g_option_group_set_translation_domain (group, GETTEXT_PACKAGE);
    g_option_context_set_main_group (context, group);
    g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  }

  g_option_context_set_summary (
    context, _ ("Serves the Open vSwitch unixctl control protocol (JSON-RPC) "
                "on a Unix socket,\nfor ovs-appctl, unixctl and "
                "python-ovs clients."));
  description = g_strdup_printf (
    _ ("The run directory is --rundir, else $OVS_RUNDIR, else "
       "$XDG_RUNTIME_DIR/unixctld,\nelse %s.  It is created (mode 0700) "
       "if missing.\n\n"
       "Blocking work runs in a worker process, unixctld-worker, found in "
       "$UNIXCTLD_WORKER,\nelse beside this program, else in %s; it is "
       "restarted if it dies.\n\n"
       "The D-Bus mirror serves the same commands as io.github.unixctld; "
       "without --dbus\nit goes on the session bus if one is running "
       "($DBUS_SESSION_BUS_ADDRESS or\n$XDG_RUNTIME_DIR/bus).  An instance "
       "whose name is taken with --replace exits.\n"
       "Under systemd, READY=1 and STOPPING=1 go to $NOTIFY_SOCKET.\n\n"
       "Logging is Open vSwitch's: -v and the vlog/set command take its "
       "specs, and the\nlog file (written by the worker) is --log-file, by "
       "default in LOGDIR:\n$OVS_LOGDIR, else $XDG_STATE_HOME/unixctld.  "
       "Rotate it by renaming it, then\nrunning “unixctl vlog/reopen”.\n\n"
       "SIGTERM, SIGINT and the “exit” command stop the daemon: it answers "
       "the\nrequests in flight, then removes its sockets and its pidfile.\n\n"
       "Exit status: 0 on a clean stop, 1 if start-up failed."),
    UC_DEFAULT_RUNDIR, LIBEXECDIR);
  g_option_context_set_description (context, description);

  return g_option_context_parse_strv (context, args, error);
}

/* Whether a session bus is there to connect to: named in the environment,
 * or at the standard place in the XDG runtime directory, where GDBus looks
 * next.  Without either GDBus would try to autolaunch one, which is no
 * business of a daemon's. */
static gboolean
session_bus_available (void)
{
  const char *address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  const char *runtime_dir = g_getenv ("XDG_RUNTIME_DIR");
  g_autofree char *path = NULL;

  if (address != NULL && *address != '\0')
    return TRUE;
  if (runtime_dir == NULL || *runtime_dir == '\0')
    return FALSE;
  path = g_build_filename (runtime_dir, "bus", NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* --dbus and --replace as the daemon takes them.  Without --dbus, the
 * session bus if there is one, and not reaching it is no failure: the
 * control socket is the daemon's first duty; unless --replace asks to
 * take over a name, which needs the bus. */
static gboolean
resolve_dbus (const Options *options,
              GBusType *bus_type,
              UcDaemonDbusFlags *flags,
              GError **error)
{
  *flags =
    options->replace ? UC_DAEMON_DBUS_FLAGS_REPLACE : UC_DAEMON_DBUS_FLAGS_NONE;

  if (options->dbus == NULL && options->replace)
    {
      *bus_type = G_BUS_TYPE_SESSION;
      return TRUE;
    }
  if (options->dbus == NULL)
    {
      *bus_type = G_BUS_TYPE_NONE;
      if (HAVE_DBUS_MIRROR && session_bus_available ())
        {
          *bus_type = G_BUS_TYPE_SESSION;
          *flags |= UC_DAEMON_DBUS_FLAGS_OPTIONAL;
        }
      else if (HAVE_DBUS_MIRROR)
        g_info ("no session bus: running without the D-Bus mirror");
      return TRUE;
    }

  if (strcmp (options->dbus, "session") == 0)
    *bus_type = G_BUS_TYPE_SESSION;
  else if (strcmp (options->dbus, "system") == 0)
    *bus_type = G_BUS_TYPE_SYSTEM;
  else if (strcmp (options->dbus, "none") == 0)
    *bus_type = G_BUS_TYPE_NONE;
  else
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("invalid value “%s” for --dbus: use session, system or "
                      "none"),
                   options->dbus);
      return FALSE;
    }

  if (*bus_type == G_BUS_TYPE_NONE && options->replace)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _ ("--replace needs a bus: --dbus=session or "
                              "--dbus=system"));
      return FALSE;
    }
  return TRUE;
}

/* A pssl: remote cannot do without the three TLS files: a usage error,
 * found before start-up. */
static gboolean
check_tls_options (Options *options, GPtrArray *remotes, GError **error)
{
  if (options->private_key != NULL && options->certificate != NULL &&
      options->ca_cert != NULL)
    return TRUE;

  for (guint i = 0; i < remotes->len; i++)
    {
      UcPstream *pstream = g_ptr_array_index (remotes, i);

      if (g_strcmp0 (uc_pstream_get_type_name (pstream), "pssl") == 0)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _ ("--remote=%s needs --private-key, --certificate "
                          "and --ca-cert"),
                       uc_pstream_get_name (pstream));
          return FALSE;
        }
    }
  return TRUE;
}

/* Loads the TLS files, if given, and hands them to the remotes.  After
 * uc_daemon_start(): loading checks the key with a handshake, whose
 * threads would not survive --detach's fork. */
static gboolean
load_tls (Options *options, GPtrArray *remotes, GError **error)
{
  g_autoptr (UcTlsConfig) config = NULL;
  guint handshake_timeout_ms = 0;

  if (options->private_key == NULL || options->certificate == NULL ||
      options->ca_cert == NULL)
    return TRUE;

  config = uc_tls_config_new_from_files (
    options->private_key, options->certificate, options->ca_cert, error);
  if (config == NULL)
    return FALSE;

  /* A handshake is a remote connection too: it may not idle longer than
   * an established one. */
  if (options->remote_idle_timeout > 0 &&
      options->remote_idle_timeout * 1000 < UC_TLS_HANDSHAKE_TIMEOUT_MS)
    handshake_timeout_ms = (guint) options->remote_idle_timeout * 1000;
  for (guint i = 0; i < remotes->len; i++)
    {
      UcPstream *pstream = g_ptr_array_index (remotes, i);

      uc_pstream_set_tls_config (pstream, config);
      uc_pstream_set_handshake_timeout (pstream, handshake_timeout_ms);
    }
  return TRUE;
}

static int
usage_error (const char *message)
{
  g_printerr (_ ("%s: %s (use --help for help)\n"), g_get_prgname (), message);
  return EXIT_FAILURE;
}

/* Everything but the logging configuration, which main() installs first
 * and uninstalls last, whatever happens in between, so that its log file
 * is written out at the end. */
static int
run (UcVlog *vlog, int argc, char **argv)
{
  g_auto (Options) options = {
    .remote_max_connections = UC_SERVER_DEFAULT_REMOTE_MAX_CONNECTIONS,
    .remote_idle_timeout = UC_SERVER_DEFAULT_REMOTE_IDLE_TIMEOUT,
    .max_message_size = UC_JSON_DEFAULT_MAX_MESSAGE_SIZE,
    .max_depth = UC_JSON_DEFAULT_MAX_DEPTH,
    .max_backlog = UC_JSONRPC_DEFAULT_MAX_BACKLOG,
    .vlog = vlog,
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) remotes = NULL;
  g_autoptr (UcDaemon) daemon = NULL;
  g_autofree char *rundir = NULL;
  g_auto (GStrv) args = expand_verbose (argc, argv);
  UcDaemonDbusFlags dbus_flags;
  GBusType bus_type;
  UcServer *server;

  if (!parse_options (&options, &args, &error))
    return usage_error (error->message);

  if (options.version)
    {
      g_print ("%s (%s) %s\n", PACKAGE_NAME, PACKAGE_NAME, PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (args[1] != NULL)
    {
      g_autofree char *message =
        g_strdup_printf (_ ("unexpected argument “%s”"), args[1]);

      return usage_error (message);
    }
  if (options.unixctl != NULL && *options.unixctl == '\0')
    return usage_error (_ ("--unixctl needs a socket name or “none”"));
  if (!resolve_dbus (&options, &bus_type, &dbus_flags, &error))
    return usage_error (error->message);

  rundir = uc_daemon_resolve_rundir (options.rundir);

  /* Check every remote's name now, so that a typo is a usage error and not
   * a start-up failure. */
  remotes = g_ptr_array_new_with_free_func (g_object_unref);
  for (char **r = options.remotes; r != NULL && *r != NULL; r++)
    {
      UcPstream *pstream = uc_pstream_new (*r, rundir, &error);

      if (pstream == NULL)
        return usage_error (error->message);
      g_ptr_array_add (remotes, pstream);
    }

  if (!check_tls_options (&options, remotes, &error))
    return usage_error (error->message);

  if (!uc_daemon_ensure_rundir (rundir, &error))
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return EXIT_FAILURE;
    }

  daemon = uc_daemon_new (PACKAGE_NAME, PACKAGE_VERSION, rundir);
  uc_daemon_set_pidfile (daemon, options.pidfile, options.overwrite_pidfile);
  uc_daemon_set_unixctl (daemon, options.unixctl);
  for (guint i = 0; i < remotes->len; i++)
    uc_daemon_add_remote (daemon, g_ptr_array_index (remotes, i));
  uc_daemon_set_detach (daemon, options.detach, !options.no_chdir);
  uc_daemon_set_dbus (daemon, bus_type, dbus_flags);
  uc_daemon_set_vlog (daemon, vlog);

  if (!uc_daemon_start (daemon, &error) ||
      !load_tls (&options, remotes, &error))
    goto failed;

  /* Once the pidfile is ours: a second daemon that is refused must not
   * write to the first one's log.  Failing to open it is no reason not to
   * serve, as in Open vSwitch: it is logged, and vlog/reopen tries
   * again. */
  if (options.log_file)
    uc_vlog_set_log_file (vlog, options.log_file_name, NULL);

  server = uc_daemon_get_server (daemon);
  uc_server_set_remote_limits (server, (guint) options.remote_max_connections,
                               (guint) options.remote_idle_timeout);
  uc_server_set_max_message_size (server, (gsize) options.max_message_size);
  uc_server_set_max_depth (server, (guint) options.max_depth);
  uc_server_set_max_backlog (server, (gsize) options.max_backlog);

  if (!options.no_worker)
    {
      g_autoptr (UcWorker) worker = uc_worker_new (NULL);
      const char *const stats_paths[] = { rundir, NULL };

      uc_worker_commands_register (server, worker, stats_paths);
      uc_daemon_set_worker (daemon, worker);
    }

  if (!uc_daemon_listen (daemon, &error))
    goto failed;

  return uc_daemon_run (daemon);

failed:
  uc_daemon_report_error (daemon, error);
  return EXIT_FAILURE;
}

int
main (int argc, char **argv)
{
  g_autoptr (UcVlog) vlog = NULL;
  int status;

  setlocale (LC_ALL, "");
  uc_i18n_init ();

  g_set_prgname (PACKAGE_NAME);
  /* For GLib's fallback writer, which writes messages logged while a
   * message is being written: logs are not output. */
  g_log_writer_default_set_use_stderr (TRUE);

  vlog = uc_vlog_new (PACKAGE_NAME);
  uc_vlog_install (vlog);
  status = run (vlog, argc, argv);
  /* Its last reference: the log file's last lines are written now. */
  uc_vlog_uninstall (vlog);
  return status;
}
