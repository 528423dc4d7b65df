/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "jsonrpc"

#include "config.h"

#include "uc-json-parser.h"

#include <string.h>

#include "uc-error.h"
#include "uc-json-private.h"

/*
 * A strict JSON parser that builds json-glib's data model in one pass.
 *
 * JsonParser is a GObject that makes a new scanner for every text it
 * loads: for a 40-byte request that was 20,000 instructions and hundreds
 * of small allocations, a third of the server's cost per request.  This
 * parser reads the text once, from left to right, and makes only the
 * nodes, arrays, objects and strings of the result.
 *
 * It keeps the containers it is filling on an explicit stack, so nesting
 * costs heap, never C stack.  (Freeing a tree is another matter:
 * json_node_unref() recurses per level, which is why the depth is
 * bounded, by the caller's limit or, for messages, by the framer before
 * a message gets here.)
 *
 * It accepts exactly RFC 8259 JSON, with the error words of Open
 * vSwitch's json.c.  json-glib 1.6 also took `01`, `1.`, `.5` and `- 1`,
 * which Open vSwitch, like RFC 8259, refuses; so does this parser.
 *
 * The tree is the one json-glib builds for the same text: numbers written
 * as integers are #gint64, numbers with a fraction or an exponent are
 * doubles (read by g_ascii_strtod(), so 1e400 is infinity, as in
 * json-glib), a repeated member name keeps its first place and its last
 * value, and every node knows its parent.  One difference: an integer
 * beyond 64 bits becomes a double, as Open vSwitch makes it, where
 * json-glib wrapped it around.
 *
 * Memory: the tree is made of the same json-glib values json-glib's own
 * parser makes (a #JsonNode per value, json_array_new(),
 * json_object_new() and json_object_set_member()), so the framer's cost
 * estimate per value (UC_JSON_VALUE_COST, UC_JSON_OBJECT_COST) holds.
 * uc_json_parse_members() makes less: no top-level object at all.
 */

/* Containers nested this deep need no allocation for the stack. */
#define INLINE_STACK_SIZE 32

/* Strings this long need no allocation for their unescaped copy. */
#define INLINE_SCRATCH_SIZE 128

/* Longest keyword quoted in an error message. */
#define KEYWORD_QUOTE_MAX 32

/* A growable buffer that starts on the stack: most strings of a message
 * are short, and json-glib copies them anyway. */
typedef struct
{
  char *data; /* (unowned) @inline_data, or (owned) */
  gsize length;
  gsize allocated;
  char inline_data[INLINE_SCRATCH_SIZE];
} Scratch;

static void
scratch_init (Scratch *self)
{
  self->data = self->inline_data;
  self->length = 0;
  self->allocated = INLINE_SCRATCH_SIZE;
}

static void
scratch_clear (Scratch *self)
{
  if (self->data != self->inline_data)
    g_free (self->data);
}

/* Makes room for @length more bytes and a NUL. */
static void
scratch_reserve (Scratch *self, gsize length)
{
  gsize needed = self->length + length + 1;

  if (needed <= self->allocated)
    return;
  while (self->allocated < needed)
    self->allocated *= 2;
  if (self->data == self->inline_data)
    {
      self->data = g_malloc (self->allocated);
      memcpy (self->data, self->inline_data, self->length);
    }
  else
    self->data = g_realloc (self->data, self->allocated);
}

static void
scratch_append (Scratch *self, const void *data, gsize length)
{
  scratch_reserve (self, length);
  memcpy (self->data + self->length, data, length);
  self->length += length;
}

static void
scratch_append_c (Scratch *self, char c)
{
  scratch_reserve (self, 1);
  self->data[self->length++] = c;
}

/* Ends the contents with a NUL, and returns them. */
static const char *
scratch_terminate (Scratch *self)
{
  scratch_reserve (self, 0);
  self->data[self->length] = '\0';
  return self->data;
}

