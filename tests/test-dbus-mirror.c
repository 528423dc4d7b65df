/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-dbus-mirror"

#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uc-dbus-mirror.h"
#include "uc-error.h"
#include "uc-request.h"
#include "uc-server.h"
#include "uc-test-util.h"

/*
 * The D-Bus mirror on a private bus (GTestDBus): every method against
 * what the same server answers a socket request with, the error mapping,
 * deferred replies and callers that leave, the credentials handlers see,
 * the properties, the name and its replacement, and the shutdown.  The
 * client side is plain GDBus calls, so that the names and signatures on
 * the wire are what is tested, not the generated code.
 */

/* One private bus for the whole program: GLib 2.74's GTestDBus leaks the
 * pipe of its clean-up watcher into every bus daemon but the first, so
 * that after a failed assertion a second daemon would never be killed,
 * and the test would hang until meson's timeout instead of failing. */
static GTestDBus *test_bus;

typedef struct
{
  GTestDBus *bus;                     /* (unowned) */
  GDBusConnection *mirror_connection; /* (owned) the mirror's */
  GDBusConnection *client;            /* (owned) the tests' */
  UcServer *server;                   /* (owned) */
  UcDbusMirror *mirror;               /* (owned) */
  GPtrArray *deferred;                /* (owned) (element-type UcRequest)
                                       * what "defer" holds */
  guint n_exit_requested;
} Fixture;

/* A method call's outcome. */
typedef struct
{
  gboolean done;
  GVariant *reply; /* (owned) (nullable) */
  GError *error;   /* (owned) (nullable) */
} CallResult;

static void
call_result_clear (CallResult *result)
{
  g_clear_pointer (&result->reply, g_variant_unref);
  g_clear_error (&result->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CallResult, call_result_clear)

/* Commands. */

static void
cmd_fail (UcRequest *request, gpointer user_data)
{
  uc_request_reply_error (request, user_data);
}

static void
cmd_defer (UcRequest *request, gpointer user_data)
{
  Fixture *fixture = user_data;

  g_ptr_array_add (fixture->deferred, g_object_ref (request));
}

static void
cmd_whoami (UcRequest *request, gpointer user_data)
{
  GCredentials *credentials = uc_request_get_credentials (request);

  if (credentials == NULL)
    {
      uc_request_reply_error (request, "no credentials");
      return;
    }
  uc_request_reply_error_printf (
    request, "uid=%u pid=%d gid=%u",
    (guint) g_credentials_get_unix_user (credentials, NULL),
    (int) g_credentials_get_unix_pid (credentials, NULL),
    (guint) ((struct ucred *) g_credentials_get_native (
               credentials, G_CREDENTIALS_TYPE_LINUX_UCRED))
      ->gid);
}

static void
cmd_json (UcRequest *request, gpointer user_data)
{
  uc_request_reply_json (request, json_from_string ("{\"a\":[1,\"x\"]}", NULL));
}

static void
cmd_bytes (UcRequest *request, gpointer user_data)
{
  /* Not UTF-8: a handler may print what it read from anywhere. */
  uc_request_reply (request, "caf\xe9");
}

static void
on_exit_requested (UcServer *server, gpointer user_data)
{
  Fixture *fixture = user_data;

  fixture->n_exit_requested++;
}

/* Set-up. */

static GDBusConnection *
connect_to_bus (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (fixture->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);

  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  return connection;
}

static UcDbusMirror *
start_mirror (UcServer *server,
              GDBusConnection *connection,
              const char *control_socket,
              UcDbusMirrorNameFlags flags)
{
  g_autoptr (GError) error = NULL;
  UcDbusMirror *mirror = uc_dbus_mirror_new (server, control_socket);

  uc_dbus_mirror_export (mirror, connection, &error);
  g_assert_no_error (error);
  g_assert_true (uc_dbus_mirror_get_connection (mirror) == connection);
  uc_dbus_mirror_own_name (mirror, flags);
  uc_test_wait_until (uc_dbus_mirror_get_name_owned (mirror));
  return mirror;
}

static void
setup (Fixture *fixture, gconstpointer user_data)
{
  fixture->bus = test_bus;
  fixture->mirror_connection = connect_to_bus (fixture);
  fixture->client = connect_to_bus (fixture);
  fixture->deferred = g_ptr_array_new_with_free_func (g_object_unref);

  fixture->server = uc_server_new ("unixctld", "1.2.3");
  uc_server_register (fixture->server, "echo", "ARG...", 1, 3, uc_test_cmd_echo,
                      NULL, NULL);
  uc_server_register (fixture->server, "fail", "", 0, 0, cmd_fail,
                      (gpointer) "it failed", NULL);
  uc_server_register (fixture->server, "fail-nl", "", 0, 0, cmd_fail,
                      (gpointer) "two lines\n\n", NULL);
  uc_server_register (fixture->server, "defer", "", 0, 0, cmd_defer, fixture,
                      NULL);
  uc_server_register (fixture->server, "whoami", "", 0, 0, cmd_whoami, NULL,
                      NULL);
  uc_server_register (fixture->server, "json", "", 0, 0, cmd_json, NULL, NULL);
  uc_server_register (fixture->server, "bytes", "", 0, 0, cmd_bytes, NULL,
                      NULL);
  uc_server_register (fixture->server, "hidden", NULL, 0, 0, uc_test_cmd_echo,
                      NULL, NULL);
  g_signal_connect (fixture->server, "exit-requested",
                    G_CALLBACK (on_exit_requested), fixture);

  fixture->mirror =
    start_mirror (fixture->server, fixture->mirror_connection,
                  "/run/test/unixctld.1.ctl", UC_DBUS_MIRROR_NAME_FLAGS_NONE);
}

static void
teardown (Fixture *fixture, gconstpointer user_data)
{
  g_clear_object (&fixture->mirror);
  g_clear_pointer (&fixture->deferred, g_ptr_array_unref);
  g_clear_object (&fixture->server);
  g_dbus_connection_close_sync (fixture->client, NULL, NULL);
  g_dbus_connection_close_sync (fixture->mirror_connection, NULL, NULL);
  g_clear_object (&fixture->client);
  g_clear_object (&fixture->mirror_connection);
  fixture->bus = NULL;
}

/* Calls. */

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CallResult *call = user_data;

  call->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source),
                                               result, &call->error);
  call->done = TRUE;
}

