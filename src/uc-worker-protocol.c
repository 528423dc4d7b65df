/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "worker-protocol"

#include "config.h"

#include "uc-worker-protocol.h"

#include <gio/gunixfdmessage.h>
#include <glib/gi18n.h>
#include <string.h>
#include <sys/socket.h>

#include "uc-error.h"
#include "uc-fd.h"
#include "uc-system-stats.h"

/*
 * The frames the daemon and its worker exchange over their socketpair,
 * and the two calls that move them over a #GSocket: a writer that sends
 * each frame with g_socket_send_message() calls of its own, and a reader
 * that reads greedily with g_socket_receive_message() (one read takes a
 * small frame whole, or many pipelined ones) and cuts the frames out of
 * its buffer.  Both work on blocking sockets (the worker) and
 * non-blocking ones (the daemon's main loop), so both sides share every
 * check.
 *
 * Descriptors ride in one #GUnixFDMessage (SCM_RIGHTS) on the send that
 * starts a frame, and only on it: that send carries this frame's bytes
 * and no other frame's, so the message that carries them starts with
 * the frame's first byte.  Frames without descriptors go without control
 * messages, and cost no object.  On a stream socket the kernel hands
 * descriptors over with the read that takes the first byte of their
 * message, and ends that read with that message (it never reads past it
 * into the next one).  So descriptors belong to the last frame that
 * starts within the read that brought them; the reader keeps each read's
 * descriptors with the stream offsets the read covered, and gives them to
 * that frame (take_frame_fds()).
 */
/* Bytes a read asks for when no frame needs more: many small frames, or a
 * good part of a large one. */
#define READ_CHUNK 65536

/* The descriptors one read brought, and where in the stream that read
 * was. */
typedef struct
{
  GArray *fds;   /* (owned) (element-type int) */
  guint64 begin; /* stream offset of the read's first byte */
  guint64 end;   /* and one past its last */
} FdBatch;

struct _UcWorkerReader
{
  GSocket *socket; /* (owned) */
  UcWorkerHeaderCheck check;
  gpointer check_data; /* (unowned) */

  guint8 *buf; /* (owned) bytes read, [start, end) not yet returned */
  gsize capacity;
  gsize start;
  gsize end;
  guint64 offset;   /* stream offset of buf[start] */
  gboolean drained; /* the last read came back short */
  GQueue batches;   /* (element-type FdBatch) (owned) not yet claimed */

  gboolean have_header; /* the frame at @start has a valid header */
  UcWorkerHeader header;
  GArray *frame_fds; /* (owned) (nullable) its descriptors */
};

/**
 * uc_worker_kind_to_string:
 * @kind: a frame kind
 *
 * Returns: the kind's name, for messages; "unknown" for anything else
 */
const char *
uc_worker_kind_to_string (UcWorkerKind kind)
{
  switch (kind)
    {
      case UC_WORKER_KIND_REQUEST:
        return "request";
      case UC_WORKER_KIND_REPLY:
        return "reply";
      case UC_WORKER_KIND_ERROR:
        return "error";
      default:
        return "unknown";
    }
}

static void
put_u16 (guint8 *p, guint16 value)
{
  value = GUINT16_TO_LE (value);
  memcpy (p, &value, sizeof value);
}

static void
put_u32 (guint8 *p, guint32 value)
{
  value = GUINT32_TO_LE (value);
  memcpy (p, &value, sizeof value);
}

static void
put_u64 (guint8 *p, guint64 value)
{
  value = GUINT64_TO_LE (value);
  memcpy (p, &value, sizeof value);
}

static guint16
get_u16 (const guint8 *p)
{
  guint16 value;

  memcpy (&value, p, sizeof value);
  return GUINT16_FROM_LE (value);
}

static guint32
get_u32 (const guint8 *p)
{
  guint32 value;

  memcpy (&value, p, sizeof value);
  return GUINT32_FROM_LE (value);
}

static guint64
get_u64 (const guint8 *p)
{
  guint64 value;

  memcpy (&value, p, sizeof value);
  return GUINT64_FROM_LE (value);
}

/**
 * uc_worker_header_pack:
 * @header: the header to write
 * @bytes: (out caller-allocates): its wire form
 *
 * Writes @header in the wire format, with the current magic and version.
 */
