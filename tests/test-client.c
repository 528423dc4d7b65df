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
#include <string.h>
#include <unistd.h>

#include "uc-client.h"
#include "uc-error.h"
#include "uc-test-util.h"

/* Larger than any socket buffer, so that it arrives in many reads. */
#define BIG_RESULT_SIZE (8 * 1024 * 1024)

/* No test comes near this; it turns a hang into a clear failure. */
#define WATCHDOG_SECONDS 30

typedef struct _Fixture Fixture;
typedef void (*ServeFunc) (Fixture *fixture);

/* One step of a fake server's script: take a message and check it, then
 * send text.  Either may be %NULL. */
typedef struct
{
  const char *expect;
  const char *send;
} Step;

struct _Fixture
{
  char *dir;         /* (owned) */
  char *stream_name; /* (owned) unix:DIR/fake.sock */
  GSocket *listener; /* (owned) */
  GThread *thread;   /* (owned) (nullable) the fake server */
  ServeFunc serve;
  const Step *script; /* (unowned) for serve_script(), ends with { NULL } */

  /* The server thread's own, until it is joined. */
  GSocket *conn;             /* (owned) (nullable) */
  GCancellable *cancellable; /* (owned) for tests that cancel from it */
};

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  fixture->dir = uc_test_make_tmp_dir ("test-client-XXXXXX");
  path = g_build_filename (fixture->dir, "fake.sock", NULL);
  fixture->stream_name = g_strconcat ("unix:", path, NULL);

  fixture->listener = uc_test_bind_unix (path);
  g_socket_listen (fixture->listener, &error);
  g_assert_no_error (error);
  fixture->cancellable = g_cancellable_new ();

  alarm (WATCHDOG_SECONDS);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  alarm (0);
  if (fixture->thread != NULL)
    g_thread_join (g_steal_pointer (&fixture->thread));

  g_clear_object (&fixture->conn);
  g_clear_object (&fixture->listener);
  g_clear_object (&fixture->cancellable);

  uc_test_rm_rf (fixture->dir);
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
server_send_text (Fixture *fixture, const char *text)
{
  uc_test_send_text (fixture->conn, text);
}

/* Reads the next message the client sent; %NULL at the end of the
 * stream. */
