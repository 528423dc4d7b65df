/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memory/show: reporters and their sums, Open vSwitch's "name:value"
 * layout, the JSON form, the objects of the library that report (a
 * server, a worker), and the periodic peak-RSS log lines, driven with
 * uc_memory_run_at() so that time and the peak are the test's.
 */
#define G_LOG_DOMAIN "test-memory"

#include "config.h"

#include <string.h>

#include "uc-memory.h"
#include "uc-request.h"
#include "uc-server.h"
#include "uc-test-util.h"
#include "uc-worker.h"

/* A whole memory/show text: "name:value" pairs, one space apart. */
#define SHOW_REGEX "^[a-z0-9-]+:[0-9]+( [a-z0-9-]+:[0-9]+)*$"

static void
report_fixed (UcMemoryUsage *usage, gpointer user_data)
{
  const guint64 *value = user_data;

  uc_memory_usage_add (usage, "test-items", *value);
  uc_memory_usage_add (usage, "aaa-test", 7);
}

/* The value of @key in a memory/show text, or -1. */
static gint64
find_value (const char *text, const char *key)
{
  g_auto (GStrv) pairs = g_strsplit (text, " ", -1);

  for (char **p = pairs; *p != NULL; p++)
    {
      const char *colon = strchr (*p, ':');

      g_assert_nonnull (colon);
      if (strlen (key) == (gsize) (colon - *p) &&
          strncmp (*p, key, colon - *p) == 0)
        return (gint64) g_ascii_strtoull (colon + 1, NULL, 10);
    }
  return -1;
}

/* Checks Open vSwitch's layout: pairs sorted by name, no newline. */
static void
assert_layout (const char *text)
{
  g_auto (GStrv) pairs = g_strsplit (text, " ", -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GRegex) regex = g_regex_new (SHOW_REGEX, 0, 0, &error);

  g_assert_no_error (error);
  g_assert_true (g_regex_match (regex, text, 0, NULL));
  for (guint i = 1; pairs[i] != NULL; i++)
    g_assert_cmpint (strcmp (pairs[i - 1], pairs[i]), <, 0);
}

static void
test_reporters_sum (void)
{
  guint64 first_value = 3;
  guint64 second_value = 4;
  g_autofree char *before = uc_memory_show ();
  g_autofree char *both = NULL;
  g_autofree char *one = NULL;
  g_autofree char *after = NULL;
  guint first;
  guint second;

  assert_layout (before);
  g_assert_cmpint (find_value (before, "test-items"), ==, -1);
  /* The process's own figure is always there. */
  g_assert_cmpint (find_value (before, "rss-kb"), >, 0);

  first = uc_memory_add_reporter (report_fixed, &first_value);
  second = uc_memory_add_reporter (report_fixed, &second_value);
  g_assert_cmpuint (first, !=, 0);
  g_assert_cmpuint (second, !=, first);

  /* Reporters of the same kind add up under one name. */
  both = uc_memory_show ();
  assert_layout (both);
  g_assert_cmpint (find_value (both, "test-items"), ==, 7);
  g_assert_cmpint (find_value (both, "aaa-test"), ==, 14);
  g_assert_true (g_str_has_prefix (both, "aaa-test:14 "));

  uc_memory_remove_reporter (first);
  one = uc_memory_show ();
  g_assert_cmpint (find_value (one, "test-items"), ==, 4);

  uc_memory_remove_reporter (second);
  after = uc_memory_show ();
  g_assert_cmpint (find_value (after, "test-items"), ==, -1);
}

static void
test_show_json (void)
{
  guint64 value = 11;
  guint id = uc_memory_add_reporter (report_fixed, &value);
  g_autoptr (JsonNode) node = uc_memory_show_json ();
  JsonObject *object;

  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  object = json_node_get_object (node);
  g_assert_cmpint (json_object_get_int_member (object, "test-items"), ==, 11);
  g_assert_cmpint (json_object_get_int_member (object, "aaa-test"), ==, 7);
  g_assert_cmpint (json_object_get_int_member (object, "rss-kb"), >, 0);
  uc_memory_remove_reporter (id);
}

/* What the library's objects report. */
static void
test_library_reporters (void)
{
  g_autoptr (UcServer) server = uc_server_new ("test", "1");
  const char *const argv[] = { "/bin/true", NULL };
  g_autoptr (UcWorker) worker = uc_worker_new (argv);
  g_autofree char *text = uc_memory_show ();

  assert_layout (text);
  g_assert_cmpint (find_value (text, "connections"), ==, 0);
  g_assert_cmpint (find_value (text, "listeners"), ==, 0);
  g_assert_cmpint (find_value (text, "worker-waiting"), ==, 0);
  g_assert_cmpint (find_value (text, "worker-in-flight"), ==, 0);
  g_assert_cmpint (find_value (text, "worker-held"), ==, 0);

  /* Gone with their objects. */
  g_clear_object (&server);
  g_clear_object (&worker);
  g_clear_pointer (&text, g_free);
  text = uc_memory_show ();
  g_assert_cmpint (find_value (text, "connections"), ==, -1);
  g_assert_cmpint (find_value (text, "worker-held"), ==, -1);
}

