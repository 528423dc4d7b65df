/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "test-pidfile"

#include "config.h"

#include "uc-pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uc-error.h"
#include "uc-test-util.h"

/* fcntl() locks are per process and invisible to their owner's F_GETLK,
 * so everything about the lock is checked from forked children. */

typedef struct
{
  char *dir;  /* (owned) private temporary directory */
  char *path; /* (owned) the pidfile under test, in @dir */
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  fixture->dir = uc_test_make_tmp_dir ("test-pidfile-XXXXXX");
  fixture->path = g_build_filename (fixture->dir, "test.pid", NULL);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  g_assert_no_errno (uc_test_rm_rf (fixture->dir));
  g_clear_pointer (&fixture->path, g_free);
  g_clear_pointer (&fixture->dir, g_free);
}

/* Reads @path from a forked child: if this process held a lock on the
 * file, opening and closing it here would drop the lock. */
static char *
read_contents (const char *path)
{
  g_autoptr (GString) contents = g_string_new (NULL);
  int fds[2];
  pid_t pid;
  int status;
  char buf[256];
  ssize_t n;

  g_assert_no_errno (pipe (fds));
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      int fd = open (path, O_RDONLY);

      close (fds[0]);
      if (fd < 0)
        _exit (1);
      while ((n = read (fd, buf, sizeof buf)) > 0)
        if (write (fds[1], buf, n) != n)
          _exit (2);
      _exit (n < 0 ? 3 : 0);
    }

  close (fds[1]);
  while ((n = read (fds[0], buf, sizeof buf)) > 0)
    g_string_append_len (contents, buf, n);
  close (fds[0]);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  return g_string_free (g_steal_pointer (&contents), FALSE);
}

/* A forked process that holds a write lock on a file until released. */
typedef struct
{
  pid_t pid;
  int release_fd;
} Locker;

/* Starts a locker on @path that writes @contents into the file, or its
 * own pid as "%ld\n" if @contents is %NULL, and returns once it holds the
 * lock. */
static Locker
locker_start (const char *path, const char *contents)
{
  Locker locker;
  int ready[2], release[2];
  char byte;

  g_assert_no_errno (pipe (ready));
  g_assert_no_errno (pipe (release));

  locker.pid = fork ();
  g_assert_cmpint (locker.pid, >=, 0);
  if (locker.pid == 0)
    {
      struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
      char own[32];
      int fd;

      close (ready[0]);
      close (release[1]);
      fd = open (path, O_RDWR | O_CREAT, 0644);
      if (fd < 0 || fcntl (fd, F_SETLK, &lock) < 0)
        _exit (1);
      if (contents == NULL)
        {
          snprintf (own, sizeof own, "%ld\n", (long) getpid ());
          contents = own;
        }
      if (ftruncate (fd, 0) < 0 || write (fd, contents, strlen (contents)) !=
                                     (ssize_t) strlen (contents))
        _exit (2);
      if (write (ready[1], "r", 1) != 1)
        _exit (3);
      /* Returns at end of file: when the parent closes its end. */
      if (read (release[0], &byte, 1) < 0)
        _exit (4);
      _exit (0);
    }

  close (ready[1]);
  close (release[0]);
  g_assert_cmpint (read (ready[0], &byte, 1), ==, 1);
  close (ready[0]);
  locker.release_fd = release[1];
  return locker;
}

