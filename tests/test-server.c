/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control server, driven in-process through a real `punix:` socket by
 * raw clients that write and read exact bytes: what is checked here is
 * the wire, byte for byte.
 */
#define G_LOG_DOMAIN "test-server"

#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uc-pstream.h"
#include "uc-rate-limit.h"
#include "uc-request.h"
#include "uc-server.h"
#include "uc-test-util.h"

/* No test should come near this; it turns a hang into a clear failure. */
#define WATCHDOG_SECONDS 30

#define VERSION_TEXT "unixctld (unixctld) " PACKAGE_VERSION

typedef struct
{
  char *dir;          /* (owned) the rundir */
  UcServer *server;   /* (owned) */
  UcPstream *pstream; /* (owned) the punix: listener */
  char *path;         /* (owned) its socket */
  guint watchdog_id;

  guint n_exit_requested;
  guint n_deferred_started;
  guint n_deferred_done;
  guint n_deferred_cancelled;
  GPtrArray *deferred; /* (owned) (element-type GSource) timers of `defer` */
  gboolean exit_reply_seen; /* when ::exit-requested was emitted */
  GSocket *exit_client;     /* (unowned) the client that sent `exit` */
} Fixture;

/* Clients. */

typedef struct
{
  GSocket *socket;  /* (owned) nonblocking once connected */
  GString *pending; /* (owned) bytes read and not yet checked */
  gboolean eof;
} Client;

static void
client_free (Client *client)
{
  g_clear_object (&client->socket);
  if (client->pending != NULL)
    g_string_free (client->pending, TRUE);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static Client *
client_new (GSocketAddress *address)
{
  g_autoptr (Client) client = g_new0 (Client, 1);
  g_autoptr (GError) error = NULL;

  client->socket =
    g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                  G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  /* The kernel completes the connection from the listen backlog, even
   * while the server does not accept. */
  g_socket_connect (client->socket, address, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (client->socket, FALSE);
  client->pending = g_string_new (NULL);
  return g_steal_pointer (&client);
}

static Client *
client_new_unix (const char *path)
{
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);

  return client_new (address);
}

static Client *
client_new_tcp (guint16 port)
{
  g_autoptr (GInetAddress) loopback =
    g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address =
    g_inet_socket_address_new (loopback, port);

  return client_new (address);
}

static void
client_send_len (Client *client, const char *data, gsize length)
{
  while (length > 0)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_send (client->socket, data, length, NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          uc_test_wait_socket (client->socket, G_IO_OUT);
          continue;
        }
      g_assert_no_error (error);
      data += n;
      length -= (gsize) n;
    }
}

static void
client_send (Client *client, const char *data)
{
  client_send_len (client, data, strlen (data));
}

