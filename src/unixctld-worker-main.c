/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "unixctld-worker"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uc-error.h"
#include "uc-fd.h"
#include "uc-i18n.h"
#include "uc-system-stats.h"
#include "uc-worker-protocol.h"
#include "uc-worker.h"

/*
 * unixctld-worker: the daemon's hands for work that blocks.  Started by
 * unixctld only, with its end of a socketpair as descriptor 3.  A simple
 * blocking loop on a blocking #GSocket: read a request, do the work, send
 * the reply, in order (uc-worker-protocol.c moves the frames, descriptors
 * in a #GUnixFDMessage).
 * It exits with status 0 when the daemon closes the socket, and with
 * status 1 if the daemon's frames break the protocol (the stream can no
 * longer be followed; the daemon starts another worker).
 *
 * It shares the process group of the daemon, so the terminal's ^C reaches
 * it too: it ignores SIGINT and lets the daemon, which handles SIGINT,
 * stop it in order.  It asks to be killed when the daemon dies, in case
 * the daemon is killed while this process sits stopped or blocked.
 */

typedef struct
{
  GSocket *socket;       /* (owned) descriptor 3, blocking */
  GHashTable *held;      /* (owned) handle (guint64 *) -> descriptor */
  GBytes *empty;         /* (owned) */
  GPtrArray *type_cache; /* (owned) see uc_worker_type_cache_new() */
} Worker;

static void
held_fd_free (gpointer data)
{
  UcFd *fd = data;

  uc_fd_clear (fd);
  g_free (fd);
}

/* A reply is sent, and its descriptors closed, by the caller. */
typedef struct
{
  UcWorkerKind kind;
  GBytes *payload; /* (owned) */
  GArray *fds;     /* (owned) (element-type int) closed after the send,
                    * whether it succeeds or not */
} Reply;

