/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "uc-fd.h"

#include <errno.h>
#include <unistd.h>

/**
 * uc_fd_clear:
 * @fd: a descriptor, or -1
 *
 * Closes *@fd if it is open and sets it to -1.  The cleanup of #UcFd.
 */
void
uc_fd_clear (UcFd *fd)
{
  int errsv = errno;

  if (*fd >= 0)
    close (*fd);
  *fd = -1;
  /* A cleanup runs between a failing call and the caller's look at errno. */
  errno = errsv;
}

/**
 * uc_fd_write_all:
 * @fd: a blocking descriptor
 * @data: (array length=length): the bytes to write
 * @length: how many
 *
 * Writes all of @data, retrying short writes and EINTR.  For the few
 * small writes that may block by design (a pidfile, the detach pipe);
 * never for sockets served by the main loop.
 *
 * Returns: %TRUE on success; %FALSE with errno set otherwise
 */
gboolean
uc_fd_write_all (int fd, const void *data, gsize length)
{
  const char *p = data;

  while (length > 0)
    {
      ssize_t n = write (fd, p, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      p += n;
      length -= (gsize) n;
    }
  return TRUE;
}

/**
 * uc_fd_pwrite_all:
 * @fd: a descriptor open for writing (not with `O_APPEND`, which Linux
 *   lets override the offset)
 * @data: (array length=length): the bytes to write
 * @length: how many
 * @offset: where in the file @data goes
 * @n_written: (out) (optional): how many bytes were written, also on
 *   failure
 *
 * Writes all of @data at @offset with pwrite(), retrying short writes and
 * EINTR.  Writing the same bytes at the same offset twice leaves the file
 * as once, which is what makes the log file's appends safe to replay.
 *
 * Returns: %TRUE on success; %FALSE with errno set otherwise (EIO if
 *   the file took no bytes)
 */
gboolean
uc_fd_pwrite_all (int fd,
                  const void *data,
                  gsize length,
                  guint64 offset,
                  gsize *n_written)
{
  const char *p = data;
  gsize done = 0;
  gboolean ok = TRUE;

  while (done < length)
    {
      ssize_t n = pwrite (fd, p + done, length - done, (off_t) (offset + done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          ok = FALSE;
          break;
        }
      done += (gsize) n;
    }
  if (n_written != NULL)
    *n_written = done;
  return ok;
}