/* Starts a call of the mirror's @method on @connection; @result->done
 * says when it is over. */
static void
start_method (GDBusConnection *connection,
              const char *destination,
              const char *method,
              GVariant *parameters,
              CallResult *result)
{
  g_dbus_connection_call (connection, destination, UC_DBUS_MIRROR_PATH,
                          UC_DBUS_MIRROR_INTERFACE, method, parameters, NULL,
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_call_done,
                          result);
}

/* @method (`Call` or `CallJson`) of @argv, to the end. */
static void
call_command (Fixture *fixture,
              const char *method,
              const char *const *argv,
              CallResult *result)
{
  start_method (fixture->client, UC_DBUS_MIRROR_NAME, method,
                g_variant_new ("(s^as)", argv[0], argv + 1), result);
  uc_test_wait_until (result->done);
}

/* The text a successful call returned. */
static const char *
reply_text (const CallResult *result)
{
  const char *text;

  g_assert_no_error (result->error);
  g_assert_cmpstr (g_variant_get_type_string (result->reply), ==, "(s)");
  g_variant_get (result->reply, "(&s)", &text);
  return text;
}

/* Asserts that @result is the D-Bus error @name with @message. */
static void
assert_dbus_error (CallResult *result, const char *name, const char *message)
{
  g_autofree char *remote = NULL;

  g_assert_nonnull (result->error);
  g_assert_null (result->reply);
  remote = g_dbus_error_get_remote_error (result->error);
  g_assert_cmpstr (remote, ==, name);
  g_dbus_error_strip_remote_error (result->error);
  g_assert_cmpstr (result->error->message, ==, message);
}

/* What the socket transport would send for @argv in @format: the body the
 * server gives a request, answered at once. */
static JsonNode *
dispatch_direct (Fixture *fixture,
                 const char *const *argv,
                 UcOutputFormat format,
                 gboolean *success)
{
  g_auto (UcTestReply) reply = { 0 };
  g_autoptr (UcRequest) request = uc_test_request_new (argv, format, &reply);

  uc_server_dispatch (fixture->server, request);
  g_assert_true (reply.done);
  *success = reply.success;
  return g_steal_pointer (&reply.body);
}

/* The socket's text body for @argv, which must be a string. */
static char *
direct_text (Fixture *fixture, const char *const *argv, gboolean *success)
{
  g_autoptr (JsonNode) body =
    dispatch_direct (fixture, argv, UC_OUTPUT_FORMAT_TEXT, success);

  return g_strdup (json_node_get_string (body));
}

/* Tests. */

static void
test_call_text (Fixture *fixture, gconstpointer user_data)
{
  const char *const echo1[] = { "echo", "a", NULL };
  const char *const echo3[] = { "echo", "a", "b c", "d", NULL };
  const char *const version[] = { "version", NULL };
  const char *const list[] = { "list-commands", NULL };
  const char *const help[] = { "help", NULL };
  const char *const json[] = { "json", NULL };
  const char *const keep_text[] = { "set-options", "--format", "text", NULL };
  const char *const *cases[] = { echo1, echo3, version,  list,
                                 help,  json,  keep_text };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (CallResult) result = { 0 };
      g_autofree char *expected = NULL;
      gboolean success;

      expected = direct_text (fixture, cases[i], &success);
      g_assert_true (success);
      call_command (fixture, "Call", cases[i], &result);
      g_assert_cmpstr (reply_text (&result), ==, expected);
    }

  {
    g_auto (CallResult) result = { 0 };

    /* Spelled out once, so that the comparison above cannot agree on a
     * wrong shape: a text reply ends in a newline; an empty one is "". */
    call_command (fixture, "Call", version, &result);
    g_assert_cmpstr (reply_text (&result), ==, "unixctld (unixctld) 1.2.3\n");
  }
  {
    g_auto (CallResult) result = { 0 };

    call_command (fixture, "Call", keep_text, &result);
    g_assert_cmpstr (reply_text (&result), ==, "");
  }
  g_assert_cmpuint (uc_dbus_mirror_get_n_calls (fixture->mirror), ==, 0);
}

static void
test_call_json (Fixture *fixture, gconstpointer user_data)
{
  const char *const echo[] = { "echo", "a", "\"b\"", NULL };
  const char *const version[] = { "version", NULL };
  const char *const list[] = { "list-commands", NULL };
  const char *const json[] = { "json", NULL };
  const char *const keep_json[] = { "set-options", "--format=JSON", NULL };
  const char *const *cases[] = { echo, version, list, json, keep_json };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (CallResult) result = { 0 };
      g_autoptr (JsonNode) expected = NULL;
      g_autofree char *expected_text = NULL;
      g_autoptr (JsonNode) got = NULL;
      g_autoptr (GError) error = NULL;
      gboolean success;

      expected =
        dispatch_direct (fixture, cases[i], UC_OUTPUT_FORMAT_JSON, &success);
      g_assert_true (success);
      expected_text = json_to_string (expected, FALSE);

      call_command (fixture, "CallJson", cases[i], &result);
      /* Compact: the serialization is part of the contract. */
      g_assert_cmpstr (reply_text (&result), ==, expected_text);
      got = json_from_string (reply_text (&result), &error);
      g_assert_no_error (error);
      g_assert_true (json_node_equal (got, expected));
    }

  {
    g_auto (CallResult) result = { 0 };

    call_command (fixture, "CallJson", version, &result);
    g_assert_cmpstr (reply_text (&result), ==,
                     "{\"reply-format\":\"plain\","
                     "\"reply\":\"unixctld (unixctld) 1.2.3\"}");
  }
}

