/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "daemon"

#include "config.h"

#include "uc-daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>

#include "uc-coverage.h"
#include "uc-dbus-mirror.h"
#include "uc-error.h"
#include "uc-fd.h"
#include "uc-memory.h"
#include "uc-pidfile.h"

/*
 * The running daemon: what `unixctld` is between parsing its options and
 * exiting.  Start-up runs in three steps so that the program can configure
 * the server between them:
 *
 *   uc_daemon_start():  detach (fork; the parent waits on a pipe), raise
 *                       the descriptor limit, take the pidfile, create the
 *                       server with the standard commands (vlog,
 *                       coverage and memory);
 *   uc_daemon_listen(): open the control socket and the remotes, start
 *                       the worker and give it the log file, put the D-Bus
 *                       mirror on its bus, then tell the waiting parent and
 *                       the service manager (READY=1) that start-up is
 *                       complete;
 *   uc_daemon_run():    run the main loop until SIGTERM, SIGINT, the
 *                       `exit` command or a takeover of the bus name has
 *                       shut the server and the mirror down, then the
 *                       worker.
 *
 * The detach pipe carries one message from the child to the parent: a
 * single NUL byte when the daemon is ready, or the text of the error that
 * stopped it.  End of file with neither means the child died; the parent
 * then reports how.
 */

struct _UcDaemon
{
  GObject parent_instance;

  char *program_name; /* (owned) */
  char *version;      /* (owned) */
  char *rundir;       /* (owned) absolute */
  char *pidfile_path; /* (owned) absolute */
  gboolean overwrite_pidfile;
  char *unixctl_option; /* (owned) (nullable): %NULL is the default name */
  GPtrArray *remotes;   /* (owned) (element-type UcPstream) */
  gboolean detach;
  gboolean chdir_root;

  int ready_fd;       /* (owned) write end of the detach pipe, or -1 */
  UcPidfile *pidfile; /* (owned) (nullable) */
  UcServer *server;   /* (owned) (nullable): created by start */
  UcPstream *control; /* (owned) (nullable): the control socket */
  UcWorker *worker;   /* (owned) (nullable) */
  UcVlog *vlog;       /* (owned) (nullable) */
  GMainLoop *loop;    /* (owned) */
  guint housekeeping; /* coverage and memory runs */
  guint sigterm_id;
  guint sigint_id;
  gulong exit_requested_id;

  GBusType bus_type; /* %G_BUS_TYPE_NONE: no D-Bus mirror */
  UcDaemonDbusFlags dbus_flags;
  UcDbusMirror *mirror; /* (owned) (nullable): created by listen */
  gulong name_lost_id;
  guint n_stopping; /* transports (server, mirror) still shutting down */

  gboolean started;
  gboolean listening;
  gboolean quitting;
};

G_DEFINE_FINAL_TYPE (UcDaemon, uc_daemon, G_TYPE_OBJECT)

/* The byte the detached child sends when it is ready. */
static const char ready_byte = '\0';

/**
 * uc_daemon_resolve_rundir:
 * @option: (nullable): the `--rundir` option's value
 *
 * The run directory, which holds the pidfile and the control socket.  It
 * is @option if given, else `$OVS_RUNDIR`, else `$XDG_RUNTIME_DIR/unixctld`,
 * else the directory compiled in (`-Drundir`).  The daemon and the CLI
 * both resolve it here, so that they always meet.  Relative names are
 * made absolute against the current directory, because the daemon leaves
 * it when it detaches.  Empty values count as unset.
 *
 * Returns: (transfer full): the absolute run directory
 */
char *
uc_daemon_resolve_rundir (const char *option)
{
  const char *env;

  if (option != NULL && *option != '\0')
    return g_canonicalize_filename (option, NULL);

  env = g_getenv ("OVS_RUNDIR");
  if (env != NULL && *env != '\0')
    return g_canonicalize_filename (env, NULL);

  /* Not g_get_user_runtime_dir(): it falls back to the cache directory,
   * where a socket does not belong. */
  env = g_getenv ("XDG_RUNTIME_DIR");
  if (env != NULL && *env != '\0')
    {
      g_autofree char *xdg = g_canonicalize_filename (env, NULL);

      return g_build_filename (xdg, PACKAGE_NAME, NULL);
    }

  return g_strdup (UC_DEFAULT_RUNDIR);
}

/**
 * uc_daemon_ensure_rundir:
 * @rundir: an absolute directory name
 * @error: return location for a #GError
 *
 * Creates @rundir (mode 0700, with any missing parents) unless it exists.
 *
 * Returns: %TRUE if @rundir is a directory now, otherwise %FALSE with
 *   %G_IO_ERROR_NOT_DIRECTORY if it exists but is something else, or the
 *   error of the failed mkdir()
 */