typedef struct
{
  const guint8 *start; /* (unowned) the text */
  const guint8 *p;     /* (unowned) the next byte to read */
  const guint8 *end;   /* (unowned) */
  guint max_depth;     /* containers may nest this deep, counting from
                        * the top level */
  guint base_depth;    /* the depth of the values parse_value() reads */
  GError **error;

  Scratch string; /* the last string value read, unescaped */
  Scratch name;   /* the name of the member being read */

  /* The containers being filled, innermost last.  Each is owned by its
   * parent; the first by the caller of parse_value(). */
  JsonNode **stack; /* (unowned) @inline_stack or (owned) */
  guint depth;
  guint allocated;
  JsonNode *inline_stack[INLINE_STACK_SIZE];
} Parser;

static void
parser_init (Parser *self,
             const char *text,
             gsize length,
             guint max_depth,
             GError **error)
{
  /* No arithmetic on a null pointer, even + 0. */
  self->start = (const guint8 *) (text != NULL ? text : "");
  self->p = self->start;
  self->end = self->start + length;
  self->max_depth = max_depth;
  self->base_depth = 0;
  self->error = error;
  scratch_init (&self->string);
  scratch_init (&self->name);
  self->stack = self->inline_stack;
  self->depth = 0;
  self->allocated = INLINE_STACK_SIZE;
}

static void
parser_clear (Parser *self)
{
  scratch_clear (&self->string);
  scratch_clear (&self->name);
  if (self->stack != self->inline_stack)
    g_free (self->stack);
}

