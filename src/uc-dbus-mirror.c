/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "dbus"

#include "config.h"

#include "uc-dbus-mirror.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uc-dbus-generated.h"
#include "uc-error.h"
#include "uc-request.h"
#include "uc-shutdown.h"

/**
 * UcDbusMirror:
 *
 * The D-Bus face of a #UcServer: the `io.github.unixctld.Control1`
 * interface (see `data/io.github.unixctld.Control1.xml`), exported at
 * %UC_DBUS_MIRROR_PATH, optionally under the well-known name
 * %UC_DBUS_MIRROR_NAME.
 *
 * It is a transport, like the control socket: each `Call` or `CallJson`
 * becomes a #UcRequest dispatched through the very same server, so the
 * commands, their checks and their texts are the socket's.  The request
 * is made once the bus has told who the caller is (GetConnectionCredentials,
 * asked asynchronously), so that handlers see the caller's uid and pid as
 * they see a socket peer's.  A handler may answer later; the method call
 * is completed then.  A caller that leaves the bus first cancels its
 * request.
 *
 * Only the daemon's own user and root may run commands, as only they can
 * connect to the control socket (mode 0600).  On the session bus nobody
 * else can connect anyway; on the system bus this is what keeps other
 * users out.
 *
 * Errors map to D-Bus names through the %UC_ERROR domain: an unknown
 * command is %UC_ERROR_INVALID_COMMAND, a wrong argument count
 * %UC_ERROR_INVALID_ARGS, a command's own failure %UC_ERROR_FAILED, each
 * with the socket's text as its message, less the one newline the
 * socket's text mode adds at the end (D-Bus messages do not end in one).
 * The mirror's own error texts are untranslated, as the socket's are: the
 * caller's locale is not the daemon's.
 *
 * Losing the name to an instance that asked to replace us is signalled
 * (#UcDbusMirror::name-lost with @replaced set); what to do about it is
 * the owner's business (unixctld shuts down).
 */

/* A caller on the bus, while it has calls in flight: its credentials, and
 * the subscription that tells when it leaves. */
typedef struct
{
  UcDbusMirror *mirror; /* (unowned) */
  char *name;           /* (owned) its unique name */
  guint subscription_id;
  GCancellable *cancellable; /* (owned) for GetConnectionCredentials */
  gboolean credentials_known;
  uid_t uid;                 /* (uid_t) -1 if the bus did not say */
  GCredentials *credentials; /* (owned) (nullable) for handlers */
  /* (owned) (element-type UcDbusMirrorCall): its calls, which the
   * mirror's table owns */
  GPtrArray *calls;
} UcDbusMirrorPeer;

/* One method call in flight. */
typedef struct
{
  UcDbusMirror *mirror;              /* (unowned) */
  UcDbusMirrorPeer *peer;            /* (unowned) (nullable) %NULL on a
                                      * peer-to-peer connection */
  GDBusMethodInvocation *invocation; /* (owned) (nullable) the reply still
                                      * owed; %NULL once completed */
  GStrv argv;                        /* (owned) the command, then its args */
  UcOutputFormat format;
  UcRequest *request; /* (owned) (nullable) once dispatched */
} UcDbusMirrorCall;

struct _UcDbusMirror
{
  GObject parent_instance;

  UcServer *server;     /* (owned) */
  char *control_socket; /* (owned) (nullable) */
  UcControl1 *skeleton; /* (owned) */

  GDBusConnection *connection; /* (owned) (nullable) once exported */
  gulong closed_id;
  gboolean exported;
  guint owner_id;
  gboolean name_owned;

  GHashTable *calls; /* (owned) (element-type UcDbusMirrorCall): a set of
                      * the calls in flight, which it owns */
  GHashTable *peers; /* (owned) (element-type utf8 UcDbusMirrorPeer) */

  UcShutdown *shutdown; /* (owned) */
  gboolean flushing;
};

