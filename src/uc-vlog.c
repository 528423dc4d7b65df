/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "vlog"

#include "config.h"

#include "uc-vlog.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <pthread.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "uc-coverage.h"
#include "uc-error.h"
#include "uc-fd.h"

/**
 * UcVlog:
 *
 * Open vSwitch's logging ("vlog") on GLib's: every GLib log domain is a
 * module (`#define G_LOG_DOMAIN "jsonrpc"` makes the module `jsonrpc`),
 * and a structured log writer (g_log_set_writer_func()) sends each
 * message to the destinations whose level for its module lets it
 * through: the console (standard error), syslog (the systemd journal when
 * there is one, else syslog(3), or a socket: uc_vlog_set_syslog_method())
 * and the log file, each formatted by its own pattern; what goes to
 * syslog may also go to a UDP --syslog-target.
 * The vlog commands show and change all of that, with Open vSwitch's
 * syntax, output and error texts.
 *
 * The log file is written by the worker (see #UcLogWriter): logging
 * never waits on the disk.  The console and syslog are written at once,
 * as Open vSwitch does.
 *
 * Messages may be logged from any thread: the configuration is under a
 * lock, never held while anything is written or logged.  GLib itself
 * sends a message logged while a writer runs (say, by a function it
 * calls) to its fallback writer instead, so logging never recurses.
 *
 * The defaults, per destination: console "info", or "off" when standard
 * error is the journal already (a systemd service: the journal gets the
 * messages through syslog, with their priorities) or the daemon has
 * detached; syslog "info"; file "info".  `G_MESSAGES_DEBUG`, GLib's
 * switch for debug messages, sets the console to "dbg" for the domains it
 * lists ("all" for every one).
 */

/* The GLib domains of the daemon's modules, and of the libraries it uses,
 * so that `vlog/list` shows them (and `vlog/set` takes them) before their
 * first message.  A domain that logs and is not here is added then.
 * tests/test-vlog.c checks every domain in src/ is here. */
static const char *const known_modules[] = {
  "coverage",        "daemon",          "dbus",    "jsonrpc",
  "memory",          "pidfile",         "pstream", "pstream_ssl",
  "pstream_tcp",     "pstream_unix",    "stream",  "system-stats",
  "unixctl",         "unixctld",        "vlog",    "worker",
  "worker-commands", "worker-protocol", "GLib",    "GLib-GIO",
  "GLib-GObject",    "GLib-Net",        "Json",
};

UC_COVERAGE_DEFINE (vlog_message);

/* Level names as Open vSwitch prints them; they are read in any case. */
static const char *const level_names[UC_VLOG_N_LEVELS] = {
  "OFF", "EMER", "ERR", "WARN", "INFO", "DBG",
};

/* The syslog severities of the levels, as Open vSwitch maps them. */
static const int syslog_levels[UC_VLOG_N_LEVELS] = {
  LOG_ALERT, LOG_ALERT, LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_DEBUG,
};

static const char *const destination_names[UC_VLOG_N_DESTINATIONS] = {
  "console",
  "syslog",
  "file",
};

