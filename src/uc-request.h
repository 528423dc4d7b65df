/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "uc-types.h"

G_BEGIN_DECLS

/**
 * UcOutputFormat:
 * @UC_OUTPUT_FORMAT_TEXT: replies are plain text (Open vSwitch's default).
 * @UC_OUTPUT_FORMAT_JSON: replies are JSON values; plain-text replies are
 *   wrapped as `{"reply-format":"plain","reply":TEXT}`.
 *
 * The output format a client asked for with `set-options --format`.  It is
 * per connection, and every request carries the one in force when it
 * arrived.
 */
typedef enum
{
  UC_OUTPUT_FORMAT_TEXT,
  UC_OUTPUT_FORMAT_JSON,
} UcOutputFormat;

#define UC_TYPE_REQUEST (uc_request_get_type ())
G_DECLARE_FINAL_TYPE (UcRequest, uc_request, UC, REQUEST, GObject)

/**
 * UcRequestReplyFunc:
 * @request: the request being answered
 * @success: %TRUE for a result, %FALSE for an error
 * @body: (transfer none): the reply body, already shaped for the wire by
 *   the rules of the request's output format (text replies end in a
 *   newline when non-empty; JSON-mode text is wrapped)
 * @user_data: the transport's data
 *
 * How a transport learns a request's answer.  Called once, from the main
 * context, when the handler replies; never if the transport cancelled the
 * request first (uc_request_cancel()).
 */
typedef void (*UcRequestReplyFunc) (UcRequest *request,
                                    gboolean success,
                                    JsonNode *body,
                                    gpointer user_data);

/* clang-format off */
UcRequest      *uc_request_new             (const char * const  *argv,
                                            UcOutputFormat       format,
                                            GCredentials        *credentials,
                                            UcRequestReplyFunc   reply_func,
                                            gpointer             user_data,
                                            GDestroyNotify       user_data_free);

const char     *uc_request_get_command     (UcRequest           *self);
const char * const *uc_request_get_argv    (UcRequest           *self);
guint           uc_request_get_argc        (UcRequest           *self);
UcOutputFormat  uc_request_get_format      (UcRequest           *self);
void            uc_request_set_format      (UcRequest           *self,
                                            UcOutputFormat       format);
GCredentials   *uc_request_get_credentials (UcRequest           *self);
GCancellable   *uc_request_get_cancellable (UcRequest           *self);
gboolean        uc_request_is_answered     (UcRequest           *self);

void            uc_request_reply           (UcRequest           *self,
                                            const char          *text);
void            uc_request_reply_json      (UcRequest           *self,
                                            JsonNode            *result);
void            uc_request_reply_error     (UcRequest           *self,
                                            const char          *text);
void            uc_request_reply_error_printf (UcRequest        *self,
                                               const char       *format,
                                               ...) G_GNUC_PRINTF (2, 3);
void            uc_request_cancel          (UcRequest           *self);
/* clang-format on */

G_END_DECLS
