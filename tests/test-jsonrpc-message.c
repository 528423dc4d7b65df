/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-jsonrpc-message"

#include "config.h"

#include "uc-jsonrpc-message.h"

#include <math.h>
#include <string.h>

#include "uc-error.h"

static UcJsonrpcMessage *
parse (const char *text, GError **error)
{
  return uc_jsonrpc_message_parse (text, strlen (text), error);
}

static char *
to_string (UcJsonrpcMessage *message)
{
  gsize length = 0;
  char *text = uc_jsonrpc_message_to_string (message, &length);

  g_assert_cmpuint (strlen (text), ==, length);
  return text;
}

static JsonNode *
string_node (const char *text)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, text);
  return node;
}

static JsonNode *
int_node (gint64 value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_int (node, value);
  return node;
}

static JsonNode *
double_node (double value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_double (node, value);
  return node;
}

/* A JSON array of the given strings, NULL-terminated. */
static JsonNode *
string_array (const char *first, ...)
{
  JsonArray *array = json_array_new ();
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);
  const char *text;
  va_list args;

  va_start (args, first);
  for (text = first; text != NULL; text = va_arg (args, const char *))
    json_array_add_string_element (array, text);
  va_end (args);

  json_node_take_array (node, array);
  return node;
}

/* Every rule of Open vSwitch's jsonrpc_msg_from_json() and
 * jsonrpc_msg_is_valid(), in the order it applies them, with its exact
 * words.  A NULL error means the message is valid, of the given type. */
static const struct
{
  const char *text;
  UcJsonrpcMessageType type;
  const char *error;
} classification[] = {
  /* The shape. */
  { "[]", 0, "message is not a JSON object" },
  { "\"x\"", 0, "message is not a JSON object" },
  { "1", 0, "message is not a JSON object" },
  { "null", 0, "message is not a JSON object" },

  /* method: a string when present; null is not absent here. */
  { "{\"method\":1,\"params\":[],\"id\":1}", 0, "method is not a JSON string" },
  { "{\"method\":null,\"params\":[]}", 0, "method is not a JSON string" },
  { "{\"method\":[\"m\"],\"params\":[]}", 0, "method is not a JSON string" },
  /* ...checked before unexpected members. */
  { "{\"x\":1,\"method\":true}", 0, "method is not a JSON string" },

  /* Unexpected members, before any other rule. */
  { "{\"method\":\"m\",\"params\":[],\"id\":1,\"x\":2}", 0,
    "message has unexpected member \"x\"" },
  { "{\"params\":5,\"jsonrpc\":\"2.0\"}", 0,
    "message has unexpected member \"jsonrpc\"" },
  { "{\"Method\":\"m\",\"params\":[],\"id\":1}", 0,
    "message has unexpected member \"Method\"" },

  /* params: an array, checked before the type's pattern. */
  { "{\"method\":\"m\",\"params\":{},\"id\":1}", 0,
    "\"params\" must be JSON array" },
  { "{\"method\":\"m\",\"params\":\"x\"}", 0, "\"params\" must be JSON array" },
  { "{\"params\":5,\"result\":1,\"id\":1}", 0,
    "\"params\" must be JSON array" },

  /* The four types, null members counting as absent. */
  { "{\"method\":\"m\",\"params\":[],\"id\":1}", UC_JSONRPC_MESSAGE_REQUEST,
    NULL },
  { "{\"id\":\"x\",\"params\":[\"a\"],\"method\":\"m\"}",
    UC_JSONRPC_MESSAGE_REQUEST, NULL },
  { "{\"method\":\"m\",\"params\":[]}", UC_JSONRPC_MESSAGE_NOTIFY, NULL },
  { "{\"method\":\"m\",\"params\":[],\"id\":null}", UC_JSONRPC_MESSAGE_NOTIFY,
    NULL },
  { "{\"method\":\"m\",\"params\":[],\"id\":null,\"result\":null,"
    "\"error\":null}",
    UC_JSONRPC_MESSAGE_NOTIFY, NULL },
  { "{\"result\":\"r\",\"id\":1}", UC_JSONRPC_MESSAGE_REPLY, NULL },
  { "{\"id\":1,\"result\":\"r\",\"error\":null}", UC_JSONRPC_MESSAGE_REPLY,
    NULL },
  { "{\"id\":1,\"result\":false}", UC_JSONRPC_MESSAGE_REPLY, NULL },
  { "{\"error\":\"e\",\"id\":1}", UC_JSONRPC_MESSAGE_ERROR, NULL },
  { "{\"id\":1,\"error\":\"e\",\"result\":null}", UC_JSONRPC_MESSAGE_ERROR,
    NULL },
  { "{\"id\":1,\"error\":{\"code\":1},\"params\":null}",
    UC_JSONRPC_MESSAGE_ERROR, NULL },

  /* Each type's pattern, member by member, in OVS's order. */
  { "{}", 0, "notification must have \"method\"" },
  { "{\"params\":[]}", 0, "notification must have \"method\"" },
  { "{\"method\":\"m\"}", 0, "notification must have \"params\"" },
  { "{\"params\":[],\"id\":1}", 0, "request must have \"method\"" },
  { "{\"method\":\"m\",\"id\":1}", 0, "request must have \"params\"" },
  { "{\"method\":\"m\",\"params\":[],\"result\":1,\"id\":1}", 0,
    "reply must not have \"method\"" },
  { "{\"params\":[],\"result\":1,\"id\":1}", 0,
    "reply must not have \"params\"" },
  { "{\"result\":1,\"error\":1,\"id\":1}", 0, "reply must not have \"error\"" },
  { "{\"result\":1}", 0, "reply must have \"id\"" },
  { "{\"result\":1,\"id\":null}", 0, "reply must have \"id\"" },
  { "{\"method\":\"m\",\"error\":1,\"id\":1}", 0,
    "error must not have \"method\"" },
  { "{\"params\":[],\"error\":1,\"id\":1}", 0,
    "error must not have \"params\"" },
  { "{\"error\":1}", 0, "error must have \"id\"" },
};