/* Each failing call gives the D-Bus error for its kind, whose message is
 * the socket's error text less its final newline. */
static void
check_error (Fixture *fixture,
             const char *method,
             const char *const *argv,
             const char *name,
             int code)
{
  g_auto (CallResult) result = { 0 };
  g_autofree char *socket_text = NULL;
  g_autofree char *expected = NULL;
  gboolean success;

  socket_text = direct_text (fixture, argv, &success);
  g_assert_false (success);
  g_assert_true (g_str_has_suffix (socket_text, "\n"));
  expected = g_strndup (socket_text, strlen (socket_text) - 1);

  call_command (fixture, method, argv, &result);
  /* The registered domain comes through as itself. */
  g_assert_error (result.error, UC_ERROR, code);
  assert_dbus_error (&result, name, expected);
}

/* A call that fails: its D-Bus error, and the message where the test
 * spells it out (check_error() compares the rest with the socket's). */
typedef struct
{
  const char *path;
  const char *method; /* "Call" or "CallJson" */
  const char *argv[6];
  const char *name;
  int code;
  const char *message; /* (nullable) */
} ErrorCase;

#define INVALID_COMMAND "io.github.unixctld.Error.InvalidCommand"
#define INVALID_ARGS    "io.github.unixctld.Error.InvalidArguments"
#define FAILED          "io.github.unixctld.Error.Failed"

static const ErrorCase error_cases[] = {
  { "/dbus-mirror/error/invalid-command/unknown",
    "Call",
    { "nope", "x" },
    INVALID_COMMAND,
    UC_ERROR_INVALID_COMMAND,
    "\"nope\" is not a valid command (use \"list-commands\" to see a list of "
    "valid commands)" },
  { "/dbus-mirror/error/invalid-command/unknown-json",
    "CallJson",
    { "nope", "x" },
    INVALID_COMMAND,
    UC_ERROR_INVALID_COMMAND,
    NULL },
  { "/dbus-mirror/error/invalid-command/control",
    "Call",
    { "a\tb\x01" },
    INVALID_COMMAND,
    UC_ERROR_INVALID_COMMAND,
    "\"a\\tb\\u0001\" is not a valid command (use \"list-commands\" to see "
    "a list of valid commands)" },
  { "/dbus-mirror/error/invalid-command/case",
    "Call",
    { "ECHO", "x" },
    INVALID_COMMAND,
    UC_ERROR_INVALID_COMMAND,
    NULL },
  { "/dbus-mirror/error/invalid-args/too-few",
    "Call",
    { "echo" },
    INVALID_ARGS,
    UC_ERROR_INVALID_ARGS,
    "\"echo\" command requires at least 1 arguments" },
  { "/dbus-mirror/error/invalid-args/too-many",
    "Call",
    { "echo", "1", "2", "3", "4" },
    INVALID_ARGS,
    UC_ERROR_INVALID_ARGS,
    "\"echo\" command takes at most 3 arguments" },
  { "/dbus-mirror/error/invalid-args/too-many-json",
    "CallJson",
    { "echo", "1", "2", "3", "4" },
    INVALID_ARGS,
    UC_ERROR_INVALID_ARGS,
    NULL },
  { "/dbus-mirror/error/invalid-args/version",
    "Call",
    { "version", "x" },
    INVALID_ARGS,
    UC_ERROR_INVALID_ARGS,
    NULL },
  { "/dbus-mirror/error/invalid-args/set-options",
    "Call",
    { "set-options" },
    INVALID_ARGS,
    UC_ERROR_INVALID_ARGS,
    NULL },
  { "/dbus-mirror/error/failed/text",
    "Call",
    { "fail" },
    FAILED,
    UC_ERROR_FAILED,
    "it failed" },
  { "/dbus-mirror/error/failed/json",
    "CallJson",
    { "fail" },
    FAILED,
    UC_ERROR_FAILED,
    NULL },
  /* Only the one newline is dropped, so that a client adding one back
   * prints exactly what the socket's client prints. */
  { "/dbus-mirror/error/failed/newlines",
    "Call",
    { "fail-nl" },
    FAILED,
    UC_ERROR_FAILED,
    "two lines\n" },
  { "/dbus-mirror/error/failed/bad-format",
    "Call",
    { "set-options", "--format", "yaml" },
    FAILED,
    UC_ERROR_FAILED,
    NULL },
};

#undef INVALID_COMMAND
#undef INVALID_ARGS
#undef FAILED

static void
test_error (Fixture *fixture, gconstpointer user_data)
{
  const ErrorCase *t = user_data;

  check_error (fixture, t->method, t->argv, t->name, t->code);
  if (t->message != NULL)
    {
      g_auto (CallResult) result = { 0 };

      call_command (fixture, t->method, t->argv, &result);
      assert_dbus_error (&result, t->name, t->message);
    }
}

/* set-options: a format change has nothing to apply to, and is refused;
 * the rest answers as on the socket. */
