/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Forward declarations of every unixctld type, so that headers can name
 * each other's types without including each other.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _UcStream UcStream;
typedef struct _UcPstream UcPstream;
typedef struct _UcJsonFramer UcJsonFramer;
typedef struct _UcJsonrpcMessage UcJsonrpcMessage;
typedef struct _UcJsonrpc UcJsonrpc;
typedef struct _UcRateLimit UcRateLimit;
typedef struct _UcTlsConfig UcTlsConfig;

G_END_DECLS
