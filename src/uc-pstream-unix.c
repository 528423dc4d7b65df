/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "pstream_unix"

#include "config.h"

#include "uc-pstream-private.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "uc-stream-private.h"

/* `punix:FILE`: a unix domain socket that only its owner can connect to. */
struct _UcPstreamUnix
{
  UcPstream parent_instance;

  char *path; /* (owned): absolute */
  /* The identity of the socket file we bound, so that close removes that
   * file and not one a successor has bound at the same path since. */
  gboolean bound;
  dev_t dev;
  ino_t ino;
};

G_DEFINE_FINAL_TYPE (UcPstreamUnix, uc_pstream_unix, UC_TYPE_PSTREAM)

/* Sets @error to `Cannot listen on "NAME": REASON`. */
G_GNUC_PRINTF (4, 5)
static void
set_listen_error (GError **error,
                  UcPstreamUnix *self,
                  int code,
                  const char *format,
                  ...)
{
  g_autofree char *quoted = NULL;
  g_autofree char *reason = NULL;
  va_list args;

  quoted = uc_stream_quote (uc_pstream_get_name (UC_PSTREAM (self)));
  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, G_IO_ERROR, code, _ ("Cannot listen on \"%s\": %s"),
               quoted, reason);
}

static void
prefix_listen_error (GError **error, UcPstreamUnix *self)
{
  g_autofree char *quoted = NULL;

  quoted = uc_stream_quote (uc_pstream_get_name (UC_PSTREAM (self)));
  g_prefix_error (error, _ ("Cannot listen on \"%s\": "), quoted);
}

static gboolean
uc_pstream_unix_parse (UcPstream *pstream,
                       const char *suffix,
                       const char *rundir,
                       GError **error)
{
  UcPstreamUnix *self = UC_PSTREAM_UNIX (pstream);

  if (!uc_stream_parse_unix_path (UC_STREAM_KIND_PASSIVE,
                                  uc_pstream_get_name (pstream), suffix, rundir,
                                  &self->path, error))
    return FALSE;
  uc_pstream_set_path (pstream, self->path);
  return TRUE;
}

/* Makes room for binding at @self->path: nothing there is fine; a socket
 * that refuses connections was left by a process that died without
 * cleaning up, and is removed; anything else stays and is an error. */
static gboolean
clear_stale_socket (UcPstreamUnix *self, GError **error)
{
  g_autofree char *quoted_path = uc_stream_quote (self->path);
  g_autoptr (GSocket) probe = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GError) local_error = NULL;
  GStatBuf st;

  if (g_lstat (self->path, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT)
        return TRUE;
      set_listen_error (error, self, g_io_error_from_errno (saved_errno),
                        _ ("cannot check \"%s\": %s"), quoted_path,
                        g_strerror (saved_errno));
      return FALSE;
    }

  if (!S_ISSOCK (st.st_mode))
    {
      set_listen_error (error, self, G_IO_ERROR_EXISTS,
                        _ ("\"%s\" exists and is not a socket"), quoted_path);
      return FALSE;
    }

  /* Ask the socket itself whether it is stale: only a connection attempt
   * tells a live listener from a leftover file.  A unix domain connect
   * never waits, so a non-blocking one answers at once. */
  probe = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                        G_SOCKET_PROTOCOL_DEFAULT, error);
  if (probe == NULL)
    {
      prefix_listen_error (error, self);
      return FALSE;
    }
  g_socket_set_blocking (probe, FALSE);
  address = g_unix_socket_address_new (self->path);

  if (g_socket_connect (probe, address, NULL, &local_error)
      /* The listener's queue is full: busy, and certainly alive. */
      || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      set_listen_error (error, self, G_IO_ERROR_ADDRESS_IN_USE,
                        _ ("\"%s\" is in use by a running process"),
                        quoted_path);
      return FALSE;
    }

  /* Removed meanwhile: nothing left to clear. */
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return TRUE;

  if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    {
      set_listen_error (error, self, local_error->code,
                        _ ("cannot check whether \"%s\" is in use: %s"),
                        quoted_path, local_error->message);
      return FALSE;
    }

  if (g_unlink (self->path) != 0 && errno != ENOENT)
    {
      int saved_errno = errno;

      set_listen_error (error, self, g_io_error_from_errno (saved_errno),
                        _ ("cannot remove stale socket \"%s\": %s"),
                        quoted_path, g_strerror (saved_errno));
      return FALSE;
    }
  g_debug ("%s: removed stale socket", self->path);
  return TRUE;
}