/* Open vSwitch's facility names; "clock" is its name for cron. */
static const struct
{
  const char *name;
  int value;
} facilities[] = {
  { "kern", LOG_KERN },     { "user", LOG_USER },     { "mail", LOG_MAIL },
  { "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },     { "syslog", LOG_SYSLOG },
  { "lpr", LOG_LPR },       { "news", LOG_NEWS },     { "uucp", LOG_UUCP },
  { "clock", LOG_CRON },    { "ftp", LOG_FTP },       { "local0", LOG_LOCAL0 },
  { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
  { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
  { "local7", LOG_LOCAL7 },
};

/* What libc's syslog() puts before the message, as Open vSwitch shows it
 * in vlog/list-pattern.  The journal takes fields, with no prefix. */
#define SYSLOG_LIBC_PREFIX "<%B> %D{%h %e %T} %E %A:"
/* And what --syslog-method=unix: and udp: put, as Open vSwitch sends it:
 * the priority alone, with the daemon facility unless one is set. */
#define SYSLOG_DIRECT_PREFIX "<%B>"

/* Widths beyond this in a pattern ("%999999m") are cut to it, so that a
 * typo cannot make every line a gigabyte. */
#define MAX_FIELD_WIDTH 1024

typedef struct
{
  char *name; /* (owned) as the domain spells it */
  UcVlogLevel levels[UC_VLOG_N_DESTINATIONS];
  gboolean honor_rate_limits;
} Module;

struct _UcVlog
{
  GObject parent_instance;

  const char *program_name; /* (unowned) interned: syslog keeps it */
  gint64 start_us;          /* monotonic, for %r */
  GThread *owner;           /* (unowned) the thread that made it */

  /* Everything below is under @lock. */
  GMutex lock;
  GHashTable *modules; /* (owned) (element-type utf8 Module) by name,
                        * case-insensitive */
  UcVlogLevel default_levels[UC_VLOG_N_DESTINATIONS]; /* of new modules */
  gboolean default_rate_limit;
  char *patterns[UC_VLOG_N_DESTINATIONS]; /* (owned) */
  int facility;                           /* 0: not set */
  guint64 serial;                         /* %N of the last message */
  UcLogWriter *writer;                    /* (owned) (nullable) */
  gboolean use_journal;                   /* syslog goes to the journal */
  GSocket *syslog_direct; /* (owned) (nullable) --syslog-method=unix: or
                           * udp:, connected and non-blocking */
  GSocket *syslog_target; /* (owned) (nullable) --syslog-target, alike */
};

G_DEFINE_FINAL_TYPE (UcVlog, uc_vlog, G_TYPE_OBJECT)

/* The instance the process's log writer sends messages to. */
static GMutex default_lock;
static UcVlog *default_vlog; /* (owned) (nullable) */

/* syslog(3)'s connection is the process's: one facility at a time. */
static GMutex syslog_lock;
static int syslog_opened_facility = -1;

/**
 * uc_vlog_level_to_string:
 * @level: a level
 *
 * Returns: the level's name as Open vSwitch prints it ("INFO")
 */
const char *
uc_vlog_level_to_string (UcVlogLevel level)
{
  g_return_val_if_fail (level < UC_VLOG_N_LEVELS, NULL);

  return level_names[level];
}

/**
 * uc_vlog_level_from_string:
 * @name: a level's name, in any case
 * @level: (out): where to store the level
 *
 * Returns: %TRUE if @name is a level
 */
gboolean
uc_vlog_level_from_string (const char *name, UcVlogLevel *level)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < UC_VLOG_N_LEVELS; i++)
    {
      if (g_ascii_strcasecmp (name, level_names[i]) == 0)
        {
          *level = (UcVlogLevel) i;
          return TRUE;
        }
    }
  return FALSE;
}

/**
 * uc_vlog_level_from_glib:
 * @log_level: a GLib log level, with or without flags
 *
 * Maps GLib's levels to Open vSwitch's (see #UcVlogLevel).
 *
 * Returns: the level
 */
UcVlogLevel
uc_vlog_level_from_glib (GLogLevelFlags log_level)
{
  if (log_level & G_LOG_LEVEL_ERROR)
    return UC_VLOG_LEVEL_EMER;
  if (log_level & G_LOG_LEVEL_CRITICAL)
    return UC_VLOG_LEVEL_ERR;
  if (log_level & G_LOG_LEVEL_WARNING)
    return UC_VLOG_LEVEL_WARN;
  if (log_level & G_LOG_LEVEL_MESSAGE)
    return UC_VLOG_LEVEL_INFO;
  return UC_VLOG_LEVEL_DBG;
}

/**
 * uc_vlog_destination_to_string:
 * @destination: a destination, not %UC_VLOG_DESTINATION_ANY
 *
 * Returns: its name ("console")
 */
const char *
uc_vlog_destination_to_string (UcVlogDestination destination)
{
  g_return_val_if_fail (
    destination >= 0 && destination < UC_VLOG_N_DESTINATIONS, NULL);

  return destination_names[destination];
}

static gboolean
destination_from_string (const char *name, UcVlogDestination *destination)
{
  for (guint i = 0; i < UC_VLOG_N_DESTINATIONS; i++)
    {
      if (g_ascii_strcasecmp (name, destination_names[i]) == 0)
        {
          *destination = (UcVlogDestination) i;
          return TRUE;
        }
    }
  return FALSE;
}

/* Formatting. */

/* The text between braces at @p, if there are braces; @def otherwise.
 * With @out %NULL, only skips the braces: no copy on every line for a
 * directive that ignores them.  Returns where the pattern goes on. */
static const char *
fetch_braces (const char *p, const char *def, char **out)
{
  const char *end;

  if (*p != '{')
    {
      if (out != NULL)
        *out = g_strdup (def);
      return p;
    }
  end = strchr (p + 1, '}');
  if (end == NULL)
    {
      /* Unterminated: the rest of the pattern (Open vSwitch reads past
       * the end). */
      if (out != NULL)
        *out = g_strdup (p + 1);
      return p + strlen (p);
    }
  if (out != NULL)
    *out = g_strndup (p + 1, end - (p + 1));
  return end + 1;
}

/* strftime() of @format at @time_us, in UTC or local time, with each
 * "###" replaced by the milliseconds, as Open vSwitch's %d and %D do. */
static void
append_time (GString *out, const char *format, gint64 time_us, gboolean utc)
{
  time_t seconds = (time_t) (time_us / G_USEC_PER_SEC);
  int msec = (int) (time_us % G_USEC_PER_SEC / 1000);
  char decimals[4];
  struct tm tm;
  gsize size = 128;
  gsize start = out->len;
  gsize n = 0;

  if (*format == '\0')
    return;
  if (utc)
    gmtime_r (&seconds, &tm);
  else
    localtime_r (&seconds, &tm);

  /* strftime() returns 0 when the buffer is too small: grow it, up to a
   * limit (a format whose output is empty also returns 0). */
  while (size <= 64 * 1024)
    {
      g_string_set_size (out, start + size);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
      n = strftime (out->str + start, size, format, &tm);
#pragma GCC diagnostic pop
      if (n > 0)
        break;
      size *= 4;
    }
  g_string_set_size (out, start + n);

  g_snprintf (decimals, sizeof decimals, "%03d", msec);
  for (char *p = strstr (out->str + start, "###"); p != NULL;
       p = strstr (p + 3, "###"))
    memcpy (p, decimals, 3);
}

/**
 * uc_vlog_format:
 * @out: where to append
 * @pattern: an Open vSwitch log pattern
 * @record: the message
 *
 * Formats @record by @pattern, as Open vSwitch does: `%A` program name,
 * `%B` syslog priority, `%c` module, `%d` and `%D` local and UTC time
 * (`%d{FORMAT}`: a strftime() format, where `###` stands for the
 * milliseconds; the default is `%Y-%m-%d %H:%M:%S.###`), `%E` host name,
 * `%m` message (without trailing newlines), `%N` serial number, `%n`
 * newline, `%p` level, `%P` process id, `%r` milliseconds since start,
 * `%t` thread name ("main" for the main thread), `%T` the same in
 * parentheses, or nothing for the main thread, `%%` a percent sign.  A
 * directive may have a width, right-justified (`%5N`), left-justified
 * (`%-5N`) or zero-padded (`%05N`).  Any other character after `%` is
 * copied.
 */
void
uc_vlog_format (GString *out, const char *pattern, const UcVlogRecord *record)
{
  const char *p = pattern;

  g_return_if_fail (out != NULL);
  g_return_if_fail (pattern != NULL);
  g_return_if_fail (record != NULL);

  while (*p != '\0')
    {
      g_autofree char *braces = NULL;
      gboolean left = FALSE;
      char pad = ' ';
      gsize field = 0;
      gsize start;
      gsize used;

      if (*p != '%')
        {
          const char *next = strchr (p, '%');
          gsize n = next != NULL ? (gsize) (next - p) : strlen (p);

          g_string_append_len (out, p, n);
          p += n;
          continue;
        }

      p++;
      if (*p == '-')
        {
          left = TRUE;
          p++;
        }
      if (*p == '0')
        {
          pad = '0';
          p++;
        }
      while (g_ascii_isdigit (*p))
        {
          field = MIN (field * 10 + (gsize) (*p - '0'), MAX_FIELD_WIDTH);
          p++;
        }
      if (*p == '\0')
        {
          /* A pattern that ends in "%": Open vSwitch reads past its end. */
          g_string_append_c (out, '%');
          break;
        }

      start = out->len;
      switch (*p++)
        {
          case 'A':
            g_string_append (out, record->program_name);
            break;
          case 'B':
            g_string_append_printf (
              out, "%d",
              (record->facility != 0 ? record->facility : LOG_LOCAL0) +
                syslog_levels[record->level]);
            break;
          case 'c':
            p = fetch_braces (p, NULL, NULL);
            g_string_append (out, record->module);
            break;
          case 'd':
          case 'D':
            {
              gboolean utc = p[-1] == 'D';

              p = fetch_braces (p, "%Y-%m-%d %H:%M:%S.###", &braces);
              append_time (out, braces, record->time_us, utc);
            }
            break;
          case 'E':
            g_string_append (out, record->hostname);
            break;
          case 'm':
            g_string_append (out, record->message);
            while (out->len > start && out->str[out->len - 1] == '\n')
              g_string_truncate (out, out->len - 1);
            break;
          case 'N':
            g_string_append_printf (out, "%" G_GUINT64_FORMAT, record->serial);
            break;
          case 'n':
            g_string_append_c (out, '\n');
            break;
          case 'p':
            g_string_append (out, level_names[record->level]);
            break;
          case 'P':
            g_string_append_printf (out, "%ld", record->pid);
            break;
          case 'r':
            g_string_append_printf (out, "%" G_GINT64_FORMAT,
                                    record->uptime_ms);
            break;
          case 't':
            g_string_append (
              out, record->subprogram[0] != '\0' ? record->subprogram : "main");
            break;
          case 'T':
            if (record->subprogram[0] != '\0')
              g_string_append_printf (out, "(%s)", record->subprogram);
            break;
          default:
            g_string_append_c (out, p[-1]);
            break;
        }

      used = out->len - start;
      if (used < field)
        {
          gsize n_pad = field - used;

          if (left)
            {
              for (gsize i = 0; i < n_pad; i++)
                g_string_append_c (out, pad);
            }
          else
            {
              g_autofree char *padding = g_strnfill (n_pad, pad);

              g_string_insert (out, (gssize) start, padding);
            }
        }
    }
}

/**
 * uc_vlog_get_log_dir:
 *
 * Where the default log file goes: `$OVS_LOGDIR`, else the XDG state
 * directory's `unixctld` (`$XDG_STATE_HOME/unixctld`, by default
 * `~/.local/state/unixctld`).
 *
 * Returns: (transfer full): the directory
 */
char *
uc_vlog_get_log_dir (void)
{
  const char *env = g_getenv ("OVS_LOGDIR");

  if (env != NULL && *env != '\0')
    return g_canonicalize_filename (env, NULL);
  return g_build_filename (g_get_user_state_dir (), PACKAGE_NAME, NULL);
}

/* Modules. */

static guint
module_hash (gconstpointer key)
{
  guint hash = 5381;

  for (const char *p = key; *p != '\0'; p++)
    hash = hash * 33 + (guint) g_ascii_tolower (*p);
  return hash;
}

static gboolean
module_equal (gconstpointer a, gconstpointer b)
{
  return g_ascii_strcasecmp (a, b) == 0;
}

static void
module_free (gpointer data)
{
  Module *module = data;

  g_free (module->name);
  g_free (module);
}

/* The module named @name, made with the default levels if it is new.
 * Called with the lock held. */
static Module *
ensure_module_locked (UcVlog *self, const char *name)
{
  Module *module = g_hash_table_lookup (self->modules, name);

  if (module != NULL)
    return module;
  module = g_new0 (Module, 1);
  module->name = g_strdup (name);
  memcpy (module->levels, self->default_levels, sizeof module->levels);
  module->honor_rate_limits = self->default_rate_limit;
  g_hash_table_insert (self->modules, module->name, module);
  return module;
}

static void
set_levels_locked (UcVlog *self,
                   Module *module,
                   UcVlogDestination destination,
                   UcVlogLevel level)
{
  for (int d = 0; d < UC_VLOG_N_DESTINATIONS; d++)
    {
      if (destination != UC_VLOG_DESTINATION_ANY && destination != d)
        continue;
      if (module != NULL)
        module->levels[d] = level;
      else
        {
          GHashTableIter iter;
          gpointer value;

          /* All modules, and those yet to come. */
          self->default_levels[d] = level;
          g_hash_table_iter_init (&iter, self->modules);
          while (g_hash_table_iter_next (&iter, NULL, &value))
            ((Module *) value)->levels[d] = level;
        }
    }
}

/* Applies G_MESSAGES_DEBUG: "dbg" on the console for the domains it
 * names, as GLib's default writer shows them. */
static void
apply_messages_debug (UcVlog *self)
{
  const char *env = g_getenv ("G_MESSAGES_DEBUG");
  g_auto (GStrv) domains = NULL;

  if (env == NULL || *env == '\0')
    return;
  domains = g_strsplit_set (env, " ,", -1);
  for (char **d = domains; *d != NULL; d++)
    {
      if (**d == '\0')
        continue;
      if (strcmp (*d, "all") == 0)
        set_levels_locked (self, NULL, UC_VLOG_DESTINATION_CONSOLE,
                           UC_VLOG_LEVEL_DBG);
      else
        ensure_module_locked (self, *d)->levels[UC_VLOG_DESTINATION_CONSOLE] =
          UC_VLOG_LEVEL_DBG;
    }
}

/**
 * uc_vlog_new:
 * @program_name: the program's name, for `%A` and syslog
 *
 * Creates a logging configuration with the default levels and patterns
 * (see #UcVlog), `G_MESSAGES_DEBUG` applied, and no log file.  It logs
 * nothing until uc_vlog_install() makes it the process's.
 *
 * Returns: (transfer full): a new #UcVlog
 */
UcVlog *
uc_vlog_new (const char *program_name)
{
  UcVlog *self;
  const char *journal_stream = g_getenv ("JOURNAL_STREAM");

  g_return_val_if_fail (program_name != NULL, NULL);

  self = g_object_new (UC_TYPE_VLOG, NULL);
  self->program_name = g_intern_string (program_name);
  self->use_journal =
    (journal_stream != NULL && *journal_stream != '\0') ||
    g_file_test ("/run/systemd/journal/socket", G_FILE_TEST_EXISTS);
  /* A service's standard error is the journal already: the syslog
   * destination gives it the same messages, with their priorities. */
  if (g_log_writer_is_journald (STDERR_FILENO))
    self->default_levels[UC_VLOG_DESTINATION_CONSOLE] = UC_VLOG_LEVEL_OFF;

  g_mutex_lock (&self->lock);
  for (gsize i = 0; i < G_N_ELEMENTS (known_modules); i++)
    ensure_module_locked (self, known_modules[i]);
  apply_messages_debug (self);
  g_mutex_unlock (&self->lock);
  return self;
}

static GLogWriterOutput
log_writer (GLogLevelFlags log_level,
            const GLogField *fields,
            gsize n_fields,
            gpointer user_data)
{
  g_autoptr (UcVlog) vlog = NULL;

  g_mutex_lock (&default_lock);
  if (default_vlog != NULL)
    vlog = g_object_ref (default_vlog);
  g_mutex_unlock (&default_lock);

  if (vlog == NULL)
    return g_log_writer_default (log_level, fields, n_fields, user_data);
  return uc_vlog_write (vlog, log_level, fields, n_fields);
}

/**
 * uc_vlog_install:
 * @self: a configuration
 *
 * Makes @self the process's logging: GLib's log writer sends it every
 * message from then on, and the rate limiters of uc_log_rl() follow its
 * per-module settings.  The first call installs the writer, which GLib
 * allows once per process; later calls only switch instances.
 */
void
uc_vlog_install (UcVlog *self)
{
  static gsize writer_installed = 0;

  g_return_if_fail (UC_IS_VLOG (self));

  g_mutex_lock (&default_lock);
  g_set_object (&default_vlog, self);
  g_mutex_unlock (&default_lock);

  if (g_once_init_enter (&writer_installed))
    {
      g_log_set_writer_func (log_writer, NULL, NULL);
      g_once_init_leave (&writer_installed, 1);
    }
}

/**
 * uc_vlog_uninstall:
 * @self: a configuration
 *
 * Undoes uc_vlog_install() if @self is the process's logging: messages go
 * to GLib's default writer again.
 */
void
uc_vlog_uninstall (UcVlog *self)
{
  g_autoptr (UcVlog) old = NULL;

  g_return_if_fail (UC_IS_VLOG (self));

  g_mutex_lock (&default_lock);
  if (default_vlog == self)
    old = g_steal_pointer (&default_vlog);
  g_mutex_unlock (&default_lock);
}

/**
 * uc_vlog_get_default:
 *
 * The installed configuration (see uc_vlog_install()).  Main thread only:
 * it may be uninstalled from there at any time.
 *
 * Returns: (transfer none) (nullable): the configuration, or %NULL
 */
UcVlog *
uc_vlog_get_default (void)
{
  UcVlog *vlog;

  g_mutex_lock (&default_lock);
  vlog = default_vlog;
  g_mutex_unlock (&default_lock);
  return vlog;
}

/* The most verbose level of @module over its destinations; the file
 * counts only with a log file.  Called with the lock held. */
static UcVlogLevel
module_max_level_locked (UcVlog *self, const UcVlogLevel *levels)
{
  UcVlogLevel max = MAX (levels[UC_VLOG_DESTINATION_CONSOLE],
                         levels[UC_VLOG_DESTINATION_SYSLOG]);

  if (self->writer != NULL)
    max = MAX (max, levels[UC_VLOG_DESTINATION_FILE]);
  return max;
}

/**
 * uc_vlog_is_enabled:
 * @self: a configuration
 * @log_domain: (nullable): a GLib log domain
 * @log_level: a GLib log level
 *
 * Returns: whether a message at @log_level in @log_domain would go
 *   anywhere
 */
gboolean
uc_vlog_is_enabled (UcVlog *self,
                    const char *log_domain,
                    GLogLevelFlags log_level)
{
  UcVlogLevel level = uc_vlog_level_from_glib (log_level);
  Module *module;
  gboolean enabled;

  g_return_val_if_fail (UC_IS_VLOG (self), TRUE);

  g_mutex_lock (&self->lock);
  module = g_hash_table_lookup (
    self->modules, log_domain != NULL ? log_domain : UC_VLOG_DEFAULT_MODULE);
  enabled = level <= module_max_level_locked (self, module != NULL
                                                      ? module->levels
                                                      : self->default_levels);
  g_mutex_unlock (&self->lock);
  return enabled;
}

/* The thread's name for %t and %T: "" for the process's main thread. */
static void
get_subprogram (char *name, gsize size)
{
  name[0] = '\0';
  if (gettid () == getpid ())
    return;
  if (pthread_getname_np (pthread_self (), name, size) != 0 || name[0] == '\0')
    g_snprintf (name, size, "thread%ld", (long) gettid ());
}

/* Sends @length bytes of @data to @socket, a connected datagram socket,
 * as Open vSwitch sends to syslog: one datagram, shortened by a twentieth
 * at a time while the network says it is too long, and otherwise sent or
 * lost without a word (a full socket buffer drops it rather than block;
 * and a message about a lost log message would be lost alike). */
static void
send_datagram (GSocket *socket, const char *data, gsize length)
{
  while (length > 0)
    {
      g_autoptr (GError) error = NULL;

      if (g_socket_send_with_blocking (socket, data, length, FALSE, NULL,
                                       &error) >= 0 ||
          !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
        return;
      length -= MAX (length / 20, 1);
    }
}

/* Sends @line to syslog: to @direct (--syslog-method=unix: or udp:), to
 * the journal with fields if @use_journal, else with syslog(3). */
static void
write_syslog (UcVlog *self,
              GSocket *direct,
              gboolean use_journal,
              GLogLevelFlags log_level,
              const char *line,
              UcVlogLevel level,
              int facility,
              const char *module,
              const GLogField *fields,
              gsize n_fields)
{
  int severity = syslog_levels[level];

  if (direct != NULL)
    {
      g_autoptr (GString) datagram = g_string_new (NULL);

      g_string_printf (datagram, "<%d>%s",
                       (facility != 0 ? facility : LOG_DAEMON) + severity,
                       line);
      send_datagram (direct, datagram->str, datagram->len);
      return;
    }

  if (use_journal)
    {
      GLogField out[8];
      gsize n = 0;
      char priority[2] = { (char) ('0' + severity), '\0' };
      char facility_text[8];

      g_snprintf (facility_text, sizeof facility_text, "%d",
                  (facility != 0 ? facility : LOG_DAEMON) >> 3);
      out[n++] = (GLogField){ "MESSAGE", line, -1 };
      out[n++] = (GLogField){ "PRIORITY", priority, -1 };
      out[n++] = (GLogField){ "SYSLOG_IDENTIFIER", self->program_name, -1 };
      out[n++] = (GLogField){ "SYSLOG_FACILITY", facility_text, -1 };
      out[n++] = (GLogField){ "GLIB_DOMAIN", module, -1 };
      for (gsize i = 0; i < n_fields && n < G_N_ELEMENTS (out); i++)
        {
          if (strcmp (fields[i].key, "CODE_FILE") == 0 ||
              strcmp (fields[i].key, "CODE_LINE") == 0 ||
              strcmp (fields[i].key, "CODE_FUNC") == 0)
            out[n++] = fields[i];
        }
      g_log_writer_journald (log_level, out, n, NULL);
      return;
    }

  g_mutex_lock (&syslog_lock);
  if (syslog_opened_facility != facility)
    {
      openlog (self->program_name, LOG_NDELAY,
               facility != 0 ? facility : LOG_DAEMON);
      syslog_opened_facility = facility;
    }
  syslog (severity, "%s", line);
  g_mutex_unlock (&syslog_lock);
}

static const char *
find_field (const GLogField *fields,
            gsize n_fields,
            const char *key,
            gssize *length)
{
  for (gsize i = 0; i < n_fields; i++)
    {
      if (strcmp (fields[i].key, key) == 0)
        {
          *length = fields[i].length;
          return fields[i].value;
        }
    }
  return NULL;
}

/**
 * uc_vlog_write:
 * @self: a configuration
 * @log_level: the message's GLib level and flags
 * @fields: (array length=n_fields): its structured fields
 * @n_fields: how many
 *
 * Logs one message to the destinations @self sends it to: the work of
 * the log writer uc_vlog_install() installs.  A fatal message (one that
 * aborts the process next: g_error(), or any flagged %G_LOG_FLAG_FATAL)
 * also goes to standard error whatever the console's level, and the log
 * file is written out before returning, when called from the thread that
 * made @self.
 *
 * Returns: %G_LOG_WRITER_HANDLED
 */
GLogWriterOutput
uc_vlog_write (UcVlog *self,
               GLogLevelFlags log_level,
               const GLogField *fields,
               gsize n_fields)
{
  /* g_error() always aborts, but GLib's g_log() drops the fatal flag
   * before it calls the writer: a fatal warning or critical (G_DEBUG) is
   * known as such only from the structured API. */
  gboolean fatal = (log_level & (G_LOG_FLAG_FATAL | G_LOG_LEVEL_ERROR)) != 0;
  UcVlogLevel level = uc_vlog_level_from_glib (log_level);
  g_autofree char *owned_domain = NULL;
  g_autofree char *owned_message = NULL;
  g_autoptr (UcLogWriter) writer = NULL;
  g_autoptr (GSocket) target = NULL;
  g_autoptr (GSocket) direct = NULL;
  g_autoptr (GString) target_line = NULL;
  gboolean use_journal;
  GString *lines[UC_VLOG_N_DESTINATIONS] = { NULL };
  const char *domain;
  const char *message;
  gssize length = -1;
  char subprogram[32];
  UcVlogRecord record;
  Module *module;
  int facility;

  g_return_val_if_fail (UC_IS_VLOG (self), G_LOG_WRITER_UNHANDLED);

  domain = find_field (fields, n_fields, "GLIB_DOMAIN", &length);
  if (domain == NULL || length == 0)
    domain = UC_VLOG_DEFAULT_MODULE;
  else if (length > 0)
    domain = owned_domain = g_strndup (domain, length);

  g_mutex_lock (&self->lock);
  module = ensure_module_locked (self, domain);

  if (level > module_max_level_locked (self, module->levels) && !fatal)
    {
      g_mutex_unlock (&self->lock);
      return G_LOG_WRITER_HANDLED;
    }

  message = find_field (fields, n_fields, "MESSAGE", &length);
  if (message == NULL)
    message = "";
  else if (length >= 0)
    message = owned_message = g_strndup (message, length);

  get_subprogram (subprogram, sizeof subprogram);
  record = (UcVlogRecord){
    .program_name = self->program_name,
    .module = module->name,
    .level = level,
    .message = message,
    .serial = ++self->serial,
    .time_us = g_get_real_time (),
    .uptime_ms = (g_get_monotonic_time () - self->start_us) / 1000,
    .subprogram = subprogram,
    .facility = self->facility,
    .hostname = g_get_host_name (),
    .pid = (long) getpid (),
  };
  for (int d = 0; d < UC_VLOG_N_DESTINATIONS; d++)
    {
      gboolean wanted = level <= module->levels[d];

      if (d == UC_VLOG_DESTINATION_FILE)
        wanted = wanted && self->writer != NULL;
      /* A fatal message reaches standard error whatever its level. */
      if (d == UC_VLOG_DESTINATION_CONSOLE && fatal)
        wanted = TRUE;
      if (!wanted)
        continue;
      lines[d] = g_string_new (NULL);
      uc_vlog_format (lines[d], self->patterns[d], &record);
    }
  facility = self->facility;
  if (self->writer != NULL)
    writer = g_object_ref (self->writer);
  use_journal = self->use_journal;
  if (lines[UC_VLOG_DESTINATION_SYSLOG] != NULL && self->syslog_direct != NULL)
    direct = g_object_ref (self->syslog_direct);
  if (lines[UC_VLOG_DESTINATION_SYSLOG] != NULL && self->syslog_target != NULL)
    {
      target_line = g_string_new (NULL);
      uc_vlog_format (target_line, UC_VLOG_SYSLOG_TARGET_PATTERN, &record);
      target = g_object_ref (self->syslog_target);
    }
  g_mutex_unlock (&self->lock);

  uc_coverage_inc (vlog_message);

  if (lines[UC_VLOG_DESTINATION_CONSOLE] != NULL)
    {
      g_string_append_c (lines[UC_VLOG_DESTINATION_CONSOLE], '\n');
      uc_fd_write_all (STDERR_FILENO, lines[UC_VLOG_DESTINATION_CONSOLE]->str,
                       lines[UC_VLOG_DESTINATION_CONSOLE]->len);
    }
  if (lines[UC_VLOG_DESTINATION_SYSLOG] != NULL)
    write_syslog (self, direct, use_journal, log_level,
                  lines[UC_VLOG_DESTINATION_SYSLOG]->str, level, facility,
                  record.module, fields, n_fields);
  if (target_line != NULL)
    send_datagram (target, target_line->str, target_line->len);
  if (lines[UC_VLOG_DESTINATION_FILE] != NULL)
    {
      g_string_append_c (lines[UC_VLOG_DESTINATION_FILE], '\n');
      uc_log_writer_write (writer, lines[UC_VLOG_DESTINATION_FILE]->str,
                           lines[UC_VLOG_DESTINATION_FILE]->len);
      if (fatal && g_thread_self () == self->owner)
        uc_log_writer_flush_sync (writer);
    }

  for (int d = 0; d < UC_VLOG_N_DESTINATIONS; d++)
    if (lines[d] != NULL)
      g_string_free (lines[d], TRUE);
  return G_LOG_WRITER_HANDLED;
}

/* Configuration. */

/* Open vSwitch's parsing of one vlog/set argument
 * (vlog_set_levels_from_string()), with its error texts: words separated
 * by spaces, commas, colons or tabs, as strtok_r() splits them, and for
 * PATTERN and FACILITY, the rest of the text after the words. */
static char *
parse_spec (UcVlog *self, const char *spec)
{
  g_autofree char *copy = g_strdup (spec);
  const char *delimiters = " ,:\t";
  char *save_ptr = NULL;
  char *word;

  word = strtok_r (copy, delimiters, &save_ptr);
  if (word != NULL && g_ascii_strcasecmp (word, "PATTERN") == 0)
    {
      UcVlogDestination destination;

      word = strtok_r (NULL, delimiters, &save_ptr);
      if (word == NULL)
        return g_strdup ("missing destination");
      if (g_ascii_strcasecmp (word, "ANY") == 0)
        destination = UC_VLOG_DESTINATION_ANY;
      else if (!destination_from_string (word, &destination))
        return g_strdup_printf ("unknown destination \"%s\"", word);
      uc_vlog_set_pattern (self, destination, save_ptr);
      return NULL;
    }
  if (word != NULL && g_ascii_strcasecmp (word, "FACILITY") == 0)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (facilities); i++)
        {
          if (g_ascii_strcasecmp (save_ptr, facilities[i].name) == 0)
            {
              uc_vlog_set_facility (self, facilities[i].value);
              return NULL;
            }
        }
      return g_strdup ("invalid facility");
    }

  {
    UcVlogDestination destination = UC_VLOG_DESTINATION_ANY;
    gboolean have_destination = FALSE;
    UcVlogLevel level = UC_VLOG_LEVEL_DBG;
    gboolean have_level = FALSE;
    g_autofree char *module = NULL;

    for (; word != NULL; word = strtok_r (NULL, delimiters, &save_ptr))
      {
        UcVlogDestination d;
        UcVlogLevel l;
        gboolean is_module;

        if (g_ascii_strcasecmp (word, "ANY") == 0)
          continue;
        if (destination_from_string (word, &d))
          {
            if (have_destination)
              return g_strdup ("cannot specify multiple destinations");
            destination = d;
            have_destination = TRUE;
            continue;
          }
        if (uc_vlog_level_from_string (word, &l))
          {
            if (have_level)
              return g_strdup ("cannot specify multiple levels");
            level = l;
            have_level = TRUE;
            continue;
          }
        g_mutex_lock (&self->lock);
        is_module = g_hash_table_contains (self->modules, word);
        g_mutex_unlock (&self->lock);
        if (is_module)
          {
            if (module != NULL)
              return g_strdup ("cannot specify multiple modules");
            module = g_strdup (word);
            continue;
          }
        return g_strdup_printf ("no destination, level, or module \"%s\"",
                                word);
      }
    uc_vlog_set_levels (self, module, destination, level);
    return NULL;
  }
}

