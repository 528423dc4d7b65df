/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "jsonrpc"

#include "config.h"

#include "uc-json-framer.h"

#include <glib/gi18n.h>
#include <string.h>

#include "uc-error.h"
#include "uc-json-private.h"

/*
 * The framer cuts a byte stream into JSON objects sent back to back.  It
 * is a single-pass state machine: every byte is examined once, by a
 * switch over the current state, and the bytes of the current message are
 * appended to its buffer in one memcpy() per feed.  A 64 MiB message that
 * arrives in 64 KiB reads is therefore scanned once, not once per read.
 *
 * Besides finding where a message ends, the framer is the guard in front
 * of the parser (uc-json-parser.c): the json-glib tree it builds costs far
 * more than the text, and freeing that tree recurses once per nesting
 * level.  So the framer enforces, before the parser sees a byte:
 *
 *  - the size limit, as soon as a message passes it;
 *  - the nesting depth limit (Open vSwitch's wording);
 *  - strict UTF-8, both raw and in `\u` escapes, with no NUL anywhere;
 *  - the JSON string rules (escapes, no raw control characters);
 *  - a bound on the cost of the tree the parser will build;
 *  - the JSON alphabet outside strings.
 *
 * It does not check the full JSON grammar: the parser does that, on text
 * that is by then known to be bounded.
 */

typedef enum
{
  STATE_IDLE,          /* between messages: whitespace skipped, not kept */
  STATE_STRUCTURE,     /* in a message, outside strings and bare tokens */
  STATE_BARE,          /* in a number or literal (true, false, null) */
  STATE_STRING,        /* in a string */
  STATE_ESCAPE,        /* after a backslash in a string */
  STATE_HEX,           /* in the four hex digits of a \u escape */
  STATE_LOW_BACKSLASH, /* after a high surrogate: expecting '\' */
  STATE_LOW_U,         /* after a high surrogate and '\': expecting 'u' */
  STATE_UTF8,          /* in the continuation bytes of a UTF-8 sequence */
  STATE_DEAD,          /* an error was reported; nothing more is accepted */
} FramerState;

/* What a byte means outside strings. */
typedef enum
{
  CLASS_INVALID = 0, /* not allowed outside a string */
  CLASS_SPACE,       /* JSON whitespace */
  CLASS_OPEN,        /* { [ */
  CLASS_CLOSE,       /* } ] */
  CLASS_QUOTE,       /* " */
  CLASS_PUNCT,       /* , : */
  CLASS_BARE,        /* characters of numbers and of true, false, null */
  CLASS_NUL,         /* a NUL byte: never valid anywhere */
} ByteClass;

/* clang-format off */
static const guint8 byte_class[256] = {
  [0] = CLASS_NUL,
  [' '] = CLASS_SPACE, ['\t'] = CLASS_SPACE, ['\n'] = CLASS_SPACE,
  ['\r'] = CLASS_SPACE,
  ['{'] = CLASS_OPEN, ['['] = CLASS_OPEN,
  ['}'] = CLASS_CLOSE, [']'] = CLASS_CLOSE,
  ['"'] = CLASS_QUOTE,
  [','] = CLASS_PUNCT, [':'] = CLASS_PUNCT,
  ['-'] = CLASS_BARE, ['+'] = CLASS_BARE, ['.'] = CLASS_BARE,
  ['0'] = CLASS_BARE, ['1'] = CLASS_BARE, ['2'] = CLASS_BARE,
  ['3'] = CLASS_BARE, ['4'] = CLASS_BARE, ['5'] = CLASS_BARE,
  ['6'] = CLASS_BARE, ['7'] = CLASS_BARE, ['8'] = CLASS_BARE,
  ['9'] = CLASS_BARE, ['e'] = CLASS_BARE, ['E'] = CLASS_BARE,
  ['t'] = CLASS_BARE, ['r'] = CLASS_BARE, ['u'] = CLASS_BARE,
  ['f'] = CLASS_BARE, ['a'] = CLASS_BARE, ['l'] = CLASS_BARE,
  ['s'] = CLASS_BARE, ['n'] = CLASS_BARE,
};
/* clang-format on */

/* See uc-json-private.h. */
/* clang-format off */
const guint8 uc_json_string_plain[256] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
  1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x70 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};
/* clang-format on */

#define ONES  G_GUINT64_CONSTANT (0x0101010101010101)
#define HIGHS G_GUINT64_CONSTANT (0x8080808080808080)