void
uc_worker_header_pack (const UcWorkerHeader *header,
                       guint8 bytes[UC_WORKER_HEADER_SIZE])
{
  put_u32 (bytes, UC_WORKER_MAGIC);
  bytes[4] = UC_WORKER_PROTOCOL_VERSION;
  bytes[5] = (guint8) header->kind;
  put_u16 (bytes + 6, header->method);
  put_u64 (bytes + 8, header->id);
  put_u32 (bytes + 16, header->payload_length);
  put_u16 (bytes + 20, header->n_fds);
  put_u16 (bytes + 22, 0);
}

/**
 * uc_worker_header_unpack:
 * @bytes: a header's wire form
 * @header: (out caller-allocates): the header read
 * @error: return location for a #GError
 *
 * Reads a header and checks what every frame must satisfy, whoever sent
 * it: the magic and version, a known kind and method, a zero reserved
 * field, a payload within %UC_WORKER_MAX_PAYLOAD and at most
 * %UC_WORKER_MAX_FDS descriptors.
 *
 * Returns: %TRUE if @header is valid, otherwise %FALSE with
 *   %UC_ERROR_PROTOCOL saying which check failed
 */
gboolean
uc_worker_header_unpack (const guint8 bytes[UC_WORKER_HEADER_SIZE],
                         UcWorkerHeader *header,
                         GError **error)
{
  guint32 magic = get_u32 (bytes);
  guint8 kind = bytes[5];

  if (magic != UC_WORKER_MAGIC)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL, _ ("bad magic 0x%08x"),
                   (unsigned) magic);
      return FALSE;
    }
  if (bytes[4] != UC_WORKER_PROTOCOL_VERSION)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("unsupported protocol version %u (expected %u)"),
                   (unsigned) bytes[4], (unsigned) UC_WORKER_PROTOCOL_VERSION);
      return FALSE;
    }
  if (kind < UC_WORKER_KIND_REQUEST || kind > UC_WORKER_KIND_ERROR)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("unknown frame kind %u"), (unsigned) kind);
      return FALSE;
    }

  header->kind = (UcWorkerKind) kind;
  header->method = get_u16 (bytes + 6);
  header->id = get_u64 (bytes + 8);
  header->payload_length = get_u32 (bytes + 16);
  header->n_fds = get_u16 (bytes + 20);

  if (header->method < UC_WORKER_METHOD_PING ||
      header->method > UC_WORKER_METHOD_LAST)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL, _ ("unknown method %u"),
                   (unsigned) header->method);
      return FALSE;
    }
  if (get_u16 (bytes + 22) != 0)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("reserved header field is not zero"));
      return FALSE;
    }
  if (header->payload_length > UC_WORKER_MAX_PAYLOAD)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("payload of %u bytes exceeds the limit of %u bytes"),
                   (unsigned) header->payload_length,
                   (unsigned) UC_WORKER_MAX_PAYLOAD);
      return FALSE;
    }
  if (header->n_fds > UC_WORKER_MAX_FDS)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("%u descriptors exceed the limit of %u"),
                   (unsigned) header->n_fds, (unsigned) UC_WORKER_MAX_FDS);
      return FALSE;
    }
  return TRUE;
}

/**
 * uc_worker_send_frame:
 * @socket: a connected stream socket, blocking or not
 * @header: the packed header
 * @payload: (array length=payload_length) (nullable): the payload
 * @payload_length: its length
 * @fds: (nullable): descriptors to pass, at most %UC_WORKER_MAX_FDS
 * @offset: (inout): bytes of the frame already sent; 0 for a new frame
 * @error: return location for a #GError
 *
 * Sends the rest of a frame, from *@offset on, with g_socket_send_message()
 * calls that carry this frame's bytes and no other frame's.  Descriptors
 * go in one #GUnixFDMessage with the frame's first byte: only a send that
 * starts at offset 0 carries them, and it is a send of their frame's own.
 * The rest of a frame, and a frame without descriptors, goes without any
 * control message, and without creating any object.
 *
 * @fds stays the caller's, and is not modified: the message only refers
 * to it, and the kernel takes references of its own to the descriptors
 * with the first byte.  So the caller closes them (unrefs @fds) when it
 * likes, at the earliest once the first byte is sent; until then a
 * resumed send needs them again.
 *
 * On a blocking socket this returns once the frame is sent.  On a
 * non-blocking one it sends what the socket takes, updates *@offset and
 * fails with %G_IO_ERROR_WOULD_BLOCK when it is full: call again, with
 * the same arguments, when it is writable.
 *
 * Returns: %TRUE once the whole frame is sent, otherwise %FALSE with
 *   @error set (%G_IO_ERROR_WOULD_BLOCK, or the send's error)
 */
