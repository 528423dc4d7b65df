/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "stream"

#include "config.h"

#include "uc-stream.h"

#include <arpa/inet.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <string.h>

#include "uc-error.h"
#include "uc-stream-private.h"
#include "uc-tls.h"

/**
 * UcStream:
 *
 * The address of an active stream, parsed from a name such as
 * `unix:/run/unixctld/unixctld.ctl` or `tcp:[::1]:6640`, and the means to
 * connect to it.  A #UcStream holds no connection: each connect call opens
 * a new one.
 */

/* See the gtk-doc block in uc-stream.h for the summary.  Each member's
 * contract in full:
 *
 * @prefix: the text before the first colon that selects the provider; it
 *   is also what uc_stream_get_type_name() returns.
 *
 * @parse: called once, from uc_stream_new(), with @self's name already
 *   set.  Validates @suffix (the text after the first colon) and stores the
 *   address in @self.  Pure string work: it never blocks and never touches
 *   the network or the file system (a relative file name is resolved
 *   lexically under @rundir).  Returns %FALSE with %UC_ERROR_INVALID_NAME,
 *   whose message quotes the whole name (uc_stream_set_invalid_name()).
 *
 * @connect_async: starts connecting and completes @task (transfer full)
 *   with a #GIOStream (transfer full) or an error whose message names the
 *   stream.  Never blocks: it runs in the caller's thread-default main
 *   context and every wait (name resolution, the TCP or TLS handshake) is
 *   asynchronous.  @task carries the caller's cancellable. */
struct _UcStreamProvider
{
  const char *prefix;
  gboolean (*parse) (UcStream *self,
                     const char *suffix,
                     const char *rundir,
                     GError **error);
  void (*connect_async) (UcStream *self, GTask *task);
};

struct _UcStream
{
  GObject parent_instance;

  const UcStreamProvider *provider; /* (unowned): static table entry */
  char *name;                       /* (owned) */
  char *path;                       /* (owned) (nullable): unix only */
  char *host;                       /* (owned) (nullable): tcp, ssl */
  guint16 port;                     /* tcp, ssl; 0 for unix */
  UcTlsConfig *tls_config;          /* (owned) (nullable): ssl only */
};

G_DEFINE_FINAL_TYPE (UcStream, uc_stream, G_TYPE_OBJECT)

/* ---------------------------------------------------------------------- */
/* Shared name parsing (uc-stream-private.h)                              */
/* ---------------------------------------------------------------------- */

/* Appends @len bytes from @p to @out as octal escapes, as g_strescape()
 * does for bytes it does not print. */
static void
append_octal (GString *out, const char *p, gsize len)
{
  gsize i;

  for (i = 0; i < len; i++)
    g_string_append_printf (out, "\\%03o", (guchar) p[i]);
}

/**
 * uc_stream_quote:
 * @text: any NUL-terminated bytes, typically a user-supplied name
 *
 * Makes @text safe to put between double quotes in a message: `\` and
 * `"` are backslash-escaped, control and other unprintable characters and
 * bytes that are not UTF-8 are escaped as g_strescape() does (`\n`, `\t`,
 * `\ooo`), and only the first %UC_STREAM_QUOTE_MAX bytes are kept, with
 * `...` after them when something was cut.  A name can therefore neither
 * forge extra lines in a log nor flood it.
 *
 * Returns: (transfer full): the quotable text
 */
char *
uc_stream_quote (const char *text)
{
  GString *out = g_string_new (NULL);
  const char *end = text + strlen (text);
  const char *p = text;

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      gsize len;

      /* Invalid UTF-8: escape one byte and resynchronise after it. */
      len = (c == (gunichar) -1 || c == (gunichar) -2)
              ? 1
              : (gsize) (g_utf8_next_char (p) - p);
      if ((gsize) (p - text) + len > UC_STREAM_QUOTE_MAX)
        {
          g_string_append (out, "...");
          break;
        }

      if (len == 1 && (c == (gunichar) -1 || c == (gunichar) -2))
        append_octal (out, p, len);
      else if (c == '\\' || c == '"')
        g_string_append_printf (out, "\\%c", (char) c);
      else if (c == '\b')
        g_string_append (out, "\\b");
      else if (c == '\f')
        g_string_append (out, "\\f");
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\v')
        g_string_append (out, "\\v");
      else if (!g_unichar_isprint (c))
        /* Other controls, and format characters such as the bidi
         * overrides that would make the message display out of order. */
        append_octal (out, p, len);
      else
        g_string_append_len (out, p, len);
      p += len;
    }

  return g_string_free (out, FALSE);
}