static void
locker_stop (Locker *locker)
{
  int status;

  close (locker->release_fd);
  g_assert_cmpint (waitpid (locker->pid, &status, 0), ==, locker->pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* Exit codes of check_lock_in_child(). */
enum
{
  CHILD_OK,
  CHILD_OPEN_FAILED,
  CHILD_GETLK_FAILED,
  CHILD_NOT_LOCKED,
  CHILD_WRONG_HOLDER,
  CHILD_READ_FAILED,
  CHILD_WRONG_PID,
};

/* Checks from another process that @path is write-locked by @holder, both
 * with F_GETLK and with uc_pidfile_read().  Returns the child's exit code. */
static int
check_lock_in_child (const char *path, pid_t holder)
{
  pid_t pid;
  int status;

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
      GPid read_pid = 0;
      int fd;

      fd = open (path, O_RDONLY);
      if (fd < 0)
        _exit (CHILD_OPEN_FAILED);
      if (fcntl (fd, F_GETLK, &lock) < 0)
        _exit (CHILD_GETLK_FAILED);
      close (fd);
      if (lock.l_type != F_WRLCK)
        _exit (CHILD_NOT_LOCKED);
      if (lock.l_pid != holder)
        _exit (CHILD_WRONG_HOLDER);
      if (!uc_pidfile_read (path, &read_pid, NULL))
        _exit (CHILD_READ_FAILED);
      if (read_pid != holder)
        _exit (CHILD_WRONG_PID);
      _exit (CHILD_OK);
    }

  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
assert_read_fails (const char *path, int errsv)
{
  g_autoptr (GError) error = NULL;
  GPid pid = 12345;

  g_assert_false (uc_pidfile_read (path, &pid, &error));
  g_assert_error (error, G_IO_ERROR, (int) g_io_error_from_errno (errsv));
  /* The CLI prints the message as ovs-appctl prints strerror(). */
  g_assert_cmpstr (error->message, ==, g_strerror (errsv));
  g_assert_cmpint (pid, ==, 12345);
}

/* Acquires @path, which must succeed. */
static UcPidfile *
acquire (const char *path, gboolean overwrite)
{
  g_autoptr (GError) error = NULL;
  UcPidfile *pidfile = uc_pidfile_acquire (path, overwrite, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pidfile);
  return pidfile;
}

/* Tries to acquire @path, which must be refused: a running process (or
 * one starting up) holds it.  Returns why. */
static GError *
acquire_refused (const char *path)
{
  GError *error = NULL;
  g_autoptr (UcPidfile) pidfile = uc_pidfile_acquire (path, FALSE, &error);

  g_assert_null (pidfile);
  g_assert_error (error, UC_ERROR, UC_ERROR_ALREADY_RUNNING);
  return error;
}

/* The fixture's pidfile is this process's: it holds "%ld\n" with our pid
 * and its lock, and its temporary file is gone (renamed, not copied). */
static void
assert_held_by_us (Fixture *fixture)
{
  g_autofree char *contents = read_contents (fixture->path);
  g_autofree char *expected = g_strdup_printf ("%ld\n", (long) getpid ());
  g_autofree char *names = uc_test_list_dir (fixture->dir);

  g_assert_cmpstr (contents, ==, expected);
  g_assert_cmpstr (names, ==, "test.pid");
  g_assert_cmpint (check_lock_in_child (fixture->path, getpid ()), ==,
                   CHILD_OK);
}

static void
test_acquire_writes_pid (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcPidfile) pidfile = acquire (fixture->path, FALSE);

  g_assert_cmpstr (uc_pidfile_get_path (pidfile), ==, fixture->path);
  assert_held_by_us (fixture);

  uc_pidfile_release (pidfile);
  g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));
  /* Releasing twice, then finalizing, does nothing more. */
  uc_pidfile_release (pidfile);
}

static void
test_acquire_refused (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UcPidfile) pidfile = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *expected_line = NULL;

  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("UC_TEST_PIDFILE");

      g_assert_nonnull (path);
      error = acquire_refused (path);
      g_print ("%s\n", error->message);
      return;
    }

  pidfile = acquire (fixture->path, FALSE);
  expected = g_strdup_printf ("%s: already running as pid %ld, aborting",
                              fixture->path, (long) getpid ());

  /* Another process: the lock refuses it. */
  g_setenv ("UC_TEST_PIDFILE", fixture->path, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  expected_line = g_strconcat (expected, "\n", NULL);
  g_test_trap_assert_stdout (expected_line);
  g_unsetenv ("UC_TEST_PIDFILE");

  /* This process again: it must not even open its own pidfile, since
   * closing that descriptor would drop the lock. */
  error = acquire_refused (fixture->path);
  g_assert_cmpstr (error->message, ==, expected);

  /* Neither attempt touched the pidfile or left its temporary file. */
  assert_held_by_us (fixture);
}

static void
test_acquire_refused_by_other (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  Locker locker = locker_start (fixture->path, NULL);

  error = acquire_refused (fixture->path);
  expected = g_strdup_printf ("%s: already running as pid %ld, aborting",
                              fixture->path, (long) locker.pid);
  g_assert_cmpstr (error->message, ==, expected);

  locker_stop (&locker);
}

static void
test_acquire_overwrite (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UcPidfile) pidfile = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *names = NULL;
  GPid pid = 0;
  Locker locker = locker_start (fixture->path, NULL);

  pidfile = acquire (fixture->path, TRUE);

  contents = read_contents (fixture->path);
  expected = g_strdup_printf ("%ld\n", (long) getpid ());
  g_assert_cmpstr (contents, ==, expected);
  g_assert_true (uc_pidfile_read (fixture->path, &pid, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pid, ==, getpid ());
  names = uc_test_list_dir (fixture->dir);
  g_assert_cmpstr (names, ==, "test.pid");

  /* The old holder still has its lock, on a file no longer named. */
  locker_stop (&locker);
  g_assert_cmpint (check_lock_in_child (fixture->path, getpid ()), ==,
                   CHILD_OK);
}