gboolean
uc_worker_send_frame (GSocket *socket,
                      const guint8 header[UC_WORKER_HEADER_SIZE],
                      const void *payload,
                      gsize payload_length,
                      GUnixFDList *fds,
                      gsize *offset,
                      GError **error)
{
  gsize total = UC_WORKER_HEADER_SIZE + payload_length;
  int n_fds = fds != NULL ? g_unix_fd_list_get_length (fds) : 0;

  g_return_val_if_fail (G_IS_SOCKET (socket), FALSE);
  g_return_val_if_fail (n_fds <= UC_WORKER_MAX_FDS, FALSE);
  g_return_val_if_fail (payload != NULL || payload_length == 0, FALSE);

  while (*offset < total)
    {
      g_autoptr (GSocketControlMessage) message = NULL;
      GOutputVector vectors[2];
      int n_vectors = 1;
      gssize n;

      if (*offset < UC_WORKER_HEADER_SIZE)
        {
          vectors[0].buffer = header + *offset;
          vectors[0].size = UC_WORKER_HEADER_SIZE - *offset;
          vectors[1].buffer = payload;
          vectors[1].size = payload_length;
          n_vectors = payload_length > 0 ? 2 : 1;
        }
      else
        {
          vectors[0].buffer =
            (const guint8 *) payload + (*offset - UC_WORKER_HEADER_SIZE);
          vectors[0].size = total - *offset;
        }
      if (*offset == 0 && n_fds > 0)
        message = g_unix_fd_message_new_with_fd_list (fds);

      /* GSocket sends with MSG_NOSIGNAL: a dead peer is an error to
       * handle, not SIGPIPE. */
      n = g_socket_send_message (
        socket, NULL, vectors, n_vectors, message != NULL ? &message : NULL,
        message != NULL ? 1 : 0, G_SOCKET_MSG_NONE, NULL, error);
      if (n < 0)
        return FALSE;
      *offset += (gsize) n;
    }
  return TRUE;
}

static void
fd_clear (gpointer data)
{
  uc_fd_clear (data);
}

/**
 * uc_worker_fd_array_new:
 *
 * An array of descriptors that closes those still in it when freed: set
 * an element to -1 to take it.
 *
 * Returns: (transfer full) (element-type int): an empty array
 */
GArray *
uc_worker_fd_array_new (void)
{
  GArray *fds = g_array_new (FALSE, FALSE, sizeof (int));

  g_array_set_clear_func (fds, fd_clear);
  return fds;
}

/**
 * uc_worker_frame_free:
 * @frame: (transfer full) (nullable): a frame
 *
 * Frees @frame, closing the descriptors still in it.
 */
void
uc_worker_frame_free (UcWorkerFrame *frame)
{
  if (frame == NULL)
    return;
  g_clear_pointer (&frame->payload, g_bytes_unref);
  g_clear_pointer (&frame->fds, g_array_unref);
  g_free (frame);
}

/**
 * uc_worker_reader_new:
 * @socket: the connected stream socket to read, blocking or not
 * @check: (nullable) (scope notified): the receiving side's header checks
 * @user_data: data for @check
 *
 * Creates a reader of the frames that arrive on @socket.  It reads with
 * g_socket_receive_message(), so it waits on a blocking socket, and
 * returns %UC_WORKER_READ_AGAIN on a non-blocking one.
 *
 * Returns: (transfer full): a new reader, which holds a reference to
 *   @socket
 */
UcWorkerReader *
uc_worker_reader_new (GSocket *socket,
                      UcWorkerHeaderCheck check,
                      gpointer user_data)
{
  UcWorkerReader *reader;

  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);

  reader = g_new0 (UcWorkerReader, 1);
  reader->socket = g_object_ref (socket);
  reader->check = check;
  reader->check_data = user_data;
  g_queue_init (&reader->batches);
  return reader;
}

static void
fd_batch_free (FdBatch *batch)
{
  g_clear_pointer (&batch->fds, g_array_unref);
  g_free (batch);
}

/**
 * uc_worker_reader_free:
 * @reader: (transfer full) (nullable): a reader
 *
 * Frees @reader and what it has read of frames not yet returned, closing
 * the descriptors received with them.
 */
void
uc_worker_reader_free (UcWorkerReader *reader)
{
  if (reader == NULL)
    return;
  g_queue_clear_full (&reader->batches, (GDestroyNotify) fd_batch_free);
  g_clear_pointer (&reader->frame_fds, g_array_unref);
  g_clear_pointer (&reader->buf, g_free);
  g_clear_object (&reader->socket);
  g_free (reader);
}

