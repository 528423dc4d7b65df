/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-i18n"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libintl.h>
#include <locale.h>
#include <signal.h>
#include <string.h>

#include "uc-json-framer.h"
#include "uc-test-util.h"

/*
 * The translations, as users get them: the built programs ($UNIXCTLD,
 * $UNIXCTL, $UNIXCTLD_WORKER) run with the French catalog that the build
 * compiled into <builddir>/po/fr/LC_MESSAGES/unixctld.mo, found through
 * $UNIXCTLD_LOCALEDIR, and their output must be French; and what the
 * daemon sends to its clients, and what the CLI prints exactly as
 * ovs-appctl does, must stay untranslated in a French locale.
 *
 * The French locale is LC_ALL=C.UTF-8 with LANGUAGE=fr, which needs no
 * locale to be generated: glibc reads $LANGUAGE whenever the message
 * locale is not "C" itself, and C.UTF-8 comes with the C library (Debian's
 * libc-bin; upstream glibc from 2.35).  A system that lacks C.UTF-8 or
 * ignores $LANGUAGE under it may still have a French locale installed,
 * which is tried next.  Only if neither works are the tests skipped; a
 * catalog missing from the build, or a message left untranslated, is a
 * failure.
 */

/* Locales that may select the French catalog, best first: with
 * LANGUAGE=fr, any locale but "C" does; a French one does by itself. */
static const char *const candidate_locales[] = {
  "C.UTF-8",
  "C.utf8",
  "fr_FR.UTF-8",
  "fr_FR.utf8",
};

static char *localedir;           /* (owned) <builddir>/po */
static const char *french_locale; /* (unowned) (nullable) one that works */
static char *locale_skip_why;     /* (owned) (nullable) why none does */

typedef struct
{
  char *dir;           /* (owned) private run directory */
  char **envp;         /* (owned) the French environment */
  GSubprocess *daemon; /* (owned) (nullable) */
} Fixture;

/* Whether @candidate, with LANGUAGE=fr, makes this process read the French
 * catalog from @localedir: the header of a loaded catalog is the
 * translation of "".  Called from main() before any thread exists, as
 * setenv() requires. */
static gboolean
locale_selects_french (const char *candidate)
{
  g_autofree char *saved = g_strdup (setlocale (LC_MESSAGES, NULL));
  const char *header;
  gboolean french;

  if (setlocale (LC_MESSAGES, candidate) == NULL)
    return FALSE;
  g_setenv ("LANGUAGE", "fr", TRUE);
  header = dgettext (GETTEXT_PACKAGE, "");
  french = strstr (header, "Language: fr\n") != NULL;
  g_unsetenv ("LANGUAGE");
  setlocale (LC_MESSAGES, saved);
  return french;
}

/* Finds the locale for the tests, or says why there is none. */
static void
find_locale (void)
{
  g_autofree char *mo = NULL;

  mo = g_build_filename (localedir, "fr", "LC_MESSAGES", GETTEXT_PACKAGE ".mo",
                         NULL);
  /* Missing, it would make every locale fail below: say so instead, as a
   * failure of every test (see check_catalog()). */
  if (!g_file_test (mo, G_FILE_TEST_IS_REGULAR))
    return;

  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  for (gsize i = 0; i < G_N_ELEMENTS (candidate_locales); i++)
    if (locale_selects_french (candidate_locales[i]))
      {
        french_locale = candidate_locales[i];
        g_test_message ("French through LC_ALL=%s LANGUAGE=fr", french_locale);
        return;
      }
  locale_skip_why = g_strdup (
    "no locale here selects a catalog with LANGUAGE=fr: C.UTF-8 is missing "
    "or taken as \"C\", and no fr_FR locale is installed");
}

/* Fails the test if the build did not compile the French catalog; skips
 * it if this system cannot select it.  Returns whether to go on. */