static void
reply_clear (Reply *reply)
{
  g_clear_pointer (&reply->payload, g_bytes_unref);
  g_clear_pointer (&reply->fds, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Reply, reply_clear)

/* Takes @value, floating or not. */
static void
reply_value (Reply *reply, GVariant *value)
{
  g_autoptr (GVariant) owned = g_variant_take_ref (value);

  reply->kind = UC_WORKER_KIND_REPLY;
  reply->payload = g_variant_get_data_as_bytes (owned);
}

/* An error reply: errno and a message for people. */
static void reply_errno (Reply *reply, int errsv, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static void
reply_errno (Reply *reply, int errsv, const char *format, ...)
{
  g_autofree char *message = NULL;
  g_autoptr (GVariant) value = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  value = g_variant_ref_sink (g_variant_new ("(is)", errsv, message));
  reply->kind = UC_WORKER_KIND_ERROR;
  g_clear_pointer (&reply->payload, g_bytes_unref);
  reply->payload = g_variant_get_data_as_bytes (value);
  g_array_set_size (reply->fds, 0);
}

static const char *
describe_mode (mode_t mode)
{
  switch (mode & S_IFMT)
    {
      case S_IFREG:
        return "regular";
      case S_IFDIR:
        return "directory";
      case S_IFCHR:
        return "character-device";
      case S_IFBLK:
        return "block-device";
      case S_IFIFO:
        return "fifo";
      case S_IFSOCK:
        return "socket";
      case S_IFLNK:
        return "symlink";
      default:
        return "unknown";
    }
}

/* A successful reply without payload or descriptors. */
static void
reply_empty (Worker *worker, Reply *reply)
{
  reply->kind = UC_WORKER_KIND_REPLY;
  reply->payload = g_bytes_ref (worker->empty);
}

/* The arguments of a request that must come with @n_fds descriptors and
 * a payload of @type; otherwise %NULL, @reply being the error.  Request
 * payloads come from the daemon, which this process trusts to follow the
 * protocol; they are still validated, so that a bug there is an error
 * reply and not a crash here. */
static GVariant *
request_args (Reply *reply,
              UcWorkerFrame *frame,
              guint n_fds,
              const GVariantType *type)
{
  g_autoptr (GError) error = NULL;
  GVariant *value;

  if (frame->fds->len != n_fds)
    {
      reply_errno (reply, EINVAL, _ ("%s takes %u descriptors, not %u"),
                   uc_worker_method_to_string (frame->header.method), n_fds,
                   frame->fds->len);
      return NULL;
    }
  value = uc_worker_variant_from_bytes (frame->payload, type, &error);
  if (value == NULL)
    reply_errno (reply, EINVAL, "%s", error->message);
  return value;
}

/* Echoes the payload, describes the descriptors and sends them back. */
static void
do_ping (Worker *worker, UcWorkerFrame *frame, Reply *reply)
{
  g_auto (GVariantBuilder) descriptions =
    G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(stt)"));
  g_autoptr (GVariant) value = NULL;

  for (guint i = 0; i < frame->fds->len; i++)
    {
      struct stat st;

      if (fstat (g_array_index (frame->fds, int, i), &st) < 0)
        {
          int errsv = errno;

          reply_errno (reply, errsv, _ ("cannot stat descriptor %u: %s"), i,
                       g_strerror (errsv));
          return;
        }
      g_variant_builder_add (&descriptions, "(stt)", describe_mode (st.st_mode),
                             (guint64) st.st_dev, (guint64) st.st_ino);
    }

  value = g_variant_ref_sink (
    g_variant_new ("(a(stt)@ay)", &descriptions,
                   g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                             frame->payload, TRUE)));
  if (g_variant_get_size (value) > UC_WORKER_MAX_PAYLOAD)
    {
      reply_errno (reply, EMSGSIZE,
                   _ ("an echo of %u bytes does not fit in a reply"),
                   (unsigned) g_bytes_get_size (frame->payload));
      return;
    }
  reply_value (reply, g_steal_pointer (&value));
  /* The same descriptors go back: the daemon checks their identity.
   * Stolen, not cleared: clearing the array would close them. */
  {
    gsize n_fds = 0;
    g_autofree int *fds = g_array_steal (frame->fds, &n_fds);

    g_array_append_vals (reply->fds, fds, (guint) n_fds);
  }
}

static void
do_open (Worker *worker, UcWorkerFrame *frame, Reply *reply)
{
  g_autoptr (GVariant) request = NULL;
  g_autofree char *display = NULL;
  g_autoptr (GVariant) path_value = NULL;
  const char *path;
  gsize path_length;
  gint32 flags;
  guint32 mode;
  int fd;

  request = request_args (reply, frame, 0, G_VARIANT_TYPE ("(ayiu)"));
  if (request == NULL)
    return;
  g_variant_get (request, "(@ayiu)", &path_value, &flags, &mode);
  path = g_variant_get_fixed_array (path_value, &path_length, 1);
  /* A byte string with its NUL, and no other. */
  if (path_length == 0 || path[path_length - 1] != '\0' ||
      strlen (path) != path_length - 1)
    {
      reply_errno (reply, EINVAL, _ ("invalid path in an open request"));
      return;
    }

  do
    fd = open (path, flags | O_CLOEXEC | O_NOCTTY, (mode_t) mode);
  while (fd < 0 && errno == EINTR);

  if (fd < 0)
    {
      int errsv = errno;

      display = g_filename_display_name (path);
      reply_errno (reply, errsv, _ ("cannot open “%s”: %s"), display,
                   g_strerror (errsv));
      return;
    }
  reply_empty (worker, reply);
  g_array_append_val (reply->fds, fd);
}

static void
do_hold (Worker *worker, UcWorkerFrame *frame, Reply *reply)
{
  g_autoptr (GVariant) request = NULL;
  guint64 handle;
  guint64 *key;
  UcFd *held;

  request = request_args (reply, frame, 1, G_VARIANT_TYPE ("(t)"));
  if (request == NULL)
    return;
  g_variant_get (request, "(t)", &handle);

  key = g_new (guint64, 1);
  *key = handle;
  held = g_new (UcFd, 1);
  *held = g_array_index (frame->fds, int, 0);
  g_array_index (frame->fds, int, 0) = -1;
  /* A handle held again (the daemon re-holds after a restart of ours,
   * which cannot happen within one process, or a bug) replaces the old
   * descriptor, closing it. */
  g_hash_table_replace (worker->held, key, held);

  reply_empty (worker, reply);
}

static void
do_append (Worker *worker, UcWorkerFrame *frame, Reply *reply)
{
  g_autoptr (GVariant) request = NULL;
  g_autoptr (GVariant) data_value = NULL;
  const guint8 *data;
  gsize length;
  gsize done = 0;
  guint64 handle;
  guint64 offset;
  UcFd *held;

  request = request_args (reply, frame, 0, G_VARIANT_TYPE ("(ttay)"));
  if (request == NULL)
    return;
  g_variant_get (request, "(tt@ay)", &handle, &offset, &data_value);
  data = g_variant_get_fixed_array (data_value, &length, 1);

  held = g_hash_table_lookup (worker->held, &handle);
  if (held == NULL)
    {
      reply_errno (reply, EBADF, _ ("no descriptor is held under handle %llu"),
                   (unsigned long long) handle);
      return;
    }
  if (offset > G_MAXINT64 || length > G_MAXINT64 - offset)
    {
      reply_errno (reply, EFBIG, _ ("offset out of range"));
      return;
    }

  /* pwrite() at the offset the daemon chose: writing the same request
   * twice leaves the same bytes at the same place. */
  if (!uc_fd_pwrite_all (*held, data, length, offset, &done))
    {
      int errsv = errno;

      reply_errno (reply, errsv,
                   _ ("cannot write %zu bytes at offset %llu: %s"),
                   length - done, (unsigned long long) (offset + done),
                   g_strerror (errsv));
      return;
    }
  reply_empty (worker, reply);
}

static void
do_release (Worker *worker, UcWorkerFrame *frame, Reply *reply)
{
  g_autoptr (GVariant) request = NULL;
  guint64 handle;

  request = request_args (reply, frame, 0, G_VARIANT_TYPE ("(t)"));
  if (request == NULL)
    return;
  g_variant_get (request, "(t)", &handle);
  /* Releasing what is not held succeeds: a release replayed after a
   * restart finds nothing, and that is its goal reached. */
  g_hash_table_remove (worker->held, &handle);

  reply_empty (worker, reply);
}

static void
do_system_stats (Worker *worker, UcWorkerFrame *frame, Reply *reply)
{
  g_autoptr (GVariant) request = NULL;
  g_autoptr (GVariant) paths_value = NULL;
  g_autofree const char **paths = NULL;
  guint32 daemon_pid;

  request = request_args (reply, frame, 0, UC_SYSTEM_STATS_REQUEST_TYPE);
  if (request == NULL)
    return;
  g_variant_get (request, "(u@aay)", &daemon_pid, &paths_value);
  paths = g_variant_get_bytestring_array (paths_value, NULL);

  reply_value (reply, uc_system_stats_collect ((GPid) daemon_pid, paths));
}

static gboolean
check_request_header (const UcWorkerHeader *header,
                      gpointer user_data,
                      GError **error)
{
  if (header->kind != UC_WORKER_KIND_REQUEST)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("unexpected %s frame from the daemon"),
                   uc_worker_kind_to_string (header->kind));
      return FALSE;
    }
  return TRUE;
}

