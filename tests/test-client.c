/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UcClient against a fake server: a thread that accepts one connection on
 * a unix socket and follows a script of exact bytes, in and out, with
 * blocking socket calls.  The thread does not need the test's main
 * context, so the sync calls (which iterate the client's own context) and
 * the async ones (which iterate the test's) are tested alike.
 */
#define G_LOG_DOMAIN "test-client"

#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "uc-client.h"
#include "uc-error.h"
#include "uc-json-framer.h"

/* Larger than any socket buffer, so that it arrives in many reads. */
#define BIG_RESULT_SIZE (8 * 1024 * 1024)

/* No test comes near this; it turns a hang into a clear failure. */
#define WATCHDOG_SECONDS 30

typedef struct _Fixture Fixture;
typedef void (*ServeFunc) (Fixture *fixture);

struct _Fixture
{
  char *dir;         /* (owned) */
  char *stream_name; /* (owned) unix:DIR/fake.sock */
  GSocket *listener; /* (owned) */
  GThread *thread;   /* (owned) (nullable) the fake server */
  ServeFunc serve;

  /* The server thread's own, until it is joined. */
  GSocket *conn;             /* (owned) (nullable) */
  UcJsonFramer *framer;      /* (owned) */
  GByteArray *pending;       /* (owned) bytes read, not yet framed */
  GCancellable *cancellable; /* (owned) for tests that cancel from it */
};

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autofree char *path = NULL;

  fixture->dir = g_dir_make_tmp ("test-client-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (fixture->dir, "fake.sock", NULL);
  fixture->stream_name = g_strconcat ("unix:", path, NULL);

  fixture->listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                    G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  address = g_unix_socket_address_new (path);
  g_socket_bind (fixture->listener, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_listen (fixture->listener, &error);
  g_assert_no_error (error);

  fixture->framer = uc_json_framer_new (UC_JSON_DEFAULT_MAX_MESSAGE_SIZE,
                                        UC_JSON_DEFAULT_MAX_DEPTH);
  fixture->pending = g_byte_array_new ();
  fixture->cancellable = g_cancellable_new ();

  alarm (WATCHDOG_SECONDS);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *path = NULL;

  alarm (0);
  if (fixture->thread != NULL)
    g_thread_join (g_steal_pointer (&fixture->thread));

  g_clear_object (&fixture->conn);
  g_clear_object (&fixture->listener);
  g_clear_pointer (&fixture->framer, uc_json_framer_free);
  g_clear_pointer (&fixture->pending, g_byte_array_unref);
  g_clear_object (&fixture->cancellable);

  path = g_build_filename (fixture->dir, "fake.sock", NULL);
  g_unlink (path);
  g_rmdir (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->stream_name, g_free);
}

/* The fake server. */

static gpointer
server_thread (gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autoptr (GError) error = NULL;

  fixture->conn = g_socket_accept (fixture->listener, NULL, &error);
  g_assert_no_error (error);
  fixture->serve (fixture);
  return NULL;
}

static void
start_server (Fixture *fixture, ServeFunc serve)
{
  fixture->serve = serve;
  fixture->thread = g_thread_new ("fake-server", server_thread, fixture);
}

/* Waits for the fake server to end its script. */
static void
join_server (Fixture *fixture)
{
  g_thread_join (g_steal_pointer (&fixture->thread));
}

static void
server_send (Fixture *fixture, const char *text, gsize length)
{
  g_autoptr (GError) error = NULL;
  gsize sent = 0;

  while (sent < length)
    {
      gssize n =
        g_socket_send (fixture->conn, text + sent, length - sent, NULL, &error);

      g_assert_no_error (error);
      sent += (gsize) n;
    }
}

static void
server_send_text (Fixture *fixture, const char *text)
{
  server_send (fixture, text, strlen (text));
}

/* Reads the next message the client sent; %NULL at the end of the
 * stream. */
static char *
server_receive (Fixture *fixture)
{
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      UcJsonFramerStatus status;
      char buffer[4096];
      gsize consumed = 0;
      gssize n;

      if (fixture->pending->len > 0)
        {
          status = uc_json_framer_feed (
            fixture->framer, (const char *) fixture->pending->data,
            fixture->pending->len, &consumed, &error);
          g_assert_no_error (error);
          g_byte_array_remove_range (fixture->pending, 0, (guint) consumed);
          if (status == UC_JSON_FRAMER_MESSAGE)
            return uc_json_framer_take_message (fixture->framer, NULL);
        }

      n = g_socket_receive (fixture->conn, buffer, sizeof buffer, NULL, &error);
      g_assert_no_error (error);
      if (n == 0)
        {
          g_assert_true (uc_json_framer_is_idle (fixture->framer));
          return NULL;
        }
      g_byte_array_append (fixture->pending, (const guint8 *) buffer,
                           (guint) n);
    }
}

static void
server_expect (Fixture *fixture, const char *expected)
{
  g_autofree char *text = server_receive (fixture);

  g_assert_cmpstr (text, ==, expected);
}

static void
server_close (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;

  g_socket_close (fixture->conn, &error);
  g_assert_no_error (error);
}

/* Client helpers. */

static UcClient *
connect_client (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;
  UcClient *client;

  client = uc_client_connect (fixture->stream_name, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (UC_IS_CLIENT (client));
  return client;
}

static void
assert_string_node (JsonNode *node, const char *expected)
{
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_VALUE (node));
  g_assert_cmpstr (json_node_get_string (node), ==, expected);
}

/* Runs a sync transaction that must get a result, and checks it. */
static void
transact_expect_result (UcClient *client,
                        const char *command,
                        const char *const *args,
                        const char *expected)
{
  g_autoptr (JsonNode) result = NULL;
  g_autoptr (JsonNode) error_body = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (uc_client_transact (client, command, args, &result,
                                     &error_body, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (error_body);
  assert_string_node (result, expected);
}

/* /client/transact/result */

static void
serve_results (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"version\",\"params\":[]}");
  server_send_text (fixture, "{\"id\":0,\"result\":\"1.0\\n\",\"error\":null}");
  server_expect (fixture,
                 "{\"id\":1,\"method\":\"vlog/set\",\"params\":[\"a\",\"b\"]}");
  server_send_text (fixture, "{\"id\":1,\"result\":\"\",\"error\":null}");
  g_assert_null (server_receive (fixture));
}

static void
test_transact_result (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  const char *const args[] = { "a", "b", NULL };

  start_server (fixture, serve_results);
  client = connect_client (fixture);
  g_assert_true (UC_IS_JSONRPC (uc_client_get_jsonrpc (client)));

  /* The exact requests, with ids counting from 0, are checked by the
   * server. */
  transact_expect_result (client, "version", NULL, "1.0\n");
  transact_expect_result (client, "vlog/set", args, "");

  g_clear_object (&client);
  join_server (fixture);
}

/* /client/transact/error-shapes */

static void
serve_errors (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"foo\",\"params\":[]}");
  server_send_text (fixture, "{\"id\":0,\"error\":\"bad\\n\"}");
  server_expect (fixture, "{\"id\":1,\"method\":\"foo\",\"params\":[]}");
  server_send_text (fixture, "{\"id\":1,\"result\":null,\"error\":\"worse\"}");
  server_expect (fixture, "{\"id\":2,\"method\":\"foo\",\"params\":[]}");
  server_send_text (fixture, "{\"error\":{\"code\":5},\"id\":2}");
  g_assert_null (server_receive (fixture));
}

static void
test_transact_error_shapes (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  const char *expected[] = { "bad\n", "worse" };
  gsize i;

  start_server (fixture, serve_errors);
  client = connect_client (fixture);

  for (i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr (JsonNode) result = NULL;
      g_autoptr (JsonNode) error_body = NULL;
      g_autoptr (GError) error = NULL;

      g_assert_true (uc_client_transact (client, "foo", NULL, &result,
                                         &error_body, NULL, &error));
      g_assert_no_error (error);
      g_assert_null (result);
      assert_string_node (error_body, expected[i]);
    }

  /* A non-string error body comes through as it is. */
  {
    g_autoptr (JsonNode) error_body = NULL;
    g_autoptr (GError) error = NULL;
    g_autofree char *text = NULL;

    g_assert_true (uc_client_transact (client, "foo", NULL, NULL, &error_body,
                                       NULL, &error));
    g_assert_no_error (error);
    text = json_to_string (error_body, FALSE);
    g_assert_cmpstr (text, ==, "{\"code\":5}");
  }

  g_clear_object (&client);
  join_server (fixture);
}

/* /client/transact/unknown-id */

static void
serve_unknown_ids (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"version\",\"params\":[]}");
  /* Replies to requests the client never sent: another number, the right
   * number as a string, and an error reply. */
  server_send_text (fixture,
                    "{\"id\":7,\"result\":\"stray\",\"error\":null}"
                    "{\"id\":\"0\",\"result\":\"string\",\"error\":null}"
                    " {\"id\":[0],\"error\":\"array\"}\n"
                    "{\"id\":0,\"result\":\"mine\",\"error\":null}");
  g_assert_null (server_receive (fixture));
}

static void
test_transact_unknown_id (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;

  start_server (fixture, serve_unknown_ids);
  client = connect_client (fixture);
  transact_expect_result (client, "version", NULL, "mine");

  g_clear_object (&client);
  join_server (fixture);
}

/* /client/transact/echo */

static void
serve_echo (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"version\",\"params\":[]}");
  server_send_text (
    fixture,
    "{\"method\":\"echo\",\"params\":[\"x\",1,{\"y\":[]}],\"id\":\"echo\"}");
  /* The params come back as the result, with the request's id. */
  server_expect (
    fixture,
    "{\"id\":\"echo\",\"result\":[\"x\",1,{\"y\":[]}],\"error\":null}");
  server_send_text (fixture, "{\"method\":\"echo\",\"params\":[],\"id\":42}");
  server_expect (fixture, "{\"id\":42,\"result\":[],\"error\":null}");
  server_send_text (fixture,
                    "{\"id\":0,\"result\":\"after echo\",\"error\":null}");
  g_assert_null (server_receive (fixture));
}