/* One g_socket_receive_message() into @buf; the descriptors that came
 * with it are appended to *@fds, an array made for the first of them
 * (most reads bring none).  Returns the bytes read, 0 at end of file, or
 * -1 with @error.
 *
 * GLib receives with MSG_CMSG_CLOEXEC (g_socket_receive_message() always
 * adds it on Linux; GUnixFDMessage sets FD_CLOEXEC again): a descriptor
 * is close-on-exec from the moment it exists in this process, so none
 * can leak into a process the daemon spawns meanwhile. */
static gssize
receive_some (GSocket *socket,
              void *buf,
              gsize length,
              GArray **fds,
              GError **error)
{
  GInputVector vector = { buf, length };
  GSocketControlMessage **messages = NULL;
  int n_messages = 0;
  int flags = G_SOCKET_MSG_NONE;
  const char *foreign = NULL;
  g_autoptr (GError) local_error = NULL;
  gssize n;

  n = g_socket_receive_message (socket, NULL, &vector, 1, &messages,
                                &n_messages, &flags, NULL, &local_error);

  /* Every descriptor goes to *@fds first, whatever else is wrong: they
   * are closed with it. */
  for (int i = 0; i < n_messages; i++)
    {
      if (G_IS_UNIX_FD_MESSAGE (messages[i]))
        {
          int n_received = 0;
          g_autofree int *received = g_unix_fd_message_steal_fds (
            G_UNIX_FD_MESSAGE (messages[i]), &n_received);

          if (*fds == NULL)
            *fds = uc_worker_fd_array_new ();
          g_array_append_vals (*fds, received, (guint) n_received);
        }
      else if (foreign == NULL)
        foreign = G_OBJECT_TYPE_NAME (messages[i]);
      g_object_unref (messages[i]);
    }
  g_free (messages);

  if (n < 0)
    {
      /* A peer that closes its end with data of ours unread resets the
       * connection (ECONNRESET): after what it sent, that is its end of
       * file. */
      if (g_error_matches (local_error, G_IO_ERROR,
                           G_IO_ERROR_CONNECTION_CLOSED))
        return 0;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return -1;
    }
  /* Descriptors that did not fit (in GLib's buffer, or under this
   * process's limit of open files) are dropped by the kernel: the count
   * cannot be checked, and the frame they came with is lost.  What did
   * fit is in *@fds. */
  if ((flags & MSG_CTRUNC) != 0)
    {
      g_set_error_literal (error, UC_ERROR, UC_ERROR_PROTOCOL,
                           _ ("descriptors cut off (MSG_CTRUNC): too many "
                              "sent, or too many open here"));
      return -1;
    }
  if (foreign != NULL)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("unexpected control message %s (only descriptors may "
                      "come with a frame)"),
                   foreign);
      return -1;
    }
  return n;
}

/* Reads once into the buffer: as much as there is, up to a chunk, or up
 * to the end of the current frame if that is further.  Returns what
 * receive_some() does. */
static gssize
fill (UcWorkerReader *reader, GError **error)
{
  g_autoptr (GArray) fds = NULL;
  gsize buffered = reader->end - reader->start;
  gsize want = READ_CHUNK;
  gssize n;

  if (reader->have_header)
    {
      gsize frame = UC_WORKER_HEADER_SIZE + reader->header.payload_length;

      want = MAX (want, frame - buffered);
    }

  /* Unread bytes go to the front; a buffer grown for a large frame is
   * given back once it is empty. */
  if (reader->start > 0)
    {
      memmove (reader->buf, reader->buf + reader->start, buffered);
      reader->start = 0;
      reader->end = buffered;
    }
  if (buffered + want > reader->capacity ||
      (buffered == 0 && reader->capacity > 2 * READ_CHUNK &&
       want == READ_CHUNK))
    {
      reader->capacity = buffered + want;
      reader->buf = g_realloc (reader->buf, reader->capacity);
    }

  n = receive_some (reader->socket, reader->buf + reader->end,
                    reader->capacity - reader->end, &fds, error);
  if (n < 0)
    return n;
  if (fds != NULL && fds->len > 0)
    {
      FdBatch *batch = g_new0 (FdBatch, 1);

      batch->fds = g_steal_pointer (&fds);
      batch->begin = reader->offset + buffered;
      batch->end = batch->begin + (guint64) n;
      g_queue_push_tail (&reader->batches, batch);
    }
  /* Short: the socket had nothing more (or the kernel stopped after a
   * message with descriptors; the next read takes the rest). */
  reader->drained = (gsize) n < reader->capacity - reader->end;
  reader->end += (gsize) n;
  return n;
}