gboolean
uc_daemon_ensure_rundir (const char *rundir, GError **error)
{
  struct stat st;
  int errsv;

  g_return_val_if_fail (rundir != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (stat (rundir, &st) == 0)
    {
      if (S_ISDIR (st.st_mode))
        return TRUE;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                   _ ("run directory “%s” is not a directory"), rundir);
      return FALSE;
    }

  if (g_mkdir_with_parents (rundir, 0700) < 0)
    {
      errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _ ("cannot create run directory “%s”: %s"), rundir,
                   g_strerror (errsv));
      return FALSE;
    }
  g_debug ("created run directory %s", rundir);
  return TRUE;
}

/**
 * uc_daemon_raise_fd_limit:
 *
 * Raises the soft limit on open descriptors (`RLIMIT_NOFILE`) to the hard
 * limit.  Every connection costs a descriptor, and the usual soft limit of
 * 1024 would cap the daemon far below what it can serve.  Failing to raise
 * it is not fatal: the daemon runs with the limit it has, and pauses
 * accepting when it runs out.
 *
 * Returns: the soft limit in force afterwards, or 0 if it cannot be read
 */
guint64
uc_daemon_raise_fd_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) < 0)
    {
      g_debug ("getrlimit(RLIMIT_NOFILE): %s", g_strerror (errno));
      return 0;
    }

  if (rl.rlim_cur < rl.rlim_max)
    {
      rlim_t old = rl.rlim_cur;

      rl.rlim_cur = rl.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &rl) < 0)
        {
          g_debug ("cannot raise RLIMIT_NOFILE from %" G_GUINT64_FORMAT
                   " to %" G_GUINT64_FORMAT ": %s",
                   (guint64) old, (guint64) rl.rlim_max, g_strerror (errno));
          return old;
        }
    }

  g_debug ("RLIMIT_NOFILE soft limit is %" G_GUINT64_FORMAT,
           (guint64) rl.rlim_cur);
  return rl.rlim_cur;
}

/**
 * uc_daemon_sd_notify:
 * @state: what to tell, such as `READY=1` or `STOPPING=1`
 * @error: return location for a #GError
 *
 * Tells the service manager about the daemon's state, as sd_notify() does
 * without libsystemd: one datagram to the socket named by
 * `$NOTIFY_SOCKET`, an absolute path or, with a leading `@`, an abstract
 * name.  Without `$NOTIFY_SOCKET` (not started by systemd, or by a unit
 * type that does not listen) it does nothing.  It never blocks: a
 * manager that is not reading misses the message.
 *
 * Returns: %TRUE if sent or nothing to do; %FALSE with @error set if
 *   `$NOTIFY_SOCKET` is malformed or the datagram could not be sent
 */
gboolean
uc_daemon_sd_notify (const char *state, GError **error)
{
  const char *name = g_getenv ("NOTIFY_SOCKET");
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocket) socket = NULL;

  g_return_val_if_fail (state != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (name == NULL || *name == '\0')
    return TRUE;

  if (name[0] == '@')
    address = g_unix_socket_address_new_with_type (
      name + 1, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  else if (name[0] == '/')
    address = g_unix_socket_address_new (name);
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("NOTIFY_SOCKET “%s” is neither an absolute path nor an "
                      "abstract name"),
                   name);
      return FALSE;
    }

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  return g_socket_send_to (socket, address, state, strlen (state), NULL,
                           error) >= 0;
}

/* uc_daemon_sd_notify() for the daemon's own use: a manager that cannot
 * be told is worth a line in the log, not a failure. */
static void
notify_service_manager (const char *state)
{
  g_autoptr (GError) error = NULL;

  if (!uc_daemon_sd_notify (state, &error))
    g_message ("cannot tell the service manager %s: %s", state, error->message);
}

/**
 * uc_daemon_new:
 * @program_name: the program's name, used for the default pidfile and
 *   socket names and in messages (`unixctld`)
 * @version: the version the `version` command reports
 * @rundir: the absolute run directory (see uc_daemon_resolve_rundir())
 *
 * Creates a daemon that will serve the control socket
 * `RUNDIR/PROGRAM.PID.ctl` with the pidfile `RUNDIR/PROGRAM.pid`, in the
 * foreground.  Change that with the setters, then call uc_daemon_start().
 *
 * Returns: (transfer full): a new #UcDaemon
 */
UcDaemon *
uc_daemon_new (const char *program_name,
               const char *version,
               const char *rundir)
{
  UcDaemon *self;
  g_autofree char *pidfile_name = NULL;

  g_return_val_if_fail (program_name != NULL, NULL);
  g_return_val_if_fail (version != NULL, NULL);
  g_return_val_if_fail (rundir != NULL && g_path_is_absolute (rundir), NULL);

  self = g_object_new (UC_TYPE_DAEMON, NULL);
  self->program_name = g_strdup (program_name);
  self->version = g_strdup (version);
  self->rundir = g_strdup (rundir);
  pidfile_name = g_strconcat (program_name, ".pid", NULL);
  self->pidfile_path = g_build_filename (rundir, pidfile_name, NULL);

  return self;
}