/* Reads what is there now; returns FALSE if nothing was. */
static gboolean
client_read_now (Client *client)
{
  g_autoptr (GError) error = NULL;
  char buffer[65536];
  gssize n;

  n = g_socket_receive (client->socket, buffer, sizeof buffer, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return FALSE;
  /* A peer that closes with our bytes unread resets the connection. */
  if (n < 0 &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    n = 0;
  g_assert_no_error (error);
  if (n == 0)
    client->eof = TRUE;
  else
    g_string_append_len (client->pending, buffer, n);
  return TRUE;
}

static void
client_read (Client *client)
{
  g_assert_false (client->eof);
  uc_test_wait_socket (client->socket, G_IO_IN);
  client_read_now (client);
}

/* Reads exactly @expected and checks it. */
static void
client_expect (Client *client, const char *expected)
{
  gsize length = strlen (expected);
  g_autofree char *received = NULL;

  /* Stop at the first byte that differs, rather than wait for more. */
  while (client->pending->len < length && !client->eof &&
         memcmp (client->pending->str, expected, client->pending->len) == 0)
    client_read (client);
  received = g_strndup (client->pending->str, length);
  g_assert_cmpstr (received, ==, expected);
  g_string_erase (client->pending, 0, (gssize) length);
}

/* Reads until the server closes; nothing must come first. */
static void
client_expect_eof (Client *client)
{
  while (!client->eof)
    client_read (client);
  g_assert_cmpstr (client->pending->str, ==, "");
}

/* One request, one exact reply. */
static void
client_transact (Client *client, const char *request, const char *reply)
{
  client_send (client, request);
  client_expect (client, reply);
}

/* Lets the server run until nothing is left to do at once. */
static void
run_pending (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Test commands. */

static void
cmd_reply_text (UcRequest *request, gpointer user_data)
{
  uc_request_reply (request, uc_request_get_argv (request)[1]);
}

static void
cmd_reply_error (UcRequest *request, gpointer user_data)
{
  uc_request_reply_error (request, uc_request_get_argv (request)[1]);
}

static void
cmd_reply_json (UcRequest *request, gpointer user_data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, "{\"a\":[1,\"x\"],\"b\":null}", -1,
                              &error);
  g_assert_no_error (error);
  uc_request_reply_json (request,
                         json_node_copy (json_parser_get_root (parser)));
}

static void
cmd_whoami (UcRequest *request, gpointer user_data)
{
  GCredentials *credentials = uc_request_get_credentials (request);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  uid_t uid;

  /* Only unix sockets tell who is calling. */
  if (credentials == NULL)
    {
      uc_request_reply (request, "none");
      return;
    }
  uid = g_credentials_get_unix_user (credentials, &error);
  g_assert_no_error (error);
  text = g_strdup_printf ("%u", (guint) uid);
  uc_request_reply (request, text);
}

static void
cmd_no_reply (UcRequest *request, gpointer user_data)
{
}

typedef struct
{
  Fixture *fixture;   /* (unowned) */
  UcRequest *request; /* (owned) */
  char *text;         /* (owned) */
} Deferred;

static void
deferred_free (gpointer data)
{
  Deferred *deferred = data;

  g_clear_object (&deferred->request);
  g_free (deferred->text);
  g_free (deferred);
}

static gboolean
on_deferred_timeout (gpointer user_data)
{
  Deferred *deferred = user_data;
  GCancellable *cancellable = uc_request_get_cancellable (deferred->request);

  if (g_cancellable_is_cancelled (cancellable))
    deferred->fixture->n_deferred_cancelled++;
  /* Dropped quietly when the client has gone. */
  uc_request_reply (deferred->request, deferred->text);
  deferred->fixture->n_deferred_done++;
  return G_SOURCE_REMOVE;
}

/* defer MS TEXT: answers TEXT after MS milliseconds. */
static void
cmd_defer (UcRequest *request, gpointer user_data)
{
  Deferred *deferred = g_new0 (Deferred, 1);
  const char *const *argv = uc_request_get_argv (request);
  GSource *source;

  deferred->fixture = user_data;
  deferred->request = g_object_ref (request);
  deferred->text = g_strdup (argv[2]);
  deferred->fixture->n_deferred_started++;
  source = g_timeout_source_new ((guint) atoi (argv[1]));
  g_source_set_callback (source, on_deferred_timeout, deferred, deferred_free);
  g_source_attach (source, NULL);
  /* Kept so that tear-down can drop a reply still waiting. */
  g_ptr_array_add (deferred->fixture->deferred, source);
}

static void
destroy_source (gpointer data)
{
  g_source_destroy (data);
  g_source_unref (data);
}

static gboolean
on_watchdog (gpointer user_data)
{
  g_error ("test did not finish within %d s", WATCHDOG_SECONDS);
  return G_SOURCE_REMOVE;
}

static void
on_exit_requested (UcServer *server, gpointer user_data)
{
  Fixture *fixture = user_data;

  fixture->n_exit_requested++;
  /* The reply must already be readable by the client. */
  if (fixture->exit_client != NULL)
    {
      char buffer[256];
      gssize n = g_socket_receive (fixture->exit_client, buffer,
                                   sizeof buffer - 1, NULL, NULL);

      if (n > 0)
        {
          buffer[n] = '\0';
          g_assert_cmpstr (buffer, ==,
                           "{\"id\":7,\"result\":\"\",\"error\":null}");
          fixture->exit_reply_seen = TRUE;
        }
    }
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("test-server-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->watchdog_id =
    g_timeout_add_seconds (WATCHDOG_SECONDS, on_watchdog, NULL);
  fixture->deferred = g_ptr_array_new_with_free_func (destroy_source);

  fixture->server = uc_server_new ("unixctld", PACKAGE_VERSION);
  g_signal_connect (fixture->server, "exit-requested",
                    G_CALLBACK (on_exit_requested), fixture);
  uc_server_register (fixture->server, "echo", "ARG...", 1, 3, uc_test_cmd_echo,
                      NULL, NULL);
  uc_server_register (fixture->server, "Z/upper", "U", 0, 0, uc_test_cmd_echo,
                      NULL, NULL);
  uc_server_register (fixture->server, "a-very-long-command-name", "X Y", 0, 2,
                      uc_test_cmd_echo, NULL, NULL);
  uc_server_register (fixture->server, "reply-text", NULL, 1, 1, cmd_reply_text,
                      NULL, NULL);
  uc_server_register (fixture->server, "reply-error", NULL, 1, 1,
                      cmd_reply_error, NULL, NULL);
  uc_server_register (fixture->server, "reply-json", NULL, 0, 0, cmd_reply_json,
                      NULL, NULL);
  uc_server_register (fixture->server, "whoami", NULL, 0, 0, cmd_whoami, NULL,
                      NULL);
  uc_server_register (fixture->server, "no-reply", NULL, 0, 0, cmd_no_reply,
                      NULL, NULL);
  uc_server_register (fixture->server, "defer", NULL, 2, 2, cmd_defer, fixture,
                      NULL);

  fixture->pstream = uc_pstream_new ("punix:test.ctl", fixture->dir, &error);
  g_assert_no_error (error);
  uc_server_add_listener (fixture->server, fixture->pstream, UC_LISTENER_NONE,
                          &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "test.ctl", NULL);
  g_assert_cmpstr (uc_pstream_get_path (fixture->pstream), ==, fixture->path);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->server);
  g_clear_pointer (&fixture->deferred, g_ptr_array_unref);
  /* Closing the connections ends in the main context. */
  run_pending ();
  g_clear_object (&fixture->pstream);
  g_clear_handle_id (&fixture->watchdog_id, g_source_remove);
  g_remove (fixture->path);
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_free (fixture->path);
  g_free (fixture->dir);
}

/* Wire facts. */

static void
test_wire_version (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  client_transact (client, "{\"method\":\"version\",\"params\":[],\"id\":0}",
                   "{\"id\":0,\"result\":\"" VERSION_TEXT "\\n\","
                   "\"error\":null}");
  /* Whitespace between and around messages is allowed. */
  client_transact (client,
                   " \n{ \"method\" : \"version\", \"params\" : [ ], "
                   "\"id\" : 1 }\n",
                   "{\"id\":1,\"result\":\"" VERSION_TEXT "\\n\","
                   "\"error\":null}");
  g_assert_cmpstr (uc_server_get_program_name (fixture->server), ==,
                   "unixctld");
  g_assert_cmpstr (uc_server_get_version (fixture->server), ==,
                   PACKAGE_VERSION);
}

static void
test_wire_error_shape (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  client_transact (client, "{\"method\":\"foo\",\"params\":[],\"id\":1}",
                   "{\"id\":1,\"error\":\"\\\"foo\\\" is not a valid command "
                   "(use \\\"list-commands\\\" to see a list of valid "
                   "commands)\\n\"}");
  client_transact (client,
                   "{\"method\":\"reply-error\",\"params\":[\"bad\"],"
                   "\"id\":2}",
                   "{\"id\":2,\"error\":\"bad\\n\"}");
}

static void
test_validation_order (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  /* Unknown before anything else, even with a bad argument. */
  client_transact (client, "{\"method\":\"nope\",\"params\":[1],\"id\":1}",
                   "{\"id\":1,\"error\":\"\\\"nope\\\" is not a valid command "
                   "(use \\\"list-commands\\\" to see a list of valid "
                   "commands)\\n\"}");
  client_transact (client, "{\"method\":\"echo\",\"params\":[],\"id\":2}",
                   "{\"id\":2,\"error\":\"\\\"echo\\\" command requires at "
                   "least 1 arguments\\n\"}");
  client_transact (client, "{\"method\":\"exit\",\"params\":[\"x\"],\"id\":3}",
                   "{\"id\":3,\"error\":\"\\\"exit\\\" command takes at most 0 "
                   "arguments\\n\"}");
  /* The count is checked before the types. */
  client_transact (client, "{\"method\":\"exit\",\"params\":[1],\"id\":4}",
                   "{\"id\":4,\"error\":\"\\\"exit\\\" command takes at most 0 "
                   "arguments\\n\"}");
  client_transact (client,
                   "{\"method\":\"echo\",\"params\":[1,2,3,4],\"id\":5}",
                   "{\"id\":5,\"error\":\"\\\"echo\\\" command takes at most 3 "
                   "arguments\\n\"}");
  client_transact (client,
                   "{\"method\":\"echo\",\"params\":[\"a\",\"b\"],\"id\":6}",
                   "{\"id\":6,\"result\":\"a b\\n\",\"error\":null}");
}

static void
test_validation_non_string (Fixture *fixture, gconstpointer data)
{
  static const char *const params[] = {
    "[1]", "[null]", "[true]", "[\"a\",{}]", "[[]]", "[\"a\",\"b\",1.5]",
  };
  g_autoptr (Client) client = client_new_unix (fixture->path);

  for (guint i = 0; i < G_N_ELEMENTS (params); i++)
    {
      g_autofree char *request = g_strdup_printf (
        "{\"method\":\"echo\",\"params\":%s,\"id\":%u}", params[i], i);
      g_autofree char *reply = g_strdup_printf (
        "{\"id\":%u,\"error\":\"\\\"echo\\\" command has non-string "
        "argument\\n\"}",
        i);

      client_transact (client, request, reply);
    }
}

/* Commands and listings. */

#define LIST_TEXT_WIRE                                \
  "The available commands are:\\n"                    \
  "  Z/upper                 U\\n"                    \
  "  a-very-long-command-name X Y\\n"                 \
  "  echo                    ARG...\\n"               \
  "  exit                    \\n"                     \
  "  help                    \\n"                     \
  "  list-commands           \\n"                     \
  "  set-options             [--format text|json]\\n" \
  "  version                 \\n"

/* A connection's first request switching it to JSON, and the answer,
 * already in JSON. */
#define SET_JSON_REQUEST \
  "{\"method\":\"set-options\",\"params\":[\"--format\",\"json\"],\"id\":1}"
#define SET_JSON_REPLY                                                \
  "{\"id\":1,\"result\":{\"reply-format\":\"plain\",\"reply\":\"\"}," \
  "\"error\":null}"

#define LIST_JSON_WIRE                                                      \
  "{\"Z/upper\":\"U\",\"a-very-long-command-name\":\"X Y\","                \
  "\"echo\":\"ARG...\",\"exit\":\"\",\"help\":\"\",\"list-commands\":\"\"," \
  "\"set-options\":\"[--format text|json]\",\"version\":\"\"}"

static void
test_commands_list_text (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  client_transact (client,
                   "{\"method\":\"list-commands\",\"params\":[],\"id\":1}",
                   "{\"id\":1,\"result\":\"" LIST_TEXT_WIRE "\","
                   "\"error\":null}");
  /* `help` is the same listing. */
  client_transact (client, "{\"method\":\"help\",\"params\":[],\"id\":2}",
                   "{\"id\":2,\"result\":\"" LIST_TEXT_WIRE "\","
                   "\"error\":null}");
}

static void
test_commands_list_json (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  client_transact (client, SET_JSON_REQUEST, SET_JSON_REPLY);
  client_transact (client,
                   "{\"method\":\"list-commands\",\"params\":[],\"id\":2}",
                   "{\"id\":2,\"result\":" LIST_JSON_WIRE ",\"error\":null}");
  client_transact (client, "{\"method\":\"help\",\"params\":[],\"id\":3}",
                   "{\"id\":3,\"result\":" LIST_JSON_WIRE ",\"error\":null}");
}

static void
test_commands_hidden (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);
  g_auto (GStrv) names = uc_server_list_commands (fixture->server);
  static const char *const all[] = {
    "Z/upper",
    "a-very-long-command-name",
    "defer",
    "echo",
    "exit",
    "help",
    "list-commands",
    "no-reply",
    "reply-error",
    "reply-json",
    "reply-text",
    "set-options",
    "version",
    "whoami",
    NULL,
  };

  /* Hidden from the listing, but callable and listed by the API. */
  client_transact (client,
                   "{\"method\":\"reply-text\",\"params\":[\"hi\"],\"id\":1}",
                   "{\"id\":1,\"result\":\"hi\\n\",\"error\":null}");
  g_assert_cmpstrv (names, all);
  g_assert_null (uc_server_get_usage (fixture->server, "reply-text"));
  g_assert_cmpstr (uc_server_get_usage (fixture->server, "echo"), ==, "ARG...");
  g_assert_cmpstr (uc_server_get_usage (fixture->server, "set-options"), ==,
                   "[--format text|json]");
  g_assert_null (uc_server_get_usage (fixture->server, "nope"));
}

static void
count_free (gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_commands_register (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);
  guint freed_first = 0;
  guint freed_second = 0;

  /* Replacing frees the old data; unregistering frees the new. */
  uc_server_register (fixture->server, "r", "", 0, 0, uc_test_cmd_echo,
                      &freed_first, count_free);
  uc_server_register (fixture->server, "r", "A", 1, 1, cmd_reply_text,
                      &freed_second, count_free);
  g_assert_cmpuint (freed_first, ==, 1);
  g_assert_cmpuint (freed_second, ==, 0);
  g_assert_cmpstr (uc_server_get_usage (fixture->server, "r"), ==, "A");
  client_transact (client, "{\"method\":\"r\",\"params\":[\"b\"],\"id\":1}",
                   "{\"id\":1,\"result\":\"b\\n\",\"error\":null}");
  g_assert_true (uc_server_unregister (fixture->server, "r"));
  g_assert_false (uc_server_unregister (fixture->server, "r"));
  client_transact (client, "{\"method\":\"r\",\"params\":[\"b\"],\"id\":2}",
                   "{\"id\":2,\"error\":\"\\\"r\\\" is not a valid command "
                   "(use \\\"list-commands\\\" to see a list of valid "
                   "commands)\\n\"}");
  g_assert_cmpuint (freed_first, ==, 1);
  g_assert_cmpuint (freed_second, ==, 1);
}

/* set-options. */

static void
test_set_options_variants (Fixture *fixture, gconstpointer data)
{
  static const char *const to_json[] = {
    "[\"--format\",\"json\"]", "[\"--format=json\"]", "[\"--f\",\"JSON\"]",
    "[\"--form=Json\"]",       "[\"-f\",\"json\"]",   "[\"-fjson\"]",
    "[\"--fo\",\"jSoN\"]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (to_json); i++)
    {
      g_autoptr (Client) client = client_new_unix (fixture->path);
      g_autofree char *request = g_strdup_printf (
        "{\"method\":\"set-options\",\"params\":%s,\"id\":1}", to_json[i]);

      g_test_message ("set-options %s", to_json[i]);
      client_transact (client, request,
                       "{\"id\":1,\"result\":{\"reply-format\":\"plain\","
                       "\"reply\":\"\"},\"error\":null}");
      client_transact (client,
                       "{\"method\":\"version\",\"params\":[],\"id\":2}",
                       "{\"id\":2,\"result\":{\"reply-format\":\"plain\","
                       "\"reply\":\"" VERSION_TEXT "\"},\"error\":null}");
      /* And back: this reply is already plain text. */
      client_transact (client,
                       "{\"method\":\"set-options\",\"params\":[\"--format\","
                       "\"TEXT\"],\"id\":3}",
                       "{\"id\":3,\"result\":\"\",\"error\":null}");
      client_transact (client,
                       "{\"method\":\"version\",\"params\":[],\"id\":4}",
                       "{\"id\":4,\"result\":\"" VERSION_TEXT "\\n\","
                       "\"error\":null}");
    }
}

static void
test_set_options_errors (Fixture *fixture, gconstpointer data)
{
  static const struct
  {
    const char *params;
    const char *error;
  } cases[] = {
    { "[\"--format\",\"xml\"]", "option format has invalid value xml" },
    { "[\"--format=\"]", "option format has invalid value " },
    { "[\"-fyaml\"]", "option format has invalid value yaml" },
    { "[\"--format\"]", "option '--format' requires an argument" },
    { "[\"-f\"]", "option '--format' requires an argument" },
    { "[\"--bogus\"]", "unrecognized option '--bogus'" },
    { "[\"--formats=json\"]", "unrecognized option '--formats'" },
    { "[\"--=json\"]", "unrecognized option '--'" },
    { "[\"-x\"]", "unrecognized option '-x'" },
    { "[\"json\"]", "unexpected argument 'json'" },
    { "[\"--\",\"--format\"]", "unexpected argument '--format'" },
    { "[\"--format\",\"json\",\"text\"]",
      "\\\"set-options\\\" command takes at most 2 arguments" },
    { "[]", "\\\"set-options\\\" command requires at least 1 arguments" },
  };
  g_autoptr (Client) client = client_new_unix (fixture->path);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *request =
        g_strdup_printf ("{\"method\":\"set-options\",\"params\":%s,\"id\":%u}",
                         cases[i].params, i);
      g_autofree char *reply =
        g_strdup_printf ("{\"id\":%u,\"error\":\"%s\\n\"}", i, cases[i].error);

      client_transact (client, request, reply);
    }
  /* No error changed the format. */
  client_transact (client, "{\"method\":\"version\",\"params\":[],\"id\":99}",
                   "{\"id\":99,\"result\":\"" VERSION_TEXT "\\n\","
                   "\"error\":null}");
  /* `--` alone sets nothing and succeeds. */
  client_transact (
    client, "{\"method\":\"set-options\",\"params\":[\"--\"],\"id\":100}",
    "{\"id\":100,\"result\":\"\",\"error\":null}");
}

static void
test_set_options_per_connection (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) a = client_new_unix (fixture->path);
  g_autoptr (Client) b = client_new_unix (fixture->path);

  client_transact (a, SET_JSON_REQUEST, SET_JSON_REPLY);
  client_transact (b, "{\"method\":\"version\",\"params\":[],\"id\":1}",
                   "{\"id\":1,\"result\":\"" VERSION_TEXT "\\n\","
                   "\"error\":null}");
  client_transact (a, "{\"method\":\"version\",\"params\":[],\"id\":2}",
                   "{\"id\":2,\"result\":{\"reply-format\":\"plain\","
                   "\"reply\":\"" VERSION_TEXT "\"},\"error\":null}");
}

