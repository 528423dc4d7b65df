/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "stream"

#include "config.h"

#include "uc-tls.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uc-error.h"

/**
 * UcTlsConfig:
 *
 * What the `ssl:` and `pssl:` streams need to speak TLS, loaded from the
 * three files Open vSwitch asks for (`--private-key`, `--certificate`,
 * `--ca-cert`): this side's certificate with its key, and the CA that
 * must have signed the peer's.
 *
 * The trust model is Open vSwitch's: both sides present a certificate and
 * both check that the peer's chains to the CA; host names are not checked
 * (switches and controllers are named by address, and their certificates
 * by whatever the PKI chose).  A config is immutable and may be shared by
 * any number of streams and listeners.
 */
struct _UcTlsConfig
{
  GObject parent_instance;

  GTlsCertificate *certificate; /* (owned) with its private key */
  GTlsDatabase *database;       /* (owned) the CA certificate(s) */
};

G_DEFINE_FINAL_TYPE (UcTlsConfig, uc_tls_config, G_TYPE_OBJECT)

static void
uc_tls_config_finalize (GObject *object)
{
  UcTlsConfig *self = UC_TLS_CONFIG (object);

  g_clear_object (&self->certificate);
  g_clear_object (&self->database);

  G_OBJECT_CLASS (uc_tls_config_parent_class)->finalize (object);
}

static void
uc_tls_config_class_init (UcTlsConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = uc_tls_config_finalize;
}

static void
uc_tls_config_init (UcTlsConfig *self)
{
}

/* The decision on the peer's certificate, once GIO has checked it
 * against the CA.  GIO asks a server every time, so this is what accepts
 * a good client.  A client is asked only about a faulty certificate, and
 * GIO, which has no server identity to check the name against, always
 * finds it "issued for another name": names are not part of the trust
 * model (see #UcTlsConfig), so that fault alone is no reason to refuse. */
static gboolean
accept_certificate_cb (GTlsConnection *tls,
                       GTlsCertificate *peer_certificate,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  return (errors & ~G_TLS_CERTIFICATE_BAD_IDENTITY) == 0;
}

/* A TLS connection of @type over @base with @self's certificate and CA,
 * and the further properties given after @error.  Built with every
 * property at once because g_tls_client_connection_new() and
 * g_tls_server_connection_new() initialise the connection before its
 * database can be set, and initialising one with no database parses the
 * whole system CA bundle: about 11 ms of the main loop per connection,
 * enough for a trickle of connects to keep the daemon busy. */
static GIOStream *
new_connection (GType type,
                UcTlsConfig *self,
                GIOStream *base,
                GError **error,
                const char *first_property_name,
                ...)
{
  g_autoptr (GObject) object = NULL;
  va_list args;

  object = g_object_new (type, "base-io-stream", base, "certificate",
                         self->certificate, "database", self->database,
                         /* OVS's peers often close without close_notify. */
                         "require-close-notify", FALSE, NULL);
  va_start (args, first_property_name);
  if (first_property_name != NULL)
    g_object_set_valist (object, first_property_name, args);
  va_end (args);
  if (!g_initable_init (G_INITABLE (object), NULL, error))
    return NULL;
  return G_IO_STREAM (g_steal_pointer (&object));
}

/* One side of check_key_matches()'s handshake. */
typedef struct
{
  GSocketConnection *end; /* (unowned) */
  GAsyncResult *result;   /* (owned) (nullable) once done */
} SelfHandshake;

static void
handshake_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SelfHandshake *side = user_data;

  side->result = g_object_ref (result);
  /* This side will send nothing more: should the other still wait for
   * it (after a failure here), it sees the end of the stream instead. */
  g_socket_shutdown (g_socket_connection_get_socket (side->end), FALSE, TRUE,
                     NULL);
}

static gboolean
accept_any_certificate_cb (GTlsConnection *tls,
                           GTlsCertificate *peer_certificate,
                           GTlsCertificateFlags errors,
                           gpointer user_data)
{
  return TRUE;
}

/* A connection over @fd, which it takes: closed on failure.  @error is
 * set only if it is not yet, so that two calls in a row report the first
 * failure. */