static GPtrArray *
uc_pstream_unix_open_sockets (UcPstream *pstream, int backlog, GError **error)
{
  UcPstreamUnix *self = UC_PSTREAM_UNIX (pstream);
  g_autofree char *quoted_path = uc_stream_quote (self->path);
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GPtrArray) sockets = NULL;
  GStatBuf st;
  mode_t old_umask;
  gboolean bound;

  if (!clear_stale_socket (self, error))
    return NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    {
      prefix_listen_error (error, self);
      return NULL;
    }
  address = g_unix_socket_address_new (self->path);

  /* bind() creates the file with mode 0777 less the umask, and Linux
   * ignores fchmod() on a socket before bind, so the umask is the only way
   * to have the file private from the instant it exists; chmod() after
   * bind would leave a window in which anyone may connect.  The umask is
   * process-wide, but changing it for these few system calls is
   * acceptable: it is restored at once, and a file another thread creates
   * meanwhile can only come out more private than asked, never less. */
  old_umask = umask (0077);
  bound = g_socket_bind (socket, address, FALSE, error);
  umask (old_umask);
  if (!bound)
    {
      prefix_listen_error (error, self);
      return NULL;
    }

  /* From here on the file is ours: remember which file it is, so that
   * only it is ever removed. */
  if (g_lstat (self->path, &st) != 0)
    {
      int saved_errno = errno;

      set_listen_error (error, self, g_io_error_from_errno (saved_errno),
                        _ ("cannot check \"%s\": %s"), quoted_path,
                        g_strerror (saved_errno));
      return NULL;
    }
  self->bound = TRUE;
  self->dev = st.st_dev;
  self->ino = st.st_ino;

  /* 0700 from the umask already keeps others out (connecting needs write
   * permission); 0600 says plainly that it is not meant to be executed. */
  if (g_chmod (self->path, 0600) != 0)
    {
      int saved_errno = errno;

      set_listen_error (error, self, g_io_error_from_errno (saved_errno),
                        _ ("cannot restrict \"%s\" to its owner: %s"),
                        quoted_path, g_strerror (saved_errno));
      UC_PSTREAM_GET_CLASS (self)->close (pstream);
      return NULL;
    }

  g_socket_set_listen_backlog (socket, backlog);
  if (!g_socket_listen (socket, error))
    {
      prefix_listen_error (error, self);
      UC_PSTREAM_GET_CLASS (self)->close (pstream);
      return NULL;
    }

  sockets = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (sockets, g_steal_pointer (&socket));
  return g_steal_pointer (&sockets);
}

static void
uc_pstream_unix_close (UcPstream *pstream)
{
  UcPstreamUnix *self = UC_PSTREAM_UNIX (pstream);
  GStatBuf st;

  if (!self->bound)
    return;
  self->bound = FALSE;

  /* Another daemon may have replaced a socket it found stale (ours, if we
   * hung) and now listen at the same path: its file is not ours to
   * remove.  The check and the unlink are not atomic, but the window is
   * two system calls long and the race needs a replacement in between. */
  if (g_lstat (self->path, &st) != 0 || st.st_dev != self->dev ||
      st.st_ino != self->ino)
    {
      g_debug ("%s: socket file replaced since bind, not removing it",
               self->path);
      return;
    }
  if (g_unlink (self->path) != 0 && errno != ENOENT)
    g_warning ("%s: cannot remove socket: %s", self->path, g_strerror (errno));
}

static char *
uc_pstream_unix_describe (UcPstream *pstream)
{
  UcPstreamUnix *self = UC_PSTREAM_UNIX (pstream);

  return g_strconcat ("punix:", self->path, NULL);
}

static void
uc_pstream_unix_finalize (GObject *object)
{
  UcPstreamUnix *self = UC_PSTREAM_UNIX (object);

  g_free (self->path);

  G_OBJECT_CLASS (uc_pstream_unix_parent_class)->finalize (object);
}

static void
uc_pstream_unix_class_init (UcPstreamUnixClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  UcPstreamClass *pstream_class = UC_PSTREAM_CLASS (klass);

  object_class->finalize = uc_pstream_unix_finalize;

  pstream_class->parse = uc_pstream_unix_parse;
  pstream_class->open_sockets = uc_pstream_unix_open_sockets;
  pstream_class->close = uc_pstream_unix_close;
  pstream_class->describe = uc_pstream_unix_describe;
}

static void
uc_pstream_unix_init (UcPstreamUnix *self)
{
}