/**
 * uc_stream_set_invalid_name:
 * @error: return location for the error, or %NULL
 * @kind: which parser rejects the name
 * @name: the whole name, as the user gave it
 * @format: printf-style reason, translated by the caller
 * @...: arguments for @format; text from @name in them must already have
 *   gone through uc_stream_quote()
 *
 * Sets %UC_ERROR_INVALID_NAME with the single message shape every stream
 * name error has: `Invalid stream name "NAME": REASON` (or `Invalid passive
 * stream name ...`), @name quoted by uc_stream_quote().
 */
void
uc_stream_set_invalid_name (GError **error,
                            UcStreamKind kind,
                            const char *name,
                            const char *format,
                            ...)
{
  g_autofree char *quoted = uc_stream_quote (name);
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);

  if (kind == UC_STREAM_KIND_PASSIVE)
    g_set_error (error, UC_ERROR, UC_ERROR_INVALID_NAME,
                 _ ("Invalid passive stream name \"%s\": %s"), quoted, reason);
  else
    g_set_error (error, UC_ERROR, UC_ERROR_INVALID_NAME,
                 _ ("Invalid stream name \"%s\": %s"), quoted, reason);
}

/**
 * uc_stream_parse_unix_path:
 * @kind: which parser is asking
 * @name: the whole name, for messages
 * @file: the file name after the colon of `unix:` or `punix:`
 * @rundir: (nullable): where a relative @file goes; %NULL for the
 *   current directory
 * @path: (out) (transfer full): the absolute socket path
 * @error: return location for a %UC_ERROR_INVALID_NAME error
 *
 * Resolves @file as uc_stream_resolve_unix_path() does and checks that the
 * result fits in `sun_path`: a longer path would be truncated by the
 * kernel and name a different socket.
 *
 * Returns: %TRUE and sets @path, otherwise %FALSE with @error set
 */
gboolean
uc_stream_parse_unix_path (UcStreamKind kind,
                           const char *name,
                           const char *file,
                           const char *rundir,
                           char **path,
                           GError **error)
{
  g_autofree char *resolved = NULL;
  gsize len;

  if (*file == '\0')
    {
      uc_stream_set_invalid_name (error, kind, name,
                                  _ ("missing socket file name"));
      return FALSE;
    }

  resolved = uc_stream_resolve_unix_path (rundir, file);
  len = strlen (resolved);
  if (len > UC_STREAM_UNIX_PATH_MAX)
    {
      if (g_path_is_absolute (file))
        uc_stream_set_invalid_name (
          error, kind, name,
          _ ("socket path is %u bytes long, more than the maximum of %u"),
          (guint) len, (guint) UC_STREAM_UNIX_PATH_MAX);
      else
        uc_stream_set_invalid_name (
          error, kind, name,
          _ ("socket path is %u bytes long once resolved under the run "
             "directory, more than the maximum of %u"),
          (guint) len, (guint) UC_STREAM_UNIX_PATH_MAX);
      return FALSE;
    }

  *path = g_steal_pointer (&resolved);
  return TRUE;
}

/**
 * uc_stream_parse_port:
 * @kind: which parser is asking: a passive port may be 0 (ephemeral), an
 *   active one may not
 * @name: the whole name, for messages
 * @text: the port as written: decimal digits only
 * @port: (out): the port
 * @error: return location for a %UC_ERROR_INVALID_NAME error
 *
 * Parses a port strictly: no sign, no spaces, no hexadecimal.
 *
 * Returns: %TRUE and sets @port, otherwise %FALSE with @error set
 */