enum
{
  PROP_0,
  PROP_SERVER,
  PROP_CONTROL_SOCKET,
  PROP_NAME_OWNED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_NAME_ACQUIRED,
  SIGNAL_NAME_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (UcDbusMirror, uc_dbus_mirror, G_TYPE_OBJECT)

static void maybe_finish_shutdown (UcDbusMirror *self);

/* Calls. */

static void
call_free (gpointer data)
{
  UcDbusMirrorCall *call = data;

  /* A request still waiting for its handler is abandoned: its late answer
   * is dropped, and a handler watching its cancellable may stop. */
  if (call->request != NULL && !uc_request_is_answered (call->request))
    uc_request_cancel (call->request);
  g_clear_object (&call->request);
  /* A reply nobody will read is not sent: dropping the invocation
   * completes nothing. */
  g_clear_object (&call->invocation);
  g_clear_pointer (&call->argv, g_strfreev);
  g_free (call);
}

static void
peer_free (gpointer data)
{
  UcDbusMirrorPeer *peer = data;

  g_cancellable_cancel (peer->cancellable);
  g_clear_object (&peer->cancellable);
  if (peer->subscription_id != 0)
    g_dbus_connection_signal_unsubscribe (peer->mirror->connection,
                                          peer->subscription_id);
  g_clear_object (&peer->credentials);
  g_clear_pointer (&peer->calls, g_ptr_array_unref);
  g_clear_pointer (&peer->name, g_free);
  g_free (peer);
}

/* Forgets @call, answered or not.  A caller with nothing else in flight
 * is forgotten too: its credentials are asked again on its next call,
 * and the bus keeps no match rule for it meanwhile. */
static void
call_finish (UcDbusMirrorCall *call)
{
  UcDbusMirror *self = call->mirror;
  UcDbusMirrorPeer *peer = call->peer;

  if (peer != NULL)
    {
      g_ptr_array_remove_fast (peer->calls, call);
      if (peer->calls->len == 0)
        g_hash_table_remove (self->peers, peer->name);
    }
  g_hash_table_remove (self->calls, call);
  maybe_finish_shutdown (self);
}

/* D-Bus strings must be UTF-8; a handler's text usually is, and anything
 * else is shown with replacement characters rather than refused. */
static char *
make_valid_utf8 (const char *text, gssize length)
{
  if (g_utf8_validate_len (text, length < 0 ? strlen (text) : (gsize) length,
                           NULL))
    return length < 0 ? g_strdup (text) : g_strndup (text, (gsize) length);
  return g_utf8_make_valid (text, length);
}

static void
call_return_error (UcDbusMirrorCall *call, const GError *error)
{
  g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation),
                                          error);
  call_finish (call);
}

/* The message of an error reply whose body is @text: the socket's text
 * without the newline the text rule added (see the file comment). */
static void
call_return_error_text (UcDbusMirrorCall *call, int code, const char *text)
{
  gsize length = strlen (text);
  g_autofree char *message = NULL;

  if (length > 0 && text[length - 1] == '\n')
    length--;
  message = make_valid_utf8 (text, (gssize) length);
  g_dbus_method_invocation_return_error_literal (
    g_steal_pointer (&call->invocation), UC_ERROR, code, message);
  call_finish (call);
}

/* The transport's half of a request: the answer goes back as the method
 * call's reply. */
static void
on_request_reply (UcRequest *request,
                  gboolean success,
                  JsonNode *body,
                  gpointer user_data)
{
  UcDbusMirrorCall *call = user_data;
  g_autofree char *text = NULL;

  if (uc_request_get_format (request) != call->format)
    {
      /* `set-options --format` asked to change a format that a method
       * call fixes.  Keeping it would answer Call with JSON; ignoring it
       * would claim a change that never happens. */
      g_autoptr (GError) error =
        g_error_new (UC_ERROR, UC_ERROR_NOT_SUPPORTED,
                     "“%s” cannot change the output format of a D-Bus "
                     "call: use Call for text and CallJson for JSON",
                     uc_request_get_command (request));

      call_return_error (call, error);
      return;
    }

  if (!success)
    {
      call_return_error_text (call, UC_ERROR_FAILED,
                              json_node_get_string (body));
      return;
    }

  if (call->format == UC_OUTPUT_FORMAT_TEXT)
    text = make_valid_utf8 (json_node_get_string (body), -1);
  else
    {
      g_autofree char *json = json_to_string (body, FALSE);

      text = make_valid_utf8 (json, -1);
    }
  g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation),
                                         g_variant_new ("(s)", text));
  call_finish (call);
}

/* Whether @uid may run commands: the daemon's own user or root, as for
 * the control socket.  (uid_t) -1 is a caller the bus could not name. */
static gboolean
caller_allowed (uid_t uid, GError **error)
{
  if (uid == (uid_t) -1)
    {
      g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                           "The caller’s identity is unknown");
      return FALSE;
    }
  if (uid != 0 && uid != getuid ())
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                   "Only root and uid %u may run commands", (guint) getuid ());
      return FALSE;
    }
  return TRUE;
}