static void
test_classification (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (classification); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (UcJsonrpcMessage) message = NULL;

      g_test_message ("%s", classification[i].text);
      message = parse (classification[i].text, &error);
      if (classification[i].error != NULL)
        {
          g_assert_null (message);
          g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
          g_assert_cmpstr (error->message, ==, classification[i].error);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_nonnull (message);
          g_assert_cmpint (uc_jsonrpc_message_get_message_type (message), ==,
                           classification[i].type);
        }
    }
}

/* The members land where they belong; nulls are absent. */
static void
test_parse_members (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UcJsonrpcMessage) request = NULL;
  g_autoptr (UcJsonrpcMessage) reply = NULL;
  g_autoptr (UcJsonrpcMessage) notify = NULL;
  JsonArray *params;

  request = parse ("{\"method\":\"vlog/set\",\"params\":[\"a\",\"b\"],"
                   "\"id\":7}",
                   &error);
  g_assert_no_error (error);
  g_assert_cmpstr (uc_jsonrpc_message_get_method (request), ==, "vlog/set");
  params = uc_jsonrpc_message_get_params (request);
  g_assert_cmpuint (json_array_get_length (params), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (params, 1), ==, "b");
  g_assert_cmpint (json_node_get_int (uc_jsonrpc_message_get_id (request)), ==,
                   7);
  g_assert_null (uc_jsonrpc_message_get_result (request));
  g_assert_null (uc_jsonrpc_message_get_error (request));

  reply =
    parse ("{\"id\":\"x\",\"result\":{\"a\":[1]},\"error\":null}", &error);
  g_assert_no_error (error);
  g_assert_null (uc_jsonrpc_message_get_method (reply));
  g_assert_null (uc_jsonrpc_message_get_params (reply));
  g_assert_null (uc_jsonrpc_message_get_error (reply));
  g_assert_true (
    JSON_NODE_HOLDS_OBJECT (uc_jsonrpc_message_get_result (reply)));
  g_assert_cmpstr (json_node_get_string (uc_jsonrpc_message_get_id (reply)), ==,
                   "x");

  notify = parse ("{\"method\":\"m\",\"params\":[],\"id\":null}", &error);
  g_assert_no_error (error);
  g_assert_null (uc_jsonrpc_message_get_id (notify));
}

