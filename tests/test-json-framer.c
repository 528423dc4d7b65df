/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-json-framer"

#include "config.h"

#include "uc-json-framer.h"

#include <string.h>

#include "uc-error.h"

/* Three messages that exercise everything the framer tracks: escaped
 * quotes and backslashes, braces and brackets inside strings, multibyte
 * UTF-8 (2, 3 and 4 bytes), \u escapes with a surrogate pair, numbers and
 * literals, nested containers; with whitespace before, between and after
 * them. */
static const char *const split_messages[] = {
  "{\"method\":\"echo\",\"params\":[\"a \\\"quoted\\\" {brace} [bracket]\","
  "\"back\\\\slash\\\\\"],\"id\":1}",
  "{\"id\":\"x}\",\"result\":{\"caf\xc3\xa9\":[1,-2.5e3,true,false,null,"
  "{\"\xe2\x82\xac\":\"\xf0\x9f\x98\x80\"}],\"k\":\"\\ud83d\\ude00\\u00e9\"},"
  "\"error\":null}",
  "{ \"method\" : \"x\" ,\r\n \"params\" : [ ] ,\t\"id\" : [ \"]\" ] }",
  "{}",
};

typedef struct
{
  UcJsonFramer *framer;
  GPtrArray *messages; /* (element-type utf8) */
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  fixture->framer = uc_json_framer_new (UC_JSON_DEFAULT_MAX_MESSAGE_SIZE,
                                        UC_JSON_DEFAULT_MAX_DEPTH);
  fixture->messages = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  g_clear_pointer (&fixture->framer, uc_json_framer_free);
  g_clear_pointer (&fixture->messages, g_ptr_array_unref);
}

static void
fixture_reset (Fixture *fixture, gsize max_size, guint max_depth)
{
  uc_json_framer_free (fixture->framer);
  fixture->framer = uc_json_framer_new (max_size, max_depth);
  g_ptr_array_set_size (fixture->messages, 0);
}

/* An error message must be printable whatever the input was. */
static void
assert_error_printable (const GError *error)
{
  const char *p;

  g_assert_nonnull (error);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  for (p = error->message; *p != '\0'; p++)
    g_assert_cmpint ((guint8) *p, >=, 0x20);
}

/* Feeds @length bytes of @data, @chunk bytes at a time, collecting every
 * message into the fixture.  Returns FALSE at the first error, with
 * *@fed_up_to counting the bytes fed to the framer so far (including the
 * chunk that failed). */
static gboolean
feed_chunked (Fixture *fixture,
              const char *data,
              gsize length,
              gsize chunk,
              gsize *fed_up_to,
              GError **error)
{
  gsize offset = 0;

  while (offset < length)
    {
      gsize n = MIN (chunk, length - offset);
      gsize pos = 0;

      while (pos < n)
        {
          gsize consumed = 0;
          UcJsonFramerStatus status;

          status = uc_json_framer_feed (fixture->framer, data + offset + pos,
                                        n - pos, &consumed, error);
          g_assert_cmpuint (consumed, <=, n - pos);
          if (status == UC_JSON_FRAMER_ERROR)
            {
              if (fed_up_to != NULL)
                *fed_up_to = offset + pos + consumed;
              assert_error_printable (*error);
              return FALSE;
            }
          pos += consumed;
          if (status == UC_JSON_FRAMER_MESSAGE)
            {
              gsize message_length = 0;
              char *message =
                uc_json_framer_take_message (fixture->framer, &message_length);

              g_assert_cmpuint (strlen (message), ==, message_length);
              g_ptr_array_add (fixture->messages, message);
            }
          else
            g_assert_cmpuint (pos, ==, n);
        }
      offset += n;
    }

  if (fed_up_to != NULL)
    *fed_up_to = length;
  return TRUE;
}

/* Feeds @text whole and returns the error it causes. */
static GError *
feed_expecting_error (Fixture *fixture, const char *text, gsize length)
{
  GError *error = NULL;
  gboolean ok = feed_chunked (fixture, text, length, length, NULL, &error);

  g_assert_false (ok);
  return error;
}

static char *
build_split_input (void)
{
  GString *input = g_string_new (" \n\t");
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (split_messages); i++)
    {
      g_string_append (input, split_messages[i]);
      g_string_append (input, i % 2 == 0 ? "\r\n" : "");
    }
  g_string_append (input, "  \n");
  return g_string_free (input, FALSE);
}

static void
assert_split_messages (Fixture *fixture)
{
  gsize i;

  g_assert_cmpuint (fixture->messages->len, ==, G_N_ELEMENTS (split_messages));
  for (i = 0; i < G_N_ELEMENTS (split_messages); i++)
    g_assert_cmpstr (g_ptr_array_index (fixture->messages, i), ==,
                     split_messages[i]);
  g_assert_true (uc_json_framer_is_idle (fixture->framer));
  g_assert_true (uc_json_framer_finish (fixture->framer, NULL));
}