/* Whether none of the 8 bytes in @w can end a run of plain string bytes.
 * A byte is flagged when it is below 0x20, at or above 0x80, a quote or a
 * backslash.  The test may flag a plain byte that follows a flagged one
 * (borrows propagate upwards), never the reverse, which is all the caller
 * needs: a flagged word is rescanned byte by byte. */
static inline gboolean
word_is_plain (guint64 w)
{
  guint64 quote = w ^ (ONES * '"');
  guint64 backslash = w ^ (ONES * '\\');
  guint64 flags = (w - ONES * 0x20) | w | ((quote - ONES) & ~quote) |
                  ((backslash - ONES) & ~backslash);

  return (flags & HIGHS) == 0;
}

/* The tree cost budget is never below this, so that a small size limit
 * (a test, a tight configuration) does not refuse ordinary messages: a
 * 100-byte limit alone would allow a single value.  64 KiB is about 200
 * values, and a negligible amount of memory. */
#define MIN_COST_BUDGET (64 * 1024)

/* Bytes allocated for a message buffer at first: enough for a typical
 * request, small enough not to matter per connection. */
#define INITIAL_BUFFER_SIZE 256

struct _UcJsonFramer
{
  gsize max_size;
  guint max_depth;
  guint64 cost_budget; /* UC_JSON_TREE_COST_FACTOR * max_size, saturated */

  FramerState state;

  /* The message being framed (state != STATE_IDLE), or the complete one
   * waiting to be taken (has_message). */
  char *buffer; /* (owned) (nullable) */
  gsize length;
  gsize allocated;
  gboolean has_message;

  guint depth;
  guint64 n_values;
  guint64 cost; /* estimated tree cost of the values so far */

  /* STATE_UTF8: the continuation bytes still expected, the range allowed
   * for the next one, and the state to return to. */
  guint utf8_needed;
  guint8 utf8_low;
  guint8 utf8_high;
  FramerState utf8_return;

  /* STATE_HEX: digits seen and the value so far; high_surrogate is the
   * high surrogate waiting for its low half, or 0. */
  guint hex_digits;
  gunichar hex_value;
  gunichar high_surrogate;
};

/**
 * uc_json_framer_new:
 * @max_size: largest message accepted, in bytes (whitespace between
 *   messages does not count); must not be 0
 * @max_depth: deepest nesting of objects and arrays accepted, the
 *   top-level object counting as 1; must not be 0
 *
 * Creates a framer for a stream of JSON objects sent back to back, as
 * JSON-RPC 1.0 peers send them.  See uc_json_framer_feed() for the rules
 * it enforces.
 *
 * Returns: (transfer full): a new framer; free it with
 *   uc_json_framer_free()
 */
UcJsonFramer *
uc_json_framer_new (gsize max_size, guint max_depth)
{
  UcJsonFramer *self;

  g_return_val_if_fail (max_size > 0, NULL);
  g_return_val_if_fail (max_depth > 0, NULL);

  self = g_new0 (UcJsonFramer, 1);
  self->max_size = max_size;
  self->max_depth = max_depth;
  if (max_size > G_MAXUINT64 / UC_JSON_TREE_COST_FACTOR)
    self->cost_budget = G_MAXUINT64;
  else
    self->cost_budget =
      MAX ((guint64) max_size * UC_JSON_TREE_COST_FACTOR, MIN_COST_BUDGET);
  self->state = STATE_IDLE;

  return self;
}

/**
 * uc_json_framer_free:
 * @self: (transfer full) (nullable): a framer
 *
 * Frees @self, including any partial or untaken message.
 */
void
uc_json_framer_free (UcJsonFramer *self)
{
  if (self == NULL)
    return;

  g_free (self->buffer);
  g_free (self);
}

/* Describes @c for an error message without ever copying a control
 * character or a stray byte into it. */
static const char *
describe_byte (guint8 c, char buffer[static 16])
{
  if (c > 0x20 && c < 0x7f && c != '\'')
    g_snprintf (buffer, 16, "'%c'", c);
  else
    g_snprintf (buffer, 16, "byte 0x%02x", c);
  return buffer;
}

static void
die (UcJsonFramer *self)
{
  self->state = STATE_DEAD;
  g_clear_pointer (&self->buffer, g_free);
  self->length = 0;
  self->allocated = 0;
}

