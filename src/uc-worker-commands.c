/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "worker-commands"

#include "config.h"

#include "uc-worker-commands.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uc-error.h"
#include "uc-system-stats.h"

/*
 * The control commands of the worker: `worker/status`, `worker/ping`,
 * `worker/restart` and `system-stats/show`.  Those that need the worker
 * answer when it does (deferred replies): while it is stopped or
 * restarting they wait, and every other command is still answered at
 * once.  A client that goes away cancels its call.
 *
 * Replies stay untranslated, as every text the daemon sends its clients
 * does: the daemon's locale is not theirs.
 */

typedef struct
{
  UcWorker *worker; /* (owned) */
  GStrv paths;      /* (owned) file systems for system-stats/show */
} Commands;

static void
commands_clear (Commands *commands)
{
  g_clear_object (&commands->worker);
  g_clear_pointer (&commands->paths, g_strfreev);
}

static void
commands_unref (gpointer data)
{
  g_rc_box_release_full (data, (GDestroyNotify) commands_clear);
}

static const char *
state_to_string (UcWorkerState state)
{
  switch (state)
    {
      case UC_WORKER_STATE_STOPPED:
        return "stopped";
      case UC_WORKER_STATE_RUNNING:
        return "running";
      case UC_WORKER_STATE_RESTARTING:
        return "restarting";
      case UC_WORKER_STATE_FAILED:
        return "failed";
      case UC_WORKER_STATE_STOPPING:
        return "stopping";
      default:
        return "unknown";
    }
}

/* Appends "KEY: VALUE", the values aligned in one column. */
static void
append_line (GString *out, const char *key, const char *value)
{
  g_autofree char *label = g_strconcat (key, ":", NULL);

  g_string_append_printf (out, "%-17s %s\n", label, value);
}

/* worker/status: the supervisor's figures, at once. */
static void
cmd_status (UcRequest *request, gpointer user_data)
{
  Commands *commands = user_data;
  UcWorker *worker = commands->worker;
  UcWorkerState state = uc_worker_get_state (worker);
  GPid pid = uc_worker_get_pid (worker);
  gint64 uptime_us = uc_worker_get_uptime (worker);

  if (uc_request_get_format (request) == UC_OUTPUT_FORMAT_JSON)
    {
      g_autoptr (JsonObject) object = json_object_new ();

      json_object_set_string_member (object, "state", state_to_string (state));
      if (pid > 0)
        json_object_set_int_member (object, "pid", pid);
      else
        json_object_set_null_member (object, "pid");
      json_object_set_int_member (object, "uptime-ms", uptime_us / 1000);
      json_object_set_int_member (object, "restarts",
                                  uc_worker_get_restarts (worker));
      json_object_set_int_member (object, "queue-depth",
                                  uc_worker_get_n_waiting (worker));
      json_object_set_int_member (object, "in-flight",
                                  uc_worker_get_n_in_flight (worker));
      json_object_set_int_member (object, "requests-served",
                                  (gint64) uc_worker_get_n_served (worker));
      uc_request_reply_json (
        request, json_node_init_object (json_node_alloc (), object));
    }
  else
    {
      g_autoptr (GString) out = g_string_new (NULL);
      g_autofree char *pid_text =
        pid > 0 ? g_strdup_printf ("%ld", (long) pid) : g_strdup ("none");
      g_autofree char *uptime = g_strdup_printf (
        "%" G_GINT64_FORMAT ".%03d s", uptime_us / G_USEC_PER_SEC,
        (int) (uptime_us % G_USEC_PER_SEC / 1000));
      g_autofree char *restarts =
        g_strdup_printf ("%u", uc_worker_get_restarts (worker));
      g_autofree char *waiting =
        g_strdup_printf ("%u", uc_worker_get_n_waiting (worker));
      g_autofree char *in_flight =
        g_strdup_printf ("%u", uc_worker_get_n_in_flight (worker));
      g_autofree char *served =
        g_strdup_printf ("%" G_GUINT64_FORMAT, uc_worker_get_n_served (worker));

      append_line (out, "state", state_to_string (state));
      append_line (out, "pid", pid_text);
      append_line (out, "uptime", uptime);
      append_line (out, "restarts", restarts);
      append_line (out, "queue depth", waiting);
      append_line (out, "in flight", in_flight);
      append_line (out, "requests served", served);
      uc_request_reply (request, out->str);
    }
}