static void
test_transact_echo (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;

  start_server (fixture, serve_echo);
  client = connect_client (fixture);
  transact_expect_result (client, "version", NULL, "after echo");

  g_clear_object (&client);
  join_server (fixture);
}

/* /client/transact/ignored */

static void
serve_ignored (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"version\",\"params\":[]}");
  server_send_text (fixture,
                    "{\"id\":null,\"method\":\"update\",\"params\":[1]}"
                    "{\"method\":\"update\",\"params\":[2]}"
                    "{\"id\":5,\"method\":\"list-commands\",\"params\":[]}"
                    "{\"id\":0,\"result\":\"done\",\"error\":null}");
  /* Neither the notifications nor the request got an answer: the next
   * thing the client does is close. */
  g_assert_null (server_receive (fixture));
}

static void
test_transact_ignored (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;

  start_server (fixture, serve_ignored);
  client = connect_client (fixture);
  transact_expect_result (client, "version", NULL, "done");

  g_clear_object (&client);
  join_server (fixture);
}

/* /client/transact/closed */

static void
serve_close (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"exit\",\"params\":[]}");
  server_close (fixture);
}

static void
test_transact_closed (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  g_autoptr (JsonNode) result = NULL;
  g_autoptr (JsonNode) error_body = NULL;
  g_autoptr (GError) error = NULL;

  start_server (fixture, serve_close);
  client = connect_client (fixture);

  g_assert_false (uc_client_transact (client, "exit", NULL, &result,
                                      &error_body, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_null (result);
  g_assert_null (error_body);
  join_server (fixture);

  /* The connection is over: later transactions fail at once. */
  g_clear_error (&error);
  g_assert_false (
    uc_client_transact (client, "version", NULL, NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == G_IO_ERROR);
}

/* /client/transact/protocol-error */

static void
serve_bad_json_rpc (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"version\",\"params\":[]}");
  server_send_text (fixture, "{\"id\":0,\"result\":\"x\",\"error\":\"both\"}");
  g_assert_null (server_receive (fixture));
}

static void
test_transact_protocol_error (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  g_autoptr (GError) error = NULL;

  start_server (fixture, serve_bad_json_rpc);
  client = connect_client (fixture);

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_WARNING,
                         "*received bad JSON-RPC message*");
  g_assert_false (
    uc_client_transact (client, "version", NULL, NULL, NULL, NULL, &error));
  g_test_assert_expected_messages ();
  g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);

  /* The client closed the connection, which ends the server's script. */
  join_server (fixture);
}

