/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-stream"

#include "config.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "uc-error.h"
#include "uc-pstream.h"
#include "uc-stream-private.h"
#include "uc-stream.h"
#include "uc-test-util.h"

/* ---------------------------------------------------------------------- */
/* Names                                                                  */
/* ---------------------------------------------------------------------- */

typedef struct
{
  const char *name;
  const char *rundir;
  const char *type;
  const char *path;
  const char *host;
  guint16 port;
} ActiveValid;

static const ActiveValid active_valid[] = {
  { "unix:/tmp/x.ctl", NULL, "unix", "/tmp/x.ctl", NULL, 0 },
  { "unix:/tmp/x.ctl", "/run/u", "unix", "/tmp/x.ctl", NULL, 0 },
  { "unix:x.ctl", "/run/u", "unix", "/run/u/x.ctl", NULL, 0 },
  { "unix:sub/x.ctl", "/run/u/", "unix", "/run/u/sub/x.ctl", NULL, 0 },
  { "unix:/tmp/a b\n.ctl", NULL, "unix", "/tmp/a b\n.ctl", NULL, 0 },
  { "tcp:127.0.0.1:6640", NULL, "tcp", NULL, "127.0.0.1", 6640 },
  { "tcp:[::1]:1", NULL, "tcp", NULL, "::1", 1 },
  { "tcp:[::ffff:1.2.3.4]:80", NULL, "tcp", NULL, "::ffff:1.2.3.4", 80 },
  { "tcp:localhost:65535", NULL, "tcp", NULL, "localhost", 65535 },
  { "tcp:example.com.:80", NULL, "tcp", NULL, "example.com.", 80 },
  { "tcp:my_host-1.lan:0080", NULL, "tcp", NULL, "my_host-1.lan", 80 },
  { "tcp:b\303\274cher.example:80", NULL, "tcp", NULL, "b\303\274cher.example",
    80 },
  { "ssl:10.0.0.1:6640", NULL, "ssl", NULL, "10.0.0.1", 6640 },
  { "ssl:[2001:db8::1]:443", NULL, "ssl", NULL, "2001:db8::1", 443 },
};

static void
test_name_active_valid (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (active_valid); i++)
    {
      const ActiveValid *t = &active_valid[i];
      g_autoptr (UcStream) stream = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *quoted = uc_stream_quote (t->name);

      g_test_message ("%s", quoted);
      stream = uc_stream_new (t->name, t->rundir, &error);
      g_assert_no_error (error);
      g_assert_nonnull (stream);
      g_assert_cmpstr (uc_stream_get_name (stream), ==, t->name);
      g_assert_cmpstr (uc_stream_get_type_name (stream), ==, t->type);
      g_assert_cmpstr (uc_stream_get_path (stream), ==, t->path);
      g_assert_cmpstr (uc_stream_get_host (stream), ==, t->host);
      g_assert_cmpuint (uc_stream_get_port (stream), ==, t->port);
      if (t->rundir == NULL)
        g_assert_true (uc_stream_name_is_valid (t->name));
    }
}

typedef struct
{
  const char *name;
  const char *message;
} InvalidName;

/* A table of names that uc_stream_new() (or with @passive,
 * uc_pstream_new()) must refuse. */
typedef struct
{
  const InvalidName *names; /* (array length=n_names) */
  gsize n_names;
  gboolean passive;
} InvalidNames;

