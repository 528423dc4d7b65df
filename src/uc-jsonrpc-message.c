/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "jsonrpc"

#include "config.h"

#include "uc-jsonrpc-message.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "uc-error.h"
#include "uc-json-parser.h"
#include "uc-json-private.h"

/**
 * UcJsonrpcMessage:
 *
 * One JSON-RPC 1.0 message: a request, a notification, a reply or an
 * error.  Messages are immutable once built and reference counted; the
 * connection code passes them between the reader, the handlers and the
 * send queue without copying.
 *
 * Members that JSON-RPC leaves out for a type are %NULL; a JSON null on
 * the wire counts as absent, as in Open vSwitch.
 */
struct _UcJsonrpcMessage
{
  UcJsonrpcMessageType type;
  JsonNode *method; /* (owned) (nullable): always a string; a node, so
                     * that a parsed message keeps the parser's node
                     * instead of copying its string */
  JsonNode *params; /* (owned) (nullable): always an array */
  JsonNode *result; /* (owned) (nullable): never a JSON null */
  JsonNode *error;  /* (owned) (nullable): never a JSON null */
  JsonNode *id;     /* (owned) (nullable): never a JSON null */
};

G_DEFINE_BOXED_TYPE (UcJsonrpcMessage,
                     uc_jsonrpc_message,
                     uc_jsonrpc_message_ref,
                     uc_jsonrpc_message_unref)

/* Longest piece of client-provided text quoted in an error message. */
#define QUOTE_MAX 64

static UcJsonrpcMessage *
message_new (UcJsonrpcMessageType type)
{
  UcJsonrpcMessage *self = g_atomic_rc_box_new0 (UcJsonrpcMessage);

  self->type = type;
  return self;
}

static gboolean
node_is_present (JsonNode *node)
{
  return node != NULL && !JSON_NODE_HOLDS_NULL (node);
}

/**
 * uc_jsonrpc_message_new_request:
 * @method: the method name
 * @params: (transfer full): the parameters, a JSON array
 * @id: (transfer full): the request id, not a JSON null
 *
 * Builds a request.  The peer answers it with a reply or an error that
 * carries the same @id.
 *
 * Returns: (transfer full): a new request
 */
UcJsonrpcMessage *
uc_jsonrpc_message_new_request (const char *method,
                                JsonNode *params,
                                JsonNode *id)
{
  UcJsonrpcMessage *self;

  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (params != NULL && JSON_NODE_HOLDS_ARRAY (params), NULL);
  g_return_val_if_fail (node_is_present (id), NULL);

  self = message_new (UC_JSONRPC_MESSAGE_REQUEST);
  self->method = json_node_init_string (json_node_alloc (), method);
  self->params = params;
  self->id = id;
  return self;
}

/**
 * uc_jsonrpc_message_new_notify:
 * @method: the method name
 * @params: (transfer full): the parameters, a JSON array
 *
 * Builds a notification: a request that expects no answer.
 *
 * Returns: (transfer full): a new notification
 */
UcJsonrpcMessage *
uc_jsonrpc_message_new_notify (const char *method, JsonNode *params)
{
  UcJsonrpcMessage *self;

  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (params != NULL && JSON_NODE_HOLDS_ARRAY (params), NULL);

  self = message_new (UC_JSONRPC_MESSAGE_NOTIFY);
  self->method = json_node_init_string (json_node_alloc (), method);
  self->params = params;
  return self;
}

/**
 * uc_jsonrpc_message_new_reply:
 * @result: (transfer full): the result, not a JSON null
 * @id: (transfer full): the id of the request answered, not a JSON null
 *
 * Builds a successful reply.
 *
 * Returns: (transfer full): a new reply
 */
UcJsonrpcMessage *
uc_jsonrpc_message_new_reply (JsonNode *result, JsonNode *id)
{
  UcJsonrpcMessage *self;

  g_return_val_if_fail (node_is_present (result), NULL);
  g_return_val_if_fail (node_is_present (id), NULL);

  self = message_new (UC_JSONRPC_MESSAGE_REPLY);
  self->result = result;
  self->id = id;
  return self;
}