typedef struct
{
  UcRequest *request; /* (owned) */
  UcWorker *worker;   /* (owned) */
  GBytes *payload;    /* (owned) what was sent */
  struct stat sent;   /* the descriptor sent */
  gint64 start_us;
} Ping;

static void
ping_free (Ping *ping)
{
  g_clear_object (&ping->request);
  g_clear_object (&ping->worker);
  g_clear_pointer (&ping->payload, g_bytes_unref);
  g_free (ping);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Ping, ping_free)

static void
on_ping_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Ping) ping = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) descriptions = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_autoptr (GBytes) echo = NULL;
  gint64 rtt_us = g_get_monotonic_time () - ping->start_us;
  const char *type;
  guint64 dev;
  guint64 ino;
  struct stat back;
  gboolean same;

  echo = uc_worker_ping_finish (UC_WORKER (source), result, &descriptions, &fds,
                                &error);
  if (echo == NULL)
    {
      uc_request_reply_error_printf (ping->request, "worker ping: %s",
                                     error->message);
      return;
    }
  if (!g_bytes_equal (echo, ping->payload))
    {
      uc_request_reply_error (ping->request,
                              "worker ping: the echo differs from the "
                              "payload sent");
      return;
    }
  /* One descriptor went; the reply's count was checked on receipt. */
  g_variant_get_child (descriptions, 0, "(&stt)", &type, &dev, &ino);
  if (fstat (g_unix_fd_list_peek_fds (fds, NULL)[0], &back) < 0)
    {
      int errsv = errno;

      uc_request_reply_error_printf (
        ping->request, "worker ping: cannot stat the descriptor: %s",
        g_strerror (errsv));
      return;
    }
  same = back.st_dev == ping->sent.st_dev && back.st_ino == ping->sent.st_ino &&
         dev == (guint64) ping->sent.st_dev &&
         ino == (guint64) ping->sent.st_ino;
  if (!same)
    {
      uc_request_reply_error_printf (
        ping->request,
        "worker ping: the descriptor came back as inode %" G_GUINT64_FORMAT
        " (the worker saw %" G_GUINT64_FORMAT "), not %" G_GUINT64_FORMAT,
        (guint64) back.st_ino, ino, (guint64) ping->sent.st_ino);
      return;
    }

  if (uc_request_get_format (ping->request) == UC_OUTPUT_FORMAT_JSON)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonObject) descriptor = json_object_new ();

      json_object_set_int_member (object, "pid",
                                  uc_worker_get_pid (ping->worker));
      json_object_set_int_member (object, "bytes",
                                  g_bytes_get_size (ping->payload));
      json_object_set_int_member (object, "round-trip-us", rtt_us);
      json_object_set_string_member (descriptor, "type", type);
      json_object_set_int_member (descriptor, "inode", (gint64) ino);
      json_object_set_boolean_member (descriptor, "same-inode", TRUE);
      json_object_set_object_member (object, "descriptor",
                                     g_steal_pointer (&descriptor));
      uc_request_reply_json (
        ping->request, json_node_init_object (json_node_alloc (), object));
    }
  else
    {
      g_autofree char *text = g_strdup_printf (
        "worker %ld answered in %" G_GINT64_FORMAT ".%03d ms\n"
        "payload: %" G_GSIZE_FORMAT " bytes echoed intact\n"
        "descriptor: %s file, inode %" G_GUINT64_FORMAT
        ", came back with the same inode",
        (long) uc_worker_get_pid (ping->worker), rtt_us / 1000,
        (int) (rtt_us % 1000), g_bytes_get_size (ping->payload), type, ino);

      uc_request_reply (ping->request, text);
    }
}

