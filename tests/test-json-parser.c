/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-json-parser"

#include "config.h"

#include "uc-json-parser.h"

#include <malloc.h>
#include <math.h>
#include <string.h>

#include "uc-error.h"

/* The daemon's deepest --max-depth: trees that deep must parse and free. */
#define DEEP_LEVELS 4096

static JsonNode *
parse (const char *text, GError **error)
{
  return uc_json_parse (text, strlen (text), G_MAXUINT, error);
}

/* json-glib's own reading of @text, which must be valid JSON. */
static JsonNode *
parse_with_json_glib (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

/* Compares two trees node by node: types, values (doubles bit for bit,
 * so that -0.0 and NaN are told apart), member order and parents. */
static void
assert_same_tree (JsonNode *ours, JsonNode *theirs)
{
  g_assert_cmpint (json_node_get_node_type (ours), ==,
                   json_node_get_node_type (theirs));

  switch (json_node_get_node_type (ours))
    {
      case JSON_NODE_OBJECT:
        {
          JsonObject *a = json_node_get_object (ours);
          JsonObject *b = json_node_get_object (theirs);
          g_autoptr (GList) names_a = json_object_get_members (a);
          g_autoptr (GList) names_b = json_object_get_members (b);
          GList *la;
          GList *lb;

          g_assert_cmpuint (json_object_get_size (a), ==,
                            json_object_get_size (b));
          for (la = names_a, lb = names_b; la != NULL && lb != NULL;
               la = la->next, lb = lb->next)
            {
              JsonNode *child = json_object_get_member (a, la->data);

              g_assert_cmpstr (la->data, ==, lb->data);
              g_assert_true (json_node_get_parent (child) == ours);
              assert_same_tree (child, json_object_get_member (b, lb->data));
            }
          g_assert_true (la == NULL && lb == NULL);
        }
        break;

      case JSON_NODE_ARRAY:
        {
          JsonArray *a = json_node_get_array (ours);
          JsonArray *b = json_node_get_array (theirs);
          guint n = json_array_get_length (a);

          g_assert_cmpuint (n, ==, json_array_get_length (b));
          for (guint i = 0; i < n; i++)
            {
              JsonNode *child = json_array_get_element (a, i);

              g_assert_true (json_node_get_parent (child) == ours);
              assert_same_tree (child, json_array_get_element (b, i));
            }
        }
        break;

      case JSON_NODE_VALUE:
        g_assert_cmpuint (json_node_get_value_type (ours), ==,
                          json_node_get_value_type (theirs));
        switch (json_node_get_value_type (ours))
          {
            case G_TYPE_INT64:
              g_assert_cmpint (json_node_get_int (ours), ==,
                               json_node_get_int (theirs));
              break;
            case G_TYPE_DOUBLE:
              {
                double a = json_node_get_double (ours);
                double b = json_node_get_double (theirs);

                g_assert_true (memcmp (&a, &b, sizeof a) == 0);
              }
              break;
            case G_TYPE_BOOLEAN:
              g_assert_cmpint (json_node_get_boolean (ours), ==,
                               json_node_get_boolean (theirs));
              break;
            case G_TYPE_STRING:
              g_assert_cmpstr (json_node_get_string (ours), ==,
                               json_node_get_string (theirs));
              break;
            default:
              g_assert_not_reached ();
          }
        break;

      case JSON_NODE_NULL:
        break;

      default:
        g_assert_not_reached ();
    }
}

/* Parses @text with both parsers and checks that they built the same
 * tree, compared node by node and by serialization. */
static void
assert_equivalent (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) ours = NULL;
  g_autoptr (JsonNode) theirs = NULL;
  g_autofree char *ours_text = NULL;
  g_autofree char *theirs_text = NULL;
  g_autofree char *escaped = g_strescape (text, NULL);

  g_test_message ("%s", escaped);
  ours = parse (text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ours);
  g_assert_null (json_node_get_parent (ours));
  theirs = parse_with_json_glib (text);

  assert_same_tree (ours, theirs);
  ours_text = json_to_string (ours, FALSE);
  theirs_text = json_to_string (theirs, FALSE);
  g_assert_cmpstr (ours_text, ==, theirs_text);
}

