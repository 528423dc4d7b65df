/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <json-glib/json-glib.h>

#include "uc-error.h"
#include "uc-jsonrpc.h"
#include "uc-rate-limit.h"
#include "uc-test-util.h"

/* Larger than any socket buffer the tests leave in place. */
#define BIG_RESULT_SIZE (1024 * 1024)

/* Dispatches everything that is ready now, without waiting.  Whatever has
 * not happened afterwards would not happen without a new event. */
static void
settle (void)
{
  guint i;

  for (i = 0; i < 10000 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_assert_cmpuint (i, <, 10000);
}

/* Runs @func from a main loop dispatch, as owner code mostly runs: GTask
 * calls back at once there, where outside one it always defers. */
typedef struct
{
  GSourceFunc func;
  gpointer data;
  gboolean ran;
} Dispatch;

static gboolean
dispatch_cb (gpointer user_data)
{
  Dispatch *dispatch = user_data;

  dispatch->func (dispatch->data);
  dispatch->ran = TRUE;
  return G_SOURCE_REMOVE;
}

static void
run_in_dispatch (GSourceFunc func, gpointer data)
{
  Dispatch dispatch = { func, data, FALSE };

  g_idle_add (dispatch_cb, &dispatch);
  uc_test_wait_until (dispatch.ran);
}

/* Results of async calls. */

typedef struct
{
  gboolean done;
  UcJsonrpcMessage *message; /* (owned) (nullable) */
  GError *error;             /* (owned) (nullable) */
  gsize backlog;             /* the connection's backlog at completion */
} Result;

static void
result_clear (Result *result)
{
  g_clear_pointer (&result->message, uc_jsonrpc_message_unref);
  g_clear_error (&result->error);
  result->done = FALSE;
}

static void
on_received (GObject *source_object, GAsyncResult *res, gpointer user_data)
{
  Result *result = user_data;
  UcJsonrpc *rpc = UC_JSONRPC (source_object);

  g_assert_false (result->done);
  result->message = uc_jsonrpc_receive_finish (rpc, res, &result->error);
  g_assert_true ((result->message == NULL) != (result->error == NULL));
  result->backlog = uc_jsonrpc_get_backlog (rpc);
  result->done = TRUE;
}

static void
on_flushed (GObject *source_object, GAsyncResult *res, gpointer user_data)
{
  Result *result = user_data;
  UcJsonrpc *rpc = UC_JSONRPC (source_object);
  gboolean ok;

  g_assert_false (result->done);
  ok = uc_jsonrpc_flush_finish (rpc, res, &result->error);
  g_assert_true (ok == (result->error == NULL));
  result->backlog = uc_jsonrpc_get_backlog (rpc);
  result->done = TRUE;
}

/* Messages. */

static UcJsonrpcMessage *
make_request (const char *method, const char *arg, gint64 id)
{
  g_autoptr (JsonArray) params = json_array_new ();
  JsonNode *params_node = json_node_new (JSON_NODE_ARRAY);

  if (arg != NULL)
    json_array_add_string_element (params, arg);
  json_node_set_array (params_node, params);
  return uc_jsonrpc_message_new_request (
    method, params_node, json_node_init_int (json_node_alloc (), id));
}

static UcJsonrpcMessage *
make_reply (const char *text, gint64 id)
{
  return uc_jsonrpc_message_new_reply (
    json_node_init_string (json_node_alloc (), text),
    json_node_init_int (json_node_alloc (), id));
}

static UcJsonrpcMessage *
make_big_reply (gint64 id)
{
  g_autofree char *text = g_malloc (BIG_RESULT_SIZE + 1);

  memset (text, 'x', BIG_RESULT_SIZE);
  text[BIG_RESULT_SIZE] = '\0';
  return make_reply (text, id);
}

static void
assert_request (UcJsonrpcMessage *message, const char *method, gint64 id)
{
  g_assert_nonnull (message);
  g_assert_cmpint (uc_jsonrpc_message_get_message_type (message), ==,
                   UC_JSONRPC_MESSAGE_REQUEST);
  g_assert_cmpstr (uc_jsonrpc_message_get_method (message), ==, method);
  g_assert_cmpint (json_node_get_int (uc_jsonrpc_message_get_id (message)), ==,
                   id);
}

/* Sockets. */

static GSocketConnection *
connection_from_fd (int fd)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = g_socket_new_from_fd (fd, &error);

  g_assert_no_error (error);
  return g_socket_connection_factory_create_connection (socket);
}

static void
make_pair (GSocketConnection **local, GSocketConnection **remote)
{
  int fds[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
  *local = connection_from_fd (fds[0]);
  *remote = connection_from_fd (fds[1]);
  g_socket_set_blocking (g_socket_connection_get_socket (*remote), FALSE);
}

static void
shrink_buffers (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr (GError) error = NULL;

  g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUF, 4096, &error);
  g_assert_no_error (error);
  g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, 4096, &error);
  g_assert_no_error (error);
}

/* Writes @length bytes of @data as the peer, running the main context
 * while the socket is full.  Returns %FALSE if the other end closed
 * first, which is only allowed if @may_fail. */
static gboolean
peer_write (GSocket *peer, const char *data, gsize length, gboolean may_fail)
{
  gsize done = 0;

  while (done < length)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_send (peer, data + done, length - done, NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          uc_test_wait_socket (peer, G_IO_OUT);
          continue;
        }
      if (n < 0 && may_fail &&
          (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)))
        return FALSE;
      g_assert_no_error (error);
      done += (gsize) n;
    }
  return TRUE;
}

static void
peer_write_string (GSocket *peer, const char *text)
{
  peer_write (peer, text, strlen (text), FALSE);
}

/* Reads exactly @length bytes as the peer, running the main context while
 * none are there. */