static void
test_split_two_pieces (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *input = build_split_input ();
  gsize length = strlen (input);
  gsize split;

  for (split = 0; split <= length; split++)
    {
      g_autoptr (GError) error = NULL;

      fixture_reset (fixture, UC_JSON_DEFAULT_MAX_MESSAGE_SIZE,
                     UC_JSON_DEFAULT_MAX_DEPTH);
      g_assert_true (
        feed_chunked (fixture, input, split, G_MAXSIZE, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (feed_chunked (fixture, input + split, length - split,
                                   G_MAXSIZE, NULL, &error));
      g_assert_no_error (error);
      assert_split_messages (fixture);
    }
}

static void
test_split_byte_by_byte (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *input = build_split_input ();
  g_autoptr (GError) error = NULL;

  g_assert_true (
    feed_chunked (fixture, input, strlen (input), 1, NULL, &error));
  g_assert_no_error (error);
  assert_split_messages (fixture);
}

/* Every message in one feed: each MESSAGE result consumes exactly up to
 * its closing brace. */
static void
test_split_consumed (Fixture *fixture, gconstpointer user_data)
{
  const char input[] = "  {\"a\":\"}\"}\n{}x";
  g_autoptr (GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  gsize consumed = 0;
  gsize length = 0;

  g_assert_cmpint (uc_json_framer_feed (fixture->framer, input, strlen (input),
                                        &consumed, &error),
                   ==, UC_JSON_FRAMER_MESSAGE);
  g_assert_cmpuint (consumed, ==, strlen ("  {\"a\":\"}\"}"));
  first = uc_json_framer_take_message (fixture->framer, &length);
  g_assert_cmpstr (first, ==, "{\"a\":\"}\"}");
  g_assert_cmpuint (length, ==, 9);

  g_assert_cmpint (uc_json_framer_feed (fixture->framer, input + 11,
                                        strlen (input) - 11, &consumed, &error),
                   ==, UC_JSON_FRAMER_MESSAGE);
  g_assert_cmpuint (consumed, ==, 3);
  second = uc_json_framer_take_message (fixture->framer, NULL);
  g_assert_cmpstr (second, ==, "{}");
  /* The first message is the caller's now: untouched by what follows. */
  g_assert_cmpstr (first, ==, "{\"a\":\"}\"}");

  g_assert_cmpint (
    uc_json_framer_feed (fixture->framer, input + 14, 1, &consumed, &error), ==,
    UC_JSON_FRAMER_ERROR);
  g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, "message is not a JSON object");
  g_assert_cmpuint (consumed, ==, 0);
}

/* A lent message stays the framer's, and its buffer is used again: each
 * message is intact when lent, however long the one before it was. */
static void
test_split_lent (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *long_text = g_strnfill (100000, 'x');
  g_autofree char *long_message = g_strdup_printf ("{\"a\":\"%s\"}", long_text);
  g_autofree char *input = g_strconcat ("{\"first\":1} {\"b\":[2]}",
                                        long_message, "{}{\"last\":3}", NULL);
  static const char *const short_messages[] = { "{\"first\":1}", "{\"b\":[2]}",
                                                NULL, "{}", "{\"last\":3}" };
  const char *p = input;
  gsize left = strlen (input);

  for (gsize i = 0; i < G_N_ELEMENTS (short_messages); i++)
    {
      g_autoptr (GError) error = NULL;
      const char *message;
      gsize consumed = 0;
      gsize length = 0;

      g_assert_cmpint (
        uc_json_framer_feed (fixture->framer, p, left, &consumed, &error), ==,
        UC_JSON_FRAMER_MESSAGE);
      g_assert_no_error (error);
      p += consumed;
      left -= consumed;

      message = uc_json_framer_get_message (fixture->framer, &length);
      g_assert_cmpstr (message, ==,
                       short_messages[i] != NULL ? short_messages[i]
                                                 : long_message);
      g_assert_cmpuint (length, ==, strlen (message));
      /* Lending twice lends the same. */
      g_assert_true (uc_json_framer_get_message (fixture->framer, NULL) ==
                     message);
      uc_json_framer_drop_message (fixture->framer);
      g_assert_true (uc_json_framer_is_idle (fixture->framer));
    }
  g_assert_cmpuint (left, ==, 0);
  g_assert_true (uc_json_framer_finish (fixture->framer, NULL));
}

static void
test_many_small (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GString) input = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  guint i;

  for (i = 0; i < 10000; i++)
    g_string_append (input, i % 3 == 0 ? "{}" : "{\"i\":[1]} ");

  g_assert_true (
    feed_chunked (fixture, input->str, input->len, input->len, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->messages->len, ==, 10000);
  g_assert_cmpstr (g_ptr_array_index (fixture->messages, 9999), ==, "{}");
  g_assert_cmpstr (g_ptr_array_index (fixture->messages, 1), ==, "{\"i\":[1]}");
}

/* Whitespace between messages is skipped, never kept and never counted
 * against the size limit. */
static void
test_whitespace (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GString) input = g_string_new (NULL);
  g_autoptr (GString) spaced = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  guint i;

  fixture_reset (fixture, 7, 4);
  for (i = 0; i < 10000; i++)
    g_string_append (input, " \t\r\n");
  g_assert_true (
    feed_chunked (fixture, input->str, input->len, 1000, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->messages->len, ==, 0);
  g_assert_true (uc_json_framer_is_idle (fixture->framer));

  /* 7-byte messages among 40000 bytes of whitespace fit a 7-byte limit. */
  g_string_append (spaced, input->str);
  g_string_append (spaced, "{\"a\":1}");
  g_string_append (spaced, input->str);
  g_string_append (spaced, "{\"a\":1}");
  g_string_append (spaced, input->str);
  g_assert_true (
    feed_chunked (fixture, spaced->str, spaced->len, 1000, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->messages->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (fixture->messages, 0), ==, "{\"a\":1}");
  g_assert_true (uc_json_framer_finish (fixture->framer, NULL));
}

static void
test_size_exact (Fixture *fixture, gconstpointer user_data)
{
  const char message[] = "{\"a\":\"0123456789\"}";
  g_autoptr (GError) error = NULL;

  fixture_reset (fixture, strlen (message), 4);
  g_assert_cmpuint (uc_json_framer_get_max_size (fixture->framer), ==,
                    strlen (message));
  g_assert_true (
    feed_chunked (fixture, message, strlen (message), 3, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->messages->len, ==, 1);
}

/* G_MAXSIZE means no limit: the buffer still grows by doubling. */
static void
test_size_unlimited (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GString) message = g_string_new ("{\"a\":\"");
  g_autoptr (GError) error = NULL;

  while (message->len < 1024 * 1024)
    g_string_append (message, "0123456789abcdef");
  g_string_append (message, "\"}");

  fixture_reset (fixture, G_MAXSIZE, G_MAXUINT);
  g_assert_true (
    feed_chunked (fixture, message->str, message->len, 1000, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->messages->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->messages, 0), ==, message->str);
}

/* The limit is enforced on the first byte past it: the rest of the
 * message is never fed, let alone buffered. */
static void
test_size_over (Fixture *fixture, gconstpointer user_data)
{
  const gsize max = 1000;
  g_autoptr (GString) message = g_string_new ("{\"a\":\"");
  g_autoptr (GError) error = NULL;
  gsize consumed = 0;
  gsize fed = 0;

  while (message->len < 10 * max)
    g_string_append_c (message, 'x');
  g_string_append (message, "\"}");

  /* Exactly max bytes of an unfinished message: waiting for more. */
  fixture_reset (fixture, max, 4);
  g_assert_cmpint (
    uc_json_framer_feed (fixture->framer, message->str, max, &consumed, &error),
    ==, UC_JSON_FRAMER_NEED_MORE);
  g_assert_cmpuint (consumed, ==, max);
  g_assert_false (uc_json_framer_is_idle (fixture->framer));

  /* One more byte: refused. */
  g_assert_cmpint (uc_json_framer_feed (fixture->framer, message->str + max, 1,
                                        &consumed, &error),
                   ==, UC_JSON_FRAMER_ERROR);
  g_assert_error (error, UC_ERROR, UC_ERROR_MESSAGE_TOO_LARGE);
  g_assert_cmpstr (error->message, ==,
                   "message exceeds maximum size of 1000 bytes");
  g_assert_cmpuint (consumed, ==, 0);
  g_clear_error (&error);

  /* All of it in one feed: refused after max bytes, not at the end. */
  fixture_reset (fixture, max, 4);
  g_assert_false (feed_chunked (fixture, message->str, message->len,
                                message->len, &fed, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_MESSAGE_TOO_LARGE);
  g_assert_cmpuint (fed, ==, max);
  g_clear_error (&error);

  /* In small pieces: refused in the piece that crosses the limit. */
  fixture_reset (fixture, max, 4);
  g_assert_false (
    feed_chunked (fixture, message->str, message->len, 7, &fed, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_MESSAGE_TOO_LARGE);
  g_assert_cmpuint (fed, ==, max);
}

static char *
build_nested (guint depth, const char *open, const char *close)
{
  GString *text = g_string_new ("{\"a\":");
  guint i;

  /* The top-level object is the first level. */
  for (i = 1; i < depth; i++)
    g_string_append (text, open);
  for (i = 1; i < depth; i++)
    g_string_append (text, close);
  g_string_append_c (text, '}');
  return g_string_free (text, FALSE);
}

static void
test_depth_limit (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *at_limit = NULL;
  g_autofree char *over_limit = NULL;
  g_autofree char *objects = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) over_error = NULL;

  g_assert_cmpuint (uc_json_framer_get_max_depth (fixture->framer), ==, 1000);

  at_limit = build_nested (UC_JSON_DEFAULT_MAX_DEPTH, "[", "]");
  g_assert_true (feed_chunked (fixture, at_limit, strlen (at_limit), G_MAXSIZE,
                               NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->messages->len, ==, 1);

  objects = build_nested (UC_JSON_DEFAULT_MAX_DEPTH, "{\"b\":", "}");
  g_assert_true (
    feed_chunked (fixture, objects, strlen (objects), 100, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->messages->len, ==, 2);

  over_limit = build_nested (UC_JSON_DEFAULT_MAX_DEPTH + 1, "[", "]");
  over_error = feed_expecting_error (fixture, over_limit, strlen (over_limit));
  g_assert_error (over_error, UC_ERROR, UC_ERROR_TOO_DEEP);
  g_assert_cmpstr (over_error->message, ==,
                   "input exceeds maximum nesting depth 1000");
}

/* json-glib recurses once per level and crashes on deep input; the
 * framer refuses it at the first level too many, whatever follows. */
static void
test_depth_100k (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *deep = build_nested (100000, "[", "]");
  g_autoptr (GError) error = NULL;
  gsize fed = 0;

  g_assert_false (
    feed_chunked (fixture, deep, strlen (deep), 4096, &fed, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_TOO_DEEP);
  /* "{"a":" and 999 brackets went in; the 1000th bracket was refused. */
  g_assert_cmpuint (fed, ==, 5 + 999);
}

static void
test_depth_custom (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) deep_error = NULL;

  fixture_reset (fixture, 100, 2);
  g_assert_false (feed_chunked (fixture, "{\"a\":[{}]}", 10, 1, NULL, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_TOO_DEEP);
  g_assert_cmpstr (error->message, ==, "input exceeds maximum nesting depth 2");

  fixture_reset (fixture, 100, 2);
  g_assert_true (
    feed_chunked (fixture, "{\"a\":[],\"b\":{}}{}", 17, 1, NULL, &deep_error));
  g_assert_no_error (deep_error);
  g_assert_cmpuint (fixture->messages->len, ==, 2);
}

/* Feeds @text to a new framer with the default limits, @chunk bytes at
 * a time. */
static gboolean
feed_fresh (Fixture *fixture,
            const char *text,
            gsize length,
            gsize chunk,
            GError **error)
{
  fixture_reset (fixture, UC_JSON_DEFAULT_MAX_MESSAGE_SIZE,
                 UC_JSON_DEFAULT_MAX_DEPTH);
  return feed_chunked (fixture, text, length, chunk, NULL, error);
}

static void
assert_accepted (Fixture *fixture, const char *text, gsize length)
{
  const gsize chunks[] = { length, 1 };

  /* Whole, and byte by byte (every split point of every sequence). */
  for (gsize i = 0; i < G_N_ELEMENTS (chunks); i++)
    {
      g_autoptr (GError) error = NULL;

      if (!feed_fresh (fixture, text, length, chunks[i], &error))
        g_error ("refused %s: %s", text, error->message);
      g_assert_cmpuint (fixture->messages->len, ==, 1);
      g_assert_cmpmem (g_ptr_array_index (fixture->messages, 0), length, text,
                       length);
    }
}

static void
assert_refused (Fixture *fixture,
                const char *text,
                gsize length,
                int code,
                const char *message_pattern)
{
  const gsize chunks[] = { length, 1 };

  for (gsize i = 0; i < G_N_ELEMENTS (chunks); i++)
    {
      g_autoptr (GError) error = NULL;

      if (feed_fresh (fixture, text, length, chunks[i], &error))
        {
          g_autofree char *escaped = g_strescape (text, NULL);

          g_error ("accepted %s", escaped);
        }
      g_assert_error (error, UC_ERROR, code);
      if (message_pattern != NULL &&
          !g_pattern_match_simple (message_pattern, error->message))
        g_error ("error \"%s\" does not match \"%s\"", error->message,
                 message_pattern);
    }
}

static void
test_utf8_valid (Fixture *fixture, gconstpointer user_data)
{
  /* The first and last code point of each sequence length, the edges of
   * the surrogate gap, and the noncharacters, which are valid. */
  static const char *const valid[] = {
    "\x7f",
    "\xc2\x80",
    "\xdf\xbf",
    "\xe0\xa0\x80",
    "\xed\x9f\xbf",
    "\xee\x80\x80",
    "\xef\xbf\xbf",
    "\xef\xbf\xbe",
    "\xf0\x90\x80\x80",
    "\xf4\x8f\xbf\xbf",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autofree char *text =
        g_strdup_printf ("{\"%s\":\"%s\"}", valid[i], valid[i]);

      assert_accepted (fixture, text, strlen (text));
    }
}

static void
test_utf8_invalid (Fixture *fixture, gconstpointer user_data)
{
  static const char *const invalid[] = {
    "\x80",                     /* continuation without a lead */
    "\xbf",                     /* continuation without a lead */
    "\xc0\x80",                 /* overlong NUL */
    "\xc1\xbf",                 /* overlong 2-byte */
    "\xe0\x80\x80",             /* overlong 3-byte */
    "\xe0\x9f\xbf",             /* overlong 3-byte, the largest */
    "\xf0\x80\x80\x80",         /* overlong 4-byte */
    "\xf0\x8f\xbf\xbf",         /* overlong 4-byte, the largest */
    "\xed\xa0\x80",             /* U+D800, a surrogate */
    "\xed\xbf\xbf",             /* U+DFFF, a surrogate */
    "\xed\xa0\xbd\xed\xb8\x80", /* a surrogate pair in UTF-8 (CESU-8) */
    "\xf4\x90\x80\x80",         /* U+110000 */
    "\xf5\x80\x80\x80",         /* invalid lead */
    "\xf8\x88\x80\x80\x80",     /* 5-byte form */
    "\xfe",
    "\xff",
    "\xc3",         /* truncated by the closing quote */
    "\xc3x",        /* truncated by ASCII */
    "\xe2\x82",     /* truncated 3-byte */
    "\xe2\x82x",    /* truncated 3-byte */
    "\xf0\x9f\x98", /* truncated 4-byte */
    "\xc3\xc3\xa9", /* a lead where a continuation belongs */
    "\xc3\xa9\xa9", /* one continuation too many */
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autofree char *value = g_strdup_printf ("{\"a\":\"%s\"}", invalid[i]);
      g_autofree char *name = g_strdup_printf ("{\"%s\":1}", invalid[i]);

      assert_refused (fixture, value, strlen (value), UC_ERROR_INVALID_UTF8,
                      "message contains invalid UTF-8 (byte 0x?? at byte *)");
      assert_refused (fixture, name, strlen (name), UC_ERROR_INVALID_UTF8,
                      NULL);
    }

  /* The offending byte and where it is. */
  assert_refused (fixture, "{\"a\":\"\xc3\xa9\xed\xa0\x80\"}", 13,
                  UC_ERROR_INVALID_UTF8,
                  "message contains invalid UTF-8 (byte 0xa0 at byte 9)");
}

/* Outside strings, only JSON's own characters: non-ASCII there is a
 * protocol error even when it is valid UTF-8. */
static void
test_utf8_outside_string (Fixture *fixture, gconstpointer user_data)
{
  assert_refused (fixture, "{\"a\":\xc3\xa9}", 8, UC_ERROR_PROTOCOL,
                  "unexpected byte 0xc3 outside a string (at byte 5)");
  assert_refused (fixture, "{\xff}", 3, UC_ERROR_PROTOCOL, NULL);
}

static void
test_utf8_nul (Fixture *fixture, gconstpointer user_data)
{
  const char in_string[] = "{\"a\":\"x\0y\"}";
  const char outside[] = "{\"a\":\0\"x\"}";
  const char between[] = "{}\0{}";
  const char in_escape[] = "{\"a\":\"\\\0\"}";
  const char in_hex[] = "{\"a\":\"\\u0\0\"}";

  assert_refused (fixture, in_string, sizeof in_string - 1,
                  UC_ERROR_INVALID_UTF8,
                  "message contains a NUL byte (at byte 7)");
  assert_refused (fixture, outside, sizeof outside - 1, UC_ERROR_INVALID_UTF8,
                  "message contains a NUL byte (at byte 5)");
  assert_refused (fixture, between, sizeof between - 1, UC_ERROR_INVALID_UTF8,
                  "message contains a NUL byte*");
  assert_refused (fixture, in_escape, sizeof in_escape - 1,
                  UC_ERROR_INVALID_UTF8, "message contains a NUL byte*");
  assert_refused (fixture, in_hex, sizeof in_hex - 1, UC_ERROR_INVALID_UTF8,
                  "message contains a NUL byte*");
  assert_refused (fixture, "{\"a\":\"\\u0000\"}", 14, UC_ERROR_INVALID_UTF8,
                  "invalid \\u escape in string: \\u0000 (NUL) is not "
                  "allowed*");
  assert_refused (fixture, "{\"\\u0000\":1}", 12, UC_ERROR_INVALID_UTF8, NULL);
}

static void
test_escape_valid (Fixture *fixture, gconstpointer user_data)
{
  static const char *const valid[] = {
    "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
    "{\"a\":\"\\u0001\\u001f\\u007F\\u00e9\\u20AC\\uffff\"}",
    "{\"a\":\"\\ud83d\\ude00\"}", /* U+1F600 */
    "{\"a\":\"\\uD800\\uDC00\"}", /* U+10000 */
    "{\"a\":\"\\uDBFF\\uDFFF\"}", /* U+10FFFF */
    "{\"a\":\"\\ud7ff\\ue000\"}", /* around the surrogates */
    "{\"\\ud83d\\ude00\\\"\":\"\\\\\"}",
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (valid); i++)
    assert_accepted (fixture, valid[i], strlen (valid[i]));
}

static void
test_escape_invalid (Fixture *fixture, gconstpointer user_data)
{
  static const struct
  {
    const char *text;
    int code;
    const char *message;
  } cases[] = {
    { "{\"a\":\"\\x41\"}", UC_ERROR_PROTOCOL,
      "invalid escape in string: backslash followed by 'x' (at byte 7)" },
    { "{\"a\":\"\\'\"}", UC_ERROR_PROTOCOL,
      "invalid escape in string: backslash followed by byte 0x27*" },
    { "{\"a\":\"\\U0041\"}", UC_ERROR_PROTOCOL, "invalid escape*'U'*" },
    { "{\"a\":\"\\\n\"}", UC_ERROR_PROTOCOL,
      "invalid escape in string: backslash followed by byte 0x0a*" },
    { "{\"a\":\"\\\xc3\xa9\"}", UC_ERROR_PROTOCOL,
      "invalid escape in string: backslash followed by byte 0xc3*" },
    { "{\"a\":\"\\u12G4\"}", UC_ERROR_PROTOCOL,
      "malformed \\u escape in string: 'G' is not a hexadecimal digit*" },
    { "{\"a\":\"\\u123\"}", UC_ERROR_PROTOCOL,
      "malformed \\u escape in string: '\"' is not*" },
    { "{\"a\":\"\\u\"}", UC_ERROR_PROTOCOL, "malformed \\u escape*" },
    { "{\"a\":\"\\uD800\"}", UC_ERROR_INVALID_UTF8,
      "invalid \\u escape in string: lone surrogate U+D800*" },
    { "{\"a\":\"\\uDBFFx\"}", UC_ERROR_INVALID_UTF8,
      "*lone surrogate U+DBFF*" },
    { "{\"a\":\"\\ud800\\n\"}", UC_ERROR_INVALID_UTF8,
      "*lone surrogate U+D800*" },
    { "{\"a\":\"\\ud800\\u0041\"}", UC_ERROR_INVALID_UTF8,
      "*lone surrogate U+D800*" },
    { "{\"a\":\"\\ud800\\ud800\"}", UC_ERROR_INVALID_UTF8,
      "*lone surrogate U+D800*" },
    { "{\"a\":\"\\uDC00\"}", UC_ERROR_INVALID_UTF8, "*lone surrogate U+DC00*" },
    { "{\"a\":\"x\\uDFFF\\uD800\"}", UC_ERROR_INVALID_UTF8,
      "*lone surrogate U+DFFF*" },
    { "{\"\\udc00\":1}", UC_ERROR_INVALID_UTF8, "*lone surrogate U+DC00*" },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_refused (fixture, cases[i].text, strlen (cases[i].text),
                    cases[i].code, cases[i].message);
}

/* Raw control characters are invalid JSON in strings; the error quotes
 * them as Open vSwitch does, never raw. */
static void
test_control_characters (Fixture *fixture, gconstpointer user_data)
{
  guint c;

  for (c = 1; c < 0x20; c++)
    {
      g_autofree char *text = g_strdup_printf ("{\"a\":\"x%cy\"}", c);
      g_autofree char *expected =
        g_strdup_printf ("U+%04X must be escaped in quoted string", c);

      assert_refused (fixture, text, strlen (text), UC_ERROR_PROTOCOL,
                      expected);
    }

  /* Outside strings, only JSON whitespace. */
  assert_refused (fixture, "{\"a\":1,\f\"b\":2}", 14, UC_ERROR_PROTOCOL,
                  "unexpected byte 0x0c outside a string (at byte 7)");
  assert_refused (fixture, "{\x01}", 3, UC_ERROR_PROTOCOL,
                  "unexpected byte 0x01 outside a string*");
  /* DEL is not a control character for JSON. */
  assert_accepted (fixture, "{\"a\":\"\x7f\"}", 9);
}

static void
test_top_level (Fixture *fixture, gconstpointer user_data)
{
  static const char *const not_objects[] = {
    "[1]", "\"x\"", "1", "-1", "true", "null",
    "x",   "}",     "]", ",",  "'a'",  "\xef\xbb\xbf{}", /* a byte order mark */
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (not_objects); i++)
    {
      g_autofree char *after_one = g_strdup_printf ("{} \n%s", not_objects[i]);

      assert_refused (fixture, not_objects[i], strlen (not_objects[i]),
                      UC_ERROR_PROTOCOL, "message is not a JSON object");
      assert_refused (fixture, after_one, strlen (after_one), UC_ERROR_PROTOCOL,
                      "message is not a JSON object");
    }
}

/* Extensions json-glib accepts never get past the framer. */
static void
test_alphabet (Fixture *fixture, gconstpointer user_data)
{
  static const char *const extensions[] = {
    "{\"a\":0x10}", "{\"a\":'x'}",  "{/* c */}",        "{\"a\":1 // c\n}",
    "{\"a\":NaN}",  "{\"a\":True}", "{\"a\":Infinity}",
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (extensions); i++)
    assert_refused (fixture, extensions[i], strlen (extensions[i]),
                    UC_ERROR_PROTOCOL, "unexpected * outside a string*");

  assert_accepted (fixture, "{\"a\":[-1.5e+3,2E-2,0,true,false,null]}",
                   strlen ("{\"a\":[-1.5e+3,2E-2,0,true,false,null]}"));
}

static void
test_finish_truncated (Fixture *fixture, gconstpointer user_data)
{
  const char text[] = "{\"method\":\"echo\",\"par";
  g_autoptr (GError) error = NULL;
  gsize consumed = 0;

  g_assert_cmpint (
    uc_json_framer_feed (fixture->framer, "\n\n", 2, &consumed, &error), ==,
    UC_JSON_FRAMER_NEED_MORE);
  g_assert_cmpint (uc_json_framer_feed (fixture->framer, text, strlen (text),
                                        &consumed, &error),
                   ==, UC_JSON_FRAMER_NEED_MORE);
  g_assert_cmpuint (consumed, ==, strlen (text));
  g_assert_false (uc_json_framer_is_idle (fixture->framer));

  g_assert_false (uc_json_framer_finish (fixture->framer, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==,
                   "connection closed in the middle of a message "
                   "(21 bytes received)");
  g_assert_false (uc_json_framer_is_idle (fixture->framer));
}

static void
test_finish_idle (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  /* Nothing received at all. */
  g_assert_true (uc_json_framer_is_idle (fixture->framer));
  g_assert_true (uc_json_framer_finish (fixture->framer, &error));
  g_assert_no_error (error);

  /* Whole messages and trailing whitespace. */
  g_assert_true (
    feed_chunked (fixture, "{\"a\":1}\n{}\r\n ", 13, 4, NULL, &error));
  g_assert_cmpuint (fixture->messages->len, ==, 2);
  g_assert_true (uc_json_framer_finish (fixture->framer, &error));
  g_assert_no_error (error);
}

/* Many values in few bytes: the text is within the size limit, but the
 * tree json-glib would build is not within its budget. */
static void
test_too_complex (Fixture *fixture, gconstpointer user_data)
{
  const gsize max = 64 * 1024;
  const guint64 budget = (guint64) max * UC_JSON_TREE_COST_FACTOR;
  g_autoptr (GString) zeros = g_string_new ("{\"a\":[0");
  g_autoptr (GString) string = g_string_new ("{\"a\":\"");
  g_autoptr (GString) fitting = g_string_new ("{\"a\":[0");
  g_autoptr (GError) error = NULL;
  guint64 n;
  gsize fed = 0;

  while (zeros->len + 4 <= max)
    g_string_append (zeros, ",0");
  g_string_append (zeros, "]}");
  g_assert_cmpuint (zeros->len, <=, max);

  /* The same size in one string passes. */
  while (string->len < zeros->len - 2)
    g_string_append_c (string, 'x');
  g_string_append (string, "\"}");
  g_assert_cmpuint (string->len, ==, zeros->len);

  fixture_reset (fixture, max, UC_JSON_DEFAULT_MAX_DEPTH);
  g_assert_true (
    feed_chunked (fixture, string->str, string->len, 4096, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->messages->len, ==, 1);

  /* Refused as soon as the estimate passes the budget: long before the
   * end of the text. */
  fixture_reset (fixture, max, UC_JSON_DEFAULT_MAX_DEPTH);
  g_assert_false (
    feed_chunked (fixture, zeros->str, zeros->len, 4096, &fed, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_TOO_COMPLEX);
  g_assert_true (g_str_has_prefix (error->message, "message is too complex"));
  g_assert_cmpuint (fed, <, zeros->len / 2);
  g_clear_error (&error);

  /* The largest array of zeros within budget passes: n + 3 values (the
   * object, the name, the array, n zeros) in 2 n + 7 bytes. */
  n = 1;
  while (UC_JSON_OBJECT_COST + (n + 1 + 2) * UC_JSON_VALUE_COST + 2 * (n + 1) +
           7 <=
         budget)
    {
      g_string_append (fitting, ",0");
      n++;
    }
  g_string_append (fitting, "]}");
  fixture_reset (fixture, max, UC_JSON_DEFAULT_MAX_DEPTH);
  g_assert_true (
    feed_chunked (fixture, fitting->str, fitting->len, 100, NULL, &error));
  g_assert_no_error (error);

  /* One more is too many. */
  g_string_insert (fitting, 6, "0,");
  fixture_reset (fixture, max, UC_JSON_DEFAULT_MAX_DEPTH);
  g_assert_false (
    feed_chunked (fixture, fitting->str, fitting->len, 100, NULL, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_TOO_COMPLEX);
}

/* Objects cost json-glib more than other values (a hash table each):
 * as many empty objects as empty arrays that pass are refused. */
static void
test_too_complex_objects (Fixture *fixture, gconstpointer user_data)
{
  const gsize max = 64 * 1024;
  g_autoptr (GString) arrays = g_string_new ("{\"a\":[[]");
  g_autoptr (GString) objects = g_string_new ("{\"a\":[{}");
  g_autoptr (GError) error = NULL;
  guint i;

  for (i = 1; i < 1000; i++)
    {
      g_string_append (arrays, ",[]");
      g_string_append (objects, ",{}");
    }
  g_string_append (arrays, "]}");
  g_string_append (objects, "]}");

  fixture_reset (fixture, max, UC_JSON_DEFAULT_MAX_DEPTH);
  g_assert_true (
    feed_chunked (fixture, arrays->str, arrays->len, 4096, NULL, &error));
  g_assert_no_error (error);

  fixture_reset (fixture, max, UC_JSON_DEFAULT_MAX_DEPTH);
  g_assert_false (
    feed_chunked (fixture, objects->str, objects->len, 4096, NULL, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_TOO_COMPLEX);
}

/* A message at the default limit, received in 4 KiB reads, completes:
 * the framer never rescans what it has buffered.  (No timing assertion:
 * a quadratic framer would just make this test time out.) */
static void
test_large_message_chunked (Fixture *fixture, gconstpointer user_data)
{
  const gsize size = UC_JSON_DEFAULT_MAX_MESSAGE_SIZE;
  g_autoptr (GString) text = g_string_sized_new (size);
  g_autoptr (GError) error = NULL;
  const char *message;

  g_string_append (text, "{\"method\":\"x\",\"params\":[");
  while (text->len < size - 1100)
    g_string_append (text,
                     "\"Lorem ipsum dolor sit amet, caf\xc3\xa9 "
                     "\xe2\x82\xac\xf0\x9f\x98\x80 \\\"consectetur\\\" "
                     "adipiscing elit, sed do eiusmod tempor incididunt ut "
                     "labore et dolore magna aliqua. Ut enim ad minim veniam, "
                     "quis nostrud exercitation ullamco laboris nisi ut "
                     "aliquip\",");
  g_string_append (text, "\"");
  while (text->len < size - 10)
    g_string_append_c (text, 'z');
  g_string_append (text, "\"],\"id\":1}");
  g_assert_cmpuint (text->len, ==, size);

  g_assert_true (
    feed_chunked (fixture, text->str, text->len, 4096, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->messages->len, ==, 1);
  message = g_ptr_array_index (fixture->messages, 0);
  g_assert_true (memcmp (message, text->str, text->len) == 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ((path), Fixture, NULL, fixture_set_up, (func), fixture_tear_down)

  ADD ("/json-framer/split/two-pieces", test_split_two_pieces);
  ADD ("/json-framer/split/byte-by-byte", test_split_byte_by_byte);
  ADD ("/json-framer/split/consumed", test_split_consumed);
  ADD ("/json-framer/split/lent", test_split_lent);
  ADD ("/json-framer/split/many-small", test_many_small);
  ADD ("/json-framer/whitespace", test_whitespace);
  ADD ("/json-framer/size/exact", test_size_exact);
  ADD ("/json-framer/size/over", test_size_over);
  ADD ("/json-framer/size/unlimited", test_size_unlimited);
  ADD ("/json-framer/size/large-chunked", test_large_message_chunked);
  ADD ("/json-framer/depth/limit", test_depth_limit);
  ADD ("/json-framer/depth/100k", test_depth_100k);
  ADD ("/json-framer/depth/custom", test_depth_custom);
  ADD ("/json-framer/utf8/valid", test_utf8_valid);
  ADD ("/json-framer/utf8/invalid", test_utf8_invalid);
  ADD ("/json-framer/utf8/outside-string", test_utf8_outside_string);
  ADD ("/json-framer/utf8/nul", test_utf8_nul);
  ADD ("/json-framer/escape/valid", test_escape_valid);
  ADD ("/json-framer/escape/invalid", test_escape_invalid);
  ADD ("/json-framer/string/control-characters", test_control_characters);
  ADD ("/json-framer/syntax/top-level", test_top_level);
  ADD ("/json-framer/syntax/alphabet", test_alphabet);
  ADD ("/json-framer/finish/truncated", test_finish_truncated);
  ADD ("/json-framer/finish/idle", test_finish_idle);
  ADD ("/json-framer/complexity/too-complex", test_too_complex);
  ADD ("/json-framer/complexity/objects", test_too_complex_objects);

#undef ADD

  return g_test_run ();
}