/**
 * uc_jsonrpc_message_new_error:
 * @error: (transfer full): the error, not a JSON null; unixctl sends a
 *   string
 * @id: (transfer full): the id of the request answered, not a JSON null
 *
 * Builds an error reply.
 *
 * Returns: (transfer full): a new error reply
 */
UcJsonrpcMessage *
uc_jsonrpc_message_new_error (JsonNode *error, JsonNode *id)
{
  UcJsonrpcMessage *self;

  g_return_val_if_fail (node_is_present (error), NULL);
  g_return_val_if_fail (node_is_present (id), NULL);

  self = message_new (UC_JSONRPC_MESSAGE_ERROR);
  self->error = error;
  self->id = id;
  return self;
}

/* Serialization.  The output is compact JSON, byte for byte what Open
 * vSwitch's json.c prints for strings, so that peers comparing replies
 * textually see no difference.  Object members keep their order. */

static void append_node (GString *out, JsonNode *node);

static const char hex_digits[] = "0123456789abcdef";

/* Appends the JSON escape for @c: a control character, the quote or the
 * backslash. */
static void
append_escape (GString *out, guint8 c)
{
  char escape[6] = { '\\', 'u', '0', '0' };

  switch (c)
    {
      case '"':
      case '\\':
        escape[1] = (char) c;
        g_string_append_len (out, escape, 2);
        break;
      case '\b':
        g_string_append_len (out, "\\b", 2);
        break;
      case '\f':
        g_string_append_len (out, "\\f", 2);
        break;
      case '\n':
        g_string_append_len (out, "\\n", 2);
        break;
      case '\r':
        g_string_append_len (out, "\\r", 2);
        break;
      case '\t':
        g_string_append_len (out, "\\t", 2);
        break;
      default:
        escape[4] = hex_digits[c >> 4];
        escape[5] = hex_digits[c & 0xf];
        g_string_append_len (out, escape, 6);
        break;
    }
}

/* Appends @length bytes of @text, escaping control characters and, if
 * @quotes, the quote and the backslash (the inside of a JSON string,
 * escaped as json.c does); everything else as is.  JsonNode strings are
 * not checked by json-glib when a handler builds them: a byte that is not
 * part of valid UTF-8 (a NUL included) becomes U+FFFD, so that what goes
 * out is always JSON a strict peer (and our own framer) accepts.  One
 * pass, with the bytes that need no care copied in runs. */
static void
append_escaped (GString *out, const char *text, gsize length, gboolean quotes)
{
  const guint8 *p = (const guint8 *) text;
  const guint8 *end = p + length;
  const guint8 *run = p;

  while (p < end)
    {
      guint8 c = *p;
      gsize sequence;

      if (G_LIKELY (c >= 0x20 && c < 0x80 &&
                    ((c != '"' && c != '\\') || !quotes)))
        {
          p++;
          continue;
        }
      if (c >= 0x80 && (sequence = uc_json_utf8_sequence_length (p, end)) > 0)
        {
          p += sequence;
          continue;
        }

      g_string_append_len (out, (const char *) run, p - run);
      if (c == 0 || c >= 0x80)
        g_string_append_len (out, "\xef\xbf\xbd", 3);
      else
        append_escape (out, c);
      run = ++p;
    }
  g_string_append_len (out, (const char *) run, end - run);
}

static void
append_string (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  if (text != NULL)
    append_escaped (out, text, strlen (text), TRUE);
  g_string_append_c (out, '"');
}

/* Prints @value in decimal at the end of @buffer.  Returns where the text
 * starts; it runs to the end of @buffer, unterminated. */
