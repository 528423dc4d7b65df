/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "uc-worker.h"

G_BEGIN_DECLS

/* The first four bytes of every frame: "UCWK". */
#define UC_WORKER_MAGIC 0x4b574355u

/* Bumped on any incompatible change; the daemon and its worker are built
 * together, so a mismatch means a broken or foreign peer. */
#define UC_WORKER_PROTOCOL_VERSION 1

/* Bytes of the fixed header in front of every payload. */
#define UC_WORKER_HEADER_SIZE 24

/* The worker's end of the socketpair, in the worker. */
#define UC_WORKER_FD 3

/**
 * UcWorkerKind:
 * @UC_WORKER_KIND_REQUEST: daemon to worker: run a method.
 * @UC_WORKER_KIND_REPLY: worker to daemon: the method's result.
 * @UC_WORKER_KIND_ERROR: worker to daemon: the method failed; the
 *   payload is a `(is)` GVariant, errno and message.
 *
 * What a frame is.
 */
typedef enum
{
  UC_WORKER_KIND_REQUEST = 1,
  UC_WORKER_KIND_REPLY = 2,
  UC_WORKER_KIND_ERROR = 3,
} UcWorkerKind;

/**
 * UcWorkerHeader:
 * @kind: a #UcWorkerKind
 * @method: a #UcWorkerMethod
 * @id: the request's id, copied into its reply
 * @payload_length: bytes after the header
 * @n_fds: descriptors carried, in one #GUnixFDMessage (SCM_RIGHTS) sent
 *   with the header's first byte
 *
 * A frame header, unpacked.  On the wire it is 24 bytes, little-endian:
 *
 * |[
 *  0  u32 magic "UCWK"      4  u8 version     5  u8 kind
 *  6  u16 method            8  u64 id
 * 16  u32 payload length   20  u16 fd count  22  u16 reserved, zero
 * ]|
 */
typedef struct
{
  UcWorkerKind kind;
  guint16 method;
  guint64 id;
  guint32 payload_length;
  guint16 n_fds;
} UcWorkerHeader;

/**
 * UcWorkerFrame:
 * @header: the header
 * @payload: (owned): the payload
 * @fds: (owned) (element-type int): the descriptors received with the
 *   frame, close-on-exec; freeing the array closes those still in it
 *
 * A frame as received.
 */
typedef struct
{
  UcWorkerHeader header;
  GBytes *payload;
  GArray *fds;
} UcWorkerFrame;

/**
 * UcWorkerReadStatus:
 * @UC_WORKER_READ_FRAME: a whole frame was read.
 * @UC_WORKER_READ_AGAIN: nothing more to read now (non-blocking sockets).
 * @UC_WORKER_READ_EOF: the peer closed the socket between frames.
 * @UC_WORKER_READ_FAILED: an I/O error, or a peer that broke the protocol
 *   (%UC_ERROR_PROTOCOL), a frame cut short by end of file included; the
 *   stream cannot be trusted any further.
 *
 * What uc_worker_reader_read() found.
 */
typedef enum
{
  UC_WORKER_READ_FRAME,
  UC_WORKER_READ_AGAIN,
  UC_WORKER_READ_EOF,
  UC_WORKER_READ_FAILED,
} UcWorkerReadStatus;

/**
 * UcWorkerHeaderCheck:
 * @header: a header that passed the checks every frame must pass
 * @user_data: the data given to uc_worker_reader_new()
 * @error: return location for a #GError
 *
 * The receiving side's own checks of a header (the kinds it accepts, the
 * ids it waits for), run as soon as the header is complete, before the
 * payload is read.
 *
 * Returns: %TRUE if the frame may be read, otherwise %FALSE with @error
 *   set (%UC_ERROR_PROTOCOL)
 */
typedef gboolean (*UcWorkerHeaderCheck) (const UcWorkerHeader *header,
                                         gpointer user_data,
                                         GError **error);

typedef struct _UcWorkerReader UcWorkerReader;

/* clang-format off */
const char     *uc_worker_kind_to_string    (UcWorkerKind          kind);
void            uc_worker_header_pack       (const UcWorkerHeader *header,
                                             guint8                bytes[UC_WORKER_HEADER_SIZE]);
gboolean        uc_worker_header_unpack     (const guint8          bytes[UC_WORKER_HEADER_SIZE],
                                             UcWorkerHeader       *header,
                                             GError              **error);

gboolean        uc_worker_send_frame        (GSocket              *socket,
                                             const guint8          header[UC_WORKER_HEADER_SIZE],
                                             const void           *payload,
                                             gsize                 payload_length,
                                             GUnixFDList          *fds,
                                             gsize                *offset,
                                             GError              **error);

UcWorkerReader *uc_worker_reader_new        (GSocket              *socket,
                                             UcWorkerHeaderCheck   check,
                                             gpointer              user_data);
void            uc_worker_reader_free       (UcWorkerReader       *reader);
UcWorkerReadStatus uc_worker_reader_read    (UcWorkerReader       *reader,
                                             UcWorkerFrame       **frame,
                                             GError              **error);

void            uc_worker_frame_free        (UcWorkerFrame        *frame);
GArray         *uc_worker_fd_array_new      (void);
GVariant       *uc_worker_variant_from_bytes (GBytes              *bytes,
                                              const GVariantType  *type,
                                              GError             **error);
GPtrArray      *uc_worker_type_cache_new    (void);
/* clang-format on */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UcWorkerReader, uc_worker_reader_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UcWorkerFrame, uc_worker_frame_free)

G_END_DECLS