static void
test_set_options (Fixture *fixture, gconstpointer user_data)
{
  const char *const to_json[] = { "set-options", "--format", "json", NULL };
  const char *const to_text[] = { "set-options", "-ftext", NULL };
  g_autofree char *message = g_strdup_printf (
    "“set-options” cannot change the output format of a D-Bus call: use "
    "Call for text and CallJson for JSON");

  {
    g_auto (CallResult) result = { 0 };

    call_command (fixture, "Call", to_json, &result);
    g_assert_error (result.error, UC_ERROR, UC_ERROR_NOT_SUPPORTED);
    assert_dbus_error (&result, "io.github.unixctld.Error.NotSupported",
                       message);
  }
  {
    g_auto (CallResult) result = { 0 };

    call_command (fixture, "CallJson", to_text, &result);
    assert_dbus_error (&result, "io.github.unixctld.Error.NotSupported",
                       message);
  }
  {
    g_auto (CallResult) result = { 0 };

    call_command (fixture, "CallJson", to_json, &result);
    g_assert_cmpstr (reply_text (&result), ==,
                     "{\"reply-format\":\"plain\",\"reply\":\"\"}");
  }
  {
    g_auto (CallResult) result = { 0 };
    const char *const version[] = { "version", NULL };

    /* Nothing stuck: the next Call is text again. */
    call_command (fixture, "Call", version, &result);
    g_assert_cmpstr (reply_text (&result), ==, "unixctld (unixctld) 1.2.3\n");
  }
}

static void
test_list_commands (Fixture *fixture, gconstpointer user_data)
{
  const char *const list[] = { "list-commands", NULL };
  g_auto (CallResult) result = { 0 };
  g_autoptr (GVariant) commands = NULL;
  g_autoptr (JsonNode) expected = NULL;
  JsonObject *object;
  GVariantIter iter;
  const char *name, *usage;
  gboolean success;

  start_method (fixture->client, UC_DBUS_MIRROR_NAME, "ListCommands", NULL,
                &result);
  uc_test_wait_until (result.done);
  g_assert_no_error (result.error);
  g_assert_cmpstr (g_variant_get_type_string (result.reply), ==, "(a{ss})");
  commands = g_variant_get_child_value (result.reply, 0);

  /* The same as list-commands in JSON, name for name. */
  expected = dispatch_direct (fixture, list, UC_OUTPUT_FORMAT_JSON, &success);
  g_assert_true (success);
  object = json_node_get_object (expected);
  g_assert_cmpuint (g_variant_n_children (commands), ==,
                    json_object_get_size (object));
  g_variant_iter_init (&iter, commands);
  while (g_variant_iter_next (&iter, "{&s&s}", &name, &usage))
    {
      g_assert_true (json_object_has_member (object, name));
      g_assert_cmpstr (usage, ==, json_object_get_string_member (object, name));
    }

  g_assert_true (g_variant_lookup (commands, "echo", "&s", &usage));
  g_assert_cmpstr (usage, ==, "ARG...");
  g_assert_true (g_variant_lookup (commands, "set-options", "&s", &usage));
  g_assert_cmpstr (usage, ==, "[--format text|json]");
  g_assert_false (g_variant_lookup (commands, "hidden", "&s", &usage));
}

static GVariant *
get_all_properties (GDBusConnection *connection, const char *destination)
{
  g_auto (CallResult) result = { 0 };
  GVariant *properties;

  g_dbus_connection_call (connection, destination, UC_DBUS_MIRROR_PATH,
                          "org.freedesktop.DBus.Properties", "GetAll",
                          g_variant_new ("(s)", UC_DBUS_MIRROR_INTERFACE),
                          G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
                          -1, NULL, on_call_done, &result);
  uc_test_wait_until (result.done);
  g_assert_no_error (result.error);
  properties = g_variant_get_child_value (result.reply, 0);
  return properties;
}

static void
test_properties (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GVariant) properties = NULL;
  g_autoptr (GDBusConnection) other = connect_to_bus (fixture);
  g_autoptr (UcDbusMirror) no_socket = NULL;
  const char *text;
  guint32 pid;

  properties = get_all_properties (fixture->client, UC_DBUS_MIRROR_NAME);
  g_assert_cmpuint (g_variant_n_children (properties), ==, 3);
  g_assert_true (g_variant_lookup (properties, "Version", "&s", &text));
  g_assert_cmpstr (text, ==, "1.2.3");
  g_assert_true (g_variant_lookup (properties, "ControlSocket", "&s", &text));
  g_assert_cmpstr (text, ==, "/run/test/unixctld.1.ctl");
  g_assert_true (g_variant_lookup (properties, "Pid", "u", &pid));
  g_assert_cmpuint (pid, ==, (guint) getpid ());
  g_clear_pointer (&properties, g_variant_unref);

  /* Without a control socket, the empty string (asked of a mirror known
   * by its unique name only). */
  no_socket = uc_dbus_mirror_new (fixture->server, NULL);
  g_assert_true (uc_dbus_mirror_export (no_socket, other, NULL));
  properties = get_all_properties (fixture->client,
                                   g_dbus_connection_get_unique_name (other));
  g_assert_true (g_variant_lookup (properties, "ControlSocket", "&s", &text));
  g_assert_cmpstr (text, ==, "");

  g_clear_object (&no_socket);
  g_dbus_connection_close_sync (other, NULL, NULL);
}

static void
test_credentials (Fixture *fixture, gconstpointer user_data)
{
  const char *const whoami[] = { "whoami", NULL };
  g_auto (CallResult) result = { 0 };
  g_autofree char *expected = NULL;

  /* The client is this process, as the bus tells the mirror. */
  expected = g_strdup_printf ("uid=%u pid=%d gid=%u", (guint) getuid (),
                              (int) getpid (), (guint) getegid ());
  call_command (fixture, "Call", whoami, &result);
  assert_dbus_error (&result, "io.github.unixctld.Error.Failed", expected);

  /* Asked again for the next call, once the first is over. */
  g_clear_error (&result.error);
  result.done = FALSE;
  call_command (fixture, "CallJson", whoami, &result);
  assert_dbus_error (&result, "io.github.unixctld.Error.Failed", expected);
}