static char *
peer_read (GSocket *peer, gsize length)
{
  g_autofree char *data = g_malloc (length + 1);
  gsize done = 0;

  while (done < length)
    {
      g_autoptr (GError) error = NULL;
      gssize n =
        g_socket_receive (peer, data + done, length - done, NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          uc_test_wait_socket (peer, G_IO_IN);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      done += (gsize) n;
    }
  data[length] = '\0';
  return g_steal_pointer (&data);
}

/* Reads as the peer until the other end has closed.  A close with unread
 * input shows as a reset on Linux, which counts as closed too.  Returns
 * the number of bytes read before the end. */
static gsize
peer_read_until_closed (GSocket *peer)
{
  char buffer[65536];
  gsize total = 0;

  while (TRUE)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_receive (peer, buffer, sizeof buffer, NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          uc_test_wait_socket (peer, G_IO_IN);
          continue;
        }
      if (n < 0 &&
          g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
        return total;
      g_assert_no_error (error);
      if (n == 0)
        return total;
      total += (gsize) n;
    }
}

/* Fixture: a UcJsonrpc on one end of a socketpair, a raw socket on the
 * other. */

typedef struct
{
  GSocketConnection *local;  /* (owned) the end @rpc wraps */
  GSocketConnection *remote; /* (owned) the peer's end */
  GSocket *peer;             /* (unowned) the socket of @remote */
  UcJsonrpc *rpc;            /* (owned) (nullable) */
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  make_pair (&fixture->local, &fixture->remote);
  fixture->peer = g_socket_connection_get_socket (fixture->remote);
  fixture->rpc = uc_jsonrpc_new (G_IO_STREAM (fixture->local), "test#1");
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  g_clear_object (&fixture->rpc);
  g_clear_object (&fixture->local);
  g_clear_object (&fixture->remote);
  /* Let deferred completions and stream closes run, for the leak check. */
  settle ();
}

/* Tests. */

static void
test_round_trip (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcJsonrpcMessage) request = make_request ("echo", "hello", 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *sent = NULL;
  const char *reply = "{\"id\":1,\"result\":\"hello\",\"error\":null}";
  gsize length = 0;
  Result received = { 0 };
  Result flushed = { 0 };

  g_assert_cmpstr (uc_jsonrpc_get_name (fixture->rpc), ==, "test#1");
  g_assert_true (uc_jsonrpc_get_stream (fixture->rpc) ==
                 G_IO_STREAM (fixture->local));

  g_assert_true (uc_jsonrpc_send (fixture->rpc, request, &error));
  g_assert_no_error (error);
  /* A small message goes out at once. */
  g_assert_cmpuint (uc_jsonrpc_get_backlog (fixture->rpc), ==, 0);

  expected = uc_jsonrpc_message_to_string (request, &length);
  sent = peer_read (fixture->peer, length);
  g_assert_cmpstr (sent, ==, expected);

  uc_jsonrpc_flush_async (fixture->rpc, NULL, on_flushed, &flushed);
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  /* Neither calls back from within the call. */
  g_assert_false (flushed.done);
  g_assert_false (received.done);

  peer_write_string (fixture->peer, reply);
  uc_test_wait_until (received.done && flushed.done);
  g_assert_no_error (flushed.error);
  g_assert_no_error (received.error);
  g_assert_cmpint (uc_jsonrpc_message_get_message_type (received.message), ==,
                   UC_JSONRPC_MESSAGE_REPLY);
  g_assert_cmpstr (
    json_node_get_string (uc_jsonrpc_message_get_result (received.message)), ==,
    "hello");
  g_assert_cmpint (
    json_node_get_int (uc_jsonrpc_message_get_id (received.message)), ==, 1);
  g_assert_cmpuint (uc_jsonrpc_get_received_bytes (fixture->rpc), ==,
                    strlen (reply));
  g_assert_false (uc_jsonrpc_is_closed (fixture->rpc));

  result_clear (&received);
}

static void
test_pipelined (Fixture *fixture, gconstpointer user_data)
{
  const char *input = "  {\"method\":\"a\",\"params\":[],\"id\":1}\n"
                      "\t{\"method\":\"b\",\"params\":[],\"id\":2} \r\n"
                      "{\"method\":\"c\",\"params\":[\"x\"],\"id\":3}";
  Result received = { 0 };

  peer_write_string (fixture->peer, input);

  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  g_assert_no_error (received.error);
  assert_request (received.message, "a", 1);
  /* One read took all three. */
  g_assert_cmpuint (uc_jsonrpc_get_received_bytes (fixture->rpc), ==,
                    strlen (input));
  result_clear (&received);

  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  g_assert_no_error (received.error);
  assert_request (received.message, "b", 2);
  result_clear (&received);

  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  g_assert_no_error (received.error);
  assert_request (received.message, "c", 3);
  result_clear (&received);

  g_assert_cmpuint (uc_jsonrpc_get_received_bytes (fixture->rpc), ==,
                    strlen (input));

  /* Nothing more is there: the next receive waits for the peer. */
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  settle ();
  g_assert_false (received.done);
  peer_write_string (fixture->peer,
                     "{\"method\":\"d\",\"params\":[],\"id\":4}");
  uc_test_wait_until (received.done);
  assert_request (received.message, "d", 4);
  result_clear (&received);
}

/* Connections share one read buffer: what one connection read beyond a
 * message must survive another connection's read. */
static void
test_shared_buffer (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSocketConnection) other_local = NULL;
  g_autoptr (GSocketConnection) other_remote = NULL;
  g_autoptr (UcJsonrpc) other = NULL;
  Result received = { 0 };
  Result other_received = { 0 };

  make_pair (&other_local, &other_remote);
  other = uc_jsonrpc_new (G_IO_STREAM (other_local), "test#2");

  peer_write_string (fixture->peer,
                     "{\"method\":\"a1\",\"params\":[],\"id\":1}"
                     "{\"method\":\"a2\",\"params\":[],\"id\":2}");
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  assert_request (received.message, "a1", 1);
  result_clear (&received);

  peer_write_string (g_socket_connection_get_socket (other_remote),
                     "{\"method\":\"bb\",\"params\":[],\"id\":3}"
                     "{\"method\":\"b2\",\"params\":[],\"id\":4}");
  uc_jsonrpc_receive_async (other, NULL, on_received, &other_received);
  uc_test_wait_until (other_received.done);
  assert_request (other_received.message, "bb", 3);
  result_clear (&other_received);

  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  assert_request (received.message, "a2", 2);
  result_clear (&received);

  uc_jsonrpc_receive_async (other, NULL, on_received, &other_received);
  uc_test_wait_until (other_received.done);
  assert_request (other_received.message, "b2", 4);
  result_clear (&other_received);
}

/* When the second request reaches the connection. */
typedef enum
{
  SECOND_IN_FIRST_READ,  /* came in the same read as the first */
  SECOND_AFTER_SEND,     /* arrives while the reply is queued */
  SECOND_WHILE_RECEIVING /* arrives while the receive was already reading */
} SecondArrival;

/* Receives the first request, queues a reply too big for the socket, then
 * checks that the next receive completes only once the peer has read the
 * whole reply, and does not even read from the stream before. */
