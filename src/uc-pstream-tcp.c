/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "pstream_tcp"

#include "config.h"

#include "uc-pstream-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "uc-stream-private.h"

/* `ptcp:[PORT][:IP]`.  A missing PORT is 0, an ephemeral port: there is no
 * default port for a control socket (OVS's 6640 belongs to ovsdb-server),
 * and `ptcp:` alone is the natural way to ask for "any free port".  A
 * missing IP is 0.0.0.0, every IPv4 address, as in OVS. */
typedef struct
{
  GInetAddress *address; /* (owned) */
} UcPstreamTcpPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (UcPstreamTcp, uc_pstream_tcp, UC_TYPE_PSTREAM)

static gboolean
uc_pstream_tcp_parse (UcPstream *pstream,
                      const char *suffix,
                      const char *rundir,
                      GError **error)
{
  UcPstreamTcpPrivate *priv =
    uc_pstream_tcp_get_instance_private (UC_PSTREAM_TCP (pstream));
  const char *name = uc_pstream_get_name (pstream);
  g_autofree char *port_text = NULL;
  const char *port_end;
  guint16 port = 0;

  /* An IPv6 address alone and unbracketed would be split at its first
   * colon and reported as a bad address; uc_stream_parse_ip() rejects it
   * with the message that says to use brackets. */
  if (uc_stream_is_ipv6_literal (suffix))
    return uc_stream_parse_ip (UC_STREAM_KIND_PASSIVE, name, suffix,
                               &priv->address, error);

  /* The port ends at the first colon.  Someone who writes the address
   * first (`ptcp:[::1]`) gets the whole bracketed text quoted back as the
   * port, rather than a lone "[". */
  if (suffix[0] == '[' && strchr (suffix, ']') != NULL)
    port_end = strchr (suffix, ']') + 1;
  else
    port_end = suffix + strcspn (suffix, ":");
  port_text = g_strndup (suffix, port_end - suffix);

  if (*port_text != '\0' && !uc_stream_parse_port (UC_STREAM_KIND_PASSIVE, name,
                                                   port_text, &port, error))
    return FALSE;

  if (*port_end == '\0')
    priv->address = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  else if (port_end[1] == '\0')
    {
      uc_stream_set_invalid_name (error, UC_STREAM_KIND_PASSIVE, name,
                                  _ ("missing IP address after \":\""));
      return FALSE;
    }
  else if (!uc_stream_parse_ip (UC_STREAM_KIND_PASSIVE, name, port_end + 1,
                                &priv->address, error))
    return FALSE;

  uc_pstream_set_port (pstream, port);
  return TRUE;
}

static void
prefix_listen_error (GError **error, UcPstream *pstream)
{
  g_autofree char *quoted = uc_stream_quote (uc_pstream_get_name (pstream));

  g_prefix_error (error, _ ("Cannot listen on \"%s\": "), quoted);
}

static GPtrArray *
uc_pstream_tcp_open_sockets (UcPstream *pstream, int backlog, GError **error)
{
  UcPstreamTcpPrivate *priv =
    uc_pstream_tcp_get_instance_private (UC_PSTREAM_TCP (pstream));
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GPtrArray) sockets = NULL;

  socket = g_socket_new (g_inet_address_get_family (priv->address),
                         G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    {
      prefix_listen_error (error, pstream);
      return NULL;
    }

  /* allow_reuse sets SO_REUSEADDR, so that a restarted daemon can bind
   * its port while connections of the previous one sit in TIME_WAIT. */
  address =
    g_inet_socket_address_new (priv->address, uc_pstream_get_port (pstream));
  g_socket_set_listen_backlog (socket, backlog);
  if (!g_socket_bind (socket, address, TRUE, error) ||
      !g_socket_listen (socket, error))
    {
      prefix_listen_error (error, pstream);
      return NULL;
    }

  /* Read the port back: for port 0 the kernel picked it. */
  local = g_socket_get_local_address (socket, error);
  if (local == NULL)
    {
      prefix_listen_error (error, pstream);
      return NULL;
    }
  uc_pstream_set_port (
    pstream, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));

  sockets = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (sockets, g_steal_pointer (&socket));
  return g_steal_pointer (&sockets);
}

static char *
uc_pstream_tcp_describe (UcPstream *pstream)
{
  UcPstreamTcpPrivate *priv =
    uc_pstream_tcp_get_instance_private (UC_PSTREAM_TCP (pstream));
  g_autofree char *ip = g_inet_address_to_string (priv->address);
  gboolean ipv6 =
    g_inet_address_get_family (priv->address) == G_SOCKET_FAMILY_IPV6;

  return g_strdup_printf ("%s:%u:%s%s%s", uc_pstream_get_type_name (pstream),
                          (guint) uc_pstream_get_port (pstream),
                          ipv6 ? "[" : "", ip, ipv6 ? "]" : "");
}

static void
uc_pstream_tcp_finalize (GObject *object)
{
  UcPstreamTcpPrivate *priv =
    uc_pstream_tcp_get_instance_private (UC_PSTREAM_TCP (object));

  g_clear_object (&priv->address);

  G_OBJECT_CLASS (uc_pstream_tcp_parent_class)->finalize (object);
}

static void
uc_pstream_tcp_class_init (UcPstreamTcpClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  UcPstreamClass *pstream_class = UC_PSTREAM_CLASS (klass);

  object_class->finalize = uc_pstream_tcp_finalize;

  pstream_class->parse = uc_pstream_tcp_parse;
  pstream_class->open_sockets = uc_pstream_tcp_open_sockets;
  pstream_class->describe = uc_pstream_tcp_describe;
}

static void
uc_pstream_tcp_init (UcPstreamTcp *self)
{
}
