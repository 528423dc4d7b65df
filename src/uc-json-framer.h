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
 * size limit.  The framer estimates the cost while it scans (see
 * UC_JSON_VALUE_COST) and refuses a message whose tree would cost more. */
#define UC_JSON_TREE_COST_FACTOR 4

/* Estimated bytes json-glib spends per value (node, container slot, hash
 * entry for object members), measured on json-glib 1.6 for small values. */
#define UC_JSON_VALUE_COST 128

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
gboolean            uc_json_framer_finish        (UcJsonFramer  *self,
                                                  GError       **error);
gboolean            uc_json_framer_is_idle       (UcJsonFramer  *self);
gsize               uc_json_framer_get_max_size  (UcJsonFramer  *self);
guint               uc_json_framer_get_max_depth (UcJsonFramer  *self);
/* clang-format on */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UcJsonFramer, uc_json_framer_free)

G_END_DECLS
