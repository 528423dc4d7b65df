/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "uc-types.h"

G_BEGIN_DECLS

#define UC_TYPE_PIDFILE (uc_pidfile_get_type ())
G_DECLARE_FINAL_TYPE (UcPidfile, uc_pidfile, UC, PIDFILE, GObject)

/* clang-format off */
UcPidfile  *uc_pidfile_acquire   (const char  *path,
                                  gboolean     overwrite,
                                  GError     **error);
const char *uc_pidfile_get_path  (UcPidfile   *self);
void        uc_pidfile_release   (UcPidfile   *self);

gboolean    uc_pidfile_read      (const char  *path,
                                  GPid        *pid,
                                  GError     **error);
/* clang-format on */

G_END_DECLS