/* As in Open vSwitch, the last of duplicate members counts. */
static void
test_parse_duplicates (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UcJsonrpcMessage) message = NULL;
  g_autofree char *text = NULL;

  message = parse ("{\"method\":\"a\",\"params\":[],\"id\":1e2,"
                   "\"method\":\"b\",\"id\":3}",
                   &error);
  g_assert_no_error (error);
  g_assert_cmpstr (uc_jsonrpc_message_get_method (message), ==, "b");
  text = to_string (message);
  g_assert_cmpstr (text, ==, "{\"id\":3,\"method\":\"b\",\"params\":[]}");
}

static void
test_parse_syntax_error (void)
{
  static const char *const bad[] = {
    "{\"method\":",
    "{\"a\":1,}",
    "",
    "{\"method\":\"m\" \"params\":[]}",
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (UcJsonrpcMessage) message = parse (bad[i], &error);

      g_assert_null (message);
      g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
      g_assert_cmpstr (error->message, !=, "");
    }
}

/* Client-provided names in errors are escaped and bounded. */
static void
test_parse_quoting (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) long_error = NULL;
  g_autoptr (GString) long_name = g_string_new (NULL);
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  UcJsonrpcMessage *message;
  gsize i;

  message = parse ("{\"a\\n\\\"b\\u0001\\u00e9\":1}", &error);
  g_assert_null (message);
  g_assert_cmpstr (
    error->message, ==,
    "message has unexpected member \"a\\n\\\"b\\u0001\xc3\xa9\"");

  /* 63 ASCII bytes, then a 2-byte character across the 64-byte bound:
   * it is cut before the character, never inside it. */
  while (long_name->len < 63)
    g_string_append_c (long_name, 'n');
  for (i = 0; i < 100; i++)
    g_string_append (long_name, "\xc3\xa9");
  text = g_strdup_printf ("{\"%s\":1}", long_name->str);
  message = parse (text, &long_error);
  g_assert_null (message);
  g_string_truncate (long_name, 63);
  expected =
    g_strdup_printf ("message has unexpected member \"%s...\"", long_name->str);
  g_assert_cmpstr (long_error->message, ==, expected);
}

static void
test_to_string_types (void)
{
  g_autoptr (UcJsonrpcMessage) request = NULL;
  g_autoptr (UcJsonrpcMessage) notify = NULL;
  g_autoptr (UcJsonrpcMessage) reply = NULL;
  g_autoptr (UcJsonrpcMessage) error = NULL;
  g_autofree char *request_text = NULL;
  g_autofree char *notify_text = NULL;
  g_autofree char *reply_text = NULL;
  g_autofree char *error_text = NULL;

  /* Byte for byte what Open vSwitch 3.1 sends. */
  request = uc_jsonrpc_message_new_request (
    "foo", string_array ("bar", "b\"az", NULL), int_node (0));
  request_text = to_string (request);
  g_assert_cmpstr (
    request_text, ==,
    "{\"id\":0,\"method\":\"foo\",\"params\":[\"bar\",\"b\\\"az\"]}");

  notify = uc_jsonrpc_message_new_notify ("echo", string_array (NULL));
  notify_text = to_string (notify);
  g_assert_cmpstr (notify_text, ==,
                   "{\"id\":null,\"method\":\"echo\",\"params\":[]}");

  reply = uc_jsonrpc_message_new_reply (string_node ("line\n"), int_node (0));
  reply_text = to_string (reply);
  g_assert_cmpstr (reply_text, ==,
                   "{\"id\":0,\"result\":\"line\\n\",\"error\":null}");

  error = uc_jsonrpc_message_new_error (
    string_node ("\"x\" is not a valid command"), string_node ("x"));
  error_text = to_string (error);
  g_assert_cmpstr (
    error_text, ==,
    "{\"id\":\"x\",\"error\":\"\\\"x\\\" is not a valid command\"}");
}

/* Strings are escaped exactly as json.c does: the quote, the backslash
 * and control characters only; DEL, '/' and non-ASCII as they are. */
static void
test_to_string_escapes (void)
{
  g_autoptr (GString) raw = g_string_new (NULL);
  g_autoptr (GString) expected = g_string_new ("{\"id\":1,\"result\":\"");
  g_autoptr (UcJsonrpcMessage) reply = NULL;
  g_autofree char *text = NULL;
  guint c;

  for (c = 1; c < 0x20; c++)
    g_string_append_c (raw, (char) c);
  g_string_append (raw, "\"\\/\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");

  g_string_append (expected,
                   "\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
                   "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
                   "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
                   "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
                   "\\\"\\\\/\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  g_string_append (expected, "\",\"error\":null}");

  reply = uc_jsonrpc_message_new_reply (string_node (raw->str), int_node (1));
  text = to_string (reply);
  g_assert_cmpstr (text, ==, expected->str);
}