/* worker/ping [BYTES]: a round trip with a payload and a descriptor. */
static void
cmd_ping (UcRequest *request, gpointer user_data)
{
  Commands *commands = user_data;
  const char *const *argv = uc_request_get_argv (request);
  g_autoptr (GError) error = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_autoptr (Ping) ping = NULL;
  guint64 n_bytes = UC_WORKER_PING_DEFAULT_BYTES;
  guint8 *data;
  int memfd;

  if (uc_request_get_argc (request) > 1 &&
      !g_ascii_string_to_unsigned (argv[1], 10, 0, UC_WORKER_PING_MAX_BYTES,
                                   &n_bytes, &error))
    {
      uc_request_reply_error_printf (request, "invalid byte count “%s”: %s",
                                     argv[1], error->message);
      return;
    }

  /* A descriptor of its own, with an inode of its own, so that its
   * identity on return proves it is the same. */
  memfd = memfd_create ("unixctld-worker-ping", MFD_CLOEXEC);
  if (memfd < 0)
    {
      int errsv = errno;

      uc_request_reply_error_printf (
        request, "worker ping: cannot create a descriptor: %s",
        g_strerror (errsv));
      return;
    }
  fds = g_unix_fd_list_new_from_array (&memfd, 1);

  ping = g_new0 (Ping, 1);
  ping->request = g_object_ref (request);
  ping->worker = g_object_ref (commands->worker);
  if (fstat (memfd, &ping->sent) < 0)
    {
      int errsv = errno;

      uc_request_reply_error_printf (
        request, "worker ping: cannot stat the descriptor: %s",
        g_strerror (errsv));
      return;
    }
  data = g_malloc (MAX (n_bytes, 1));
  for (guint64 i = 0; i < n_bytes; i++)
    data[i] = (guint8) (i * 31 + 7);
  ping->payload = g_bytes_new_take (data, n_bytes);
  ping->start_us = g_get_monotonic_time ();

  uc_worker_ping_async (commands->worker, ping->payload, fds,
                        uc_request_get_cancellable (request), on_ping_done,
                        ping);
  g_steal_pointer (&ping);
}

static void
on_restart_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (UcRequest) request = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!uc_worker_restart_finish (UC_WORKER (source), result, &error))
    {
      uc_request_reply_error_printf (request, "worker restart: %s",
                                     error->message);
      return;
    }
  text = g_strdup_printf ("worker restarted: pid %ld",
                          (long) uc_worker_get_pid (UC_WORKER (source)));
  uc_request_reply (request, text);
}

/* worker/restart: answered once the new worker runs. */
static void
cmd_restart (UcRequest *request, gpointer user_data)
{
  Commands *commands = user_data;

  uc_worker_restart_async (commands->worker,
                           uc_request_get_cancellable (request),
                           on_restart_done, g_object_ref (request));
}

static void
on_stats_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (UcRequest) request = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) stats = NULL;

  stats = uc_worker_system_stats_finish (UC_WORKER (source), result, &error);
  if (stats == NULL)
    {
      uc_request_reply_error_printf (request, "system statistics: %s",
                                     error->message);
      return;
    }
  if (uc_request_get_format (request) == UC_OUTPUT_FORMAT_JSON)
    uc_request_reply_json (request, uc_system_stats_to_json (stats));
  else
    {
      g_autofree char *text = uc_system_stats_to_text (stats);

      uc_request_reply (request, text);
    }
}

/* system-stats/show: collected by the worker, where reading /proc and
 * statvfs() may block. */
static void
cmd_stats (UcRequest *request, gpointer user_data)
{
  Commands *commands = user_data;

  uc_worker_system_stats_async (commands->worker, getpid (),
                                (const char *const *) commands->paths,
                                uc_request_get_cancellable (request),
                                on_stats_done, g_object_ref (request));
}

/**
 * uc_worker_commands_register:
 * @server: the server to register on
 * @worker: the worker the commands use
 * @stats_paths: (nullable) (array zero-terminated=1): the paths whose file
 *   systems `system-stats/show` describes (the daemon's run directory)
 *
 * Registers `worker/status`, `worker/ping [BYTES]`, `worker/restart` and
 * `system-stats/show` on @server.
 */
void
uc_worker_commands_register (UcServer *server,
                             UcWorker *worker,
                             const char *const *stats_paths)
{
  Commands *commands;

  g_return_if_fail (UC_IS_SERVER (server));
  g_return_if_fail (UC_IS_WORKER (worker));

  commands = g_rc_box_new0 (Commands);
  commands->worker = g_object_ref (worker);
  commands->paths = g_strdupv ((char **) stats_paths);

  uc_server_register (server, "worker/status", "", 0, 0, cmd_status,
                      g_rc_box_acquire (commands), commands_unref);
  uc_server_register (server, "worker/ping", "[BYTES]", 0, 1, cmd_ping,
                      g_rc_box_acquire (commands), commands_unref);
  uc_server_register (server, "worker/restart", "", 0, 0, cmd_restart,
                      g_rc_box_acquire (commands), commands_unref);
  uc_server_register (server, "system-stats/show", "", 0, 0, cmd_stats,
                      g_rc_box_acquire (commands), commands_unref);
  commands_unref (commands);
}