static const char *
format_int (gint64 value, char buffer[static 24])
{
  char *p = buffer + 24;
  guint64 magnitude = value < 0 ? -(guint64) value : (guint64) value;

  do
    {
      *--p = (char) ('0' + magnitude % 10);
      magnitude /= 10;
    }
  while (magnitude != 0);
  if (value < 0)
    *--p = '-';
  return p;
}

static void
append_int (GString *out, gint64 value)
{
  char buffer[24];
  const char *text = format_int (value, buffer);

  g_string_append_len (out, text, buffer + sizeof buffer - text);
}

/* Appends the shortest text that reads back as exactly @value: the first
 * of 15, 16 and 17 significant digits that round-trips.  For a normal
 * number that is the shortest form there is, since %.15g drops trailing
 * zeros and any decimal of up to 15 digits that reads back as @value is
 * what %.15g prints; subnormals, which carry fewer digits, may print
 * longer than needed but still exactly.  An integral value gets
 * ".0", as json-glib's own generator does, so that it reads back as a
 * double and not as an integer: 1.0 prints "1.0", 1e300 "1e+300", -0.0
 * "-0.0".  JSON has no infinity or NaN; they print as null. */
static void
append_double (GString *out, double value)
{
  static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  gsize i;

  if (!isfinite (value))
    {
      g_string_append_len (out, "null", 4);
      return;
    }

  for (i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buffer, sizeof buffer, formats[i], value);
      if (g_ascii_strtod (buffer, NULL) == value)
        break;
    }

  g_string_append (out, buffer);
  if (strpbrk (buffer, ".e") == NULL)
    g_string_append_len (out, ".0", 2);
}

typedef struct
{
  GString *out;   /* (unowned) */
  gboolean first; /* no member written yet */
} MemberWriter;

static void
append_member (JsonObject *object,
               const char *name,
               JsonNode *node,
               gpointer user_data)
{
  MemberWriter *writer = user_data;
  GString *out = writer->out;

  if (!writer->first)
    g_string_append_c (out, ',');
  writer->first = FALSE;
  append_string (out, name);
  g_string_append_c (out, ':');
  append_node (out, node);
}

static void
append_node (GString *out, JsonNode *node)
{
  if (node == NULL)
    {
      g_string_append_len (out, "null", 4);
      return;
    }

  switch (json_node_get_node_type (node))
    {
      /* A container node built without its container prints empty. */
      case JSON_NODE_OBJECT:
        {
          JsonObject *object = json_node_get_object (node);
          MemberWriter writer = { out, TRUE };

          g_string_append_c (out, '{');
          if (object != NULL)
            json_object_foreach_member (object, append_member, &writer);
          g_string_append_c (out, '}');
        }
        break;

      case JSON_NODE_ARRAY:
        {
          JsonArray *array = json_node_get_array (node);
          guint n = array != NULL ? json_array_get_length (array) : 0;
          guint i;

          g_string_append_c (out, '[');
          for (i = 0; i < n; i++)
            {
              if (i > 0)
                g_string_append_c (out, ',');
              append_node (out, json_array_get_element (array, i));
            }
          g_string_append_c (out, ']');
        }
        break;

      case JSON_NODE_VALUE:
        switch (json_node_get_value_type (node))
          {
            case G_TYPE_INT64:
              append_int (out, json_node_get_int (node));
              break;
            case G_TYPE_DOUBLE:
              append_double (out, json_node_get_double (node));
              break;
            case G_TYPE_BOOLEAN:
              if (json_node_get_boolean (node))
                g_string_append_len (out, "true", 4);
              else
                g_string_append_len (out, "false", 5);
              break;
            case G_TYPE_STRING:
              append_string (out, json_node_get_string (node));
              break;
            default:
              /* json-glib values hold only the four types above. */
              g_assert_not_reached ();
          }
        break;

      case JSON_NODE_NULL:
      default:
        g_string_append_len (out, "null", 4);
        break;
    }
}

/* Quotes client-provided text for an error message: escaped, so that no
 * control character gets through (and, if @quotes, as the inside of a
 * JSON string), and cut to QUOTE_MAX bytes at a character boundary,
 * marked with "...". */