gboolean
uc_stream_parse_port (UcStreamKind kind,
                      const char *name,
                      const char *text,
                      guint16 *port,
                      GError **error)
{
  guint min = kind == UC_STREAM_KIND_PASSIVE ? 0 : 1;
  guint value = 0;
  gboolean overflow = FALSE;
  const char *p;

  if (*text == '\0')
    {
      uc_stream_set_invalid_name (error, kind, name, _ ("missing port"));
      return FALSE;
    }

  for (p = text; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        {
          g_autofree char *quoted = uc_stream_quote (text);
          g_autofree char *prefix = g_strndup (name, strcspn (name, ":"));

          /* A passive name has its port first, which is easy to get
           * backwards: show the syntax. */
          if (kind == UC_STREAM_KIND_PASSIVE)
            uc_stream_set_invalid_name (
              error, kind, name,
              _ ("port \"%s\" is not a number (expected %s:[PORT][:IP])"),
              quoted, prefix);
          else
            uc_stream_set_invalid_name (
              error, kind, name, _ ("port \"%s\" is not a number"), quoted);
          return FALSE;
        }
      /* Stop accumulating once out of range so that a long run of digits
       * cannot overflow; the digits are still checked. */
      if (!overflow)
        {
          value = value * 10 + (guint) (*p - '0');
          overflow = value > G_MAXUINT16;
        }
    }

  if (overflow || value < min)
    {
      g_autofree char *quoted = uc_stream_quote (text);

      uc_stream_set_invalid_name (error, kind, name,
                                  _ ("port %s is out of range (%u-%u)"), quoted,
                                  min, (guint) G_MAXUINT16);
      return FALSE;
    }

  *port = (guint16) value;
  return TRUE;
}

/* Sets the error for an IPv6 address written without brackets, with an
 * example in the syntax of @name's own type. */
static void
set_unbracketed_ipv6 (GError **error, UcStreamKind kind, const char *name)
{
  g_autofree char *prefix = g_strndup (name, strcspn (name, ":"));
  g_autofree char *example = NULL;

  example = kind == UC_STREAM_KIND_PASSIVE
              ? g_strdup_printf ("%s:6640:[::1]", prefix)
              : g_strdup_printf ("%s:[::1]:6640", prefix);
  uc_stream_set_invalid_name (
    error, kind, name,
    _ ("an IPv6 address must be written in brackets, as in \"%s\""), example);
}

/**
 * uc_stream_set_tcp_nodelay:
 * @connection: a connected socket
 *
 * Turns Nagle's algorithm off on a TCP connection, as Open vSwitch does
 * on every one: a JSON-RPC message, or a TLS handshake flight that GnuTLS
 * writes a record at a time, must not wait for the peer's delayed
 * acknowledgement (about 40 ms) before its last piece goes out.  Does
 * nothing to other sockets; a failure only costs latency and is ignored.
 */
void
uc_stream_set_tcp_nodelay (GSocketConnection *connection)
{
  GSocket *socket;
  GSocketFamily family;

  g_return_if_fail (G_IS_SOCKET_CONNECTION (connection));

  /* By family and type: a socket made with the default protocol, as
   * GSocketClient makes them, does not say it is TCP. */
  socket = g_socket_connection_get_socket (connection);
  family = g_socket_get_family (socket);
  if ((family == G_SOCKET_FAMILY_IPV4 || family == G_SOCKET_FAMILY_IPV6) &&
      g_socket_get_socket_type (socket) == G_SOCKET_TYPE_STREAM)
    g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
}

/**
 * uc_stream_is_ipv6_literal:
 * @text: any text
 *
 * Tells whether @text is an IPv6 address without brackets, to explain a
 * name that fails to parse because of one.
 *
 * Returns: %TRUE if @text is a textual IPv6 address
 */
gboolean
uc_stream_is_ipv6_literal (const char *text)
{
  struct in6_addr in6;

  return inet_pton (AF_INET6, text, &in6) == 1;
}

/**
 * uc_stream_parse_ip:
 * @kind: which parser is asking
 * @name: the whole name, for messages
 * @text: a dotted-quad IPv4 address, or an IPv6 address in brackets
 * @address: (out) (transfer full): the address
 * @error: return location for a %UC_ERROR_INVALID_NAME error
 *
 * Parses an IP address literal as it appears in a stream name.  An IPv6
 * address must be bracketed, because its colons would otherwise be taken
 * for the separator before or after the port.  Only the strict forms are
 * accepted (inet_pton()): `127.1` and scoped addresses are not.
 *
 * Returns: %TRUE and sets @address, otherwise %FALSE with @error set
 */
