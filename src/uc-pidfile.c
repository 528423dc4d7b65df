/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "pidfile"

#include "config.h"

#include "uc-pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uc-error.h"
#include "uc-fd.h"

/*
 * The pidfile protocol of Open vSwitch (lib/daemon-unix.c), which
 * `ovs-appctl -t NAME` and python-ovs rely on:
 *
 *  - the daemon holds a POSIX fcntl() write lock over the whole file for
 *    as long as it runs.  flock() locks would be invisible to readers,
 *    which ask with F_GETLK;
 *  - the file holds the daemon's pid as "%ld\n";
 *  - a reader trusts the file only if it is locked and the lock holder
 *    (F_GETLK's l_pid) is the pid written in it; an unlocked file is
 *    stale (ESRCH).
 *
 * The file is written under another name and renamed into place, so a
 * reader never sees it empty or half written.  Starters that do not
 * overwrite share one temporary name and lock it first: that serialises
 * them, so two daemons started at once cannot both decide the pidfile is
 * free.
 *
 * fcntl() locks belong to the process, and closing *any* descriptor of a
 * file drops all of the process's locks on it.  So this process must never
 * open and close its own pidfile: reads of a pidfile held here answer from
 * the list below instead.
 */

/* How often acquiring retries when the temporary file it locked was
 * renamed or removed by another starter in the meantime. */
#define ACQUIRE_ATTEMPTS 8

/* Longest pidfile content read: a pid and a newline, with room to spare. */
#define PIDFILE_READ_MAX 64

struct _UcPidfile
{
  GObject parent_instance;

  char *path; /* (owned) */
  int fd;     /* (owned) holds the lock; -1 once released */
  pid_t pid;  /* the process holding the lock, and named in the file */
  dev_t dev;
  ino_t ino;
};

G_DEFINE_FINAL_TYPE (UcPidfile, uc_pidfile, G_TYPE_OBJECT)

/* Pidfiles this process holds, (element-type UcPidfile) (unowned).  Main
 * thread only, like the rest of the daemon's start-up and teardown. */
static GSList *held_pidfiles;

/* An error whose message is exactly strerror(@errsv), so that callers can
 * print it the way Open vSwitch prints errno values. */
static void
set_errno_error (GError **error, int errsv)
{
  g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       g_strerror (errsv));
}

static UcPidfile *
find_held (const char *path)
{
  struct stat st;

  if (held_pidfiles == NULL || stat (path, &st) < 0)
    return NULL;

  for (GSList *l = held_pidfiles; l != NULL; l = l->next)
    {
      UcPidfile *held = l->data;

      /* A forked child inherits the list but not the locks. */
      if (held->pid == getpid () && held->dev == st.st_dev &&
          held->ino == st.st_ino)
        return held;
    }
  return NULL;
}

static int
lock_fd (int fd, int command, struct flock *lock)
{
  memset (lock, 0, sizeof *lock);
  lock->l_type = F_WRLCK;
  lock->l_whence = SEEK_SET;
  lock->l_start = 0;
  lock->l_len = 0; /* to the end of the file, however long it grows */

  while (fcntl (fd, command, lock) < 0)
    {
      if (errno != EINTR)
        return errno;
    }
  return 0;
}

/* Reads the pid from @path the way Open vSwitch's read_pidfile() does.
 * Returns the pid of the live daemon holding it, 0 if @allow_missing and
 * the file does not exist, or -errno. */
static pid_t
read_pidfile (const char *path, gboolean allow_missing)
{
  g_auto (UcFd) fd = -1;
  struct flock lock;
  char line[PIDFILE_READ_MAX];
  ssize_t n;
  int errsv;
  gint64 file_pid;
  char *end = NULL;

  if (find_held (path) != NULL)
    return getpid ();

  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      errsv = errno;
      if (errsv == ENOENT && allow_missing)
        return 0;
      g_debug ("%s: open: %s", path, g_strerror (errsv));
      return -errsv;
    }

  /* F_GETLK describes a lock that would conflict with a write lock: with
   * the whole file asked for, that is any lock another process holds. */
  errsv = lock_fd (fd, F_GETLK, &lock);
  if (errsv != 0)
    {
      g_debug ("%s: fcntl: %s", path, g_strerror (errsv));
      return -errsv;
    }
  if (lock.l_type == F_UNLCK)
    {
      g_debug ("%s: pid file is stale", path);
      return -ESRCH;
    }

  do
    n = read (fd, line, sizeof line - 1);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      errsv = errno;
      g_debug ("%s: read: %s", path, g_strerror (errsv));
      return -errsv;
    }
  line[n] = '\0';

  /* Open vSwitch compares strtoul()'s value with the lock holder, so an
   * empty or unreadable number is a mismatch, reported as ESRCH too. */
  file_pid = g_ascii_strtoll (line, &end, 10);
  if (end == line || file_pid != lock.l_pid)
    {
      g_debug ("%s: stale pidfile for pid %.*s being deleted by pid %ld", path,
               (int) strcspn (line, "\n"), line, (long) lock.l_pid);
      return -ESRCH;
    }

  return lock.l_pid;
}

