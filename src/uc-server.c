/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "unixctl"

#include "config.h"

#include "uc-server.h"

#include <glib/gi18n.h>
#include <string.h>

#include "uc-coverage.h"
#include "uc-error.h"
#include "uc-json-framer.h"
#include "uc-jsonrpc.h"
#include "uc-memory.h"
#include "uc-server-connection.h"
#include "uc-shutdown.h"

UC_COVERAGE_DEFINE (unixctl_connection);
UC_COVERAGE_DEFINE (unixctl_dispatch);
UC_COVERAGE_DEFINE (unixctl_invalid);

/* How long uc_server_shutdown_async() lets requests in flight finish
 * before it closes their connections anyway. */
#define UC_SERVER_SHUTDOWN_TIMEOUT_MS 5000

/* Open vSwitch's layout of `list-commands`: the name padded to this
 * width, a space, the usage. */
#define LIST_COMMANDS_NAME_WIDTH 23

/**
 * UcServer:
 *
 * The command registry and the control server that serves it.
 *
 * Commands are registered by name with a usage text, argument bounds and
 * a handler.  uc_server_dispatch() checks a #UcRequest against the
 * registry, in Open vSwitch's order and with its words, and runs the
 * handler; it does not care which transport made the request.
 *
 * The socket transport is built in: each listener added with
 * uc_server_add_listener() hands its connections to the server, which
 * speaks JSON-RPC on them, one request at a time per connection.  Local
 * and remote listeners have separate connection caps, so that a flood of
 * remote clients never locks the owner out of the control socket.
 *
 * The built-in commands are `list-commands` and `help` (the same
 * listing), `version`, `set-options` and `exit`.
 */

typedef struct
{
  char *usage; /* (owned) (nullable) %NULL hides the command */
  guint min_args;
  guint max_args;
  UcCommandFunc func;
  gpointer user_data; /* (owned) freed by @user_data_free */
  GDestroyNotify user_data_free;
} UcServerCommand;

typedef struct
{
  UcServer *server;   /* (unowned) */
  UcPstream *pstream; /* (owned) */
  UcListenerFlags flags;
  gulong incoming_id;
  guint n_connections;
  gboolean closed;
} UcServerListener;

struct _UcServer
{
  GObject parent_instance;

  char *program_name;   /* (owned) */
  char *version;        /* (owned) */
  char *version_text;   /* (owned) what `version` answers, made once */
  GHashTable *commands; /* (owned) (element-type utf8 UcServerCommand) */

  GPtrArray *listeners;    /* (owned) (element-type UcServerListener) */
  GHashTable *connections; /* (owned) (element-type UcServerConnection
                            * UcServerListener): the listener is
                            * (unowned) (nullable) */
  guint next_connection_number;

  gsize max_message_size;
  guint max_depth;
  gsize max_backlog;
  guint local_max_connections;
  guint remote_max_connections;
  guint remote_idle_timeout_s;

  UcShutdown *shutdown; /* (owned) */
  guint memory_id;      /* memory/show's reporter */
};

enum
{
  PROP_0,
  PROP_PROGRAM_NAME,
  PROP_VERSION,
  PROP_MAX_MESSAGE_SIZE,
  PROP_MAX_DEPTH,
  PROP_MAX_BACKLOG,
  PROP_LOCAL_MAX_CONNECTIONS,
  PROP_REMOTE_MAX_CONNECTIONS,
  PROP_REMOTE_IDLE_TIMEOUT,
  PROP_N_CONNECTIONS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_EXIT_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (UcServer, uc_server, G_TYPE_OBJECT)

/* Commands. */

static void
command_clear (gpointer data)
{
  UcServerCommand *command = data;

  g_clear_pointer (&command->usage, g_free);
  if (command->user_data_free != NULL)
    command->user_data_free (command->user_data);
}

/* Commands are reference counted so that a handler may unregister or
 * replace its own command while it runs. */
static void
command_release (gpointer data)
{
  g_rc_box_release_full (data, command_clear);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  /* strcmp() compares bytes as unsigned char: the bytewise order of Open
   * vSwitch's shash_sort(). */
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The names of the commands, sorted; with @visible_only, only those with
 * a usage. */
static GPtrArray *
sorted_command_names (UcServer *self, gboolean visible_only)
{
  GPtrArray *names =
    g_ptr_array_sized_new (g_hash_table_size (self->commands) + 1);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->commands);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      UcServerCommand *command = value;

      if (!visible_only || command->usage != NULL)
        g_ptr_array_add (names, key);
    }
  g_ptr_array_sort (names, compare_strings);
  return names;
}

/* Client-provided @text as an error message quotes it: ordinary text byte
 * for byte, as Open vSwitch does; control characters escaped as JSON
 * writes them (\n, \t, \u0001), so that a terminal or a log line shows
 * them harmlessly; and at most UC_SERVER_QUOTE_MAX bytes, cut at a
 * character boundary and marked with "...", so that a huge name does not
 * come back as a huge error. */