gboolean
uc_stream_parse_ip (UcStreamKind kind,
                    const char *name,
                    const char *text,
                    GInetAddress **address,
                    GError **error)
{
  if (text[0] == '[')
    {
      gsize len = strlen (text);
      g_autofree char *inner = NULL;
      struct in6_addr in6;

      if (strchr (text, ']') == NULL)
        {
          uc_stream_set_invalid_name (
            error, kind, name, _ ("missing \"]\" after the IPv6 address"));
          return FALSE;
        }
      if (text[len - 1] != ']')
        {
          uc_stream_set_invalid_name (error, kind, name,
                                      _ ("unexpected text after \"]\""));
          return FALSE;
        }
      inner = g_strndup (text + 1, len - 2);
      if (inet_pton (AF_INET6, inner, &in6) != 1)
        {
          g_autofree char *quoted = uc_stream_quote (inner);

          uc_stream_set_invalid_name (error, kind, name,
                                      _ ("bad IPv6 address \"%s\""), quoted);
          return FALSE;
        }
      *address = g_inet_address_new_from_bytes ((const guint8 *) &in6,
                                                G_SOCKET_FAMILY_IPV6);
      return TRUE;
    }
  else
    {
      struct in_addr in4;

      if (uc_stream_is_ipv6_literal (text))
        {
          set_unbracketed_ipv6 (error, kind, name);
          return FALSE;
        }
      if (inet_pton (AF_INET, text, &in4) != 1)
        {
          g_autofree char *quoted = uc_stream_quote (text);

          uc_stream_set_invalid_name (error, kind, name,
                                      _ ("bad IP address \"%s\""), quoted);
          return FALSE;
        }
      *address = g_inet_address_new_from_bytes ((const guint8 *) &in4,
                                                G_SOCKET_FAMILY_IPV4);
      return TRUE;
    }
}

/* The name of entry @i of a type table (see uc_stream_lookup_type()):
 * its first member. */
static const char *
type_name_at (gconstpointer types, gsize type_size, gsize i)
{
  const char *name;

  memcpy (&name, (const guint8 *) types + i * type_size, sizeof name);
  return name;
}

/* "unix, tcp, ssl", for messages that list the known types. */
static char *
join_type_names (gconstpointer types, gsize n_types, gsize type_size)
{
  g_autoptr (GString) list = g_string_new (NULL);

  for (gsize i = 0; i < n_types; i++)
    g_string_append_printf (list, "%s%s", i > 0 ? ", " : "",
                            type_name_at (types, type_size, i));
  return g_string_free (g_steal_pointer (&list), FALSE);
}

/**
 * uc_stream_lookup_type:
 * @kind: which parser is asking
 * @name: the whole name, such as `tcp:127.0.0.1:6640`
 * @types: a table of @n_types entries of @type_size bytes each, as for
 *   bsearch(), whose first member is the type's name (`const char *`)
 * @n_types: how many entries @types has
 * @type_size: the size of one entry
 * @suffix: (out) (transfer none): where the text after the type's colon
 *   starts, in @name
 * @error: return location for a %UC_ERROR_INVALID_NAME error
 *
 * Finds the type of @name, the text before its first colon, in @types.
 * Both stream layers read their names this way, so that a missing colon
 * or an unknown type is refused with the same words, which list the
 * known types.
 *
 * Returns: the index of the type in @types, or -1 with @error set
 */
gssize
uc_stream_lookup_type (UcStreamKind kind,
                       const char *name,
                       gconstpointer types,
                       gsize n_types,
                       gsize type_size,
                       const char **suffix,
                       GError **error)
{
  g_autofree char *known = NULL;
  g_autofree char *type = NULL;
  g_autofree char *quoted = NULL;
  const char *colon;
  gsize type_len;

  g_return_val_if_fail (name != NULL, -1);
  g_return_val_if_fail (types != NULL, -1);
  g_return_val_if_fail (type_size >= sizeof (const char *), -1);
  g_return_val_if_fail (suffix != NULL, -1);

  colon = strchr (name, ':');
  if (colon == NULL)
    {
      known = join_type_names (types, n_types, type_size);
      uc_stream_set_invalid_name (
        error, kind, name,
        _ ("missing \":\" after the stream type (known types: %s)"), known);
      return -1;
    }

  type_len = (gsize) (colon - name);
  for (gsize i = 0; i < n_types; i++)
    {
      const char *type_name = type_name_at (types, type_size, i);

      if (strlen (type_name) == type_len &&
          strncmp (name, type_name, type_len) == 0)
        {
          *suffix = colon + 1;
          return (gssize) i;
        }
    }

  known = join_type_names (types, n_types, type_size);
  type = g_strndup (name, type_len);
  quoted = uc_stream_quote (type);
  uc_stream_set_invalid_name (
    error, kind, name, _ ("unknown stream type \"%s\" (known types: %s)"),
    quoted, known);
  return -1;
}