/* Appends @length bytes to the message buffer, growing it by doubling so
 * that a message received in many small pieces costs linear time.  One
 * byte more is always kept for the terminating NUL.  The caller never
 * lets the message grow past max_size, so neither does the buffer. */
static void
append (UcJsonFramer *self, const char *data, gsize length)
{
  gsize needed = self->length + length + 1;

  if (length == 0)
    return;

  if (needed > self->allocated)
    {
      gsize allocated = MAX (self->allocated, INITIAL_BUFFER_SIZE);

      while (allocated < needed)
        allocated = allocated > G_MAXSIZE / 2 ? needed : allocated * 2;
      /* No more than the largest message needs (G_MAXSIZE is a valid
       * limit: no +1 there). */
      allocated =
        MIN (allocated, MAX (needed, MIN (self->max_size, G_MAXSIZE - 1) + 1));
      self->buffer = g_realloc (self->buffer, allocated);
      self->allocated = allocated;
    }

  memcpy (self->buffer + self->length, data, length);
  self->length += length;
}

/* Outcome of scan(). */
typedef enum
{
  SCAN_MORE,  /* reached the limit inside a message */
  SCAN_DONE,  /* the message closed; the position is just past it */
  SCAN_ERROR, /* @error is set; the position is the offending byte */
} ScanResult;

/* The continuation bytes a UTF-8 lead byte asks for, and the range of
 * the first of them (Unicode 15, table 3-7: well-formed byte sequences).
 * Excluding overlongs, surrogates and code points past U+10FFFF is all
 * done by those ranges.  Returns FALSE for a byte that cannot lead. */
static gboolean
utf8_lead (guint8 c, guint *needed, guint8 *low, guint8 *high)
{
  *low = 0x80;
  *high = 0xbf;

  if (c >= 0xc2 && c <= 0xdf)
    *needed = 1;
  else if (c >= 0xe0 && c <= 0xef)
    {
      *needed = 2;
      if (c == 0xe0)
        *low = 0xa0; /* no overlong forms */
      else if (c == 0xed)
        *high = 0x9f; /* no UTF-16 surrogates */
    }
  else if (c >= 0xf0 && c <= 0xf4)
    {
      *needed = 3;
      if (c == 0xf0)
        *low = 0x90; /* no overlong forms */
      else if (c == 0xf4)
        *high = 0x8f; /* nothing past U+10FFFF */
    }
  else
    return FALSE;

  return TRUE;
}