static void
check_no_receive_while_unsent (Fixture *fixture, SecondArrival arrival)
{
  const char *first = "{\"method\":\"first\",\"params\":[],\"id\":1}";
  const char *second = "{\"method\":\"second\",\"params\":[],\"id\":2}";
  g_autoptr (UcJsonrpcMessage) reply = make_big_reply (1);
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *read = NULL;
  gsize length = 0;
  guint64 received_bytes;
  Result received = { 0 };

  shrink_buffers (fixture->local);
  shrink_buffers (fixture->remote);

  if (arrival == SECOND_IN_FIRST_READ)
    {
      g_autofree char *both = g_strconcat (first, second, NULL);
      peer_write_string (fixture->peer, both);
    }
  else
    peer_write_string (fixture->peer, first);

  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  assert_request (received.message, "first", 1);
  result_clear (&received);

  /* A client receives before it sends: the receive is reading already
   * when the send queues. */
  if (arrival == SECOND_WHILE_RECEIVING)
    {
      uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
      settle ();
    }

  g_assert_true (uc_jsonrpc_send (fixture->rpc, reply, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (uc_jsonrpc_get_backlog (fixture->rpc), >, 0);

  if (arrival != SECOND_WHILE_RECEIVING)
    uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  if (arrival != SECOND_IN_FIRST_READ)
    peer_write_string (fixture->peer, second);
  received_bytes = uc_jsonrpc_get_received_bytes (fixture->rpc);
  settle ();
  g_assert_false (received.done);
  /* Not even read from the stream. */
  g_assert_cmpuint (uc_jsonrpc_get_received_bytes (fixture->rpc), ==,
                    received_bytes);
  g_assert_cmpuint (uc_jsonrpc_get_backlog (fixture->rpc), >, 0);

  expected = uc_jsonrpc_message_to_string (reply, &length);
  read = peer_read (fixture->peer, length);
  g_assert_true (memcmp (read, expected, length) == 0);

  uc_test_wait_until (received.done);
  g_assert_no_error (received.error);
  assert_request (received.message, "second", 2);
  g_assert_cmpuint (received.backlog, ==, 0);
  result_clear (&received);
}

static void
test_unsent_blocks_buffered (Fixture *fixture, gconstpointer user_data)
{
  check_no_receive_while_unsent (fixture, SECOND_IN_FIRST_READ);
}

static void
test_unsent_blocks_stream (Fixture *fixture, gconstpointer user_data)
{
  check_no_receive_while_unsent (fixture, SECOND_AFTER_SEND);
}

static void
test_unsent_blocks_receiving (Fixture *fixture, gconstpointer user_data)
{
  check_no_receive_while_unsent (fixture, SECOND_WHILE_RECEIVING);
}

static void
test_flush (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcJsonrpcMessage) reply = make_big_reply (7);
  g_autoptr (UcJsonrpcMessage) small = make_reply ("small", 8);
  g_autoptr (GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *read = NULL;
  gsize first_length = 0;
  gsize second_length = 0;
  Result flushed = { 0 };
  Result flushed_again = { 0 };

  shrink_buffers (fixture->local);

  g_assert_true (uc_jsonrpc_send (fixture->rpc, reply, &error));
  g_assert_true (uc_jsonrpc_send (fixture->rpc, small, &error));
  g_assert_no_error (error);

  first = uc_jsonrpc_message_to_string (reply, &first_length);
  second = uc_jsonrpc_message_to_string (small, &second_length);
  g_assert_cmpuint (uc_jsonrpc_get_backlog (fixture->rpc), >, 0);
  g_assert_cmpuint (uc_jsonrpc_get_backlog (fixture->rpc), <=,
                    first_length + second_length);

  uc_jsonrpc_flush_async (fixture->rpc, NULL, on_flushed, &flushed);
  uc_jsonrpc_flush_async (fixture->rpc, NULL, on_flushed, &flushed_again);
  settle ();
  g_assert_false (flushed.done);
  g_assert_false (flushed_again.done);

  /* Both messages arrive, back to back, in order. */
  read = peer_read (fixture->peer, first_length + second_length);
  g_assert_true (memcmp (read, first, first_length) == 0);
  g_assert_true (memcmp (read + first_length, second, second_length) == 0);

  uc_test_wait_until (flushed.done && flushed_again.done);
  g_assert_no_error (flushed.error);
  g_assert_no_error (flushed_again.error);
  g_assert_cmpuint (flushed.backlog, ==, 0);
}

static void
test_backlog_full (Fixture *fixture, gconstpointer user_data)
{
  const gsize max_backlog = 64 * 1024;
  g_autofree char *text = g_strnfill (1000, 'y');
  g_autoptr (UcJsonrpcMessage) reply = make_reply (text, 1);
  g_autoptr (GError) error = NULL;
  gsize length = 0;
  Result flushed = { 0 };
  gboolean flushing = FALSE;
  guint i;

  g_free (uc_jsonrpc_message_to_string (reply, &length));
  shrink_buffers (fixture->local);
  uc_jsonrpc_set_max_backlog (fixture->rpc, max_backlog);

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_WARNING,
                         "test#1: peer is not reading: backlog of * bytes "
                         "exceeds 65536");

  /* The peer never reads: the queue grows to its bound, never past. */
  for (i = 0; i < 100000; i++)
    {
      if (!uc_jsonrpc_send (fixture->rpc, reply, &error))
        break;
      g_assert_cmpuint (uc_jsonrpc_get_backlog (fixture->rpc), <=,
                        max_backlog + length);
      if (!flushing && uc_jsonrpc_get_backlog (fixture->rpc) > 0)
        {
          uc_jsonrpc_flush_async (fixture->rpc, NULL, on_flushed, &flushed);
          flushing = TRUE;
        }
    }
  g_assert_error (error, UC_ERROR, UC_ERROR_BACKLOG_FULL);
  g_assert_true (flushing);
  g_test_assert_expected_messages ();

  g_assert_true (uc_jsonrpc_is_closed (fixture->rpc));
  g_assert_cmpuint (uc_jsonrpc_get_backlog (fixture->rpc), ==, 0);

  /* The pending flush learns why. */
  g_assert_false (flushed.done);
  uc_test_wait_until (flushed.done);
  g_assert_error (flushed.error, UC_ERROR, UC_ERROR_BACKLOG_FULL);
  g_clear_error (&flushed.error);

  g_clear_error (&error);
  g_assert_false (uc_jsonrpc_send (fixture->rpc, reply, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);

  /* The peer gets what was written, then the end. */
  g_assert_cmpuint (peer_read_until_closed (fixture->peer) % length, ==, 0);
}

typedef struct
{
  const char *name;
  gsize max_size;             /* 0 for the default */
  const char *input;          /* (nullable): what the peer sends */
  char *(*make_input) (void); /* (nullable): or makes it, if large */
  int code;
  const char *log;
} LimitCase;

static char *
make_too_large (void)
{
  g_autofree char *filler = g_strnfill (4096, 'a');

  return g_strdup_printf ("{\"method\":\"x\",\"params\":[\"%s\"],\"id\":1}",
                          filler);
}

static char *
make_too_deep (void)
{
  GString *input = g_string_new ("{\"method\":\"x\",\"params\":");
  guint i;

  for (i = 0; i < 100000; i++)
    g_string_append_c (input, '[');
  return g_string_free (input, FALSE);
}

static char *
make_too_complex (void)
{
  GString *input = g_string_new ("{\"method\":\"x\",\"params\":[");
  guint i;

  /* 3000 values in 6 kB: each value costs json-glib far more than its
   * two bytes of text. */
  for (i = 0; i < 3000; i++)
    g_string_append (input, "1,");
  g_string_append (input, "1],\"id\":1}");
  return g_string_free (input, FALSE);
}

static const LimitCase limit_cases[] = {
  { "too-large", 1024, NULL, make_too_large, UC_ERROR_MESSAGE_TOO_LARGE,
    "test#1: error parsing stream: *" },
  { "too-deep", 0, NULL, make_too_deep, UC_ERROR_TOO_DEEP,
    "test#1: error parsing stream: *" },
  { "too-complex", 8192, NULL, make_too_complex, UC_ERROR_TOO_COMPLEX,
    "test#1: error parsing stream: *" },
  { "invalid-utf8", 0, "{\"method\":\"\xff\xfe\",\"params\":[],\"id\":1}", NULL,
    UC_ERROR_INVALID_UTF8, "test#1: error parsing stream: *" },
  { "not-object", 0, "[\"method\",\"params\",1]", NULL, UC_ERROR_PROTOCOL,
    "test#1: error parsing stream: *" },
  { "unexpected-member", 0,
    "{\"method\":\"x\",\"params\":[],\"id\":1,\"foo\":2}", NULL,
    UC_ERROR_PROTOCOL,
    "test#1: received bad JSON-RPC message: *unexpected member*" },
  { "bad-json", 0, "{\"method\":\"x\",,\"params\":[],\"id\":1}", NULL,
    UC_ERROR_PROTOCOL, "test#1: received bad JSON-RPC message: *" },
  { "params-not-array", 0, "{\"method\":\"x\",\"params\":{},\"id\":1}", NULL,
    UC_ERROR_PROTOCOL, "test#1: received bad JSON-RPC message: *" },
};

static void
test_limit (Fixture *fixture, gconstpointer user_data)
{
  const LimitCase *limit = user_data;
  g_autofree char *input =
    limit->input != NULL ? g_strdup (limit->input) : limit->make_input ();
  g_autoptr (GSocketConnection) other_local = NULL;
  g_autoptr (GSocketConnection) other_remote = NULL;
  g_autoptr (UcJsonrpc) other = NULL;
  g_autoptr (UcJsonrpcMessage) reply = make_reply ("fine", 9);
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *read = NULL;
  gsize length = 0;
  Result received = { 0 };
  Result other_received = { 0 };

  /* A second connection, mid-receive while the first one fails. */
  make_pair (&other_local, &other_remote);
  other = uc_jsonrpc_new (G_IO_STREAM (other_local), "test#2");
  uc_jsonrpc_receive_async (other, NULL, on_received, &other_received);

  if (limit->max_size != 0)
    uc_jsonrpc_set_max_message_size (fixture->rpc, limit->max_size);

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_WARNING, limit->log);
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  /* The connection may close before the peer is done writing. */
  peer_write (fixture->peer, input, strlen (input), TRUE);
  uc_test_wait_until (received.done);
  g_test_assert_expected_messages ();

  g_assert_error (received.error, UC_ERROR, limit->code);
  g_assert_true (uc_jsonrpc_is_closed (fixture->rpc));
  peer_read_until_closed (fixture->peer);
  result_clear (&received);

  /* The connection stays dead. */
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  g_assert_error (received.error, UC_ERROR, limit->code);
  result_clear (&received);

  /* The other connection is unaffected. */
  g_assert_false (other_received.done);
  peer_write_string (g_socket_connection_get_socket (other_remote),
                     "{\"method\":\"ok\",\"params\":[],\"id\":9}");
  uc_test_wait_until (other_received.done);
  g_assert_no_error (other_received.error);
  assert_request (other_received.message, "ok", 9);
  result_clear (&other_received);

  g_assert_true (uc_jsonrpc_send (other, reply, &error));
  g_assert_no_error (error);
  expected = uc_jsonrpc_message_to_string (reply, &length);
  read = peer_read (g_socket_connection_get_socket (other_remote), length);
  g_assert_cmpstr (read, ==, expected);
}

static void
test_eof_idle (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  Result received = { 0 };

  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  g_socket_shutdown (fixture->peer, FALSE, TRUE, &error);
  g_assert_no_error (error);

  /* No warning: G_DEBUG=fatal-warnings would abort on one. */
  uc_test_wait_until (received.done);
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_true (uc_jsonrpc_is_closed (fixture->rpc));
  result_clear (&received);

  peer_read_until_closed (fixture->peer);
}

static void
test_eof_mid_message (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  Result received = { 0 };

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_WARNING,
                         "test#1: error parsing stream: *middle of a message*");
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  peer_write_string (fixture->peer, "{\"method\":\"echo\",\"par");
  g_socket_shutdown (fixture->peer, FALSE, TRUE, &error);
  g_assert_no_error (error);

  uc_test_wait_until (received.done);
  g_test_assert_expected_messages ();
  g_assert_error (received.error, UC_ERROR, UC_ERROR_PROTOCOL);
  g_assert_true (uc_jsonrpc_is_closed (fixture->rpc));
  result_clear (&received);
}