/* ---------------------------------------------------------------------- */
/* Providers                                                              */
/* ---------------------------------------------------------------------- */

/* A host name as DNS allows it: labels of 1-63 letters, digits, '-' or
 * '_' (the latter is common in private zones), at most 253 bytes, with an
 * optional final dot.  Non-ASCII names are checked in their IDNA form. */
static gboolean
host_name_is_valid (const char *host)
{
  g_autofree char *ascii = NULL;
  gsize len;
  gsize label = 0;
  const char *p;

  if (!g_utf8_validate (host, -1, NULL))
    return FALSE;
  ascii = g_hostname_to_ascii (host);
  if (ascii == NULL)
    return FALSE;

  len = strlen (ascii);
  if (len > 0 && ascii[len - 1] == '.')
    len--;
  if (len == 0 || len > 253)
    return FALSE;

  for (p = ascii; p < ascii + len; p++)
    {
      if (*p == '.')
        {
          if (label == 0)
            return FALSE;
          label = 0;
        }
      else if (g_ascii_isalnum (*p) || *p == '-' || *p == '_')
        {
          if (++label > 63)
            return FALSE;
        }
      else
        return FALSE;
    }
  return label > 0;
}

/* Validates the HOST of `tcp:HOST:PORT`: an IPv6 literal in brackets, an
 * IPv4 literal, or a host name.  Stores it without brackets. */
static gboolean
parse_host (UcStream *self, const char *text, GError **error)
{
  g_autoptr (GInetAddress) address = NULL;
  gboolean numeric = TRUE;
  const char *p;

  if (*text == '\0')
    {
      uc_stream_set_invalid_name (error, UC_STREAM_KIND_ACTIVE, self->name,
                                  _ ("missing host name or IP address"));
      return FALSE;
    }

  if (text[0] == '[')
    {
      if (!uc_stream_parse_ip (UC_STREAM_KIND_ACTIVE, self->name, text,
                               &address, error))
        return FALSE;
      self->host = g_strndup (text + 1, strlen (text) - 2);
      return TRUE;
    }

  /* A name of digits and dots can only be meant as an IPv4 address (no
   * top-level domain is numeric), so "1.2.3.256" is a typo to report now
   * rather than a name to send to DNS. */
  for (p = text; *p != '\0'; p++)
    numeric = numeric && (g_ascii_isdigit (*p) || *p == '.');
  if (numeric)
    {
      if (!uc_stream_parse_ip (UC_STREAM_KIND_ACTIVE, self->name, text,
                               &address, error))
        return FALSE;
    }
  else if (!host_name_is_valid (text))
    {
      g_autofree char *quoted = uc_stream_quote (text);

      uc_stream_set_invalid_name (error, UC_STREAM_KIND_ACTIVE, self->name,
                                  _ ("bad host name \"%s\""), quoted);
      return FALSE;
    }

  self->host = g_strdup (text);
  return TRUE;
}

/* `tcp:HOST:PORT` and `ssl:HOST:PORT`. */
static gboolean
inet_parse (UcStream *self,
            const char *suffix,
            const char *rundir,
            GError **error)
{
  g_autofree char *host = NULL;
  const char *port;

  if (suffix[0] == '[')
    {
      const char *close = strchr (suffix, ']');

      if (close == NULL)
        {
          uc_stream_set_invalid_name (
            error, UC_STREAM_KIND_ACTIVE, self->name,
            _ ("missing \"]\" after the IPv6 address"));
          return FALSE;
        }
      host = g_strndup (suffix, close + 1 - suffix);
      if (close[1] == '\0')
        port = close + 1;
      else if (close[1] == ':')
        port = close + 2;
      else
        {
          uc_stream_set_invalid_name (error, UC_STREAM_KIND_ACTIVE, self->name,
                                      _ ("unexpected text after \"]\""));
          return FALSE;
        }
    }
  else
    {
      const char *colon = strchr (suffix, ':');
      const char *last_colon = strrchr (suffix, ':');
      g_autofree char *before_last = NULL;

      /* An IPv6 address without brackets, with or without a port after
       * it: its colons cannot be told from the port separator. */
      if (last_colon != NULL)
        before_last = g_strndup (suffix, last_colon - suffix);
      if (uc_stream_is_ipv6_literal (suffix) ||
          (before_last != NULL && uc_stream_is_ipv6_literal (before_last)))
        {
          set_unbracketed_ipv6 (error, UC_STREAM_KIND_ACTIVE, self->name);
          return FALSE;
        }
      if (colon != NULL)
        {
          host = g_strndup (suffix, colon - suffix);
          port = colon + 1;
        }
      else
        {
          host = g_strdup (suffix);
          port = suffix + strlen (suffix);
        }
    }

  return parse_host (self, host, error) &&
         uc_stream_parse_port (UC_STREAM_KIND_ACTIVE, self->name, port,
                               &self->port, error);
}