/**
 * uc_vlog_set_levels_from_string:
 * @self: a configuration
 * @spec: a vlog/set argument: `[MODULE][:DESTINATION][:LEVEL]` in any
 *   order (each part may be `ANY`; a missing destination means all, a
 *   missing module all, a missing level "dbg"), or
 *   `PATTERN:DESTINATION:PATTERN`, or `FACILITY:FACILITY`
 * @error: return location for a #GError
 *
 * Applies @spec, as Open vSwitch's `vlog/set` and `-v` do.
 *
 * Returns: %TRUE if applied; otherwise %FALSE with @error set
 *   (%UC_ERROR_INVALID_ARGS), whose message is Open vSwitch's text
 *   (`no destination, level, or module "foo"`)
 */
gboolean
uc_vlog_set_levels_from_string (UcVlog *self, const char *spec, GError **error)
{
  g_autofree char *message = NULL;

  g_return_val_if_fail (UC_IS_VLOG (self), FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  message = parse_spec (self, spec);
  if (message == NULL)
    return TRUE;
  g_set_error_literal (error, UC_ERROR, UC_ERROR_INVALID_ARGS, message);
  return FALSE;
}

/**
 * uc_vlog_set_verbosity:
 * @self: a configuration
 * @spec: (nullable): a `-v` option's value, or %NULL for a bare `-v`
 * @error: return location for a #GError
 *
 * Applies `-v`/`--verbose`: with no value, every module and destination
 * goes to "dbg"; otherwise @spec, as uc_vlog_set_levels_from_string().
 *
 * Returns: %TRUE if applied; otherwise %FALSE with @error set, as Open
 *   vSwitch words it: `processing "SPEC": MESSAGE`
 */
gboolean
uc_vlog_set_verbosity (UcVlog *self, const char *spec, GError **error)
{
  g_return_val_if_fail (UC_IS_VLOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (spec == NULL)
    {
      uc_vlog_set_levels (self, NULL, UC_VLOG_DESTINATION_ANY,
                          UC_VLOG_LEVEL_DBG);
      return TRUE;
    }
  if (uc_vlog_set_levels_from_string (self, spec, error))
    return TRUE;
  g_prefix_error (error, "processing \"%s\": ", spec);
  return FALSE;
}

/**
 * uc_vlog_set_levels:
 * @self: a configuration
 * @module: (nullable): a module, or %NULL for all of them (and those that
 *   appear later)
 * @destination: a destination, or %UC_VLOG_DESTINATION_ANY
 * @level: the level
 *
 * Sets the level of @module at @destination.  An unknown @module is
 * added.
 */
void
uc_vlog_set_levels (UcVlog *self,
                    const char *module,
                    UcVlogDestination destination,
                    UcVlogLevel level)
{
  g_return_if_fail (UC_IS_VLOG (self));
  g_return_if_fail (destination >= UC_VLOG_DESTINATION_ANY &&
                    destination < UC_VLOG_N_DESTINATIONS);
  g_return_if_fail (level < UC_VLOG_N_LEVELS);

  g_mutex_lock (&self->lock);
  set_levels_locked (
    self, module != NULL ? ensure_module_locked (self, module) : NULL,
    destination, level);
  g_mutex_unlock (&self->lock);
}

/**
 * uc_vlog_get_level:
 * @self: a configuration
 * @module: a module
 * @destination: a destination, not %UC_VLOG_DESTINATION_ANY
 *
 * Returns: the level of @module at @destination (the default for an
 *   unknown module)
 */
UcVlogLevel
uc_vlog_get_level (UcVlog *self,
                   const char *module,
                   UcVlogDestination destination)
{
  Module *m;
  UcVlogLevel level;

  g_return_val_if_fail (UC_IS_VLOG (self), UC_VLOG_LEVEL_OFF);
  g_return_val_if_fail (module != NULL, UC_VLOG_LEVEL_OFF);
  g_return_val_if_fail (destination >= 0 &&
                          destination < UC_VLOG_N_DESTINATIONS,
                        UC_VLOG_LEVEL_OFF);

  g_mutex_lock (&self->lock);
  m = g_hash_table_lookup (self->modules, module);
  level =
    m != NULL ? m->levels[destination] : self->default_levels[destination];
  g_mutex_unlock (&self->lock);
  return level;
}

/**
 * uc_vlog_set_rate_limit:
 * @self: a configuration
 * @module: (nullable): a module, or %NULL for all of them (and those that
 *   appear later)
 * @enabled: whether uc_log_rl() limits the module's messages
 *
 * Turns rate limiting on or off, as `vlog/enable-rate-limit` and
 * `vlog/disable-rate-limit` do.
 */
void
uc_vlog_set_rate_limit (UcVlog *self, const char *module, gboolean enabled)
{
  g_return_if_fail (UC_IS_VLOG (self));

  g_mutex_lock (&self->lock);
  if (module != NULL)
    ensure_module_locked (self, module)->honor_rate_limits = enabled;
  else
    {
      GHashTableIter iter;
      gpointer value;

      self->default_rate_limit = enabled;
      g_hash_table_iter_init (&iter, self->modules);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        ((Module *) value)->honor_rate_limits = enabled;
    }
  g_mutex_unlock (&self->lock);
}

/**
 * uc_vlog_get_rate_limit:
 * @self: a configuration
 * @module: (nullable): a module, %NULL for the default
 *
 * Returns: whether uc_log_rl() limits @module's messages
 */
gboolean
uc_vlog_get_rate_limit (UcVlog *self, const char *module)
{
  Module *m;
  gboolean enabled;

  g_return_val_if_fail (UC_IS_VLOG (self), TRUE);

  g_mutex_lock (&self->lock);
  m = module != NULL ? g_hash_table_lookup (self->modules, module) : NULL;
  enabled = m != NULL ? m->honor_rate_limits : self->default_rate_limit;
  g_mutex_unlock (&self->lock);
  return enabled;
}

/**
 * uc_vlog_set_pattern:
 * @self: a configuration
 * @destination: a destination, or %UC_VLOG_DESTINATION_ANY
 * @pattern: the pattern (see uc_vlog_format())
 *
 * Sets how messages are formatted for @destination.
 */
void
uc_vlog_set_pattern (UcVlog *self,
                     UcVlogDestination destination,
                     const char *pattern)
{
  g_return_if_fail (UC_IS_VLOG (self));
  g_return_if_fail (destination >= UC_VLOG_DESTINATION_ANY &&
                    destination < UC_VLOG_N_DESTINATIONS);
  g_return_if_fail (pattern != NULL);

  g_mutex_lock (&self->lock);
  for (int d = 0; d < UC_VLOG_N_DESTINATIONS; d++)
    {
      if (destination != UC_VLOG_DESTINATION_ANY && destination != d)
        continue;
      g_free (self->patterns[d]);
      self->patterns[d] = g_strdup (pattern);
    }
  g_mutex_unlock (&self->lock);
}

/**
 * uc_vlog_get_pattern:
 * @self: a configuration
 * @destination: a destination, not %UC_VLOG_DESTINATION_ANY
 *
 * Returns: (transfer full): the pattern of @destination
 */
char *
uc_vlog_get_pattern (UcVlog *self, UcVlogDestination destination)
{
  char *pattern;

  g_return_val_if_fail (UC_IS_VLOG (self), NULL);
  g_return_val_if_fail (
    destination >= 0 && destination < UC_VLOG_N_DESTINATIONS, NULL);

  g_mutex_lock (&self->lock);
  pattern = g_strdup (self->patterns[destination]);
  g_mutex_unlock (&self->lock);
  return pattern;
}

/* A non-blocking datagram socket connected to @address, for log
 * messages to @name.  @address is %NULL when it could not be found, and
 * @failure (transfer full) then says why.  On failure, @error says that
 * messages cannot be sent to @name, and why. */
static GSocket *
open_log_socket (const char *name,
                 GSocketAddress *address,
                 GError *failure,
                 GError **error)
{
  g_autoptr (GError) local_error = failure;
  g_autoptr (GSocket) socket = NULL;

  if (address != NULL)
    socket = g_socket_new (g_socket_address_get_family (address),
                           G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_DEFAULT,
                           &local_error);
  if (socket != NULL && !g_socket_connect (socket, address, NULL, &local_error))
    g_clear_object (&socket);
  if (socket == NULL)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_INVALID_NAME,
                   _ ("Cannot send log messages to “%s”: %s"), name,
                   local_error->message);
      return NULL;
    }
  g_socket_set_blocking (socket, FALSE);
  return g_steal_pointer (&socket);
}