/* Sends @reply to @request.  Its descriptors go in a #GUnixFDList that
 * takes them over (no duplicate is made) and closes them once the frame
 * is sent, or not: this process keeps none of what it hands over. */
static gboolean
send_reply (Worker *worker,
            const UcWorkerFrame *request,
            Reply *reply,
            GError **error)
{
  UcWorkerHeader header = { 0 };
  guint8 bytes[UC_WORKER_HEADER_SIZE];
  g_autoptr (GUnixFDList) fds = NULL;
  gsize offset = 0;
  gsize length = g_bytes_get_size (reply->payload);

  header.kind = reply->kind;
  header.method = request->header.method;
  header.id = request->header.id;
  header.payload_length = (guint32) length;
  header.n_fds = (guint16) reply->fds->len;
  uc_worker_header_pack (&header, bytes);

  if (reply->fds->len > 0)
    {
      gsize n_fds = 0;
      g_autofree int *taken = g_array_steal (reply->fds, &n_fds);

      fds = g_unix_fd_list_new_from_array (taken, (int) n_fds);
    }
  return uc_worker_send_frame (worker->socket, bytes,
                               g_bytes_get_data (reply->payload, NULL), length,
                               fds, &offset, error);
}

typedef void (*MethodFunc) (Worker *worker, UcWorkerFrame *frame, Reply *reply);