static gboolean
check_catalog (void)
{
  g_autofree char *mo = g_build_filename (localedir, "fr", "LC_MESSAGES",
                                          GETTEXT_PACKAGE ".mo", NULL);

  if (!g_file_test (mo, G_FILE_TEST_IS_REGULAR))
    {
      g_test_message ("%s is missing: po/LINGUAS or po/meson.build is broken,"
                      " or the test does not depend on the catalogs",
                      mo);
      g_test_fail ();
      return FALSE;
    }
  if (french_locale == NULL)
    {
      g_test_skip (locale_skip_why);
      return FALSE;
    }
  return TRUE;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  fixture->dir = uc_test_make_tmp_dir ("test-i18n-XXXXXX");

  fixture->envp = g_get_environ ();
  fixture->envp =
    g_environ_setenv (fixture->envp, "LC_ALL",
                      french_locale != NULL ? french_locale : "C.UTF-8", TRUE);
  fixture->envp = g_environ_setenv (fixture->envp, "LANGUAGE", "fr", TRUE);
  fixture->envp =
    g_environ_setenv (fixture->envp, "UNIXCTLD_LOCALEDIR", localedir, TRUE);
  fixture->envp =
    g_environ_setenv (fixture->envp, "OVS_RUNDIR", fixture->dir, TRUE);
  fixture->envp = g_environ_unsetenv (fixture->envp, "XDG_RUNTIME_DIR");
  fixture->envp =
    g_environ_setenv (fixture->envp, "DBUS_SESSION_BUS_ADDRESS", "", TRUE);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  if (fixture->daemon != NULL &&
      g_subprocess_get_identifier (fixture->daemon) != NULL)
    {
      g_subprocess_force_exit (fixture->daemon);
      g_subprocess_wait (fixture->daemon, NULL, NULL);
    }
  g_clear_object (&fixture->daemon);
  g_clear_pointer (&fixture->envp, g_strfreev);
  uc_test_rm_rf (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
}

/* Runs the program in $@variable with @... (up to %NULL) as arguments in
 * the French environment. */
static void G_GNUC_NULL_TERMINATED
run (Fixture *fixture, const char *variable, UcTestOutput *output, ...)
{
  g_autofree const char **args = NULL;
  va_list ap;

  va_start (ap, output);
  args = uc_test_args_va (ap);
  va_end (ap);

  uc_test_run (uc_test_built_program (variable), NULL,
               (const char *const *) args, (const char *const *) fixture->envp,
               output);
  g_test_message ("stdout: %s", output->out);
  g_test_message ("stderr: %s", output->err);
}

/* unixctld --help: the option descriptions and the texts around them,
 * including those that embed a number, in French. */
static void
test_daemon_help (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };
  g_autofree char *max_message_size = NULL;

  if (!check_catalog ())
    return;

  run (fixture, "UNIXCTLD", &output, "--help", NULL);
  g_assert_cmpint (output.status, ==, 0);
  g_assert_nonnull (strstr (output.out, "Afficher la version et quitter"));
  g_assert_nonnull (strstr (output.out, "Sert le protocole de contrôle "
                                        "unixctl d’Open vSwitch"));
  g_assert_nonnull (strstr (output.out, "--rundir=RÉP"));
  g_assert_nonnull (
    strstr (output.out, "Code de retour : 0 après un arrêt propre"));
  max_message_size =
    g_strdup_printf ("Plus grand message JSON-RPC accepté (par défaut %lu)",
                     (unsigned long) UC_JSON_DEFAULT_MAX_MESSAGE_SIZE);
  g_assert_nonnull (strstr (output.out, max_message_size));
  g_assert_null (strstr (output.out, "Print the version and exit"));
}

/* A usage error of the daemon, from its option checks. */
static void
test_daemon_usage_error (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!check_catalog ())
    return;

  run (fixture, "UNIXCTLD", &output, "--dbus=bogus", NULL);
  g_assert_cmpint (output.status, ==, 1);
  g_assert_cmpstr (output.err, ==,
                   "unixctld: valeur « bogus » invalide pour --dbus : "
                   "utilisez session, system ou none (utilisez --help pour "
                   "obtenir de l’aide)\n");
}

/* A GError of the stream layer, reported as a usage error. */
static void
test_daemon_remote_error (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!check_catalog ())
    return;

  run (fixture, "UNIXCTLD", &output, "--rundir", fixture->dir,
       "--remote=bogus:x", NULL);
  g_assert_cmpint (output.status, ==, 1);
  /* The reason is the stream parser's; its frame is enough here. */
  g_assert_true (g_str_has_prefix (
    output.err, "unixctld: Nom de flux passif « bogus:x » invalide : "));
  g_assert_true (g_str_has_suffix (
    output.err, " (utilisez --help pour obtenir de l’aide)\n"));
  g_assert_null (strstr (output.err, "stream"));
}

/* A GError of the daemon module at start-up: a run directory that is a
 * regular file. */
static void
test_daemon_rundir_error (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };
  g_autofree char *file = g_build_filename (fixture->dir, "file", NULL);
  g_autofree char *expected = NULL;

  if (!check_catalog ())
    return;

  uc_test_write_file (file, "");

  run (fixture, "UNIXCTLD", &output, "--rundir", file, "--no-worker",
       "--dbus=none", NULL);
  g_assert_cmpint (output.status, ==, 1);
  expected = g_strdup_printf (
    "unixctld: le répertoire d’exécution « %s » n’est pas un répertoire\n",
    file);
  g_assert_cmpstr (output.err, ==, expected);
}