/* Valid JSON, and the trees json-glib builds for it. */
static const char *const valid_corpus[] = {
  /* Every kind of value, at the top level too. */
  "{}",
  "[]",
  "null",
  "true",
  "false",
  "0",
  "\"\"",
  "\"x\"",
  " \t\r\n{ \"a\" : 1 , \"b\" : [ ] }\n ",
  "{\"method\":\"version\",\"params\":[],\"id\":0}",
  "{\"id\":\"x\",\"result\":{\"a\":[1,{\"b\":null}]},\"error\":null}",
  "[null,true,false,0,-1,\"s\",[],{},[[]],{\"k\":{}}]",
  /* Members keep their first place and their last value. */
  "{\"a\":1,\"b\":2,\"a\":3}",
  "{\"a\":{\"x\":1},\"b\":[1,{\"y\":2,\"z\":[]}],\"a\":{\"q\":1}}",
  "{\"\":1,\"\":\"two\"}",
  /* Integers, to the ends of 64 bits. */
  "[0,-0,1,-1,42,9223372036854775807,-9223372036854775808]",
  "[123456789012345678,-123456789012345678,1000000000000]",
  /* Doubles: fractions, exponents, signs, rounding, the extremes. */
  "[0.0,-0.0,0.5,-1.5,1.0,100.0,0.1,0.30000000000000004]",
  "[1e0,1E5,1e+5,1e-5,1.5e3,-2.5E-3,0e0,0E+0,1e+0005]",
  "[5e-324,2.2250738585072014e-308,1.7976931348623157e308]",
  "[1.23456789012345678901234567890,0.000000000000000000000000000001]",
  "[1e400,-1e400,1e-400]",
  /* Strings: every escape, surrogate pairs, raw UTF-8 of every width. */
  "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
  "[\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\uD83D\\uDE00\\uffff\"]",
  "[\"\\u0001\\u001f\\u007f\\u0080\\u07ff\\u0800\"]",
  "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\",\"/\"]",
  "{\"na\\u006de\":\"v\",\"\xc3\xa9\\n\":\"\"}",
  /* Long strings cross the parser's inline buffer. */
  "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\n\"]",
  "{\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  "bbbbbbbbbbbbbbbbb\\u00e9\":{\"c\":1}}",
};

static void
test_valid_corpus (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (valid_corpus); i++)
    assert_equivalent (valid_corpus[i]);
}

/* Random documents: what json-glib builds, this parser builds too. */

static void
append_space (GString *out)
{
  static const char *const spaces[] = { "", "", "", " ", "\n", "\t", " \r\n " };

  g_string_append (out, spaces[g_test_rand_int_range (0, 7)]);
}

static void
append_random_string (GString *out)
{
  static const char *const pieces[] = {
    "a",
    "Z",
    "0",
    " ",
    "\\\"",
    "\\\\",
    "\\/",
    "\\b",
    "\\f",
    "\\n",
    "\\r",
    "\\t",
    "\\u0041",
    "\\u00e9",
    "\\ud83d\\ude00",
    "\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x98\x80",
    "\x7f",
    "id",
    "method",
  };
  int n = g_test_rand_int_range (0, 12);

  g_string_append_c (out, '"');
  for (int i = 0; i < n; i++)
    g_string_append (out,
                     pieces[g_test_rand_int_range (0, G_N_ELEMENTS (pieces))]);
  g_string_append_c (out, '"');
}

static void
append_random_number (GString *out)
{
  switch (g_test_rand_int_range (0, 4))
    {
      case 0:
        g_string_append_printf (out, "%d", g_test_rand_int ());
        break;
      case 1:
        g_string_append_printf (out, "%" G_GINT64_FORMAT,
                                (gint64) g_test_rand_int () * G_MAXINT32);
        break;
      case 2:
        g_string_append_printf (out, "%s%d.%d", g_test_rand_bit () ? "-" : "",
                                g_test_rand_int_range (0, 1000),
                                g_test_rand_int_range (0, 100000));
        break;
      default:
        g_string_append_printf (
          out, "%d%s%c%s%d", g_test_rand_int_range (-100, 100),
          g_test_rand_bit () ? ".25" : "", g_test_rand_bit () ? 'e' : 'E',
          g_test_rand_bit () ? "-" : "+", g_test_rand_int_range (0, 300));
        break;
    }
}