/* A handler's string that is not valid UTF-8 still goes out as JSON a
 * strict peer accepts. */
static void
test_to_string_invalid_utf8 (void)
{
  g_autoptr (UcJsonrpcMessage) reply = NULL;
  g_autofree char *text = NULL;

  reply = uc_jsonrpc_message_new_reply (string_node ("a\xff"
                                                     "b\xc3"),
                                        int_node (1));
  text = to_string (reply);
  g_assert_cmpstr (text, ==,
                   "{\"id\":1,\"result\":\"a\xef\xbf\xbd"
                   "b\xef\xbf\xbd\","
                   "\"error\":null}");
}

/* Each byte that is not part of well-formed UTF-8 becomes one U+FFFD:
 * overlong forms, surrogates, code points past U+10FFFF, cut sequences. */
static void
test_to_string_invalid_utf8_forms (void)
{
  static const struct
  {
    const char *raw;
    const char *printed;
  } cases[] = {
    { "\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd" },
    { "a\xed\xa0\x80z", "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz" },
    { "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
    { "\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd" },
    { "\xe2\x82\n", "\xef\xbf\xbd\xef\xbf\xbd\\n" },
    { "\xff\"", "\xef\xbf\xbd\\\"" },
    { "ok\xf0\x9f\x98\x80\xef\xbf\xbd", "ok\xf0\x9f\x98\x80\xef\xbf\xbd" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (UcJsonrpcMessage) reply =
        uc_jsonrpc_message_new_reply (string_node (cases[i].raw), int_node (1));
      g_autofree char *text = to_string (reply);
      g_autofree char *expected = g_strdup_printf (
        "{\"id\":1,\"result\":\"%s\",\"error\":null}", cases[i].printed);

      g_assert_cmpstr (text, ==, expected);
    }
}

static void
assert_value_prints (JsonNode *node, const char *expected)
{
  g_autoptr (UcJsonrpcMessage) reply =
    uc_jsonrpc_message_new_reply (node, int_node (1));
  g_autofree char *text = to_string (reply);
  g_autofree char *wanted =
    g_strdup_printf ("{\"id\":1,\"result\":%s,\"error\":null}", expected);

  g_assert_cmpstr (text, ==, wanted);
}

static void
test_to_string_numbers (void)
{
  assert_value_prints (int_node (0), "0");
  assert_value_prints (int_node (-5), "-5");
  assert_value_prints (int_node (G_MAXINT64), "9223372036854775807");
  assert_value_prints (int_node (G_MININT64), "-9223372036854775808");

  /* Shortest form that reads back exactly; integral doubles keep ".0". */
  assert_value_prints (double_node (1.0), "1.0");
  assert_value_prints (double_node (-0.0), "-0.0");
  assert_value_prints (double_node (100), "100.0");
  assert_value_prints (double_node (0.1), "0.1");
  assert_value_prints (double_node (1.5), "1.5");
  assert_value_prints (double_node (1.0 / 3), "0.3333333333333333");
  assert_value_prints (double_node (0.1 + 0.2), "0.30000000000000004");
  assert_value_prints (double_node (1e300), "1e+300");
  assert_value_prints (double_node (1e15), "1e+15");
  assert_value_prints (double_node (123456789012345.0), "123456789012345.0");
  assert_value_prints (double_node (5e-324), "4.94065645841247e-324");
  assert_value_prints (double_node (1.7976931348623157e308),
                       "1.7976931348623157e+308");
  /* JSON has neither. */
  assert_value_prints (double_node (INFINITY), "null");
  assert_value_prints (double_node (NAN), "null");
}

static void
test_to_string_structure (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *json = "{\"z\":[true,false,null,{}],\"a\":{\"y\":[],\"b\":-1.25}"
                     ",\"\xc3\xa9\\n\":\"\"}";

  /* Members keep their order, containers nest, empty ones stay empty. */
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  assert_value_prints (json_node_copy (json_parser_get_root (parser)), json);
  assert_value_prints (string_array (NULL), "[]");
  assert_value_prints (json_node_new (JSON_NODE_OBJECT), "{}");
}

/* Whatever to_string() prints parses back to the same message. */
static void
test_round_trip (void)
{
  static const char *const texts[] = {
    "{\"id\":0,\"method\":\"foo\",\"params\":[\"bar\",\"b\\\"az\",1,2.5,null]}",
    "{\"id\":null,\"method\":\"m\",\"params\":[{\"a\":[]}]}",
    "{\"id\":[1,\"x\"],\"result\":\"\\u0001\xe2\x82\xac\",\"error\":null}",
    "{\"id\":\"x\",\"error\":{\"code\":-1.0}}",
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (UcJsonrpcMessage) message = parse (texts[i], &error);
      g_autofree char *text = NULL;

      g_assert_no_error (error);
      text = to_string (message);
      g_assert_cmpstr (text, ==, texts[i]);
    }
}

/* A request id is echoed exactly as it was sent, or refused. */
static void
test_id_round_trip (void)
{
  static const struct
  {
    const char *id;
    gboolean accepted;
  } ids[] = {
    { "1", TRUE },
    { "0", TRUE },
    { "-5", TRUE },
    { "9223372036854775807", TRUE },
    { "-9223372036854775808", TRUE },
    { "\"x\"", TRUE },
    { "\"\\u0041\"", TRUE }, /* strings always: the same string echoes */
    { "\"\"", TRUE },
    { "1.5", TRUE },
    { "0.1", TRUE },
    { "1.0", TRUE },
    { "-0.0", TRUE },
    { "1e+300", TRUE },
    { "[1]", TRUE },
    { "[1,\"a\"]", TRUE },
    { "{\"a\":1}", TRUE },
    { "true", TRUE },
    { "false", TRUE },
    { "1e2", FALSE }, /* prints 100.0 */
    { "1E2", FALSE },
    { "1.50", FALSE },                 /* prints 1.5 */
    { "-0", FALSE },                   /* json-glib reads integer 0 */
    { "99999999999999999999", FALSE }, /* json-glib wraps it */
    { "9223372036854775808", FALSE },
    { "1e400", FALSE },  /* infinity */
    { "[1, 2]", FALSE }, /* prints [1,2] */
    { "{\"a\": 1}", FALSE },
    { "[\"\\u0041\"]", FALSE }, /* prints ["A"] */
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (UcJsonrpcMessage) request = NULL;
      g_autofree char *text = g_strdup_printf (
        "{\"method\":\"m\",\"params\":[],\"id\": %s }", ids[i].id);

      g_test_message ("id %s", ids[i].id);
      request = parse (text, &error);
      if (ids[i].accepted)
        {
          g_autoptr (UcJsonrpcMessage) reply = NULL;
          g_autofree char *reply_text = NULL;
          g_autofree char *expected = NULL;

          g_assert_no_error (error);
          reply = uc_jsonrpc_message_new_reply (
            string_node (""),
            json_node_copy (uc_jsonrpc_message_get_id (request)));
          reply_text = to_string (reply);
          if (ids[i].id[0] != '"')
            {
              expected = g_strdup_printf (
                "{\"id\":%s,\"result\":\"\",\"error\":null}", ids[i].id);
              g_assert_cmpstr (reply_text, ==, expected);
            }
        }
      else
        {
          g_autofree char *expected = g_strdup_printf (
            "request id %s cannot be echoed exactly", ids[i].id);

          g_assert_null (request);
          g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
          g_assert_cmpstr (error->message, ==, expected);
        }
    }
}

/* The raw id is found however the message is laid out. */
static void
test_id_lookup (void)
{
  static const struct
  {
    const char *text;
    gboolean accepted;
  } cases[] = {
    { "{\"id\":1e2,\"method\":\"m\",\"params\":[],\"id\":1}", TRUE },
    { "{\"id\":1,\"method\":\"m\",\"params\":[],\"id\":1e2}", FALSE },
    { "{\"params\":[\"\\\"id\\\":1e2\",{\"id\":1e2}],\"method\":\"m\","
      "\"id\":2}",
      TRUE },
    { "{\"\\u0069d\":1e2,\"method\":\"m\",\"params\":[]}", FALSE },
    { "{\"i\\u0064\":7,\"method\":\"m\",\"params\":[]}", TRUE },
    { " {\n\"method\" :\"m\" , \"params\":[ ] ,\"id\"\t:\r\n42\n}\n", TRUE },
    { "{\"method\":\"m\",\"params\":[\"\\\\\"],\"id\":[\"\\\\\",2]}", TRUE },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (UcJsonrpcMessage) request = NULL;

      g_test_message ("%s", cases[i].text);
      request = parse (cases[i].text, &error);
      if (cases[i].accepted)
        g_assert_no_error (error);
      else
        g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
    }
}

/* Replies and errors are not echoed by us: any id is fine there. */
static void
test_id_replies (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UcJsonrpcMessage) reply = NULL;

  reply = parse ("{\"id\":1e2,\"result\":\"\",\"error\":null}", &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (json_node_get_double (uc_jsonrpc_message_get_id (reply)),
                     ==, 100.0);
}

/* Raw ids are quoted bounded, and with control characters escaped. */
static void
test_id_quoting (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new ("{\"method\":\"m\",\"params\":[],"
                                           "\"id\":[\n");
  UcJsonrpcMessage *request;
  gsize i;

  for (i = 0; i < 100; i++)
    g_string_append (text, "\"\\n\",");
  g_string_append (text, "1]}");
  request = parse (text->str, &error);
  g_assert_null (request);
  g_assert_cmpstr (error->message, ==,
                   "request id [\\n\"\\n\",\"\\n\",\"\\n\",\"\\n\",\"\\n\","
                   "\"\\n\",\"\\n\",\"\\n\",\"\\n\",\"\\n\",\"\\n\","
                   "\"\\n\",\"\\... cannot be echoed exactly");
}

static void
test_ref_unref (void)
{
  UcJsonrpcMessage *message;
  UcJsonrpcMessage *copy;

  g_assert_true (G_TYPE_IS_BOXED (UC_TYPE_JSONRPC_MESSAGE));
  g_assert_cmpstr (g_type_name (UC_TYPE_JSONRPC_MESSAGE), ==,
                   "UcJsonrpcMessage");

  message = uc_jsonrpc_message_new_notify ("m", string_array ("a", NULL));
  g_assert_true (uc_jsonrpc_message_ref (message) == message);
  uc_jsonrpc_message_unref (message);

  /* A boxed copy is a reference, and outlives the original one. */
  copy = g_boxed_copy (UC_TYPE_JSONRPC_MESSAGE, message);
  g_assert_true (copy == message);
  uc_jsonrpc_message_unref (message);
  g_assert_cmpstr (uc_jsonrpc_message_get_method (copy), ==, "m");
  g_boxed_free (UC_TYPE_JSONRPC_MESSAGE, copy);
}

/* Constructors take the nodes given (transfer full) and the getters
 * return them. */
static void
test_constructors (void)
{
  JsonNode *params = string_array ("x", NULL);
  JsonNode *id = int_node (3);
  JsonNode *result = string_node ("r");
  JsonNode *error_node = string_node ("e");
  g_autoptr (UcJsonrpcMessage) request = NULL;
  g_autoptr (UcJsonrpcMessage) notify = NULL;
  g_autoptr (UcJsonrpcMessage) reply = NULL;
  g_autoptr (UcJsonrpcMessage) error = NULL;

  request = uc_jsonrpc_message_new_request ("m", params, id);
  g_assert_cmpint (uc_jsonrpc_message_get_message_type (request), ==,
                   UC_JSONRPC_MESSAGE_REQUEST);
  g_assert_cmpstr (uc_jsonrpc_message_get_method (request), ==, "m");
  g_assert_true (uc_jsonrpc_message_get_params (request) ==
                 json_node_get_array (params));
  g_assert_true (uc_jsonrpc_message_get_id (request) == id);

  notify = uc_jsonrpc_message_new_notify ("n", string_array (NULL));
  g_assert_cmpint (uc_jsonrpc_message_get_message_type (notify), ==,
                   UC_JSONRPC_MESSAGE_NOTIFY);
  g_assert_null (uc_jsonrpc_message_get_id (notify));

  reply = uc_jsonrpc_message_new_reply (result, int_node (3));
  g_assert_cmpint (uc_jsonrpc_message_get_message_type (reply), ==,
                   UC_JSONRPC_MESSAGE_REPLY);
  g_assert_true (uc_jsonrpc_message_get_result (reply) == result);
  g_assert_null (uc_jsonrpc_message_get_method (reply));
  g_assert_null (uc_jsonrpc_message_get_params (reply));

  error = uc_jsonrpc_message_new_error (error_node, string_node ("i"));
  g_assert_cmpint (uc_jsonrpc_message_get_message_type (error), ==,
                   UC_JSONRPC_MESSAGE_ERROR);
  g_assert_true (uc_jsonrpc_message_get_error (error) == error_node);
  g_assert_null (uc_jsonrpc_message_get_result (error));
}

/* A request without an id, a reply with a null result: programming
 * errors, refused with a critical. */
static void
test_constructors_invalid (void)
{
  g_autoptr (JsonNode) null_node = json_node_new (JSON_NODE_NULL);
  g_autoptr (JsonNode) params = string_array (NULL);
  g_autoptr (JsonNode) not_array = string_node ("x");
  g_autoptr (JsonNode) id = int_node (1);

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_CRITICAL, "*node_is_present*");
  g_assert_null (uc_jsonrpc_message_new_request ("m", params, null_node));
  g_test_assert_expected_messages ();

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_CRITICAL,
                         "*JSON_NODE_HOLDS_ARRAY*");
  g_assert_null (uc_jsonrpc_message_new_notify ("m", not_array));
  g_test_assert_expected_messages ();

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_CRITICAL, "*node_is_present*");
  g_assert_null (uc_jsonrpc_message_new_reply (null_node, id));
  g_test_assert_expected_messages ();

  g_test_expect_message ("jsonrpc", G_LOG_LEVEL_CRITICAL, "*node_is_present*");
  g_assert_null (uc_jsonrpc_message_new_error (id, NULL));
  g_test_assert_expected_messages ();
}