/* Opens and locks the temporary file.  Another starter may rename or
 * remove the file between our open() and our lock; then the lock we hold
 * is on a file no longer named @tmp_path, and we start again. */
static int
open_locked_tmp (const char *tmp_path, GError **error)
{
  for (guint attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++)
    {
      g_auto (UcFd) fd = -1;
      struct flock lock;
      struct stat fd_st, path_st;
      int errsv;

      fd = open (tmp_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
      if (fd < 0)
        {
          errsv = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       _ ("%s: create failed (%s)"), tmp_path,
                       g_strerror (errsv));
          return -1;
        }

      errsv = lock_fd (fd, F_SETLK, &lock);
      if (errsv == EAGAIN || errsv == EACCES)
        {
          g_set_error (error, UC_ERROR, UC_ERROR_ALREADY_RUNNING,
                       _ ("%s: locked by another process starting up, "
                          "aborting"),
                       tmp_path);
          return -1;
        }
      if (errsv != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       _ ("%s: fcntl(F_SETLK) failed (%s)"), tmp_path,
                       g_strerror (errsv));
          return -1;
        }

      if (fstat (fd, &fd_st) == 0 && stat (tmp_path, &path_st) == 0 &&
          fd_st.st_dev == path_st.st_dev && fd_st.st_ino == path_st.st_ino)
        return g_steal_fd (&fd);
    }

  g_set_error (error, UC_ERROR, UC_ERROR_ALREADY_RUNNING,
               _ ("%s: kept being replaced by other processes, aborting"),
               tmp_path);
  return -1;
}

/**
 * uc_pidfile_acquire:
 * @path: the pidfile's path
 * @overwrite: replace the pidfile even if a live daemon holds it
 *   (`--overwrite-pidfile`)
 * @error: return location for a #GError
 *
 * Creates @path holding this process's pid as `"%ld\n"`, locked with a
 * POSIX fcntl() write lock that lasts until uc_pidfile_release() or the
 * end of the process.  Call it from the process that stays (after
 * detaching), because readers check that the lock holder's pid is the
 * pid in the file.
 *
 * The file is written as `PATH.tmp` (`PATH.tmpPID` with @overwrite) and
 * renamed into place.  A stale pidfile (one nobody holds a lock on) is
 * replaced.
 *
 * Returns: (transfer full): the held pidfile, or %NULL with
 *   %UC_ERROR_ALREADY_RUNNING and the message `PATH: already running as
 *   pid N, aborting` if a live daemon holds @path and @overwrite is
 *   %FALSE, or with a #GIOErrorEnum code when the file system refuses
 */
UcPidfile *
uc_pidfile_acquire (const char *path, gboolean overwrite, GError **error)
{
  g_autoptr (UcPidfile) self = NULL;
  g_autofree char *tmp_path = NULL;
  g_autofree char *content = NULL;
  g_auto (UcFd) fd = -1;
  struct stat st;
  int errsv;

  g_return_val_if_fail (path != NULL && *path != '\0', NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (overwrite)
    tmp_path = g_strdup_printf ("%s.tmp%ld", path, (long) getpid ());
  else
    tmp_path = g_strdup_printf ("%s.tmp", path);

  fd = open_locked_tmp (tmp_path, error);
  if (fd < 0)
    return NULL;

  /* From here on the temporary file is ours (we hold its lock), so every
   * failure removes it. */
  if (!overwrite)
    {
      pid_t running = read_pidfile (path, TRUE);

      if (running > 0)
        {
          g_set_error (error, UC_ERROR, UC_ERROR_ALREADY_RUNNING,
                       _ ("%s: already running as pid %ld, aborting"), path,
                       (long) running);
          goto fail;
        }
      /* ESRCH is a stale pidfile, which the rename below replaces. */
      if (running < 0 && running != -ESRCH)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (-running),
                       _ ("%s: pidfile check failed (%s), aborting"), path,
                       g_strerror (-running));
          goto fail;
        }
    }

  /* A previous starter may have died after writing the temporary file;
   * we hold the lock now, so emptying it harms nobody. */
  content = g_strdup_printf ("%ld\n", (long) getpid ());
  if (ftruncate (fd, 0) < 0 || !uc_fd_write_all (fd, content, strlen (content)))
    {
      errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _ ("%s: write failed (%s)"), tmp_path, g_strerror (errsv));
      goto fail;
    }

  if (fstat (fd, &st) < 0)
    {
      errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _ ("%s: fstat failed (%s)"), tmp_path, g_strerror (errsv));
      goto fail;
    }

  if (rename (tmp_path, path) < 0)
    {
      errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _ ("failed to rename “%s” to “%s” (%s)"), tmp_path, path,
                   g_strerror (errsv));
      goto fail;
    }

  self = g_object_new (UC_TYPE_PIDFILE, NULL);
  self->path = g_strdup (path);
  self->fd = g_steal_fd (&fd);
  self->pid = getpid ();
  self->dev = st.st_dev;
  self->ino = st.st_ino;
  held_pidfiles = g_slist_prepend (held_pidfiles, self);

  g_debug ("%s: created for pid %ld", path, (long) getpid ());
  return g_steal_pointer (&self);