/* Runs @call once its caller is known: @uid decides whether it may,
 * @credentials go to the handler. */
static void
call_dispatch (UcDbusMirrorCall *call, uid_t uid, GCredentials *credentials)
{
  UcDbusMirror *self = call->mirror;
  g_autoptr (GError) error = NULL;
  g_autoptr (UcRequest) request = NULL;

  if (!caller_allowed (uid, &error) ||
      !uc_server_check_call (self->server, (const char *const *) call->argv,
                             &error))
    {
      /* The socket's texts: the checks are the ones dispatching makes. */
      if (error->domain == UC_ERROR)
        call_return_error_text (call, error->code, error->message);
      else
        call_return_error (call, error);
      return;
    }

  request = uc_request_new ((const char *const *) call->argv, call->format,
                            credentials, on_request_reply, call, NULL);
  call->request = g_object_ref (request);
  /* @call may be gone when this returns: the handler may have answered. */
  uc_server_dispatch (self->server, request);
}

/* Credentials. */

#ifdef __linux__
/* The effective gid of process @pid, which the bus does not report but
 * GCredentials needs, from /proc (answered from memory: it does not
 * block).  (gid_t) -1 if @pid is gone or no longer runs as @uid (its
 * number was reused). */
static gid_t
process_gid (pid_t pid, uid_t uid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *contents = NULL;
  const char *uid_line, *gid_line;
  unsigned long real, effective;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return (gid_t) -1;
  uid_line = strstr (contents, "\nUid:");
  gid_line = strstr (contents, "\nGid:");
  if (uid_line == NULL || gid_line == NULL ||
      sscanf (uid_line + 1, "Uid: %lu %lu", &real, &effective) != 2 ||
      effective != (unsigned long) uid ||
      sscanf (gid_line + 1, "Gid: %lu %lu", &real, &effective) != 2)
    return (gid_t) -1;
  return (gid_t) effective;
}
#endif

/* The credentials of a bus peer for handlers, from GetConnectionCredentials'
 * answer, as a unix socket gives them (SO_PEERCRED): the uid and pid the
 * bus reports, and the process's gid.  %NULL if the bus did not report
 * the uid and pid, or the process is gone. */
static GCredentials *
credentials_from_dict (GVariant *dict, uid_t *uid_out)
{
  guint32 uid, pid;

  *uid_out = (uid_t) -1;
  if (!g_variant_lookup (dict, "UnixUserID", "u", &uid))
    return NULL;
  *uid_out = (uid_t) uid;
  if (!g_variant_lookup (dict, "ProcessID", "u", &pid))
    return NULL;

#ifdef __linux__
  {
    g_autoptr (GCredentials) credentials = g_credentials_new ();
    struct ucred ucred = {
      .pid = (pid_t) pid,
      .uid = (uid_t) uid,
      .gid = process_gid ((pid_t) pid, (uid_t) uid),
    };

    if (ucred.gid == (gid_t) -1)
      return NULL;
    g_credentials_set_native (credentials, G_CREDENTIALS_TYPE_LINUX_UCRED,
                              &ucred);
    return g_steal_pointer (&credentials);
  }
#else
  return NULL;
#endif
}

static void
peer_dispatch_calls (UcDbusMirrorPeer *peer)
{
  g_autoptr (GPtrArray) calls = NULL;

  /* A call may finish, and even free @peer, while the others wait: run
   * over a copy, each call with its own reference to the credentials. */
  g_autoptr (GCredentials) credentials =
    peer->credentials != NULL ? g_object_ref (peer->credentials) : NULL;

  UcDbusMirror *self = peer->mirror;
  uid_t uid = peer->uid;

  calls = g_ptr_array_copy (peer->calls, NULL, NULL);
  for (guint i = 0; i < calls->len; i++)
    {
      UcDbusMirrorCall *call = g_ptr_array_index (calls, i);

      /* One that an earlier one's handler ended is gone. */
      if (g_hash_table_contains (self->calls, call))
        call_dispatch (call, uid, credentials);
    }
}