static void
set_stray_descriptors (GError **error)
{
  g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
               _ ("descriptors sent after the first byte of a frame"));
}

/* The descriptors of the frame whose header starts at @begin and which
 * ends at @end.  The kernel hands descriptors over with the read that
 * takes the first byte of the message that carries them, and ends that
 * read with that message: so they belong to the last frame that starts
 * within that read, and a read that brought descriptors but holds no
 * frame's start means a peer that put them elsewhere. */
static gboolean
take_frame_fds (UcWorkerReader *reader,
                guint64 begin,
                guint64 end,
                GArray **fds,
                GError **error)
{
  FdBatch *batch = g_queue_peek_head (&reader->batches);

  if (batch != NULL && batch->end <= begin)
    {
      set_stray_descriptors (error);
      return FALSE;
    }
  if (batch != NULL && batch->begin <= begin && end >= batch->end)
    {
      g_queue_pop_head (&reader->batches);
      *fds = g_steal_pointer (&batch->fds);
      fd_batch_free (batch);
    }
  else
    *fds = uc_worker_fd_array_new ();
  return TRUE;
}

/* Takes the next frame from the buffer, if it is all there. */
static UcWorkerReadStatus
parse (UcWorkerReader *reader, UcWorkerFrame **frame, GError **error)
{
  gsize buffered = reader->end - reader->start;
  const guint8 *data = reader->buf + reader->start;
  gsize length;
  FdBatch *batch;

  if (!reader->have_header)
    {
      guint64 end;

      if (buffered < UC_WORKER_HEADER_SIZE)
        return UC_WORKER_READ_AGAIN;
      if (!uc_worker_header_unpack (data, &reader->header, error))
        return UC_WORKER_READ_FAILED;
      end =
        reader->offset + UC_WORKER_HEADER_SIZE + reader->header.payload_length;
      if (!take_frame_fds (reader, reader->offset, end, &reader->frame_fds,
                           error))
        return UC_WORKER_READ_FAILED;
      if (reader->frame_fds->len != reader->header.n_fds)
        {
          g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                       _ ("%s frame announces %u descriptors but carries "
                          "%u"),
                       uc_worker_kind_to_string (reader->header.kind),
                       (unsigned) reader->header.n_fds,
                       (unsigned) reader->frame_fds->len);
          return UC_WORKER_READ_FAILED;
        }
      if (reader->check != NULL &&
          !reader->check (&reader->header, reader->check_data, error))
        return UC_WORKER_READ_FAILED;
      reader->have_header = TRUE;
    }

  length = UC_WORKER_HEADER_SIZE + reader->header.payload_length;
  if (buffered < length)
    return UC_WORKER_READ_AGAIN;

  /* Descriptors that came with a read that ended within this frame and
   * that no frame claimed never will be. */
  batch = g_queue_peek_head (&reader->batches);
  if (batch != NULL && batch->end <= reader->offset + length)
    {
      set_stray_descriptors (error);
      return UC_WORKER_READ_FAILED;
    }

  *frame = g_new0 (UcWorkerFrame, 1);
  (*frame)->header = reader->header;
  (*frame)->payload =
    g_bytes_new (data + UC_WORKER_HEADER_SIZE, reader->header.payload_length);
  (*frame)->fds = g_steal_pointer (&reader->frame_fds);
  reader->start += length;
  reader->offset += length;
  reader->have_header = FALSE;
  return UC_WORKER_READ_FRAME;
}

/* End of file: fine between frames, otherwise a frame was cut short. */
static UcWorkerReadStatus
end_of_file (UcWorkerReader *reader, GError **error)
{
  gsize buffered = reader->end - reader->start;

  if (reader->have_header)
    g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                 _ ("end of file inside a frame payload (%u of %u bytes)"),
                 (unsigned) (buffered - UC_WORKER_HEADER_SIZE),
                 (unsigned) reader->header.payload_length);
  else if (buffered > 0)
    g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                 _ ("end of file inside a frame header (%u of %u bytes)"),
                 (unsigned) buffered, (unsigned) UC_WORKER_HEADER_SIZE);
  else if (!g_queue_is_empty (&reader->batches))
    set_stray_descriptors (error);
  else
    return UC_WORKER_READ_EOF;
  return UC_WORKER_READ_FAILED;
}