static void
test_invalid_utf8 (Fixture *fixture, gconstpointer user_data)
{
  const char *const bytes[] = { "bytes", NULL };
  g_auto (CallResult) result = { 0 };

  call_command (fixture, "Call", bytes, &result);
  g_assert_cmpstr (reply_text (&result), ==, "caf\xef\xbf\xbd\n");
}

static void
test_deferred_reply (Fixture *fixture, gconstpointer user_data)
{
  const char *const defer[] = { "defer", NULL };
  g_auto (CallResult) result = { 0 };
  g_auto (CallResult) second = { 0 };
  UcRequest *request;

  start_method (fixture->client, UC_DBUS_MIRROR_NAME, "Call",
                g_variant_new ("(s^as)", defer[0], defer + 1), &result);
  start_method (fixture->client, UC_DBUS_MIRROR_NAME, "CallJson",
                g_variant_new ("(s^as)", defer[0], defer + 1), &second);
  uc_test_wait_until (fixture->deferred->len == 2);
  uc_test_run_for (50);
  g_assert_false (result.done);
  g_assert_false (second.done);
  g_assert_cmpuint (uc_dbus_mirror_get_n_calls (fixture->mirror), ==, 2);

  /* Answered out of order: each reply goes to its own call. */
  request = g_ptr_array_index (fixture->deferred, 1);
  g_assert_cmpint (uc_request_get_format (request), ==, UC_OUTPUT_FORMAT_JSON);
  uc_request_reply (request, "second");
  uc_test_wait_until (second.done);
  g_assert_cmpstr (reply_text (&second), ==,
                   "{\"reply-format\":\"plain\",\"reply\":\"second\"}");
  g_assert_false (result.done);

  request = g_ptr_array_index (fixture->deferred, 0);
  uc_request_reply_error (request, "late failure");
  uc_test_wait_until (result.done);
  assert_dbus_error (&result, "io.github.unixctld.Error.Failed",
                     "late failure");
  g_assert_cmpuint (uc_dbus_mirror_get_n_calls (fixture->mirror), ==, 0);
}

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  gboolean *cancelled = user_data;

  *cancelled = TRUE;
}

/* A caller that leaves the bus cancels its request; another caller's is
 * not affected. */
static void
test_deferred_caller_vanishes (Fixture *fixture, gconstpointer user_data)
{
  const char *const defer[] = { "defer", NULL };
  g_autoptr (GDBusConnection) caller = connect_to_bus (fixture);
  g_auto (CallResult) result = { 0 };
  g_auto (CallResult) other = { 0 };
  gboolean cancelled = FALSE;
  UcRequest *gone, *staying;

  start_method (caller, UC_DBUS_MIRROR_NAME, "Call",
                g_variant_new ("(s^as)", defer[0], defer + 1), &result);
  uc_test_wait_until (fixture->deferred->len == 1);
  gone = g_ptr_array_index (fixture->deferred, 0);
  g_cancellable_connect (uc_request_get_cancellable (gone),
                         G_CALLBACK (on_cancelled), &cancelled, NULL);
  start_method (fixture->client, UC_DBUS_MIRROR_NAME, "Call",
                g_variant_new ("(s^as)", defer[0], defer + 1), &other);
  uc_test_wait_until (fixture->deferred->len == 2);
  staying = g_ptr_array_index (fixture->deferred, 1);

  g_dbus_connection_close_sync (caller, NULL, NULL);
  uc_test_wait_until (cancelled && result.done);
  g_assert_cmpuint (uc_dbus_mirror_get_n_calls (fixture->mirror), ==, 1);
  g_assert_false (
    g_cancellable_is_cancelled (uc_request_get_cancellable (staying)));

  /* A late answer to the cancelled request is dropped without a word. */
  uc_request_reply (gone, "nobody reads this");
  uc_request_reply (staying, "still here");
  uc_test_wait_until (other.done);
  g_assert_cmpstr (reply_text (&other), ==, "still here\n");
  g_assert_cmpuint (uc_dbus_mirror_get_n_calls (fixture->mirror), ==, 0);
}

/* Two mirrors of one server, each on its own connection: the second asks
 * to replace the first, gets the name, and the first is told why it lost
 * it. */
typedef struct
{
  guint n_lost;
  gboolean replaced;
  guint n_acquired;
} NameEvents;

static void
on_name_lost (UcDbusMirror *mirror, gboolean replaced, gpointer user_data)
{
  NameEvents *events = user_data;

  events->n_lost++;
  events->replaced = replaced;
}

static void
on_name_acquired (UcDbusMirror *mirror, gpointer user_data)
{
  NameEvents *events = user_data;

  events->n_acquired++;
}

static char *
get_name_owner (Fixture *fixture)
{
  g_auto (CallResult) result = { 0 };
  char *owner;

  g_dbus_connection_call (
    fixture->client, "org.freedesktop.DBus", "/org/freedesktop/DBus",
    "org.freedesktop.DBus", "GetNameOwner",
    g_variant_new ("(s)", UC_DBUS_MIRROR_NAME), G_VARIANT_TYPE ("(s)"),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_call_done, &result);
  uc_test_wait_until (result.done);
  if (result.reply == NULL)
    return NULL;
  g_variant_get (result.reply, "(s)", &owner);
  return owner;
}