static gboolean
unix_parse (UcStream *self,
            const char *suffix,
            const char *rundir,
            GError **error)
{
  return uc_stream_parse_unix_path (UC_STREAM_KIND_ACTIVE, self->name, suffix,
                                    rundir, &self->path, error);
}

/* Keeps GIO's code, which callers test, and its text, which carries the
 * reason, of a failed connect; only says which stream it was about. */
static void
prefix_connect_error (UcStream *self, GError **error)
{
  g_autofree char *quoted = uc_stream_quote (self->name);

  g_prefix_error (error, "\"%s\": ", quoted);
}

static void
socket_client_connect_cb (GObject *source,
                          GAsyncResult *result,
                          gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  UcStream *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection;

  connection =
    g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (connection == NULL)
    {
      prefix_connect_error (self, &error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  uc_stream_set_tcp_nodelay (connection);
  g_task_return_pointer (task, connection, g_object_unref);
}

/* Connects through a GSocketClient, which resolves and connects without
 * blocking and tries every address a name resolves to. */
static void
socket_client_connect_async (GSocketConnectable *connectable, GTask *task)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();

  /* A control connection goes straight to the daemon: honouring
   * $http_proxy or the desktop's proxy settings would send it elsewhere. */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_async (client, connectable,
                                 g_task_get_cancellable (task),
                                 socket_client_connect_cb, task);
}

static void
unix_connect_async (UcStream *self, GTask *task)
{
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (self->path);

  socket_client_connect_async (G_SOCKET_CONNECTABLE (address), task);
}

/* Connects a `unix:` stream at once, without a thread or a main loop
 * iteration: a unix connect never waits (with the listen backlog full it
 * fails with EAGAIN, as Open vSwitch's does).  The error is the one
 * unix_connect_async() gives: GSocket's, behind the stream's name. */
static GIOStream *
unix_connect_sync (UcStream *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GError) local_error = NULL;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  socket =
    g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, &local_error);
  if (socket != NULL)
    {
      address = g_unix_socket_address_new (self->path);
      if (g_socket_connect (socket, address, cancellable, &local_error))
        return G_IO_STREAM (
          g_socket_connection_factory_create_connection (socket));
    }

  prefix_connect_error (self, &local_error);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

static void
tcp_connect_async (UcStream *self, GTask *task)
{
  g_autoptr (GSocketConnectable) address = NULL;

  address = g_network_address_new (self->host, self->port);
  socket_client_connect_async (address, task);
}

static void
ssl_handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  UcStream *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result,
                                          &error))
    {
      uc_tls_explain_handshake_error (G_TLS_CONNECTION (source), &error);
      prefix_connect_error (self, &error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_object_ref (source), g_object_unref);
}

static void
ssl_tcp_connected_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  UcStream *self = g_task_get_source_object (task);
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GError) error = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);

  connection =
    g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (connection != NULL)
    {
      uc_stream_set_tcp_nodelay (connection);
      tls = uc_tls_config_wrap_client (self->tls_config,
                                       G_IO_STREAM (connection), &error);
    }
  if (tls == NULL)
    {
      prefix_connect_error (self, &error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    cancellable, ssl_handshake_cb,
                                    g_steal_pointer (&task));
}

/* `ssl:`: a TCP connection, then the client side of a TLS handshake with
 * the stream's configuration (uc_stream_set_tls_config()). */
static void
ssl_connect_async (UcStream *self, GTask *task)
{
  g_autoptr (GSocketConnectable) address = NULL;
  g_autoptr (GSocketClient) client = NULL;

  if (self->tls_config == NULL)
    {
      g_autofree char *quoted = uc_stream_quote (self->name);

      g_task_return_new_error (
        task, UC_ERROR, UC_ERROR_NOT_SUPPORTED,
        _ ("Cannot connect to \"%s\": SSL/TLS needs a private key, a "
           "certificate and a CA certificate"),
        quoted);
      g_object_unref (task);
      return;
    }

  address = g_network_address_new (self->host, self->port);
  client = g_socket_client_new ();
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_async (client, address, g_task_get_cancellable (task),
                                 ssl_tcp_connected_cb, task);
}