/* The peak resident set size is logged after the first interval, then
 * whenever it has grown by half, each time with the usage, in Open
 * vSwitch's words. */
static void
test_run_log (void)
{
  const gint64 t0 = 5000 * 1000;

  /* The first run only starts the clock. */
  uc_memory_run_at (t0, 1000);
  uc_memory_run_at (t0 + UC_MEMORY_CHECK_INTERVAL_MS - 1, 1000);

  g_test_expect_message ("memory", G_LOG_LEVEL_MESSAGE,
                         "1000 kB peak resident set size after 10.0 seconds");
  g_test_expect_message ("memory", G_LOG_LEVEL_MESSAGE, "*rss-kb:*");
  uc_memory_run_at (t0 + UC_MEMORY_CHECK_INTERVAL_MS, 1000);
  g_test_assert_expected_messages ();

  /* Not due yet, then grown by less than half: nothing. */
  uc_memory_run_at (t0 + UC_MEMORY_CHECK_INTERVAL_MS + 5000, 2000);
  uc_memory_run_at (t0 + 2 * UC_MEMORY_CHECK_INTERVAL_MS, 1499);

  g_test_expect_message ("memory", G_LOG_LEVEL_MESSAGE,
                         "peak resident set size grew 50% in last 20.0 "
                         "seconds, from 1000 kB to 1500 kB");
  g_test_expect_message ("memory", G_LOG_LEVEL_MESSAGE, "*rss-kb:*");
  uc_memory_run_at (t0 + 3 * UC_MEMORY_CHECK_INTERVAL_MS, 1500);
  g_test_assert_expected_messages ();

  /* Measured from the last report. */
  g_test_expect_message ("memory", G_LOG_LEVEL_MESSAGE,
                         "peak resident set size grew 100% in last 10.0 "
                         "seconds, from 1500 kB to 3000 kB");
  g_test_expect_message ("memory", G_LOG_LEVEL_MESSAGE, "*rss-kb:*");
  uc_memory_run_at (t0 + 4 * UC_MEMORY_CHECK_INTERVAL_MS, 3000);
  g_test_assert_expected_messages ();
}

static void
test_commands (void)
{
  g_autoptr (UcServer) server = uc_server_new ("test", "1");
  const char *const show[] = { "memory/show", NULL };
  const char *const extra[] = { "memory/show", "x", NULL };
  g_auto (UcTestReply) text_reply = { 0 };
  g_auto (UcTestReply) json_reply = { 0 };
  g_auto (UcTestReply) extra_reply = { 0 };
  const char *text;

  uc_memory_register_commands (server);
  g_assert_cmpstr (uc_server_get_usage (server, "memory/show"), ==, "");

  uc_test_dispatch (server, UC_OUTPUT_FORMAT_TEXT, show, &text_reply);
  g_assert_true (text_reply.success);
  text = json_node_get_string (text_reply.body);
  /* Text replies end in a newline on the wire. */
  g_assert_true (g_str_has_suffix (text, "\n"));
  {
    g_autofree char *line = g_strndup (text, strlen (text) - 1);

    assert_layout (line);
    /* The request came in-process, not on a connection. */
    g_assert_cmpint (find_value (line, "connections"), ==, 0);
  }

  uc_test_dispatch (server, UC_OUTPUT_FORMAT_JSON, show, &json_reply);
  g_assert_true (json_reply.success);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_reply.body));
  g_assert_true (
    json_object_has_member (json_node_get_object (json_reply.body), "rss-kb"));

  uc_test_dispatch (server, UC_OUTPUT_FORMAT_TEXT, extra, &extra_reply);
  g_assert_false (extra_reply.success);
  g_assert_cmpstr (json_node_get_string (extra_reply.body), ==,
                   "\"memory/show\" command takes at most 0 arguments\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/memory/reporter/sum", test_reporters_sum);
  g_test_add_func ("/memory/show/json", test_show_json);
  g_test_add_func ("/memory/reporter/library", test_library_reporters);
  g_test_add_func ("/memory/run/log", test_run_log);
  g_test_add_func ("/memory/commands/show", test_commands);

  return g_test_run ();
}