static void
test_name_replace (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GDBusConnection) other = connect_to_bus (fixture);
  g_autoptr (UcDbusMirror) second = NULL;
  g_autofree char *owner = NULL;
  NameEvents events = { 0 };
  const char *const version[] = { "version", NULL };
  g_auto (CallResult) result = { 0 };

  g_signal_connect (fixture->mirror, "name-lost", G_CALLBACK (on_name_lost),
                    &events);
  g_test_expect_message ("dbus", G_LOG_LEVEL_MESSAGE,
                         "lost io.github.unixctld to an instance that "
                         "replaced this one");
  second = start_mirror (fixture->server, other, NULL,
                         UC_DBUS_MIRROR_NAME_FLAGS_REPLACE);
  uc_test_wait_until (events.n_lost == 1);
  g_test_assert_expected_messages ();
  g_assert_true (events.replaced);
  g_assert_false (uc_dbus_mirror_get_name_owned (fixture->mirror));

  owner = get_name_owner (fixture);
  g_assert_cmpstr (owner, ==, g_dbus_connection_get_unique_name (other));
  call_command (fixture, "Call", version, &result);
  g_assert_cmpstr (reply_text (&result), ==, "unixctld (unixctld) 1.2.3\n");

  g_signal_handlers_disconnect_by_data (fixture->mirror, &events);
  g_clear_object (&second);
  g_dbus_connection_close_sync (other, NULL, NULL);
}

static void
on_shutdown_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError **error = user_data;
  gboolean ok;

  ok = uc_dbus_mirror_shutdown_finish (UC_DBUS_MIRROR (source), result, error);
  g_assert_true (ok == (*error == NULL));
  if (ok)
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "done");
}

/* Without --replace, a second instance waits in the queue: it is told it
 * did not get the name, and gets it when the first leaves. */
static void
test_name_queue (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GDBusConnection) other = connect_to_bus (fixture);
  g_autoptr (UcDbusMirror) second = NULL;
  g_autoptr (GError) done = NULL;
  g_autofree char *owner = NULL;
  NameEvents first_events = { 0 };
  NameEvents events = { 0 };

  g_signal_connect (fixture->mirror, "name-lost", G_CALLBACK (on_name_lost),
                    &first_events);
  g_test_expect_message ("dbus", G_LOG_LEVEL_MESSAGE,
                         "io.github.unixctld is owned by another instance; "
                         "waiting for it (use --replace to take it)");
  second = uc_dbus_mirror_new (fixture->server, NULL);
  g_signal_connect (second, "name-lost", G_CALLBACK (on_name_lost), &events);
  g_signal_connect (second, "name-acquired", G_CALLBACK (on_name_acquired),
                    &events);
  g_assert_true (uc_dbus_mirror_export (second, other, NULL));
  uc_dbus_mirror_own_name (second, UC_DBUS_MIRROR_NAME_FLAGS_NONE);
  uc_test_wait_until (events.n_lost == 1);
  g_test_assert_expected_messages ();
  g_assert_false (events.replaced);
  g_assert_cmpuint (events.n_acquired, ==, 0);
  g_assert_true (uc_dbus_mirror_get_name_owned (fixture->mirror));

  /* The first one shuts down: the name passes to the second. */
  uc_dbus_mirror_shutdown_async (fixture->mirror, NULL, on_shutdown_done,
                                 &done);
  uc_test_wait_until (done != NULL);
  uc_test_wait_until (events.n_acquired == 1);
  g_assert_true (uc_dbus_mirror_get_name_owned (second));
  owner = get_name_owner (fixture);
  g_assert_cmpstr (owner, ==, g_dbus_connection_get_unique_name (other));
  /* Releasing the name is no loss to report. */
  g_assert_cmpuint (first_events.n_lost, ==, 0);

  g_signal_handlers_disconnect_by_data (second, &events);
  g_signal_handlers_disconnect_by_data (fixture->mirror, &first_events);
  g_clear_object (&second);
  g_dbus_connection_close_sync (other, NULL, NULL);
}

/* Shutdown lets calls in flight finish, refuses new ones, releases the
 * name, and completes once the replies are out. */