/* The caller has left the bus: nobody will read its replies. */
static void
peer_vanished (UcDbusMirrorPeer *peer)
{
  g_autoptr (GPtrArray) calls = g_ptr_array_copy (peer->calls, NULL, NULL);

  g_debug ("%s left the bus with %u calls in flight", peer->name, calls->len);
  /* Removing the last call frees @peer. */
  for (guint i = 0; i < calls->len; i++)
    call_finish (g_ptr_array_index (calls, i));
}

static void
on_credentials (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) dict = NULL;
  g_autoptr (GError) error = NULL;
  UcDbusMirrorPeer *peer;

  reply =
    g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  /* Cancelled when @peer was freed: it must not be touched. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  peer = user_data;
  if (reply == NULL)
    {
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        {
          /* Gone before the bus heard our question. */
          peer_vanished (peer);
          return;
        }
      g_debug ("cannot get the credentials of %s: %s", peer->name,
               error->message);
    }
  else
    {
      g_variant_get (reply, "(@a{sv})", &dict);
      peer->credentials = credentials_from_dict (dict, &peer->uid);
    }
  peer->credentials_known = TRUE;
  peer_dispatch_calls (peer);
}

static void
on_name_owner_changed (GDBusConnection *connection,
                       const char *sender_name,
                       const char *object_path,
                       const char *interface_name,
                       const char *signal_name,
                       GVariant *parameters,
                       gpointer user_data)
{
  UcDbusMirrorPeer *peer = user_data;
  const char *name, *old_owner, *new_owner;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sss)")))
    return;
  g_variant_get (parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
  /* A unique name is never taken again: once without owner, it is gone
   * for good. */
  if (strcmp (name, peer->name) == 0 && *new_owner == '\0')
    peer_vanished (peer);
}

/* The peer of @sender, made and asked for its credentials on its first
 * call in flight. */
static UcDbusMirrorPeer *
peer_lookup (UcDbusMirror *self, const char *sender)
{
  UcDbusMirrorPeer *peer = g_hash_table_lookup (self->peers, sender);

  if (peer != NULL)
    return peer;

  peer = g_new0 (UcDbusMirrorPeer, 1);
  peer->mirror = self;
  peer->name = g_strdup (sender);
  peer->calls = g_ptr_array_new ();
  peer->cancellable = g_cancellable_new ();
  peer->uid = (uid_t) -1;
  g_hash_table_insert (self->peers, peer->name, peer);

  /* Subscribed before asking, on the same connection: the bus handles the
   * two in order, so a caller leaving after the question is seen leave,
   * and one that left before makes the question fail. */
  peer->subscription_id = g_dbus_connection_signal_subscribe (
    self->connection, "org.freedesktop.DBus", "org.freedesktop.DBus",
    "NameOwnerChanged", "/org/freedesktop/DBus", sender,
    G_DBUS_SIGNAL_FLAGS_NONE, on_name_owner_changed, peer, NULL);
  g_dbus_connection_call (
    self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
    "org.freedesktop.DBus", "GetConnectionCredentials",
    g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(a{sv})"),
    G_DBUS_CALL_FLAGS_NONE, -1, peer->cancellable, on_credentials, peer);
  return peer;
}

/* Method calls. */

static void
start_call (UcDbusMirror *self,
            GDBusMethodInvocation *invocation,
            const char *command,
            const char *const *args,
            UcOutputFormat format)
{
  GDBusConnection *connection =
    g_dbus_method_invocation_get_connection (invocation);
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  UcDbusMirrorCall *call = g_new0 (UcDbusMirrorCall, 1);
  guint n_args = g_strv_length ((char **) args);

  call->mirror = self;
  call->invocation = invocation;
  call->format = format;
  call->argv = g_new (char *, n_args + 2);
  call->argv[0] = g_strdup (command);
  for (guint i = 0; i < n_args; i++)
    call->argv[i + 1] = g_strdup (args[i]);
  call->argv[n_args + 1] = NULL;
  g_hash_table_add (self->calls, call);

  if (sender == NULL)
    {
      /* A peer-to-peer connection: the peer is the other end of the
       * socket, and it vanishing closes the connection. */
      GCredentials *credentials =
        g_dbus_connection_get_peer_credentials (connection);
      uid_t uid = credentials != NULL
                    ? g_credentials_get_unix_user (credentials, NULL)
                    : (uid_t) -1;

      call_dispatch (call, uid, credentials);
      return;
    }

  call->peer = peer_lookup (self, sender);
  g_ptr_array_add (call->peer->calls, call);
  if (call->peer->credentials_known)
    call_dispatch (call, call->peer->uid, call->peer->credentials);
}