static void
append_random_value (GString *out, int depth)
{
  int kind = g_test_rand_int_range (0, depth < 6 ? 8 : 6);

  append_space (out);
  switch (kind)
    {
      case 0:
        g_string_append (out, "null");
        break;
      case 1:
        g_string_append (out, g_test_rand_bit () ? "true" : "false");
        break;
      case 2:
      case 3:
        append_random_number (out);
        break;
      case 4:
      case 5:
        append_random_string (out);
        break;
      case 6:
        {
          int n = g_test_rand_int_range (0, 5);

          g_string_append_c (out, '[');
          for (int i = 0; i < n; i++)
            {
              if (i > 0)
                g_string_append_c (out, ',');
              append_random_value (out, depth + 1);
            }
          append_space (out);
          g_string_append_c (out, ']');
        }
        break;
      default:
        {
          int n = g_test_rand_int_range (0, 5);

          g_string_append_c (out, '{');
          for (int i = 0; i < n; i++)
            {
              if (i > 0)
                g_string_append_c (out, ',');
              append_space (out);
              append_random_string (out);
              append_space (out);
              g_string_append_c (out, ':');
              append_random_value (out, depth + 1);
            }
          append_space (out);
          g_string_append_c (out, '}');
        }
        break;
    }
  append_space (out);
}

static void
test_valid_random (void)
{
  guint n = g_test_thorough () ? 20000 : 1000;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GString) text = g_string_new (NULL);

      append_random_value (text, 0);
      assert_equivalent (text->str);
    }
}

/* The text need not be NUL-terminated: nothing past @length is read. */
static void
test_valid_unterminated (void)
{
  static const struct
  {
    const char *buffer;
    gsize length;
    const char *expected;
  } cases[] = {
    { "[1]xyz", 3, "[1]" },
    { "12345", 3, "123" },
    { "-1.5e10x", 7, "-15000000000.0" },
    { "truex", 4, "true" },
    { "\"ab\"cd", 4, "\"ab\"" },
    { "{\"a\":1}}", 7, "{\"a\":1}" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) node = NULL;
      g_autofree char *text = NULL;

      node =
        uc_json_parse (cases[i].buffer, cases[i].length, G_MAXUINT, &error);
      g_assert_no_error (error);
      text = json_to_string (node, FALSE);
      g_assert_cmpstr (text, ==, cases[i].expected);
    }

  /* And the last byte of a value may be the last of the buffer. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) node = NULL;
    char *exact = g_memdup2 ("[10]", 4);

    node = uc_json_parse (exact, 4, G_MAXUINT, &error);
    g_assert_no_error (error);
    g_assert_cmpint (json_array_get_int_element (json_node_get_array (node), 0),
                     ==, 10);
    g_free (exact);
  }
}

/* Numbers: json-glib's types, RFC 8259's syntax. */
static void
test_numbers (void)
{
  static const struct
  {
    const char *text;
    GType type;
    gint64 int_value;
    double double_value;
  } cases[] = {
    { "0", G_TYPE_INT64, 0, 0 },
    { "-0", G_TYPE_INT64, 0, 0 },
    { "7", G_TYPE_INT64, 7, 0 },
    { "-7", G_TYPE_INT64, -7, 0 },
    { "9223372036854775807", G_TYPE_INT64, G_MAXINT64, 0 },
    { "-9223372036854775808", G_TYPE_INT64, G_MININT64, 0 },
    /* Past 64 bits: a double, as Open vSwitch reads it (json-glib
     * wrapped these around). */
    { "9223372036854775808", G_TYPE_DOUBLE, 0, 9223372036854775808.0 },
    { "-9223372036854775809", G_TYPE_DOUBLE, 0, -9223372036854775809.0 },
    { "99999999999999999999", G_TYPE_DOUBLE, 0, 1e20 },
    { "1.0", G_TYPE_DOUBLE, 0, 1.0 },
    { "1e2", G_TYPE_DOUBLE, 0, 100.0 },
    { "-0.0", G_TYPE_DOUBLE, 0, -0.0 },
    { "1e400", G_TYPE_DOUBLE, 0, INFINITY },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) node = parse (cases[i].text, &error);

      g_test_message ("%s", cases[i].text);
      g_assert_no_error (error);
      g_assert_cmpuint (json_node_get_value_type (node), ==, cases[i].type);
      if (cases[i].type == G_TYPE_INT64)
        g_assert_cmpint (json_node_get_int (node), ==, cases[i].int_value);
      else
        {
          double value = json_node_get_double (node);

          g_assert_cmpfloat (value, ==, cases[i].double_value);
          g_assert_cmpint (signbit (value), ==,
                           signbit (cases[i].double_value));
        }
    }
}