static char *
quote_client_text (const char *text)
{
  GString *out =
    g_string_sized_new (MIN (strlen (text), UC_SERVER_QUOTE_MAX) + 4);
  const char *p = text;

  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, -1);
      char piece[8];
      const char *next;
      gsize length;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          /* Not UTF-8: UcJsonrpc refuses such input, other transports
           * might not. */
          length = (gsize) g_snprintf (piece, sizeof piece, "\\x%02x",
                                       (guint) (guchar) *p);
          next = p + 1;
        }
      else if (c < 0x20 || (c >= 0x7f && c < 0xa0))
        {
          next = g_utf8_next_char (p);
          switch (c)
            {
              case '\b':
                length = (gsize) g_strlcpy (piece, "\\b", sizeof piece);
                break;
              case '\f':
                length = (gsize) g_strlcpy (piece, "\\f", sizeof piece);
                break;
              case '\n':
                length = (gsize) g_strlcpy (piece, "\\n", sizeof piece);
                break;
              case '\r':
                length = (gsize) g_strlcpy (piece, "\\r", sizeof piece);
                break;
              case '\t':
                length = (gsize) g_strlcpy (piece, "\\t", sizeof piece);
                break;
              default:
                length = (gsize) g_snprintf (piece, sizeof piece, "\\u%04x", c);
                break;
            }
        }
      else
        {
          next = g_utf8_next_char (p);
          length = (gsize) (next - p);
          memcpy (piece, p, length);
        }

      if (out->len + length > UC_SERVER_QUOTE_MAX)
        {
          g_string_append (out, "...");
          break;
        }
      g_string_append_len (out, piece, (gssize) length);
      p = next;
    }
  return g_string_free (out, FALSE);
}

/* Checks a call of @name with @n_args arguments against the registry, in
 * Open vSwitch's order and words.  Returns the error text, or %NULL with
 * *@command_out set. */
static char *
check_call (UcServer *self,
            const char *name,
            guint n_args,
            UcServerCommand **command_out)
{
  UcServerCommand *command = g_hash_table_lookup (self->commands, name);
  g_autofree char *quoted = NULL;

  if (command != NULL && n_args >= command->min_args &&
      n_args <= command->max_args)
    {
      if (command_out != NULL)
        *command_out = command;
      return NULL;
    }

  quoted = quote_client_text (name);
  if (command == NULL)
    return g_strdup_printf ("\"%s\" is not a valid command (use "
                            "\"list-commands\" to see a list of valid "
                            "commands)",
                            quoted);
  if (n_args < command->min_args)
    return g_strdup_printf ("\"%s\" command requires at least %u arguments",
                            quoted, command->min_args);
  return g_strdup_printf ("\"%s\" command takes at most %u arguments", quoted,
                          command->max_args);
}

/* Built-in commands. */

static void
builtin_list_commands (UcRequest *request, gpointer user_data)
{
  UcServer *self = UC_SERVER (user_data);
  g_autoptr (GPtrArray) names = sorted_command_names (self, TRUE);

  if (uc_request_get_format (request) == UC_OUTPUT_FORMAT_JSON)
    {
      g_autoptr (JsonObject) object = json_object_new ();

      for (guint i = 0; i < names->len; i++)
        {
          const char *name = g_ptr_array_index (names, i);
          UcServerCommand *command = g_hash_table_lookup (self->commands, name);

          json_object_set_string_member (object, name, command->usage);
        }
      uc_request_reply_json (
        request, json_node_init_object (json_node_alloc (), object));
    }
  else
    {
      g_autoptr (GString) text = g_string_new ("The available commands are:\n");

      for (guint i = 0; i < names->len; i++)
        {
          const char *name = g_ptr_array_index (names, i);
          UcServerCommand *command = g_hash_table_lookup (self->commands, name);

          g_string_append_printf (text, "  %-*s %s\n", LIST_COMMANDS_NAME_WIDTH,
                                  name, command->usage);
        }
      uc_request_reply (request, text->str);
    }
}

static void
builtin_version (UcRequest *request, gpointer user_data)
{
  UcServer *self = UC_SERVER (user_data);

  uc_request_reply (request, self->version_text);
}

static gboolean
parse_format (const char *value, UcOutputFormat *format)
{
  if (g_ascii_strcasecmp (value, "text") == 0)
    *format = UC_OUTPUT_FORMAT_TEXT;
  else if (g_ascii_strcasecmp (value, "json") == 0)
    *format = UC_OUTPUT_FORMAT_JSON;
  else
    return FALSE;
  return TRUE;
}

/* Parses set-options' arguments as getopt_long() does with Open vSwitch's
 * option table ({"format", required_argument, 'f'}): `--format VALUE`,
 * `--format=VALUE`, any unambiguous prefix of `--format` (there is only
 * the one option), `-f VALUE`, `-fVALUE`, and `--` to end the options; a
 * repeated option wins over earlier ones.  Anything else is an error:
 * an unknown option (`unrecognized option 'ARG'`), a missing value
 * (`option '--format' requires an argument`), or an argument that is not
 * an option (`unexpected argument 'ARG'`), which Open vSwitch's parser
 * would silently ignore.  The messages are replies, so untranslated. */
static char *
parse_set_options (const char *const *args, UcOutputFormat *format)
{
  gboolean options_ended = FALSE;

  for (guint i = 0; args[i] != NULL; i++)
    {
      const char *arg = args[i];
      const char *value = NULL;
      g_autofree char *quoted = NULL;

      if (!options_ended && strcmp (arg, "--") == 0)
        {
          options_ended = TRUE;
          continue;
        }

      if (!options_ended && g_str_has_prefix (arg, "--"))
        {
          const char *name = arg + 2;
          const char *equals = strchr (name, '=');
          gsize name_length =
            equals != NULL ? (gsize) (equals - name) : strlen (name);

          if (name_length == 0 || name_length > strlen ("format") ||
              strncmp (name, "format", name_length) != 0)
            {
              g_autofree char *option = g_strndup (arg, name_length + 2);

              quoted = quote_client_text (option);
              return g_strdup_printf ("unrecognized option '%s'", quoted);
            }
          if (equals != NULL)
            value = equals + 1;
          else
            value = args[++i];
        }
      else if (!options_ended && arg[0] == '-' && arg[1] != '\0')
        {
          if (arg[1] != 'f')
            {
              quoted = quote_client_text (arg);
              return g_strdup_printf ("unrecognized option '%s'", quoted);
            }
          value = arg[2] != '\0' ? arg + 2 : args[++i];
        }
      else
        {
          quoted = quote_client_text (arg);
          return g_strdup_printf ("unexpected argument '%s'", quoted);
        }

      if (value == NULL)
        return g_strdup ("option '--format' requires an argument");
      if (!parse_format (value, format))
        {
          quoted = quote_client_text (value);
          return g_strdup_printf ("option format has invalid value %s", quoted);
        }
    }
  return NULL;
}

