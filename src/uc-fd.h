/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * UcFd:
 *
 * A file descriptor that closes itself when it goes out of scope:
 * `g_auto (UcFd) fd = -1;`, handed off with g_steal_fd().  (GLib's own
 * `g_autofd` arrives in 2.76, past our version fence.)
 */
typedef int UcFd;

/* clang-format off */
void     uc_fd_clear      (UcFd       *fd);
gboolean uc_fd_write_all  (int         fd,
                           const void *data,
                           gsize       length);
gboolean uc_fd_pwrite_all (int         fd,
                           const void *data,
                           gsize       length,
                           guint64     offset,
                           gsize      *n_written);
/* clang-format on */

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (UcFd, uc_fd_clear)

G_END_DECLS