/* Everything json-glib refuses that the framer lets through, and what
 * RFC 8259 and Open vSwitch refuse but json-glib 1.6 took (01, 1., .5,
 * "- 1"): each is refused, with the byte offset and the words. */
static const struct
{
  const char *text;
  const char *message;
} invalid_corpus[] = {
  /* Structure. */
  { "", "byte 0: unexpected end of input" },
  { "   ", "byte 3: unexpected end of input" },
  { "{", "byte 1: unexpected end of input" },
  { "[", "byte 1: unexpected end of input" },
  { "[1", "byte 2: unexpected end of input" },
  { "{\"a\"", "byte 4: unexpected end of input" },
  { "{\"a\":", "byte 5: unexpected end of input" },
  { "{\"a\" 1}", "byte 5: syntax error parsing object expecting ':'" },
  { "{\"a\"}", "byte 4: syntax error parsing object expecting ':'" },
  { "{\"a\",1}", "byte 4: syntax error parsing object expecting ':'" },
  { "{\"a\"::1}", "byte 5: syntax error expecting value" },
  { "{,}", "byte 1: syntax error parsing object expecting string" },
  { "{:1}", "byte 1: syntax error parsing object expecting string" },
  { "{1:2}", "byte 1: syntax error parsing object expecting string" },
  { "{\"a\":1,}", "byte 7: syntax error parsing object expecting string" },
  { "{\"a\":1,,\"b\":2}",
    "byte 7: syntax error parsing object expecting string" },
  { "{\"a\":1 \"b\":2}", "byte 7: syntax error expecting '}' or ','" },
  { "{\"a\":1:2}", "byte 6: syntax error expecting '}' or ','" },
  { "{\"a\":]}", "byte 5: syntax error expecting value" },
  { "{\"a\":[}", "byte 6: syntax error expecting value" },
  { "{\"a\":{]}", "byte 6: syntax error parsing object expecting string" },
  { "[1,]", "byte 3: syntax error expecting value" },
  { "[,1]", "byte 1: syntax error expecting value" },
  { "[1 2]", "byte 3: syntax error expecting ']' or ','" },
  { "[1:2]", "byte 2: syntax error expecting ']' or ','" },
  { "[1}", "byte 2: syntax error expecting ']' or ','" },
  { "{\"a\":1]", "byte 6: syntax error expecting '}' or ','" },
  { "{\"a\":1}x", "byte 7: trailing garbage at end of input" },
  { "{\"a\":1}}", "byte 7: trailing garbage at end of input" },
  { "{\"a\":1} {", "byte 8: trailing garbage at end of input" },
  { "[] []", "byte 3: trailing garbage at end of input" },
  /* Keywords. */
  { "[tru]", "byte 1: invalid keyword 'tru'" },
  { "[truee]", "byte 1: invalid keyword 'truee'" },
  { "[nul]", "byte 1: invalid keyword 'nul'" },
  { "[trUe]", "byte 1: invalid keyword 'trUe'" },
  { "[x]", "byte 1: invalid keyword 'x'" },
  { "[True]", "byte 1: invalid character 'T'" },
  { "[1true]", "byte 2: syntax error expecting ']' or ','" },
  { "[true false]", "byte 6: syntax error expecting ']' or ','" },
  { "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]",
    "byte 1: invalid keyword 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'" },
  /* Characters outside strings. */
  { "['x']", "byte 1: invalid character '''" },
  { "[+1]", "byte 1: invalid character '+'" },
  { "[.5]", "byte 1: invalid character '.'" },
  { "[0x10]", "byte 2: syntax error expecting ']' or ','" },
  { "[1]\x01", "byte 3: trailing garbage at end of input" },
  { "[\x01]", "byte 1: invalid byte 0x01" },
  { "[\xc3\xa9]", "byte 1: invalid byte 0xc3" },
  { "/* c */ {}", "byte 0: invalid character '/'" },
  /* Numbers. */
  { "[01]", "byte 2: leading zeros not allowed" },
  { "[00]", "byte 2: leading zeros not allowed" },
  { "[-01]", "byte 3: leading zeros not allowed" },
  { "[-]", "byte 2: '-' must be followed by digit" },
  { "[- 1]", "byte 2: '-' must be followed by digit" },
  { "[--1]", "byte 2: '-' must be followed by digit" },
  { "[-e1]", "byte 2: '-' must be followed by digit" },
  { "[-true]", "byte 2: '-' must be followed by digit" },
  { "[1.]", "byte 3: decimal point must be followed by digit" },
  { "[0.]", "byte 3: decimal point must be followed by digit" },
  { "[1.e5]", "byte 3: decimal point must be followed by digit" },
  { "[1e]", "byte 3: exponent must contain at least one digit" },
  { "[1e+]", "byte 4: exponent must contain at least one digit" },
  { "[1E-]", "byte 4: exponent must contain at least one digit" },
  { "[1e1.5]", "byte 4: syntax error expecting ']' or ','" },
  { "[1.5.5]", "byte 4: syntax error expecting ']' or ','" },
  { "[1-1]", "byte 2: syntax error expecting ']' or ','" },
  { "-", "byte 1: '-' must be followed by digit" },
  /* Strings. */
  { "[\"abc", "byte 5: unexpected end of input in quoted string" },
  { "[\"abc\\", "byte 6: unexpected end of input in quoted string" },
  { "[\"\\x\"]", "byte 2: bad escape \\x" },
  { "[\"\\U0041\"]", "byte 2: bad escape \\U" },
  { "[\"\\\x01\"]", "byte 2: bad escape: backslash followed by byte 0x01" },
  { "[\"\\u12\"]", "byte 3: malformed \\u escape" },
  { "[\"\\u12g4\"]", "byte 3: malformed \\u escape" },
  { "[\"\\u0000\"]", "byte 2: null bytes not supported in quoted strings" },
  { "[\"\\ud83d\"]", "byte 8: malformed escaped surrogate pair" },
  { "[\"\\ud83dx\"]", "byte 8: malformed escaped surrogate pair" },
  { "[\"\\ud83d\\n\"]", "byte 8: malformed escaped surrogate pair" },
  { "[\"\\ud83d\\u0041\"]",
    "byte 8: second half of escaped surrogate pair is not trailing "
    "surrogate" },
  { "[\"\\ud83d\\ud83d\"]",
    "byte 8: second half of escaped surrogate pair is not trailing "
    "surrogate" },
  { "[\"\\ud83d\\u12\"]", "byte 9: malformed \\u escape" },
  { "[\"\\ude00\"]", "byte 2: escaped trailing surrogate without a leading "
                     "one" },
  { "[\"a\nb\"]", "byte 3: U+000A must be escaped in quoted string" },
  { "[\"a\tb\"]", "byte 3: U+0009 must be escaped in quoted string" },
  { "[\"\x1f\"]", "byte 2: U+001F must be escaped in quoted string" },
  { "[\"\xff\"]", "byte 2: invalid UTF-8 in quoted string (byte 0xff)" },
  { "[\"\xc0\x80\"]", "byte 2: invalid UTF-8 in quoted string (byte 0xc0)" },
  { "[\"\xc3\"]", "byte 2: invalid UTF-8 in quoted string (byte 0xc3)" },
  { "[\"\xe0\x80\x80\"]",
    "byte 2: invalid UTF-8 in quoted string (byte 0xe0)" },
  { "[\"\xed\xa0\x80\"]",
    "byte 2: invalid UTF-8 in quoted string (byte 0xed)" },
  { "[\"\xf4\x90\x80\x80\"]",
    "byte 2: invalid UTF-8 in quoted string (byte 0xf4)" },
  { "[\"\xf8\x88\x80\x80\x80\"]",
    "byte 2: invalid UTF-8 in quoted string (byte 0xf8)" },
  { "[\"\x80\"]", "byte 2: invalid UTF-8 in quoted string (byte 0x80)" },
  { "{\"a\nb\":1}", "byte 3: U+000A must be escaped in quoted string" },
};