/**
 * uc_daemon_set_pidfile:
 * @self: a #UcDaemon
 * @path: (nullable): the pidfile; relative names go under the run
 *   directory, as in Open vSwitch; %NULL keeps the default name
 * @overwrite: replace the pidfile even if another daemon holds it
 *
 * Sets the pidfile uc_daemon_start() creates.  Must be called before it.
 */
void
uc_daemon_set_pidfile (UcDaemon *self, const char *path, gboolean overwrite)
{
  g_return_if_fail (UC_IS_DAEMON (self));
  g_return_if_fail (!self->started);

  if (path != NULL)
    {
      g_free (self->pidfile_path);
      if (g_path_is_absolute (path))
        self->pidfile_path = g_canonicalize_filename (path, NULL);
      else
        self->pidfile_path = g_canonicalize_filename (path, self->rundir);
    }
  self->overwrite_pidfile = overwrite;
}

/**
 * uc_daemon_set_unixctl:
 * @self: a #UcDaemon
 * @path: (nullable): the control socket's path, %UC_DAEMON_UNIXCTL_NONE
 *   for no control socket, or %NULL for the default
 *   `RUNDIR/PROGRAM.PID.ctl`
 *
 * Sets where the control socket listens.  A relative @path goes under the
 * run directory; a stale socket file at the path is replaced.  Must be
 * called before uc_daemon_start().
 */
void
uc_daemon_set_unixctl (UcDaemon *self, const char *path)
{
  g_return_if_fail (UC_IS_DAEMON (self));
  g_return_if_fail (!self->started);
  g_return_if_fail (path == NULL || *path != '\0');

  g_free (self->unixctl_option);
  self->unixctl_option = g_strdup (path);
}

/**
 * uc_daemon_add_remote:
 * @self: a #UcDaemon
 * @pstream: a listener that is not listening yet
 *
 * Adds a listener that serves the same commands as the control socket
 * (`--remote`).  `punix:` listeners are local ones; every other type is
 * remote, with the remote connection cap and idle timeout (see
 * %UC_LISTENER_REMOTE).  Must be called before uc_daemon_listen().
 */
void
uc_daemon_add_remote (UcDaemon *self, UcPstream *pstream)
{
  g_return_if_fail (UC_IS_DAEMON (self));
  g_return_if_fail (UC_IS_PSTREAM (pstream));
  g_return_if_fail (!self->listening);

  g_ptr_array_add (self->remotes, g_object_ref (pstream));
}

/**
 * uc_daemon_set_detach:
 * @self: a #UcDaemon
 * @detach: run in the background (`--detach`)
 * @chdir_root: when detaching, change to `/` so that the daemon keeps no
 *   directory busy (`--no-chdir` turns it off)
 *
 * Sets whether uc_daemon_start() detaches.  Must be called before it.
 */
void
uc_daemon_set_detach (UcDaemon *self, gboolean detach, gboolean chdir_root)
{
  g_return_if_fail (UC_IS_DAEMON (self));
  g_return_if_fail (!self->started);

  self->detach = detach;
  self->chdir_root = chdir_root;
}

/**
 * uc_daemon_set_worker:
 * @self: a #UcDaemon
 * @worker: (nullable): a worker, not started
 *
 * Gives the daemon a worker to run: uc_daemon_listen() starts it (a
 * failure to start it is a start-up failure), and the shutdown stops it
 * once the server has answered its last requests.  Must be called before
 * uc_daemon_listen().
 */
void
uc_daemon_set_worker (UcDaemon *self, UcWorker *worker)
{
  g_return_if_fail (UC_IS_DAEMON (self));
  g_return_if_fail (worker == NULL || UC_IS_WORKER (worker));
  g_return_if_fail (!self->listening);

  g_set_object (&self->worker, worker);
}

/**
 * uc_daemon_set_vlog:
 * @self: a #UcDaemon
 * @vlog: (nullable): the process's logging configuration
 *
 * Gives the daemon its logging: uc_daemon_start() registers the vlog
 * commands for it, uc_daemon_listen() turns its console off once a
 * detached daemon's standard error is gone, and hands it the worker for
 * the log file (or tells it to write the file itself without one).  Must
 * be called before uc_daemon_start().
 */
void
uc_daemon_set_vlog (UcDaemon *self, UcVlog *vlog)
{
  g_return_if_fail (UC_IS_DAEMON (self));
  g_return_if_fail (vlog == NULL || UC_IS_VLOG (vlog));
  g_return_if_fail (!self->started);

  g_set_object (&self->vlog, vlog);
}