fail:
  unlink (tmp_path);
  return NULL;
}

/**
 * uc_pidfile_get_path:
 * @self: a #UcPidfile
 *
 * The path the pidfile was created at.
 *
 * Returns: (transfer none): the path
 */
const char *
uc_pidfile_get_path (UcPidfile *self)
{
  g_return_val_if_fail (UC_IS_PIDFILE (self), NULL);

  return self->path;
}

/**
 * uc_pidfile_release:
 * @self: a #UcPidfile
 *
 * Removes the pidfile and drops its lock.  The file is removed only if it
 * is still the one this process created: another daemon started with
 * `--overwrite-pidfile` may have replaced it, and its pidfile stays; and
 * only by the process that created it, not by a forked child.
 * Releasing twice does nothing; finalizing @self releases it.
 */
void
uc_pidfile_release (UcPidfile *self)
{
  struct stat st;

  g_return_if_fail (UC_IS_PIDFILE (self));

  if (self->fd < 0)
    return;

  /* Unlink before closing, while the lock still tells readers the file is
   * live rather than stale.  A forked child never held the lock, so the
   * file is not its to remove. */
  if (self->pid == getpid () && stat (self->path, &st) == 0 &&
      st.st_dev == self->dev && st.st_ino == self->ino)
    {
      if (unlink (self->path) < 0)
        g_message ("%s: cannot remove pidfile: %s", self->path,
                   g_strerror (errno));
    }

  held_pidfiles = g_slist_remove (held_pidfiles, self);
  close (self->fd);
  self->fd = -1;
}

/**
 * uc_pidfile_read:
 * @path: a pidfile's path
 * @pid: (out): return location for the pid of the daemon holding it
 * @error: return location for a #GError
 *
 * Reads the pid of the live daemon that holds @path, with the checks of
 * Open vSwitch's read_pidfile(): the file must be locked, and by the pid
 * written in it.  A pidfile held by this process reads as getpid()
 * without being opened (opening and closing it would drop the lock).
 *
 * On failure the error's message is exactly g_strerror() of the errno
 * value, and its code is g_io_error_from_errno() of it, so that callers
 * can print `cannot read pidfile "PATH" (MESSAGE)` as ovs-appctl does: a
 * missing file is `No such file or directory`, a stale one (not locked,
 * or locked by another pid than the one written in it, or holding no
 * number) `No such process`.
 *
 * Returns: %TRUE with @pid set, or %FALSE with @error set
 */
gboolean
uc_pidfile_read (const char *path, GPid *pid, GError **error)
{
  pid_t result;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (pid != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  result = read_pidfile (path, FALSE);
  if (result < 0)
    {
      set_errno_error (error, -result);
      return FALSE;
    }

  *pid = result;
  return TRUE;
}

static void
uc_pidfile_finalize (GObject *object)
{
  UcPidfile *self = UC_PIDFILE (object);

  uc_pidfile_release (self);
  g_clear_pointer (&self->path, g_free);

  G_OBJECT_CLASS (uc_pidfile_parent_class)->finalize (object);
}

static void
uc_pidfile_class_init (UcPidfileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = uc_pidfile_finalize;
}

static void
uc_pidfile_init (UcPidfile *self)
{
  self->fd = -1;
}