#define A(NAME) "Invalid stream name \"" NAME "\": "
static const InvalidName active_invalid[] = {
  { "", A ("") "missing \":\" after the stream type (known types: unix, "
               "tcp, ssl)" },
  { "unix", A ("unix") "missing \":\" after the stream type (known types: "
                       "unix, tcp, ssl)" },
  { "foo:bar", A ("foo:bar") "unknown stream type \"foo\" (known types: "
                             "unix, tcp, ssl)" },
  { "punix:/x", A ("punix:/x") "unknown stream type \"punix\" (known types: "
                               "unix, tcp, ssl)" },
  { ":x", A (":x") "unknown stream type \"\" (known types: unix, tcp, "
                   "ssl)" },
  { "UNIX:/x", A ("UNIX:/x") "unknown stream type \"UNIX\" (known types: "
                             "unix, tcp, ssl)" },
  { "unix:", A ("unix:") "missing socket file name" },
  { "tcp:", A ("tcp:") "missing host name or IP address" },
  { "tcp::6640", A ("tcp::6640") "missing host name or IP address" },
  { "tcp:1.2.3.4", A ("tcp:1.2.3.4") "missing port" },
  { "tcp:1.2.3.4:", A ("tcp:1.2.3.4:") "missing port" },
  { "tcp:host:abc", A ("tcp:host:abc") "port \"abc\" is not a number" },
  { "tcp:host:-1", A ("tcp:host:-1") "port \"-1\" is not a number" },
  { "tcp:host: 80", A ("tcp:host: 80") "port \" 80\" is not a number" },
  { "tcp:host:0x50", A ("tcp:host:0x50") "port \"0x50\" is not a number" },
  { "tcp:host:80:90", A ("tcp:host:80:90") "port \"80:90\" is not a "
                                           "number" },
  { "tcp:host:0", A ("tcp:host:0") "port 0 is out of range (1-65535)" },
  { "tcp:host:65536", A ("tcp:host:65536") "port 65536 is out of range "
                                           "(1-65535)" },
  { "tcp:host:99999999999999999999",
    A ("tcp:host:99999999999999999999") "port 99999999999999999999 is out "
                                        "of range (1-65535)" },
  { "tcp:::1:6640", A ("tcp:::1:6640") "an IPv6 address must be written in "
                                       "brackets, as in \"tcp:[::1]:6640\"" },
  { "tcp:::1", A ("tcp:::1") "an IPv6 address must be written in brackets, "
                             "as in \"tcp:[::1]:6640\"" },
  { "ssl:fe80::1:6640", A ("ssl:fe80::1:6640") "an IPv6 address must be "
                                               "written in brackets, as in "
                                               "\"ssl:[::1]:6640\"" },
  { "tcp:[::1]", A ("tcp:[::1]") "missing port" },
  { "tcp:[::1]:", A ("tcp:[::1]:") "missing port" },
  { "tcp:[::1", A ("tcp:[::1") "missing \"]\" after the IPv6 address" },
  { "tcp:[::1]x:80", A ("tcp:[::1]x:80") "unexpected text after \"]\"" },
  { "tcp:[1.2.3.4]:80", A ("tcp:[1.2.3.4]:80") "bad IPv6 address "
                                               "\"1.2.3.4\"" },
  { "tcp:[]:80", A ("tcp:[]:80") "bad IPv6 address \"\"" },
  { "tcp:1.2.3.256:80", A ("tcp:1.2.3.256:80") "bad IP address "
                                               "\"1.2.3.256\"" },
  { "tcp:127.1:80", A ("tcp:127.1:80") "bad IP address \"127.1\"" },
  { "tcp:bad host:80", A ("tcp:bad host:80") "bad host name \"bad host\"" },
  { "tcp:a..b:80", A ("tcp:a..b:80") "bad host name \"a..b\"" },
  { "tcp:\001evil\n:80",
    A ("tcp:\\001evil\\n:80") "bad host name \"\\001evil\\n\"" },
  { "tcp:\377:80", A ("tcp:\\377:80") "bad host name \"\\377\"" },
  { "foo\"bar:x", A ("foo\\\"bar:x") "unknown stream type \"foo\\\"bar\" "
                                     "(known types: unix, tcp, ssl)" },
};
#undef A

static const InvalidNames active_invalid_names = {
  active_invalid, G_N_ELEMENTS (active_invalid), FALSE
};

/* Each name of the InvalidNames @data is refused with its message, and
 * is not valid. */
static void
test_name_invalid (gconstpointer data)
{
  const InvalidNames *table = data;

  for (gsize i = 0; i < table->n_names; i++)
    {
      const InvalidName *t = &table->names[i];
      g_autoptr (GObject) object = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *quoted = uc_stream_quote (t->name);
      gboolean valid;

      g_test_message ("%s", quoted);
      if (table->passive)
        {
          object = G_OBJECT (uc_pstream_new (t->name, NULL, &error));
          valid = uc_pstream_name_is_valid (t->name);
        }
      else
        {
          object = G_OBJECT (uc_stream_new (t->name, NULL, &error));
          valid = uc_stream_name_is_valid (t->name);
        }
      g_assert_null (object);
      g_assert_error (error, UC_ERROR, UC_ERROR_INVALID_NAME);
      g_assert_cmpstr (error->message, ==, t->message);
      g_assert_false (valid);
    }
}

typedef struct
{
  const char *name;
  const char *rundir;
  const char *type;
  const char *bound_name;
  const char *path;
  guint16 port;
} PassiveValid;

