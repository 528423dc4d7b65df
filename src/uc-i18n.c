/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* It logs nothing, so it is no vlog module and has no log domain. */

#include "config.h"

#include "uc-i18n.h"

#include <glib/gi18n.h>
#include <stdlib.h>

/**
 * uc_i18n_init:
 *
 * Binds the programs' message catalog: gettext() then looks up our texts
 * in `$UNIXCTLD_LOCALEDIR`, or else in the installed `LOCALEDIR`, and
 * returns them in UTF-8.  Each program calls setlocale() first, for the
 * categories it uses.
 *
 * `$UNIXCTLD_LOCALEDIR` points at catalogs that are not installed, such as
 * the build tree's (the tests use it).  A privileged process ignores it
 * (secure_getenv()): a catalog supplies format strings.
 */
void
uc_i18n_init (void)
{
  const char *localedir = secure_getenv ("UNIXCTLD_LOCALEDIR");

  if (localedir == NULL || *localedir == '\0')
    localedir = LOCALEDIR;
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}
