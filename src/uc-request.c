/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "unixctl"

#include "config.h"

#include "uc-request.h"

#include <string.h>

/**
 * UcRequest:
 *
 * One command call, as a handler sees it: the command name and its
 * arguments (all strings), the output format the caller asked for, the
 * caller's credentials where the transport knows them, and a way to answer
 * exactly once, now or later.
 *
 * The rules that turn an answer into a reply body live here, so that every
 * transport sends the same bodies:
 *
 * - in text mode a result or an error is a JSON string; a non-empty text
 *   that does not end in a newline gets one, as Open vSwitch's unixctl
 *   server does (old clients print the text as is);
 * - in JSON mode a text result becomes
 *   `{"reply-format":"plain","reply":TEXT}`, with TEXT unchanged, and a
 *   JSON result goes out as it is;
 * - errors are strings with the newline rule in both modes.
 *
 * A request that is released without an answer answers itself with an
 * internal error, so that no client is left waiting for a reply that will
 * never come.
 */
struct _UcRequest
{
  GObject parent_instance;

  char **argv; /* (owned) argv[0] is the command; one block with the
                * strings, freed with g_free() */
  guint argc;  /* elements of @argv, the command included */
  UcOutputFormat format;
  GCredentials *credentials; /* (owned) (nullable) */
  GCancellable *cancellable; /* (owned) (nullable) made on first use */

  UcRequestReplyFunc reply_func; /* NULL once answered or cancelled */
  gpointer user_data;            /* (owned) freed by @user_data_free */
  GDestroyNotify user_data_free;

  gboolean answered;
  gboolean cancelled;
};

G_DEFINE_FINAL_TYPE (UcRequest, uc_request, G_TYPE_OBJECT)

/* Copies @argv into one block: the pointers, then the strings.  A request
 * is made per call, and one allocation beats one per argument. */
static char **
argv_copy (const char *const *argv, guint *argc)
{
  gsize size = sizeof (char *);
  char **copy;
  char *p;
  guint n;

  for (n = 0; argv[n] != NULL; n++)
    size += sizeof (char *) + strlen (argv[n]) + 1;

  copy = g_malloc (size);
  p = (char *) (copy + n + 1);
  for (guint i = 0; i < n; i++)
    {
      copy[i] = p;
      p = g_stpcpy (p, argv[i]) + 1;
    }
  copy[n] = NULL;
  *argc = n;
  return copy;
}

/* Lets the transport's data go as soon as the transport no longer needs to
 * hear from this request, so that a handler holding on to an answered or
 * cancelled request does not keep a connection alive. */
static void
release_transport (UcRequest *self)
{
  gpointer user_data = g_steal_pointer (&self->user_data);
  GDestroyNotify user_data_free = g_steal_pointer (&self->user_data_free);

  self->reply_func = NULL;
  if (user_data_free != NULL)
    user_data_free (user_data);
}

/* Hands @body (transfer full) to the transport, unless the request was
 * cancelled: then its peer is gone and the body is dropped unseen. */
static void
deliver (UcRequest *self, gboolean success, JsonNode *body)
{
  g_autoptr (JsonNode) owned_body = body;
  UcRequestReplyFunc reply_func = self->reply_func;

  self->answered = TRUE;
  if (self->cancelled || reply_func == NULL)
    return;

  /* The reply function may drop the last other reference to @self. */
  g_object_ref (self);
  reply_func (self, success, owned_body, self->user_data);
  release_transport (self);
  g_object_unref (self);
}

/* A text body: a JSON string ending in a newline unless it is empty. */
static JsonNode *
text_body (const char *text)
{
  JsonNode *node = json_node_alloc ();
  gsize length;

  if (text == NULL)
    text = "";
  length = strlen (text);
  if (length > 0 && text[length - 1] != '\n')
    {
      /* json-glib copies the string: a short one is made on the stack. */
      char small[256];
      g_autofree char *large = NULL;
      char *terminated = small;

      if (length + 2 > sizeof small)
        terminated = large = g_malloc (length + 2);
      memcpy (terminated, text, length);
      terminated[length] = '\n';
      terminated[length + 1] = '\0';
      return json_node_init_string (node, terminated);
    }
  return json_node_init_string (node, text);
}

/* JSON mode's wrapper around a plain-text result, members in the order
 * Open vSwitch writes them. */
static JsonNode *
plain_wrapper_body (const char *text)
{
  g_autoptr (JsonObject) object = json_object_new ();

  json_object_set_string_member (object, "reply-format", "plain");
  json_object_set_string_member (object, "reply", text != NULL ? text : "");
  return json_node_init_object (json_node_alloc (), object);
}

