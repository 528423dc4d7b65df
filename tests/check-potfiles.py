#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that po/POTFILES.in lists exactly the files of src/ that hold
translatable strings, sorted and once each.

A file with marked strings that is missing from POTFILES.in has its
messages left out of the template, so never translated; a listed file
without any costs nothing but says something false.  Usage:
check-potfiles.py SOURCE_ROOT
"""

import pathlib
import re
import sys

# The gettext calls of <glib/gi18n.h> and the glib preset of meson's
# i18n module, as the sources spell them ("_ (" after clang-format).
MARKER = re.compile(
    r"(?<![A-Za-z0-9_])"
    r"(?:_|N_|C_|NC_|Q_|g_dngettext|g_dpgettext2|ngettext|dngettext)"
    r"\s*\("
)

# Comments, string literals and character literals, removed before
# looking for markers: a comment may well say "_ (".
NOISE = re.compile(
    r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'",
    re.DOTALL,
)


def marked_files(root):
    found = []
    for path in sorted((root / "src").glob("*.[ch]")):
        code = NOISE.sub(" ", path.read_text(encoding="utf-8"))
        if MARKER.search(code):
            found.append(path.relative_to(root).as_posix())
    return found


def listed_files(root):
    listed = []
    text = (root / "po" / "POTFILES.in").read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            listed.append(line)
    return listed


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = pathlib.Path(sys.argv[1])
    marked = marked_files(root)
    listed = listed_files(root)
    problems = []

    for name in marked:
        if name not in listed:
            problems.append(f"{name} has translatable strings but is not in "
                            "po/POTFILES.in")
    for name in listed:
        if not (root / name).is_file():
            problems.append(f"po/POTFILES.in lists {name}, which does not "
                            "exist")
        elif name.startswith("src/") and name not in marked:
            problems.append(f"po/POTFILES.in lists {name}, which has no "
                            "translatable strings")
    duplicates = sorted({name for name in listed if listed.count(name) > 1})
    for name in duplicates:
        problems.append(f"po/POTFILES.in lists {name} more than once")
    if listed != sorted(listed):
        problems.append("po/POTFILES.in is not sorted")

    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"po/POTFILES.in lists the {len(marked)} files with "
              "translatable strings")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