static char *
quote_bounded (const char *text, gsize length, gboolean quotes)
{
  GString *out = g_string_sized_new (QUOTE_MAX + 16);
  gsize n = MIN (length, QUOTE_MAX);

  /* Never cut inside a UTF-8 sequence. */
  while (n > 0 && n < length && ((guint8) text[n] & 0xc0) == 0x80)
    n--;

  append_escaped (out, text, n, quotes);
  if (n < length)
    g_string_append (out, "...");
  return g_string_free (out, FALSE);
}

/* Requests are answered with their id as we print it, so an id whose
 * printed form differs from what the peer sent (1e2 prints as 100.0, an
 * integer past 64 bits becomes a double) would match no request on the
 * peer's side.  Such an id is refused instead.  A string always
 * round-trips in meaning; anything else must print byte for byte as it
 * was sent (@raw, @raw_length). */
static gboolean
check_id_echoes (JsonNode *id,
                 const char *raw,
                 gsize raw_length,
                 GError **error)
{
  g_autoptr (GString) printed = NULL;
  g_autofree char *quoted = NULL;

  if (JSON_NODE_HOLDS_VALUE (id) &&
      json_node_get_value_type (id) == G_TYPE_STRING)
    return TRUE;

  /* Integers, the usual ids, are printed without a string. */
  if (JSON_NODE_HOLDS_VALUE (id) &&
      json_node_get_value_type (id) == G_TYPE_INT64)
    {
      char buffer[24];
      const char *text = format_int (json_node_get_int (id), buffer);
      gsize length = (gsize) (buffer + sizeof buffer - text);

      if (raw_length == length && memcmp (raw, text, length) == 0)
        return TRUE;
    }
  else
    {
      printed = g_string_new (NULL);
      append_node (printed, id);
      if (raw_length == printed->len &&
          memcmp (raw, printed->str, raw_length) == 0)
        return TRUE;
    }

  quoted = quote_bounded (raw, raw_length, FALSE);
  g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
               "request id %s cannot be echoed exactly", quoted);
  return FALSE;
}

/* The members of a message object, collected as Open vSwitch's
 * jsonrpc_msg_from_json() does: the last of duplicate members counts.
 * The top-level object itself is never built. */
typedef struct
{
  JsonNode *method;   /* (owned) (nullable) */
  JsonNode *params;   /* (owned) (nullable) */
  JsonNode *result;   /* (owned) (nullable) */
  JsonNode *error;    /* (owned) (nullable) */
  JsonNode *id;       /* (owned) (nullable) */
  const char *id_raw; /* (unowned) the text of @id */
  gsize id_raw_length;
  char *unexpected; /* (owned) (nullable) the first other member's name */
} Members;

