/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "uc-types.h"

G_BEGIN_DECLS

/**
 * UcJsonMemberFunc:
 * @name: the member's name, unescaped; valid only during the call
 * @value: (transfer full): the member's value
 * @raw: (array length=raw_length): the value's text as it appears in the
 *   input, without the whitespace around it
 * @raw_length: the length of @raw in bytes
 * @user_data: the data given to uc_json_parse_members()
 *
 * Receives one member of the top-level object, in input order; a name
 * given twice is given twice.
 */
typedef void (*UcJsonMemberFunc) (const char *name,
                                  JsonNode *value,
                                  const char *raw,
                                  gsize raw_length,
                                  gpointer user_data);

/* clang-format off */
JsonNode *uc_json_parse         (const char        *text,
                                 gsize              length,
                                 guint              max_depth,
                                 GError           **error);
gboolean  uc_json_parse_members (const char        *text,
                                 gsize              length,
                                 guint              max_depth,
                                 UcJsonMemberFunc   func,
                                 gpointer           user_data,
                                 gboolean          *is_object,
                                 GError           **error);
/* clang-format on */

G_END_DECLS
