/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Name parsing shared by the active (uc-stream.c) and passive
 * (uc-pstream*.c) stream layers, so that `unix:` and `punix:`, or a port in
 * `tcp:` and in `ptcp:`, are checked by the same code and rejected with the
 * same words.  Private to the stream layer.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Longest part of a name, in bytes, that an error message quotes. */
#define UC_STREAM_QUOTE_MAX 64

/**
 * UcStreamKind:
 * @UC_STREAM_KIND_ACTIVE: a name for uc_stream_new() (`unix:`, `tcp:`, ...)
 * @UC_STREAM_KIND_PASSIVE: a name for uc_pstream_new() (`punix:`, ...)
 *
 * Which parser a message comes from: the two accept different port ranges
 * and say "stream" or "passive stream".
 */
typedef enum
{
  UC_STREAM_KIND_ACTIVE,
  UC_STREAM_KIND_PASSIVE,
} UcStreamKind;

/* clang-format off */
char     *uc_stream_quote              (const char    *text);
void      uc_stream_set_invalid_name   (GError       **error,
                                        UcStreamKind   kind,
                                        const char    *name,
                                        const char    *format,
                                        ...) G_GNUC_PRINTF (4, 5);
gssize    uc_stream_lookup_type        (UcStreamKind   kind,
                                        const char    *name,
                                        gconstpointer  types,
                                        gsize          n_types,
                                        gsize          type_size,
                                        const char   **suffix,
                                        GError       **error);
gboolean  uc_stream_parse_unix_path    (UcStreamKind   kind,
                                        const char    *name,
                                        const char    *file,
                                        const char    *rundir,
                                        char         **path,
                                        GError       **error);
gboolean  uc_stream_parse_port         (UcStreamKind   kind,
                                        const char    *name,
                                        const char    *text,
                                        guint16       *port,
                                        GError       **error);
gboolean  uc_stream_is_ipv6_literal    (const char    *text);
gboolean  uc_stream_parse_ip           (UcStreamKind   kind,
                                        const char    *name,
                                        const char    *text,
                                        GInetAddress **address,
                                        GError       **error);
void      uc_stream_set_tcp_nodelay    (GSocketConnection *connection);
/* clang-format on */

G_END_DECLS