static void
builtin_set_options (UcRequest *request, gpointer user_data)
{
  const char *const *argv = uc_request_get_argv (request);
  UcOutputFormat format = uc_request_get_format (request);
  g_autofree char *error = NULL;

  error = parse_set_options (argv + 1, &format);
  if (error != NULL)
    {
      uc_request_reply_error (request, error);
      return;
    }
  /* Set before replying: Open vSwitch shapes this very reply in the new
   * format. */
  uc_request_set_format (request, format);
  uc_request_reply (request, NULL);
}

static void
on_exit_request_released (gpointer data, GObject *where_the_object_was)
{
  g_autoptr (UcServer) self = UC_SERVER (data);

  g_signal_emit (self, signals[SIGNAL_EXIT_REQUESTED], 0);
}

static void
builtin_exit (UcRequest *request, gpointer user_data)
{
  UcServer *self = UC_SERVER (user_data);

  /* The transport lets go of a request once its reply is out (the socket
   * transport once it is flushed): only then may the process go, or the
   * client would see the connection drop instead of the reply. */
  g_object_weak_ref (G_OBJECT (request), on_exit_request_released,
                     g_object_ref (self));
  uc_request_reply (request, NULL);
}

/* Listeners and connections. */

static void
listener_free (gpointer data)
{
  UcServerListener *listener = data;

  g_clear_signal_handler (&listener->incoming_id, listener->pstream);
  g_clear_object (&listener->pstream);
  g_free (listener);
}

static UcServerListener *
find_listener (UcServer *self, UcPstream *pstream)
{
  for (guint i = 0; i < self->listeners->len; i++)
    {
      UcServerListener *listener = g_ptr_array_index (self->listeners, i);

      if (listener->pstream == pstream)
        return listener;
    }
  return NULL;
}

static guint
listener_max_connections (UcServerListener *listener)
{
  UcServer *self = listener->server;

  return (listener->flags & UC_LISTENER_REMOTE) != 0
           ? self->remote_max_connections
           : self->local_max_connections;
}

/* Pauses @listener at its cap, and otherwise resumes it: that also ends
 * a pause for lack of descriptors as soon as one is freed. */
static void
listener_update_pause (UcServerListener *listener)
{
  if (listener->closed)
    return;
  if (listener->n_connections >= listener_max_connections (listener))
    uc_pstream_pause (listener->pstream);
  else
    uc_pstream_resume (listener->pstream);
}

static void
update_all_listeners (UcServer *self)
{
  for (guint i = 0; i < self->listeners->len; i++)
    listener_update_pause (g_ptr_array_index (self->listeners, i));
}

static void
close_listeners (UcServer *self)
{
  for (guint i = 0; i < self->listeners->len; i++)
    {
      UcServerListener *listener = g_ptr_array_index (self->listeners, i);

      if (listener->closed)
        continue;
      listener->closed = TRUE;
      g_clear_signal_handler (&listener->incoming_id, listener->pstream);
      uc_pstream_close (listener->pstream);
    }
}

/* The connections, each with a reference: closing one removes it from
 * the table. */
static GPtrArray *
list_connections (UcServer *self)
{
  GPtrArray *list = g_ptr_array_new_full (g_hash_table_size (self->connections),
                                          g_object_unref);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (list, g_object_ref (key));
  return list;
}

static void
close_all_connections (UcServer *self)
{
  g_autoptr (GPtrArray) list = list_connections (self);

  for (guint i = 0; i < list->len; i++)
    uc_server_connection_close (g_ptr_array_index (list, i));
}

static void maybe_finish_shutdown (UcServer *self);

static void
on_connection_closed (UcServerConnection *connection, gpointer user_data)
{
  UcServer *self = UC_SERVER (user_data);
  UcServerListener *listener;

  g_debug ("%s: disconnected", uc_server_connection_get_name (connection));
  g_signal_handlers_disconnect_by_data (connection, self);
  listener = g_hash_table_lookup (self->connections, connection);
  if (listener != NULL)
    listener->n_connections--;
  g_hash_table_remove (self->connections, connection);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CONNECTIONS]);

  update_all_listeners (self);
  maybe_finish_shutdown (self);
}

/* The socket transport: a request message becomes a #UcRequest, or an
 * error when an argument is not a string (a #UcRequest holds strings). */
