/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-floor-server: the I/O of a control server and nothing else.
 *
 * bench-server measures this beside unixctld and ovsdb-server, to show
 * how much of a sequential request's cost is the kernel's: the wake-ups,
 * the context switches and the two system calls that any server of a
 * poll() loop makes per request.  It serves one connection at a time with
 * the same system calls as unixctld's steady state (poll, recv, send, and
 * a recv ahead after each reply), and answers every object it receives
 * with one canned reply, without parsing, allocating or dispatching.  No
 * real server can be faster than this on the same machine, so its rate
 * over ovsdb-server's is the best ratio there is to be had.
 *
 * Plain POSIX on purpose: any library code would be work the floor must
 * not do.
 *
 * Usage: bench-floor-server SOCKET
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_SIZE 65536

static const char reply[] =
  "{\"id\":0,\"result\":\"unixctld\\n\",\"error\":null}";

/* Counts the objects that @data completes, tracking the nesting across
 * reads in @depth.  Requests carry no braces inside strings here. */
static unsigned
count_objects (const char *data, size_t len, int *depth)
{
  unsigned n = 0;

  for (size_t i = 0; i < len; i++)
    {
      if (data[i] == '{')
        ++*depth;
      else if (data[i] == '}' && --*depth == 0)
        n++;
    }
  return n;
}

/* Reads and answers until the peer closes or nothing is left to read. */
static int
serve (int fd, int *depth)
{
  static char buffer[READ_SIZE];

  for (;;)
    {
      ssize_t n = recv (fd, buffer, sizeof buffer, MSG_DONTWAIT);
      unsigned objects;

      if (n == 0)
        return -1;
      if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
      objects = count_objects (buffer, (size_t) n, depth);
      while (objects-- > 0)
        if (send (fd, reply, sizeof reply - 1, MSG_NOSIGNAL) < 0)
          return -1;
    }
}

int
main (int argc, char **argv)
{
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  struct pollfd fds[2];
  int depth = 0;

  if (argc != 2 || strlen (argv[1]) >= sizeof address.sun_path)
    {
      fprintf (stderr, "usage: %s SOCKET\n", argv[0]);
      return 2;
    }
  strcpy (address.sun_path, argv[1]);

  fds[0].fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  fds[0].events = POLLIN;
  unlink (argv[1]);
  if (fds[0].fd < 0 ||
      bind (fds[0].fd, (struct sockaddr *) &address, sizeof address) < 0 ||
      listen (fds[0].fd, 16) < 0)
    {
      perror (argv[1]);
      return 1;
    }
  fds[1].fd = -1;
  fds[1].events = POLLIN;

  for (;;)
    {
      if (poll (fds, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          perror ("poll");
          return 1;
        }
      if (fds[1].fd >= 0 && fds[1].revents != 0 &&
          serve (fds[1].fd, &depth) < 0)
        {
          close (fds[1].fd);
          fds[1].fd = -1;
        }
      if ((fds[0].revents & POLLIN) != 0)
        {
          int fd = accept4 (fds[0].fd, NULL, NULL, SOCK_CLOEXEC);

          /* One connection at a time: a new one replaces the old. */
          if (fd >= 0)
            {
              if (fds[1].fd >= 0)
                close (fds[1].fd);
              fds[1].fd = fd;
              depth = 0;
            }
        }
    }
}