static gboolean
on_handle_call (UcControl1 *skeleton,
                GDBusMethodInvocation *invocation,
                const char *command,
                const char *const *args,
                gpointer user_data)
{
  start_call (UC_DBUS_MIRROR (user_data), invocation, command, args,
              UC_OUTPUT_FORMAT_TEXT);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_call_json (UcControl1 *skeleton,
                     GDBusMethodInvocation *invocation,
                     const char *command,
                     const char *const *args,
                     gpointer user_data)
{
  start_call (UC_DBUS_MIRROR (user_data), invocation, command, args,
              UC_OUTPUT_FORMAT_JSON);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* What `list-commands` lists, as a dictionary: it runs no command, so
 * anyone who can see the object may ask. */
static gboolean
on_handle_list_commands (UcControl1 *skeleton,
                         GDBusMethodInvocation *invocation,
                         gpointer user_data)
{
  UcDbusMirror *self = UC_DBUS_MIRROR (user_data);
  g_auto (GStrv) names = uc_server_list_commands (self->server);
  g_auto (GVariantBuilder) builder =
    G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));

  for (char **name = names; *name != NULL; name++)
    {
      const char *usage = uc_server_get_usage (self->server, *name);

      if (usage != NULL)
        g_variant_builder_add (&builder, "{ss}", *name, usage);
    }
  uc_control1_complete_list_commands (skeleton, invocation,
                                      g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The bus and the name. */

/* Fails or drops every call in flight: with @error their callers get it,
 * without it they are gone and get nothing. */
static void
abandon_calls (UcDbusMirror *self, const GError *error)
{
  GHashTableIter iter;
  gpointer key;
  g_autoptr (GPtrArray) calls =
    g_ptr_array_sized_new (g_hash_table_size (self->calls));

  g_hash_table_iter_init (&iter, self->calls);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (calls, key);
  for (guint i = 0; i < calls->len; i++)
    {
      UcDbusMirrorCall *call = g_ptr_array_index (calls, i);

      if (error != NULL)
        call_return_error (call, error);
      else
        call_finish (call);
    }
}

static void
set_name_owned (UcDbusMirror *self, gboolean owned)
{
  if (self->name_owned == owned)
    return;
  self->name_owned = owned;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME_OWNED]);
}

static void
on_name_acquired (GDBusConnection *connection,
                  const char *name,
                  gpointer user_data)
{
  UcDbusMirror *self = UC_DBUS_MIRROR (user_data);

  g_debug ("owning %s on the bus", name);
  set_name_owned (self, TRUE);
  g_signal_emit (self, signals[SIGNAL_NAME_ACQUIRED], 0);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  UcDbusMirror *self = UC_DBUS_MIRROR (user_data);
  gboolean replaced = FALSE;

  if (connection == NULL || g_dbus_connection_is_closed (connection))
    g_message ("lost %s: the bus connection is gone", name);
  else if (self->name_owned)
    {
      /* Replacement is the only way to lose a name we hold while still
       * connected. */
      g_message ("lost %s to an instance that replaced this one", name);
      replaced = TRUE;
    }
  else
    g_message ("%s is owned by another instance; waiting for it "
               "(use --replace to take it)",
               name);

  set_name_owned (self, FALSE);
  g_signal_emit (self, signals[SIGNAL_NAME_LOST], 0, replaced);
}

static void
on_connection_closed (GDBusConnection *connection,
                      gboolean remote_peer_vanished,
                      GError *error,
                      gpointer user_data)
{
  UcDbusMirror *self = UC_DBUS_MIRROR (user_data);

  g_message ("the bus connection closed%s%s", error != NULL ? ": " : "",
             error != NULL ? error->message : "");
  /* Nobody can read the replies any more. */
  abandon_calls (self, NULL);
}

/* Shutdown. */

static void
on_flushed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (UcDbusMirror) self = UC_DBUS_MIRROR (user_data);
  g_autoptr (GError) error = NULL;

  /* A closed connection has nothing left to flush: not worth a word. */
  if (!g_dbus_connection_flush_finish (G_DBUS_CONNECTION (source), result,
                                       &error))
    g_debug ("flushing the bus connection: %s", error->message);
  uc_shutdown_complete (self->shutdown);
}