static void
on_request_received (UcServerConnection *connection,
                     UcJsonrpcMessage *message,
                     gpointer user_data)
{
  UcServer *self = user_data;
  const char *method = uc_jsonrpc_message_get_method (message);
  JsonArray *params = uc_jsonrpc_message_get_params (message);
  guint n_params = json_array_get_length (params);
  /* The request copies argv: most calls need no memory for it here. */
  const char *small_argv[16];
  g_autofree const char **large_argv = NULL;
  const char **argv = small_argv;
  g_autoptr (UcRequest) request = NULL;
  g_autofree char *error = NULL;

  if (n_params + 2 > G_N_ELEMENTS (small_argv))
    argv = large_argv = g_new (const char *, n_params + 2);

  argv[0] = method;
  for (guint i = 0; i < n_params; i++)
    {
      JsonNode *param = json_array_get_element (params, i);

      if (!JSON_NODE_HOLDS_VALUE (param) ||
          json_node_get_value_type (param) != G_TYPE_STRING)
        {
          /* Open vSwitch checks the command and the argument count before
           * the argument types. */
          uc_coverage_inc (unixctl_invalid);
          error = check_call (self, method, n_params, NULL);
          if (error == NULL)
            {
              g_autofree char *quoted = quote_client_text (method);

              error = g_strdup_printf ("\"%s\" command has non-string "
                                       "argument",
                                       quoted);
            }
          argv[1] = NULL;
          request = uc_server_connection_new_request (connection, argv);
          uc_request_reply_error (request, error);
          return;
        }
      argv[i + 1] = json_node_get_string (param);
    }
  argv[n_params + 1] = NULL;

  request = uc_server_connection_new_request (connection, argv);
  uc_server_dispatch (self, request);
}

static void
add_connection (UcServer *self,
                GIOStream *stream,
                GSocketConnection *socket_connection,
                const char *name,
                UcServerListener *listener)
{
  g_autoptr (UcJsonrpc) rpc = uc_jsonrpc_new (stream, name);
  UcServerConnection *connection;
  guint idle_timeout_s = 0;

  uc_jsonrpc_set_max_message_size (rpc, self->max_message_size);
  uc_jsonrpc_set_max_depth (rpc, self->max_depth);
  uc_jsonrpc_set_max_backlog (rpc, self->max_backlog);
  if (listener != NULL && (listener->flags & UC_LISTENER_REMOTE) != 0)
    idle_timeout_s = self->remote_idle_timeout_s;

  connection = uc_server_connection_new (rpc, socket_connection, idle_timeout_s,
                                         on_request_received, self);
  g_signal_connect (connection, "closed", G_CALLBACK (on_connection_closed),
                    self);
  g_hash_table_insert (self->connections, connection, listener);
  uc_coverage_inc (unixctl_connection);
  if (listener != NULL)
    listener->n_connections++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CONNECTIONS]);

  g_debug ("%s: connected", name);
  uc_server_connection_start (connection);
}

static void
on_incoming (UcPstream *pstream,
             GIOStream *stream,
             GSocketConnection *socket_connection,
             gpointer user_data)
{
  UcServerListener *listener = user_data;
  UcServer *self = listener->server;
  const char *type = uc_pstream_get_type_name (pstream);
  g_autofree char *name = NULL;

  /* Named as Open vSwitch names its unixctl connections: "unix#3". */
  if (type[0] == 'p')
    type++;
  name = g_strdup_printf ("%s#%u", type, self->next_connection_number++);

  /* A connection accepted while the pause took effect (a TLS handshake
   * that was under way) is served anyway: the cap is exceeded by at most
   * the handshakes in progress. */
  add_connection (self, stream, socket_connection, name, listener);
  listener_update_pause (listener);
}

/* Shutdown. */

static void
maybe_finish_shutdown (UcServer *self)
{
  if (uc_shutdown_is_pending (self->shutdown) &&
      g_hash_table_size (self->connections) == 0)
    uc_shutdown_complete (self->shutdown);
}

/* The #UcShutdownAbortFunc: requests in flight are not waited for any
 * longer. */
static void
abort_shutdown (gpointer owner, gboolean timed_out)
{
  UcServer *self = UC_SERVER (owner);

  if (timed_out)
    g_message ("closing %u connections still busy after %d ms",
               g_hash_table_size (self->connections),
               UC_SERVER_SHUTDOWN_TIMEOUT_MS);
  close_all_connections (self);
}

/* GObject. */

/* memory/show: what the server holds. */
static void
report_memory (UcMemoryUsage *usage, gpointer user_data)
{
  UcServer *self = UC_SERVER (user_data);

  uc_memory_usage_add (usage, "connections",
                       g_hash_table_size (self->connections));
  uc_memory_usage_add (usage, "listeners", self->listeners->len);
}

static void
uc_server_constructed (GObject *object)
{
  UcServer *self = UC_SERVER (object);

  G_OBJECT_CLASS (uc_server_parent_class)->constructed (object);

  self->version_text = g_strdup_printf ("%s (" PACKAGE_NAME ") %s",
                                        self->program_name, self->version);
  uc_server_register (self, "list-commands", "", 0, 0, builtin_list_commands,
                      self, NULL);
  uc_server_register (self, "help", "", 0, 0, builtin_list_commands, self,
                      NULL);
  uc_server_register (self, "version", "", 0, 0, builtin_version, self, NULL);
  uc_server_register (self, "set-options", "[--format text|json]", 1, 2,
                      builtin_set_options, self, NULL);
  uc_server_register (self, "exit", "", 0, 0, builtin_exit, self, NULL);
}

static void
uc_server_dispose (GObject *object)
{
  UcServer *self = UC_SERVER (object);

  /* The server owns its listeners and connections: neither outlives
   * it. */
  close_listeners (self);
  close_all_connections (self);
  uc_shutdown_unwatch (self->shutdown);
  g_ptr_array_set_size (self->listeners, 0);
  /* Handler data may hold references that lead back here. */
  g_hash_table_remove_all (self->commands);
  if (self->memory_id != 0)
    {
      uc_memory_remove_reporter (self->memory_id);
      self->memory_id = 0;
    }

  G_OBJECT_CLASS (uc_server_parent_class)->dispose (object);
}

