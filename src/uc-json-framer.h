/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "uc-types.h"

G_BEGIN_DECLS

/* Largest message accepted by default.  A message is refused as soon as it
 * passes the limit; the rest of it is never buffered. */
#define UC_JSON_DEFAULT_MAX_MESSAGE_SIZE (16 * 1024 * 1024)

/* Deepest nesting of arrays and objects accepted by default: Open
 * vSwitch's own limit.  json-glib recurses once per level, so the framer
 * enforces this before json-glib sees the text. */
#define UC_JSON_DEFAULT_MAX_DEPTH 1000

/* Memory that building one message's tree may cost, as a multiple of the
 * size limit (but never less than 64 KiB, so that small limits still
 * allow ordinary messages).  The framer estimates the cost while it scans
 * (see UC_JSON_VALUE_COST) and refuses a message whose tree would cost
 * more. */
#define UC_JSON_TREE_COST_FACTOR 4

/* Bytes json-glib spends per value (node, value, container slot, hash
 * entry for object members), an upper bound measured on json-glib 1.6.6
 * (GLib 2.74, glibc malloc, x86-64) as heap and RSS growth while parsing
 * 10^6-element messages, counting object member names as values:
 *   [null,...] 45   [0,...] 82   [1.5,...] 82   {"k":0,...} 92
 *   ["",...] 114    ["abcdefgh",...] 114         [[],...] 118
 * String contents are covered by the message bytes term.  Objects cost
 * more (their GHashTable): see UC_JSON_OBJECT_COST. */
#define UC_JSON_VALUE_COST 128

/* Bytes json-glib spends per object, in place of UC_JSON_VALUE_COST:
 * [{},...] measured 301 bytes an object (and {"k":{},...} 402 a member,
 * name included), so that a message of empty objects cannot slip past
 * the bound. */
#define UC_JSON_OBJECT_COST 320

/**
 * UcJsonFramerStatus:
 * @UC_JSON_FRAMER_NEED_MORE: every byte given was consumed and no message
 *   is complete yet.
 * @UC_JSON_FRAMER_MESSAGE: a message is complete; take it with
 *   uc_json_framer_take_message() before feeding more.
 * @UC_JSON_FRAMER_ERROR: the input broke the protocol or a limit; the
 *   framer is unusable from now on and the connection must be closed.
 */
typedef enum
{
  UC_JSON_FRAMER_NEED_MORE,
  UC_JSON_FRAMER_MESSAGE,
  UC_JSON_FRAMER_ERROR,
} UcJsonFramerStatus;

/* clang-format off */
UcJsonFramer       *uc_json_framer_new           (gsize          max_size,
                                                  guint          max_depth);
void                uc_json_framer_free          (UcJsonFramer  *self);
UcJsonFramerStatus  uc_json_framer_feed          (UcJsonFramer  *self,
                                                  const char    *data,
                                                  gsize          length,
                                                  gsize         *consumed,
                                                  GError       **error);
char               *uc_json_framer_take_message  (UcJsonFramer  *self,
                                                  gsize         *length);
const char         *uc_json_framer_get_message   (UcJsonFramer  *self,
                                                  gsize         *length);
void                uc_json_framer_drop_message  (UcJsonFramer  *self);
gboolean            uc_json_framer_finish        (UcJsonFramer  *self,
                                                  GError       **error);
gboolean            uc_json_framer_is_idle       (UcJsonFramer  *self);
gsize               uc_json_framer_get_max_size  (UcJsonFramer  *self);
guint               uc_json_framer_get_max_depth (UcJsonFramer  *self);
/* clang-format on */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UcJsonFramer, uc_json_framer_free)

G_END_DECLS