static void
uc_request_dispose (GObject *object)
{
  UcRequest *self = UC_REQUEST (object);

  /* A handler that forgot to answer is a bug; the client still gets an
   * answer, and the log says which command to fix. */
  if (!self->answered && !self->cancelled)
    {
      const char *command = self->argv[0];

      g_critical ("command \"%s\" was released without a reply", command);
      uc_request_reply_error_printf (
        self, "internal error: command \"%s\" did not reply", command);
    }
  release_transport (self);

  G_OBJECT_CLASS (uc_request_parent_class)->dispose (object);
}

static void
uc_request_finalize (GObject *object)
{
  UcRequest *self = UC_REQUEST (object);

  g_clear_pointer (&self->argv, g_free);
  g_clear_object (&self->credentials);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (uc_request_parent_class)->finalize (object);
}

static void
uc_request_class_init (UcRequestClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = uc_request_dispose;
  object_class->finalize = uc_request_finalize;
}

static void
uc_request_init (UcRequest *self)
{
  self->format = UC_OUTPUT_FORMAT_TEXT;
}

/**
 * uc_request_new:
 * @argv: (array zero-terminated=1): the command name followed by its
 *   arguments; at least the name
 * @format: the output format in force for the caller
 * @credentials: (nullable): the caller's credentials, if the transport
 *   knows them
 * @reply_func: (scope notified): called with the reply body when the
 *   request is answered
 * @user_data: (closure reply_func): data for @reply_func
 * @user_data_free: (nullable): frees @user_data once the request has been
 *   answered or cancelled (or is finalized)
 *
 * Creates a request for a transport to hand to uc_server_dispatch().
 *
 * Returns: (transfer full): a new request
 */
UcRequest *
uc_request_new (const char *const *argv,
                UcOutputFormat format,
                GCredentials *credentials,
                UcRequestReplyFunc reply_func,
                gpointer user_data,
                GDestroyNotify user_data_free)
{
  UcRequest *self;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);
  g_return_val_if_fail (
    format == UC_OUTPUT_FORMAT_TEXT || format == UC_OUTPUT_FORMAT_JSON, NULL);
  g_return_val_if_fail (credentials == NULL || G_IS_CREDENTIALS (credentials),
                        NULL);
  g_return_val_if_fail (reply_func != NULL, NULL);

  self = g_object_new (UC_TYPE_REQUEST, NULL);
  self->argv = argv_copy (argv, &self->argc);
  self->format = format;
  self->credentials = credentials != NULL ? g_object_ref (credentials) : NULL;
  self->reply_func = reply_func;
  self->user_data = user_data;
  self->user_data_free = user_data_free;
  return self;
}

/**
 * uc_request_get_command:
 * @self: a request
 *
 * Returns: (transfer none): the name of the command called, `argv[0]`
 */
const char *
uc_request_get_command (UcRequest *self)
{
  g_return_val_if_fail (UC_IS_REQUEST (self), NULL);

  return self->argv[0];
}

/**
 * uc_request_get_argv:
 * @self: a request
 *
 * The command name followed by the arguments, as Open vSwitch hands them
 * to its handlers.
 *
 * Returns: (transfer none) (array zero-terminated=1): the command and its
 *   arguments
 */
const char *const *
uc_request_get_argv (UcRequest *self)
{
  g_return_val_if_fail (UC_IS_REQUEST (self), NULL);

  return (const char *const *) self->argv;
}

/**
 * uc_request_get_argc:
 * @self: a request
 *
 * Counts the command name too, as `argc` does in Open vSwitch's handlers:
 * a command called with two arguments has an argc of 3.
 *
 * Returns: the number of elements of uc_request_get_argv()
 */
guint
uc_request_get_argc (UcRequest *self)
{
  g_return_val_if_fail (UC_IS_REQUEST (self), 0);

  return self->argc;
}

/**
 * uc_request_get_format:
 * @self: a request
 *
 * Returns: the output format the reply is shaped for
 */
UcOutputFormat
uc_request_get_format (UcRequest *self)
{
  g_return_val_if_fail (UC_IS_REQUEST (self), UC_OUTPUT_FORMAT_TEXT);

  return self->format;
}

/**
 * uc_request_set_format:
 * @self: a request not yet answered
 * @format: the new output format
 *
 * Changes the output format, which is how `set-options --format` works:
 * the reply to @self is already shaped in the new format, as Open
 * vSwitch's is, and a transport that keeps a format per connection adopts
 * the format of each answered request for the requests that follow.
 */
void
uc_request_set_format (UcRequest *self, UcOutputFormat format)
{
  g_return_if_fail (UC_IS_REQUEST (self));
  g_return_if_fail (format == UC_OUTPUT_FORMAT_TEXT ||
                    format == UC_OUTPUT_FORMAT_JSON);
  g_return_if_fail (!self->answered);

  self->format = format;
}

/**
 * uc_request_get_credentials:
 * @self: a request
 *
 * The caller's credentials: on a unix socket those of the connecting
 * process (`SO_PEERCRED`), taken when it connected.
 *
 * Returns: (transfer none) (nullable): the caller's credentials, or %NULL
 *   if the transport does not know them (tcp, ssl)
 */