static void
assert_invalid (const char *text, gsize length, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;

  node = uc_json_parse (text, length, G_MAXUINT, &error);
  g_assert_null (node);
  g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_invalid (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (invalid_corpus); i++)
    {
      g_autofree char *escaped = g_strescape (invalid_corpus[i].text, NULL);

      /* Escaped: TAP output must stay UTF-8. */
      g_test_message ("%s", escaped);
      assert_invalid (invalid_corpus[i].text, strlen (invalid_corpus[i].text),
                      invalid_corpus[i].message);
    }

  /* A NUL byte is no end of the text. */
  assert_invalid ("[\"a\0b\"]", 7,
                  "byte 3: U+0000 must be escaped in quoted string");
  assert_invalid ("[1]\0", 4, "byte 3: trailing garbage at end of input");
  assert_invalid ("[\0]", 3, "byte 1: invalid byte 0x00");
}

/* Cut anywhere, a valid text is refused, never read past its end. */
static void
test_invalid_truncated (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (valid_corpus); i++)
    {
      const char *text = valid_corpus[i];
      gsize length = strlen (text);

      for (gsize cut = 0; cut < length; cut++)
        {
          g_autoptr (GError) error = NULL;
          g_autofree char *copy = g_memdup2 (text, cut);
          g_autoptr (JsonNode) node = NULL;

          node = uc_json_parse (copy, cut, G_MAXUINT, &error);
          if (node != NULL)
            {
              /* Only a prefix that is a value on its own may parse: a
               * number cut short, or the text before trailing space. */
              g_autoptr (JsonParser) parser = json_parser_new ();

              g_assert_true (
                json_parser_load_from_data (parser, copy, (gssize) cut, NULL));
            }
          else
            g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
        }
    }
}