/* Reply shaping. */

static void
test_shaping_text (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  client_transact (client,
                   "{\"method\":\"reply-text\",\"params\":[\"a\"],\"id\":1}",
                   "{\"id\":1,\"result\":\"a\\n\",\"error\":null}");
  client_transact (client,
                   "{\"method\":\"reply-text\",\"params\":[\"a\\n\"],\"id\":2}",
                   "{\"id\":2,\"result\":\"a\\n\",\"error\":null}");
  client_transact (client,
                   "{\"method\":\"reply-text\",\"params\":[\"\"],\"id\":3}",
                   "{\"id\":3,\"result\":\"\",\"error\":null}");
  client_transact (
    client, "{\"method\":\"reply-text\",\"params\":[\"a\\nb\"],\"id\":4}",
    "{\"id\":4,\"result\":\"a\\nb\\n\",\"error\":null}");
  client_transact (client,
                   "{\"method\":\"reply-error\",\"params\":[\"e\"],\"id\":5}",
                   "{\"id\":5,\"error\":\"e\\n\"}");
  client_transact (
    client, "{\"method\":\"reply-error\",\"params\":[\"e\\n\"],\"id\":6}",
    "{\"id\":6,\"error\":\"e\\n\"}");
  client_transact (client,
                   "{\"method\":\"reply-error\",\"params\":[\"\"],\"id\":7}",
                   "{\"id\":7,\"error\":\"\"}");
  /* A JSON reply asked for as text: its compact text and a newline. */
  client_transact (client, "{\"method\":\"reply-json\",\"params\":[],\"id\":8}",
                   "{\"id\":8,\"result\":\"{\\\"a\\\":[1,\\\"x\\\"],"
                   "\\\"b\\\":null}\\n\",\"error\":null}");
}