static void
maybe_finish_shutdown (UcDbusMirror *self)
{
  if (!uc_shutdown_is_pending (self->shutdown) || self->flushing ||
      g_hash_table_size (self->calls) > 0)
    return;

  self->flushing = TRUE;
  /* The last replies are queued in GDBus's worker thread: flushed, they
   * reach their callers even if the process exits next. */
  if (self->connection != NULL)
    g_dbus_connection_flush (self->connection, NULL, on_flushed,
                             g_object_ref (self));
  else
    uc_shutdown_complete (self->shutdown);
}

/* Fails the calls still in flight: their callers get an answer rather
 * than a silence the bus would end only with its own timeout. */
static void
fail_calls_in_flight (UcDbusMirror *self)
{
  g_autoptr (GError) error = g_error_new_literal (
    UC_ERROR, UC_ERROR_FAILED, "The daemon is shutting down");

  abandon_calls (self, error);
}

/* The #UcShutdownAbortFunc. */
static void
abort_shutdown (gpointer owner, gboolean timed_out)
{
  UcDbusMirror *self = UC_DBUS_MIRROR (owner);

  if (timed_out)
    g_message ("failing %u D-Bus calls still busy after %d ms",
               g_hash_table_size (self->calls),
               UC_DBUS_MIRROR_SHUTDOWN_TIMEOUT_MS);
  fail_calls_in_flight (self);
}

/* Leaves the bus: no new calls, no name. */
static void
unpublish (UcDbusMirror *self)
{
  g_clear_handle_id (&self->owner_id, g_bus_unown_name);
  set_name_owned (self, FALSE);
  if (self->exported)
    {
      g_dbus_interface_skeleton_unexport (
        G_DBUS_INTERFACE_SKELETON (self->skeleton));
      self->exported = FALSE;
    }
}

/* GObject. */

static void
uc_dbus_mirror_constructed (GObject *object)
{
  UcDbusMirror *self = UC_DBUS_MIRROR (object);

  G_OBJECT_CLASS (uc_dbus_mirror_parent_class)->constructed (object);

  uc_control1_set_version (self->skeleton,
                           uc_server_get_version (self->server));
  uc_control1_set_control_socket (
    self->skeleton, self->control_socket != NULL ? self->control_socket : "");
  uc_control1_set_pid (self->skeleton, (guint) getpid ());
  g_signal_connect (self->skeleton, "handle-call", G_CALLBACK (on_handle_call),
                    self);
  g_signal_connect (self->skeleton, "handle-call-json",
                    G_CALLBACK (on_handle_call_json), self);
  g_signal_connect (self->skeleton, "handle-list-commands",
                    G_CALLBACK (on_handle_list_commands), self);
}

static void
uc_dbus_mirror_dispose (GObject *object)
{
  UcDbusMirror *self = UC_DBUS_MIRROR (object);

  unpublish (self);
  if (self->connection != NULL)
    g_clear_signal_handler (&self->closed_id, self->connection);
  if (self->skeleton != NULL)
    g_signal_handlers_disconnect_by_data (self->skeleton, self);
  uc_shutdown_unwatch (self->shutdown);
  /* Calls first: each removes itself from its peer. */
  g_hash_table_remove_all (self->calls);
  g_hash_table_remove_all (self->peers);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->connection);
  g_clear_object (&self->server);

  G_OBJECT_CLASS (uc_dbus_mirror_parent_class)->dispose (object);
}

static void
uc_dbus_mirror_finalize (GObject *object)
{
  UcDbusMirror *self = UC_DBUS_MIRROR (object);

  g_clear_pointer (&self->shutdown, uc_shutdown_free);
  g_clear_pointer (&self->calls, g_hash_table_unref);
  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_clear_pointer (&self->control_socket, g_free);

  G_OBJECT_CLASS (uc_dbus_mirror_parent_class)->finalize (object);
}

