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