static void
members_clear (Members *members)
{
  g_clear_pointer (&members->method, json_node_unref);
  g_clear_pointer (&members->params, json_node_unref);
  g_clear_pointer (&members->result, json_node_unref);
  g_clear_pointer (&members->error, json_node_unref);
  g_clear_pointer (&members->id, json_node_unref);
  g_clear_pointer (&members->unexpected, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Members, members_clear)

static void
collect_member (const char *name,
                JsonNode *value,
                const char *raw,
                gsize raw_length,
                gpointer user_data)
{
  Members *members = user_data;
  JsonNode **slot;

  if (strcmp (name, "method") == 0)
    slot = &members->method;
  else if (strcmp (name, "params") == 0)
    slot = &members->params;
  else if (strcmp (name, "result") == 0)
    slot = &members->result;
  else if (strcmp (name, "error") == 0)
    slot = &members->error;
  else if (strcmp (name, "id") == 0)
    {
      slot = &members->id;
      members->id_raw = raw;
      members->id_raw_length = raw_length;
    }
  else
    {
      if (members->unexpected == NULL)
        members->unexpected = g_strdup (name);
      json_node_unref (value);
      return;
    }

  g_clear_pointer (slot, json_node_unref);
  *slot = value;
}

/* A member that is absent or a JSON null counts as absent. */
static JsonNode *
take_member (JsonNode **member)
{
  if (!node_is_present (*member))
    return NULL;
  return g_steal_pointer (member);
}

/* Open vSwitch's jsonrpc_msg_is_valid(): which members each type must
 * and must not have, checked in the same order with the same words. */
static gboolean
message_validate (UcJsonrpcMessage *self, GError **error)
{
  static const struct
  {
    const char *name;
    guint bit;
  } checks[] = {
    { "method", 0x10000 }, { "params", 0x1000 }, { "result", 0x100 },
    { "error", 0x10 },     { "id", 0x1 },
  };
  gboolean present[G_N_ELEMENTS (checks)];
  guint pattern = 0;
  gsize i;

  if (self->params != NULL && !JSON_NODE_HOLDS_ARRAY (self->params))
    {
      g_set_error_literal (error, UC_ERROR, UC_ERROR_PROTOCOL,
                           "\"params\" must be JSON array");
      return FALSE;
    }

  switch (self->type)
    {
      case UC_JSONRPC_MESSAGE_REQUEST:
        pattern = 0x11001;
        break;
      case UC_JSONRPC_MESSAGE_NOTIFY:
        pattern = 0x11000;
        break;
      case UC_JSONRPC_MESSAGE_REPLY:
        pattern = 0x00101;
        break;
      case UC_JSONRPC_MESSAGE_ERROR:
        pattern = 0x00011;
        break;
      default:
        g_assert_not_reached ();
    }

  present[0] = self->method != NULL;
  present[1] = self->params != NULL;
  present[2] = self->result != NULL;
  present[3] = self->error != NULL;
  present[4] = self->id != NULL;

  for (i = 0; i < G_N_ELEMENTS (checks); i++)
    {
      gboolean must_have = (pattern & checks[i].bit) != 0;

      if (present[i] != must_have)
        {
          g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL, "%s %s have \"%s\"",
                       uc_jsonrpc_message_type_to_string (self->type),
                       must_have ? "must" : "must not", checks[i].name);
          return FALSE;
        }
    }

  return TRUE;
}

/**
 * uc_jsonrpc_message_parse:
 * @text: (array length=length): the text of one message, as framed by
 *   #UcJsonFramer
 * @length: the length of @text in bytes
 * @error: return location for a #GError
 *
 * Parses and classifies a message exactly as Open vSwitch's
 * jsonrpc_msg_from_json() does: `method` must be a string when present;
 * `params`, `result`, `error` and `id` count as absent when null; any
 * other member is refused; a non-null `result` makes a reply, else a
 * non-null `error` an error, else a non-null `id` a request, else a
 * notification; and each type must have exactly its own members.
 *
 * One more rule keeps replies matching their requests: a request id that
 * is not a string must print back byte for byte as it was sent (see
 * uc_jsonrpc_message_to_string()), so `1` and `[1]` are accepted but
 * `1e2`, `-0` or an integer beyond 64 bits are refused.
 *
 * The text is parsed with uc_json_parse_members(): strict RFC 8259 JSON
 * into json-glib nodes, without building the top-level object.
 *
 * Returns: (transfer full): the message, or %NULL with %UC_ERROR_PROTOCOL
 *   set; the error message is Open vSwitch's text, also for JSON that does
 *   not parse (with the byte offset of the error)
 */