/* A client that sends its request and shuts down its side at once
 * (`echo ... | nc -U`) still gets its reply. */
static void
test_eof_after_request (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcJsonrpcMessage) reply = make_big_reply (1);
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *read = NULL;
  gsize length = 0;
  Result received = { 0 };

  shrink_buffers (fixture->local);
  peer_write_string (fixture->peer, "{\"method\":\"echo\",\"params\":[],"
                                    "\"id\":1}");
  g_socket_shutdown (fixture->peer, FALSE, TRUE, &error);
  g_assert_no_error (error);

  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  assert_request (received.message, "echo", 1);
  result_clear (&received);

  g_assert_true (uc_jsonrpc_send (fixture->rpc, reply, &error));
  g_assert_no_error (error);
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);

  expected = uc_jsonrpc_message_to_string (reply, &length);
  read = peer_read (fixture->peer, length);
  g_assert_true (memcmp (read, expected, length) == 0);

  uc_test_wait_until (received.done);
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  result_clear (&received);
  g_assert_cmpuint (peer_read_until_closed (fixture->peer), ==, 0);
}

static void
test_read_error (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcJsonrpcMessage) request = make_request ("echo", NULL, 1);
  g_autoptr (GError) error = NULL;
  Result received = { 0 };

  /* A peer that closes with unread input resets the connection. */
  g_assert_true (uc_jsonrpc_send (fixture->rpc, request, &error));
  g_assert_no_error (error);
  g_io_stream_close (G_IO_STREAM (fixture->remote), NULL, &error);
  g_assert_no_error (error);

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_WARNING,
                         "test#1: receive error: *");
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  g_test_assert_expected_messages ();
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_true (uc_jsonrpc_is_closed (fixture->rpc));
  result_clear (&received);
}

typedef struct
{
  Fixture *fixture;
  UcJsonrpcMessage *message;
  Result *received;
  Result *flushed;
} InDispatch;

static gboolean
send_in_dispatch (gpointer user_data)
{
  InDispatch *state = user_data;
  g_autoptr (GError) error = NULL;

  /* The peer goes away; the connection has no chance to notice before
   * it writes. */
  g_io_stream_close (G_IO_STREAM (state->fixture->remote), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (uc_jsonrpc_send (state->fixture->rpc, state->message, &error));
  g_assert_no_error (error);
  g_assert_true (uc_jsonrpc_is_closed (state->fixture->rpc));
  g_assert_false (state->received->done);
  return G_SOURCE_REMOVE;
}

static void
test_write_error (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcJsonrpcMessage) reply = make_reply ("late", 1);
  InDispatch state = { 0 };
  Result received = { 0 };
  Result flushed = { 0 };

  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);

  /* The write fails inside the send: the message was accepted, the
   * connection ends, and the pending receive hears of it later, not from
   * within the send.  A peer gone away is no warning. */
  state.fixture = fixture;
  state.message = reply;
  state.received = &received;
  run_in_dispatch (send_in_dispatch, &state);

  uc_test_wait_until (received.done);
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  result_clear (&received);

  uc_jsonrpc_flush_async (fixture->rpc, NULL, on_flushed, &flushed);
  uc_test_wait_until (flushed.done);
  g_assert_error (flushed.error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  g_clear_error (&flushed.error);
}

static gboolean
close_in_dispatch (gpointer user_data)
{
  InDispatch *state = user_data;
  UcJsonrpc *rpc = state->fixture->rpc;

  uc_jsonrpc_close (rpc);
  g_assert_true (uc_jsonrpc_is_closed (rpc));
  g_assert_cmpuint (uc_jsonrpc_get_backlog (rpc), ==, 0);
  /* Never from within close(). */
  g_assert_false (state->flushed->done);
  g_assert_false (state->received->done);
  uc_jsonrpc_close (rpc);
  return G_SOURCE_REMOVE;
}