static void
print_error (const char *program_name, const char *message)
{
  g_printerr ("%s: %s\n", program_name, message);
}

/* The parent's side of detaching: wait until the child is ready or has
 * failed, then exit accordingly.  _exit(), not exit(): the child owns
 * everything the process set up before the fork. */
G_GNUC_NORETURN static void
wait_for_child (const char *program_name, int ready_fd, pid_t child)
{
  g_autoptr (GString) message = g_string_new (NULL);
  char buf[512];
  ssize_t n;
  int status;

  for (;;)
    {
      n = read (ready_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      g_string_append_len (message, buf, n);
    }
  close (ready_fd);

  if (message->len > 0 && message->str[0] == ready_byte)
    _exit (EXIT_SUCCESS);

  while (waitpid (child, &status, 0) < 0 && errno == EINTR)
    ;

  if (message->len > 0)
    print_error (program_name, message->str);
  else if (WIFSIGNALED (status))
    {
      g_autofree char *text = g_strdup_printf (
        _ ("child process killed by signal %d (%s) during start-up"),
        WTERMSIG (status), g_strsignal (WTERMSIG (status)));

      print_error (program_name, text);
    }
  else
    {
      g_autofree char *text = g_strdup_printf (
        _ ("child process exited with status %d during start-up"),
        WIFEXITED (status) ? WEXITSTATUS (status) : -1);

      print_error (program_name, text);
    }
  _exit (EXIT_FAILURE);
}

/* Forks.  The parent never returns from here; the child becomes a session
 * leader with no controlling terminal and returns %TRUE. */
static gboolean
detach (UcDaemon *self, GError **error)
{
  int fds[2];
  pid_t pid;
  int errsv;

  if (!g_unix_open_pipe (fds, FD_CLOEXEC, error))
    return FALSE;

  /* Whatever stdio holds would otherwise be written twice. */
  fflush (stdout);
  fflush (stderr);

  pid = fork ();
  if (pid < 0)
    {
      errsv = errno;
      close (fds[0]);
      close (fds[1]);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _ ("could not fork: %s"), g_strerror (errsv));
      return FALSE;
    }
  if (pid > 0)
    {
      close (fds[1]);
      wait_for_child (self->program_name, fds[0], pid);
    }

  close (fds[0]);
  self->ready_fd = fds[1];

  if (setsid () < 0)
    {
      errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _ ("setsid failed: %s"), g_strerror (errsv));
      return FALSE;
    }
  if (self->chdir_root && chdir ("/") < 0)
    {
      errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _ ("cannot change to “/”: %s"), g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

/* Once started, a detached daemon has nobody to talk to on stdio, and
 * keeping the caller's terminal or pipes open would hold them (a shell's
 * command substitution waits for their end).  Logs go nowhere until a log
 * file is configured. */
static gboolean
redirect_stdio (GError **error)
{
  int fd;
  int errsv;

  fd = open ("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _ ("cannot open /dev/null: %s"), g_strerror (errsv));
      return FALSE;
    }
  fflush (stdout);
  fflush (stderr);
  for (int target = STDIN_FILENO; target <= STDERR_FILENO; target++)
    {
      /* dup2() clears close-on-exec on the copy, as stdio wants. */
      if (dup2 (fd, target) < 0)
        {
          errsv = errno;
          close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       _ ("cannot redirect standard streams: %s"),
                       g_strerror (errsv));
          return FALSE;
        }
    }
  close (fd);
  return TRUE;
}

/* The pid written in a pidfile nobody holds any more, so that the socket
 * its dead daemon left under the default name can be removed; 0 if the
 * pidfile is missing, held or unreadable. */
static GPid
read_stale_pid (const char *pidfile_path)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  GPid pid;
  guint64 value;
  char *end = NULL;

  if (uc_pidfile_read (pidfile_path, &pid, &error) ||
      !g_file_get_contents (pidfile_path, &contents, NULL, NULL))
    return 0;

  value = g_ascii_strtoull (contents, &end, 10);
  if (end == contents || *end != '\n' || value == 0 || value > G_MAXINT)
    return 0;
  return (GPid) value;
}

/* Removes RUNDIR/PROGRAM.@stale_pid.ctl if nothing listens on it.  The
 * pidfile said that daemon is gone, but another daemon may have been
 * given the same pid since, so the socket is checked, not trusted.
 * Listening on it is that check (a live socket refuses, a stale one is
 * replaced), and closing then removes the file. */