static char *
server_receive (Fixture *fixture)
{
  return uc_test_receive_message (fixture->conn);
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

/* Plays the fixture's script, then waits for the client to close: it
 * must send nothing more. */
static void
serve_script (Fixture *fixture)
{
  for (const Step *step = fixture->script;
       step->expect != NULL || step->send != NULL; step++)
    {
      if (step->expect != NULL)
        server_expect (fixture, step->expect);
      if (step->send != NULL)
        server_send_text (fixture, step->send);
    }
  g_assert_null (server_receive (fixture));
}

static void
start_script (Fixture *fixture, const Step *script)
{
  fixture->script = script;
  start_server (fixture, serve_script);
}

/* Client helpers. */

static UcClient *
connect_client (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;
  UcClient *client;

  client = uc_client_connect (fixture->stream_name, NULL, -1, NULL, &error);
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

  g_assert_true (uc_client_transact (client, command, args, -1, &result,
                                     &error_body, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (error_body);
  assert_string_node (result, expected);
}

#define VERSION_REQUEST "{\"id\":0,\"method\":\"version\",\"params\":[]}"

/* /client/transact/result */

static const Step results_script[] = {
  { VERSION_REQUEST, "{\"id\":0,\"result\":\"1.0\\n\",\"error\":null}" },
  { "{\"id\":1,\"method\":\"vlog/set\",\"params\":[\"a\",\"b\"]}",
    "{\"id\":1,\"result\":\"\",\"error\":null}" },
  { NULL },
};

static void
test_transact_result (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  const char *const args[] = { "a", "b", NULL };

  start_script (fixture, results_script);
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

static const Step errors_script[] = {
  { "{\"id\":0,\"method\":\"foo\",\"params\":[]}",
    "{\"id\":0,\"error\":\"bad\\n\"}" },
  { "{\"id\":1,\"method\":\"foo\",\"params\":[]}",
    "{\"id\":1,\"result\":null,\"error\":\"worse\"}" },
  { "{\"id\":2,\"method\":\"foo\",\"params\":[]}",
    "{\"error\":{\"code\":5},\"id\":2}" },
  { NULL },
};

static void
test_transact_error_shapes (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  const char *expected[] = { "bad\n", "worse" };
  gsize i;

  start_script (fixture, errors_script);
  client = connect_client (fixture);

  for (i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr (JsonNode) result = NULL;
      g_autoptr (JsonNode) error_body = NULL;
      g_autoptr (GError) error = NULL;

      g_assert_true (uc_client_transact (client, "foo", NULL, -1, &result,
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

    g_assert_true (uc_client_transact (client, "foo", NULL, -1, NULL,
                                       &error_body, NULL, &error));
    g_assert_no_error (error);
    text = json_to_string (error_body, FALSE);
    g_assert_cmpstr (text, ==, "{\"code\":5}");
  }

  g_clear_object (&client);
  join_server (fixture);
}

/* Conversations in which `version` gets a result in the end, whatever
 * else the server sends first. */
typedef struct
{
  const Step *script;
  const char *result;
} VersionCase;

/* /client/transact/unknown-id: replies to requests the client never
 * sent: another number, the right number as a string, and an error
 * reply. */
static const Step unknown_ids_script[] = {
  { VERSION_REQUEST, "{\"id\":7,\"result\":\"stray\",\"error\":null}"
                     "{\"id\":\"0\",\"result\":\"string\",\"error\":null}"
                     " {\"id\":[0],\"error\":\"array\"}\n"
                     "{\"id\":0,\"result\":\"mine\",\"error\":null}" },
  { NULL },
};
static const VersionCase unknown_ids_case = { unknown_ids_script, "mine" };

/* /client/transact/echo: the params come back as the result, with the
 * request's id. */
static const Step echo_script[] = {
  { VERSION_REQUEST,
    "{\"method\":\"echo\",\"params\":[\"x\",1,{\"y\":[]}],\"id\":\"echo\"}" },
  { "{\"id\":\"echo\",\"result\":[\"x\",1,{\"y\":[]}],\"error\":null}",
    "{\"method\":\"echo\",\"params\":[],\"id\":42}" },
  { "{\"id\":42,\"result\":[],\"error\":null}",
    "{\"id\":0,\"result\":\"after echo\",\"error\":null}" },
  { NULL },
};
static const VersionCase echo_case = { echo_script, "after echo" };

/* /client/transact/ignored: neither the notifications nor the request
 * get an answer: the next thing the client does is close. */
static const Step ignored_script[] = {
  { VERSION_REQUEST, "{\"id\":null,\"method\":\"update\",\"params\":[1]}"
                     "{\"method\":\"update\",\"params\":[2]}"
                     "{\"id\":5,\"method\":\"list-commands\",\"params\":[]}"
                     "{\"id\":0,\"result\":\"done\",\"error\":null}" },
  { NULL },
};
static const VersionCase ignored_case = { ignored_script, "done" };

static void
test_transact_version (Fixture *fixture, gconstpointer user_data)
{
  const VersionCase *version_case = user_data;
  g_autoptr (UcClient) client = NULL;

  start_script (fixture, version_case->script);
  client = connect_client (fixture);
  transact_expect_result (client, "version", NULL, version_case->result);

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

  g_assert_false (uc_client_transact (client, "exit", NULL, -1, &result,
                                      &error_body, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_null (result);
  g_assert_null (error_body);
  join_server (fixture);

  /* The connection is over: later transactions fail at once. */
  g_clear_error (&error);
  g_assert_false (
    uc_client_transact (client, "version", NULL, -1, NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == G_IO_ERROR);
}

/* /client/transact/protocol-error */

static const Step bad_json_rpc_script[] = {
  { VERSION_REQUEST, "{\"id\":0,\"result\":\"x\",\"error\":\"both\"}" },
  { NULL },
};

static void
test_transact_protocol_error (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  g_autoptr (GError) error = NULL;

  start_script (fixture, bad_json_rpc_script);
  client = connect_client (fixture);

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_WARNING,
                         "*received bad JSON-RPC message*");
  g_assert_false (
    uc_client_transact (client, "version", NULL, -1, NULL, NULL, NULL, &error));
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
  uc_test_send_all (fixture->conn, reply->str, reply->len);
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

  g_assert_true (uc_client_transact (client, "memory/show", NULL, -1, &result,
                                     NULL, NULL, &error));
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

/* Both requests, then both replies, the second first. */
static const Step out_of_order_script[] = {
  { "{\"id\":0,\"method\":\"first\",\"params\":[]}", NULL },
  { "{\"id\":1,\"method\":\"second\",\"params\":[\"2\"]}",
    "{\"id\":1,\"result\":\"two\",\"error\":null}" },
  { NULL, "{\"id\":0,\"result\":\"one\",\"error\":null}" },
  { NULL },
};

static void
test_transact_async_pipelined (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  AsyncResult first = { FALSE }, second = { FALSE };
  const char *const args[] = { "2", NULL };

  start_script (fixture, out_of_order_script);
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
  g_assert_false (uc_client_transact (client, "slow", NULL, -1, NULL, NULL,
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

/* /client/transact/deadline */

static void
serve_after_deadline (Fixture *fixture)
{
  server_expect (fixture, "{\"id\":0,\"method\":\"slow\",\"params\":[]}");
  /* Half a reply, then nothing until the client has given up and gone
   * on: the half it read must still be there for the next receive. */
  server_send_text (fixture, "{\"id\":0,\"result\":\"la");
  server_expect (fixture, "{\"id\":1,\"method\":\"fast\",\"params\":[]}");
  server_send_text (fixture, "te\",\"error\":null}");
  server_send_text (fixture, "{\"id\":1,\"result\":\"fast\",\"error\":null}");
  g_assert_null (server_receive (fixture));
}

static void
test_transact_deadline (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcClient) client = NULL;
  g_autoptr (GError) error = NULL;
  gint64 start, deadline;

  start_server (fixture, serve_after_deadline);
  client = connect_client (fixture);

  start = g_get_monotonic_time ();
  deadline = start + 200 * 1000;
  g_assert_false (uc_client_transact (client, "slow", NULL, deadline, NULL,
                                      NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time (), >=, deadline);

  /* The connection is still good, and the late reply to the abandoned
   * request is not taken for the next one's. */
  transact_expect_result (client, "fast", NULL, "fast");

  /* A deadline already passed fails before anything is sent: the
   * server's script ends with the next thing it reads, the close. */
  g_clear_error (&error);
  g_assert_false (uc_client_transact (client, "never", NULL, start, NULL, NULL,
                                      NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  g_clear_object (&client);
  join_server (fixture);
}

/* /client/connect/errors */

static const Step version_script[] = {
  { VERSION_REQUEST, "{\"id\":0,\"result\":\"1.0\\n\",\"error\":null}" },
  { NULL },
};

static void
test_connect_errors (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = NULL;
  UcClient *client;

  missing = g_strconcat (fixture->stream_name, ".missing", NULL);
  client = uc_client_connect (missing, NULL, -1, NULL, &error);
  g_assert_null (client);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  client = uc_client_connect ("bogus:name", NULL, -1, NULL, &error);
  g_assert_null (client);
  g_assert_error (error, UC_ERROR, UC_ERROR_INVALID_NAME);
  g_clear_error (&error);

  /* A relative unix: name resolves under the rundir given. */
  start_script (fixture, version_script);
  client = uc_client_connect ("unix:fake.sock", fixture->dir, -1, NULL, &error);
  g_assert_no_error (error);
  transact_expect_result (client, "version", NULL, "1.0\n");
  g_object_unref (client);
  join_server (fixture);
}

/* /client/connect/deadline */

static void
test_connect_deadline (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  UcClient *client;

  /* Nothing is tried once the deadline has passed: the listener has no
   * connection waiting afterwards. */
  client = uc_client_connect (fixture->stream_name, NULL,
                              g_get_monotonic_time (), NULL, &error);
  g_assert_null (client);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  g_socket_set_blocking (fixture->listener, FALSE);
  g_clear_error (&error);
  g_assert_null (g_socket_accept (fixture->listener, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

/* /client/sync/no-task: what a one-shot program pays for.  GTask's class
 * starts GIO's task thread pool, a thread that a CLI run would create
 * for nothing; the sync calls on a unix: stream must never need it. */
static void
test_sync_no_task (Fixture *fixture, gconstpointer user_data)
{
  if (g_test_subprocess ())
    {
      g_autoptr (UcClient) client = NULL;

      start_script (fixture, version_script);
      client = connect_client (fixture);
      transact_expect_result (client, "version", NULL, "1.0\n");
      g_clear_object (&client);
      join_server (fixture);

      g_assert_null (g_type_class_peek (G_TYPE_TASK));
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ((path), Fixture, NULL, fixture_set_up, (func), fixture_tear_down)

  ADD ("/client/transact/result", test_transact_result);
  ADD ("/client/transact/error-shapes", test_transact_error_shapes);
  g_test_add ("/client/transact/unknown-id", Fixture, &unknown_ids_case,
              fixture_set_up, test_transact_version, fixture_tear_down);
  g_test_add ("/client/transact/echo", Fixture, &echo_case, fixture_set_up,
              test_transact_version, fixture_tear_down);
  g_test_add ("/client/transact/ignored", Fixture, &ignored_case,
              fixture_set_up, test_transact_version, fixture_tear_down);
  ADD ("/client/transact/closed", test_transact_closed);
  ADD ("/client/transact/protocol-error", test_transact_protocol_error);
  ADD ("/client/transact/big", test_transact_big);
  ADD ("/client/transact/async-pipelined", test_transact_async_pipelined);
  ADD ("/client/transact/cancel-sync", test_transact_cancel_sync);
  ADD ("/client/transact/cancel-async", test_transact_cancel_async);
  ADD ("/client/transact/deadline", test_transact_deadline);
  ADD ("/client/connect/errors", test_connect_errors);
  ADD ("/client/connect/deadline", test_connect_deadline);
  ADD ("/client/sync/no-task", test_sync_no_task);

#undef ADD

  return g_test_run ();
}