static void
test_shaping_json (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  client_transact (client,
                   "{\"method\":\"set-options\",\"params\":[\"--format=json\"],"
                   "\"id\":1}",
                   SET_JSON_REPLY);
  /* Text is wrapped as it is, with no newline added. */
  client_transact (client,
                   "{\"method\":\"reply-text\",\"params\":[\"a\"],\"id\":2}",
                   "{\"id\":2,\"result\":{\"reply-format\":\"plain\","
                   "\"reply\":\"a\"},\"error\":null}");
  client_transact (client,
                   "{\"method\":\"reply-text\",\"params\":[\"a\\n\"],\"id\":3}",
                   "{\"id\":3,\"result\":{\"reply-format\":\"plain\","
                   "\"reply\":\"a\\n\"},\"error\":null}");
  client_transact (client, "{\"method\":\"reply-json\",\"params\":[],\"id\":4}",
                   "{\"id\":4,\"result\":{\"a\":[1,\"x\"],\"b\":null},"
                   "\"error\":null}");
  /* Errors stay strings, with the newline rule. */
  client_transact (client,
                   "{\"method\":\"reply-error\",\"params\":[\"e\"],\"id\":5}",
                   "{\"id\":5,\"error\":\"e\\n\"}");
  client_transact (client, "{\"method\":\"nope\",\"params\":[],\"id\":6}",
                   "{\"id\":6,\"error\":\"\\\"nope\\\" is not a valid command "
                   "(use \\\"list-commands\\\" to see a list of valid "
                   "commands)\\n\"}");
}

/* Deferred replies. */

static void
test_deferred_pipelined (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  /* Three requests in one write: the first is answered late, yet all
   * come back in order. */
  client_send (client,
               "{\"method\":\"defer\",\"params\":[\"50\",\"late\"],\"id\":1}"
               "{\"method\":\"version\",\"params\":[],\"id\":2}"
               "{\"method\":\"echo\",\"params\":[\"x\"],\"id\":3}");
  client_expect (client, "{\"id\":1,\"result\":\"late\\n\",\"error\":null}");
  g_assert_cmpuint (fixture->n_deferred_done, ==, 1);
  client_expect (client, "{\"id\":2,\"result\":\"" VERSION_TEXT "\\n\","
                         "\"error\":null}");
  client_expect (client, "{\"id\":3,\"result\":\"x\\n\",\"error\":null}");
  g_assert_cmpuint (fixture->n_deferred_cancelled, ==, 0);
}