/* The first address of `HOST:PORT`, resolved now (which may block). */
static GSocketAddress *
resolve_host_port (const char *text, GError **error)
{
  g_autoptr (GSocketConnectable) connectable = NULL;
  g_autoptr (GSocketAddressEnumerator) enumerator = NULL;
  g_autoptr (GError) local_error = NULL;
  GSocketAddress *address;

  /* Port 0 as the default: a text without a port is refused. */
  connectable = g_network_address_parse (text, 0, error);
  if (connectable == NULL)
    return NULL;
  if (g_network_address_get_port (G_NETWORK_ADDRESS (connectable)) == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _ ("a port is needed (HOST:PORT)"));
      return NULL;
    }
  enumerator = g_socket_connectable_enumerate (connectable);
  address = g_socket_address_enumerator_next (enumerator, NULL, &local_error);
  if (address == NULL && local_error == NULL)
    g_set_error_literal (&local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                         _ ("no address"));
  if (address == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return address;
}

/**
 * uc_vlog_set_syslog_target:
 * @self: a configuration
 * @target: (nullable): `HOST:PORT` (an IPv6 address in brackets), or
 *   %NULL for none
 * @error: return location for a #GError
 *
 * Also sends every message that goes to syslog, as a UDP datagram in
 * %UC_VLOG_SYSLOG_TARGET_PATTERN, to @target: Open vSwitch's
 * `--syslog-target`.  A host name is resolved here, once, and may block:
 * call this at start-up.  Sending never blocks.
 *
 * Returns: %TRUE, or %FALSE with @error set if @target does not parse or
 *   resolve, and the previous target kept
 */