static const PassiveValid passive_valid[] = {
  { "punix:/tmp/x.ctl", NULL, "punix", "punix:/tmp/x.ctl", "/tmp/x.ctl", 0 },
  { "punix:x.ctl", "/run/u", "punix", "punix:/run/u/x.ctl", "/run/u/x.ctl", 0 },
  { "ptcp:", NULL, "ptcp", "ptcp:0:0.0.0.0", NULL, 0 },
  { "ptcp:6640", NULL, "ptcp", "ptcp:6640:0.0.0.0", NULL, 6640 },
  { "ptcp::127.0.0.1", NULL, "ptcp", "ptcp:0:127.0.0.1", NULL, 0 },
  { "ptcp:0:[::1]", NULL, "ptcp", "ptcp:0:[::1]", NULL, 0 },
  { "ptcp:65535:[::]", NULL, "ptcp", "ptcp:65535:[::]", NULL, 65535 },
  { "pssl:6640:127.0.0.1", NULL, "pssl", "pssl:6640:127.0.0.1", NULL, 6640 },
  { "pssl:", NULL, "pssl", "pssl:0:0.0.0.0", NULL, 0 },
};

static void
test_name_passive_valid (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (passive_valid); i++)
    {
      const PassiveValid *t = &passive_valid[i];
      g_autoptr (UcPstream) pstream = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *bound_name = NULL;
      g_autofree char *quoted = uc_stream_quote (t->name);

      g_test_message ("%s", quoted);
      pstream = uc_pstream_new (t->name, t->rundir, &error);
      g_assert_no_error (error);
      g_assert_nonnull (pstream);
      g_assert_cmpstr (uc_pstream_get_name (pstream), ==, t->name);
      g_assert_cmpstr (uc_pstream_get_type_name (pstream), ==, t->type);
      g_assert_cmpstr (uc_pstream_get_path (pstream), ==, t->path);
      g_assert_cmpuint (uc_pstream_get_port (pstream), ==, t->port);
      bound_name = uc_pstream_get_bound_name (pstream);
      g_assert_cmpstr (bound_name, ==, t->bound_name);
      if (t->rundir == NULL)
        g_assert_true (uc_pstream_name_is_valid (t->name));
    }
}

#define P(NAME) "Invalid passive stream name \"" NAME "\": "
static const InvalidName passive_invalid[] = {
  { "punix", P ("punix") "missing \":\" after the stream type (known types: "
                         "punix, ptcp, pssl)" },
  { "unix:/x", P ("unix:/x") "unknown stream type \"unix\" (known types: "
                             "punix, ptcp, pssl)" },
  { "punix:", P ("punix:") "missing socket file name" },
  { "ptcp:abc", P ("ptcp:abc") "port \"abc\" is not a number (expected "
                               "ptcp:[PORT][:IP])" },
  { "ptcp:127.0.0.1", P ("ptcp:127.0.0.1") "port \"127.0.0.1\" is not a "
                                           "number (expected "
                                           "ptcp:[PORT][:IP])" },
  { "ptcp:[::1]", P ("ptcp:[::1]") "port \"[::1]\" is not a number "
                                   "(expected ptcp:[PORT][:IP])" },
  { "ptcp:-1", P ("ptcp:-1") "port \"-1\" is not a number (expected "
                             "ptcp:[PORT][:IP])" },
  { "ptcp:65536", P ("ptcp:65536") "port 65536 is out of range (0-65535)" },
  { "ptcp:80:", P ("ptcp:80:") "missing IP address after \":\"" },
  { "ptcp::", P ("ptcp::") "missing IP address after \":\"" },
  { "ptcp:80:::1", P ("ptcp:80:::1") "an IPv6 address must be written in "
                                     "brackets, as in "
                                     "\"ptcp:6640:[::1]\"" },
  { "ptcp:::1", P ("ptcp:::1") "an IPv6 address must be written in "
                               "brackets, as in \"ptcp:6640:[::1]\"" },
  { "ptcp:80:1.2.3.256", P ("ptcp:80:1.2.3.256") "bad IP address "
                                                 "\"1.2.3.256\"" },
  { "ptcp:80:localhost", P ("ptcp:80:localhost") "bad IP address "
                                                 "\"localhost\"" },
  { "ptcp:80:1.2.3.4:5", P ("ptcp:80:1.2.3.4:5") "bad IP address "
                                                 "\"1.2.3.4:5\"" },
  { "ptcp:80:[1.2.3.4]", P ("ptcp:80:[1.2.3.4]") "bad IPv6 address "
                                                 "\"1.2.3.4\"" },
  { "ptcp:80:[::1", P ("ptcp:80:[::1") "missing \"]\" after the IPv6 "
                                       "address" },
  { "ptcp:80:[::1]x", P ("ptcp:80:[::1]x") "unexpected text after \"]\"" },
  { "pssl:x", P ("pssl:x") "port \"x\" is not a number (expected "
                           "pssl:[PORT][:IP])" },
  { "pssl:80:[::1", P ("pssl:80:[::1") "missing \"]\" after the IPv6 "
                                       "address" },
};
#undef P