static void
remove_stale_control_socket (UcDaemon *self, GPid stale_pid)
{
  g_autofree char *name = NULL;
  g_autoptr (UcPstream) pstream = NULL;
  g_autoptr (GError) error = NULL;

  if (stale_pid <= 0 || stale_pid == getpid ())
    return;

  name =
    g_strdup_printf ("punix:%s.%ld.ctl", self->program_name, (long) stale_pid);
  pstream = uc_pstream_new (name, self->rundir, &error);
  if (pstream == NULL ||
      !g_file_test (uc_pstream_get_path (pstream), G_FILE_TEST_EXISTS))
    return;

  if (!uc_pstream_listen (pstream, &error))
    {
      g_debug ("%s: left in place: %s", uc_pstream_get_path (pstream),
               error->message);
      return;
    }
  uc_pstream_close (pstream);
  g_debug ("%s: removed the socket of dead pid %ld",
           uc_pstream_get_path (pstream), (long) stale_pid);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  UcDaemon *self = UC_DAEMON (user_data);

  uc_daemon_quit (self);
  /* Stay installed: a second signal while the server drains must not
   * kill the process before it has removed its files. */
  return G_SOURCE_CONTINUE;
}

static void
on_exit_requested (UcServer *server, gpointer user_data)
{
  UcDaemon *self = UC_DAEMON (user_data);

  g_debug ("exit requested by a client");
  uc_daemon_quit (self);
}

/**
 * uc_daemon_set_dbus:
 * @self: a #UcDaemon
 * @bus_type: the bus to mirror the commands on, or %G_BUS_TYPE_NONE for
 *   none
 * @flags: whether the bus is optional, and whether to replace the
 *   instance that owns the name
 *
 * Sets where uc_daemon_listen() puts the D-Bus mirror (see
 * #UcDbusMirror): on @bus_type, under %UC_DBUS_MIRROR_NAME.  An instance
 * that loses the name to one started with %UC_DAEMON_DBUS_FLAGS_REPLACE
 * shuts down, as desktop services do, so that `--replace` means a
 * takeover.  A build without the mirror (`-Ddbus=disabled`) fails to
 * start if a bus is asked for, unless it is optional.  Must be called
 * before uc_daemon_listen().
 */
void
uc_daemon_set_dbus (UcDaemon *self, GBusType bus_type, UcDaemonDbusFlags flags)
{
  g_return_if_fail (UC_IS_DAEMON (self));
  g_return_if_fail (bus_type == G_BUS_TYPE_NONE ||
                    bus_type == G_BUS_TYPE_SESSION ||
                    bus_type == G_BUS_TYPE_SYSTEM);
  g_return_if_fail (!self->listening);

  self->bus_type = bus_type;
  self->dbus_flags = flags;
}

/**
 * uc_daemon_start:
 * @self: a #UcDaemon
 * @error: return location for a #GError
 *
 * The first step of start-up.  With detaching asked for, forks: the
 * parent does not return from here but waits until the child is ready
 * (see uc_daemon_listen()) or has failed (see uc_daemon_report_error()),
 * then exits with status 0 or 1.  The child (or the only process) then
 * ignores SIGPIPE, raises its descriptor limit, takes the pidfile,
 * removes a socket that a dead daemon left under the default name,
 * creates the server, and installs the SIGTERM and SIGINT handlers
 * (they act once uc_daemon_run() runs the loop).  Nothing listens yet:
 * configure the server (uc_daemon_get_server()), then call
 * uc_daemon_listen().
 *
 * Call it before anything starts a thread (GDBus, g_unix_signal_add()),
 * because only the calling thread survives fork().
 *
 * Returns: %TRUE on success, otherwise %FALSE with @error set
 *   (%UC_ERROR_ALREADY_RUNNING if another daemon holds the pidfile)
 */
gboolean
uc_daemon_start (UcDaemon *self, GError **error)
{
  g_autofree char *control_name = NULL;
  GPid stale_pid;

  g_return_val_if_fail (UC_IS_DAEMON (self), FALSE);
  g_return_val_if_fail (!self->started, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  self->started = TRUE;

  /* A peer that goes away while we write to it is an error on that one
   * connection, not a reason to die. */
  signal (SIGPIPE, SIG_IGN);

  if (self->detach && !detach (self, error))
    return FALSE;

  uc_daemon_raise_fd_limit ();

  stale_pid = read_stale_pid (self->pidfile_path);
  self->pidfile =
    uc_pidfile_acquire (self->pidfile_path, self->overwrite_pidfile, error);
  if (self->pidfile == NULL)
    return FALSE;
  remove_stale_control_socket (self, stale_pid);

  if (self->unixctl_option == NULL)
    control_name = g_strdup_printf ("punix:%s.%ld.ctl", self->program_name,
                                    (long) getpid ());
  else if (strcmp (self->unixctl_option, UC_DAEMON_UNIXCTL_NONE) != 0)
    control_name = g_strconcat ("punix:", self->unixctl_option, NULL);

  if (control_name != NULL)
    {
      self->control = uc_pstream_new (control_name, self->rundir, error);
      if (self->control == NULL)
        return FALSE;
    }

  self->server = uc_server_new (self->program_name, self->version);
  self->exit_requested_id = g_signal_connect (
    self->server, "exit-requested", G_CALLBACK (on_exit_requested), self);
  /* What every Open vSwitch daemon answers. */
  if (self->vlog != NULL)
    uc_vlog_register_commands (self->vlog, self->server);
  uc_coverage_register_commands (self->server);
  uc_memory_register_commands (self->server);

  /* Installed now, after the fork (the handlers start GLib's worker
   * thread), so that a signal arriving during the rest of start-up is
   * not fatal: it is handled, as a clean shutdown, once the loop runs. */
  self->sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, self);
  self->sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, self);
  return TRUE;
}