UcJsonrpcMessage *
uc_jsonrpc_message_parse (const char *text, gsize length, GError **error)
{
  g_auto (Members) members = { 0 };
  g_autoptr (UcJsonrpcMessage) self = NULL;
  g_autofree char *quoted = NULL;
  UcJsonrpcMessageType type;
  gboolean is_object = FALSE;

  g_return_val_if_fail (text != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* No depth limit here: the framer has applied the connection's. */
  if (!uc_json_parse_members (text, length, G_MAXUINT, collect_member, &members,
                              &is_object, error))
    return NULL;

  if (!is_object)
    {
      g_set_error_literal (error, UC_ERROR, UC_ERROR_PROTOCOL,
                           "message is not a JSON object");
      return NULL;
    }

  if (members.method != NULL &&
      (!JSON_NODE_HOLDS_VALUE (members.method) ||
       json_node_get_value_type (members.method) != G_TYPE_STRING))
    {
      g_set_error_literal (error, UC_ERROR, UC_ERROR_PROTOCOL,
                           "method is not a JSON string");
      return NULL;
    }

  if (members.unexpected != NULL)
    {
      quoted =
        quote_bounded (members.unexpected, strlen (members.unexpected), TRUE);
      g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                   "message has unexpected member \"%s\"", quoted);
      return NULL;
    }

  if (node_is_present (members.result))
    type = UC_JSONRPC_MESSAGE_REPLY;
  else if (node_is_present (members.error))
    type = UC_JSONRPC_MESSAGE_ERROR;
  else if (node_is_present (members.id))
    type = UC_JSONRPC_MESSAGE_REQUEST;
  else
    type = UC_JSONRPC_MESSAGE_NOTIFY;

  self = message_new (type);
  self->method = g_steal_pointer (&members.method);
  self->params = take_member (&members.params);
  self->result = take_member (&members.result);
  self->error = take_member (&members.error);
  self->id = take_member (&members.id);

  if (!message_validate (self, error))
    return NULL;

  if (type == UC_JSONRPC_MESSAGE_REQUEST &&
      !check_id_echoes (self->id, members.id_raw, members.id_raw_length, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * uc_jsonrpc_message_ref:
 * @self: a message
 *
 * Returns: (transfer full): @self, with one more reference
 */
UcJsonrpcMessage *
uc_jsonrpc_message_ref (UcJsonrpcMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

static void
message_clear (gpointer data)
{
  UcJsonrpcMessage *self = data;

  g_clear_pointer (&self->method, json_node_unref);
  g_clear_pointer (&self->params, json_node_unref);
  g_clear_pointer (&self->result, json_node_unref);
  g_clear_pointer (&self->error, json_node_unref);
  g_clear_pointer (&self->id, json_node_unref);
}

/**
 * uc_jsonrpc_message_unref:
 * @self: (transfer full): a message
 *
 * Drops a reference to @self, freeing it with the last one.
 */
void
uc_jsonrpc_message_unref (UcJsonrpcMessage *self)
{
  g_return_if_fail (self != NULL);

  g_atomic_rc_box_release_full (self, message_clear);
}

/**
 * uc_jsonrpc_message_get_message_type:
 * @self: a message
 *
 * Returns: the kind of message @self is
 */
UcJsonrpcMessageType
uc_jsonrpc_message_get_message_type (UcJsonrpcMessage *self)
{
  g_return_val_if_fail (self != NULL, UC_JSONRPC_MESSAGE_NOTIFY);

  return self->type;
}

/**
 * uc_jsonrpc_message_get_method:
 * @self: a message
 *
 * Returns: (nullable): the method of a request or notification, %NULL
 *   for a reply or an error
 */
const char *
uc_jsonrpc_message_get_method (UcJsonrpcMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->method != NULL ? json_node_get_string (self->method) : NULL;
}

/**
 * uc_jsonrpc_message_get_params:
 * @self: a message
 *
 * Returns: (transfer none) (nullable): the parameters of a request or
 *   notification, %NULL for a reply or an error
 */
JsonArray *
uc_jsonrpc_message_get_params (UcJsonrpcMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->params != NULL ? json_node_get_array (self->params) : NULL;
}

/**
 * uc_jsonrpc_message_get_result:
 * @self: a message
 *
 * Returns: (transfer none) (nullable): the result of a reply, %NULL for
 *   the other types
 */
JsonNode *
uc_jsonrpc_message_get_result (UcJsonrpcMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->result;
}

/**
 * uc_jsonrpc_message_get_error:
 * @self: a message
 *
 * Returns: (transfer none) (nullable): the error of an error reply,
 *   %NULL for the other types
 */
JsonNode *
uc_jsonrpc_message_get_error (UcJsonrpcMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->error;
}

/**
 * uc_jsonrpc_message_get_id:
 * @self: a message
 *
 * Returns: (transfer none) (nullable): the id of a request, reply or
 *   error, %NULL for a notification
 */
JsonNode *
uc_jsonrpc_message_get_id (UcJsonrpcMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->id;
}

/**
 * uc_jsonrpc_message_to_string:
 * @self: a message
 * @length: (out) (optional): return location for the length of the text
 *
 * Serializes @self as compact JSON with its members in the order Open
 * vSwitch 3.1 sends them:
 *
 * |[
 * {"id":0,"method":"foo","params":["bar"]}     request
 * {"id":null,"method":"foo","params":["bar"]}  notification
 * {"id":0,"result":"text","error":null}        reply
 * {"id":0,"error":"text"}                      error
 * ]|
 *
 * Strings are escaped as json.c does (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`,
 * `\t`, other control characters as `\u00XX`, everything else as UTF-8;
 * a byte that is not valid UTF-8 becomes U+FFFD).  Integers print in
 * decimal; doubles in the shortest form that reads back exactly, with
 * ".0" added to integral ones so they stay doubles; infinities and NaN,
 * which JSON cannot express, as null.  Object members keep their order.
 *
 * Returns: (transfer full): the text, NUL-terminated
 */
char *
uc_jsonrpc_message_to_string (UcJsonrpcMessage *self, gsize *length)
{
  GString *out;

  g_return_val_if_fail (self != NULL, NULL);

  out = g_string_sized_new (128);
  uc_jsonrpc_message_serialize (self, out);
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}

/**
 * uc_jsonrpc_message_serialize:
 * @self: a message
 * @out: the string to append to
 *
 * Appends the text uc_jsonrpc_message_to_string() returns to @out: a
 * sender that writes from a buffer of its own needs no string per
 * message.
 */
void
uc_jsonrpc_message_serialize (UcJsonrpcMessage *self, GString *out)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (out != NULL);

  g_string_append_len (out, "{\"id\":", 6);
  append_node (out, self->id);

  switch (self->type)
    {
      case UC_JSONRPC_MESSAGE_REQUEST:
      case UC_JSONRPC_MESSAGE_NOTIFY:
        g_string_append_len (out, ",\"method\":", 10);
        append_string (out, json_node_get_string (self->method));
        g_string_append_len (out, ",\"params\":", 10);
        append_node (out, self->params);
        break;

      case UC_JSONRPC_MESSAGE_REPLY:
        g_string_append_len (out, ",\"result\":", 10);
        append_node (out, self->result);
        g_string_append_len (out, ",\"error\":null", 13);
        break;

      case UC_JSONRPC_MESSAGE_ERROR:
        g_string_append_len (out, ",\"error\":", 9);
        append_node (out, self->error);
        break;

      default:
        g_assert_not_reached ();
    }

  g_string_append_c (out, '}');
}

/**
 * uc_jsonrpc_message_type_to_string:
 * @type: a message type
 *
 * Returns: the name Open vSwitch uses for @type in its messages:
 *   "request", "notification", "reply" or "error"
 */
const char *
uc_jsonrpc_message_type_to_string (UcJsonrpcMessageType type)
{
  switch (type)
    {
      case UC_JSONRPC_MESSAGE_REQUEST:
        return "request";
      case UC_JSONRPC_MESSAGE_NOTIFY:
        return "notification";
      case UC_JSONRPC_MESSAGE_REPLY:
        return "reply";
      case UC_JSONRPC_MESSAGE_ERROR:
        return "error";
      default:
        g_return_val_if_reached ("(unknown)");
    }
}