gboolean
uc_vlog_set_syslog_target (UcVlog *self, const char *target, GError **error)
{
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (UC_IS_VLOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (target != NULL)
    {
      address = resolve_host_port (target, &local_error);
      socket = open_log_socket (target, address, g_steal_pointer (&local_error),
                                error);
      if (socket == NULL)
        return FALSE;
    }

  g_mutex_lock (&self->lock);
  g_clear_object (&self->syslog_target);
  self->syslog_target = g_steal_pointer (&socket);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/**
 * uc_vlog_set_syslog_method:
 * @self: a configuration
 * @method: how the syslog destination sends, as Open vSwitch's
 *   `--syslog-method` takes it: `libc` (syslog(3), even where the journal
 *   is), `unix:FILE` (datagrams to the socket FILE) or `udp:HOST:PORT`
 * @error: return location for a #GError
 *
 * With `unix:` and `udp:`, each message is one datagram, `<PRI>` then the
 * line in the syslog pattern, as Open vSwitch sends it.  A host name is
 * resolved here, once, and may block: call this at start-up.  Sending
 * never blocks.
 *
 * Returns: %TRUE, or %FALSE with @error set (and the method unchanged) if
 *   @method is unknown or its socket cannot be reached
 */
gboolean
uc_vlog_set_syslog_method (UcVlog *self, const char *method, GError **error)
{
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (UC_IS_VLOG (self), FALSE);
  g_return_val_if_fail (method != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_str_has_prefix (method, "unix:") && method[5] != '\0')
    address = g_unix_socket_address_new (method + 5);
  else if (g_str_has_prefix (method, "udp:"))
    address = resolve_host_port (method + 4, &local_error);
  else if (strcmp (method, "libc") != 0)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_INVALID_NAME,
                   _ ("unsupported syslog method “%s” (libc, unix:FILE or "
                      "udp:HOST:PORT)"),
                   method);
      return FALSE;
    }

  /* Not libc: a socket, or the reason there is none. */
  if (address != NULL || local_error != NULL)
    {
      socket = open_log_socket (method, address, g_steal_pointer (&local_error),
                                error);
      if (socket == NULL)
        return FALSE;
    }

  g_mutex_lock (&self->lock);
  self->use_journal = FALSE;
  g_clear_object (&self->syslog_direct);
  self->syslog_direct = g_steal_pointer (&socket);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/**
 * uc_vlog_set_facility:
 * @self: a configuration
 * @facility: a syslog facility (`LOG_LOCAL0`), or 0 for the default
 *
 * Sets the facility of syslog messages (by default `LOG_DAEMON`) and of
 * `%B` (by default `LOG_LOCAL0`, as in Open vSwitch).
 */
void
uc_vlog_set_facility (UcVlog *self, int facility)
{
  g_return_if_fail (UC_IS_VLOG (self));

  g_mutex_lock (&self->lock);
  self->facility = facility;
  g_mutex_unlock (&self->lock);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * uc_vlog_list:
 * @self: a configuration
 *
 * What `vlog/list` answers, in Open vSwitch's layout: a header, then a
 * row per module with its console, syslog and file levels, and
 * "(rate limiting disabled)" where it is, the rows sorted.
 *
 * Returns: (transfer full): the text
 */
char *
uc_vlog_list (UcVlog *self)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
  GString *text;
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (UC_IS_VLOG (self), NULL);

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->modules);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Module *module = value;

      g_ptr_array_add (
        rows,
        g_strdup_printf (
          "%-16s  %4s       %4s       %4s%s\n", module->name,
          level_names[module->levels[UC_VLOG_DESTINATION_CONSOLE]],
          level_names[module->levels[UC_VLOG_DESTINATION_SYSLOG]],
          level_names[module->levels[UC_VLOG_DESTINATION_FILE]],
          module->honor_rate_limits ? "" : "    (rate limiting disabled)"));
    }
  g_mutex_unlock (&self->lock);
  g_ptr_array_sort (rows, compare_strings);

  text = g_string_new ("                 console    syslog    file\n"
                       "                 -------    ------    ------\n");
  for (guint i = 0; i < rows->len; i++)
    g_string_append (text, g_ptr_array_index (rows, i));
  return g_string_free (text, FALSE);
}