/**
 * uc_daemon_get_server:
 * @self: a #UcDaemon
 *
 * The server, to configure and to register commands on between
 * uc_daemon_start() and uc_daemon_listen().
 *
 * Returns: (transfer none) (nullable): the server, or %NULL before
 *   uc_daemon_start()
 */
UcServer *
uc_daemon_get_server (UcDaemon *self)
{
  g_return_val_if_fail (UC_IS_DAEMON (self), NULL);

  return self->server;
}

static gboolean
add_listener (UcDaemon *self, UcPstream *pstream, GError **error)
{
  UcListenerFlags flags = UC_LISTENER_REMOTE;
  g_autofree char *bound = NULL;

  if (pstream == self->control ||
      g_strcmp0 (uc_pstream_get_type_name (pstream), "punix") == 0)
    flags = UC_LISTENER_NONE;

  if (!uc_server_add_listener (self->server, pstream, flags, error))
    return FALSE;

  bound = uc_pstream_get_bound_name (pstream);
  g_info ("listening on %s", bound);
  return TRUE;
}

/* Tells the parent waiting in detach() that the daemon serves. */
static gboolean
notify_ready (UcDaemon *self, GError **error)
{
  int errsv;

  if (self->ready_fd < 0)
    return TRUE;

  if (!uc_fd_write_all (self->ready_fd, &ready_byte, 1))
    {
      /* Nobody to tell: the parent is gone.  The daemon serves anyway. */
      errsv = errno;
      g_debug ("cannot notify the parent: %s", g_strerror (errsv));
    }
  close (self->ready_fd);
  self->ready_fd = -1;
  return TRUE;
}

#if HAVE_DBUS_MIRROR
static void
on_name_lost (UcDbusMirror *mirror, gboolean replaced, gpointer user_data)
{
  UcDaemon *self = UC_DAEMON (user_data);

  /* Another instance took over: two daemons answering for one name is
   * what --replace exists to prevent.  Any other loss (the bus went away)
   * leaves the control socket serving. */
  if (replaced)
    uc_daemon_quit (self);
}
#endif

/* Puts the mirror on the bus: connected and exported now, the name asked
 * for (and the answer handled) from the main loop. */
static gboolean
start_dbus (UcDaemon *self, GError **error)
{
#if HAVE_DBUS_MIRROR
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *bus_name =
    self->bus_type == G_BUS_TYPE_SYSTEM ? "system" : "session";
#endif

  if (self->bus_type == G_BUS_TYPE_NONE)
    return TRUE;

#if HAVE_DBUS_MIRROR
  /* Synchronous, as the listeners are: the main loop does not run yet,
   * and a bus that cannot be reached is a start-up failure like a socket
   * that cannot be made. */
  connection = g_bus_get_sync (self->bus_type, NULL, &local_error);
  if (connection == NULL)
    {
      if (self->dbus_flags & UC_DAEMON_DBUS_FLAGS_OPTIONAL)
        {
          g_message ("no D-Bus mirror: cannot connect to the %s bus: %s",
                     bus_name, local_error->message);
          return TRUE;
        }
      g_set_error (error, local_error->domain, local_error->code,
                   _ ("cannot connect to the %s bus: %s"), bus_name,
                   local_error->message);
      return FALSE;
    }
  /* Losing the bus costs the mirror, not the daemon. */
  g_dbus_connection_set_exit_on_close (connection, FALSE);

  self->mirror = uc_dbus_mirror_new (
    self->server,
    self->control != NULL ? uc_pstream_get_path (self->control) : NULL);
  if (!uc_dbus_mirror_export (self->mirror, connection, error))
    return FALSE;
  self->name_lost_id = g_signal_connect (self->mirror, "name-lost",
                                         G_CALLBACK (on_name_lost), self);
  uc_dbus_mirror_own_name (self->mirror,
                           (self->dbus_flags & UC_DAEMON_DBUS_FLAGS_REPLACE)
                             ? UC_DBUS_MIRROR_NAME_FLAGS_REPLACE
                             : UC_DBUS_MIRROR_NAME_FLAGS_NONE);
  return TRUE;
#else
  if (self->dbus_flags & UC_DAEMON_DBUS_FLAGS_OPTIONAL)
    return TRUE;
  g_set_error_literal (error, UC_ERROR, UC_ERROR_NOT_SUPPORTED,
                       _ ("this build has no D-Bus mirror"));
  return FALSE;
#endif
}