/**
 * uc_worker_reader_read:
 * @reader: a reader
 * @frame: (out) (transfer full): the frame read, on %UC_WORKER_READ_FRAME
 * @error: return location for a #GError, set on %UC_WORKER_READ_FAILED
 *
 * Returns the next frame, reading the socket as needed: greedily, so that
 * one read takes a small frame whole, or several pipelined ones, which
 * later calls return without reading.  On a non-blocking socket it
 * returns %UC_WORKER_READ_AGAIN without another read once a read came
 * back short (the socket had nothing more): wait until it is readable.
 *
 * Besides the checks of uc_worker_header_unpack() and the reader's own
 * header check, it makes sure that descriptors came only with a frame's
 * first byte, exactly as many as its header announces, none cut off
 * (MSG_CTRUNC), that no control message other than a #GUnixFDMessage
 * came, and that no frame is cut short by end of file.  Descriptors of a
 * frame that fails a check are closed; those of a frame returned are the
 * caller's, close-on-exec.
 *
 * Returns: what was found; after %UC_WORKER_READ_FAILED the stream is out
 *   of step and must be abandoned
 */
UcWorkerReadStatus
uc_worker_reader_read (UcWorkerReader *reader,
                       UcWorkerFrame **frame,
                       GError **error)
{
  gboolean nonblocking = !g_socket_get_blocking (reader->socket);

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      UcWorkerReadStatus status = parse (reader, frame, error);
      gssize n;

      if (status != UC_WORKER_READ_AGAIN)
        return status;
      if (nonblocking && reader->drained)
        {
          reader->drained = FALSE;
          return UC_WORKER_READ_AGAIN;
        }

      n = fill (reader, &local_error);
      if (n == 0)
        return end_of_file (reader, error);
      if (n < 0)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return UC_WORKER_READ_AGAIN;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return UC_WORKER_READ_FAILED;
        }
    }
}

/**
 * uc_worker_variant_from_bytes:
 * @bytes: a payload received from the peer
 * @type: the type it must have
 * @error: return location for a #GError
 *
 * Reads a payload as a GVariant of @type, trusting nothing: it must be in
 * normal form (which also means valid UTF-8 strings and sane offsets), so
 * that a broken peer cannot make later accesses go wrong.
 *
 * Returns: (transfer full): the value, otherwise %NULL with
 *   %UC_ERROR_PROTOCOL
 */
GVariant *
uc_worker_variant_from_bytes (GBytes *bytes,
                              const GVariantType *type,
                              GError **error)
{
  g_autoptr (GVariant) value = g_variant_new_from_bytes (type, bytes, FALSE);

  if (!g_variant_is_normal_form (value))
    {
      g_autofree char *type_string = g_variant_type_dup_string (type);

      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   _ ("payload is not a valid “%s” value in normal form "
                      "(%u bytes)"),
                   type_string, (unsigned) g_bytes_get_size (bytes));
      return NULL;
    }
  return g_variant_ref_sink (g_steal_pointer (&value));
}

/**
 * uc_worker_type_cache_new:
 *
 * Keeps what GLib derives from the payloads' types cached.  GLib 2.74
 * keeps a type's information (its string, sizes and offsets) only while
 * a value of that type exists, and derives it again for the next one;
 * no payload outlives its frame, so each frame would pay for that, on
 * both sides.  An empty value of each type the protocol carries, kept for
 * as long as frames flow, keeps that information alive.
 *
 * Returns: (transfer full) (element-type GVariant): the values to keep
 */
GPtrArray *
uc_worker_type_cache_new (void)
{
  const GVariantType *const types[] = {
    G_VARIANT_TYPE ("(a(stt)ay)"), /* ping reply */
    G_VARIANT_TYPE ("(ayiu)"),     /* open request */
    G_VARIANT_TYPE ("(t)"),        /* hold and release requests */
    G_VARIANT_TYPE ("(ttay)"),     /* append request */
    UC_SYSTEM_STATS_REQUEST_TYPE,  /* system-stats request */
    UC_SYSTEM_STATS_TYPE,          /* system-stats reply */
    G_VARIANT_TYPE ("(is)"),       /* error reply */
  };
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  GPtrArray *values = g_ptr_array_new_full (G_N_ELEMENTS (types),
                                            (GDestroyNotify) g_variant_unref);

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_from_bytes (
                               types[i], empty, TRUE)));
  return values;
}