/* /client/transact/big */

static void
serve_big (Fixture *fixture)
{
  g_autoptr (GString) reply = g_string_sized_new (BIG_RESULT_SIZE + 64);
  gsize i;

  server_expect (fixture,
                 "{\"id\":0,\"method\":\"memory/show\",\"params\":[]}");
  g_string_append (reply, "{\"id\":0,\"result\":\"");
  for (i = 0; i < BIG_RESULT_SIZE; i++)
    g_string_append_c (reply, 'a' + (char) (i % 26));
  g_string_append (reply, "\",\"error\":null}");
  server_send (fixture, reply->str, reply->len);
  g_assert_null (server_receive (fixture));
}

static void
test_transact_big (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  g_autoptr (JsonNode) result = NULL;
  g_autoptr (GError) error = NULL;
  const char *text;
  gsize i;

  start_server (fixture, serve_big);
  client = connect_client (fixture);

  g_assert_true (uc_client_transact (client, "memory/show", NULL, &result, NULL,
                                     NULL, &error));
  g_assert_no_error (error);
  text = json_node_get_string (result);
  g_assert_cmpuint (strlen (text), ==, BIG_RESULT_SIZE);
  for (i = 0; i < BIG_RESULT_SIZE; i++)
    {
      if (text[i] != 'a' + (char) (i % 26))
        g_error ("byte %" G_GSIZE_FORMAT " of the result differs", i);
    }

  g_clear_object (&client);
  join_server (fixture);
}