static int
hex_digit_value (guint8 c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static void
set_too_complex_error (GError **error,
                       guint64 n_values,
                       gsize length,
                       guint64 budget)
{
  g_autofree char *budget_text =
    g_format_size_full (budget, G_FORMAT_SIZE_IEC_UNITS);

  /* n_values <= length: every value takes at least one byte. */
  g_set_error (error, UC_ERROR, UC_ERROR_TOO_COMPLEX,
               _ ("message is too complex: %zu values in %zu bytes would "
                  "cost more than %s to parse"),
               (gsize) n_values, length, budget_text);
}

/* A NUL byte is refused wherever it appears, with the same words. */
static void
set_nul_error (GError **error, gsize offset)
{
  g_set_error (error, UC_ERROR, UC_ERROR_INVALID_UTF8,
               _ ("message contains a NUL byte (at byte %zu)"), offset);
}

/* Scans message bytes from *@pos up to @limit, updating the framer's
 * state.  The message's bytes are not copied here; the caller appends
 * the span scanned.  @start is where that span begins, so that error
 * messages can give offsets in the message.
 *
 * The hot state (position, state, depth, value count) lives in locals
 * and is written back on every exit. */
static ScanResult
scan (UcJsonFramer *self,
      const guint8 **pos,
      const guint8 *start,
      const guint8 *limit,
      GError **error)
{
  const guint8 *p = *pos;
  FramerState state = self->state;
  guint depth = self->depth;
  guint64 n_values = self->n_values;
  guint64 cost = self->cost;
  const guint64 budget = self->cost_budget;
  ScanResult result = SCAN_MORE;
  char what[16];
  guint8 c;

#define OFFSET() ((gsize) (self->length + (gsize) (p - start)))

  /* Counts one more value (object, array, string, number, literal;
   * object member names count too, json-glib copies them as well) and
   * checks the tree json-glib would build against the budget. */
#define COUNT_VALUE(COST)                       \
  G_STMT_START                                  \
  {                                             \
    n_values++;                                 \
    cost += (COST);                             \
    if (G_UNLIKELY (cost + OFFSET () > budget)) \
      goto too_complex;                         \
  }                                             \
  G_STMT_END

  while (p < limit)
    {
      switch (state)
        {
          case STATE_STRUCTURE:
            c = *p;
            switch ((ByteClass) byte_class[c])
              {
                case CLASS_SPACE:
                case CLASS_PUNCT:
                  p++;
                  break;

                case CLASS_QUOTE:
                  COUNT_VALUE (UC_JSON_VALUE_COST);
                  p++;
                  state = STATE_STRING;
                  break;

                case CLASS_OPEN:
                  if (G_UNLIKELY (depth >= self->max_depth))
                    {
                      g_set_error (error, UC_ERROR, UC_ERROR_TOO_DEEP,
                                   "input exceeds maximum nesting depth %u",
                                   self->max_depth);
                      goto fail;
                    }
                  depth++;
                  COUNT_VALUE (c == '{' ? UC_JSON_OBJECT_COST
                                        : UC_JSON_VALUE_COST);
                  p++;
                  break;

                case CLASS_CLOSE:
                  p++;
                  /* A mismatched bracket keeps the count right for any text
                   * the parser accepts; the parser refuses the rest. */
                  if (--depth == 0)
                    {
                      state = STATE_IDLE;
                      result = SCAN_DONE;
                      goto out;
                    }
                  break;

                case CLASS_BARE:
                  COUNT_VALUE (UC_JSON_VALUE_COST);
                  p++;
                  state = STATE_BARE;
                  break;

                case CLASS_NUL:
                  set_nul_error (error, OFFSET ());
                  goto fail;

                case CLASS_INVALID:
                default:
                  g_set_error (
                    error, UC_ERROR, UC_ERROR_PROTOCOL,
                    _ ("unexpected %s outside a string (at byte %zu)"),
                    describe_byte (c, what), OFFSET ());
                  goto fail;
              }
            break;

          case STATE_BARE:
            while (p < limit && byte_class[*p] == CLASS_BARE)
              p++;
            if (p < limit)
              state = STATE_STRUCTURE;
            break;

          case STATE_STRING:
            /* The fast path: runs of plain ASCII, 8 bytes at a time. */
            while (limit - p >= 8)
              {
                guint64 w;

                memcpy (&w, p, sizeof w);
                if (!word_is_plain (w))
                  break;
                p += 8;
              }
            while (p < limit && uc_json_string_plain[*p])
              p++;
            if (p == limit)
              break;

            c = *p;
            if (c == '"')
              {
                p++;
                state = STATE_STRUCTURE;
              }
            else if (c == '\\')
              {
                p++;
                state = STATE_ESCAPE;
              }
            else if (c >= 0x80)
              {
                if (G_UNLIKELY (!utf8_lead (c, &self->utf8_needed,
                                            &self->utf8_low, &self->utf8_high)))
                  goto invalid_utf8;
                p++;
                self->utf8_return = STATE_STRING;
                state = STATE_UTF8;
              }
            else if (c == 0)
              {
                set_nul_error (error, OFFSET ());
                goto fail;
              }
            else
              {
                /* Open vSwitch's wording. */
                g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                             "U+%04X must be escaped in quoted string", c);
                goto fail;
              }
            break;

          case STATE_UTF8:
            c = *p;
            if (G_UNLIKELY (c < self->utf8_low || c > self->utf8_high))
              goto invalid_utf8;
            p++;
            self->utf8_low = 0x80;
            self->utf8_high = 0xbf;
            if (--self->utf8_needed == 0)
              state = self->utf8_return;
            break;

          case STATE_ESCAPE:
            c = *p;
            switch (c)
              {
                case '"':
                case '\\':
                case '/':
                case 'b':
                case 'f':
                case 'n':
                case 'r':
                case 't':
                  state = STATE_STRING;
                  break;
                case 'u':
                  self->hex_digits = 0;
                  self->hex_value = 0;
                  state = STATE_HEX;
                  break;
                default:
                  if (c == 0)
                    {
                      set_nul_error (error, OFFSET ());
                      goto fail;
                    }
                  g_set_error (
                    error, UC_ERROR, UC_ERROR_PROTOCOL,
                    _ ("invalid escape in string: backslash followed "
                       "by %s (at byte %zu)"),
                    describe_byte (c, what), OFFSET ());
                  goto fail;
              }
            p++;
            break;

          case STATE_HEX:
            {
              int digit;

              c = *p;
              digit = hex_digit_value (c);
              if (G_UNLIKELY (digit < 0))
                {
                  if (c == 0)
                    {
                      set_nul_error (error, OFFSET ());
                      goto fail;
                    }
                  g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
                               _ ("malformed \\u escape in string: %s is not a "
                                  "hexadecimal digit (at byte %zu)"),
                               describe_byte (c, what), OFFSET ());
                  goto fail;
                }
              p++;
              self->hex_value = (self->hex_value << 4) | (gunichar) digit;
              if (++self->hex_digits < 4)
                break;

              if (self->high_surrogate != 0)
                {
                  if (self->hex_value < 0xdc00 || self->hex_value > 0xdfff)
                    {
                      g_set_error (error, UC_ERROR, UC_ERROR_INVALID_UTF8,
                                   _ ("invalid \\u escape in string: lone "
                                      "surrogate U+%04X (at byte %zu)"),
                                   self->high_surrogate, OFFSET ());
                      goto fail;
                    }
                  self->high_surrogate = 0;
                  state = STATE_STRING;
                }
              else if (self->hex_value == 0)
                {
                  g_set_error (error, UC_ERROR, UC_ERROR_INVALID_UTF8,
                               _ ("invalid \\u escape in string: \\u0000 (NUL) "
                                  "is not allowed (at byte %zu)"),
                               OFFSET ());
                  goto fail;
                }
              else if (self->hex_value >= 0xd800 && self->hex_value <= 0xdbff)
                {
                  self->high_surrogate = self->hex_value;
                  state = STATE_LOW_BACKSLASH;
                }
              else if (self->hex_value >= 0xdc00 && self->hex_value <= 0xdfff)
                {
                  g_set_error (error, UC_ERROR, UC_ERROR_INVALID_UTF8,
                               _ ("invalid \\u escape in string: lone "
                                  "surrogate U+%04X (at byte %zu)"),
                               self->hex_value, OFFSET ());
                  goto fail;
                }
              else
                state = STATE_STRING;
            }
            break;

          case STATE_LOW_BACKSLASH:
          case STATE_LOW_U:
            c = *p;
            if (c != (state == STATE_LOW_BACKSLASH ? '\\' : 'u'))
              {
                g_set_error (error, UC_ERROR, UC_ERROR_INVALID_UTF8,
                             _ ("invalid \\u escape in string: lone surrogate "
                                "U+%04X (at byte %zu)"),
                             self->high_surrogate, OFFSET ());
                goto fail;
              }
            p++;
            if (state == STATE_LOW_BACKSLASH)
              state = STATE_LOW_U;
            else
              {
                self->hex_digits = 0;
                self->hex_value = 0;
                state = STATE_HEX;
              }
            break;

          case STATE_IDLE:
          case STATE_DEAD:
          default:
            g_assert_not_reached ();
        }
    }

  goto out;