static GSocketConnection *
connection_from_fd (int fd, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GError) local_error = NULL;

  socket = g_socket_new_from_fd (fd, &local_error);
  if (socket == NULL)
    {
      close (fd);
      if (error != NULL && *error == NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return g_socket_connection_factory_create_connection (socket);
}

/* Whether the private key is the key of @self's certificate.  GIO takes
 * any pair, and every handshake would then fail with a signature error
 * that names neither file; Open vSwitch refuses such a pair when it loads
 * it.  GIO cannot look into keys, so @self shakes hands with itself over
 * a socketpair, in a main context of its own: the server side signs with
 * the key, and the client side checks the signature against the
 * certificate (and trusts it, whoever signed it: the CA is for peers).
 * One handshake, at load time only. */
static gboolean
check_key_matches (UcTlsConfig *self, GError **error)
{
  GTlsBackend *backend = g_tls_backend_get_default ();
  g_autoptr (GMainContext) context = g_main_context_new ();
  SelfHandshake server_side = { NULL, NULL };
  SelfHandshake client_side = { NULL, NULL };
  g_autoptr (GIOStream) server = NULL;
  g_autoptr (GIOStream) client = NULL;
  g_autoptr (GError) server_error = NULL;
  g_autoptr (GSocketConnection) server_end = NULL;
  g_autoptr (GSocketConnection) client_end = NULL;
  gboolean ok;
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    {
      int saved_errno = errno;

      g_set_error_literal (error, G_IO_ERROR,
                           g_io_error_from_errno (saved_errno),
                           g_strerror (saved_errno));
      return FALSE;
    }
  server_end = connection_from_fd (fds[0], error);
  client_end = connection_from_fd (fds[1], error);
  if (server_end == NULL || client_end == NULL)
    return FALSE;

  server = new_connection (g_tls_backend_get_server_connection_type (backend),
                           self, G_IO_STREAM (server_end), error, NULL);
  if (server == NULL)
    return FALSE;
  client = new_connection (g_tls_backend_get_client_connection_type (backend),
                           self, G_IO_STREAM (client_end), error, NULL);
  if (client == NULL)
    return FALSE;
  g_signal_connect (client, "accept-certificate",
                    G_CALLBACK (accept_any_certificate_cb), NULL);
  server_side.end = server_end;
  client_side.end = client_end;

  g_main_context_push_thread_default (context);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (server),
                                    G_PRIORITY_DEFAULT, NULL, handshake_done_cb,
                                    &server_side);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (client),
                                    G_PRIORITY_DEFAULT, NULL, handshake_done_cb,
                                    &client_side);
  while (server_side.result == NULL || client_side.result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  /* The client is the side that finds a bad signature; the server then
   * sees its peer go. */
  g_tls_connection_handshake_finish (G_TLS_CONNECTION (server),
                                     server_side.result, &server_error);
  ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (client),
                                          client_side.result, error);
  g_object_unref (server_side.result);
  g_object_unref (client_side.result);
  return ok;
}

/**
 * uc_tls_config_new_from_files:
 * @private_key: the PEM file of this side's private key
 * @certificate: the PEM file of this side's certificate, possibly followed
 *   by the intermediate certificates of its chain
 * @ca_cert: the PEM file of the CA certificate(s) a peer's certificate
 *   must chain to
 * @error: return location for a #GError
 *
 * Loads a TLS configuration.  Fails with %UC_ERROR_NOT_SUPPORTED if GIO has
 * no TLS backend (the glib-networking package), and otherwise with a
 * message that names the file that could not be used.
 *
 * Returns: (transfer full): the configuration, or %NULL with @error set
 */
UcTlsConfig *
uc_tls_config_new_from_files (const char *private_key,
                              const char *certificate,
                              const char *ca_cert,
                              GError **error)
{
  g_autoptr (UcTlsConfig) self = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *ca_path = NULL;

  g_return_val_if_fail (private_key != NULL, NULL);
  g_return_val_if_fail (certificate != NULL, NULL);
  g_return_val_if_fail (ca_cert != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_set_error_literal (error, UC_ERROR, UC_ERROR_NOT_SUPPORTED,
                           _ ("SSL/TLS is not available: GIO has no TLS "
                              "backend (install glib-networking)"));
      return NULL;
    }

  self = g_object_new (UC_TYPE_TLS_CONFIG, NULL);
  self->certificate =
    g_tls_certificate_new_from_files (certificate, private_key, &local_error);
  if (self->certificate == NULL)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_FAILED,
                   _ ("Cannot load the certificate “%s” with the private key "
                      "“%s”: %s"),
                   certificate, private_key, local_error->message);
      return NULL;
    }

  /* GTlsFileDatabase takes absolute names only. */
  ca_path = g_canonicalize_filename (ca_cert, NULL);
  self->database = g_tls_file_database_new (ca_path, &local_error);
  if (self->database == NULL)
    {
      g_set_error (error, UC_ERROR, UC_ERROR_FAILED,
                   _ ("Cannot load the CA certificate “%s”: %s"), ca_cert,
                   local_error->message);
      return NULL;
    }

  if (!check_key_matches (self, &local_error))
    {
      g_set_error (error, UC_ERROR, UC_ERROR_FAILED,
                   _ ("The private key “%s” is not the key of the "
                      "certificate “%s”"),
                   private_key, certificate);
      g_debug ("self-handshake: %s", local_error->message);
      return NULL;
    }

  return g_steal_pointer (&self);
}

/**
 * uc_tls_config_get_certificate:
 * @self: a #UcTlsConfig
 *
 * Returns: (transfer none): this side's certificate, with its private key
 */
GTlsCertificate *
uc_tls_config_get_certificate (UcTlsConfig *self)
{
  g_return_val_if_fail (UC_IS_TLS_CONFIG (self), NULL);

  return self->certificate;
}

/**
 * uc_tls_config_get_database:
 * @self: a #UcTlsConfig
 *
 * Returns: (transfer none): the CA certificates a peer's must chain to
 */
