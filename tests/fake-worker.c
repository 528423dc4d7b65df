/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "fake-worker"

#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixfdmessage.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uc-worker-protocol.h"
#include "uc-worker.h"

/*
 * fake-worker: a broken unixctld-worker, for test-worker.  Started by a
 * UcWorker in place of the real one, with the socket as descriptor 3:
 *
 *   fake-worker [--once=STATEFILE] MODE
 *
 * It reads the first request and answers it the way MODE says (most
 * modes break the protocol), then reads on until killed or the end of
 * file.  With --once, it does so only if STATEFILE does not exist yet
 * (and creates it); otherwise it becomes the real worker ($UNIXCTLD_WORKER)
 * at once: so that the worker a UcWorker restarts is a good one, and the
 * calls replayed to it succeed.
 *
 * Modes that answer a ping expect one with no descriptors.
 *
 * Frames go through the real writer (uc_worker_send_frame(), on a
 * blocking #GSocket), even broken ones, as long as it can send them;
 * what it never sends (descriptors apart from a frame's first byte, more
 * of them than the header announces) goes with a g_socket_send_message()
 * of its own.  Descriptors cut off by the kernel (MSG_CTRUNC) cannot be
 * provoked from here: GLib's receive buffer holds more than one message
 * can carry, so /worker/protocol/ctrunc runs the daemon's reader out of
 * descriptors instead.
 */

/* Descriptor 3, blocking. */
static GSocket *worker_socket;