static void
test_deferred_client_gone (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  client_send (client,
               "{\"method\":\"defer\",\"params\":[\"300\",\"late\"],\"id\":1}");
  while (fixture->n_deferred_started == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (uc_server_get_n_connections (fixture->server), ==, 1);

  /* The server notices the hang-up while the request waits... */
  g_clear_pointer (&client, client_free);
  while (uc_server_get_n_connections (fixture->server) > 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (fixture->n_deferred_done, ==, 0);

  /* ...and the late answer goes nowhere. */
  while (fixture->n_deferred_done == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (fixture->n_deferred_cancelled, ==, 1);
}

static void
test_deferred_no_reply (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  /* A handler that forgets to answer is reported, and the client still
   * gets an answer. */
  g_test_expect_message ("unixctl", G_LOG_LEVEL_CRITICAL,
                         "command \"no-reply\" was released without a reply");
  client_transact (client, "{\"method\":\"no-reply\",\"params\":[],\"id\":1}",
                   "{\"id\":1,\"error\":\"internal error: command "
                   "\\\"no-reply\\\" did not reply\\n\"}");
  g_test_assert_expected_messages ();
  client_transact (client, "{\"method\":\"echo\",\"params\":[\"ok\"],\"id\":2}",
                   "{\"id\":2,\"result\":\"ok\\n\",\"error\":null}");
}

/* Protocol violations close the connection without a reply. */

static void
expect_closed_without_reply (Fixture *fixture,
                             const char *bytes,
                             const char *domain,
                             const char *pattern)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  g_test_message ("sending %s", bytes);
  g_test_expect_message (domain, G_LOG_LEVEL_WARNING, pattern);
  client_send (client, bytes);
  client_expect_eof (client);
  g_test_assert_expected_messages ();
}

static void
test_protocol_violations (Fixture *fixture, gconstpointer data)
{
  static const char *const bad[] = {
    "nonsense",
    "[1,2]",
    "\"method\"",
    "{\"method\":\"version\",\"id\":1}",
    "{\"method\":\"version\",\"params\":{},\"id\":1}",
    "{\"method\":\"version\",\"params\":\"x\",\"id\":1}",
    "{\"method\":\"version\",\"params\":[],\"id\":1,\"extra\":0}",
    "{\"method\":7,\"params\":[],\"id\":1}",
    "{\"method\":\"version\",\"params\":[],\"id\":18446744073709551616}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    expect_closed_without_reply (fixture, bad[i], "jsonrpc", "unix#*");

  /* Well-formed messages of the wrong kind. */
  expect_closed_without_reply (
    fixture, "{\"method\":\"version\",\"params\":[]}", "unixctl",
    "unix#*: received unexpected notification "
    "message");
  expect_closed_without_reply (fixture,
                               "{\"method\":\"version\",\"params\":[],"
                               "\"id\":null}",
                               "unixctl",
                               "unix#*: received unexpected notification "
                               "message");
  expect_closed_without_reply (
    fixture, "{\"result\":\"x\",\"error\":null,\"id\":1}", "unixctl",
    "unix#*: received unexpected reply message");
  expect_closed_without_reply (fixture, "{\"error\":\"x\",\"id\":1}", "unixctl",
                               "unix#*: received unexpected error message");

  /* A request after a violation is never read. */
  expect_closed_without_reply (fixture,
                               "{\"result\":1,\"id\":1}"
                               "{\"method\":\"version\",\"params\":[],"
                               "\"id\":2}",
                               "unixctl",
                               "unix#*: received unexpected reply message");
  run_pending ();
  g_assert_cmpuint (uc_server_get_n_connections (fixture->server), ==, 0);
}

static void
test_protocol_ids (Fixture *fixture, gconstpointer data)
{
  static const char *const ids[] = {
    "\"abc\"",
    "0",
    "42",
    "-7",
    "9223372036854775807",
    "\"\"",
    "\"\\u00e9\\n\"",
    "[1,\"x\"]",
    "{\"k\":true}",
  };
  static const char *const echoed[] = {
    "\"abc\"",
    "0",
    "42",
    "-7",
    "9223372036854775807",
    "\"\"",
    "\"\xc3\xa9\\n\"",
    "[1,\"x\"]",
    "{\"k\":true}",
  };
  g_autoptr (Client) client = client_new_unix (fixture->path);

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *request = g_strdup_printf (
        "{\"method\":\"echo\",\"params\":[\"x\"],\"id\":%s}", ids[i]);
      g_autofree char *reply = g_strdup_printf (
        "{\"id\":%s,\"result\":\"x\\n\",\"error\":null}", echoed[i]);

      client_transact (client, request, reply);
    }
}

/* Quoting of client-provided names. */

static void
test_quoting_long_name (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);
  g_autofree char *name = g_strnfill (100 * 1024, 'a');
  g_autofree char *prefix = g_strnfill (UC_SERVER_QUOTE_MAX, 'a');
  g_autofree char *request =
    g_strdup_printf ("{\"method\":\"%s\",\"params\":[],\"id\":1}", name);
  g_autofree char *reply = g_strdup_printf (
    "{\"id\":1,\"error\":\"\\\"%s...\\\" is not a valid command (use "
    "\\\"list-commands\\\" to see a list of valid commands)\\n\"}",
    prefix);

  client_transact (client, request, reply);
}

static void
test_quoting_escapes (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);
  g_autofree char *exact = g_strnfill (UC_SERVER_QUOTE_MAX, 'b');
  g_autofree char *short_by_one = g_strnfill (UC_SERVER_QUOTE_MAX - 1, 'c');
  static const char tail[] = " is not a valid command (use "
                             "\\\"list-commands\\\" to see a list of valid "
                             "commands)\\n\"}";
  struct
  {
    char *method; /* (owned) as sent, JSON-escaped */
    char *quoted; /* (owned) as echoed inside the error, JSON-escaped */
  } cases[] = {
    /* Control characters are escaped (and the escape itself is escaped
     * on the wire). */
    { g_strdup ("a\\nb\\tc\\u0001d\\u001b\\u007f"),
      g_strdup ("a\\\\nb\\\\tc\\\\u0001d\\\\u001b\\\\u007f") },
    /* Ordinary text, multibyte included, is quoted byte for byte. */
    { g_strdup ("h\xc3\xa9llo/w\xe2\x82\xac\xf0\x9f\x98\x80"),
      g_strdup ("h\xc3\xa9llo/w\xe2\x82\xac\xf0\x9f\x98\x80") },
    { g_strdup ("sp ace\\\\back\\\"quote"),
      g_strdup ("sp ace\\\\back\\\"quote") },
    /* Exactly the limit is not cut. */
    { g_strdup (exact), g_strdup (exact) },
    /* A character that would cross the limit is left out whole. */
    { g_strconcat (short_by_one, "\xc3\xa9", NULL),
      g_strconcat (short_by_one, "...", NULL) },
    /* An escape counts at its escaped length. */
    { g_strconcat (short_by_one, "\\n", NULL),
      g_strconcat (short_by_one, "...", NULL) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *request = g_strdup_printf (
        "{\"method\":\"%s\",\"params\":[],\"id\":%u}", cases[i].method, i);
      g_autofree char *reply = g_strdup_printf (
        "{\"id\":%u,\"error\":\"\\\"%s\\\"%s", i, cases[i].quoted, tail);

      client_transact (client, request, reply);
      g_free (cases[i].method);
      g_free (cases[i].quoted);
    }
}

/* Credentials, exit, shutdown. */

static void
test_credentials (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);
  g_autofree char *reply = g_strdup_printf (
    "{\"id\":1,\"result\":\"%u\\n\",\"error\":null}", (guint) getuid ());

  client_transact (client, "{\"method\":\"whoami\",\"params\":[],\"id\":1}",
                   reply);
}

static void
test_exit (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) client = client_new_unix (fixture->path);

  fixture->exit_client = client->socket;
  client_send (client, "{\"method\":\"exit\",\"params\":[],\"id\":7}");
  while (fixture->n_exit_requested == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (fixture->exit_reply_seen);
  fixture->exit_client = NULL;

  /* `exit` only asks: the connection goes on until the owner acts. */
  client_transact (client, "{\"method\":\"echo\",\"params\":[\"x\"],\"id\":8}",
                   "{\"id\":8,\"result\":\"x\\n\",\"error\":null}");
  run_pending ();
  g_assert_cmpuint (fixture->n_exit_requested, ==, 1);
}