static void
uc_dbus_mirror_get_property (GObject *object,
                             guint prop_id,
                             GValue *value,
                             GParamSpec *pspec)
{
  UcDbusMirror *self = UC_DBUS_MIRROR (object);

  switch (prop_id)
    {
      case PROP_SERVER:
        g_value_set_object (value, self->server);
        break;
      case PROP_CONTROL_SOCKET:
        g_value_set_string (value, self->control_socket);
        break;
      case PROP_NAME_OWNED:
        g_value_set_boolean (value, self->name_owned);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
}

static void
uc_dbus_mirror_set_property (GObject *object,
                             guint prop_id,
                             const GValue *value,
                             GParamSpec *pspec)
{
  UcDbusMirror *self = UC_DBUS_MIRROR (object);

  switch (prop_id)
    {
      case PROP_SERVER:
        self->server = g_value_dup_object (value);
        break;
      case PROP_CONTROL_SOCKET:
        self->control_socket = g_value_dup_string (value);
        break;
      case PROP_NAME_OWNED:
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
}

static void
uc_dbus_mirror_class_init (UcDbusMirrorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = uc_dbus_mirror_constructed;
  object_class->dispose = uc_dbus_mirror_dispose;
  object_class->finalize = uc_dbus_mirror_finalize;
  object_class->get_property = uc_dbus_mirror_get_property;
  object_class->set_property = uc_dbus_mirror_set_property;

  /**
   * UcDbusMirror:server:
   *
   * The server whose commands the mirror runs.
   */
  properties[PROP_SERVER] = g_param_spec_object (
    "server", NULL, NULL, UC_TYPE_SERVER,
    G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * UcDbusMirror:control-socket:
   *
   * The control socket's path, which the `ControlSocket` property shows,
   * or %NULL for none.
   */
  properties[PROP_CONTROL_SOCKET] = g_param_spec_string (
    "control-socket", NULL, NULL, NULL,
    G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * UcDbusMirror:name-owned:
   *
   * Whether the mirror owns %UC_DBUS_MIRROR_NAME now.
   */
  properties[PROP_NAME_OWNED] = g_param_spec_boolean (
    "name-owned", NULL, NULL, FALSE,
    G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * UcDbusMirror::name-acquired:
   * @self: the mirror
   *
   * The mirror owns %UC_DBUS_MIRROR_NAME.
   */
  signals[SIGNAL_NAME_ACQUIRED] =
    g_signal_new ("name-acquired", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * UcDbusMirror::name-lost:
   * @self: the mirror
   * @replaced: %TRUE if another instance took the name from us (it asked
   *   to replace us); %FALSE if we never had it (another instance owns
   *   it, and we wait in the queue) or the bus connection is gone
   *
   * The mirror does not own %UC_DBUS_MIRROR_NAME (any more).  It still
   * answers calls made to its unique name.
   */
  signals[SIGNAL_NAME_LOST] =
    g_signal_new ("name-lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
}

static void
uc_dbus_mirror_init (UcDbusMirror *self)
{
  self->skeleton = uc_control1_skeleton_new ();
  self->calls =
    g_hash_table_new_full (g_direct_hash, g_direct_equal, call_free, NULL);
  self->peers =
    g_hash_table_new_full (g_str_hash, g_str_equal, NULL, peer_free);
  self->shutdown =
    uc_shutdown_new (G_OBJECT (self), "D-Bus",
                     UC_DBUS_MIRROR_SHUTDOWN_TIMEOUT_MS, abort_shutdown);
}

/* Public API. */

/**
 * uc_dbus_mirror_new:
 * @server: the server whose commands to mirror
 * @control_socket: (nullable): the control socket's path, for the
 *   `ControlSocket` property; %NULL if there is none
 *
 * Creates a mirror of @server's commands, not yet on any bus (see
 * uc_dbus_mirror_export()).
 *
 * Returns: (transfer full): a new mirror
 */
UcDbusMirror *
uc_dbus_mirror_new (UcServer *server, const char *control_socket)
{
  g_return_val_if_fail (UC_IS_SERVER (server), NULL);

  return g_object_new (UC_TYPE_DBUS_MIRROR, "server", server, "control-socket",
                       control_socket, NULL);
}

/**
 * uc_dbus_mirror_export:
 * @self: a mirror
 * @connection: a bus connection, or a peer-to-peer one
 * @error: return location for a #GError
 *
 * Exports the interface at %UC_DBUS_MIRROR_PATH on @connection, which
 * the mirror uses from now on; calls are served from the thread-default
 * main context of the caller.  Call it once.
 *
 * Returns: %TRUE if exported; %FALSE with @error set if the path is
 *   taken on @connection
 */
gboolean
uc_dbus_mirror_export (UcDbusMirror *self,
                       GDBusConnection *connection,
                       GError **error)
{
  g_return_val_if_fail (UC_IS_DBUS_MIRROR (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (self->connection == NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_dbus_interface_skeleton_export (
        G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
        UC_DBUS_MIRROR_PATH, error))
    return FALSE;

  self->exported = TRUE;
  self->connection = g_object_ref (connection);
  self->closed_id = g_signal_connect (self->connection, "closed",
                                      G_CALLBACK (on_connection_closed), self);
  return TRUE;
}

/**
 * uc_dbus_mirror_own_name:
 * @self: a mirror exported on a message bus connection
 * @flags: how to ask for the name
 *
 * Asks the bus for %UC_DBUS_MIRROR_NAME, always allowing a later instance
 * to replace us.  The answer comes as #UcDbusMirror::name-acquired or
 * #UcDbusMirror::name-lost; a mirror that did not get the name waits in
 * the bus's queue and gets it when its owner leaves.  Call it once.
 */
void
uc_dbus_mirror_own_name (UcDbusMirror *self, UcDbusMirrorNameFlags flags)
{
  GBusNameOwnerFlags owner_flags = G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT;

  g_return_if_fail (UC_IS_DBUS_MIRROR (self));
  g_return_if_fail (self->connection != NULL);
  g_return_if_fail (self->owner_id == 0);
  g_return_if_fail (!uc_shutdown_is_started (self->shutdown));

  if (flags & UC_DBUS_MIRROR_NAME_FLAGS_REPLACE)
    owner_flags |= G_BUS_NAME_OWNER_FLAGS_REPLACE;
  self->owner_id = g_bus_own_name_on_connection (
    self->connection, UC_DBUS_MIRROR_NAME, owner_flags, on_name_acquired,
    on_name_lost, self, NULL);
}

/**
 * uc_dbus_mirror_get_connection:
 * @self: a mirror
 *
 * Returns: (transfer none) (nullable): the connection the mirror is
 *   exported on, or %NULL before uc_dbus_mirror_export()
 */
GDBusConnection *
uc_dbus_mirror_get_connection (UcDbusMirror *self)
{
  g_return_val_if_fail (UC_IS_DBUS_MIRROR (self), NULL);

  return self->connection;
}

/**
 * uc_dbus_mirror_get_name_owned:
 * @self: a mirror
 *
 * Returns: %TRUE if the mirror owns %UC_DBUS_MIRROR_NAME now
 */
gboolean
uc_dbus_mirror_get_name_owned (UcDbusMirror *self)
{
  g_return_val_if_fail (UC_IS_DBUS_MIRROR (self), FALSE);

  return self->name_owned;
}

/**
 * uc_dbus_mirror_get_n_calls:
 * @self: a mirror
 *
 * Returns: the method calls in flight: waiting for the caller's
 *   credentials or for their handler's answer
 */
guint
uc_dbus_mirror_get_n_calls (UcDbusMirror *self)
{
  g_return_val_if_fail (UC_IS_DBUS_MIRROR (self), 0);

  return g_hash_table_size (self->calls);
}

/**
 * uc_dbus_mirror_shutdown_async:
 * @self: a mirror
 * @cancellable: (nullable): cancelling it stops waiting for calls in
 *   flight: they fail at once
 * @callback: called when the mirror has shut down
 * @user_data: data for @callback
 *
 * Takes the mirror off the bus gracefully: the name is released and the
 * object unexported at once, so that new calls fail; the calls in flight
 * are answered as their handlers reply, or fail after
 * %UC_DBUS_MIRROR_SHUTDOWN_TIMEOUT_MS; then the connection is flushed, so
 * that every reply is on its way even if the process exits next.  Then
 * the shutdown completes.
 *
 * Calling it again is harmless: each call completes when the shutdown
 * does, or at once if it already has.
 */
void
uc_dbus_mirror_shutdown_async (UcDbusMirror *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (UC_IS_DBUS_MIRROR (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, uc_dbus_mirror_shutdown_async);

  if (uc_shutdown_add_task (self->shutdown, task))
    unpublish (self);
  maybe_finish_shutdown (self);
}

/**
 * uc_dbus_mirror_shutdown_finish:
 * @self: a mirror
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes uc_dbus_mirror_shutdown_async().
 *
 * Returns: %TRUE once the mirror has shut down; %FALSE with
 *   %G_IO_ERROR_CANCELLED if the call's cancellable was cancelled (the
 *   mirror has shut down all the same)
 */
gboolean
uc_dbus_mirror_shutdown_finish (UcDbusMirror *self,
                                GAsyncResult *result,
                                GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
    g_async_result_is_tagged (result, uc_dbus_mirror_shutdown_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
