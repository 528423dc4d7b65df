/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Coverage counters: the macro API, the slot arithmetic behind the rates
 * (driven with uc_coverage_run_at(), so that time is the test's), the
 * coverage/show layout and Open vSwitch's hash, checked against figures
 * taken from a real ovsdb-server (test-vlog-compat checks it against a
 * live one), and the commands through a server.
 */
#define G_LOG_DOMAIN "test-coverage"

#include "config.h"

#include <string.h>

#include "uc-coverage.h"
#include "uc-request.h"
#include "uc-server.h"
#include "uc-test-util.h"

UC_COVERAGE_DEFINE (test_alpha);
UC_COVERAGE_DEFINE (test_beta);
UC_COVERAGE_DEFINE (test_never);

/* The layout of a counter's line in coverage/show, as Open vSwitch
 * prints it. */
#define LINE_REGEX                                                    \
  "^[a-z0-9_]+ +[0-9]+\\.[0-9]/sec +[0-9]+\\.[0-9]{3}/sec +[0-9]+\\." \
  "[0-9]{4}/sec   total: [0-9]+$"

/* @name's line in @text, or NULL. */
static char *
find_line (const char *text, const char *name)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (char **l = lines; *l != NULL; l++)
    {
      if (g_str_has_prefix (*l, name) && (*l)[strlen (name)] == ' ')
        return g_strdup (*l);
    }
  return NULL;
}

static void
test_counter_inc (void)
{
  guint64 count = G_MAXUINT64;

  g_assert_true (uc_coverage_read_counter ("test_alpha", &count));
  g_assert_cmpuint (count, ==, 0);

  uc_coverage_inc (test_alpha);
  uc_coverage_inc (test_alpha);
  uc_coverage_add (test_alpha, 40);
  g_assert_true (uc_coverage_read_counter ("test_alpha", &count));
  g_assert_cmpuint (count, ==, 42);
  g_assert_cmpuint (uc_coverage_counter_test_alpha.total, ==, 42);

  g_assert_false (uc_coverage_read_counter ("no_such_counter", &count));
  g_assert_false (uc_coverage_read_counter ("test_alph", &count));
  /* Every counter this program defines is registered before main(). */
  g_assert_cmpuint (uc_coverage_get_n_counters (), >=, 3);
}

/* Counters with the names and totals ovsdb-server 3.1 showed, and the
 * hash it printed for them ("hash=2d14598e"). */
static void
test_hash_open_vswitch (void)
{
  static const struct
  {
    const char *name;
    guint64 total;
  } observed[] = {
    { "hmap_pathological", 2 }, { "hmap_expand", 951 },
    { "lockfile_lock", 1 },     { "poll_create_node", 12 },
    { "poll_zero_timeout", 1 }, { "seq_change", 3 },
    { "pstream_open", 1 },      { "unixctl_received", 1 },
    { "unixctl_replied", 1 },   { "util_xalloc", 13267 },
    { "never_hit", 0 },
  };
  UcCoverageCounter counters[G_N_ELEMENTS (observed)] = { 0 };
  UcCoverageCounter *pointers[G_N_ELEMENTS (observed)];
  UcCoverageCounter zero[2] = { { .name = "a" }, { .name = "b" } };
  UcCoverageCounter *zero_pointers[2] = { &zero[0], &zero[1] };
  UcCoverageCounter one = { .name = "x", .total = 1 };
  UcCoverageCounter *one_pointer = &one;

  for (gsize i = 0; i < G_N_ELEMENTS (observed); i++)
    {
      counters[i].name = observed[i].name;
      counters[i].total = observed[i].total;
      pointers[i] = &counters[i];
    }
  g_assert_cmphex (uc_coverage_hash (pointers, G_N_ELEMENTS (pointers)), ==,
                   0x2d14598e);

  /* The order the counters come in does not matter. */
  for (gsize i = 0; i < G_N_ELEMENTS (pointers) / 2; i++)
    {
      UcCoverageCounter *tmp = pointers[i];

      pointers[i] = pointers[G_N_ELEMENTS (pointers) - 1 - i];
      pointers[G_N_ELEMENTS (pointers) - 1 - i] = tmp;
    }
  g_assert_cmphex (uc_coverage_hash (pointers, G_N_ELEMENTS (pointers)), ==,
                   0x2d14598e);

  /* Computed with Open vSwitch's lib/hash.[ch] arithmetic: no counter
   * hit (never-hit counters do not count), and one. */
  g_assert_cmphex (uc_coverage_hash (NULL, 0), ==, 0x63852afc);
  g_assert_cmphex (uc_coverage_hash (zero_pointers, 2), ==, 0x63852afc);
  g_assert_cmphex (uc_coverage_hash (&one_pointer, 1), ==, 0x98b57f73);

  /* A different count is a different hash. */
  counters[0].total = 3;
  g_assert_cmphex (uc_coverage_hash (pointers, G_N_ELEMENTS (pointers)), !=,
                   0x2d14598e);
}

