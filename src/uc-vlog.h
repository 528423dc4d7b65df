/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "uc-log-writer.h"
#include "uc-server.h"
#include "uc-types.h"
#include "uc-worker.h"

G_BEGIN_DECLS

/* Bytes of log lines the daemon keeps for the log file while the worker
 * cannot write them (stopped, restarting, slow disk); past it, lines are
 * dropped, counted, and the loss is logged once writing resumes. */
#define UC_VLOG_MAX_BUFFERED (4 * 1024 * 1024)

/* Open vSwitch's default patterns. */
/* clang-format off */
#define UC_VLOG_DEFAULT_CONSOLE_PATTERN "%D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m"
#define UC_VLOG_DEFAULT_SYSLOG_PATTERN  "ovs|%05N|%c%T|%p|%m"
#define UC_VLOG_DEFAULT_FILE_PATTERN    "%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m"
/* clang-format on */

/* What a --syslog-target receives, one UDP datagram per message: RFC 5424
 * with a UTF-8 BOM before the message, exactly as Open vSwitch sends it.
 * Not settable, as in Open vSwitch. */
#define UC_VLOG_SYSLOG_TARGET_PATTERN \
  "<%B>1 %D{%Y-%m-%dT%H:%M:%S.###Z} %E %A %P %c - \xef\xbb\xbf%m"

/* The module of messages logged without a domain. */
#define UC_VLOG_DEFAULT_MODULE "default"

/**
 * UcVlogLevel:
 * @UC_VLOG_LEVEL_OFF: nothing is logged
 * @UC_VLOG_LEVEL_EMER: g_error()
 * @UC_VLOG_LEVEL_ERR: g_critical()
 * @UC_VLOG_LEVEL_WARN: g_warning()
 * @UC_VLOG_LEVEL_INFO: g_message()
 * @UC_VLOG_LEVEL_DBG: g_info() and g_debug()
 *
 * Open vSwitch's log levels, from the most severe, and the GLib levels
 * that map to them.  GLib's "info" level maps to "dbg": GLib hides it by
 * default as Open vSwitch hides "dbg", and in syslog terms Open vSwitch's
 * "info" is NOTICE, which is what GLib's "message" level is.
 */
typedef enum
{
  UC_VLOG_LEVEL_OFF,
  UC_VLOG_LEVEL_EMER,
  UC_VLOG_LEVEL_ERR,
  UC_VLOG_LEVEL_WARN,
  UC_VLOG_LEVEL_INFO,
  UC_VLOG_LEVEL_DBG,
} UcVlogLevel;

#define UC_VLOG_N_LEVELS (UC_VLOG_LEVEL_DBG + 1)

/**
 * UcVlogDestination:
 * @UC_VLOG_DESTINATION_ANY: every destination, where a function takes it
 * @UC_VLOG_DESTINATION_CONSOLE: standard error
 * @UC_VLOG_DESTINATION_SYSLOG: the systemd journal when there is one,
 *   else syslog(3)
 * @UC_VLOG_DESTINATION_FILE: the log file (`--log-file`)
 *
 * Where log messages go; each destination has its own level per module
 * and its own pattern.
 */
typedef enum
{
  UC_VLOG_DESTINATION_ANY = -1,
  UC_VLOG_DESTINATION_CONSOLE,
  UC_VLOG_DESTINATION_SYSLOG,
  UC_VLOG_DESTINATION_FILE,
} UcVlogDestination;

#define UC_VLOG_N_DESTINATIONS (UC_VLOG_DESTINATION_FILE + 1)

/**
 * UcVlogRecord:
 * @program_name: `%A`
 * @module: `%c`
 * @level: `%p`, and with @facility `%B`
 * @message: `%m`
 * @serial: `%N`
 * @time_us: the wall-clock time, for `%d` and `%D`
 * @uptime_ms: `%r`
 * @subprogram: `%t` and `%T`: the thread's name, or "" for the main one
 * @facility: the syslog facility, for `%B` (`LOG_LOCAL0` if 0)
 * @hostname: `%E`
 * @pid: `%P`
 *
 * One message, as uc_vlog_format() formats it.
 */
