/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The passive stream classes behind uc_pstream_new(), and the few calls
 * between the base class and them.  Private to the stream layer and its
 * tests.
 */
#pragma once

#include "uc-pstream.h"

G_BEGIN_DECLS

/* clang-format off */
/* `punix:FILE` (uc-pstream-unix.c). */
#define UC_TYPE_PSTREAM_UNIX (uc_pstream_unix_get_type ())
G_DECLARE_FINAL_TYPE (UcPstreamUnix, uc_pstream_unix, UC, PSTREAM_UNIX, UcPstream)

/* `ptcp:[PORT][:IP]` (uc-pstream-tcp.c).  Derivable: `pssl:` is `ptcp:`
 * plus a handshake. */
#define UC_TYPE_PSTREAM_TCP (uc_pstream_tcp_get_type ())
G_DECLARE_DERIVABLE_TYPE (UcPstreamTcp, uc_pstream_tcp, UC, PSTREAM_TCP, UcPstream)

struct _UcPstreamTcpClass
{
  UcPstreamClass parent_class;
};

/* `pssl:[PORT][:IP]` (uc-pstream-ssl.c). */
#define UC_TYPE_PSTREAM_SSL (uc_pstream_ssl_get_type ())
G_DECLARE_FINAL_TYPE (UcPstreamSsl, uc_pstream_ssl, UC, PSTREAM_SSL, UcPstreamTcp)

void  uc_pstream_set_path                  (UcPstream  *self,
                                            const char *path);
void  uc_pstream_set_port                  (UcPstream  *self,
                                            guint16     port);
guint uc_pstream_get_n_accepts_for_testing (UcPstream  *self);
/* clang-format on */

G_END_DECLS