/**
 * uc_vlog_list_json:
 * @self: a configuration
 *
 * What `vlog/list` answers in JSON mode: an object with a member per
 * module, `{"MODULE": {"console": "off", "syslog": "info", "file": "info",
 * "rate-limit": true}, ...}`, the levels in lower case.
 *
 * Returns: (transfer full): the object
 */
JsonNode *
uc_vlog_list_json (UcVlog *self)
{
  g_autoptr (JsonObject) object = json_object_new ();
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (UC_IS_VLOG (self), NULL);

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->modules);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Module *module = value;
      g_autoptr (JsonObject) member = json_object_new ();

      for (int d = 0; d < UC_VLOG_N_DESTINATIONS; d++)
        {
          g_autofree char *name =
            g_ascii_strdown (level_names[module->levels[d]], -1);

          json_object_set_string_member (member, destination_names[d], name);
        }
      json_object_set_boolean_member (member, "rate-limit",
                                      module->honor_rate_limits);
      json_object_set_object_member (object, module->name,
                                     g_steal_pointer (&member));
    }
  g_mutex_unlock (&self->lock);
  return json_node_init_object (json_node_alloc (), object);
}

/* vlog/list-pattern's rows, in Open vSwitch's order. */
static const UcVlogDestination pattern_order[] = {
  UC_VLOG_DESTINATION_SYSLOG,
  UC_VLOG_DESTINATION_CONSOLE,
  UC_VLOG_DESTINATION_FILE,
};