invalid_utf8:
  g_set_error (error, UC_ERROR, UC_ERROR_INVALID_UTF8,
               _ ("message contains invalid UTF-8 (byte 0x%02x at byte %zu)"),
               *p, OFFSET ());
  goto fail;

too_complex:
  set_too_complex_error (error, n_values, OFFSET (), budget);
  goto fail;

fail:
  result = SCAN_ERROR;

out:
  *pos = p;
  self->state = state;
  self->depth = depth;
  self->n_values = n_values;
  self->cost = cost;
  return result;

#undef COUNT_VALUE
#undef OFFSET
}

/**
 * uc_json_framer_feed:
 * @self: a framer
 * @data: (array length=length): bytes received
 * @length: number of bytes in @data
 * @consumed: (out): number of bytes of @data used
 * @error: return location for a #GError
 *
 * Scans @data for the end of the current message.  Whitespace between
 * messages is skipped and never kept; everything from a message's opening
 * brace to its closing brace is kept.
 *
 * A message is refused, and @self becomes unusable, as soon as the input
 * breaks one of these rules (each with its error code):
 *
 *  - a message starts with `{` (%UC_ERROR_PROTOCOL);
 *  - a message is at most max_size bytes (%UC_ERROR_MESSAGE_TOO_LARGE),
 *    reported when the first byte past the limit arrives, without
 *    buffering it;
 *  - objects and arrays nest at most max_depth deep (%UC_ERROR_TOO_DEEP);
 *  - the text is strict UTF-8 with no NUL, and `\u` escapes encode no
 *    NUL and no lone surrogate (%UC_ERROR_INVALID_UTF8);
 *  - strings hold no raw control characters and only the escapes JSON
 *    defines; outside strings only JSON's own characters appear
 *    (%UC_ERROR_PROTOCOL);
 *  - the tree json-glib would build for the message costs at most
 *    %UC_JSON_TREE_COST_FACTOR times max_size (but never less than
 *    64 KiB, so that small limits still allow ordinary messages),
 *    estimating %UC_JSON_OBJECT_COST bytes per object and
 *    %UC_JSON_VALUE_COST per other value, plus the text itself
 *    (%UC_ERROR_TOO_COMPLEX).
 *
 * The text of a complete message is well-framed, not necessarily valid
 * JSON: parse it with uc_json_parse(), which checks the grammar.
 *
 * Returns: %UC_JSON_FRAMER_MESSAGE when a message is complete: *@consumed
 *   counts the bytes up to and including its closing brace, and
 *   uc_json_framer_take_message(), or uc_json_framer_get_message() and
 *   uc_json_framer_drop_message(), must be called before feeding the rest.
 *   %UC_JSON_FRAMER_NEED_MORE when all of @data was consumed (*@consumed
 *   is @length).  %UC_JSON_FRAMER_ERROR with @error set when a rule is
 *   broken: *@consumed counts the bytes before the offending one.
 */