/* The active stream types.  Keep in step with the passive table in
 * uc-pstream.c. */
static const UcStreamProvider providers[] = {
  { "unix", unix_parse, unix_connect_async },
  { "tcp", inet_parse, tcp_connect_async },
  { "ssl", inet_parse, ssl_connect_async },
};

/* ---------------------------------------------------------------------- */
/* UcStream                                                               */
/* ---------------------------------------------------------------------- */

static void
uc_stream_finalize (GObject *object)
{
  UcStream *self = UC_STREAM (object);

  g_free (self->name);
  g_free (self->path);
  g_free (self->host);
  g_clear_object (&self->tls_config);

  G_OBJECT_CLASS (uc_stream_parent_class)->finalize (object);
}

static void
uc_stream_class_init (UcStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = uc_stream_finalize;
}

static void
uc_stream_init (UcStream *self)
{
}

/**
 * uc_stream_new:
 * @name: an active stream name: `unix:FILE`, `tcp:HOST:PORT` or
 *   `ssl:HOST:PORT`, where HOST is an IPv4 address, an IPv6 address in
 *   brackets or a host name
 * @rundir: (nullable): the directory a relative `unix:` FILE is resolved
 *   under; %NULL for the current directory
 * @error: return location for a %UC_ERROR_INVALID_NAME error
 *
 * Parses @name.  Only the text is checked: nothing is resolved, opened or
 * connected, so this never blocks.
 *
 * Returns: (transfer full): the stream, or %NULL with @error set to a
 *   %UC_ERROR_INVALID_NAME error that quotes @name and says what is wrong
 */