static void
test_shutdown_waits (Fixture *fixture, gconstpointer user_data)
{
  const char *const defer[] = { "defer", NULL };
  const char *const version[] = { "version", NULL };
  g_auto (CallResult) pending = { 0 };
  g_auto (CallResult) late = { 0 };
  g_autoptr (GError) done = NULL;
  g_autoptr (GError) again = NULL;
  g_autofree char *owner = NULL;

  start_method (fixture->client, UC_DBUS_MIRROR_NAME, "Call",
                g_variant_new ("(s^as)", defer[0], defer + 1), &pending);
  uc_test_wait_until (fixture->deferred->len == 1);

  uc_dbus_mirror_shutdown_async (fixture->mirror, NULL, on_shutdown_done,
                                 &done);
  g_assert_false (uc_dbus_mirror_get_name_owned (fixture->mirror));
  uc_test_run_for (50);
  g_assert_null (done);

  /* New calls find nothing, by name or by unique name. */
  owner = get_name_owner (fixture);
  g_assert_null (owner);
  start_method (fixture->client,
                g_dbus_connection_get_unique_name (fixture->mirror_connection),
                "Call", g_variant_new ("(s^as)", version[0], version + 1),
                &late);
  uc_test_wait_until (late.done);
  g_assert_nonnull (late.error);
  g_assert_true (
    g_error_matches (late.error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
    g_error_matches (late.error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT));

  uc_request_reply (g_ptr_array_index (fixture->deferred, 0), "last words");
  uc_test_wait_until (done != NULL);
  g_assert_error (done, G_IO_ERROR, G_IO_ERROR_EXISTS);
  uc_test_wait_until (pending.done);
  g_assert_cmpstr (reply_text (&pending), ==, "last words\n");

  /* A second shutdown completes at once. */
  uc_dbus_mirror_shutdown_async (fixture->mirror, NULL, on_shutdown_done,
                                 &again);
  uc_test_wait_until (again != NULL);
  g_assert_error (again, G_IO_ERROR, G_IO_ERROR_EXISTS);
}

/* Cancelling the shutdown stops the wait: calls in flight fail at once
 * with a reason, and their requests are cancelled. */
static void
test_shutdown_cancelled (Fixture *fixture, gconstpointer user_data)
{
  const char *const defer[] = { "defer", NULL };
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_auto (CallResult) pending = { 0 };
  g_autoptr (GError) done = NULL;
  UcRequest *request;

  start_method (fixture->client, UC_DBUS_MIRROR_NAME, "Call",
                g_variant_new ("(s^as)", defer[0], defer + 1), &pending);
  uc_test_wait_until (fixture->deferred->len == 1);
  request = g_ptr_array_index (fixture->deferred, 0);

  uc_dbus_mirror_shutdown_async (fixture->mirror, cancellable, on_shutdown_done,
                                 &done);
  g_cancellable_cancel (cancellable);
  uc_test_wait_until (done != NULL);
  g_assert_error (done, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (
    g_cancellable_is_cancelled (uc_request_get_cancellable (request)));
  uc_test_wait_until (pending.done);
  assert_dbus_error (&pending, "io.github.unixctld.Error.Failed",
                     "The daemon is shutting down");
  g_assert_cmpuint (uc_dbus_mirror_get_n_calls (fixture->mirror), ==, 0);
}

/* `exit` over D-Bus: the reply comes back, then the owner is told. */
static void
test_exit (Fixture *fixture, gconstpointer user_data)
{
  const char *const exit_argv[] = { "exit", NULL };
  g_auto (CallResult) result = { 0 };

  call_command (fixture, "Call", exit_argv, &result);
  g_assert_cmpstr (reply_text (&result), ==, "");
  uc_test_wait_until (fixture->n_exit_requested == 1);
}

/* The bus going away ends the calls in flight (nobody can read their
 * replies) and the name. */
static void
test_bus_closed (Fixture *fixture, gconstpointer user_data)
{
  const char *const defer[] = { "defer", NULL };
  g_auto (CallResult) pending = { 0 };
  NameEvents events = { 0 };
  UcRequest *request;

  g_signal_connect (fixture->mirror, "name-lost", G_CALLBACK (on_name_lost),
                    &events);
  start_method (fixture->client, UC_DBUS_MIRROR_NAME, "Call",
                g_variant_new ("(s^as)", defer[0], defer + 1), &pending);
  uc_test_wait_until (fixture->deferred->len == 1);
  request = g_ptr_array_index (fixture->deferred, 0);

  g_test_expect_message ("dbus", G_LOG_LEVEL_MESSAGE,
                         "the bus connection closed*");
  g_test_expect_message ("dbus", G_LOG_LEVEL_MESSAGE,
                         "lost io.github.unixctld: the bus connection is "
                         "gone");
  g_dbus_connection_close_sync (fixture->mirror_connection, NULL, NULL);
  uc_test_wait_until (events.n_lost == 1 &&
                      uc_dbus_mirror_get_n_calls (fixture->mirror) == 0);
  g_test_assert_expected_messages ();
  g_assert_false (events.replaced);
  g_assert_true (
    g_cancellable_is_cancelled (uc_request_get_cancellable (request)));
  uc_test_wait_until (pending.done);
  g_assert_nonnull (pending.error);

  g_signal_handlers_disconnect_by_data (fixture->mirror, &events);
}

/* Peer-to-peer connections: no bus, so the caller is the other end of the
 * socket, as the kernel tells it (SO_PEERCRED). */
typedef struct
{
  Fixture *fixture;   /* (unowned) */
  GPtrArray *mirrors; /* (owned) (element-type UcDbusMirror) one per
                       * connection */
} P2p;

static gboolean
on_new_connection (GDBusServer *server,
                   GDBusConnection *connection,
                   gpointer user_data)
{
  P2p *p2p = user_data;
  g_autoptr (UcDbusMirror) mirror =
    uc_dbus_mirror_new (p2p->fixture->server, NULL);
  g_autoptr (GError) error = NULL;

  uc_dbus_mirror_export (mirror, connection, &error);
  g_assert_no_error (error);
  g_ptr_array_add (p2p->mirrors, g_steal_pointer (&mirror));
  return TRUE;
}

static void
on_p2p_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusConnection **connection = user_data;
  g_autoptr (GError) error = NULL;

  *connection = g_dbus_connection_new_for_address_finish (result, &error);
  g_assert_no_error (error);
}

static void
on_communicated (GObject *source, GAsyncResult *result, gpointer user_data)
{
  UcTestOutput *output = user_data;
  g_autoptr (GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result,
                                        &output->out, &output->err, &error);
  g_assert_no_error (error);
  output->status = g_subprocess_get_if_exited (G_SUBPROCESS (source))
                     ? g_subprocess_get_exit_status (G_SUBPROCESS (source))
                     : -1;
}

/* This program, run with @P2P_CLIENT_VARIABLE set, is a client of the
 * peer-to-peer address it holds: it calls `whoami` and prints the D-Bus
 * error it gets as "NAME: MESSAGE", or the reply.  test_access() runs it
 * as another user. */
#define P2P_CLIENT_VARIABLE "UC_TEST_DBUS_P2P_CLIENT"

static int
run_p2p_client (const char *address)
{
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;
  const char *const no_args[] = { NULL };

  connection = g_dbus_connection_new_for_address_sync (
    address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL, &error);
  if (connection == NULL)
    {
      g_printerr ("cannot connect: %s\n", error->message);
      return 1;
    }
  reply = g_dbus_connection_call_sync (
    connection, NULL, UC_DBUS_MIRROR_PATH, UC_DBUS_MIRROR_INTERFACE, "Call",
    g_variant_new ("(s^as)", "whoami", no_args), G_VARIANT_TYPE ("(s)"),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  if (reply != NULL)
    {
      g_print ("reply: %s\n", g_variant_get_type_string (reply));
      return 0;
    }
  name = g_dbus_error_get_remote_error (error);
  g_dbus_error_strip_remote_error (error);
  g_print ("%s: %s\n", name, error->message);
  return 0;
}

/* Another user than the daemon's (and not root) may not run commands:
 * the socket's mode keeps them out of it, and the mirror must not let
 * them in by another door. */
static void
test_access (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *address = g_strdup_printf (
    "unix:abstract=unixctld-test-%ld-%u", (long) getpid (), g_random_int ());
  g_autofree char *guid = g_dbus_generate_guid ();
  g_autoptr (GDBusServer) server = NULL;
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autofree char *expected = NULL;
  const char *const whoami[] = { "whoami", NULL };
  g_auto (CallResult) result = { 0 };
  P2p p2p = { fixture, g_ptr_array_new_with_free_func (g_object_unref) };

  server = g_dbus_server_new_sync (address, G_DBUS_SERVER_FLAGS_NONE, guid,
                                   NULL, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (server, "new-connection", G_CALLBACK (on_new_connection),
                    &p2p);
  g_dbus_server_start (server);

  /* The same user, in this process: allowed, and the handler sees it. */
  g_dbus_connection_new_for_address (
    g_dbus_server_get_client_address (server),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL, on_p2p_connected,
    &connection);
  uc_test_wait_until (connection != NULL && p2p.mirrors->len == 1);
  start_method (connection, NULL, "Call",
                g_variant_new ("(s^as)", whoami[0], whoami + 1), &result);
  uc_test_wait_until (result.done);
  expected = g_strdup_printf ("uid=%u pid=%d gid=%u", (guint) getuid (),
                              (int) getpid (), (guint) getegid ());
  assert_dbus_error (&result, "io.github.unixctld.Error.Failed", expected);

  /* Another user: refused before the command runs. */
  if (getuid () != 0 || setpriv == NULL)
    g_test_skip ("another user needs root and setpriv");
  else
    {
      g_autofree char *message = g_strdup_printf (
        "org.freedesktop.DBus.Error.AccessDenied: Only root and uid %u may "
        "run commands\n",
        (guint) getuid ());
      g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
        G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
      g_autofree char *self = g_file_read_link ("/proc/self/exe", &error);
      g_autoptr (GSubprocess) process = NULL;
      g_auto (UcTestOutput) output = { .status = -2 };

      g_assert_no_error (error);
      g_subprocess_launcher_setenv (launcher, P2P_CLIENT_VARIABLE,
                                    g_dbus_server_get_client_address (server),
                                    TRUE);
      process = g_subprocess_launcher_spawn (launcher, &error, setpriv,
                                             "--reuid=65534", "--regid=65534",
                                             "--clear-groups", self, NULL);
      g_assert_no_error (error);
      g_subprocess_communicate_utf8_async (process, NULL, NULL, on_communicated,
                                           &output);
      uc_test_wait_until (output.status != -2);
      g_assert_cmpstr (output.err, ==, "");
      g_assert_cmpint (output.status, ==, 0);
      g_assert_cmpstr (output.out, ==, message);
    }

  g_dbus_connection_close_sync (connection, NULL, NULL);
  g_dbus_server_stop (server);
  g_ptr_array_unref (p2p.mirrors);
}

int
main (int argc, char **argv)
{
  if (g_getenv (P2P_CLIENT_VARIABLE) != NULL)
    return run_p2p_client (g_getenv (P2P_CLIENT_VARIABLE));

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, setup, func, teardown)

  ADD ("/dbus-mirror/call/text", test_call_text);
  ADD ("/dbus-mirror/call/json", test_call_json);
  for (gsize i = 0; i < G_N_ELEMENTS (error_cases); i++)
    g_test_add (error_cases[i].path, Fixture, &error_cases[i], setup,
                test_error, teardown);
  ADD ("/dbus-mirror/call/set-options", test_set_options);
  ADD ("/dbus-mirror/list-commands", test_list_commands);
  ADD ("/dbus-mirror/properties", test_properties);
  ADD ("/dbus-mirror/credentials", test_credentials);
  ADD ("/dbus-mirror/call/invalid-utf8", test_invalid_utf8);
  ADD ("/dbus-mirror/deferred/reply", test_deferred_reply);
  ADD ("/dbus-mirror/deferred/caller-vanishes", test_deferred_caller_vanishes);
  ADD ("/dbus-mirror/name/replace", test_name_replace);
  ADD ("/dbus-mirror/name/queue", test_name_queue);
  ADD ("/dbus-mirror/shutdown/waits", test_shutdown_waits);
  ADD ("/dbus-mirror/shutdown/cancelled", test_shutdown_cancelled);
  ADD ("/dbus-mirror/exit", test_exit);
  ADD ("/dbus-mirror/bus-closed", test_bus_closed);
  ADD ("/dbus-mirror/access", test_access);

#undef ADD

  {
    int status;

    test_bus = g_test_dbus_new (G_TEST_DBUS_NONE);
    g_test_dbus_up (test_bus);
    status = g_test_run ();
    g_test_dbus_down (test_bus);
    g_clear_object (&test_bus);
    return status;
  }
}