static const InvalidNames passive_invalid_names = {
  passive_invalid, G_N_ELEMENTS (passive_invalid), TRUE
};

/* The path length limit is checked on the resolved path, quoted names are
 * cut at 64 bytes, and exactly UC_STREAM_UNIX_PATH_MAX bytes still fit. */
static void
test_name_unix_too_long (void)
{
  g_autofree char *fits = NULL;
  g_autofree char *too_long = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *rundir = NULL;
  g_autofree char *a58 = g_strnfill (58, 'a');
  g_autoptr (UcStream) stream = NULL;
  g_autoptr (UcPstream) pstream = NULL;
  g_autoptr (GError) error = NULL;
  char *p;

  /* "/" + 106 = 107 bytes: the longest path that fits. */
  fits = g_strnfill (6 + 106, 'a');
  memcpy (fits, "unix:/", 6);
  stream = uc_stream_new (fits, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (uc_stream_get_path (stream)), ==,
                    UC_STREAM_UNIX_PATH_MAX);
  g_clear_object (&stream);

  too_long = g_strconcat (fits, "a", NULL);
  stream = uc_stream_new (too_long, NULL, &error);
  g_assert_null (stream);
  expected = g_strdup_printf ("Invalid stream name \"unix:/%s...\": socket "
                              "path is 108 bytes long, more than the maximum "
                              "of 107",
                              a58);
  g_assert_error (error, UC_ERROR, UC_ERROR_INVALID_NAME);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_clear_pointer (&expected, g_free);

  /* "punix:/" is one byte longer, so 57 bytes of the path are shown. */
  p = g_strconcat ("p", too_long, NULL);
  pstream = uc_pstream_new (p, NULL, &error);
  g_free (p);
  g_assert_null (pstream);
  a58[57] = '\0';
  expected = g_strdup_printf ("Invalid passive stream name \"punix:/%s...\": "
                              "socket path is 108 bytes long, more than the "
                              "maximum of 107",
                              a58);
  g_assert_error (error, UC_ERROR, UC_ERROR_INVALID_NAME);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_clear_pointer (&expected, g_free);

  /* A short relative name that only overflows under a long rundir. */
  rundir = g_strnfill (102, 'r');
  rundir[0] = '/';
  stream = uc_stream_new ("unix:x.ctl", rundir, &error);
  g_assert_null (stream);
  g_assert_error (error, UC_ERROR, UC_ERROR_INVALID_NAME);
  g_assert_cmpstr (error->message, ==,
                   "Invalid stream name \"unix:x.ctl\": socket path is 108 "
                   "bytes long once resolved under the run directory, more "
                   "than the maximum of 107");
}

