/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "uc-types.h"

G_BEGIN_DECLS

/* How long a `pssl:` listener waits for a client to complete its TLS
 * handshake before it drops the connection, unless the listener is given
 * a shorter time (uc_pstream_set_handshake_timeout()). */
#define UC_TLS_HANDSHAKE_TIMEOUT_MS 10000

/* How many TLS handshakes a `pssl:` listener runs at once.  Clients past
 * it are closed at once, so that connections that never complete a
 * handshake cannot take every descriptor. */
#define UC_TLS_MAX_HANDSHAKES 64

#define UC_TYPE_TLS_CONFIG (uc_tls_config_get_type ())
G_DECLARE_FINAL_TYPE (UcTlsConfig, uc_tls_config, UC, TLS_CONFIG, GObject)

/* clang-format off */
UcTlsConfig     *uc_tls_config_new_from_files  (const char    *private_key,
                                                const char    *certificate,
                                                const char    *ca_cert,
                                                GError       **error);
GTlsCertificate *uc_tls_config_get_certificate (UcTlsConfig   *self);
GTlsDatabase    *uc_tls_config_get_database    (UcTlsConfig   *self);
GIOStream       *uc_tls_config_wrap_client     (UcTlsConfig   *self,
                                                GIOStream     *base,
                                                GError       **error);
GIOStream       *uc_tls_config_wrap_server     (UcTlsConfig   *self,
                                                GIOStream     *base,
                                                GError       **error);
void             uc_tls_explain_handshake_error (GTlsConnection *tls,
                                                 GError        **error);
/* clang-format on */

G_END_DECLS