static void
send_frame (const guint8 *header,
            const void *payload,
            gsize length,
            GUnixFDList *fds)
{
  g_autoptr (GError) error = NULL;
  gsize offset = 0;

  if (!uc_worker_send_frame (worker_socket, header, payload, length, fds,
                             &offset, &error))
    {
      /* Killed for what it sent before: nothing to say. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
        _exit (EXIT_FAILURE);
      g_error ("send: %s", error->message);
    }
}

/* A list with a copy of standard input's descriptor. */
static GUnixFDList *
stdin_copy (void)
{
  GUnixFDList *fds = g_unix_fd_list_new ();

  if (g_unix_fd_list_append (fds, STDIN_FILENO, NULL) < 0)
    g_error ("dup: %s", g_strerror (errno));
  return fds;
}

/* Sends @data with a copy of standard input's descriptor in a
 * #GUnixFDMessage, in one send, bypassing every check of
 * uc_worker_send_frame() (which sends descriptors with a frame's first
 * byte only, and as many as the header says). */
static void
send_with_fd (const void *data, gsize length)
{
  g_autoptr (GUnixFDList) fds = stdin_copy ();
  g_autoptr (GSocketControlMessage) message =
    g_unix_fd_message_new_with_fd_list (fds);
  g_autoptr (GError) error = NULL;
  GOutputVector vector = { data, length };

  if (g_socket_send_message (worker_socket, NULL, &vector, 1, &message, 1,
                             G_SOCKET_MSG_NONE, NULL,
                             &error) != (gssize) length)
    g_error ("send: %s", error != NULL ? error->message : "short");
}

/* A valid ping reply: the echo, no descriptors. */
static GBytes *
ping_reply (GBytes *echo)
{
  g_autoptr (GVariant) value = g_variant_ref_sink (g_variant_new (
    "(a(stt)@ay)", NULL,
    g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, echo, TRUE)));

  return g_variant_get_data_as_bytes (value);
}

/* A valid ping reply of exactly %UC_WORKER_MAX_PAYLOAD bytes. */
static GBytes *
max_ping_reply (void)
{
  gsize length = UC_WORKER_MAX_PAYLOAD - 4; /* the tuple's framing offset */
  g_autoptr (GBytes) echo = g_bytes_new_take (g_malloc0 (length), length);
  GBytes *reply = ping_reply (echo);

  g_assert_cmpuint (g_bytes_get_size (reply), ==, UC_WORKER_MAX_PAYLOAD);
  return reply;
}

static void
pack (UcWorkerKind kind,
      guint16 method,
      guint64 id,
      gsize length,
      guint n_fds,
      guint8 bytes[UC_WORKER_HEADER_SIZE])
{
  UcWorkerHeader header = { kind, method, id, (guint32) length,
                            (guint16) n_fds };

  uc_worker_header_pack (&header, bytes);
}

/* Answers @frame (a request) as @mode says; some modes exit instead,
 * with _exit(): a deliberate death, with no leak check of what is live. */
static void
misbehave (const char *mode, UcWorkerFrame *frame)
{
  const UcWorkerHeader *request = &frame->header;
  g_autoptr (GBytes) reply = ping_reply (frame->payload);
  gsize length = g_bytes_get_size (reply);
  const guint8 *data = g_bytes_get_data (reply, NULL);
  guint8 bytes[UC_WORKER_HEADER_SIZE];

  pack (UC_WORKER_KIND_REPLY, request->method, request->id, length, 0, bytes);

  if (g_str_equal (mode, "good"))
    send_frame (bytes, data, length, NULL);
  else if (g_str_equal (mode, "bad-magic"))
    {
      bytes[0] ^= 0xff;
      send_frame (bytes, data, length, NULL);
    }
  else if (g_str_equal (mode, "bad-version"))
    {
      bytes[4] = 9;
      send_frame (bytes, data, length, NULL);
    }
  else if (g_str_equal (mode, "bad-kind"))
    {
      bytes[5] = 7;
      send_frame (bytes, data, length, NULL);
    }
  else if (g_str_equal (mode, "reserved"))
    {
      bytes[23] = 1;
      send_frame (bytes, data, length, NULL);
    }
  else if (g_str_equal (mode, "request-kind"))
    {
      pack (UC_WORKER_KIND_REQUEST, request->method, request->id, length, 0,
            bytes);
      send_frame (bytes, data, length, NULL);
    }
  else if (g_str_equal (mode, "unknown-method"))
    {
      pack (UC_WORKER_KIND_REPLY, 99, request->id, length, 0, bytes);
      send_frame (bytes, data, length, NULL);
    }
  else if (g_str_equal (mode, "wrong-method"))
    {
      pack (UC_WORKER_KIND_REPLY, UC_WORKER_METHOD_OPEN, request->id, length, 0,
            bytes);
      send_frame (bytes, data, length, NULL);
    }
  else if (g_str_equal (mode, "wrong-id"))
    {
      pack (UC_WORKER_KIND_REPLY, request->method, request->id + 1000, length,
            0, bytes);
      send_frame (bytes, data, length, NULL);
    }
  else if (g_str_equal (mode, "over-limit"))
    {
      pack (UC_WORKER_KIND_REPLY, request->method, request->id,
            (gsize) UC_WORKER_MAX_PAYLOAD + 1, 0, bytes);
      send_frame (bytes, data, length, NULL);
    }
  else if (g_str_equal (mode, "more-fds"))
    send_with_fd (bytes, sizeof bytes);
  else if (g_str_equal (mode, "fewer-fds"))
    {
      pack (UC_WORKER_KIND_REPLY, request->method, request->id, length, 1,
            bytes);
      send_frame (bytes, data, length, NULL);
    }
  else if (g_str_equal (mode, "extra-reply-fd"))
    {
      g_autoptr (GUnixFDList) fds = stdin_copy ();

      pack (UC_WORKER_KIND_REPLY, request->method, request->id, length, 1,
            bytes);
      send_frame (bytes, data, length, fds);
    }
  else if (g_str_equal (mode, "fd-after-first-byte"))
    {
      send_frame (bytes, NULL, 0, NULL);
      send_with_fd (data, length);
    }
  else if (g_str_equal (mode, "truncated-header"))
    {
      if (g_socket_send (worker_socket, (const char *) bytes, 10, NULL, NULL) !=
          10)
        g_error ("cannot send half a header");
      _exit (EXIT_SUCCESS);
    }
  else if (g_str_equal (mode, "truncated-payload"))
    {
      gsize offset = 0;

      pack (UC_WORKER_KIND_REPLY, request->method, request->id, length + 100, 0,
            bytes);
      if (!uc_worker_send_frame (worker_socket, bytes, data, length, NULL,
                                 &offset, NULL))
        g_error ("send failed");
      _exit (EXIT_SUCCESS);
    }
  else if (g_str_equal (mode, "garbage"))
    {
      guint8 junk[64];

      memset (junk, 0xab, sizeof junk);
      send_frame (junk, junk + UC_WORKER_HEADER_SIZE,
                  sizeof junk - UC_WORKER_HEADER_SIZE, NULL);
    }
  else if (g_str_equal (mode, "bad-payload"))
    {
      static const guint8 invalid[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };

      pack (UC_WORKER_KIND_REPLY, request->method, request->id, sizeof invalid,
            0, bytes);
      send_frame (bytes, invalid, sizeof invalid, NULL);
    }
  else if (g_str_equal (mode, "bad-error-payload"))
    {
      /* Too short for the int32 that an "(is)" starts with. */
      static const guint8 invalid[] = { 1, 2 };

      pack (UC_WORKER_KIND_ERROR, request->method, request->id, sizeof invalid,
            0, bytes);
      send_frame (bytes, invalid, sizeof invalid, NULL);
    }
  else if (g_str_equal (mode, "max-reply"))
    {
      g_autoptr (GBytes) big = max_ping_reply ();

      pack (UC_WORKER_KIND_REPLY, request->method, request->id,
            g_bytes_get_size (big), 0, bytes);
      send_frame (bytes, g_bytes_get_data (big, NULL), g_bytes_get_size (big),
                  NULL);
    }
  else if (g_str_equal (mode, "reply-then-exit"))
    {
      /* An echo the real worker would not send: proof of who answered. */
      g_autoptr (GBytes) mine = g_bytes_new_static ("from the fake", 13);
      g_autoptr (GBytes) answer = ping_reply (mine);

      pack (UC_WORKER_KIND_REPLY, request->method, request->id,
            g_bytes_get_size (answer), 0, bytes);
      send_frame (bytes, g_bytes_get_data (answer, NULL),
                  g_bytes_get_size (answer), NULL);
      _exit (3);
    }
  else if (g_str_equal (mode, "exit-after-request"))
    _exit (3);
  else if (g_str_equal (mode, "hang"))
    {
      for (;;)
        pause ();
    }
  else
    g_error ("unknown mode %s", mode);
}

int
main (int argc, char **argv)
{
  g_autofree char *state_file = NULL;
  g_autoptr (UcWorkerReader) reader = NULL;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  const GOptionEntry entries[] = {
    { "once", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME, &state_file,
      "Misbehave only if FILE does not exist, else run the real worker",
      "FILE" },
    G_OPTION_ENTRY_NULL,
  };
  const char *mode;

  context = g_option_context_new ("MODE");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    g_error ("usage: fake-worker [--once=STATEFILE] MODE");
  mode = argv[1];

  if (state_file != NULL)
    {
      if (g_file_test (state_file, G_FILE_TEST_EXISTS))
        {
          const char *real = g_getenv ("UNIXCTLD_WORKER");
          char *real_argv[] = { (char *) real, NULL };

          if (real == NULL)
            g_error ("UNIXCTLD_WORKER is not set");
          execv (real, real_argv);
          g_error ("cannot run %s: %s", real, g_strerror (errno));
        }
      if (!g_file_set_contents (state_file, "", 0, &error))
        g_error ("%s", error->message);
    }

  if (g_str_equal (mode, "exit"))
    return 3;
  if (g_str_equal (mode, "sleep-exit"))
    {
      g_usleep (150 * 1000);
      return 3;
    }

  worker_socket = g_socket_new_from_fd (UC_WORKER_FD, &error);
  if (worker_socket == NULL)
    g_error ("%s", error->message);
  reader = uc_worker_reader_new (worker_socket, NULL, NULL);
  for (guint n = 0;; n++)
    {
      g_autoptr (UcWorkerFrame) frame = NULL;

      switch (uc_worker_reader_read (reader, &frame, &error))
        {
          case UC_WORKER_READ_FRAME:
            break;
          case UC_WORKER_READ_EOF:
            g_clear_object (&worker_socket);
            return EXIT_SUCCESS;
          case UC_WORKER_READ_AGAIN:
          case UC_WORKER_READ_FAILED:
          default:
            g_error ("read: %s",
                     error != NULL ? error->message : "would block");
        }
      /* Broken once; the frames that follow are answered well, for modes
       * whose breakage the daemon does not notice (none, or max-reply). */
      misbehave (n == 0 ? mode : "good", frame);
    }
}