static void
test_name_quote (void)
{
  static const struct
  {
    const char *text;
    const char *quoted;
  } cases[] = {
    { "", "" },
    { "plain:name", "plain:name" },
    { "b\303\274cher", "b\303\274cher" },
    { "q\"b\\", "q\\\"b\\\\" },
    { "\b\f\n\r\t\v", "\\b\\f\\n\\r\\t\\v" },
    { "\001\033\177", "\\001\\033\\177" },
    /* U+0085 NEL (a C1 control) and U+202E RIGHT-TO-LEFT OVERRIDE. */
    { "a\302\205b\342\200\256c", "a\\302\\205b\\342\\200\\256c" },
    /* Invalid UTF-8: a lone continuation byte, a truncated sequence. */
    { "\200x\303", "\\200x\\303" },
  };
  g_autofree char *long_text = g_strnfill (100, 'x');
  g_autofree char *expected = NULL;
  g_autofree char *quoted = NULL;
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *q = uc_stream_quote (cases[i].text);

      g_assert_cmpstr (q, ==, cases[i].quoted);
    }

  /* At most UC_STREAM_QUOTE_MAX bytes of input, then "...". */
  quoted = uc_stream_quote (long_text);
  long_text[UC_STREAM_QUOTE_MAX] = '\0';
  expected = g_strconcat (long_text, "...", NULL);
  g_assert_cmpstr (quoted, ==, expected);
  g_clear_pointer (&quoted, g_free);

  /* Exactly the limit: nothing cut. */
  quoted = uc_stream_quote (long_text);
  g_assert_cmpstr (quoted, ==, long_text);
  g_clear_pointer (&quoted, g_free);

  /* A multi-byte character is never split at the limit. */
  memcpy (long_text + UC_STREAM_QUOTE_MAX - 1, "\303\274", 3);
  quoted = uc_stream_quote (long_text);
  g_assert_cmpuint (strlen (quoted), ==, UC_STREAM_QUOTE_MAX - 1 + 3);
  g_assert_true (g_str_has_suffix (quoted, "x..."));
}

static void
test_unix_resolve (void)
{
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *expected = NULL;
  g_autofree char *path = NULL;

  path = uc_stream_resolve_unix_path ("/run/u", "/abs/x.ctl");
  g_assert_cmpstr (path, ==, "/abs/x.ctl");
  g_clear_pointer (&path, g_free);

  path = uc_stream_resolve_unix_path ("/run/u", "x.ctl");
  g_assert_cmpstr (path, ==, "/run/u/x.ctl");
  g_clear_pointer (&path, g_free);

  path = uc_stream_resolve_unix_path ("/run/u/", "../x.ctl");
  g_assert_cmpstr (path, ==, "/run/u/../x.ctl");
  g_clear_pointer (&path, g_free);

  path = uc_stream_resolve_unix_path (NULL, "x.ctl");
  expected = g_build_filename (cwd, "x.ctl", NULL);
  g_assert_cmpstr (path, ==, expected);
  g_clear_pointer (&path, g_free);
  g_clear_pointer (&expected, g_free);

  path = uc_stream_resolve_unix_path ("run", "x.ctl");
  expected = g_build_filename (cwd, "run", "x.ctl", NULL);
  g_assert_cmpstr (path, ==, expected);
}

/* ---------------------------------------------------------------------- */
/* Connecting                                                             */
/* ---------------------------------------------------------------------- */

typedef struct
{
  char *rundir;         /* (owned) */
  GPtrArray *incoming;  /* (owned) (element-type GIOStream) */
  GAsyncResult *result; /* (owned) (nullable) */
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->rundir = uc_test_make_tmp_dir ("test-stream-XXXXXX");
  f->incoming = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_assert_no_errno (uc_test_rm_rf (f->rundir));
  g_free (f->rundir);
  g_ptr_array_unref (f->incoming);
  g_clear_object (&f->result);
}

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_null (f->result);
  f->result = g_object_ref (result);
}

static UcPstream *
listen_on (Fixture *f, const char *name)
{
  g_autoptr (UcPstream) pstream = NULL;
  g_autoptr (GError) error = NULL;

  pstream = uc_pstream_new (name, f->rundir, &error);
  g_assert_no_error (error);
  uc_test_collect_incoming (pstream, f->incoming, NULL);
  uc_pstream_listen (pstream, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&pstream);
}

/* Sends a line from @client and reads it from the @n-th accepted stream,
 * to show that the two are the ends of one connection. */
static void
assert_connected (Fixture *f, GIOStream *client, guint n)
{
  g_autoptr (GError) error = NULL;
  char buffer[16] = { 0 };
  gsize len = 0;

  uc_test_wait_until (f->incoming->len > n);

  g_output_stream_write_all (g_io_stream_get_output_stream (client), "ping\n",
                             5, NULL, NULL, &error);
  g_assert_no_error (error);
  g_input_stream_read_all (
    g_io_stream_get_input_stream (g_ptr_array_index (f->incoming, n)), buffer,
    5, &len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, len, "ping\n", 5);
}

/* The two ways to connect a stream, tested alike. */
typedef enum
{
  CONNECT_ASYNC,
  CONNECT_SYNC,
} ConnectWay;