static void set_error (Parser *self, const guint8 *at, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

/* Open vSwitch words its errors "line L, column C, byte B: WHAT"; a
 * message is one line here, so the byte offset says it all. */
static void
set_error (Parser *self, const guint8 *at, const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (self->error, UC_ERROR, UC_ERROR_PROTOCOL, "byte %zu: %s",
               (gsize) (at - self->start), what);
}

/* Describes the byte at @at without ever copying a control character or
 * a stray byte into a message. */
static void
set_invalid_character_error (Parser *self, const guint8 *at)
{
  if (*at > 0x20 && *at < 0x7f)
    set_error (self, at, "invalid character '%c'", *at);
  else
    set_error (self, at, "invalid byte 0x%02x", *at);
}

static void
skip_space (Parser *self)
{
  const guint8 *p = self->p;

  while (p < self->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  self->p = p;
}

/* Reads the four hex digits of a \u escape at @p.  Returns the code
 * unit, or -1. */
static int
read_hex4 (const guint8 *p, const guint8 *end)
{
  int value = 0;
  int i;

  if (end - p < 4)
    return -1;
  for (i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value ((char) p[i]);

      if (digit < 0)
        return -1;
      value = (value << 4) | digit;
    }
  return value;
}

/* Reads the \u escape whose 'u' is at @p, a surrogate pair included, and
 * appends the character to @out.  Returns the position after it, or
 * %NULL with the error set. */
static const guint8 *
read_unicode_escape (Parser *self, const guint8 *p, Scratch *out)
{
  int unit = read_hex4 (p + 1, self->end);
  gunichar c;

  if (unit < 0)
    {
      set_error (self, p, "malformed \\u escape");
      return NULL;
    }
  p += 5;
  c = (gunichar) unit;

  if (c == 0)
    {
      set_error (self, p - 6, "null bytes not supported in quoted strings");
      return NULL;
    }
  if (c >= 0xdc00 && c <= 0xdfff)
    {
      set_error (self, p - 6,
                 "escaped trailing surrogate without a leading "
                 "one");
      return NULL;
    }
  if (c >= 0xd800 && c <= 0xdbff)
    {
      int low;

      if (self->end - p < 2 || p[0] != '\\' || p[1] != 'u')
        {
          set_error (self, p, "malformed escaped surrogate pair");
          return NULL;
        }
      low = read_hex4 (p + 2, self->end);
      if (low < 0)
        {
          set_error (self, p + 1, "malformed \\u escape");
          return NULL;
        }
      if (low < 0xdc00 || low > 0xdfff)
        {
          set_error (self, p,
                     "second half of escaped surrogate pair is not "
                     "trailing surrogate");
          return NULL;
        }
      c = 0x10000 + ((c - 0xd800) << 10) + ((gunichar) low - 0xdc00);
      p += 6;
    }

  {
    char utf8[6];

    scratch_append (out, utf8, (gsize) g_unichar_to_utf8 (c, utf8));
  }
  return p;
}

/* Reads the string whose opening quote is at the current position into
 * @out, unescaped and NUL-terminated. */
static gboolean
read_string (Parser *self, Scratch *out)
{
  const guint8 *p = self->p + 1;
  const guint8 *end = self->end;

  out->length = 0;
  for (;;)
    {
      const guint8 *run = p;
      gsize length;

      while (p < end && uc_json_string_plain[*p])
        p++;
      scratch_append (out, run, (gsize) (p - run));

      if (p == end)
        {
          set_error (self, p, "unexpected end of input in quoted string");
          return FALSE;
        }

      switch (*p)
        {
          case '"':
            scratch_terminate (out);
            self->p = p + 1;
            return TRUE;

          case '\\':
            if (p + 1 == end)
              {
                set_error (self, p + 1,
                           "unexpected end of input in quoted string");
                return FALSE;
              }
            switch (p[1])
              {
                case '"':
                case '\\':
                case '/':
                  scratch_append_c (out, (char) p[1]);
                  break;
                case 'b':
                  scratch_append_c (out, '\b');
                  break;
                case 'f':
                  scratch_append_c (out, '\f');
                  break;
                case 'n':
                  scratch_append_c (out, '\n');
                  break;
                case 'r':
                  scratch_append_c (out, '\r');
                  break;
                case 't':
                  scratch_append_c (out, '\t');
                  break;
                case 'u':
                  p = read_unicode_escape (self, p + 1, out);
                  if (p == NULL)
                    return FALSE;
                  continue;
                default:
                  if (p[1] > 0x20 && p[1] < 0x7f)
                    set_error (self, p, "bad escape \\%c", p[1]);
                  else
                    set_error (self, p,
                               "bad escape: backslash followed by "
                               "byte 0x%02x",
                               p[1]);
                  return FALSE;
              }
            p += 2;
            break;

          default:
            if (*p < 0x20)
              {
                /* Open vSwitch's words; NUL included. */
                set_error (self, p, "U+%04X must be escaped in quoted string",
                           *p);
                return FALSE;
              }
            length = uc_json_utf8_sequence_length (p, end);
            if (length == 0)
              {
                set_error (self, p,
                           "invalid UTF-8 in quoted string (byte "
                           "0x%02x)",
                           *p);
                return FALSE;
              }
            scratch_append (out, p, length);
            p += length;
            break;
        }
    }
}

/* Reads the number at the current position.  Only the grammar is checked
 * here; what follows the number is the caller's business, as for any
 * value.  Returns the new node, or %NULL with the error set. */
static JsonNode *
read_number (Parser *self)
{
  const guint8 *start = self->p;
  const guint8 *p = start;
  const guint8 *end = self->end;
  gboolean negative = FALSE;
  gboolean integral = TRUE;
  gboolean overflow = FALSE;
  guint64 magnitude = 0;

  if (*p == '-')
    {
      negative = TRUE;
      p++;
    }
  if (p == end || !g_ascii_isdigit (*p))
    {
      set_error (self, p, "'-' must be followed by digit");
      return NULL;
    }

  if (*p == '0')
    {
      p++;
      if (p < end && g_ascii_isdigit (*p))
        {
          set_error (self, p, "leading zeros not allowed");
          return NULL;
        }
    }
  else
    {
      for (; p < end && g_ascii_isdigit (*p); p++)
        {
          guint digit = *p - '0';

          if (magnitude > (G_MAXUINT64 - digit) / 10)
            overflow = TRUE;
          else
            magnitude = magnitude * 10 + digit;
        }
    }

  if (p < end && *p == '.')
    {
      integral = FALSE;
      p++;
      if (p == end || !g_ascii_isdigit (*p))
        {
          set_error (self, p, "decimal point must be followed by digit");
          return NULL;
        }
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }

  if (p < end && (*p == 'e' || *p == 'E'))
    {
      integral = FALSE;
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        p++;
      if (p == end || !g_ascii_isdigit (*p))
        {
          set_error (self, p, "exponent must contain at least one digit");
          return NULL;
        }
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }

  self->p = p;

  if (integral && !overflow &&
      magnitude <= (guint64) G_MAXINT64 + (negative ? 1 : 0))
    {
      /* -(2^63) is representable, its magnitude as a gint64 is not. */
      if (negative && magnitude > 0)
        return json_node_init_int (json_node_alloc (),
                                   -(gint64) (magnitude - 1) - 1);
      return json_node_init_int (json_node_alloc (), (gint64) magnitude);
    }

  /* The text is copied because it need not be NUL-terminated, and
   * g_ascii_strtod() reads until it finds a byte that does not fit. */
  self->string.length = 0;
  scratch_append (&self->string, start, (gsize) (p - start));
  return json_node_init_double (
    json_node_alloc (),
    g_ascii_strtod (scratch_terminate (&self->string), NULL));
}

/* Reads `true`, `false` or `null`.  Like Open vSwitch, any run of
 * letters counts as one keyword, so that `truex` is refused whole.
 * Returns the new node, or %NULL with the error set. */
static JsonNode *
read_keyword (Parser *self)
{
  const guint8 *p = self->p;
  gsize length = 0;
  JsonNode *node;

  while (p + length < self->end && g_ascii_isalpha (p[length]))
    length++;

  if (length == 4 && memcmp (p, "true", 4) == 0)
    node = json_node_init_boolean (json_node_alloc (), TRUE);
  else if (length == 5 && memcmp (p, "false", 5) == 0)
    node = json_node_init_boolean (json_node_alloc (), FALSE);
  else if (length == 4 && memcmp (p, "null", 4) == 0)
    node = json_node_init_null (json_node_alloc ());
  else
    {
      set_error (self, p, "invalid keyword '%.*s%s'",
                 (int) MIN (length, KEYWORD_QUOTE_MAX), (const char *) p,
                 length > KEYWORD_QUOTE_MAX ? "..." : "");
      return NULL;
    }

  self->p = p + length;
  return node;
}

static gboolean
push (Parser *self, JsonNode *container)
{
  /* Open vSwitch's words, as the framer's. */
  if (self->base_depth + self->depth >= self->max_depth)
    {
      set_error (self, self->p - 1, "input exceeds maximum nesting depth %u",
                 self->max_depth);
      return FALSE;
    }
  if (self->depth == self->allocated)
    {
      self->allocated *= 2;
      if (self->stack == self->inline_stack)
        {
          self->stack = g_new (JsonNode *, self->allocated);
          memcpy (self->stack, self->inline_stack, sizeof self->inline_stack);
        }
      else
        self->stack = g_renew (JsonNode *, self->stack, self->allocated);
    }
  self->stack[self->depth++] = container;
  return TRUE;
}

/* Reads a member name into @name, and its colon. */
static gboolean
read_member_name (Parser *self, Scratch *name)
{
  skip_space (self);
  if (self->p == self->end || *self->p != '"')
    {
      if (self->p == self->end)
        set_error (self, self->p, "unexpected end of input");
      else
        set_error (self, self->p,
                   "syntax error parsing object expecting string");
      return FALSE;
    }
  if (!read_string (self, name))
    return FALSE;

  skip_space (self);
  if (self->p == self->end || *self->p != ':')
    {
      if (self->p == self->end)
        set_error (self, self->p, "unexpected end of input");
      else
        set_error (self, self->p, "syntax error parsing object expecting ':'");
      return FALSE;
    }
  self->p++;
  return TRUE;
}

/* Reads one value, however deeply nested, from the current position
 * (after optional whitespace) to just past its end.  Returns the value,
 * or %NULL with the error set. */
static JsonNode *
parse_value (Parser *self)
{
  JsonNode *root = NULL;
  JsonNode *node;
  JsonNode *parent;

  g_assert (self->depth == 0);

  for (;;)
    {
      gboolean opened = FALSE;

      /* A value is due here. */
      skip_space (self);
      if (self->p == self->end)
        {
          set_error (self, self->p, "unexpected end of input");
          goto fail;
        }

      switch (*self->p)
        {
          case '{':
            {
              g_autoptr (JsonObject) object = json_object_new ();

              node = json_node_init_object (json_node_alloc (), object);
              self->p++;
              opened = TRUE;
            }
            break;

          case '[':
            {
              g_autoptr (JsonArray) array = json_array_new ();

              node = json_node_init_array (json_node_alloc (), array);
              self->p++;
              opened = TRUE;
            }
            break;

          case '"':
            if (!read_string (self, &self->string))
              goto fail;
            node =
              json_node_init_string (json_node_alloc (), self->string.data);
            break;

          case '-':
          case '0':
          case '1':
          case '2':
          case '3':
          case '4':
          case '5':
          case '6':
          case '7':
          case '8':
          case '9':
            node = read_number (self);
            if (node == NULL)
              goto fail;
            break;

          case ',':
          case ':':
          case ']':
          case '}':
            set_error (self, self->p, "syntax error expecting value");
            goto fail;

          default:
            if (*self->p < 'a' || *self->p > 'z')
              {
                set_invalid_character_error (self, self->p);
                goto fail;
              }
            node = read_keyword (self);
            if (node == NULL)
              goto fail;
            break;
        }

      /* Into the tree at once: whatever fails from now on, the root
       * frees it. */
      if (self->depth == 0)
        root = node;
      else
        {
          parent = self->stack[self->depth - 1];
          if (JSON_NODE_HOLDS_ARRAY (parent))
            json_array_add_element (json_node_get_array (parent), node);
          else
            json_object_set_member (json_node_get_object (parent),
                                    self->name.data, node);
          json_node_set_parent (node, parent);
        }

      if (opened)
        {
          gboolean is_object = JSON_NODE_HOLDS_OBJECT (node);

          if (!push (self, node))
            goto fail;
          skip_space (self);
          if (self->p < self->end && *self->p == (is_object ? '}' : ']'))
            {
              self->p++;
              self->depth--;
            }
          else if (is_object)
            {
              if (!read_member_name (self, &self->name))
                goto fail;
              continue;
            }
          else
            continue;
        }

      /* A value is complete: close the containers it completes. */
      for (;;)
        {
          gboolean in_object;

          if (self->depth == 0)
            return root;

          parent = self->stack[self->depth - 1];
          in_object = JSON_NODE_HOLDS_OBJECT (parent);
          skip_space (self);
          if (self->p == self->end)
            {
              set_error (self, self->p, "unexpected end of input");
              goto fail;
            }
          if (*self->p == ',')
            {
              self->p++;
              if (in_object && !read_member_name (self, &self->name))
                goto fail;
              break;
            }
          if (*self->p != (in_object ? '}' : ']'))
            {
              set_error (self, self->p,
                         in_object ? "syntax error expecting '}' or ','"
                                   : "syntax error expecting ']' or ','");
              goto fail;
            }
          self->p++;
          self->depth--;
        }
    }

fail:
  self->depth = 0;
  g_clear_pointer (&root, json_node_unref);
  return NULL;
}

/* After the last value: nothing but whitespace may follow. */
static gboolean
expect_end (Parser *self)
{
  skip_space (self);
  if (self->p == self->end)
    return TRUE;
  set_error (self, self->p, "trailing garbage at end of input");
  return FALSE;
}

/**
 * uc_json_parse:
 * @text: (array length=length): JSON text; it need not be NUL-terminated
 * @length: the length of @text in bytes
 * @max_depth: the deepest nesting of arrays and objects accepted, the
 *   top level counting as 1; %G_MAXUINT for no limit
 * @error: return location for a #GError
 *
 * Parses one JSON value (RFC 8259; any value, not only an object or an
 * array), with optional whitespace around it, into the tree
 * json_parser_load_from_data() would build.
 *
 * The parser uses no C stack per nesting level, so no text can overflow
 * it.  Freeing a tree does recurse per level (json_node_unref()), which
 * is what @max_depth is for, unless the text was framed by #UcJsonFramer
 * with a depth limit already.
 *
 * Returns: (transfer full): the value; or %NULL with %UC_ERROR_PROTOCOL
 *   set, its message giving the byte offset of the error and Open
 *   vSwitch's words for it
 */
JsonNode *
uc_json_parse (const char *text, gsize length, guint max_depth, GError **error)
{
  Parser parser;
  JsonNode *root;

  g_return_val_if_fail (text != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  parser_init (&parser, text, length, max_depth, error);
  root = parse_value (&parser);
  if (root != NULL && !expect_end (&parser))
    g_clear_pointer (&root, json_node_unref);
  parser_clear (&parser);
  return root;
}

/* The members of the top-level object, handed out one by one. */
static gboolean
parse_members (Parser *self, UcJsonMemberFunc func, gpointer user_data)
{
  Scratch name;
  gboolean ok = FALSE;

  scratch_init (&name);

  /* Past the opening brace. */
  skip_space (self);
  if (self->p < self->end && *self->p == '}')
    {
      self->p++;
      ok = TRUE;
    }

  while (!ok)
    {
      const guint8 *raw;
      JsonNode *value;

      /* Not into self->name, which nested objects use. */
      if (!read_member_name (self, &name))
        break;

      skip_space (self);
      raw = self->p;
      value = parse_value (self);
      if (value == NULL)
        break;
      func (name.data, value, (const char *) raw, (gsize) (self->p - raw),
            user_data);

      skip_space (self);
      if (self->p == self->end)
        {
          set_error (self, self->p, "unexpected end of input");
          break;
        }
      if (*self->p == '}')
        {
          self->p++;
          ok = TRUE;
        }
      else if (*self->p == ',')
        self->p++;
      else
        {
          set_error (self, self->p, "syntax error expecting '}' or ','");
          break;
        }
    }

  scratch_clear (&name);
  return ok;
}

/**
 * uc_json_parse_members:
 * @text: (array length=length): JSON text; it need not be NUL-terminated
 * @length: the length of @text in bytes
 * @max_depth: as for uc_json_parse()
 * @func: (scope call): called with each member of the top-level object
 * @user_data: data for @func
 * @is_object: (out): return location for whether the value is an object
 * @error: return location for a #GError
 *
 * Parses one JSON value as uc_json_parse() does, but when it is an
 * object, hands its members to @func one by one, with their text, instead
 * of building the object: a caller that only looks for a few known
 * members is spared the object's hash table and member list.
 *
 * @func may have been called when the text turns out not to parse: the
 * caller must then drop what it was given.  A value other than an object
 * is checked and dropped, and @func is not called.
 *
 * Returns: %TRUE if @text is one JSON value, with *@is_object telling
 *   whether it was an object; %FALSE with %UC_ERROR_PROTOCOL set if not
 */
gboolean
uc_json_parse_members (const char *text,
                       gsize length,
                       guint max_depth,
                       UcJsonMemberFunc func,
                       gpointer user_data,
                       gboolean *is_object,
                       GError **error)
{
  Parser parser;
  gboolean ok;

  g_return_val_if_fail (text != NULL || length == 0, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (is_object != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  parser_init (&parser, text, length, max_depth, error);
  skip_space (&parser);
  *is_object = parser.p < parser.end && *parser.p == '{';
  if (*is_object && max_depth == 0)
    {
      set_error (&parser, parser.p, "input exceeds maximum nesting depth %u",
                 max_depth);
      ok = FALSE;
    }
  else if (*is_object)
    {
      /* The top-level object counts as a level of its own. */
      parser.p++;
      parser.base_depth = 1;
      ok = parse_members (&parser, func, user_data);
    }
  else
    {
      JsonNode *value = parse_value (&parser);

      ok = value != NULL;
      g_clear_pointer (&value, json_node_unref);
    }
  ok = ok && expect_end (&parser);
  parser_clear (&parser);
  return ok;
}