static const char *
destination_prefix (UcVlog *self, UcVlogDestination destination)
{
  if (destination != UC_VLOG_DESTINATION_SYSLOG)
    return NULL;
  if (self->syslog_direct != NULL)
    return SYSLOG_DIRECT_PREFIX;
  if (!self->use_journal)
    return SYSLOG_LIBC_PREFIX;
  return NULL;
}

/**
 * uc_vlog_list_patterns:
 * @self: a configuration
 *
 * What `vlog/list-pattern` answers, in Open vSwitch's layout: each
 * destination's prefix (what syslog(3) adds; "none" elsewhere, and for
 * the journal) and pattern.
 *
 * Returns: (transfer full): the text
 */
char *
uc_vlog_list_patterns (UcVlog *self)
{
  GString *text;

  g_return_val_if_fail (UC_IS_VLOG (self), NULL);

  text = g_string_new ("         prefix                            format\n"
                       "         ------                            ------\n");
  g_mutex_lock (&self->lock);
  for (gsize i = 0; i < G_N_ELEMENTS (pattern_order); i++)
    {
      UcVlogDestination d = pattern_order[i];
      g_autofree char *name = g_ascii_strup (destination_names[d], -1);
      const char *prefix = destination_prefix (self, d);

      g_string_append_printf (text, "%-7s  %-32s  %s\n", name,
                              prefix != NULL ? prefix : "none",
                              self->patterns[d]);
    }
  g_mutex_unlock (&self->lock);
  return g_string_free (text, FALSE);
}

/**
 * uc_vlog_list_patterns_json:
 * @self: a configuration
 *
 * What `vlog/list-pattern` answers in JSON mode:
 * `{"syslog": {"prefix": "<%B> ...", "pattern": "..."}, "console":
 * {"prefix": null, "pattern": "..."}, "file": {...}}`.
 *
 * Returns: (transfer full): the object
 */
JsonNode *
uc_vlog_list_patterns_json (UcVlog *self)
{
  g_autoptr (JsonObject) object = json_object_new ();

  g_return_val_if_fail (UC_IS_VLOG (self), NULL);

  g_mutex_lock (&self->lock);
  for (gsize i = 0; i < G_N_ELEMENTS (pattern_order); i++)
    {
      UcVlogDestination d = pattern_order[i];
      g_autoptr (JsonObject) member = json_object_new ();
      const char *prefix = destination_prefix (self, d);

      if (prefix != NULL)
        json_object_set_string_member (member, "prefix", prefix);
      else
        json_object_set_null_member (member, "prefix");
      json_object_set_string_member (member, "pattern", self->patterns[d]);
      json_object_set_object_member (object, destination_names[d],
                                     g_steal_pointer (&member));
    }
  g_mutex_unlock (&self->lock);
  return json_node_init_object (json_node_alloc (), object);
}

/* The log file. */

/**
 * uc_vlog_set_log_file:
 * @self: a configuration
 * @path: (nullable): the log file; a relative name is taken from the
 *   current directory; %NULL for `unixctld.log` in uc_vlog_get_log_dir(),
 *   which is created (mode 0700) if missing
 * @error: return location for a #GError
 *
 * Sends the file destination to @path, opened here and now (see
 * uc_log_writer_open()): for start-up.  Until uc_vlog_set_worker(), its
 * lines are kept in memory.  On failure, as in Open vSwitch, "failed to
 * open PATH for logging: REASON" is logged; the path is kept, so that
 * `vlog/reopen` can try again.
 *
 * Returns: %TRUE if the file is open, otherwise %FALSE with @error set
 */