/* Each method's implementation, by id. */
static const MethodFunc methods[] = {
  [UC_WORKER_METHOD_PING] = do_ping,
  [UC_WORKER_METHOD_OPEN] = do_open,
  [UC_WORKER_METHOD_HOLD] = do_hold,
  [UC_WORKER_METHOD_APPEND] = do_append,
  [UC_WORKER_METHOD_RELEASE] = do_release,
  [UC_WORKER_METHOD_SYSTEM_STATS] = do_system_stats,
};

G_STATIC_ASSERT (G_N_ELEMENTS (methods) == UC_WORKER_METHOD_LAST + 1);

static void
serve (Worker *worker, UcWorkerFrame *frame, Reply *reply)
{
  /* uc_worker_header_unpack() lets known methods through only. */
  methods[frame->header.method](worker, frame, reply);
}

static void die (const char *format, ...) G_GNUC_PRINTF (1, 2) G_GNUC_NORETURN;

static void
die (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("%s: %s\n", g_get_prgname (), message);
  exit (EXIT_FAILURE);
}

int
main (int argc, char **argv)
{
  g_autoptr (UcWorkerReader) reader = NULL;
  g_autoptr (GError) socket_error = NULL;
  Worker worker = { NULL, NULL, NULL, NULL };
  struct stat st;

  setlocale (LC_ALL, "");
  uc_i18n_init ();
  g_set_prgname ("unixctld-worker");
  g_log_writer_default_set_use_stderr (TRUE);

  signal (SIGINT, SIG_IGN);
  signal (SIGPIPE, SIG_IGN);
  prctl (PR_SET_PDEATHSIG, SIGKILL);

  if (argc > 1)
    die (_ ("takes no arguments; it is started by unixctld"));
  if (fstat (UC_WORKER_FD, &st) < 0 || !S_ISSOCK (st.st_mode))
    die (_ ("descriptor %d is not a socket; this program is started by "
            "unixctld"),
         UC_WORKER_FD);
  /* Inherited without close-on-exec, as descriptors handed over are; this
   * process runs nothing, but nothing should inherit the socket. */
  fcntl (UC_WORKER_FD, F_SETFD, FD_CLOEXEC);
  /* The daemon may have died before the death signal was asked for. */
  if (getppid () == 1)
    return EXIT_SUCCESS;

  /* Blocking (the default): g_socket_receive_message() and
   * g_socket_send_message() wait until they can proceed.  GSocket makes
   * the descriptor non-blocking and emulates that with poll(): a read
   * that finds nothing costs recvmsg(), poll() and recvmsg() again, which
   * is every read of a worker that waits for its next request.  Only
   * timeouts and cancellation need the emulation, and this loop has
   * neither: the descriptor goes back to blocking in the kernel, so that
   * a read is one recvmsg().  (Should that fail, the emulation still
   * works.) */
  worker.socket = g_socket_new_from_fd (UC_WORKER_FD, &socket_error);
  if (worker.socket == NULL)
    die (_ ("descriptor %d: %s"), UC_WORKER_FD, socket_error->message);
  g_unix_set_fd_nonblocking (UC_WORKER_FD, FALSE, NULL);
  worker.held =
    g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, held_fd_free);
  worker.empty = g_bytes_new_static ("", 0);
  worker.type_cache = uc_worker_type_cache_new ();
  reader = uc_worker_reader_new (worker.socket, check_request_header, NULL);

  for (;;)
    {
      g_autoptr (UcWorkerFrame) frame = NULL;
      g_autoptr (GError) error = NULL;
      g_auto (Reply) reply = { 0 };

      switch (uc_worker_reader_read (reader, &frame, &error))
        {
          case UC_WORKER_READ_FRAME:
            break;
          case UC_WORKER_READ_EOF:
            g_hash_table_unref (worker.held);
            g_bytes_unref (worker.empty);
            g_ptr_array_unref (worker.type_cache);
            g_object_unref (worker.socket);
            return EXIT_SUCCESS;
          case UC_WORKER_READ_AGAIN:
            die (_ ("the socket is non-blocking"));
          case UC_WORKER_READ_FAILED:
          default:
            die (_ ("reading a request: %s"), error->message);
        }

      reply.fds = uc_worker_fd_array_new ();
      serve (&worker, frame, &reply);
      if (!send_reply (&worker, frame, &reply, &error))
        {
          /* The daemon is gone or closed its end: nothing more to do. */
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
              g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
            return EXIT_SUCCESS;
          die (_ ("sending a reply: %s"), error->message);
        }
    }
}