static void
test_type_to_string (void)
{
  g_assert_cmpstr (
    uc_jsonrpc_message_type_to_string (UC_JSONRPC_MESSAGE_REQUEST), ==,
    "request");
  g_assert_cmpstr (
    uc_jsonrpc_message_type_to_string (UC_JSONRPC_MESSAGE_NOTIFY), ==,
    "notification");
  g_assert_cmpstr (uc_jsonrpc_message_type_to_string (UC_JSONRPC_MESSAGE_REPLY),
                   ==, "reply");
  g_assert_cmpstr (uc_jsonrpc_message_type_to_string (UC_JSONRPC_MESSAGE_ERROR),
                   ==, "error");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/jsonrpc-message/parse/classification",
                   test_classification);
  g_test_add_func ("/jsonrpc-message/parse/members", test_parse_members);
  g_test_add_func ("/jsonrpc-message/parse/duplicates", test_parse_duplicates);
  g_test_add_func ("/jsonrpc-message/parse/syntax-error",
                   test_parse_syntax_error);
  g_test_add_func ("/jsonrpc-message/parse/quoting", test_parse_quoting);
  g_test_add_func ("/jsonrpc-message/to-string/types", test_to_string_types);
  g_test_add_func ("/jsonrpc-message/to-string/escapes",
                   test_to_string_escapes);
  g_test_add_func ("/jsonrpc-message/to-string/invalid-utf8-forms",
                   test_to_string_invalid_utf8_forms);
  g_test_add_func ("/jsonrpc-message/to-string/invalid-utf8",
                   test_to_string_invalid_utf8);
  g_test_add_func ("/jsonrpc-message/to-string/numbers",
                   test_to_string_numbers);
  g_test_add_func ("/jsonrpc-message/to-string/structure",
                   test_to_string_structure);
  g_test_add_func ("/jsonrpc-message/to-string/round-trip", test_round_trip);
  g_test_add_func ("/jsonrpc-message/id/round-trip", test_id_round_trip);
  g_test_add_func ("/jsonrpc-message/id/lookup", test_id_lookup);
  g_test_add_func ("/jsonrpc-message/id/replies", test_id_replies);
  g_test_add_func ("/jsonrpc-message/id/quoting", test_id_quoting);
  g_test_add_func ("/jsonrpc-message/message/ref-unref", test_ref_unref);
  g_test_add_func ("/jsonrpc-message/message/constructors", test_constructors);
  g_test_add_func ("/jsonrpc-message/message/constructors-invalid",
                   test_constructors_invalid);
  g_test_add_func ("/jsonrpc-message/message/type-to-string",
                   test_type_to_string);

  return g_test_run ();
}
