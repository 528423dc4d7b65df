/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <sys/types.h>

#include "uc-pstream.h"
#include "uc-server.h"
#include "uc-worker.h"

G_BEGIN_DECLS

/*
 * What the test programs share: temporary directories, running programs
 * and collecting their output, waiting for daemons, reading /proc, and
 * raw JSON-RPC over a socket.  Every helper fails the test on an
 * unexpected error, so that callers keep to what they test.
 */

/* How often the polling helpers look again. */
#define UC_TEST_POLL_US (10 * 1000)

/* How long uc_test_wait_until() waits: a safety net only, every wait ends
 * on its condition long before. */
#define UC_TEST_WAIT_TIMEOUT_S 30

/**
 * uc_test_wait_until:
 * @cond: an expression, evaluated before each iteration
 *
 * Iterates the default main context until @cond holds, and fails the test
 * if it does not within %UC_TEST_WAIT_TIMEOUT_S.
 */
#define uc_test_wait_until(cond)                                              \
  G_STMT_START                                                                \
  {                                                                           \
    guint uc_test_guard_ = uc_test_guard_add (UC_TEST_WAIT_TIMEOUT_S, #cond); \
                                                                              \
    while (!(cond))                                                           \
      g_main_context_iteration (NULL, TRUE);                                  \
    g_source_remove (uc_test_guard_);                                         \
  }                                                                           \
  G_STMT_END

/* Open vSwitch's Python and database schema, where Debian installs them. */
#define UC_TEST_PYTHON       "/usr/bin/python3"
#define UC_TEST_OVSDB_SCHEMA "/usr/share/openvswitch/vswitch.ovsschema"

/**
 * UcTestOvsPeers:
 * @UC_TEST_OVS_APPCTL: ovs-appctl
 * @UC_TEST_OVS_OVSDB: ovsdb-server and ovsdb-tool, and the schema
 * @UC_TEST_OVS_PYTHON: %UC_TEST_PYTHON with the ovs package
 *
 * The Open vSwitch programs a compat test runs beside ours.  Bits from
 * `1 << 8` on are free for a test's own needs.
 */
typedef enum
{
  UC_TEST_OVS_APPCTL = 1 << 0,
  UC_TEST_OVS_OVSDB = 1 << 1,
  UC_TEST_OVS_PYTHON = 1 << 2,
} UcTestOvsPeers;

/**
 * UcTestOvs:
 * @appctl: (owned) (nullable): the path of ovs-appctl
 * @ovsdb_server: (owned) (nullable): the path of ovsdb-server; %NULL also
 *   when its schema is missing
 * @ovsdb_tool: (owned) (nullable): the path of ovsdb-tool
 * @python: whether %UC_TEST_PYTHON can import the module asked for
 *
 * The Open vSwitch programs installed here, found by uc_test_ovs_find().
 */
typedef struct
{
  char *appctl;
  char *ovsdb_server;
  char *ovsdb_tool;
  gboolean python;
} UcTestOvs;

/**
 * UcTestPki:
 * @dir: (owned): the directory that holds all the others
 * @ca_cert: (owned): the CA's certificate
 * @server_key: (owned): the server's private key
 * @server_cert: (owned): the server's certificate, signed by the CA
 * @client_key: (owned): the client's private key
 * @client_cert: (owned): the client's certificate, signed by the CA
 * @rogue_ca_cert: (owned): another CA's certificate
 * @rogue_key: (owned): the rogue peer's private key
 * @rogue_cert: (owned): the rogue peer's certificate, signed by the rogue
 *   CA
 * @expired_key: (owned): the expired peer's private key
 * @expired_cert: (owned): a certificate signed by the CA that expired in
 *   2001
 * @garbage: (owned): a file that is not PEM at all
 *
 * The paths of the certificates, keys and CAs that uc_test_pki_make()
 * makes with the `openssl` command.
 */
typedef struct
{
  char *dir;
  char *ca_cert;
  char *server_key;
  char *server_cert;
  char *client_key;
  char *client_cert;
  char *rogue_ca_cert;
  char *rogue_key;
  char *rogue_cert;
  char *expired_key;
  char *expired_cert;
  char *garbage;
} UcTestPki;

/**
 * UcTestReplyScanner:
 * @depth: brackets open
 * @in_string: inside a JSON string
 * @escaped: after a backslash in one
 *
 * Where uc_test_scan_replies() is in a stream of JSON replies, which a
 * benchmark client counts without parsing them.  Start from all zeros.
 */
typedef struct
{
  int depth;
  gboolean in_string;
  gboolean escaped;
} UcTestReplyScanner;

/**
 * UcTestOutput:
 * @status: the exit status, or -1 if a signal killed the program
 * @out: (owned): what it wrote on stdout
 * @err: (owned): what it wrote on stderr
 * @elapsed_us: how long it ran
 *
 * What uc_test_run() collects from one run of a program.  Declare it as
 * `g_auto (UcTestOutput) output = { 0 };`.
 */
typedef struct
{
  int status;
  char *out;
  char *err;
  gint64 elapsed_us;
} UcTestOutput;

/**
 * UcTestReply:
 * @done: whether the answer has come
 * @success: whether it is a success
 * @body: (owned) (nullable): its body: the text, or the JSON value
 *
 * A command's answer when a server answers in-process, without a
 * transport; see uc_test_dispatch().  Declare it as
 * `g_auto (UcTestReply) reply = { 0 };`.
 */
typedef struct
{
  gboolean done;
  gboolean success;
  JsonNode *body;
} UcTestReply;

/* clang-format off */
char               *uc_test_make_tmp_dir         (const char          *tmpl);
int                 uc_test_rm_rf                (const char          *path);
char               *uc_test_read_file            (const char          *path);
void                uc_test_write_file           (const char          *path,
                                                  const char          *contents);
char               *uc_test_list_dir             (const char          *path);
void                uc_test_wait_for_file_text   (const char          *path,
                                                  const char          *needle,
                                                  gint64               timeout_us,
                                                  char               **contents);

guint               uc_test_guard_add            (guint                seconds,
                                                  const char          *what);
void                uc_test_run_for              (guint                ms);
gboolean            uc_test_trap_in_subprocess   (void);

const char         *uc_test_built_program        (const char          *variable);
const char        **uc_test_args_va              (va_list              ap);
GSubprocessLauncher *uc_test_daemon_launcher_new (GSubprocessFlags     flags);
GSubprocess        *uc_test_spawn_unixctld       (GSubprocessLauncher *launcher,
                                                  const char          *rundir,
                                                  const char *const   *args);
void                uc_test_ovs_find             (UcTestOvs           *ovs,
                                                  const char          *python_module);
void                uc_test_ovs_clear            (UcTestOvs           *ovs);
gboolean            uc_test_ovs_skip_missing     (const UcTestOvs     *ovs,
                                                  guint                needs);
char              **uc_test_ovs_environ          (const char          *rundir,
                                                  const char          *dir);
char               *uc_test_ovsdb_create         (const char          *ovsdb_tool,
                                                  const char          *dir,
                                                  GError             **error);
void                uc_test_run                  (const char          *program,
                                                  const char          *argv0,
                                                  const char *const   *args,
                                                  const char *const   *envp,
                                                  UcTestOutput        *output);
void                uc_test_output_clear         (UcTestOutput        *output);
char               *uc_test_strip_vlog           (const char          *text);
char               *uc_test_unixctl_stderr       (const char          *text);

void                uc_test_pki_make             (UcTestPki           *pki,
                                                  const char          *prefix);
void                uc_test_pki_clear            (UcTestPki           *pki);

void                uc_test_die_with_parent      (gpointer             signum);
pid_t               uc_test_subprocess_pid       (GSubprocess         *process);
int                 uc_test_subprocess_wait      (GSubprocess         *process,
                                                  gint64               timeout_us);
guint               uc_test_proc_count_fds       (pid_t                pid,
                                                  char               **description);
guint64             uc_test_proc_rss_kib         (pid_t                pid);
double              uc_test_median               (double              *values,
                                                  guint                n_values);
double              uc_test_process_cpu_us       (pid_t                pid);
void                uc_test_print_comparison_header (const char      *last_column);
void                uc_test_print_comparison_row (int                  decimals,
                                                  const char          *what,
                                                  double               ours,
                                                  double               theirs,
                                                  const char          *unit,
                                                  gboolean             higher_is_better,
                                                  const char          *note);
guint               uc_test_scan_replies         (UcTestReplyScanner  *scanner,
                                                  const char          *data,
                                                  gsize                length);
guint64             uc_test_ping_flood           (UcWorker            *worker,
                                                  GBytes              *payload,
                                                  GUnixFDList         *fds,
                                                  guint                window,
                                                  guint64              n_pings,
                                                  gint64               deadline_us);

GSocket            *uc_test_bind_unix            (const char          *path);
GSocket            *uc_test_bind_loopback        (guint16             *port);
guint16             uc_test_pick_free_port       (void);
gboolean            uc_test_has_ipv6_loopback    (void);
GSocketConnection  *uc_test_connect              (GSocketConnectable  *address,
                                                  guint                timeout_s,
                                                  GError             **error);
GSocketConnection  *uc_test_connect_unix         (const char          *path,
                                                  guint                timeout_s);
void                uc_test_wait_socket          (GSocket             *socket,
                                                  GIOCondition         condition);
GSocketConnection  *uc_test_wait_for_unix_socket (GSubprocess         *process,
                                                  const char          *path,
                                                  gint64               timeout_us);
void                uc_test_collect_incoming     (UcPstream           *pstream,
                                                  GPtrArray           *streams,
                                                  GPtrArray           *connections);

void                uc_test_send_all             (GSocket             *socket,
                                                  const char          *data,
                                                  gsize                length);
void                uc_test_send_text            (GSocket             *socket,
                                                  const char          *text);
char               *uc_test_receive_message      (GSocket             *socket);
JsonObject         *uc_test_receive_object       (GSocket             *socket);
JsonObject         *uc_test_transact             (GSocket             *socket,
                                                  const char          *method,
                                                  const char *const   *params);
JsonNode           *uc_test_call                 (GSocket             *socket,
                                                  const char          *method,
                                                  const char *const   *params);

void                uc_test_cmd_echo             (UcRequest           *request,
                                                  gpointer             user_data);
UcRequest          *uc_test_request_new          (const char *const   *argv,
                                                  UcOutputFormat       format,
                                                  UcTestReply         *reply);
void                uc_test_dispatch             (UcServer            *server,
                                                  UcOutputFormat       format,
                                                  const char *const   *argv,
                                                  UcTestReply         *reply);
const char         *uc_test_reply_get_text       (const UcTestReply   *reply);
void                uc_test_reply_clear          (UcTestReply         *reply);
/* clang-format on */

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (UcTestOutput, uc_test_output_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (UcTestReply, uc_test_reply_clear)

G_END_DECLS
