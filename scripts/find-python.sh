#!/usr/bin/env bash
# Print a working interpreter for Python X.Y (e.g. 3.10): on PATH, else in pyenv's versions.
# pyenv's shim for a version that is installed but not selected fails, so it is tried, not trusted.
set -u
want=$1
if command -v "python$want" >/dev/null 2>&1 && "python$want" -c 'import sys' >/dev/null 2>&1; then
  command -v "python$want"; exit 0
fi
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for candidate in $(ls -d "$root"/versions/"$want".*/bin/python"$want" 2>/dev/null | sort -V -r); do
  "$candidate" -c 'import sys' >/dev/null 2>&1 && { echo "$candidate"; exit 0; }
done
echo "Python $want is needed; install it (e.g. 'pyenv install $want') and retry." >&2
exit 1
