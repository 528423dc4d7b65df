/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "uc-pstream.h"
#include "uc-server.h"
#include "uc-types.h"

G_BEGIN_DECLS

/* What `--unixctl` takes to mean "no control socket". */
#define UC_DAEMON_UNIXCTL_NONE "none"

#define UC_TYPE_DAEMON (uc_daemon_get_type ())
G_DECLARE_FINAL_TYPE (UcDaemon, uc_daemon, UC, DAEMON, GObject)

/* clang-format off */
char       *uc_daemon_resolve_rundir    (const char   *option);
gboolean    uc_daemon_ensure_rundir     (const char   *rundir,
                                         GError      **error);
guint64     uc_daemon_raise_fd_limit    (void);

UcDaemon   *uc_daemon_new               (const char   *program_name,
                                         const char   *version,
                                         const char   *rundir);
void        uc_daemon_set_pidfile       (UcDaemon     *self,
                                         const char   *path,
                                         gboolean      overwrite);
void        uc_daemon_set_unixctl       (UcDaemon     *self,
                                         const char   *path);
void        uc_daemon_add_remote        (UcDaemon     *self,
                                         UcPstream    *pstream);
void        uc_daemon_set_detach        (UcDaemon     *self,
                                         gboolean      detach,
                                         gboolean      chdir_root);

gboolean    uc_daemon_start             (UcDaemon     *self,
                                         GError      **error);
UcServer   *uc_daemon_get_server        (UcDaemon     *self);
gboolean    uc_daemon_listen            (UcDaemon     *self,
                                         GError      **error);
int         uc_daemon_run               (UcDaemon     *self);
void        uc_daemon_quit              (UcDaemon     *self);
void        uc_daemon_report_error      (UcDaemon     *self,
                                         const GError *error);
/* clang-format on */

G_END_DECLS