gboolean
uc_vlog_set_log_file (UcVlog *self, const char *path, GError **error)
{
  g_autofree char *resolved = NULL;
  g_autoptr (UcLogWriter) old = NULL;
  g_autoptr (GError) local_error = NULL;
  UcLogWriter *writer;

  g_return_val_if_fail (UC_IS_VLOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (path != NULL)
    resolved = g_canonicalize_filename (path, NULL);
  else
    {
      g_autofree char *dir = uc_vlog_get_log_dir ();
      g_autofree char *name = g_strconcat (self->program_name, ".log", NULL);

      if (g_mkdir_with_parents (dir, 0700) < 0)
        g_debug ("cannot create %s: %s", dir, g_strerror (errno));
      resolved = g_build_filename (dir, name, NULL);
    }

  writer = uc_log_writer_new (resolved, UC_VLOG_MAX_BUFFERED);
  g_mutex_lock (&self->lock);
  old = g_steal_pointer (&self->writer);
  self->writer = writer;
  g_mutex_unlock (&self->lock);
  if (old != NULL)
    uc_log_writer_close (old);

  if (!uc_log_writer_open (writer, &local_error))
    {
      g_warning ("failed to open %s for logging: %s", resolved,
                 local_error->message);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

/**
 * uc_vlog_get_log_writer:
 * @self: a configuration
 *
 * Returns: (transfer none) (nullable): the log file's writer, if a log
 *   file was set
 */
UcLogWriter *
uc_vlog_get_log_writer (UcVlog *self)
{
  UcLogWriter *writer;

  g_return_val_if_fail (UC_IS_VLOG (self), NULL);

  g_mutex_lock (&self->lock);
  writer = self->writer;
  g_mutex_unlock (&self->lock);
  return writer;
}

/**
 * uc_vlog_set_worker:
 * @self: a configuration
 * @worker: (nullable): the worker to write the log file, or %NULL to
 *   write it in this process
 *
 * See uc_log_writer_set_worker(); nothing to do without a log file.
 */
void
uc_vlog_set_worker (UcVlog *self, UcWorker *worker)
{
  UcLogWriter *writer;

  g_return_if_fail (UC_IS_VLOG (self));

  writer = uc_vlog_get_log_writer (self);
  if (writer != NULL)
    uc_log_writer_set_worker (writer, worker);
}

/**
 * uc_vlog_close_log_file:
 * @self: a configuration
 *
 * Closes the log file, as `vlog/close` does (see uc_log_writer_close()).
 */
void
uc_vlog_close_log_file (UcVlog *self)
{
  UcLogWriter *writer;

  g_return_if_fail (UC_IS_VLOG (self));

  writer = uc_vlog_get_log_writer (self);
  if (writer != NULL)
    uc_log_writer_close (writer);
}

/**
 * uc_vlog_flush_sync:
 * @self: a configuration
 *
 * Writes out the log file's waiting lines, blocking (see
 * uc_log_writer_flush_sync()): for the end of the process.
 */
void
uc_vlog_flush_sync (UcVlog *self)
{
  UcLogWriter *writer;

  g_return_if_fail (UC_IS_VLOG (self));

  writer = uc_vlog_get_log_writer (self);
  if (writer != NULL)
    uc_log_writer_flush_sync (writer);
}

static void
on_writer_reopened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!uc_log_writer_reopen_finish (UC_LOG_WRITER (source), result, &error))
    {
      g_warning ("failed to open %s for logging: %s",
                 uc_log_writer_get_path (UC_LOG_WRITER (source)),
                 error->message);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/**
 * uc_vlog_reopen_log_file_async:
 * @self: a configuration
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once done
 * @user_data: data for @callback
 *
 * Opens the log file again, as `vlog/reopen` does after a rotation (see
 * uc_log_writer_reopen_async()).
 */
void
uc_vlog_reopen_log_file_async (UcVlog *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  UcLogWriter *writer;

  g_return_if_fail (UC_IS_VLOG (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_vlog_reopen_log_file_async);

  writer = uc_vlog_get_log_writer (self);
  if (writer == NULL)
    {
      /* Open vSwitch's text. */
      g_task_return_new_error (task, UC_ERROR, UC_ERROR_NOT_SUPPORTED,
                               "Logging to file not configured");
      return;
    }
  uc_log_writer_reopen_async (writer, cancellable, on_writer_reopened,
                              g_steal_pointer (&task));
}

/**
 * uc_vlog_reopen_log_file_finish:
 * @self: a configuration
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_vlog_reopen_log_file_async().
 *
 * Returns: %TRUE if the file is open; otherwise %FALSE with @error set:
 *   %UC_ERROR_NOT_SUPPORTED without a log file, or why it cannot be
 *   opened
 */
gboolean
uc_vlog_reopen_log_file_finish (UcVlog *self,
                                GAsyncResult *result,
                                GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_vlog_reopen_log_file_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The commands. */

static void
cmd_set (UcRequest *request, gpointer user_data)
{
  UcVlog *self = UC_VLOG (user_data);
  const char *const *argv = uc_request_get_argv (request);

  /* With no argument, every module and destination goes to "dbg". */
  if (argv[1] == NULL)
    uc_vlog_set_levels (self, NULL, UC_VLOG_DESTINATION_ANY, UC_VLOG_LEVEL_DBG);
  for (guint i = 1; argv[i] != NULL; i++)
    {
      g_autofree char *message = parse_spec (self, argv[i]);

      /* The arguments before stay applied, as in Open vSwitch. */
      if (message != NULL)
        {
          uc_request_reply_error (request, message);
          return;
        }
    }
  uc_request_reply (request, NULL);
}

/* Answers a listing command in the connection's format: @to_json's
 * object in JSON mode, @to_text's table otherwise. */
static void
reply_listing (UcRequest *request,
               UcVlog *self,
               char *(*to_text) (UcVlog *self),
               JsonNode *(*to_json) (UcVlog *self))
{
  if (uc_request_get_format (request) == UC_OUTPUT_FORMAT_JSON)
    uc_request_reply_json (request, to_json (self));
  else
    {
      g_autofree char *text = to_text (self);

      uc_request_reply (request, text);
    }
}

static void
cmd_list (UcRequest *request, gpointer user_data)
{
  reply_listing (request, UC_VLOG (user_data), uc_vlog_list, uc_vlog_list_json);
}

static void
cmd_list_pattern (UcRequest *request, gpointer user_data)
{
  reply_listing (request, UC_VLOG (user_data), uc_vlog_list_patterns,
                 uc_vlog_list_patterns_json);
}

static void
on_reopen_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (UcRequest) request = user_data;
  g_autoptr (GError) error = NULL;

  if (!uc_vlog_reopen_log_file_finish (UC_VLOG (source), result, &error))
    uc_request_reply_error (request, error->message);
  else
    uc_request_reply (request, NULL);
}

/* Answered once the file is open (by the worker). */
static void
cmd_reopen (UcRequest *request, gpointer user_data)
{
  UcVlog *self = UC_VLOG (user_data);

  uc_vlog_reopen_log_file_async (self, NULL, on_reopen_done,
                                 g_object_ref (request));
}

static void
cmd_close (UcRequest *request, gpointer user_data)
{
  uc_vlog_close_log_file (UC_VLOG (user_data));
  uc_request_reply (request, NULL);
}

/* vlog/enable-rate-limit and vlog/disable-rate-limit: each module named,
 * ANY for all; all with no argument. */
static void
set_rate_limits (UcRequest *request, UcVlog *self, gboolean enabled)
{
  const char *const *argv = uc_request_get_argv (request);

  if (argv[1] == NULL)
    uc_vlog_set_rate_limit (self, NULL, enabled);
  for (guint i = 1; argv[i] != NULL; i++)
    {
      gboolean known;

      if (g_ascii_strcasecmp (argv[i], "ANY") == 0)
        {
          uc_vlog_set_rate_limit (self, NULL, enabled);
          continue;
        }
      g_mutex_lock (&self->lock);
      known = g_hash_table_contains (self->modules, argv[i]);
      g_mutex_unlock (&self->lock);
      if (!known)
        {
          uc_request_reply_error (request, "unknown module");
          return;
        }
      uc_vlog_set_rate_limit (self, argv[i], enabled);
    }
  uc_request_reply (request, NULL);
}

static void
cmd_enable_rate_limit (UcRequest *request, gpointer user_data)
{
  set_rate_limits (request, UC_VLOG (user_data), TRUE);
}

static void
cmd_disable_rate_limit (UcRequest *request, gpointer user_data)
{
  set_rate_limits (request, UC_VLOG (user_data), FALSE);
}

/**
 * uc_vlog_register_commands:
 * @self: a configuration
 * @server: a server
 *
 * Registers Open vSwitch's logging commands on @server, with its usage
 * texts: `vlog/set [SPEC...]`, `vlog/list`, `vlog/list-pattern`,
 * `vlog/reopen`, `vlog/close`, `vlog/enable-rate-limit [MODULE...]` and
 * `vlog/disable-rate-limit [MODULE...]`.
 */
void
uc_vlog_register_commands (UcVlog *self, UcServer *server)
{
  const struct
  {
    const char *name;
    const char *usage;
    guint min_args;
    guint max_args;
    UcCommandFunc func;
  } commands[] = {
    { "vlog/set", "{spec | PATTERN:destination:pattern}", 0, G_MAXINT,
      cmd_set },
    { "vlog/list", "", 0, 0, cmd_list },
    { "vlog/list-pattern", "", 0, 0, cmd_list_pattern },
    { "vlog/enable-rate-limit", "[module]...", 0, G_MAXINT,
      cmd_enable_rate_limit },
    { "vlog/disable-rate-limit", "[module]...", 0, G_MAXINT,
      cmd_disable_rate_limit },
    { "vlog/reopen", "", 0, 0, cmd_reopen },
    { "vlog/close", "", 0, 0, cmd_close },
  };

  g_return_if_fail (UC_IS_VLOG (self));
  g_return_if_fail (UC_IS_SERVER (server));

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    uc_server_register (server, commands[i].name, commands[i].usage,
                        commands[i].min_args, commands[i].max_args,
                        commands[i].func, g_object_ref (self), g_object_unref);
}

static void
uc_vlog_dispose (GObject *object)
{
  UcVlog *self = UC_VLOG (object);
  g_autoptr (UcLogWriter) writer = NULL;

  g_autoptr (GSocket) target = NULL;
  g_autoptr (GSocket) direct = NULL;

  g_mutex_lock (&self->lock);
  writer = g_steal_pointer (&self->writer);
  target = g_steal_pointer (&self->syslog_target);
  direct = g_steal_pointer (&self->syslog_direct);
  g_mutex_unlock (&self->lock);

  G_OBJECT_CLASS (uc_vlog_parent_class)->dispose (object);
}

static void
uc_vlog_finalize (GObject *object)
{
  UcVlog *self = UC_VLOG (object);

  for (int d = 0; d < UC_VLOG_N_DESTINATIONS; d++)
    g_clear_pointer (&self->patterns[d], g_free);
  g_clear_pointer (&self->modules, g_hash_table_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (uc_vlog_parent_class)->finalize (object);
}

static void
uc_vlog_class_init (UcVlogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = uc_vlog_dispose;
  object_class->finalize = uc_vlog_finalize;
}

static void
uc_vlog_init (UcVlog *self)
{
  g_mutex_init (&self->lock);
  self->modules =
    g_hash_table_new_full (module_hash, module_equal, NULL, module_free);
  self->start_us = g_get_monotonic_time ();
  self->owner = g_thread_self ();
  self->default_rate_limit = TRUE;
  for (int d = 0; d < UC_VLOG_N_DESTINATIONS; d++)
    self->default_levels[d] = UC_VLOG_LEVEL_INFO;
  self->patterns[UC_VLOG_DESTINATION_CONSOLE] =
    g_strdup (UC_VLOG_DEFAULT_CONSOLE_PATTERN);
  self->patterns[UC_VLOG_DESTINATION_SYSLOG] =
    g_strdup (UC_VLOG_DEFAULT_SYSLOG_PATTERN);
  self->patterns[UC_VLOG_DESTINATION_FILE] =
    g_strdup (UC_VLOG_DEFAULT_FILE_PATTERN);
}