/* /client/transact/async-pipelined */

typedef struct
{
  gboolean done;
  gboolean ok;
  JsonNode *result; /* (owned) (nullable) */
  GError *error;    /* (owned) (nullable) */
} AsyncResult;

static void
async_result_clear (AsyncResult *result)
{
  g_clear_pointer (&result->result, json_node_unref);
  g_clear_error (&result->error);
}

static void
on_transacted (GObject *source_object, GAsyncResult *res, gpointer user_data)
{
  AsyncResult *result = user_data;

  g_assert_false (result->done);
  result->ok = uc_client_transact_finish (
    UC_CLIENT (source_object), res, &result->result, NULL, &result->error);
  result->done = TRUE;
}

static void
on_connected (GObject *source_object, GAsyncResult *res, gpointer user_data)
{
  UcClient **client = user_data;
  g_autoptr (GError) error = NULL;

  *client = uc_client_connect_finish (res, &error);
  g_assert_no_error (error);
}

static UcClient *
connect_client_async (Fixture *fixture)
{
  UcClient *client = NULL;

  uc_client_connect_async (fixture->stream_name, NULL, NULL, on_connected,
                           &client);
  while (client == NULL)
    g_main_context_iteration (NULL, TRUE);
  return client;
}

static void
serve_out_of_order (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"first\",\"params\":[]}");
  server_expect (fixture,
                 "{\"id\":1,\"method\":\"second\",\"params\":[\"2\"]}");
  server_send_text (fixture, "{\"id\":1,\"result\":\"two\",\"error\":null}");
  server_send_text (fixture, "{\"id\":0,\"result\":\"one\",\"error\":null}");
  g_assert_null (server_receive (fixture));
}

static void
test_transact_async_pipelined (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  AsyncResult first = { FALSE }, second = { FALSE };
  const char *const args[] = { "2", NULL };

  start_server (fixture, serve_out_of_order);
  client = connect_client_async (fixture);

  uc_client_transact_async (client, "first", NULL, NULL, on_transacted, &first);
  uc_client_transact_async (client, "second", args, NULL, on_transacted,
                            &second);
  while (!first.done || !second.done)
    g_main_context_iteration (NULL, TRUE);

  g_assert_true (first.ok);
  assert_string_node (first.result, "one");
  g_assert_true (second.ok);
  assert_string_node (second.result, "two");

  async_result_clear (&first);
  async_result_clear (&second);
  g_clear_object (&client);
  join_server (fixture);
}