static void
on_shutdown_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  guint *n_done = user_data;
  g_autoptr (GError) error = NULL;

  g_assert_true (
    uc_server_shutdown_finish (UC_SERVER (source), result, &error));
  g_assert_no_error (error);
  (*n_done)++;
}

static void
test_shutdown (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) busy = client_new_unix (fixture->path);
  g_autoptr (Client) idle = client_new_unix (fixture->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (UcPstream) late = NULL;
  guint n_done = 0;

  client_transact (idle, "{\"method\":\"echo\",\"params\":[\"x\"],\"id\":1}",
                   "{\"id\":1,\"result\":\"x\\n\",\"error\":null}");
  client_send (busy,
               "{\"method\":\"defer\",\"params\":[\"100\",\"late\"],\"id\":1}");
  while (fixture->n_deferred_started == 0)
    g_main_context_iteration (NULL, TRUE);

  uc_server_shutdown_async (fixture->server, NULL, on_shutdown_done, &n_done);
  uc_server_shutdown_async (fixture->server, NULL, on_shutdown_done, &n_done);
  /* The listener is gone at once, with its socket file. */
  g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));

  client_expect_eof (idle);
  g_assert_cmpuint (n_done, ==, 0);
  client_expect (busy, "{\"id\":1,\"result\":\"late\\n\",\"error\":null}");
  client_expect_eof (busy);
  while (n_done < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (uc_server_get_n_connections (fixture->server), ==, 0);

  /* Done is done. */
  uc_server_shutdown_async (fixture->server, NULL, on_shutdown_done, &n_done);
  while (n_done < 3)
    g_main_context_iteration (NULL, TRUE);

  late = uc_pstream_new ("punix:late.ctl", fixture->dir, &error);
  g_assert_no_error (error);
  g_assert_false (
    uc_server_add_listener (fixture->server, late, UC_LISTENER_NONE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

static void
on_shutdown_cancelled_done (GObject *source,
                            GAsyncResult *result,
                            gpointer user_data)
{
  guint *n_done = user_data;
  g_autoptr (GError) error = NULL;

  g_assert_false (
    uc_server_shutdown_finish (UC_SERVER (source), result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  (*n_done)++;
}

static void
test_shutdown_cancelled (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Client) busy = client_new_unix (fixture->path);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  guint n_done = 0;

  client_send (busy,
               "{\"method\":\"defer\",\"params\":[\"60000\",\"x\"],\"id\":1}");
  while (fixture->n_deferred_started == 0)
    g_main_context_iteration (NULL, TRUE);

  /* Cancelling stops waiting for the request: its connection goes. */
  uc_server_shutdown_async (fixture->server, cancellable,
                            on_shutdown_cancelled_done, &n_done);
  run_pending ();
  g_assert_cmpuint (n_done, ==, 0);
  g_cancellable_cancel (cancellable);
  client_expect_eof (busy);
  while (n_done == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (uc_server_get_n_connections (fixture->server), ==, 0);
}

/* Caps. */

static void
test_caps_local (Fixture *fixture, gconstpointer data)
{
  Client *clients[4];

  uc_server_set_local_max_connections (fixture->server, 3);
  for (guint i = 0; i < 3; i++)
    {
      clients[i] = client_new_unix (fixture->path);
      client_transact (clients[i],
                       "{\"method\":\"echo\",\"params\":[\"x\"],\"id\":1}",
                       "{\"id\":1,\"result\":\"x\\n\",\"error\":null}");
    }
  g_assert_true (uc_pstream_is_paused (fixture->pstream));

  /* The fourth waits in the listen backlog. */
  clients[3] = client_new_unix (fixture->path);
  client_send (clients[3], "{\"method\":\"echo\",\"params\":[\"y\"],\"id\":1}");
  run_pending ();
  g_assert_false (client_read_now (clients[3]));
  g_assert_cmpuint (uc_server_get_n_connections (fixture->server), ==, 3);

  /* Until one goes. */
  client_free (clients[0]);
  client_expect (clients[3], "{\"id\":1,\"result\":\"y\\n\",\"error\":null}");
  g_assert_cmpuint (uc_server_get_n_connections (fixture->server), ==, 3);
  g_assert_true (uc_pstream_is_paused (fixture->pstream));

  /* Raising the cap resumes at once. */
  uc_server_set_local_max_connections (fixture->server, 4);
  g_assert_false (uc_pstream_is_paused (fixture->pstream));

  for (guint i = 1; i < 4; i++)
    client_free (clients[i]);
}

static void
test_caps_remote (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UcPstream) tcp = uc_pstream_new ("ptcp:0:127.0.0.1", NULL, &error);
  g_autoptr (Client) local = NULL;
  Client *remotes[3];
  guint16 port;

  g_assert_no_error (error);
  uc_server_set_remote_limits (fixture->server, 2, 0);
  uc_server_add_listener (fixture->server, tcp, UC_LISTENER_REMOTE, &error);
  g_assert_no_error (error);
  port = uc_pstream_get_port (tcp);

  for (guint i = 0; i < 2; i++)
    {
      remotes[i] = client_new_tcp (port);
      client_transact (remotes[i],
                       "{\"method\":\"echo\",\"params\":[\"x\"],\"id\":1}",
                       "{\"id\":1,\"result\":\"x\\n\",\"error\":null}");
    }
  client_transact (remotes[0], "{\"method\":\"whoami\",\"params\":[],\"id\":2}",
                   "{\"id\":2,\"result\":\"none\\n\",\"error\":null}");
  remotes[2] = client_new_tcp (port);
  client_send (remotes[2], "{\"method\":\"echo\",\"params\":[\"r\"],\"id\":1}");
  run_pending ();
  g_assert_false (client_read_now (remotes[2]));
  g_assert_true (uc_pstream_is_paused (tcp));

  /* The remotes are at their cap; the control socket is not. */
  g_assert_false (uc_pstream_is_paused (fixture->pstream));
  local = client_new_unix (fixture->path);
  client_transact (local, "{\"method\":\"echo\",\"params\":[\"l\"],\"id\":1}",
                   "{\"id\":1,\"result\":\"l\\n\",\"error\":null}");

  client_free (remotes[0]);
  client_expect (remotes[2], "{\"id\":1,\"result\":\"r\\n\",\"error\":null}");
  client_free (remotes[1]);
  client_free (remotes[2]);
}

static void
test_remote_idle_timeout (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UcPstream) tcp = uc_pstream_new ("ptcp:0:127.0.0.1", NULL, &error);
  g_autoptr (Client) local = NULL;
  g_autoptr (Client) remote = NULL;
  g_autoptr (Client) slow = NULL;
  g_autoptr (Client) active = NULL;
  gint64 start;

  g_assert_no_error (error);
  uc_server_set_remote_limits (fixture->server, 16, 1);
  uc_server_add_listener (fixture->server, tcp, UC_LISTENER_REMOTE, &error);
  g_assert_no_error (error);

  local = client_new_unix (fixture->path);
  remote = client_new_tcp (uc_pstream_get_port (tcp));
  slow = client_new_tcp (uc_pstream_get_port (tcp));
  active = client_new_tcp (uc_pstream_get_port (tcp));
  start = g_get_monotonic_time ();

  /* A request answered after the timeout: the connection is not idle
   * while it waits, and the timer starts over after the reply. */
  client_send (slow,
               "{\"method\":\"defer\",\"params\":[\"1300\",\"s\"],\"id\":1}");
  /* A request on time: the second of idleness starts over from it. */
  uc_test_run_for (600);
  client_transact (active, "{\"method\":\"echo\",\"params\":[\"a\"],\"id\":1}",
                   "{\"id\":1,\"result\":\"a\\n\",\"error\":null}");

  client_expect_eof (remote);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC);
  g_assert_false (client_read_now (active));
  client_expect (slow, "{\"id\":1,\"result\":\"s\\n\",\"error\":null}");
  client_expect_eof (active);
  g_assert_cmpint (g_get_monotonic_time () - start, >=,
                   1600 * G_TIME_SPAN_MILLISECOND);
  client_expect_eof (slow);

  /* The local connection, idle all along, is still served. */
  client_transact (local, "{\"method\":\"echo\",\"params\":[\"l\"],\"id\":1}",
                   "{\"id\":1,\"result\":\"l\\n\",\"error\":null}");
  g_assert_cmpuint (uc_server_get_n_connections (fixture->server), ==, 1);
}

/* UcRequest and dispatch, without a transport. */

typedef struct
{
  guint n_replies;
  gboolean success;
  char *body; /* (owned) */
  gboolean freed;
} Recorder;

static void
record_reply (UcRequest *request,
              gboolean success,
              JsonNode *body,
              gpointer user_data)
{
  Recorder *recorder = user_data;

  recorder->n_replies++;
  recorder->success = success;
  g_free (recorder->body);
  recorder->body = json_to_string (body, FALSE);
}

static void
record_freed (gpointer user_data)
{
  Recorder *recorder = user_data;

  recorder->freed = TRUE;
}

static UcRequest *
recorded_request (const char *const *argv,
                  UcOutputFormat format,
                  Recorder *recorder)
{
  return uc_request_new (argv, format, NULL, record_reply, recorder,
                         record_freed);
}

static void
test_request_basics (void)
{
  const char *argv[] = { "cmd", "a", "b", NULL };
  Recorder recorder = { 0 };
  g_autoptr (UcRequest) request =
    recorded_request (argv, UC_OUTPUT_FORMAT_TEXT, &recorder);

  g_assert_cmpstr (uc_request_get_command (request), ==, "cmd");
  g_assert_cmpuint (uc_request_get_argc (request), ==, 3);
  g_assert_cmpstrv (uc_request_get_argv (request), argv);
  g_assert_null (uc_request_get_credentials (request));
  g_assert_false (uc_request_is_answered (request));
  g_assert_false (
    g_cancellable_is_cancelled (uc_request_get_cancellable (request)));

  uc_request_reply (request, NULL);
  g_assert_true (uc_request_is_answered (request));
  g_assert_cmpuint (recorder.n_replies, ==, 1);
  g_assert_true (recorder.success);
  g_assert_cmpstr (recorder.body, ==, "\"\"");
  /* The transport's data goes with the answer. */
  g_assert_true (recorder.freed);

  /* A second answer is a programmer error, and is ignored. */
  g_test_expect_message ("unixctl", G_LOG_LEVEL_CRITICAL,
                         "*assertion*!self->answered*");
  uc_request_reply_error (request, "again");
  g_test_assert_expected_messages ();
  g_test_expect_message ("unixctl", G_LOG_LEVEL_CRITICAL,
                         "*assertion*!self->answered*");
  uc_request_reply_json (request, json_node_new (JSON_NODE_NULL));
  g_test_assert_expected_messages ();
  g_assert_cmpuint (recorder.n_replies, ==, 1);
  g_free (recorder.body);
}

static void
test_request_shaping (void)
{
  const char *argv[] = { "cmd", NULL };
  static const struct
  {
    UcOutputFormat format;
    int kind; /* 0 text, 1 error, 2 json */
    const char *input;
    gboolean success;
    const char *body;
  } cases[] = {
    { UC_OUTPUT_FORMAT_TEXT, 0, "a", TRUE, "\"a\\n\"" },
    { UC_OUTPUT_FORMAT_TEXT, 0, "a\n", TRUE, "\"a\\n\"" },
    { UC_OUTPUT_FORMAT_TEXT, 0, "", TRUE, "\"\"" },
    { UC_OUTPUT_FORMAT_TEXT, 0, NULL, TRUE, "\"\"" },
    { UC_OUTPUT_FORMAT_TEXT, 1, "e", FALSE, "\"e\\n\"" },
    { UC_OUTPUT_FORMAT_TEXT, 1, NULL, FALSE, "\"\"" },
    { UC_OUTPUT_FORMAT_TEXT, 2, "[1,2]", TRUE, "\"[1,2]\\n\"" },
    { UC_OUTPUT_FORMAT_TEXT, 2, "\"s\"", TRUE, "\"\\\"s\\\"\\n\"" },
    { UC_OUTPUT_FORMAT_JSON, 0, "a", TRUE,
      "{\"reply-format\":\"plain\",\"reply\":\"a\"}" },
    { UC_OUTPUT_FORMAT_JSON, 0, NULL, TRUE,
      "{\"reply-format\":\"plain\",\"reply\":\"\"}" },
    { UC_OUTPUT_FORMAT_JSON, 1, "e", FALSE, "\"e\\n\"" },
    { UC_OUTPUT_FORMAT_JSON, 2, "[1,2]", TRUE, "[1,2]" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Recorder recorder = { 0 };
      g_autoptr (UcRequest) request =
        recorded_request (argv, cases[i].format, &recorder);

      switch (cases[i].kind)
        {
          case 0:
            uc_request_reply (request, cases[i].input);
            break;
          case 1:
            uc_request_reply_error (request, cases[i].input);
            break;
          default:
            uc_request_reply_json (request,
                                   json_from_string (cases[i].input, NULL));
            break;
        }
      g_assert_cmpuint (recorder.n_replies, ==, 1);
      g_assert_cmpint (recorder.success, ==, cases[i].success);
      g_assert_cmpstr (recorder.body, ==, cases[i].body);
      g_free (recorder.body);
    }
}

static void
test_request_cancel (void)
{
  const char *argv[] = { "cmd", NULL };
  Recorder recorder = { 0 };
  g_autoptr (UcRequest) request =
    recorded_request (argv, UC_OUTPUT_FORMAT_TEXT, &recorder);
  GCancellable *cancellable = uc_request_get_cancellable (request);

  uc_request_cancel (request);
  g_assert_true (g_cancellable_is_cancelled (cancellable));
  g_assert_true (recorder.freed);
  uc_request_cancel (request);

  /* A late answer goes nowhere, quietly. */
  uc_request_reply_error_printf (request, "late %d", 1);
  g_assert_cmpuint (recorder.n_replies, ==, 0);
  g_assert_true (uc_request_is_answered (request));
}

static void
test_request_unanswered (void)
{
  const char *argv[] = { "forgetful", NULL };
  Recorder recorder = { 0 };
  UcRequest *request =
    recorded_request (argv, UC_OUTPUT_FORMAT_JSON, &recorder);

  g_test_expect_message ("unixctl", G_LOG_LEVEL_CRITICAL,
                         "command \"forgetful\" was released without a reply");
  g_object_unref (request);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (recorder.n_replies, ==, 1);
  g_assert_false (recorder.success);
  g_assert_cmpstr (recorder.body, ==,
                   "\"internal error: command \\\"forgetful\\\" did not "
                   "reply\\n\"");
  g_assert_true (recorder.freed);
  g_free (recorder.body);

  /* A cancelled request owes nobody an answer. */
  recorder = (Recorder){ 0 };
  request = recorded_request (argv, UC_OUTPUT_FORMAT_TEXT, &recorder);
  uc_request_cancel (request);
  g_object_unref (request);
  g_assert_cmpuint (recorder.n_replies, ==, 0);
}

static void
cmd_unregister_self (UcRequest *request, gpointer user_data)
{
  UcServer *server = UC_SERVER (user_data);

  /* The command's data must outlive this call. */
  g_assert_true (uc_server_unregister (server, "self"));
  uc_server_register (server, "self2", NULL, 0, 0, uc_test_cmd_echo, NULL,
                      NULL);
  uc_request_reply (request, "gone");
}

static void
test_dispatch_direct (void)
{
  g_autoptr (UcServer) server = uc_server_new ("prog", "1.2");
  const char *version_argv[] = { "version", NULL };
  const char *self_argv[] = { "self", NULL };
  const char *bad_argv[] = { "version", "x", NULL };
  Recorder recorder = { 0 };
  UcRequest *request;
  g_auto (GStrv) names = NULL;

  request = recorded_request (version_argv, UC_OUTPUT_FORMAT_TEXT, &recorder);
  uc_server_dispatch (server, request);
  g_object_unref (request);
  g_assert_cmpstr (recorder.body, ==, "\"prog (unixctld) 1.2\\n\"");
  g_clear_pointer (&recorder.body, g_free);

  request = recorded_request (version_argv, UC_OUTPUT_FORMAT_JSON, &recorder);
  uc_server_dispatch (server, request);
  g_object_unref (request);
  g_assert_cmpstr (recorder.body, ==,
                   "{\"reply-format\":\"plain\",\"reply\":\"prog (unixctld) "
                   "1.2\"}");
  g_clear_pointer (&recorder.body, g_free);

  request = recorded_request (bad_argv, UC_OUTPUT_FORMAT_TEXT, &recorder);
  uc_server_dispatch (server, request);
  g_object_unref (request);
  g_assert_false (recorder.success);
  g_assert_cmpstr (recorder.body, ==,
                   "\"\\\"version\\\" command takes at most 0 arguments\\n\"");
  g_clear_pointer (&recorder.body, g_free);

  uc_server_register (server, "self", "", 0, 0, cmd_unregister_self,
                      g_object_ref (server), g_object_unref);
  request = recorded_request (self_argv, UC_OUTPUT_FORMAT_TEXT, &recorder);
  uc_server_dispatch (server, request);
  g_object_unref (request);
  g_assert_cmpstr (recorder.body, ==, "\"gone\\n\"");
  g_clear_pointer (&recorder.body, g_free);

  /* Bytewise order: upper case before lower case, UTF-8 last. */
  uc_server_register (server, "\xc3\xa9t\xc3\xa9", "", 0, 0, uc_test_cmd_echo,
                      NULL, NULL);
  uc_server_register (server, "Zoo", "", 0, 0, uc_test_cmd_echo, NULL, NULL);
  uc_server_register (server, "zoo", "", 0, 0, uc_test_cmd_echo, NULL, NULL);
  names = uc_server_list_commands (server);
  {
    const char *expected[] = {
      "Zoo",         "exit",    "help", "list-commands",     "self2",
      "set-options", "version", "zoo",  "\xc3\xa9t\xc3\xa9", NULL
    };

    g_assert_cmpstrv (names, expected);
  }
}

static void
on_exit_counted (UcServer *server, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_dispatch_exit (void)
{
  g_autoptr (UcServer) server = uc_server_new ("prog", "1.2");
  const char *argv[] = { "exit", NULL };
  Recorder recorder = { 0 };
  UcRequest *request;
  guint n_exit = 0;

  g_signal_connect (server, "exit-requested", G_CALLBACK (on_exit_counted),
                    &n_exit);
  request = recorded_request (argv, UC_OUTPUT_FORMAT_TEXT, &recorder);
  uc_server_dispatch (server, request);
  g_assert_cmpstr (recorder.body, ==, "\"\"");
  /* Not while the transport still holds the request. */
  g_assert_cmpuint (n_exit, ==, 0);
  g_object_unref (request);
  g_assert_cmpuint (n_exit, ==, 1);
  g_free (recorder.body);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* Every peer-provoked warning must show, so that tests can expect it. */
  uc_rate_limit_set_enabled (FALSE);

#define ADD(path, func) \
  g_test_add ((path), Fixture, NULL, fixture_set_up, (func), fixture_tear_down)

  ADD ("/server/wire/version", test_wire_version);
  ADD ("/server/wire/error-shape", test_wire_error_shape);
  ADD ("/server/validation/order", test_validation_order);
  ADD ("/server/validation/non-string", test_validation_non_string);
  ADD ("/server/commands/list-text", test_commands_list_text);
  ADD ("/server/commands/list-json", test_commands_list_json);
  ADD ("/server/commands/hidden", test_commands_hidden);
  ADD ("/server/commands/register", test_commands_register);
  ADD ("/server/set-options/variants", test_set_options_variants);
  ADD ("/server/set-options/errors", test_set_options_errors);
  ADD ("/server/set-options/per-connection", test_set_options_per_connection);
  ADD ("/server/shaping/text", test_shaping_text);
  ADD ("/server/shaping/json", test_shaping_json);
  ADD ("/server/deferred/pipelined", test_deferred_pipelined);
  ADD ("/server/deferred/client-gone", test_deferred_client_gone);
  ADD ("/server/deferred/no-reply", test_deferred_no_reply);
  ADD ("/server/protocol/violations", test_protocol_violations);
  ADD ("/server/protocol/ids", test_protocol_ids);
  ADD ("/server/quoting/long-name", test_quoting_long_name);
  ADD ("/server/quoting/escapes", test_quoting_escapes);
  ADD ("/server/credentials", test_credentials);
  ADD ("/server/exit", test_exit);
  ADD ("/server/shutdown/graceful", test_shutdown);
  ADD ("/server/shutdown/cancelled", test_shutdown_cancelled);
  ADD ("/server/caps/local", test_caps_local);
  ADD ("/server/caps/remote", test_caps_remote);
  ADD ("/server/caps/remote-idle-timeout", test_remote_idle_timeout);

#undef ADD

  g_test_add_func ("/server/request/basics", test_request_basics);
  g_test_add_func ("/server/request/shaping", test_request_shaping);
  g_test_add_func ("/server/request/cancel", test_request_cancel);
  g_test_add_func ("/server/request/unanswered", test_request_unanswered);
  g_test_add_func ("/server/dispatch/direct", test_dispatch_direct);
  g_test_add_func ("/server/dispatch/exit", test_dispatch_exit);

  return g_test_run ();
}