static void
uc_server_finalize (GObject *object)
{
  UcServer *self = UC_SERVER (object);

  g_clear_pointer (&self->shutdown, uc_shutdown_free);
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_pointer (&self->listeners, g_ptr_array_unref);
  g_clear_pointer (&self->commands, g_hash_table_unref);
  g_clear_pointer (&self->program_name, g_free);
  g_clear_pointer (&self->version, g_free);
  g_clear_pointer (&self->version_text, g_free);

  G_OBJECT_CLASS (uc_server_parent_class)->finalize (object);
}

static void
uc_server_get_property (GObject *object,
                        guint prop_id,
                        GValue *value,
                        GParamSpec *pspec)
{
  UcServer *self = UC_SERVER (object);

  switch (prop_id)
    {
      case PROP_PROGRAM_NAME:
        g_value_set_string (value, self->program_name);
        break;
      case PROP_VERSION:
        g_value_set_string (value, self->version);
        break;
      case PROP_MAX_MESSAGE_SIZE:
        g_value_set_uint64 (value, self->max_message_size);
        break;
      case PROP_MAX_DEPTH:
        g_value_set_uint (value, self->max_depth);
        break;
      case PROP_MAX_BACKLOG:
        g_value_set_uint64 (value, self->max_backlog);
        break;
      case PROP_LOCAL_MAX_CONNECTIONS:
        g_value_set_uint (value, self->local_max_connections);
        break;
      case PROP_REMOTE_MAX_CONNECTIONS:
        g_value_set_uint (value, self->remote_max_connections);
        break;
      case PROP_REMOTE_IDLE_TIMEOUT:
        g_value_set_uint (value, self->remote_idle_timeout_s);
        break;
      case PROP_N_CONNECTIONS:
        g_value_set_uint (value, uc_server_get_n_connections (self));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
}

static void
uc_server_set_property (GObject *object,
                        guint prop_id,
                        const GValue *value,
                        GParamSpec *pspec)
{
  UcServer *self = UC_SERVER (object);

  switch (prop_id)
    {
      case PROP_PROGRAM_NAME:
        self->program_name = g_value_dup_string (value);
        break;
      case PROP_VERSION:
        self->version = g_value_dup_string (value);
        break;
      case PROP_MAX_MESSAGE_SIZE:
        uc_server_set_max_message_size (self,
                                        (gsize) g_value_get_uint64 (value));
        break;
      case PROP_MAX_DEPTH:
        uc_server_set_max_depth (self, g_value_get_uint (value));
        break;
      case PROP_MAX_BACKLOG:
        uc_server_set_max_backlog (self, (gsize) g_value_get_uint64 (value));
        break;
      case PROP_LOCAL_MAX_CONNECTIONS:
        uc_server_set_local_max_connections (self, g_value_get_uint (value));
        break;
      case PROP_REMOTE_MAX_CONNECTIONS:
        uc_server_set_remote_limits (self, g_value_get_uint (value),
                                     self->remote_idle_timeout_s);
        break;
      case PROP_REMOTE_IDLE_TIMEOUT:
        uc_server_set_remote_limits (self, self->remote_max_connections,
                                     g_value_get_uint (value));
        break;
      case PROP_N_CONNECTIONS:
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
}

static void
uc_server_class_init (UcServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = uc_server_constructed;
  object_class->dispose = uc_server_dispose;
  object_class->finalize = uc_server_finalize;
  object_class->get_property = uc_server_get_property;
  object_class->set_property = uc_server_set_property;

  /**
   * UcServer:program-name:
   *
   * The program's name, as `version` reports it.
   */
  properties[PROP_PROGRAM_NAME] = g_param_spec_string (
    "program-name", NULL, NULL, PACKAGE_NAME,
    G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * UcServer:version:
   *
   * The program's version, as `version` reports it.
   */
  properties[PROP_VERSION] = g_param_spec_string (
    "version", NULL, NULL, PACKAGE_VERSION,
    G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * UcServer:max-message-size:
   *
   * The largest request accepted on a new connection, in bytes.
   */
  properties[PROP_MAX_MESSAGE_SIZE] = g_param_spec_uint64 (
    "max-message-size", NULL, NULL, 1, G_MAXSIZE,
    UC_JSON_DEFAULT_MAX_MESSAGE_SIZE,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * UcServer:max-depth:
   *
   * The deepest nesting accepted in a request on a new connection.
   */
  properties[PROP_MAX_DEPTH] = g_param_spec_uint (
    "max-depth", NULL, NULL, 1, G_MAXUINT, UC_JSON_DEFAULT_MAX_DEPTH,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * UcServer:max-backlog:
   *
   * Unsent reply bytes a new connection may queue for a client that does
   * not read.
   */
  properties[PROP_MAX_BACKLOG] = g_param_spec_uint64 (
    "max-backlog", NULL, NULL, 0, G_MAXSIZE, UC_JSONRPC_DEFAULT_MAX_BACKLOG,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * UcServer:local-max-connections:
   *
   * Connections each local listener serves at once.
   */
  properties[PROP_LOCAL_MAX_CONNECTIONS] = g_param_spec_uint (
    "local-max-connections", NULL, NULL, 1, G_MAXUINT,
    UC_SERVER_DEFAULT_LOCAL_MAX_CONNECTIONS,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * UcServer:remote-max-connections:
   *
   * Connections each remote listener serves at once.
   */
  properties[PROP_REMOTE_MAX_CONNECTIONS] = g_param_spec_uint (
    "remote-max-connections", NULL, NULL, 1, G_MAXUINT,
    UC_SERVER_DEFAULT_REMOTE_MAX_CONNECTIONS,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * UcServer:remote-idle-timeout:
   *
   * Seconds a new remote connection may wait without a request before it
   * is closed; 0 for no limit.
   */
  properties[PROP_REMOTE_IDLE_TIMEOUT] = g_param_spec_uint (
    "remote-idle-timeout", NULL, NULL, 0, G_MAXUINT,
    UC_SERVER_DEFAULT_REMOTE_IDLE_TIMEOUT,
    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * UcServer:n-connections:
   *
   * Connections currently served.
   */
  properties[PROP_N_CONNECTIONS] = g_param_spec_uint (
    "n-connections", NULL, NULL, 0, G_MAXUINT, 0,
    G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * UcServer::exit-requested:
   * @self: the server
   *
   * A client called `exit`, and its reply has been delivered (on the
   * socket: written out).  The owner is expected to shut down.
   */
  signals[SIGNAL_EXIT_REQUESTED] =
    g_signal_new ("exit-requested", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
uc_server_init (UcServer *self)
{
  self->commands =
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, command_release);
  self->listeners = g_ptr_array_new_with_free_func (listener_free);
  self->connections =
    g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref, NULL);
  self->max_message_size = UC_JSON_DEFAULT_MAX_MESSAGE_SIZE;
  self->max_depth = UC_JSON_DEFAULT_MAX_DEPTH;
  self->max_backlog = UC_JSONRPC_DEFAULT_MAX_BACKLOG;
  self->local_max_connections = UC_SERVER_DEFAULT_LOCAL_MAX_CONNECTIONS;
  self->remote_max_connections = UC_SERVER_DEFAULT_REMOTE_MAX_CONNECTIONS;
  self->remote_idle_timeout_s = UC_SERVER_DEFAULT_REMOTE_IDLE_TIMEOUT;
  self->shutdown = uc_shutdown_new (
    G_OBJECT (self), "server", UC_SERVER_SHUTDOWN_TIMEOUT_MS, abort_shutdown);
  self->memory_id = uc_memory_add_reporter (report_memory, self);
}

/* Public API. */

/**
 * uc_server_new:
 * @program_name: the program's name, as `version` reports it
 * @version: the program's version
 *
 * Creates a server with the built-in commands registered and no
 * listener.
 *
 * Returns: (transfer full): a new server
 */
UcServer *
uc_server_new (const char *program_name, const char *version)
{
  g_return_val_if_fail (program_name != NULL, NULL);
  g_return_val_if_fail (version != NULL, NULL);

  return g_object_new (UC_TYPE_SERVER, "program-name", program_name, "version",
                       version, NULL);
}

/**
 * uc_server_get_program_name:
 * @self: a server
 *
 * Returns: (transfer none): the program's name
 */
const char *
uc_server_get_program_name (UcServer *self)
{
  g_return_val_if_fail (UC_IS_SERVER (self), NULL);

  return self->program_name;
}

/**
 * uc_server_get_version:
 * @self: a server
 *
 * Returns: (transfer none): the program's version
 */
const char *
uc_server_get_version (UcServer *self)
{
  g_return_val_if_fail (UC_IS_SERVER (self), NULL);

  return self->version;
}

/**
 * uc_server_register:
 * @self: a server
 * @name: the command's name, such as `vlog/set`
 * @usage: (nullable): the arguments as `list-commands` shows them; %NULL
 *   hides the command from the listing
 * @min_args: the fewest arguments the command takes
 * @max_args: the most arguments the command takes
 * @func: (scope notified): the handler
 * @user_data: (closure func): data for @func
 * @user_data_free: (nullable): frees @user_data when the command is
 *   unregistered or replaced, or the server goes
 *
 * Registers a command.  A command of the same name is replaced, as the
 * last registration is the one meant.
 */
void
uc_server_register (UcServer *self,
                    const char *name,
                    const char *usage,
                    guint min_args,
                    guint max_args,
                    UcCommandFunc func,
                    gpointer user_data,
                    GDestroyNotify user_data_free)
{
  UcServerCommand *command;

  g_return_if_fail (UC_IS_SERVER (self));
  g_return_if_fail (name != NULL && *name != '\0');
  g_return_if_fail (g_utf8_validate (name, -1, NULL));
  g_return_if_fail (min_args <= max_args);
  g_return_if_fail (func != NULL);

  command = g_rc_box_new0 (UcServerCommand);
  command->usage = g_strdup (usage);
  command->min_args = min_args;
  command->max_args = max_args;
  command->func = func;
  command->user_data = user_data;
  command->user_data_free = user_data_free;
  g_hash_table_replace (self->commands, g_strdup (name), command);
}

/**
 * uc_server_unregister:
 * @self: a server
 * @name: the command's name
 *
 * Removes a command; its data is freed once it is no longer running.
 *
 * Returns: %TRUE if @name was registered
 */
gboolean
uc_server_unregister (UcServer *self, const char *name)
{
  g_return_val_if_fail (UC_IS_SERVER (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return g_hash_table_remove (self->commands, name);
}

/**
 * uc_server_list_commands:
 * @self: a server
 *
 * Lists every registered command, hidden ones included.
 *
 * Returns: (transfer full): the names, sorted bytewise (as strcmp()
 *   orders them)
 */
GStrv
uc_server_list_commands (UcServer *self)
{
  g_autoptr (GPtrArray) names = NULL;
  GStrv result;

  g_return_val_if_fail (UC_IS_SERVER (self), NULL);

  names = sorted_command_names (self, FALSE);
  result = g_new (char *, names->len + 1);
  for (guint i = 0; i < names->len; i++)
    result[i] = g_strdup (g_ptr_array_index (names, i));
  result[names->len] = NULL;
  return result;
}

/**
 * uc_server_get_usage:
 * @self: a server
 * @name: a command's name
 *
 * Returns: (transfer none) (nullable): the usage of @name, or %NULL if it
 *   is not registered or is hidden
 */
const char *
uc_server_get_usage (UcServer *self, const char *name)
{
  UcServerCommand *command;

  g_return_val_if_fail (UC_IS_SERVER (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  command = g_hash_table_lookup (self->commands, name);
  return command != NULL ? command->usage : NULL;
}

/**
 * uc_server_dispatch:
 * @self: a server
 * @request: a request not yet answered
 *
 * Runs the handler of @request's command, or answers @request with the
 * error Open vSwitch gives, checked in its order:
 *
 * - `"NAME" is not a valid command (use "list-commands" to see a list of
 *   valid commands)`,
 * - `"NAME" command requires at least N arguments`,
 * - `"NAME" command takes at most N arguments`.
 *
 * NAME, which comes from the client, is quoted as it is when it is
 * ordinary text; control characters are escaped and a name longer than
 * %UC_SERVER_QUOTE_MAX bytes is cut and marked with "...".
 *
 * Any transport may call this; it is how the socket transport runs every
 * request.
 */
void
uc_server_dispatch (UcServer *self, UcRequest *request)
{
  g_autoptr (UcRequest) keep = NULL;
  g_autofree char *error = NULL;
  UcServerCommand *command = NULL;

  g_return_if_fail (UC_IS_SERVER (self));
  g_return_if_fail (UC_IS_REQUEST (request));
  g_return_if_fail (!uc_request_is_answered (request));

  keep = g_object_ref (request);
  uc_coverage_inc (unixctl_dispatch);
  error = check_call (self, uc_request_get_command (request),
                      uc_request_get_argc (request) - 1, &command);
  if (error != NULL)
    {
      uc_coverage_inc (unixctl_invalid);
      uc_request_reply_error (request, error);
      return;
    }

  command = g_rc_box_acquire (command);
  command->func (request, command->user_data);
  command_release (command);
}

/**
 * uc_server_check_call:
 * @self: a server
 * @argv: (array zero-terminated=1): a command name and its arguments
 * @error: return location for a #GError
 *
 * Makes the checks uc_server_dispatch() makes before running a handler,
 * for transports that report failures by kind (the D-Bus mirror).
 *
 * Returns: %TRUE if uc_server_dispatch() would run @argv's handler now;
 *   otherwise %FALSE with %UC_ERROR_INVALID_COMMAND or
 *   %UC_ERROR_INVALID_ARGS, whose message is the text uc_server_dispatch()
 *   would answer with
 */
gboolean
uc_server_check_call (UcServer *self, const char *const *argv, GError **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (UC_IS_SERVER (self), FALSE);
  g_return_val_if_fail (argv != NULL && argv[0] != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  text = check_call (self, argv[0], g_strv_length ((char **) argv) - 1, NULL);
  if (text == NULL)
    return TRUE;

  g_set_error_literal (error, UC_ERROR,
                       g_hash_table_contains (self->commands, argv[0])
                         ? UC_ERROR_INVALID_ARGS
                         : UC_ERROR_INVALID_COMMAND,
                       text);
  return FALSE;
}

/**
 * uc_server_add_listener:
 * @self: a server
 * @pstream: a listener, listening or not
 * @flags: %UC_LISTENER_REMOTE for a remote listener
 * @error: return location for a #GError
 *
 * Serves the connections @pstream accepts, starting it if it is not
 * listening yet.  The server closes @pstream when it shuts down or goes
 * away.
 *
 * Each listener has its own connection cap: %UC_LISTENER_REMOTE ones the
 * remote cap (uc_server_set_remote_limits()), the others the local one
 * (uc_server_set_local_max_connections()).  At the cap the listener is
 * paused, and connections wait in the listen backlog until one closes.
 * Remote connections also have the remote idle timeout.
 *
 * Returns: %TRUE if @pstream is served; %FALSE with @error set if it
 *   could not start listening, or with %G_IO_ERROR_CLOSED if the server
 *   is shutting down
 */
gboolean
uc_server_add_listener (UcServer *self,
                        UcPstream *pstream,
                        UcListenerFlags flags,
                        GError **error)
{
  UcServerListener *listener;

  g_return_val_if_fail (UC_IS_SERVER (self), FALSE);
  g_return_val_if_fail (UC_IS_PSTREAM (pstream), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (find_listener (self, pstream) == NULL, FALSE);

  if (uc_shutdown_is_started (self->shutdown))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           _ ("The server is shutting down"));
      return FALSE;
    }

  listener = g_new0 (UcServerListener, 1);
  listener->server = self;
  listener->pstream = g_object_ref (pstream);
  listener->flags = flags;
  listener->incoming_id =
    g_signal_connect (pstream, "incoming", G_CALLBACK (on_incoming), listener);
  if (!uc_pstream_is_listening (pstream) && !uc_pstream_listen (pstream, error))
    {
      listener_free (listener);
      return FALSE;
    }
  g_ptr_array_add (self->listeners, listener);
  return TRUE;
}

/**
 * uc_server_take_stream:
 * @self: a server
 * @stream: a connected stream
 * @connection: (nullable): the socket connection under @stream, if any,
 *   for the peer's credentials and hang-up detection
 * @name: the connection's name in log lines
 *
 * Serves a connection that did not come from a listener (a socketpair,
 * a stream handed over by another process).  It counts against no cap
 * and has no idle timeout.  While the server shuts down, @stream is
 * closed instead.
 */
void
uc_server_take_stream (UcServer *self,
                       GIOStream *stream,
                       GSocketConnection *connection,
                       const char *name)
{
  g_return_if_fail (UC_IS_SERVER (self));
  g_return_if_fail (G_IS_IO_STREAM (stream));
  g_return_if_fail (connection == NULL || G_IS_SOCKET_CONNECTION (connection));
  g_return_if_fail (name != NULL);

  if (uc_shutdown_is_started (self->shutdown))
    {
      g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      return;
    }
  add_connection (self, stream, connection, name, NULL);
}

/**
 * uc_server_set_max_message_size:
 * @self: a server
 * @max_size: the largest request to accept, in bytes; not 0
 *
 * Sets the size limit of requests on connections accepted from now on.
 */
void
uc_server_set_max_message_size (UcServer *self, gsize max_size)
{
  g_return_if_fail (UC_IS_SERVER (self));
  g_return_if_fail (max_size > 0);

  if (self->max_message_size == max_size)
    return;
  self->max_message_size = max_size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
}

/**
 * uc_server_set_max_depth:
 * @self: a server
 * @max_depth: the deepest nesting to accept; not 0
 *
 * Sets the nesting limit of requests on connections accepted from now on.
 */
void
uc_server_set_max_depth (UcServer *self, guint max_depth)
{
  g_return_if_fail (UC_IS_SERVER (self));
  g_return_if_fail (max_depth > 0);

  if (self->max_depth == max_depth)
    return;
  self->max_depth = max_depth;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_DEPTH]);
}

/**
 * uc_server_set_max_backlog:
 * @self: a server
 * @max_backlog: unsent reply bytes a connection may queue
 *
 * Sets the send queue bound of connections accepted from now on; past it
 * a client that does not read its replies is disconnected.
 */
void
uc_server_set_max_backlog (UcServer *self, gsize max_backlog)
{
  g_return_if_fail (UC_IS_SERVER (self));

  if (self->max_backlog == max_backlog)
    return;
  self->max_backlog = max_backlog;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_BACKLOG]);
}

/**
 * uc_server_set_remote_limits:
 * @self: a server
 * @max_connections: connections each remote listener serves at once;
 *   not 0
 * @idle_timeout_s: seconds a remote connection may wait without a request
 *   before it is closed; 0 for no limit
 *
 * Sets the limits of remote listeners.  The cap applies at once (a
 * listener over it stops accepting); the timeout to connections accepted
 * from now on.
 */
void
uc_server_set_remote_limits (UcServer *self,
                             guint max_connections,
                             guint idle_timeout_s)
{
  g_return_if_fail (UC_IS_SERVER (self));
  g_return_if_fail (max_connections > 0);

  g_object_freeze_notify (G_OBJECT (self));
  if (self->remote_max_connections != max_connections)
    {
      self->remote_max_connections = max_connections;
      g_object_notify_by_pspec (G_OBJECT (self),
                                properties[PROP_REMOTE_MAX_CONNECTIONS]);
      update_all_listeners (self);
    }
  if (self->remote_idle_timeout_s != idle_timeout_s)
    {
      self->remote_idle_timeout_s = idle_timeout_s;
      g_object_notify_by_pspec (G_OBJECT (self),
                                properties[PROP_REMOTE_IDLE_TIMEOUT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

/**
 * uc_server_set_local_max_connections:
 * @self: a server
 * @max_connections: connections each local listener serves at once; not
 *   0
 *
 * Sets the cap of local listeners; it applies at once.
 */
void
uc_server_set_local_max_connections (UcServer *self, guint max_connections)
{
  g_return_if_fail (UC_IS_SERVER (self));
  g_return_if_fail (max_connections > 0);

  if (self->local_max_connections == max_connections)
    return;
  self->local_max_connections = max_connections;
  g_object_notify_by_pspec (G_OBJECT (self),
                            properties[PROP_LOCAL_MAX_CONNECTIONS]);
  update_all_listeners (self);
}

/**
 * uc_server_get_n_connections:
 * @self: a server
 *
 * Returns: the connections served now, of every listener
 */
guint
uc_server_get_n_connections (UcServer *self)
{
  g_return_val_if_fail (UC_IS_SERVER (self), 0);

  return g_hash_table_size (self->connections);
}

/**
 * uc_server_shutdown_async:
 * @self: a server
 * @cancellable: (nullable): cancelling it stops waiting for requests in
 *   flight: their connections are closed at once
 * @callback: called when the server has shut down
 * @user_data: data for @callback
 *
 * Shuts the server down gracefully: every listener is closed at once (a
 * `punix:` listener removes its socket file), idle connections are
 * closed, and connections with a request in flight are closed once its
 * reply has been written, or after 5 seconds, whichever comes first.
 * Then the shutdown completes.
 *
 * Calling it again is harmless: each call completes when the shutdown
 * does, or at once if it already has.
 */
void
uc_server_shutdown_async (UcServer *self,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (UC_IS_SERVER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_server_shutdown_async);

  if (uc_shutdown_add_task (self->shutdown, task))
    {
      g_autoptr (GPtrArray) list = NULL;

      close_listeners (self);
      list = list_connections (self);
      for (guint i = 0; i < list->len; i++)
        uc_server_connection_close_when_idle (g_ptr_array_index (list, i));
    }
  maybe_finish_shutdown (self);
}

/**
 * uc_server_shutdown_finish:
 * @self: a server
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_server_shutdown_async().
 *
 * Returns: %TRUE once the server has shut down; %FALSE with
 *   %G_IO_ERROR_CANCELLED if the call's cancellable was cancelled (the
 *   server has shut down all the same)
 */
gboolean
uc_server_shutdown_finish (UcServer *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_server_shutdown_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
