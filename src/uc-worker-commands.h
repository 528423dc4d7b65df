/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "uc-server.h"
#include "uc-types.h"
#include "uc-worker.h"

G_BEGIN_DECLS

/* Bytes `worker/ping` sends when not told otherwise. */
#define UC_WORKER_PING_DEFAULT_BYTES 16

/* clang-format off */
void uc_worker_commands_register (UcServer           *server,
                                  UcWorker           *worker,
                                  const char * const *stats_paths);
/* clang-format on */

G_END_DECLS