GCredentials *
uc_request_get_credentials (UcRequest *self)
{
  g_return_val_if_fail (UC_IS_REQUEST (self), NULL);

  return self->credentials;
}

/**
 * uc_request_get_cancellable:
 * @self: a request
 *
 * A cancellable that the transport cancels when the caller goes away
 * (see uc_request_cancel()).  A handler doing long work may pass it on, or
 * connect to it, to stop early.
 *
 * Returns: (transfer none): the request's cancellable
 */
GCancellable *
uc_request_get_cancellable (UcRequest *self)
{
  g_return_val_if_fail (UC_IS_REQUEST (self), NULL);

  /* Most requests are answered at once and never need one. */
  if (self->cancellable == NULL)
    {
      self->cancellable = g_cancellable_new ();
      if (self->cancelled)
        g_cancellable_cancel (self->cancellable);
    }
  return self->cancellable;
}

/**
 * uc_request_is_answered:
 * @self: a request
 *
 * Returns: %TRUE once a reply function has been called on @self
 */
gboolean
uc_request_is_answered (UcRequest *self)
{
  g_return_val_if_fail (UC_IS_REQUEST (self), FALSE);

  return self->answered;
}

/**
 * uc_request_reply:
 * @self: a request not yet answered
 * @text: (nullable): the result text; %NULL is the same as ""
 *
 * Answers @self with a plain-text result.  In text mode the body is @text
 * as a JSON string, ending in a newline unless it is empty; in JSON mode
 * it is `{"reply-format":"plain","reply":TEXT}` with @text unchanged (an
 * object needs no line end).
 *
 * Answering twice is a programmer error; the second answer is ignored.
 */
void
uc_request_reply (UcRequest *self, const char *text)
{
  g_return_if_fail (UC_IS_REQUEST (self));
  g_return_if_fail (!self->answered);

  if (self->format == UC_OUTPUT_FORMAT_JSON)
    deliver (self, TRUE, plain_wrapper_body (text));
  else
    deliver (self, TRUE, text_body (text));
}

/**
 * uc_request_reply_json:
 * @self: a request not yet answered
 * @result: (transfer full): the result
 *
 * Answers @self with a JSON result.  In JSON mode @result is the body as
 * it is.  In text mode, whose clients print a string, the body is the
 * compact JSON text of @result followed by a newline: the caller asked for
 * text, and this keeps a JSON-only handler useful to it.  Handlers that
 * have a proper text form should check uc_request_get_format() and call
 * uc_request_reply() instead.
 *
 * Answering twice is a programmer error; the second answer is ignored.
 */
void
uc_request_reply_json (UcRequest *self, JsonNode *result)
{
  g_autoptr (JsonNode) owned_result = result;
  g_autofree char *text = NULL;

  g_return_if_fail (UC_IS_REQUEST (self));
  g_return_if_fail (result != NULL);
  g_return_if_fail (!self->answered);

  if (self->format == UC_OUTPUT_FORMAT_JSON)
    {
      deliver (self, TRUE, g_steal_pointer (&owned_result));
      return;
    }
  text = json_to_string (owned_result, FALSE);
  deliver (self, TRUE, text_body (text));
}

/**
 * uc_request_reply_error:
 * @self: a request not yet answered
 * @text: (nullable): the error text; %NULL is the same as ""
 *
 * Answers @self with an error.  In both modes the body is @text as a JSON
 * string, ending in a newline unless it is empty.
 *
 * Answering twice is a programmer error; the second answer is ignored.
 */
void
uc_request_reply_error (UcRequest *self, const char *text)
{
  g_return_if_fail (UC_IS_REQUEST (self));
  g_return_if_fail (!self->answered);

  deliver (self, FALSE, text_body (text));
}

/**
 * uc_request_reply_error_printf:
 * @self: a request not yet answered
 * @format: a printf() format for the error text
 * @...: the arguments of @format
 *
 * Like uc_request_reply_error(), with a formatted text.
 */
void
uc_request_reply_error_printf (UcRequest *self, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  g_return_if_fail (UC_IS_REQUEST (self));
  g_return_if_fail (format != NULL);
  g_return_if_fail (!self->answered);

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  uc_request_reply_error (self, text);
}

/**
 * uc_request_cancel:
 * @self: a request
 *
 * Called by the transport when the caller has gone away.  The request's
 * cancellable is cancelled, the reply function is never called, and a
 * later answer is silently dropped: a handler finishing late neither
 * crashes nor writes anywhere.  Cancelling twice does nothing more.
 */
void
uc_request_cancel (UcRequest *self)
{
  g_autoptr (UcRequest) keep = NULL;

  g_return_if_fail (UC_IS_REQUEST (self));

  if (self->cancelled)
    return;

  keep = g_object_ref (self);
  /* Set before the cancellable fires, so that a handler answering from
   * its ::cancelled callback is dropped too. */
  self->cancelled = TRUE;
  release_transport (self);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}