static char *
nested_arrays (guint depth)
{
  GString *text = g_string_sized_new (2 * depth);

  for (guint i = 0; i < depth; i++)
    g_string_append_c (text, '[');
  for (guint i = 0; i < depth; i++)
    g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
}

static void
test_depth (void)
{
  g_autofree char *deep = nested_arrays (DEEP_LEVELS);
  g_autofree char *deeper = nested_arrays (100000);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;
  JsonNode *inner;
  guint levels = 0;

  /* As deep as the daemon allows, and freed. */
  node = uc_json_parse (deep, strlen (deep), DEEP_LEVELS, &error);
  g_assert_no_error (error);
  for (inner = node; json_array_get_length (json_node_get_array (inner)) > 0;
       inner = json_array_get_element (json_node_get_array (inner), 0))
    levels++;
  g_assert_cmpuint (levels + 1, ==, DEEP_LEVELS);
  g_clear_pointer (&node, json_node_unref);

  /* One level more is refused with the framer's words, and so is a text
   * far deeper: the partial tree freed is no deeper than the limit. */
  node = uc_json_parse (deep, strlen (deep), DEEP_LEVELS - 1, &error);
  g_assert_null (node);
  g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==,
                   "byte 4095: input exceeds maximum nesting depth 4095");
  g_clear_error (&error);

  node = uc_json_parse (deeper, strlen (deeper), 1000, &error);
  g_assert_null (node);
  g_assert_cmpstr (error->message, ==,
                   "byte 1000: input exceeds maximum nesting depth 1000");
  g_clear_error (&error);

  /* Objects count as arrays do; scalars do not count. */
  node = uc_json_parse ("{\"a\":[1]}", 9, 2, &error);
  g_assert_no_error (error);
  g_clear_pointer (&node, json_node_unref);
  node = uc_json_parse ("{\"a\":[[1]]}", 11, 2, &error);
  g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
  g_clear_error (&error);
  node = uc_json_parse ("1", 1, 0, &error);
  g_assert_no_error (error);
  g_clear_pointer (&node, json_node_unref);
  node = uc_json_parse ("[]", 2, 0, &error);
  g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
}

