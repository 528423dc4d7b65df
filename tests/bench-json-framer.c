/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "bench-json-framer"

#include "config.h"

#include <string.h>

#include "uc-error.h"
#include "uc-json-framer.h"
#include "uc-jsonrpc-message.h"

/*
 * Throughput of the framer and of the message parser, beside json-glib's
 * own parser on the same text in the same run, for requests from 1 KiB to
 * 64 MiB.  The framer is linear if its ratio to json-glib stays flat as
 * the size grows.  Each figure is the best of a few repetitions; nothing
 * here asserts on time.
 *
 *   (a) the framer alone, fed in 64 KiB reads, as a connection feeds it;
 *   (b) the framer, then uc_jsonrpc_message_parse() on its message;
 *   (c) json_parser_load_from_data() on the same text, from memory.
 */

#define CHUNK_SIZE (64 * 1024)

/* Each measurement repeats the work until it has run this long, so that
 * small messages are timed over many iterations. */
#define MIN_SAMPLE_USEC (200 * 1000)

static const struct
{
  const char *label;
  gsize size;
  guint repetitions;
} sizes[] = {
  { "1 KiB", 1024, 5 },
  { "1 MiB", 1024 * 1024, 5 },
  { "16 MiB", 16 * 1024 * 1024, 5 },
  { "64 MiB", 64 * 1024 * 1024, 5 },
};

/* Parameter strings: mostly ASCII, some with escapes and multibyte text,
 * as command arguments and replies look. */
static const char *const phrases[] = {
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
  "tempor incididunt ut labore et dolore magna aliqua.",
  "bridge br0: port eth0 (\\\"uplink\\\") added, MTU 1500, "
  "state forwarding, 0 drops",
  "caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9\x65, na\xc3\xafve "
  "fa\xc3\xa7\x61\x64\x65, \xe2\x82\xac 42, \xe6\x97\xa5\xe6\x9c\xac"
  "\xe8\xaa\x9e, \xf0\x9f\x98\x80 -- Ut enim ad minim veniam, quis nostrud",
  "/var/run/openvswitch/ovs-vswitchd.1234.ctl\\tdpif/show\\n"
  "netdev@ovs-netdev: hit:0 missed:0",
};

/* A request of exactly @size bytes whose params are many strings. */
static GString *
build_request (gsize size)
{
  static const char head[] = "{\"method\":\"bench\",\"params\":[";
  static const char tail[] = "],\"id\":1}";
  GString *text = g_string_sized_new (size + 1);
  gsize room = size - strlen (tail) - 2; /* the last string's quotes */
  guint i = 0;

  g_string_append (text, head);
  for (;;)
    {
      const char *phrase = phrases[i++ % G_N_ELEMENTS (phrases)];
      gsize length = strlen (phrase);

      if (text->len + length + 3 > room)
        break;
      g_string_append_c (text, '"');
      g_string_append_len (text, phrase, length);
      g_string_append (text, "\",");
    }

  /* Pad the last string to the exact size. */
  g_string_append_c (text, '"');
  while (text->len < room + 1)
    g_string_append_c (text, 'x');
  g_string_append_c (text, '"');
  g_string_append (text, tail);
  g_assert_cmpuint (text->len, ==, size);
  return text;
}

typedef void (*BenchFunc) (const GString *text);

static char *
frame (const GString *text)
{
  g_autoptr (UcJsonFramer) framer = NULL;
  g_autoptr (GError) error = NULL;
  gsize offset = 0;

  framer =
    uc_json_framer_new (MAX (text->len, UC_JSON_DEFAULT_MAX_MESSAGE_SIZE),
                        UC_JSON_DEFAULT_MAX_DEPTH);
  while (offset < text->len)
    {
      gsize n = MIN (CHUNK_SIZE, text->len - offset);
      gsize consumed = 0;

      switch (
        uc_json_framer_feed (framer, text->str + offset, n, &consumed, &error))
        {
          case UC_JSON_FRAMER_MESSAGE:
            g_assert_cmpuint (offset + consumed, ==, text->len);
            return uc_json_framer_take_message (framer, NULL);
          case UC_JSON_FRAMER_NEED_MORE:
            break;
          case UC_JSON_FRAMER_ERROR:
          default:
            g_error ("framer: %s", error->message);
        }
      offset += consumed;
    }
  g_error ("framer: message incomplete");
}

static void
bench_framer (const GString *text)
{
  g_free (frame (text));
}

static void
bench_framer_parse (const GString *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UcJsonrpcMessage) message = NULL;
  g_autofree char *message_text = frame (text);

  message = uc_jsonrpc_message_parse (message_text, text->len, &error);
  if (message == NULL)
    g_error ("parse: %s", error->message);
}

static void
bench_json_glib (const GString *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  if (!json_parser_load_from_data (parser, text->str, text->len, &error))
    g_error ("json-glib: %s", error->message);
}

/* Context for the largest size: glibc serves blocks above its mmap
 * threshold (at most 32 MiB) with fresh pages, so every 64 MiB message
 * buffer pays a page fault per page on first touch.  This measures that
 * cost alone: writing to freshly allocated memory. */
static void
bench_fresh_memory (const GString *text)
{
  g_autofree char *buffer = g_malloc (text->len);

  memset (buffer, 'x', text->len);
}

/* Best throughput over @repetitions samples, in MB/s (10^6 bytes). */
static double
measure (BenchFunc func, const GString *text, guint repetitions)
{
  double best = 0;
  guint r;

  for (r = 0; r < repetitions; r++)
    {
      gint64 start = g_get_monotonic_time ();
      gint64 elapsed;
      guint64 iterations = 0;
      double rate;

      do
        {
          func (text);
          iterations++;
          elapsed = g_get_monotonic_time () - start;
        }
      while (elapsed < MIN_SAMPLE_USEC);

      rate = (double) text->len * iterations / elapsed;
      best = MAX (best, rate);
    }
  return best;
}

int
main (int argc, char **argv)
{
  gint64 start = g_get_monotonic_time ();
  double fresh_memory = 0;
  gsize i;

  g_print ("JSON framer throughput, MB/s (10^6 bytes/s), best of several "
           "runs\n"
           "  (a) framer alone, 64 KiB reads\n"
           "  (b) framer + uc_jsonrpc_message_parse()\n"
           "  (c) json-glib %d.%d.%d json_parser_load_from_data(), from "
           "memory\n\n",
           JSON_MAJOR_VERSION, JSON_MINOR_VERSION, JSON_MICRO_VERSION);
  g_print ("%-8s %12s %12s %13s %9s %9s\n", "size", "(a) framer", "(b) +parse",
           "(c) json-glib", "(b)/(c)", "(a)/(c)");

  for (i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GString) text = build_request (sizes[i].size);
      guint n = sizes[i].repetitions;
      double framer = measure (bench_framer, text, n);
      double framer_parse = measure (bench_framer_parse, text, n);
      double json_glib = measure (bench_json_glib, text, n);

      g_print ("%-8s %12.1f %12.1f %13.1f %9.2f %9.2f\n", sizes[i].label,
               framer, framer_parse, json_glib, framer_parse / json_glib,
               framer / json_glib);

      if (i == G_N_ELEMENTS (sizes) - 1)
        fresh_memory = measure (bench_fresh_memory, text, n);
    }

  g_print ("\nFirst write to %s of fresh memory (page faults), for "
           "comparison: %.1f MB/s\n",
           sizes[G_N_ELEMENTS (sizes) - 1].label, fresh_memory);

  g_print ("\ntotal time: %.1f s\n",
           (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  return 0;
}