GTlsDatabase *
uc_tls_config_get_database (UcTlsConfig *self)
{
  g_return_val_if_fail (UC_IS_TLS_CONFIG (self), NULL);

  return self->database;
}

/**
 * uc_tls_config_wrap_client:
 * @self: a #UcTlsConfig
 * @base: the connected stream to run TLS over
 * @error: return location for a #GError
 *
 * Makes the client side of a TLS connection over @base, which presents
 * @self's certificate and accepts a server whose certificate chains to
 * @self's CA.  No server identity is given, so the server's name is not
 * checked, as in Open vSwitch.  The handshake is the caller's to run.
 *
 * Returns: (transfer full): the #GTlsClientConnection, or %NULL with
 *   @error set
 */
GIOStream *
uc_tls_config_wrap_client (UcTlsConfig *self, GIOStream *base, GError **error)
{
  g_autoptr (GIOStream) tls = NULL;

  g_return_val_if_fail (UC_IS_TLS_CONFIG (self), NULL);
  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);

  /* Not g_tls_client_connection_new(): see new_connection(). */
  tls = new_connection (
    g_tls_backend_get_client_connection_type (g_tls_backend_get_default ()),
    self, base, error, NULL);
  if (tls == NULL)
    return NULL;
  g_signal_connect (tls, "accept-certificate",
                    G_CALLBACK (accept_certificate_cb), NULL);
  return g_steal_pointer (&tls);
}

/**
 * uc_tls_config_wrap_server:
 * @self: a #UcTlsConfig
 * @base: an accepted connection to run TLS over
 * @error: return location for a #GError
 *
 * Makes the server side of a TLS connection over @base, which presents
 * @self's certificate and requires the client to present one that chains
 * to @self's CA.  The handshake is the caller's to run.
 *
 * Returns: (transfer full): the #GTlsServerConnection, or %NULL with
 *   @error set
 */
GIOStream *
uc_tls_config_wrap_server (UcTlsConfig *self, GIOStream *base, GError **error)
{
  g_autoptr (GIOStream) tls = NULL;

  g_return_val_if_fail (UC_IS_TLS_CONFIG (self), NULL);
  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);

  tls = new_connection (
    g_tls_backend_get_server_connection_type (g_tls_backend_get_default ()),
    self, base, error, "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED,
    NULL);
  if (tls == NULL)
    return NULL;
  g_signal_connect (tls, "accept-certificate",
                    G_CALLBACK (accept_certificate_cb), NULL);
  return g_steal_pointer (&tls);
}

/* The reasons in @flags, comma-separated, in words a user can act on;
 * translated if @translate. */
static char *
describe_certificate_flags (GTlsCertificateFlags flags, gboolean translate)
{
  static const struct
  {
    GTlsCertificateFlags flag;
    const char *text;
  } reasons[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, N_ ("not signed by the CA certificate") },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, N_ ("not valid yet") },
    { G_TLS_CERTIFICATE_EXPIRED, N_ ("expired") },
    { G_TLS_CERTIFICATE_REVOKED, N_ ("revoked") },
    { G_TLS_CERTIFICATE_INSECURE, N_ ("signed with an insecure algorithm") },
  };
  g_autoptr (GString) text = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (reasons); i++)
    if ((flags & reasons[i].flag) != 0)
      {
        if (text->len > 0)
          g_string_append (text, ", ");
        g_string_append (text,
                         translate ? _ (reasons[i].text) : reasons[i].text);
      }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/**
 * uc_tls_explain_handshake_error:
 * @tls: a connection whose handshake failed
 * @error: (inout): the handshake's error
 *
 * Replaces GIO's terse "Unacceptable TLS certificate" with what was wrong
 * with the peer's certificate (not signed by the CA, expired, ...), so
 * that the user knows which file to fix.  Other errors are left alone.
 *
 * A client's explanation is for its user, and translated; a server's goes
 * to the daemon's log, which stays in English.
 */
void
uc_tls_explain_handshake_error (GTlsConnection *tls, GError **error)
{
  gboolean is_client;
  GTlsCertificateFlags flags;
  g_autofree char *reasons = NULL;

  g_return_if_fail (G_IS_TLS_CONNECTION (tls));
  g_return_if_fail (error != NULL && *error != NULL);

  if (!g_error_matches (*error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    return;
  /* Names are never checked: see accept_certificate_cb(). */
  flags = g_tls_connection_get_peer_certificate_errors (tls) &
          ~G_TLS_CERTIFICATE_BAD_IDENTITY;
  if (g_tls_connection_get_peer_certificate (tls) == NULL || flags == 0)
    return;

  is_client = G_IS_TLS_CLIENT_CONNECTION (tls);
  reasons = describe_certificate_flags (flags, is_client);
  g_clear_error (error);
  if (is_client)
    /* Translators: %s lists what is wrong with the certificate, e.g. "not
     * signed by the CA certificate, expired". */
    g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                 _ ("the server’s certificate is %s"), reasons);
  else
    g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                 "the client’s certificate is %s", reasons);
}