/* Top-level members, handed out without building the object. */

typedef struct
{
  GPtrArray *names; /* (element-type utf8) */
  GPtrArray *raws;  /* (element-type utf8) */
  GPtrArray *texts; /* (element-type utf8) the values, serialized */
} Members;

static void
members_clear (Members *members)
{
  g_clear_pointer (&members->names, g_ptr_array_unref);
  g_clear_pointer (&members->raws, g_ptr_array_unref);
  g_clear_pointer (&members->texts, g_ptr_array_unref);
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

  g_ptr_array_add (members->names, g_strdup (name));
  g_ptr_array_add (members->raws, g_strndup (raw, raw_length));
  g_ptr_array_add (members->texts, json_to_string (value, FALSE));
  g_assert_null (json_node_get_parent (value));
  json_node_unref (value);
}

static gboolean
parse_members (const char *text,
               guint max_depth,
               Members *members,
               gboolean *is_object,
               GError **error)
{
  members->names = g_ptr_array_new_with_free_func (g_free);
  members->raws = g_ptr_array_new_with_free_func (g_free);
  members->texts = g_ptr_array_new_with_free_func (g_free);
  return uc_json_parse_members (text, strlen (text), max_depth, collect_member,
                                members, is_object, error);
}

static void
test_members (void)
{
  static const char text[] =
    " {\n\"method\" :\"m\" , \"par\\u0061ms\":[ 1, {\"a\":2} ] ,"
    "\"id\"\t:\r\n42,\"\":null,\"method\":\"n\"}\n";
  static const char *const names[] = { "method", "params", "id", "", "method" };
  static const char *const raws[] = { "\"m\"", "[ 1, {\"a\":2} ]", "42", "null",
                                      "\"n\"" };
  static const char *const texts[] = { "\"m\"", "[1,{\"a\":2}]", "42", "null",
                                       "\"n\"" };
  g_auto (Members) members = { NULL };
  g_autoptr (GError) error = NULL;
  gboolean is_object = FALSE;

  g_assert_true (parse_members (text, G_MAXUINT, &members, &is_object, &error));
  g_assert_no_error (error);
  g_assert_true (is_object);
  /* In order, duplicates included, names unescaped, raw text exact. */
  g_assert_cmpuint (members.names->len, ==, G_N_ELEMENTS (names));
  for (guint i = 0; i < members.names->len; i++)
    {
      g_assert_cmpstr (members.names->pdata[i], ==, names[i]);
      g_assert_cmpstr (members.raws->pdata[i], ==, raws[i]);
      g_assert_cmpstr (members.texts->pdata[i], ==, texts[i]);
    }
}

static void
test_members_not_object (void)
{
  static const char *const values[] = { "[]", " [1,{\"a\":1}] ", "\"x\"", "1",
                                        "null" };

  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_auto (Members) members = { NULL };
      g_autoptr (GError) error = NULL;
      gboolean is_object = TRUE;

      g_assert_true (
        parse_members (values[i], G_MAXUINT, &members, &is_object, &error));
      g_assert_no_error (error);
      g_assert_false (is_object);
      g_assert_cmpuint (members.names->len, ==, 0);
    }

  /* A value that does not parse is an error, object or not. */
  {
    g_auto (Members) members = { NULL };
    g_autoptr (GError) error = NULL;
    gboolean is_object = TRUE;

    g_assert_false (
      parse_members ("[1,]", G_MAXUINT, &members, &is_object, &error));
    g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
  }
}