UcJsonFramerStatus
uc_json_framer_feed (UcJsonFramer *self,
                     const char *data,
                     gsize length,
                     gsize *consumed,
                     GError **error)
{
  const guint8 *p = (const guint8 *) data;
  const guint8 *end = p + length;

  g_return_val_if_fail (self != NULL, UC_JSON_FRAMER_ERROR);
  g_return_val_if_fail (data != NULL || length == 0, UC_JSON_FRAMER_ERROR);
  g_return_val_if_fail (consumed != NULL, UC_JSON_FRAMER_ERROR);
  g_return_val_if_fail (error == NULL || *error == NULL, UC_JSON_FRAMER_ERROR);
  g_return_val_if_fail (self->state != STATE_DEAD, UC_JSON_FRAMER_ERROR);
  g_return_val_if_fail (!self->has_message, UC_JSON_FRAMER_ERROR);

  *consumed = 0;

  if (self->state == STATE_IDLE)
    {
      while (p < end && byte_class[*p] == CLASS_SPACE)
        p++;
      if (p == end)
        {
          *consumed = length;
          return UC_JSON_FRAMER_NEED_MORE;
        }

      if (*p != '{')
        {
          if (*p == 0)
            set_nul_error (error, 0);
          else
            g_set_error_literal (error, UC_ERROR, UC_ERROR_PROTOCOL,
                                 "message is not a JSON object");
          *consumed = (gsize) ((const char *) p - data);
          die (self);
          return UC_JSON_FRAMER_ERROR;
        }

      self->state = STATE_STRUCTURE;
      self->length = 0;
      self->depth = 0;
      self->n_values = 0;
      self->cost = 0;
      self->high_surrogate = 0;
    }

  {
    const guint8 *start = p;
    gsize room = self->max_size - self->length;
    const guint8 *limit = (gsize) (end - p) > room ? p + room : end;
    ScanResult result = scan (self, &p, start, limit, error);

    *consumed = (gsize) ((const char *) p - data);

    switch (result)
      {
        case SCAN_ERROR:
          die (self);
          return UC_JSON_FRAMER_ERROR;

        case SCAN_MORE:
          if (limit < end)
            {
              g_set_error (error, UC_ERROR, UC_ERROR_MESSAGE_TOO_LARGE,
                           _ ("message exceeds maximum size of %zu bytes"),
                           self->max_size);
              die (self);
              return UC_JSON_FRAMER_ERROR;
            }
          append (self, (const char *) start, (gsize) (p - start));
          return UC_JSON_FRAMER_NEED_MORE;

        case SCAN_DONE:
          append (self, (const char *) start, (gsize) (p - start));
          /* The tree estimate is checked per value while scanning; the
           * text after the last value still adds to it. */
          if (self->cost + self->length > self->cost_budget)
            {
              set_too_complex_error (error, self->n_values, self->length,
                                     self->cost_budget);
              die (self);
              return UC_JSON_FRAMER_ERROR;
            }
          self->buffer[self->length] = '\0';
          self->has_message = TRUE;
          return UC_JSON_FRAMER_MESSAGE;

        default:
          g_assert_not_reached ();
      }
  }
}