/* The rates over 5 seconds, a minute and an hour, through the runs the
 * main loop makes: on time, and late. */
static void
test_run_rates (void)
{
  const gint64 t0 = 1000 * 1000;
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  guint64 base = uc_coverage_counter_test_beta.total;

  g_assert_cmpuint (base, ==, 0);

  /* The first run closes the first slot; runs before they are due do
   * nothing. */
  uc_coverage_run_at (t0);
  uc_coverage_add (test_beta, 10);
  uc_coverage_run_at (t0 + 4999);
  text = uc_coverage_show ();
  line = find_line (text, "test_beta");
  g_assert_cmpstr (line, ==,
                   "test_beta                  0.0/sec     0.000/sec     "
                   "0.0000/sec   total: 10");
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&line, g_free);

  /* 10 events in the last slot of 5 seconds: 2 a second over it, 10 over
   * the minute and the hour. */
  uc_coverage_run_at (t0 + 5000);
  text = uc_coverage_show ();
  line = find_line (text, "test_beta");
  g_assert_cmpstr (line, ==,
                   "test_beta                  2.0/sec     0.167/sec     "
                   "0.0028/sec   total: 10");
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&line, g_free);

  /* A minute later, with nothing new: the 5-second and minute rates are
   * back to 0, the hour remembers. */
  for (int i = 1; i <= UC_COVERAGE_MIN_AVG_LEN; i++)
    uc_coverage_run_at (t0 + 5000 + i * UC_COVERAGE_RUN_INTERVAL_MS);
  text = uc_coverage_show ();
  line = find_line (text, "test_beta");
  g_assert_cmpstr (line, ==,
                   "test_beta                  0.0/sec     0.000/sec     "
                   "0.0028/sec   total: 10");
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&line, g_free);

  /* A run 3 slots late spreads the 30 events evenly over them: 10 in the
   * last slot, 30 in the minute, 40 in the hour. */
  uc_coverage_add (test_beta, 30);
  uc_coverage_run_at (
    t0 + 5000 + (UC_COVERAGE_MIN_AVG_LEN + 3) * UC_COVERAGE_RUN_INTERVAL_MS);
  text = uc_coverage_show ();
  line = find_line (text, "test_beta");
  g_assert_cmpstr (line, ==,
                   "test_beta                  2.0/sec     0.500/sec     "
                   "0.0111/sec   total: 40");
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&line, g_free);

  /* Over an hour late: every slot is closed, at most an hour's worth. */
  uc_coverage_run_at (t0 + 10 * 3600 * 1000);
  text = uc_coverage_show ();
  line = find_line (text, "test_beta");
  g_assert_cmpstr (line, ==,
                   "test_beta                  0.0/sec     0.000/sec     "
                   "0.0000/sec   total: 40");
}

/* coverage/show's layout: the header with the hash of the counters, a
 * line per counter hit, in Open vSwitch's format, and the count of
 * those never hit. */
static void
test_show_layout (void)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GRegex) line_regex = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *header = NULL;
  g_autofree char *footer = NULL;
  guint n_lines;
  guint n_hit = 0;

  uc_coverage_inc (test_alpha);
  text = uc_coverage_show ();
  g_assert_true (g_str_has_suffix (text, "\n"));
  lines = g_strsplit (text, "\n", -1);
  n_lines = g_strv_length (lines);
  g_assert_cmpuint (n_lines, >=, 3);
  g_assert_cmpstr (lines[n_lines - 1], ==, "");

  line_regex = g_regex_new (LINE_REGEX, 0, 0, &error);
  g_assert_no_error (error);
  for (guint i = 1; i < n_lines - 2; i++)
    {
      g_assert_true (g_regex_match (line_regex, lines[i], 0, NULL));
      /* Names are padded to 24 columns, then a space. */
      g_assert_cmpuint (strcspn (lines[i], "."), >=, 24 + 1 + 3);
      n_hit++;
    }
  g_assert_nonnull (strstr (text, "\ntest_alpha "));
  g_assert_null (strstr (text, "test_never"));

  /* The hash is that of every counter, as the JSON form lists them. */
  {
    g_autoptr (JsonNode) node = uc_coverage_show_json ();
    JsonObject *object = json_node_get_object (node);
    g_autoptr (GList) names = json_object_get_members (object);
    guint n = g_list_length (names);
    g_autofree UcCoverageCounter *counters = g_new0 (UcCoverageCounter, n);
    g_autofree UcCoverageCounter **pointers = g_new (UcCoverageCounter *, n);
    guint i = 0;

    for (GList *l = names; l != NULL; l = l->next, i++)
      {
        counters[i].name = l->data;
        counters[i].total = (guint64) json_object_get_int_member (
          json_object_get_object_member (object, l->data), "total");
        pointers[i] = &counters[i];
      }
    header = g_strdup_printf ("Event coverage, avg rate over last: 5 seconds, "
                              "last minute, last hour,  hash=%08x:",
                              uc_coverage_hash (pointers, n));
    g_assert_cmpstr (lines[0], ==, header);
  }

  footer = g_strdup_printf ("%u events never hit",
                            uc_coverage_get_n_counters () - n_hit);
  g_assert_cmpstr (lines[n_lines - 2], ==, footer);
}

