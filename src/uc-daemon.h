/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "uc-pstream.h"
#include "uc-server.h"
#include "uc-types.h"
#include "uc-vlog.h"
#include "uc-worker.h"

G_BEGIN_DECLS

/* What `--unixctl` takes to mean "no control socket". */
#define UC_DAEMON_UNIXCTL_NONE "none"

/**
 * UcDaemonDbusFlags:
 * @UC_DAEMON_DBUS_FLAGS_NONE: the bus is required: failing to connect to
 *   it is a start-up failure.
 * @UC_DAEMON_DBUS_FLAGS_OPTIONAL: failing to connect is logged, and the
 *   daemon runs without the D-Bus mirror (the default bus choice).
 * @UC_DAEMON_DBUS_FLAGS_REPLACE: take the bus name from the instance that
 *   owns it (`--replace`).
 *
 * How uc_daemon_listen() puts the daemon on D-Bus.
 */
typedef enum
{
  UC_DAEMON_DBUS_FLAGS_NONE = 0,
  UC_DAEMON_DBUS_FLAGS_OPTIONAL = 1 << 0,
  UC_DAEMON_DBUS_FLAGS_REPLACE = 1 << 1,
} UcDaemonDbusFlags;

#define UC_TYPE_DAEMON (uc_daemon_get_type ())
G_DECLARE_FINAL_TYPE (UcDaemon, uc_daemon, UC, DAEMON, GObject)

/* clang-format off */
char       *uc_daemon_resolve_rundir    (const char   *option);
gboolean    uc_daemon_ensure_rundir     (const char   *rundir,
                                         GError      **error);
guint64     uc_daemon_raise_fd_limit    (void);
gboolean    uc_daemon_sd_notify         (const char   *state,
                                         GError      **error);

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
void        uc_daemon_set_worker        (UcDaemon     *self,
                                         UcWorker     *worker);
void        uc_daemon_set_vlog          (UcDaemon     *self,
                                         UcVlog       *vlog);
void        uc_daemon_set_dbus          (UcDaemon     *self,
                                         GBusType      bus_type,
                                         UcDaemonDbusFlags flags);

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