/* /client/transact/cancel */

static void
serve_after_cancel (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"slow\",\"params\":[]}");
  g_cancellable_cancel (fixture->cancellable);
  /* The client goes on with a new request; the late reply to the
   * cancelled one must not be taken for its reply. */
  server_expect (fixture, "{\"id\":1,\"method\":\"fast\",\"params\":[]}");
  server_send_text (fixture, "{\"id\":0,\"result\":\"late\",\"error\":null}");
  server_send_text (fixture, "{\"id\":1,\"result\":\"fast\",\"error\":null}");
  g_assert_null (server_receive (fixture));
}

static void
test_transact_cancel_sync (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  g_autoptr (GError) error = NULL;

  start_server (fixture, serve_after_cancel);
  client = connect_client (fixture);

  /* The server cancels once it has the request. */
  g_assert_false (uc_client_transact (client, "slow", NULL, NULL, NULL,
                                      fixture->cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  transact_expect_result (client, "fast", NULL, "fast");

  g_clear_object (&client);
  join_server (fixture);
}

static void
test_transact_cancel_async (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  AsyncResult slow = { FALSE }, fast = { FALSE };

  start_server (fixture, serve_after_cancel);
  client = connect_client_async (fixture);

  uc_client_transact_async (client, "slow", NULL, fixture->cancellable,
                            on_transacted, &slow);
  while (!slow.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (slow.ok);
  g_assert_error (slow.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* Started at once, while the stopped receive may still be winding
   * down. */
  uc_client_transact_async (client, "fast", NULL, NULL, on_transacted, &fast);
  while (!fast.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (fast.ok);
  assert_string_node (fast.result, "fast");

  /* An already cancelled cancellable fails before anything is sent. */
  {
    AsyncResult early = { FALSE };

    uc_client_transact_async (client, "never", NULL, fixture->cancellable,
                              on_transacted, &early);
    while (!early.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_error (early.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    async_result_clear (&early);
  }

  async_result_clear (&slow);
  async_result_clear (&fast);
  g_clear_object (&client);
  join_server (fixture);
}

/* /client/connect/errors */

static void
serve_version (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"version\",\"params\":[]}");
  server_send_text (fixture, "{\"id\":0,\"result\":\"1.0\\n\",\"error\":null}");
  g_assert_null (server_receive (fixture));
}

static void
test_connect_errors (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = NULL;
  UcClient *client;

  missing = g_strconcat (fixture->stream_name, ".missing", NULL);
  client = uc_client_connect (missing, NULL, NULL, &error);
  g_assert_null (client);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  client = uc_client_connect ("bogus:name", NULL, NULL, &error);
  g_assert_null (client);
  g_assert_error (error, UC_ERROR, UC_ERROR_INVALID_NAME);
  g_clear_error (&error);

  /* A relative unix: name resolves under the rundir given. */
  start_server (fixture, serve_version);
  client = uc_client_connect ("unix:fake.sock", fixture->dir, NULL, &error);
  g_assert_no_error (error);
  transact_expect_result (client, "version", NULL, "1.0\n");
  g_object_unref (client);
  join_server (fixture);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ((path), Fixture, NULL, fixture_set_up, (func), fixture_tear_down)

  ADD ("/client/transact/result", test_transact_result);
  ADD ("/client/transact/error-shapes", test_transact_error_shapes);
  ADD ("/client/transact/unknown-id", test_transact_unknown_id);
  ADD ("/client/transact/echo", test_transact_echo);
  ADD ("/client/transact/ignored", test_transact_ignored);
  ADD ("/client/transact/closed", test_transact_closed);
  ADD ("/client/transact/protocol-error", test_transact_protocol_error);
  ADD ("/client/transact/big", test_transact_big);
  ADD ("/client/transact/async-pipelined", test_transact_async_pipelined);
  ADD ("/client/transact/cancel-sync", test_transact_cancel_sync);
  ADD ("/client/transact/cancel-async", test_transact_cancel_async);
  ADD ("/client/connect/errors", test_connect_errors);

#undef ADD

  return g_test_run ();
}