/* Open vSwitch's daemons run coverage_run() and memory_run() from their
 * main loop; this does it every coverage interval, which is also often
 * enough for the memory checks. */
static gboolean
on_housekeeping (gpointer user_data)
{
  uc_coverage_run ();
  uc_memory_run ();
  return G_SOURCE_CONTINUE;
}

/**
 * uc_daemon_listen:
 * @self: a #UcDaemon
 * @error: return location for a #GError
 *
 * The second step of start-up: opens the control socket and the remotes
 * and hands them to the server, starts the worker (see
 * uc_daemon_set_worker()), connects to the bus and exports the D-Bus
 * mirror (see uc_daemon_set_dbus(); the bus name is asked for from the
 * main loop), then reports readiness: a detached daemon's parent exits
 * with status 0 and the child's standard streams go to /dev/null, and the
 * service manager is sent `READY=1` (see uc_daemon_sd_notify()).  Clients
 * can connect once this returns; the main loop serves them.
 *
 * Returns: %TRUE when everything listens, otherwise %FALSE with @error
 *   set; what was opened is closed when @self is disposed
 */
gboolean
uc_daemon_listen (UcDaemon *self, GError **error)
{
  g_return_val_if_fail (UC_IS_DAEMON (self), FALSE);
  g_return_val_if_fail (self->started && self->server != NULL, FALSE);
  g_return_val_if_fail (!self->listening, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  self->listening = TRUE;

  if (self->control != NULL && !add_listener (self, self->control, error))
    return FALSE;
  for (guint i = 0; i < self->remotes->len; i++)
    {
      if (!add_listener (self, g_ptr_array_index (self->remotes, i), error))
        return FALSE;
    }

  /* A detached daemon's streams go to /dev/null before the worker starts:
   * the worker inherits stderr, and must not hold the caller's terminal or
   * pipes open either. */
  if (self->ready_fd >= 0 && !redirect_stdio (error))
    return FALSE;
  /* As Open vSwitch does once detached: standard error is /dev/null. */
  if (self->ready_fd >= 0 && self->vlog != NULL)
    uc_vlog_set_levels (self->vlog, NULL, UC_VLOG_DESTINATION_CONSOLE,
                        UC_VLOG_LEVEL_OFF);
  if (self->worker != NULL && !uc_worker_start (self->worker, error))
    return FALSE;
  /* The log file's lines waited in memory until now. */
  if (self->vlog != NULL)
    uc_vlog_set_worker (self->vlog, self->worker);
  if (!start_dbus (self, error))
    return FALSE;

  uc_coverage_run ();
  uc_memory_run ();
  self->housekeeping =
    g_timeout_add (UC_COVERAGE_RUN_INTERVAL_MS, on_housekeeping, NULL);
  g_source_set_name_by_id (self->housekeeping, "[unixctld] housekeeping");

  if (!notify_ready (self, error))
    return FALSE;
  notify_service_manager ("READY=1");
  return TRUE;
}

/**
 * uc_daemon_run:
 * @self: a #UcDaemon
 *
 * Runs the main loop until the daemon has shut down (see
 * uc_daemon_quit()).
 *
 * Returns: the process's exit status: `EXIT_SUCCESS`
 */
int
uc_daemon_run (UcDaemon *self)
{
  g_return_val_if_fail (UC_IS_DAEMON (self), EXIT_FAILURE);
  g_return_val_if_fail (self->listening, EXIT_FAILURE);

  g_main_loop_run (self->loop);
  return EXIT_SUCCESS;
}

/* The sockets and the worker are gone; the pidfile goes last, so that a
 * new daemon never finds it free while this one still answers. */
static void
finish_quit (UcDaemon *self)
{
  if (self->pidfile != NULL)
    uc_pidfile_release (self->pidfile);
  g_main_loop_quit (self->loop);
}

static void
worker_stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (UcDaemon) self = UC_DAEMON (user_data);

  /* It cannot fail: it completes once the worker has exited. */
  uc_worker_stop_finish (UC_WORKER (source), result, NULL);
  finish_quit (self);
}

/* Called as each transport (the server, the D-Bus mirror) has answered
 * its last request; the worker goes after the last. */
static void
transport_stopped (UcDaemon *self)
{
  if (--self->n_stopping > 0)
    return;

  /* After the server, so that the requests it let finish could still use
   * the worker. */
  if (self->worker != NULL)
    {
      uc_worker_stop_async (self->worker, NULL, worker_stopped_cb,
                            g_object_ref (self));
      return;
    }
  finish_quit (self);
}