UcStream *
uc_stream_new (const char *name, const char *rundir, GError **error)
{
  g_autoptr (UcStream) self = NULL;
  const char *suffix;
  gssize i;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  i = uc_stream_lookup_type (UC_STREAM_KIND_ACTIVE, name, providers,
                             G_N_ELEMENTS (providers), sizeof (providers[0]),
                             &suffix, error);
  if (i < 0)
    return NULL;

  self = g_object_new (UC_TYPE_STREAM, NULL);
  self->provider = &providers[i];
  self->name = g_strdup (name);
  if (!self->provider->parse (self, suffix, rundir, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * uc_stream_get_name:
 * @self: a #UcStream
 *
 * Returns: the name @self was created from, as given
 */
const char *
uc_stream_get_name (UcStream *self)
{
  g_return_val_if_fail (UC_IS_STREAM (self), NULL);

  return self->name;
}

/**
 * uc_stream_get_type_name:
 * @self: a #UcStream
 *
 * Returns: the stream's type: "unix", "tcp" or "ssl"
 */
const char *
uc_stream_get_type_name (UcStream *self)
{
  g_return_val_if_fail (UC_IS_STREAM (self), NULL);

  return self->provider->prefix;
}

/**
 * uc_stream_get_path:
 * @self: a #UcStream
 *
 * Returns: (nullable): the absolute socket path of a `unix:` stream
 *   (resolved under the rundir if the name was relative), or %NULL for
 *   other types
 */
const char *
uc_stream_get_path (UcStream *self)
{
  g_return_val_if_fail (UC_IS_STREAM (self), NULL);

  return self->path;
}

/**
 * uc_stream_get_host:
 * @self: a #UcStream
 *
 * Returns: (nullable): the host of a `tcp:` or `ssl:` stream, without the
 *   brackets of an IPv6 address, or %NULL for `unix:`
 */
const char *
uc_stream_get_host (UcStream *self)
{
  g_return_val_if_fail (UC_IS_STREAM (self), NULL);

  return self->host;
}

/**
 * uc_stream_get_port:
 * @self: a #UcStream
 *
 * Returns: the port of a `tcp:` or `ssl:` stream (never 0), or 0 for
 *   `unix:`
 */
guint16
uc_stream_get_port (UcStream *self)
{
  g_return_val_if_fail (UC_IS_STREAM (self), 0);

  return self->port;
}

/**
 * uc_stream_set_tls_config:
 * @self: a #UcStream
 * @config: (nullable): the certificate, key and CA for TLS
 *
 * Gives an `ssl:` stream what its TLS handshake needs; it cannot connect
 * without.  Other types have no use for it and ignore it.
 */
void
uc_stream_set_tls_config (UcStream *self, UcTlsConfig *config)
{
  g_return_if_fail (UC_IS_STREAM (self));
  g_return_if_fail (config == NULL || UC_IS_TLS_CONFIG (config));

  g_set_object (&self->tls_config, config);
}

/**
 * uc_stream_connect_async:
 * @self: a #UcStream
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when connected or failed
 * @user_data: data for @callback
 *
 * Opens a new connection to @self.  Nothing blocks: host names are
 * resolved and every address they resolve to is tried asynchronously.
 * Proxy settings are ignored.  Call uc_stream_connect_finish() from
 * @callback.
 */
void
uc_stream_connect_async (UcStream *self,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  GTask *task;

  g_return_if_fail (UC_IS_STREAM (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_stream_connect_async);
  self->provider->connect_async (self, task);
}

/**
 * uc_stream_connect_finish:
 * @self: a #UcStream
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Completes uc_stream_connect_async().  On failure the error keeps GIO's
 * code (%G_IO_ERROR_NOT_FOUND for a missing socket file,
 * %G_IO_ERROR_CONNECTION_REFUSED, ...) and its message starts with the
 * quoted stream name; an `ssl:` stream fails with %UC_ERROR_NOT_SUPPORTED.
 *
 * Returns: (transfer full): the connection, or %NULL with @error set
 */
GIOStream *
uc_stream_connect_finish (UcStream *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (UC_IS_STREAM (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_stream_connect_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
connect_sync_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **result_out = user_data;

  *result_out = g_object_ref (result);
}

/**
 * uc_stream_connect:
 * @self: a #UcStream
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Opens a new connection to @self and waits for it, for command-line
 * programs that have nothing else to do meanwhile.  Never call it from a
 * main loop that serves others.  Fails as uc_stream_connect_finish() does.
 *
 * A `unix:` stream is connected at once, without a thread or a main loop
 * iteration, since connecting to a unix socket never waits: that is most
 * of the start-up of a one-shot client.
 *
 * Returns: (transfer full): the connection, or %NULL with @error set
 */
GIOStream *
uc_stream_connect (UcStream *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GMainContext) context = NULL;
  g_autoptr (GAsyncResult) result = NULL;

  g_return_val_if_fail (UC_IS_STREAM (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable),
                        NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->provider->connect_async == unix_connect_async)
    return unix_connect_sync (self, cancellable, error);

  /* Run the asynchronous connect in a context of our own, so that the
   * other types need no code of their own here and the caller's main
   * context, if any, dispatches nothing while we wait. */
  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  uc_stream_connect_async (self, cancellable, connect_sync_cb, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  return uc_stream_connect_finish (self, result, error);
}

/**
 * uc_stream_name_is_valid:
 * @name: a name to check
 *
 * Checks @name as uc_stream_new() with no rundir would, without keeping
 * anything.  A relative `unix:` name is measured against the current
 * directory.
 *
 * Returns: %TRUE if @name is a valid active stream name
 */
gboolean
uc_stream_name_is_valid (const char *name)
{
  g_autoptr (UcStream) stream = NULL;

  g_return_val_if_fail (name != NULL, FALSE);

  stream = uc_stream_new (name, NULL, NULL);
  return stream != NULL;
}

/**
 * uc_stream_resolve_unix_path:
 * @rundir: (nullable): the run directory; %NULL for the current directory
 * @file: a socket file name, absolute or relative
 *
 * Resolves a `unix:` or `punix:` file name as Open vSwitch does: an
 * absolute @file is used as given, a relative one goes under @rundir (and
 * a relative @rundir under the current directory).  Purely lexical: no
 * symbolic link is followed and `..` is kept.
 *
 * Returns: (transfer full): the absolute path
 */
char *
uc_stream_resolve_unix_path (const char *rundir, const char *file)
{
  g_autofree char *cwd = NULL;

  g_return_val_if_fail (file != NULL, NULL);

  if (g_path_is_absolute (file))
    return g_strdup (file);
  if (rundir != NULL && g_path_is_absolute (rundir))
    return g_build_filename (rundir, file, NULL);

  cwd = g_get_current_dir ();
  return g_build_filename (cwd, rundir != NULL ? rundir : file,
                           rundir != NULL ? file : NULL, NULL);
}