static void
test_close_pending (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcJsonrpcMessage) reply = make_big_reply (1);
  g_autoptr (GError) error = NULL;
  InDispatch state = { fixture, NULL, NULL, NULL };
  Result received = { 0 };
  Result flushed = { 0 };

  shrink_buffers (fixture->local);
  g_assert_true (uc_jsonrpc_send (fixture->rpc, reply, &error));
  g_assert_no_error (error);
  uc_jsonrpc_flush_async (fixture->rpc, NULL, on_flushed, &flushed);
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  settle ();
  g_assert_false (flushed.done);
  g_assert_false (received.done);

  state.received = &received;
  state.flushed = &flushed;
  run_in_dispatch (close_in_dispatch, &state);

  uc_test_wait_until (flushed.done && received.done);
  g_assert_error (flushed.error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&flushed.error);
  result_clear (&received);

  g_assert_false (uc_jsonrpc_send (fixture->rpc, reply, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);

  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  result_clear (&received);

  /* The peer sees what was written, then the end; the stream is closed. */
  peer_read_until_closed (fixture->peer);
  uc_test_wait_until (g_io_stream_is_closed (G_IO_STREAM (fixture->local)));
  uc_jsonrpc_close (fixture->rpc);
}

/* Dropping the last reference with operations pending: the operations
 * keep the connection alive until they complete. */
static void
test_unref_pending (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcJsonrpcMessage) reply = make_big_reply (1);
  g_autoptr (GError) error = NULL;
  UcJsonrpc *rpc = g_steal_pointer (&fixture->rpc);
  Result received = { 0 };
  Result flushed = { 0 };

  shrink_buffers (fixture->local);
  g_assert_true (uc_jsonrpc_send (rpc, reply, &error));
  g_assert_no_error (error);
  uc_jsonrpc_flush_async (rpc, NULL, on_flushed, &flushed);
  uc_jsonrpc_receive_async (rpc, NULL, on_received, &received);
  g_object_add_weak_pointer (G_OBJECT (rpc), (gpointer *) &rpc);
  g_object_unref (rpc);
  g_assert_nonnull (rpc);

  /* The peer goes away without reading: the write fails. */
  g_io_stream_close (G_IO_STREAM (fixture->remote), NULL, &error);
  g_assert_no_error (error);
  uc_test_wait_until (flushed.done && received.done);
  g_assert_nonnull (flushed.error);
  g_assert_nonnull (received.error);
  g_clear_error (&flushed.error);
  result_clear (&received);
  uc_test_wait_until (rpc == NULL);
}

/* Dropping the last reference with only queued data closes at once. */
static void
test_unref_queued (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcJsonrpcMessage) reply = make_big_reply (1);
  g_autoptr (GError) error = NULL;
  UcJsonrpc *rpc = g_steal_pointer (&fixture->rpc);

  shrink_buffers (fixture->local);
  g_assert_true (uc_jsonrpc_send (rpc, reply, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (uc_jsonrpc_get_backlog (rpc), >, 0);
  g_object_add_weak_pointer (G_OBJECT (rpc), (gpointer *) &rpc);
  g_object_unref (rpc);
  g_assert_null (rpc);

  g_assert_cmpuint (peer_read_until_closed (fixture->peer), <, BIG_RESULT_SIZE);
  /* The stream counts as closed once the close, run in the background,
   * has reported back. */
  uc_test_wait_until (g_io_stream_is_closed (G_IO_STREAM (fixture->local)));
}

static void
test_cancel_receive (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GCancellable) cancellable2 = g_cancellable_new ();
  Result received = { 0 };

  /* Cancelled while waiting, then halfway through a message: nothing read
   * is lost. */
  uc_jsonrpc_receive_async (fixture->rpc, cancellable, on_received, &received);
  settle ();
  g_cancellable_cancel (cancellable);
  uc_test_wait_until (received.done);
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  result_clear (&received);
  g_assert_false (uc_jsonrpc_is_closed (fixture->rpc));

  uc_jsonrpc_receive_async (fixture->rpc, cancellable2, on_received, &received);
  peer_write_string (fixture->peer, "{\"method\":\"first\",\"params\":[],");
  uc_test_wait_until (uc_jsonrpc_get_received_bytes (fixture->rpc) > 0);
  g_cancellable_cancel (cancellable2);
  uc_test_wait_until (received.done);
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  result_clear (&received);

  /* An already-cancelled receive fails at once, and reads nothing. */
  uc_jsonrpc_receive_async (fixture->rpc, cancellable, on_received, &received);
  uc_test_wait_until (received.done);
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  result_clear (&received);

  peer_write_string (fixture->peer, "\"id\":1}{\"method\":\"second\","
                                    "\"params\":[],\"id\":2}");
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  assert_request (received.message, "first", 1);
  result_clear (&received);

  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  assert_request (received.message, "second", 2);
  result_clear (&received);
}

static void
test_cancel_flush (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcJsonrpcMessage) reply = make_big_reply (1);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *read = NULL;
  gsize length = 0;
  g_autofree char *expected = uc_jsonrpc_message_to_string (reply, &length);
  Result flushed = { 0 };
  Result flushed_again = { 0 };

  shrink_buffers (fixture->local);
  g_assert_true (uc_jsonrpc_send (fixture->rpc, reply, &error));
  g_assert_no_error (error);
  uc_jsonrpc_flush_async (fixture->rpc, cancellable, on_flushed, &flushed);
  uc_jsonrpc_flush_async (fixture->rpc, NULL, on_flushed, &flushed_again);
  g_cancellable_cancel (cancellable);
  uc_test_wait_until (flushed.done);
  g_assert_error (flushed.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&flushed.error);
  g_assert_false (flushed_again.done);

  /* The data still goes out; the other flush still completes. */
  read = peer_read (fixture->peer, length);
  g_assert_true (memcmp (read, expected, length) == 0);
  uc_test_wait_until (flushed_again.done);
  g_assert_no_error (flushed_again.error);
}

static void
on_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  guint *n_notifies = user_data;

  (*n_notifies)++;
}

static void
test_properties (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GIOStream) stream = NULL;
  g_autofree char *name = NULL;
  guint64 max_size = 0;
  guint64 max_backlog = 0;
  guint max_depth = 0;
  guint n_notifies = 0;
  Result received = { 0 };

  g_assert_cmpuint (uc_jsonrpc_get_max_message_size (fixture->rpc), ==,
                    UC_JSON_DEFAULT_MAX_MESSAGE_SIZE);
  g_assert_cmpuint (uc_jsonrpc_get_max_depth (fixture->rpc), ==,
                    UC_JSON_DEFAULT_MAX_DEPTH);
  g_assert_cmpuint (uc_jsonrpc_get_max_backlog (fixture->rpc), ==,
                    UC_JSONRPC_DEFAULT_MAX_BACKLOG);
  g_assert_cmpuint (uc_jsonrpc_get_backlog (fixture->rpc), ==, 0);
  g_assert_cmpuint (uc_jsonrpc_get_received_bytes (fixture->rpc), ==, 0);

  g_signal_connect (fixture->rpc, "notify", G_CALLBACK (on_notify),
                    &n_notifies);
  g_object_set (fixture->rpc, "max-message-size", (guint64) 100, "max-depth",
                5u, "max-backlog", (guint64) 200, NULL);
  g_assert_cmpuint (n_notifies, ==, 3);
  /* Setting the same values again notifies nothing. */
  uc_jsonrpc_set_max_depth (fixture->rpc, 5);
  g_assert_cmpuint (n_notifies, ==, 3);

  g_object_get (fixture->rpc, "stream", &stream, "name", &name,
                "max-message-size", &max_size, "max-depth", &max_depth,
                "max-backlog", &max_backlog, NULL);
  g_assert_true (stream == G_IO_STREAM (fixture->local));
  g_assert_cmpstr (name, ==, "test#1");
  g_assert_cmpuint (max_size, ==, 100);
  g_assert_cmpuint (max_depth, ==, 5);
  g_assert_cmpuint (max_backlog, ==, 200);

  /* The receive limits apply: depth 5 is too shallow for this one. */
  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_WARNING,
                         "test#1: error parsing stream: *depth*");
  uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
  peer_write_string (fixture->peer,
                     "{\"method\":\"x\",\"params\":[[[[[[]]]]]],\"id\":1}");
  uc_test_wait_until (received.done);
  g_test_assert_expected_messages ();
  g_assert_error (received.error, UC_ERROR, UC_ERROR_TOO_DEEP);
  result_clear (&received);
}