static void
shutdown_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (UcDaemon) self = UC_DAEMON (user_data);
  g_autoptr (GError) error = NULL;

  if (!uc_server_shutdown_finish (UC_SERVER (source), result, &error))
    g_message ("server shutdown: %s", error->message);
  transport_stopped (self);
}

#if HAVE_DBUS_MIRROR
static void
mirror_shutdown_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (UcDaemon) self = UC_DAEMON (user_data);

  /* It cannot fail: no cancellable was given. */
  uc_dbus_mirror_shutdown_finish (UC_DBUS_MIRROR (source), result, NULL);
  transport_stopped (self);
}
#endif

/**
 * uc_daemon_quit:
 * @self: a #UcDaemon
 *
 * Shuts the daemon down, as SIGTERM, SIGINT, the `exit` command and a
 * takeover of the bus name do: the service manager is sent `STOPPING=1`;
 * the server stops accepting, answers the requests in flight and removes
 * its sockets, while the D-Bus mirror releases its name, answers its calls
 * in flight and flushes them out; then the worker is stopped (see
 * uc_worker_stop_async()), the pidfile is removed and uc_daemon_run()
 * returns.
 * Calls after the first do nothing.
 */
void
uc_daemon_quit (UcDaemon *self)
{
  g_return_if_fail (UC_IS_DAEMON (self));
  g_return_if_fail (self->server != NULL);

  if (self->quitting)
    {
      g_debug ("already shutting down");
      return;
    }
  self->quitting = TRUE;
  g_debug ("shutting down");
  notify_service_manager ("STOPPING=1");

  self->n_stopping = 1;
  uc_server_shutdown_async (self->server, NULL, shutdown_cb,
                            g_object_ref (self));
#if HAVE_DBUS_MIRROR
  if (self->mirror != NULL)
    {
      self->n_stopping++;
      uc_dbus_mirror_shutdown_async (self->mirror, NULL, mirror_shutdown_cb,
                                     g_object_ref (self));
    }
#endif
}

/**
 * uc_daemon_report_error:
 * @self: a #UcDaemon
 * @error: why start-up failed
 *
 * Reports a start-up failure as `PROGRAM: MESSAGE` on standard error.  In
 * a detached child the message goes to the waiting parent instead, which
 * prints it and exits with status 1; the caller then exits too.
 */
void
uc_daemon_report_error (UcDaemon *self, const GError *error)
{
  g_return_if_fail (UC_IS_DAEMON (self));
  g_return_if_fail (error != NULL);

  if (self->ready_fd >= 0)
    {
      /* An empty message would read as a child that died silently. */
      const char *message =
        *error->message != '\0' ? error->message : _ ("start-up failed");
      gboolean sent =
        uc_fd_write_all (self->ready_fd, message, strlen (message));

      close (self->ready_fd);
      self->ready_fd = -1;
      if (sent)
        return;
    }
  print_error (self->program_name, error->message);
}

static void
uc_daemon_dispose (GObject *object)
{
  UcDaemon *self = UC_DAEMON (object);

  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_handle_id (&self->housekeeping, g_source_remove);
  if (self->server != NULL)
    g_clear_signal_handler (&self->exit_requested_id, self->server);
  if (self->mirror != NULL)
    g_clear_signal_handler (&self->name_lost_id, self->mirror);

  /* The server closes its listeners (removing their socket files) when it
   * goes away, so a failed start-up leaves nothing behind either; the
   * pidfile goes after them, as on a clean shutdown.  The mirror goes
   * first: it uses the server. */
  g_clear_object (&self->mirror);
  g_clear_object (&self->server);
  g_clear_object (&self->worker);
  g_clear_object (&self->vlog);
  g_clear_object (&self->control);
  g_ptr_array_set_size (self->remotes, 0);
  g_clear_object (&self->pidfile);

  if (self->ready_fd >= 0)
    {
      close (self->ready_fd);
      self->ready_fd = -1;
    }

  G_OBJECT_CLASS (uc_daemon_parent_class)->dispose (object);
}

static void
uc_daemon_finalize (GObject *object)
{
  UcDaemon *self = UC_DAEMON (object);

  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->remotes, g_ptr_array_unref);
  g_clear_pointer (&self->unixctl_option, g_free);
  g_clear_pointer (&self->pidfile_path, g_free);
  g_clear_pointer (&self->rundir, g_free);
  g_clear_pointer (&self->version, g_free);
  g_clear_pointer (&self->program_name, g_free);

  G_OBJECT_CLASS (uc_daemon_parent_class)->finalize (object);
}

static void
uc_daemon_class_init (UcDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = uc_daemon_dispose;
  object_class->finalize = uc_daemon_finalize;
}

static void
uc_daemon_init (UcDaemon *self)
{
  self->ready_fd = -1;
  self->chdir_root = TRUE;
  self->remotes = g_ptr_array_new_with_free_func (g_object_unref);
  self->loop = g_main_loop_new (NULL, FALSE);
}