static void
test_commands (void)
{
  g_autoptr (UcServer) server = uc_server_new ("test", "1");
  const char *const show[] = { "coverage/show", NULL };
  const char *const read_alpha[] = { "coverage/read-counter", "test_alpha",
                                     NULL };
  const char *const read_never[] = { "coverage/read-counter", "test_never",
                                     NULL };
  const char *const read_none[] = { "coverage/read-counter", "nope", NULL };
  const char *const read_bare[] = { "coverage/read-counter", NULL };
  g_autofree char *expected = NULL;

  uc_coverage_inc (test_alpha);
  uc_coverage_register_commands (server);
  g_assert_cmpstr (uc_server_get_usage (server, "coverage/read-counter"), ==,
                   "COUNTER");
  g_assert_cmpstr (uc_server_get_usage (server, "coverage/show"), ==, "");

  {
    g_auto (UcTestReply) reply = { 0 };

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_TEXT, read_alpha, &reply);
    g_assert_true (reply.success);
    expected = g_strdup_printf ("%" G_GUINT64_FORMAT "\n",
                                uc_coverage_counter_test_alpha.total);
    g_assert_cmpstr (uc_test_reply_get_text (&reply), ==, expected);
  }
  {
    g_auto (UcTestReply) reply = { 0 };

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_TEXT, read_never, &reply);
    g_assert_true (reply.success);
    g_assert_cmpstr (uc_test_reply_get_text (&reply), ==, "0\n");
  }
  {
    g_auto (UcTestReply) reply = { 0 };

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_TEXT, read_none, &reply);
    g_assert_false (reply.success);
    g_assert_cmpstr (uc_test_reply_get_text (&reply), ==, "No such counter\n");
  }
  {
    g_auto (UcTestReply) reply = { 0 };

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_TEXT, read_bare, &reply);
    g_assert_false (reply.success);
    g_assert_cmpstr (uc_test_reply_get_text (&reply), ==,
                     "\"coverage/read-counter\" command requires at least 1 "
                     "arguments\n");
  }
  {
    g_auto (UcTestReply) reply = { 0 };

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_JSON, read_alpha, &reply);
    g_assert_true (reply.success);
    g_assert_true (JSON_NODE_HOLDS_VALUE (reply.body));
    g_assert_cmpint (json_node_get_int (reply.body), ==,
                     (gint64) uc_coverage_counter_test_alpha.total);
  }
  {
    g_auto (UcTestReply) reply = { 0 };

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_TEXT, show, &reply);
    g_assert_true (reply.success);
    g_assert_true (
      g_str_has_prefix (uc_test_reply_get_text (&reply), "Event coverage"));
    g_assert_nonnull (
      strstr (uc_test_reply_get_text (&reply), "\ntest_alpha "));
    g_assert_true (
      g_str_has_suffix (uc_test_reply_get_text (&reply), " never hit\n"));
  }
  {
    g_auto (UcTestReply) reply = { 0 };
    JsonObject *object;
    JsonObject *alpha;

    uc_test_dispatch (server, UC_OUTPUT_FORMAT_JSON, show, &reply);
    g_assert_true (reply.success);
    g_assert_true (JSON_NODE_HOLDS_OBJECT (reply.body));
    object = json_node_get_object (reply.body);
    /* Every counter, the never-hit ones too. */
    g_assert_cmpuint (json_object_get_size (object), ==,
                      uc_coverage_get_n_counters ());
    alpha = json_object_get_object_member (object, "test_alpha");
    g_assert_cmpint (json_object_get_int_member (alpha, "total"), ==,
                     (gint64) uc_coverage_counter_test_alpha.total);
    g_assert_true (json_object_has_member (alpha, "5s"));
    g_assert_true (json_object_has_member (alpha, "1m"));
    g_assert_true (json_object_has_member (alpha, "1h"));
    g_assert_cmpint (
      json_object_get_int_member (
        json_object_get_object_member (object, "test_never"), "total"),
      ==, 0);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/coverage/counter/inc", test_counter_inc);
  g_test_add_func ("/coverage/hash/open-vswitch", test_hash_open_vswitch);
  g_test_add_func ("/coverage/run/rates", test_run_rates);
  g_test_add_func ("/coverage/show/layout", test_show_layout);
  g_test_add_func ("/coverage/commands/show-and-read", test_commands);

  return g_test_run ();
}
