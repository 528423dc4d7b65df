/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "uc-types.h"

G_BEGIN_DECLS

/**
 * UcJsonrpcMessageType:
 * @UC_JSONRPC_MESSAGE_REQUEST: method, params and a non-null id.
 * @UC_JSONRPC_MESSAGE_NOTIFY: method and params, id absent or null.
 * @UC_JSONRPC_MESSAGE_REPLY: a non-null result and an id.
 * @UC_JSONRPC_MESSAGE_ERROR: a non-null error and an id.
 *
 * The four kinds of JSON-RPC 1.0 message, classified as Open vSwitch does.
 */
typedef enum
{
  UC_JSONRPC_MESSAGE_REQUEST,
  UC_JSONRPC_MESSAGE_NOTIFY,
  UC_JSONRPC_MESSAGE_REPLY,
  UC_JSONRPC_MESSAGE_ERROR,
} UcJsonrpcMessageType;

#define UC_TYPE_JSONRPC_MESSAGE (uc_jsonrpc_message_get_type ())

/* clang-format off */
GType                 uc_jsonrpc_message_get_type     (void) G_GNUC_CONST;

UcJsonrpcMessage     *uc_jsonrpc_message_new_request  (const char        *method,
                                                       JsonNode          *params,
                                                       JsonNode          *id);
UcJsonrpcMessage     *uc_jsonrpc_message_new_notify   (const char        *method,
                                                       JsonNode          *params);
UcJsonrpcMessage     *uc_jsonrpc_message_new_reply    (JsonNode          *result,
                                                       JsonNode          *id);
UcJsonrpcMessage     *uc_jsonrpc_message_new_error    (JsonNode          *error,
                                                       JsonNode          *id);
UcJsonrpcMessage     *uc_jsonrpc_message_parse        (const char        *text,
                                                       gsize              length,
                                                       GError           **error);

UcJsonrpcMessage     *uc_jsonrpc_message_ref          (UcJsonrpcMessage  *self);
void                  uc_jsonrpc_message_unref        (UcJsonrpcMessage  *self);

UcJsonrpcMessageType  uc_jsonrpc_message_get_message_type (UcJsonrpcMessage *self);
const char           *uc_jsonrpc_message_get_method   (UcJsonrpcMessage  *self);
JsonArray            *uc_jsonrpc_message_get_params   (UcJsonrpcMessage  *self);
JsonNode             *uc_jsonrpc_message_get_result   (UcJsonrpcMessage  *self);
JsonNode             *uc_jsonrpc_message_get_error    (UcJsonrpcMessage  *self);
JsonNode             *uc_jsonrpc_message_get_id       (UcJsonrpcMessage  *self);

char                 *uc_jsonrpc_message_to_string    (UcJsonrpcMessage  *self,
                                                       gsize             *length);
void                  uc_jsonrpc_message_serialize    (UcJsonrpcMessage  *self,
                                                       GString           *out);
const char           *uc_jsonrpc_message_type_to_string (UcJsonrpcMessageType type);
/* clang-format on */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UcJsonrpcMessage, uc_jsonrpc_message_unref)

G_END_DECLS