/* The worker's own messages, from its own main(). */
static void
test_worker_usage (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!check_catalog ())
    return;

  run (fixture, "UNIXCTLD_WORKER", &output, "extra", NULL);
  g_assert_cmpint (output.status, ==, 1);
  g_assert_cmpstr (output.err, ==,
                   "unixctld-worker: ne prend aucun argument ; ce programme "
                   "est lancé par unixctld\n");
}

/* unixctl --help and an option of its own with a bad value. */
static void
test_cli_help (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!check_catalog ())
    return;

  run (fixture, "UNIXCTL", &output, "--help", NULL);
  g_assert_cmpint (output.status, ==, 0);
  g_assert_nonnull (
    strstr (output.out, "utilisation : unixctl [CIBLE] COMMANDE [ARG...]\n"));
  g_assert_nonnull (
    strstr (output.out, "  -h, --help         Afficher cette aide\n"));
  g_assert_null (strstr (output.out, "Print this helpful information"));
}

static void
test_cli_bad_option (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!check_catalog ())
    return;

  run (fixture, "UNIXCTL", &output, "--dbus=bogus", "version", NULL);
  g_assert_cmpint (output.status, ==, 1);
  g_assert_cmpstr (output.err, ==,
                   "unixctl: la valeur bogus de --dbus est invalide\n");
}

/* What ovs-appctl prints, unixctl prints the same in any locale: scripts
 * match these lines. */
static void
test_cli_compat_untranslated (Fixture *fixture, gconstpointer user_data)
{
  g_auto (UcTestOutput) output = { 0 };

  if (!check_catalog ())
    return;

  run (fixture, "UNIXCTL", &output, NULL);
  g_assert_cmpint (output.status, ==, 1);
  g_assert_cmpstr (output.err, ==,
                   "unixctl: at least one non-option argument is required "
                   "(use --help for help)\n");
}

/* A daemon in a French locale still answers in Open vSwitch's words: the
 * replies are protocol, and its clients' locale is not its own. */
static void
test_daemon_replies_untranslated (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autofree char *socket_path = NULL;
  g_autofree char *expected = NULL;

  if (!check_catalog ())
    return;

  socket_path = g_build_filename (fixture->dir, "ctl", NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_environ (launcher, fixture->envp);
  g_subprocess_launcher_set_child_setup (launcher, uc_test_die_with_parent,
                                         GINT_TO_POINTER (SIGTERM), NULL);
  {
    const char *const args[] = { "--unixctl", socket_path, "--no-worker",
                                 "--dbus=none", NULL };

    fixture->daemon = uc_test_spawn_unixctld (launcher, fixture->dir, args);
  }
  connection = uc_test_wait_for_unix_socket (fixture->daemon, socket_path,
                                             30 * G_USEC_PER_SEC);
  g_assert_nonnull (connection);

  {
    g_auto (UcTestOutput) output = { 0 };

    run (fixture, "UNIXCTL", &output, "-t", socket_path, "no-such-command",
         NULL);
    g_assert_cmpint (output.status, ==, 2);
    expected = g_strdup_printf (
      "\"no-such-command\" is not a valid command (use \"list-commands\" to "
      "see a list of valid commands)\n"
      "unixctl: %s: server returned an error\n",
      socket_path);
    g_assert_cmpstr (output.err, ==, expected);
    g_clear_pointer (&expected, g_free);
  }

  {
    g_auto (UcTestOutput) output = { 0 };

    run (fixture, "UNIXCTL", &output, "-t", socket_path, "set-options",
         "--bogus", NULL);
    g_assert_cmpint (output.status, ==, 2);
    expected = g_strdup_printf ("unrecognized option '--bogus'\n"
                                "unixctl: %s: server returned an error\n",
                                socket_path);
    g_assert_cmpstr (output.err, ==, expected);
  }

  g_subprocess_send_signal (fixture->daemon, SIGTERM);
  g_assert_cmpint (
    uc_test_subprocess_wait (fixture->daemon, 30 * G_USEC_PER_SEC), ==, 0);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  localedir = g_test_build_filename (G_TEST_BUILT, "..", "po", NULL);
  find_locale ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/i18n/unixctld/help", test_daemon_help);
  ADD ("/i18n/unixctld/usage-error", test_daemon_usage_error);
  ADD ("/i18n/unixctld/remote-error", test_daemon_remote_error);
  ADD ("/i18n/unixctld/rundir-error", test_daemon_rundir_error);
  ADD ("/i18n/unixctld/replies-untranslated", test_daemon_replies_untranslated);
  ADD ("/i18n/unixctld-worker/usage", test_worker_usage);
  ADD ("/i18n/unixctl/help", test_cli_help);
  ADD ("/i18n/unixctl/bad-option", test_cli_bad_option);
  ADD ("/i18n/unixctl/compat-untranslated", test_cli_compat_untranslated);

#undef ADD

  status = g_test_run ();
  g_free (localedir);
  g_free (locale_skip_why);
  return status;
}