static void
test_members_invalid (void)
{
  static const struct
  {
    const char *text;
    guint n_members; /* handed out before the error */
    const char *message;
  } cases[] = {
    { "{", 0, "byte 1: unexpected end of input" },
    { "{}x", 0, "byte 2: trailing garbage at end of input" },
    { "{\"a\":1", 1, "byte 6: unexpected end of input" },
    { "{\"a\":1,}", 1, "byte 7: syntax error parsing object expecting string" },
    { "{\"a\":1 \"b\":2}", 1, "byte 7: syntax error expecting '}' or ','" },
    { "{\"a\":1,\"b\":[1,]}", 1, "byte 14: syntax error expecting value" },
    { "{\"a\" 1}", 0, "byte 5: syntax error parsing object expecting ':'" },
    { "{\"a\":{\"b\":[[]]}}", 0,
      "byte 11: input exceeds maximum nesting depth 3" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (Members) members = { NULL };
      g_autoptr (GError) error = NULL;
      gboolean is_object = FALSE;

      g_test_message ("%s", cases[i].text);
      g_assert_false (
        parse_members (cases[i].text, 3, &members, &is_object, &error));
      g_assert_error (error, UC_ERROR, UC_ERROR_PROTOCOL);
      g_assert_cmpstr (error->message, ==, cases[i].message);
      g_assert_cmpuint (members.names->len, ==, cases[i].n_members);
    }

  /* The top-level object counts as a level. */
  {
    g_auto (Members) members = { NULL };
    g_autoptr (GError) error = NULL;
    gboolean is_object = FALSE;

    g_assert_false (parse_members ("{}", 0, &members, &is_object, &error));
    g_assert_cmpstr (error->message, ==,
                     "byte 0: input exceeds maximum nesting depth 0");
  }
}

/* Memory: the framer's cost estimate per value (UC_JSON_VALUE_COST,
 * UC_JSON_OBJECT_COST) was measured on json-glib's parser; this one must
 * not cost more per value.  Heap in use is compared after building the
 * same tree with each. */

static gsize
heap_in_use (void)
{
  struct mallinfo2 info = mallinfo2 ();

  return info.uordblks + info.hblkhd;
}

typedef JsonNode *(*ParseFunc) (const char *text);

static JsonNode *
parse_with_ours (const char *text)
{
  return uc_json_parse (text, strlen (text), G_MAXUINT, NULL);
}

static gsize
tree_cost (ParseFunc parse_func, const char *text)
{
  gsize before = heap_in_use ();
  g_autoptr (JsonNode) node = parse_func (text);
  gsize after = heap_in_use ();

  g_assert_nonnull (node);
  return after > before ? after - before : 0;
}

static void
test_memory (void)
{
  static const char *const elements[] = {
    "null", "0", "1.5", "\"\"", "\"abcdefgh\"", "[]", "{}", "{\"k\":0}",
  };
  const guint n = 20000;

  /* Only plain malloc can be measured so. */
  if (g_strcmp0 (g_getenv ("G_SLICE"), "always-malloc") != 0)
    {
      g_test_skip ("G_SLICE=always-malloc is needed to measure the heap");
      return;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (elements); i++)
    {
      g_autoptr (GString) text = g_string_new ("[");
      gsize ours, theirs;

      for (guint j = 0; j < n; j++)
        g_string_append_printf (text, "%s%s", j > 0 ? "," : "", elements[i]);
      g_string_append_c (text, ']');

      theirs = tree_cost (parse_with_json_glib, text->str);
      ours = tree_cost (parse_with_ours, text->str);
      if (theirs == 0)
        {
          /* A sanitizer's allocator, which mallinfo2() does not see. */
          g_test_skip ("the heap cannot be measured here");
          return;
        }
      g_test_message ("[%s,...]: %zu bytes a value, json-glib %zu", elements[i],
                      ours / n, theirs / n);
      g_assert_cmpuint (ours, <=, theirs + theirs / 100);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/json-parser/valid/corpus", test_valid_corpus);
  g_test_add_func ("/json-parser/valid/random", test_valid_random);
  g_test_add_func ("/json-parser/valid/unterminated", test_valid_unterminated);
  g_test_add_func ("/json-parser/valid/numbers", test_numbers);
  g_test_add_func ("/json-parser/invalid/corpus", test_invalid);
  g_test_add_func ("/json-parser/invalid/truncated", test_invalid_truncated);
  g_test_add_func ("/json-parser/limits/depth", test_depth);
  g_test_add_func ("/json-parser/limits/memory", test_memory);
  g_test_add_func ("/json-parser/members/order", test_members);
  g_test_add_func ("/json-parser/members/not-object", test_members_not_object);
  g_test_add_func ("/json-parser/members/invalid", test_members_invalid);

  return g_test_run ();
}