/* Connects @stream one way or the other. */
static GIOStream *
connect_way (Fixture *f,
             UcStream *stream,
             ConnectWay way,
             GCancellable *cancellable,
             GError **error)
{
  GIOStream *client;

  switch (way)
    {
      case CONNECT_ASYNC:
        uc_stream_connect_async (stream, cancellable, store_result_cb, f);
        uc_test_wait_until (f->result != NULL);
        client = uc_stream_connect_finish (stream, f->result, error);
        g_clear_object (&f->result);
        return client;
      case CONNECT_SYNC:
        return uc_stream_connect (stream, cancellable, error);
      default:
        g_assert_not_reached ();
    }
}

/* Connects to @name asynchronously, then synchronously. */
static void
connect_both_ways (Fixture *f, const char *name)
{
  g_autoptr (UcStream) stream = NULL;
  g_autoptr (GError) error = NULL;

  g_test_message ("connecting to %s", name);
  stream = uc_stream_new (name, f->rundir, &error);
  g_assert_no_error (error);

  for (ConnectWay way = CONNECT_ASYNC; way <= CONNECT_SYNC; way++)
    {
      g_autoptr (GIOStream) client = connect_way (f, stream, way, NULL, &error);

      g_assert_no_error (error);
      g_assert_true (G_IS_SOCKET_CONNECTION (client));
      assert_connected (f, client, f->incoming->len);

      /* Nagle off on TCP, as Open vSwitch's streams have it. */
      if (g_str_has_prefix (name, "tcp:"))
        {
          int nodelay = 0;

          g_assert_true (g_socket_get_option (
            g_socket_connection_get_socket (G_SOCKET_CONNECTION (client)),
            IPPROTO_TCP, TCP_NODELAY, &nodelay, &error));
          g_assert_no_error (error);
          g_assert_cmpint (nodelay, !=, 0);
        }
    }
}

static void
test_connect_unix (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = listen_on (f, "punix:test.ctl");
  g_autofree char *absolute = NULL;

  /* Relative and absolute names reach the same socket. */
  connect_both_ways (f, "unix:test.ctl");
  absolute = g_strconcat ("unix:", uc_pstream_get_path (pstream), NULL);
  connect_both_ways (f, absolute);
  g_assert_cmpuint (f->incoming->len, ==, 4);
}

/* Listens on @listen_name, a ptcp: name, and connects to its port on
 * @host both ways. */
static void
connect_tcp_both_ways (Fixture *f, const char *listen_name, const char *host)
{
  g_autoptr (UcPstream) pstream = listen_on (f, listen_name);
  g_autofree char *name = NULL;

  name = g_strdup_printf ("tcp:%s:%u", host, uc_pstream_get_port (pstream));
  connect_both_ways (f, name);
  g_assert_cmpuint (f->incoming->len, ==, 2);
}

static void
test_connect_tcp4 (Fixture *f, gconstpointer data)
{
  connect_tcp_both_ways (f, "ptcp:0:127.0.0.1", "127.0.0.1");
}

static void
test_connect_tcp6 (Fixture *f, gconstpointer data)
{
  if (!uc_test_has_ipv6_loopback ())
    {
      g_test_skip ("IPv6 loopback is not available");
      return;
    }

  connect_tcp_both_ways (f, "ptcp:0:[::1]", "[::1]");
}

/* A host name goes through the resolver and every address it yields is
 * tried: "localhost" may resolve to ::1 first, where nothing listens. */
static void
test_connect_host_name (Fixture *f, gconstpointer data)
{
  g_autoptr (GResolver) resolver = g_resolver_get_default ();
  g_autolist (GInetAddress) addresses = NULL;

  addresses = g_resolver_lookup_by_name (resolver, "localhost", NULL, NULL);
  if (addresses == NULL)
    {
      g_test_skip ("\"localhost\" does not resolve here");
      return;
    }

  connect_tcp_both_ways (f, "ptcp:0:127.0.0.1", "localhost");
}

/* Fails to connect to @name both ways, with @domain/@code and a message
 * that starts with the quoted name. */