/**
 * uc_json_framer_take_message:
 * @self: a framer whose last uc_json_framer_feed() returned
 *   %UC_JSON_FRAMER_MESSAGE
 * @length: (out) (optional): return location for the length of the text,
 *   not counting the terminating NUL
 *
 * Takes the message just completed.  The framer gives up its buffer
 * rather than copying it, and starts the next message in a new one.
 *
 * Returns: (transfer full): the text of the message, from its opening to
 *   its closing brace, NUL-terminated (it contains no other NUL)
 */
char *
uc_json_framer_take_message (UcJsonFramer *self, gsize *length)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (self->has_message, NULL);

  /* Doubling may have left up to half of the buffer unused.  It is not
   * given back: the text is parsed and freed at once, and shrinking a
   * large buffer only defeats malloc's reuse of it for the next one. */
  if (length != NULL)
    *length = self->length;

  self->length = 0;
  self->allocated = 0;
  self->has_message = FALSE;

  return g_steal_pointer (&self->buffer);
}

/**
 * uc_json_framer_get_message:
 * @self: a framer whose last uc_json_framer_feed() returned
 *   %UC_JSON_FRAMER_MESSAGE
 * @length: (out) (optional): return location for the length of the text,
 *   not counting the terminating NUL
 *
 * Lends the message just completed, instead of giving it away as
 * uc_json_framer_take_message() does: a caller that only parses the text
 * spares an allocation per message, since the framer reuses its buffer
 * for the next one (when the buffer is small: a large one goes, so that
 * an idle connection holds little memory).  Call
 * uc_json_framer_drop_message() when done, before feeding more.
 *
 * Returns: (transfer none): the text of the message, from its opening to
 *   its closing brace, NUL-terminated (it contains no other NUL)
 */
const char *
uc_json_framer_get_message (UcJsonFramer *self, gsize *length)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (self->has_message, NULL);

  if (length != NULL)
    *length = self->length;
  return self->buffer;
}

/**
 * uc_json_framer_drop_message:
 * @self: a framer whose last uc_json_framer_feed() returned
 *   %UC_JSON_FRAMER_MESSAGE
 *
 * Discards the message uc_json_framer_get_message() lent, so that @self
 * can frame the next one.
 */
void
uc_json_framer_drop_message (UcJsonFramer *self)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (self->has_message);

  self->length = 0;
  self->has_message = FALSE;
  if (self->allocated > INITIAL_BUFFER_SIZE)
    {
      g_clear_pointer (&self->buffer, g_free);
      self->allocated = 0;
    }
}

/**
 * uc_json_framer_finish:
 * @self: a framer
 * @error: return location for a #GError
 *
 * Tells @self that the input ended (the peer closed the connection).
 * That is fine between messages; in the middle of one, the message was
 * truncated.
 *
 * Returns: %TRUE if no partial message was pending; otherwise %FALSE with
 *   %UC_ERROR_PROTOCOL set, and @self is unusable
 */
gboolean
uc_json_framer_finish (UcJsonFramer *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (self->state != STATE_DEAD, FALSE);

  if (self->state == STATE_IDLE)
    return TRUE;

  g_set_error (error, UC_ERROR, UC_ERROR_PROTOCOL,
               _ ("connection closed in the middle of a message "
                  "(%zu bytes received)"),
               self->length);
  die (self);
  return FALSE;
}

/**
 * uc_json_framer_is_idle:
 * @self: a framer
 *
 * Whether @self is between messages: no byte of an incomplete message is
 * held.  A complete message not yet taken does not count as incomplete.
 *
 * Returns: %TRUE if idle; %FALSE in a message or after an error
 */
gboolean
uc_json_framer_is_idle (UcJsonFramer *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->state == STATE_IDLE;
}

/**
 * uc_json_framer_get_max_size:
 * @self: a framer
 *
 * Returns: the largest message @self accepts, in bytes
 */
gsize
uc_json_framer_get_max_size (UcJsonFramer *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->max_size;
}

/**
 * uc_json_framer_get_max_depth:
 * @self: a framer
 *
 * Returns: the deepest nesting @self accepts
 */
guint
uc_json_framer_get_max_depth (UcJsonFramer *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->max_depth;
}