typedef struct
{
  const char *program_name;
  const char *module;
  UcVlogLevel level;
  const char *message;
  guint64 serial;
  gint64 time_us;
  gint64 uptime_ms;
  const char *subprogram;
  int facility;
  const char *hostname;
  long pid;
} UcVlogRecord;

#define UC_TYPE_VLOG (uc_vlog_get_type ())
G_DECLARE_FINAL_TYPE (UcVlog, uc_vlog, UC, VLOG, GObject)

/* clang-format off */
const char   *uc_vlog_level_to_string       (UcVlogLevel          level);
gboolean      uc_vlog_level_from_string     (const char          *name,
                                             UcVlogLevel         *level);
UcVlogLevel   uc_vlog_level_from_glib       (GLogLevelFlags       log_level);
const char   *uc_vlog_destination_to_string (UcVlogDestination    destination);
void          uc_vlog_format                (GString             *out,
                                             const char          *pattern,
                                             const UcVlogRecord  *record);
char         *uc_vlog_get_log_dir           (void);

UcVlog       *uc_vlog_new                   (const char          *program_name);
void          uc_vlog_install               (UcVlog              *self);
void          uc_vlog_uninstall             (UcVlog              *self);
UcVlog       *uc_vlog_get_default           (void);

gboolean      uc_vlog_is_enabled            (UcVlog              *self,
                                             const char          *log_domain,
                                             GLogLevelFlags       log_level);
GLogWriterOutput uc_vlog_write              (UcVlog              *self,
                                             GLogLevelFlags       log_level,
                                             const GLogField     *fields,
                                             gsize                n_fields);

gboolean      uc_vlog_set_levels_from_string (UcVlog             *self,
                                              const char         *spec,
                                              GError            **error);
gboolean      uc_vlog_set_verbosity         (UcVlog              *self,
                                             const char          *spec,
                                             GError             **error);
void          uc_vlog_set_levels            (UcVlog              *self,
                                             const char          *module,
                                             UcVlogDestination    destination,
                                             UcVlogLevel          level);
UcVlogLevel   uc_vlog_get_level             (UcVlog              *self,
                                             const char          *module,
                                             UcVlogDestination    destination);
void          uc_vlog_set_rate_limit        (UcVlog              *self,
                                             const char          *module,
                                             gboolean             enabled);
gboolean      uc_vlog_get_rate_limit        (UcVlog              *self,
                                             const char          *module);
void          uc_vlog_set_pattern           (UcVlog              *self,
                                             UcVlogDestination    destination,
                                             const char          *pattern);
char         *uc_vlog_get_pattern           (UcVlog              *self,
                                             UcVlogDestination    destination);
gboolean      uc_vlog_set_syslog_target     (UcVlog              *self,
                                             const char          *target,
                                             GError             **error);
gboolean      uc_vlog_set_syslog_method     (UcVlog              *self,
                                             const char          *method,
                                             GError             **error);
void          uc_vlog_set_facility          (UcVlog              *self,
                                             int                  facility);
char         *uc_vlog_list                  (UcVlog              *self);
JsonNode     *uc_vlog_list_json             (UcVlog              *self);
char         *uc_vlog_list_patterns         (UcVlog              *self);
JsonNode     *uc_vlog_list_patterns_json    (UcVlog              *self);

gboolean      uc_vlog_set_log_file          (UcVlog              *self,
                                             const char          *path,
                                             GError             **error);
UcLogWriter  *uc_vlog_get_log_writer        (UcVlog              *self);
void          uc_vlog_set_worker            (UcVlog              *self,
                                             UcWorker            *worker);
void          uc_vlog_close_log_file        (UcVlog              *self);
void          uc_vlog_flush_sync            (UcVlog              *self);
void          uc_vlog_reopen_log_file_async (UcVlog              *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean      uc_vlog_reopen_log_file_finish (UcVlog             *self,
                                              GAsyncResult       *result,
                                              GError            **error);

void          uc_vlog_register_commands     (UcVlog              *self,
                                             UcServer            *server);
/* clang-format on */

G_END_DECLS