static void
test_acquire_stale (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcPidfile) pidfile = NULL;
  g_autofree char *tmp_path = NULL;

  /* A pidfile nobody locks, and the temporary file of a starter that died
   * half way, longer than what we write. */
  uc_test_write_file (fixture->path, "999999\n");
  tmp_path = g_strconcat (fixture->path, ".tmp", NULL);
  uc_test_write_file (tmp_path, "123456789012345\n");

  pidfile = acquire (fixture->path, FALSE);
  assert_held_by_us (fixture);
}

static void
test_acquire_starting (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp_path = g_strconcat (fixture->path, ".tmp", NULL);
  Locker locker = locker_start (tmp_path, "");

  /* Another starter holds the temporary file: we must not race it. */
  error = acquire_refused (fixture->path);
  g_assert_nonnull (strstr (error->message, "starting up"));
  g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));

  locker_stop (&locker);
}

static void
test_acquire_create_failed (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UcPidfile) pidfile = NULL;
  g_autofree char *path =
    g_build_filename (fixture->dir, "missing", "test.pid", NULL);
  g_autofree char *expected =
    g_strdup_printf ("%s.tmp: create failed (%s)", path, g_strerror (ENOENT));

  pidfile = uc_pidfile_acquire (path, FALSE, &error);
  g_assert_null (pidfile);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
test_release_replaced (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcPidfile) pidfile = acquire (fixture->path, FALSE);
  g_autofree char *other = NULL;
  g_autofree char *contents = NULL;

  /* Someone else's pidfile took the name (--overwrite-pidfile). */
  other = g_build_filename (fixture->dir, "other.pid", NULL);
  uc_test_write_file (other, "4242\n");
  g_assert_no_errno (g_rename (other, fixture->path));

  uc_pidfile_release (pidfile);
  contents = read_contents (fixture->path);
  g_assert_cmpstr (contents, ==, "4242\n");
}

static void
test_read_live (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  GPid pid = 0;
  Locker locker = locker_start (fixture->path, NULL);

  g_assert_true (uc_pidfile_read (fixture->path, &pid, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pid, ==, locker.pid);

  locker_stop (&locker);

  /* The holder is gone, so the same file is stale now. */
  assert_read_fails (fixture->path, ESRCH);
}

static void
test_read_own (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (UcPidfile) pidfile = NULL;
  g_autoptr (GError) error = NULL;
  GPid pid = 0;

  /* Ours, with its lock, for the whole test. */
  pidfile = acquire (fixture->path, FALSE);

  for (int i = 0; i < 2; i++)
    {
      g_assert_true (uc_pidfile_read (fixture->path, &pid, &error));
      g_assert_no_error (error);
      g_assert_cmpint (pid, ==, getpid ());
    }

  /* Reading did not drop the lock. */
  g_assert_cmpint (check_lock_in_child (fixture->path, getpid ()), ==,
                   CHILD_OK);
}

static void
test_read_missing (Fixture *fixture, gconstpointer user_data)
{
  assert_read_fails (fixture->path, ENOENT);
}

static void
test_read_stale (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *contents = g_strdup_printf ("%ld\n", (long) getpid ());

  /* Even a pid that is alive: what counts is the lock. */
  uc_test_write_file (fixture->path, contents);
  assert_read_fails (fixture->path, ESRCH);
}

static void
test_read_garbage (Fixture *fixture, gconstpointer user_data)
{
  /* Locked files whose content is not the holder's pid: Open vSwitch
   * reads them as stale (ESRCH), and so must we. */
  const char *contents[] = { "garbage\n", "", "1\n", "\n", "-1\n" };

  for (gsize i = 0; i < G_N_ELEMENTS (contents); i++)
    {
      Locker locker = locker_start (fixture->path, contents[i]);
      g_autofree char *escaped = g_strescape (contents[i], NULL);

      g_test_message ("content \"%s\"", escaped);
      assert_read_fails (fixture->path, ESRCH);
      locker_stop (&locker);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/pidfile/acquire/writes-pid", test_acquire_writes_pid);
  ADD ("/pidfile/acquire/refused", test_acquire_refused);
  ADD ("/pidfile/acquire/refused-by-other", test_acquire_refused_by_other);
  ADD ("/pidfile/acquire/overwrite", test_acquire_overwrite);
  ADD ("/pidfile/acquire/stale", test_acquire_stale);
  ADD ("/pidfile/acquire/starting", test_acquire_starting);
  ADD ("/pidfile/acquire/create-failed", test_acquire_create_failed);
  ADD ("/pidfile/release/replaced", test_release_replaced);
  ADD ("/pidfile/read/live", test_read_live);
  ADD ("/pidfile/read/own", test_read_own);
  ADD ("/pidfile/read/missing", test_read_missing);
  ADD ("/pidfile/read/stale", test_read_stale);
  ADD ("/pidfile/read/garbage", test_read_garbage);

#undef ADD

  return g_test_run ();
}