static void
test_setter_after_receive (Fixture *fixture, gconstpointer user_data)
{
  if (g_test_subprocess ())
    {
      Result received = { 0 };

      uc_jsonrpc_receive_async (fixture->rpc, NULL, on_received, &received);
      /* Too late: the framer exists. */
      uc_jsonrpc_set_max_message_size (fixture->rpc, 10);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*uc_jsonrpc_set_max_message_size*");
}

#define N_MANY 1000

static void
test_many (void)
{
  GSocketConnection *locals[N_MANY];
  GSocketConnection *remotes[N_MANY];
  UcJsonrpc *rpcs[N_MANY];
  Result results[N_MANY] = { 0 };
  struct rlimit limit;
  guint fds_before;
  guint n_done;
  guint i;

  /* Two descriptors per pair, and some to spare. */
  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &limit));
  if (limit.rlim_cur < 2 * N_MANY + 100)
    {
      if (limit.rlim_max < 2 * N_MANY + 100)
        {
          g_test_skip ("too few file descriptors allowed");
          return;
        }
      limit.rlim_cur = limit.rlim_max;
      g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &limit));
    }

  settle ();
  fds_before = uc_test_proc_count_fds (getpid (), NULL);

  for (i = 0; i < N_MANY; i++)
    {
      g_autofree char *name = g_strdup_printf ("unix#%u", i);

      make_pair (&locals[i], &remotes[i]);
      rpcs[i] = uc_jsonrpc_new (G_IO_STREAM (locals[i]), name);
      uc_jsonrpc_receive_async (rpcs[i], NULL, on_received, &results[i]);
    }

  for (i = 0; i < N_MANY; i += 97)
    {
      g_autofree char *request =
        g_strdup_printf ("{\"method\":\"m%u\",\"params\":[],\"id\":%u}", i, i);
      peer_write_string (g_socket_connection_get_socket (remotes[i]), request);
    }
  for (i = 0; i < N_MANY; i += 97)
    uc_test_wait_until (results[i].done);
  settle ();

  n_done = 0;
  for (i = 0; i < N_MANY; i++)
    {
      if (i % 97 == 0)
        {
          g_autofree char *method = g_strdup_printf ("m%u", i);
          g_autoptr (UcJsonrpcMessage) reply = make_reply (method, i);
          g_autoptr (GError) error = NULL;
          g_autofree char *expected = NULL;
          g_autofree char *read = NULL;
          gsize length = 0;

          g_assert_true (results[i].done);
          g_assert_no_error (results[i].error);
          assert_request (results[i].message, method, i);
          result_clear (&results[i]);
          n_done++;

          g_assert_true (uc_jsonrpc_send (rpcs[i], reply, &error));
          g_assert_no_error (error);
          expected = uc_jsonrpc_message_to_string (reply, &length);
          read =
            peer_read (g_socket_connection_get_socket (remotes[i]), length);
          g_assert_cmpstr (read, ==, expected);
        }
      else
        {
          g_assert_false (results[i].done);
          uc_jsonrpc_close (rpcs[i]);
        }
    }
  g_assert_cmpuint (n_done, ==, (N_MANY + 96) / 97);

  for (i = 0; i < N_MANY; i++)
    {
      if (i % 97 != 0)
        {
          uc_test_wait_until (results[i].done);
          g_assert_error (results[i].error, G_IO_ERROR, G_IO_ERROR_CLOSED);
          result_clear (&results[i]);
        }
      g_object_unref (rpcs[i]);
      g_object_unref (locals[i]);
      g_object_unref (remotes[i]);
    }
  settle ();

  g_assert_cmpuint (uc_test_proc_count_fds (getpid (), NULL), ==, fds_before);
}

/* Callback receives (uc_jsonrpc_receive()), as the server makes them. */

typedef struct
{
  UcJsonrpc *rpc;          /* (unowned) */
  GPtrArray *messages;     /* (element-type UcJsonrpcMessage) */
  GError *error;           /* (owned) (nullable) */
  gboolean in_call;        /* uc_jsonrpc_receive() is running */
  gboolean again;          /* receive again from the callback */
  UcJsonrpcMessage *reply; /* (unowned) (nullable) sent from the callback */
  guint n_wanted;          /* stop receiving after this many messages */
} Receiver;

static void on_callback_received (UcJsonrpc *rpc,
                                  UcJsonrpcMessage *message,
                                  const GError *error,
                                  gpointer user_data);

static void
receiver_init (Receiver *receiver, UcJsonrpc *rpc, gboolean again)
{
  receiver->rpc = rpc;
  receiver->messages =
    g_ptr_array_new_with_free_func ((GDestroyNotify) uc_jsonrpc_message_unref);
  receiver->error = NULL;
  receiver->in_call = FALSE;
  receiver->again = again;
  receiver->reply = NULL;
  receiver->n_wanted = G_MAXUINT;
}

static void
receiver_clear (Receiver *receiver)
{
  g_clear_pointer (&receiver->messages, g_ptr_array_unref);
  g_clear_error (&receiver->error);
}

static void
receiver_receive (Receiver *receiver)
{
  receiver->in_call = TRUE;
  uc_jsonrpc_receive (receiver->rpc, on_callback_received, receiver);
  receiver->in_call = FALSE;
}

static void
on_callback_received (UcJsonrpc *rpc,
                      UcJsonrpcMessage *message,
                      const GError *error,
                      gpointer user_data)
{
  Receiver *receiver = user_data;

  /* Never from within uc_jsonrpc_receive(), once per receive. */
  g_assert_false (receiver->in_call);
  g_assert_true (rpc == receiver->rpc);
  g_assert_true ((message == NULL) != (error == NULL));
  g_assert_null (receiver->error);

  if (message == NULL)
    {
      receiver->error = g_error_copy (error);
      return;
    }
  g_ptr_array_add (receiver->messages, uc_jsonrpc_message_ref (message));

  /* As the server does: answer, then receive again, from the callback. */
  if (receiver->reply != NULL)
    {
      g_autoptr (GError) send_error = NULL;

      g_assert_true (uc_jsonrpc_send (rpc, receiver->reply, &send_error));
      g_assert_no_error (send_error);
    }
  if (receiver->again && receiver->messages->len < receiver->n_wanted)
    receiver_receive (receiver);
}

static char *
pipelined_requests (const char *prefix, guint n)
{
  GString *input = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (input,
                            "{\"method\":\"%s%u\",\"params\":[],"
                            "\"id\":%u}",
                            prefix, i, i);
  return g_string_free (input, FALSE);
}

static void
assert_received_in_order (Receiver *receiver, const char *prefix, guint n)
{
  g_assert_cmpuint (receiver->messages->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *method = g_strdup_printf ("%s%u", prefix, i);

      assert_request (g_ptr_array_index (receiver->messages, i), method, i);
    }
}

