/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the JSON framer (uc-json-framer.c), the parser (uc-json-parser.c)
 * and the writer (uc-jsonrpc-message.c) know alike about JSON text, so
 * that all three read a string the same way.  Private to them.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Nonzero for the bytes that stand for themselves in a JSON string and
 * need no further look: printable ASCII other than the quote (0x22) and
 * the backslash (0x5c), and DEL (0x7f), which JSON allows raw.  Defined
 * in uc-json-framer.c. */
extern const guint8 uc_json_string_plain[256];

/**
 * uc_json_utf8_sequence_length:
 * @p: the first byte of a sequence, at least 0x80
 * @end: the end of the text
 *
 * Measures the well-formed UTF-8 sequence at @p (Unicode 15, table 3-7:
 * no overlong forms, no surrogates, nothing past U+10FFFF; what
 * g_utf8_validate() accepts).  Inline: the parser and the writer call it
 * once per non-ASCII character.
 *
 * Returns: the length of the sequence, or 0 if it is not well formed or
 *   does not end before @end
 */
static inline gsize
uc_json_utf8_sequence_length (const guint8 *p, const guint8 *end)
{
  guint8 low = 0x80;
  guint8 high = 0xbf;
  gsize length;

  if (*p >= 0xc2 && *p <= 0xdf)
    length = 2;
  else if (*p >= 0xe0 && *p <= 0xef)
    {
      length = 3;
      if (*p == 0xe0)
        low = 0xa0;
      else if (*p == 0xed)
        high = 0x9f;
    }
  else if (*p >= 0xf0 && *p <= 0xf4)
    {
      length = 4;
      if (*p == 0xf0)
        low = 0x90;
      else if (*p == 0xf4)
        high = 0x8f;
    }
  else
    return 0;

  if ((gsize) (end - p) < length)
    return 0;
  for (gsize i = 1; i < length; i++)
    {
      if (p[i] < low || p[i] > high)
        return 0;
      low = 0x80;
      high = 0xbf;
    }
  return length;
}

G_END_DECLS