static void
assert_connect_fails (Fixture *f,
                      const char *name,
                      GQuark domain,
                      int code,
                      const char *message)
{
  g_autoptr (UcStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *prefix = g_strdup_printf ("\"%s\": ", name);

  stream = uc_stream_new (name, f->rundir, &error);
  g_assert_no_error (error);

  for (ConnectWay way = CONNECT_ASYNC; way <= CONNECT_SYNC; way++)
    {
      g_autoptr (GIOStream) client = connect_way (f, stream, way, NULL, &error);

      g_assert_null (client);
      g_assert_error (error, domain, code);
      if (message != NULL)
        g_assert_cmpstr (error->message, ==, message);
      else
        g_assert_true (g_str_has_prefix (error->message, prefix));
      g_clear_error (&error);
    }
}

static void
test_connect_not_found (Fixture *f, gconstpointer data)
{
  g_autofree char *name = g_strdup_printf ("unix:%s/none.ctl", f->rundir);

  assert_connect_fails (f, name, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, NULL);
  assert_connect_fails (f, "unix:none.ctl", G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        NULL);
}

static void
test_connect_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->rundir, "bound.ctl", NULL);
  g_autofree char *name = g_strconcat ("unix:", path, NULL);
  g_autoptr (GSocket) unix_socket = NULL;
  g_autoptr (GSocket) tcp_socket = NULL;
  guint16 port = 0;

  /* A unix socket that is bound but does not listen refuses. */
  unix_socket = uc_test_bind_unix (path);
  assert_connect_fails (f, name, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                        NULL);

  /* So does a TCP port reserved by a socket that does not listen. */
  tcp_socket = uc_test_bind_loopback (&port);
  g_clear_pointer (&name, g_free);
  name = g_strdup_printf ("tcp:127.0.0.1:%u", port);
  assert_connect_fails (f, name, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                        NULL);
}

static void
test_connect_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = listen_on (f, "punix:test.ctl");
  g_autoptr (UcStream) stream = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (uc_pstream_is_listening (pstream));
  stream = uc_stream_new ("unix:test.ctl", f->rundir, &error);
  g_assert_no_error (error);
  g_cancellable_cancel (cancellable);

  for (ConnectWay way = CONNECT_ASYNC; way <= CONNECT_SYNC; way++)
    {
      g_autoptr (GIOStream) client =
        connect_way (f, stream, way, cancellable, &error);

      g_assert_null (client);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&error);
    }
}

/* Without uc_stream_set_tls_config() / uc_pstream_set_tls_config(),
 * neither side of TLS can start, and says what it lacks. */
static void
test_ssl_needs_config (Fixture *f, gconstpointer data)
{
  g_autoptr (UcPstream) pstream = NULL;
  g_autoptr (GError) error = NULL;

  assert_connect_fails (f, "ssl:127.0.0.1:6640", UC_ERROR,
                        UC_ERROR_NOT_SUPPORTED,
                        "Cannot connect to \"ssl:127.0.0.1:6640\": SSL/TLS "
                        "needs a private key, a certificate and a CA "
                        "certificate");

  pstream = uc_pstream_new ("pssl:0:127.0.0.1", NULL, &error);
  g_assert_no_error (error);
  g_assert_false (uc_pstream_listen (pstream, &error));
  g_assert_error (error, UC_ERROR, UC_ERROR_NOT_SUPPORTED);
  g_assert_cmpstr (error->message, ==,
                   "Cannot listen on \"pssl:0:127.0.0.1\": SSL/TLS needs a "
                   "private key, a certificate and a CA certificate");
  g_assert_false (uc_pstream_is_listening (pstream));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/stream/name/active-valid", test_name_active_valid);
  g_test_add_data_func ("/stream/name/active-invalid", &active_invalid_names,
                        test_name_invalid);
  g_test_add_func ("/stream/name/passive-valid", test_name_passive_valid);
  g_test_add_data_func ("/stream/name/passive-invalid", &passive_invalid_names,
                        test_name_invalid);
  g_test_add_func ("/stream/name/unix-too-long", test_name_unix_too_long);
  g_test_add_func ("/stream/name/quote", test_name_quote);
  g_test_add_func ("/stream/unix/resolve", test_unix_resolve);

#define ADD(PATH, FUNC) \
  g_test_add (PATH, Fixture, NULL, fixture_set_up, FUNC, fixture_tear_down)
  ADD ("/stream/connect/unix", test_connect_unix);
  ADD ("/stream/connect/tcp4", test_connect_tcp4);
  ADD ("/stream/connect/tcp6", test_connect_tcp6);
  ADD ("/stream/connect/host-name", test_connect_host_name);
  ADD ("/stream/connect/not-found", test_connect_not_found);
  ADD ("/stream/connect/refused", test_connect_refused);
  ADD ("/stream/connect/cancelled", test_connect_cancelled);
  ADD ("/stream/ssl/needs-config", test_ssl_needs_config);
#undef ADD

  return g_test_run ();
}