static void
test_callback_round_trip (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *input = pipelined_requests ("m", 3);
  Receiver receiver;

  receiver_init (&receiver, fixture->rpc, TRUE);

  /* Waiting, then messages pipelined in one write, received again and
   * again from the callback, in order. */
  receiver_receive (&receiver);
  settle ();
  g_assert_cmpuint (receiver.messages->len, ==, 0);
  peer_write_string (fixture->peer, input);
  uc_test_wait_until (receiver.messages->len == 3);
  assert_received_in_order (&receiver, "m", 3);
  g_assert_cmpuint (uc_jsonrpc_get_received_bytes (fixture->rpc), ==,
                    strlen (input));

  /* The end of the stream fails the pending receive. */
  g_assert_null (receiver.error);
  g_socket_shutdown (fixture->peer, FALSE, TRUE, NULL);
  uc_test_wait_until (receiver.error != NULL);
  g_assert_error (receiver.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_true (uc_jsonrpc_is_closed (fixture->rpc));

  /* A receive on a closed connection fails too, later. */
  g_clear_error (&receiver.error);
  receiver.again = FALSE;
  receiver_receive (&receiver);
  g_assert_null (receiver.error);
  uc_test_wait_until (receiver.error != NULL);
  g_assert_error (receiver.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  receiver_clear (&receiver);
}

static gboolean
close_receiver_in_dispatch (gpointer user_data)
{
  Receiver *receiver = user_data;

  uc_jsonrpc_close (receiver->rpc);
  /* Never from within close(). */
  g_assert_null (receiver->error);
  return G_SOURCE_REMOVE;
}

static void
test_callback_close (Fixture *fixture, gconstpointer user_data)
{
  UcJsonrpc *rpc = g_steal_pointer (&fixture->rpc);
  Receiver receiver;

  receiver_init (&receiver, rpc, FALSE);
  receiver_receive (&receiver);

  /* The pending receive keeps the connection alive. */
  g_object_add_weak_pointer (G_OBJECT (rpc), (gpointer *) &rpc);
  g_object_unref (rpc);
  g_assert_nonnull (rpc);

  run_in_dispatch (close_receiver_in_dispatch, &receiver);
  uc_test_wait_until (receiver.error != NULL);
  g_assert_error (receiver.error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  uc_test_wait_until (rpc == NULL);
  receiver_clear (&receiver);
}

/* One dispatch delivers at most UC_JSONRPC_DISPATCH_BUDGET messages of a
 * connection, however many one read brought. */
static void
test_callback_budget (Fixture *fixture, gconstpointer user_data)
{
  const guint n = 5 * UC_JSONRPC_DISPATCH_BUDGET + 3;
  g_autofree char *input = pipelined_requests ("m", n);
  Receiver receiver;
  guint iterations = 0;

  receiver_init (&receiver, fixture->rpc, TRUE);
  receiver.n_wanted = n;
  receiver_receive (&receiver);
  peer_write_string (fixture->peer, input);

  while (receiver.messages->len < n)
    {
      guint before = receiver.messages->len;

      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpuint (receiver.messages->len - before, <=,
                        UC_JSONRPC_DISPATCH_BUDGET);
      g_assert_cmpuint (++iterations, <, 10 * n);
    }
  g_assert_cmpuint (iterations, >, n / UC_JSONRPC_DISPATCH_BUDGET);
  assert_received_in_order (&receiver, "m", n);
  receiver_clear (&receiver);
}

/* A client that pipelines many requests does not keep another waiting
 * until they are all served. */
static void
test_callback_fairness (Fixture *fixture, gconstpointer user_data)
{
  const guint n = 20 * UC_JSONRPC_DISPATCH_BUDGET;
  g_autofree char *input = pipelined_requests ("busy", n);
  g_autoptr (GSocketConnection) other_local = NULL;
  g_autoptr (GSocketConnection) other_remote = NULL;
  g_autoptr (UcJsonrpc) other = NULL;
  Receiver busy;
  Receiver quiet;

  make_pair (&other_local, &other_remote);
  other = uc_jsonrpc_new (G_IO_STREAM (other_local), "test#2");

  receiver_init (&busy, fixture->rpc, TRUE);
  busy.n_wanted = n;
  receiver_init (&quiet, other, FALSE);
  receiver_receive (&busy);
  receiver_receive (&quiet);

  peer_write_string (fixture->peer, input);
  peer_write_string (g_socket_connection_get_socket (other_remote),
                     "{\"method\":\"quiet\",\"params\":[],\"id\":7}");

  uc_test_wait_until (quiet.messages->len == 1);
  assert_request (g_ptr_array_index (quiet.messages, 0), "quiet", 7);
  g_assert_cmpuint (busy.messages->len, <=, UC_JSONRPC_DISPATCH_BUDGET);

  /* The busy one is served to the end. */
  uc_test_wait_until (busy.messages->len == n);
  assert_received_in_order (&busy, "busy", n);
  receiver_clear (&busy);
  receiver_clear (&quiet);
}

/* Receiving again from the callback after a send that did not go out
 * whole: the next message, already read, waits for the reply to drain. */
static void
test_callback_unsent_blocks (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *input = pipelined_requests ("m", 2);
  g_autoptr (UcJsonrpcMessage) reply = make_big_reply (0);
  g_autofree char *expected = NULL;
  g_autofree char *read = NULL;
  gsize length = 0;
  guint64 received_bytes;
  Receiver receiver;

  shrink_buffers (fixture->local);
  shrink_buffers (fixture->remote);
  receiver_init (&receiver, fixture->rpc, TRUE);
  receiver.reply = reply;
  receiver.n_wanted = 2;
  receiver_receive (&receiver);
  peer_write_string (fixture->peer, input);

  uc_test_wait_until (receiver.messages->len == 1);
  g_assert_cmpuint (uc_jsonrpc_get_backlog (fixture->rpc), >, 0);
  received_bytes = uc_jsonrpc_get_received_bytes (fixture->rpc);
  peer_write_string (fixture->peer, input);
  settle ();
  g_assert_cmpuint (receiver.messages->len, ==, 1);
  g_assert_cmpuint (uc_jsonrpc_get_received_bytes (fixture->rpc), ==,
                    received_bytes);

  expected = uc_jsonrpc_message_to_string (reply, &length);
  read = peer_read (fixture->peer, length);
  g_assert_true (memcmp (read, expected, length) == 0);
  uc_test_wait_until (receiver.messages->len == 2);
  assert_received_in_order (&receiver, "m", 2);
  receiver_clear (&receiver);
}

/* Non-pollable streams: async reads and writes. */

static GIOStream *
make_unpollable_stream (GInputStream *base_input, GOutputStream **memory_output)
{
  g_autoptr (GInputStream) input = NULL;
  g_autoptr (GOutputStream) output = NULL;

  *memory_output = g_memory_output_stream_new_resizable ();
  input = g_buffered_input_stream_new (base_input);
  output = G_OUTPUT_STREAM (g_data_output_stream_new (*memory_output));

  g_assert_false (
    G_IS_POLLABLE_INPUT_STREAM (input) &&
    g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (input)));
  g_assert_false (
    G_IS_POLLABLE_OUTPUT_STREAM (output) &&
    g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (output)));

  return g_simple_io_stream_new (input, output);
}

static void
test_unpollable (void)
{
  const char *input = "{\"method\":\"a\",\"params\":[],\"id\":1}  "
                      "{\"method\":\"b\",\"params\":[],\"id\":2}\n";
  g_autoptr (GInputStream) memory_input = NULL;
  g_autoptr (GOutputStream) memory_output = NULL;
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (UcJsonrpc) rpc = NULL;
  g_autoptr (UcJsonrpcMessage) reply_a = make_reply ("A", 1);
  g_autoptr (UcJsonrpcMessage) reply_b = make_reply ("B", 2);
  g_autoptr (GError) error = NULL;
  g_autofree char *text_a = uc_jsonrpc_message_to_string (reply_a, NULL);
  g_autofree char *text_b = uc_jsonrpc_message_to_string (reply_b, NULL);
  g_autofree char *expected = g_strconcat (text_a, text_b, NULL);
  Result received = { 0 };
  Result flushed = { 0 };

  memory_input = g_memory_input_stream_new_from_data (input, -1, NULL);
  stream = make_unpollable_stream (memory_input, &memory_output);
  rpc = uc_jsonrpc_new (stream, "memory");

  uc_jsonrpc_receive_async (rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  assert_request (received.message, "a", 1);
  result_clear (&received);

  uc_jsonrpc_receive_async (rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  assert_request (received.message, "b", 2);
  result_clear (&received);
  g_assert_cmpuint (uc_jsonrpc_get_received_bytes (rpc), ==, strlen (input));

  /* The second send queues behind the write in flight. */
  g_assert_true (uc_jsonrpc_send (rpc, reply_a, &error));
  g_assert_true (uc_jsonrpc_send (rpc, reply_b, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (uc_jsonrpc_get_backlog (rpc), ==, strlen (expected));
  uc_jsonrpc_flush_async (rpc, NULL, on_flushed, &flushed);
  uc_test_wait_until (flushed.done);
  g_assert_no_error (flushed.error);
  g_assert_cmpuint (g_memory_output_stream_get_data_size (
                      G_MEMORY_OUTPUT_STREAM (memory_output)),
                    ==, strlen (expected));
  g_assert_true (memcmp (g_memory_output_stream_get_data (
                           G_MEMORY_OUTPUT_STREAM (memory_output)),
                         expected, strlen (expected)) == 0);

  uc_jsonrpc_receive_async (rpc, NULL, on_received, &received);
  uc_test_wait_until (received.done);
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  result_clear (&received);

  uc_test_wait_until (g_io_stream_is_closed (stream));
}

/* Closing, or dropping the last reference, while an async read is in
 * flight on a stream that never ends by itself. */
static void
test_unpollable_close (void)
{
  g_autoptr (GInputStream) pipe_input = NULL;
  g_autoptr (GOutputStream) memory_output = NULL;
  g_autoptr (GIOStream) stream = NULL;
  UcJsonrpc *rpc = NULL;
  Result received = { 0 };
  int fds[2];

  g_assert_no_errno (pipe (fds));
  pipe_input = g_unix_input_stream_new (fds[0], TRUE);
  stream = make_unpollable_stream (pipe_input, &memory_output);

  /* close() cancels the read, then closes the stream. */
  rpc = uc_jsonrpc_new (stream, "pipe");
  uc_jsonrpc_receive_async (rpc, NULL, on_received, &received);
  settle ();
  g_assert_false (received.done);
  uc_jsonrpc_close (rpc);
  uc_test_wait_until (received.done);
  g_assert_error (received.error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  result_clear (&received);
  uc_test_wait_until (g_io_stream_is_closed (stream));
  g_object_unref (rpc);
  g_clear_object (&stream);
  g_clear_object (&memory_output);
  g_clear_object (&pipe_input);
  g_assert_no_errno (close (fds[1]));

  /* Unreferenced with a read in flight, it lives until the read ends. */
  g_assert_no_errno (pipe (fds));
  pipe_input = g_unix_input_stream_new (fds[0], TRUE);
  stream = make_unpollable_stream (pipe_input, &memory_output);
  rpc = uc_jsonrpc_new (stream, "pipe");
  uc_jsonrpc_receive_async (rpc, NULL, on_received, &received);
  g_object_add_weak_pointer (G_OBJECT (rpc), (gpointer *) &rpc);
  g_object_unref (rpc);
  settle ();
  g_assert_nonnull (rpc);
  g_assert_cmpint (write (fds[1], "{\"method\":\"late\",\"par", 21), ==, 21);
  g_assert_no_errno (close (fds[1]));

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_WARNING,
                         "pipe: error parsing stream: *middle of a message*");
  uc_test_wait_until (received.done);
  g_test_assert_expected_messages ();
  g_assert_error (received.error, UC_ERROR, UC_ERROR_PROTOCOL);
  result_clear (&received);
  uc_test_wait_until (rpc == NULL);
  uc_test_wait_until (g_io_stream_is_closed (stream));
}

int
main (int argc, char *argv[])
{
  gsize i;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  /* Each test expects its warnings to be logged, however many ran before. */
  uc_rate_limit_set_enabled (FALSE);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/jsonrpc/connection/round-trip", test_round_trip);
  ADD ("/jsonrpc/connection/pipelined", test_pipelined);
  ADD ("/jsonrpc/connection/shared-buffer", test_shared_buffer);
  ADD ("/jsonrpc/connection/properties", test_properties);
  ADD ("/jsonrpc/connection/setter-after-receive", test_setter_after_receive);
  ADD ("/jsonrpc/receive/unsent-reply-blocks-buffered",
       test_unsent_blocks_buffered);
  ADD ("/jsonrpc/receive/unsent-reply-blocks-stream",
       test_unsent_blocks_stream);
  ADD ("/jsonrpc/receive/unsent-reply-blocks-receiving",
       test_unsent_blocks_receiving);
  ADD ("/jsonrpc/receive/eof-idle", test_eof_idle);
  ADD ("/jsonrpc/receive/eof-mid-message", test_eof_mid_message);
  ADD ("/jsonrpc/receive/eof-after-request", test_eof_after_request);
  ADD ("/jsonrpc/receive/read-error", test_read_error);
  ADD ("/jsonrpc/receive/cancel", test_cancel_receive);
  ADD ("/jsonrpc/callback/round-trip", test_callback_round_trip);
  ADD ("/jsonrpc/callback/close", test_callback_close);
  ADD ("/jsonrpc/callback/budget", test_callback_budget);
  ADD ("/jsonrpc/callback/fairness", test_callback_fairness);
  ADD ("/jsonrpc/callback/unsent-reply-blocks", test_callback_unsent_blocks);
  ADD ("/jsonrpc/send/flush", test_flush);
  ADD ("/jsonrpc/send/cancel-flush", test_cancel_flush);
  ADD ("/jsonrpc/send/backlog-full", test_backlog_full);
  ADD ("/jsonrpc/send/write-error", test_write_error);
  ADD ("/jsonrpc/close/pending", test_close_pending);
  ADD ("/jsonrpc/close/unref-pending", test_unref_pending);
  ADD ("/jsonrpc/close/unref-queued", test_unref_queued);

  for (i = 0; i < G_N_ELEMENTS (limit_cases); i++)
    {
      g_autofree char *path =
        g_strdup_printf ("/jsonrpc/limits/%s", limit_cases[i].name);

      g_test_add (path, Fixture, &limit_cases[i], fixture_set_up, test_limit,
                  fixture_tear_down);
    }

#undef ADD

  g_test_add_func ("/jsonrpc/connection/many", test_many);
  g_test_add_func ("/jsonrpc/unpollable/round-trip", test_unpollable);
  g_test_add_func ("/jsonrpc/unpollable/close", test_unpollable_close);

  return g_test_run ();
}
