#!/bin/sh
# ensure-venv.sh VENV [PYTHON]: make VENV a virtualenv of a Python 3.11 or newer.
# Without PYTHON, the first of python3.11, python3.12, python3.13, python3 that runs and is new enough.
# A VENV made by an older Python (or one whose Python no longer runs) is replaced, not reused:
# `python -m venv` over an existing one keeps its old interpreter.
set -eu
VENV=$1
PYTHON=${2:-}

# Exits 0 for a Python 3.11 or newer (a command, not a function: set -e stays meaningful in conditions).
NEW_ENOUGH='import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'

if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if "$candidate" -c "$NEW_ENOUGH" >/dev/null 2>&1; then
      PYTHON=$candidate
      break
    fi
  done
fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -c "$NEW_ENOUGH" >/dev/null 2>&1; then
  found=$("${PYTHON:-python3}" -V 2>/dev/null || echo "missing or too old")
  echo "msk-pair needs Python 3.11 or newer, and ${PYTHON:-python3} is $found:" \
    "install python3.11 (or newer), or run make PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ -e "$VENV" ] && ! "$VENV/bin/python" -c "$NEW_ENOUGH" >/dev/null 2>&1; then
  made_by=$("$VENV/bin/python" -V 2>/dev/null || echo "a Python that no longer runs")
  echo "replacing $VENV: it was made by $made_by, and msk-pair needs Python 3.11 or newer"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  version=$("$PYTHON" -V 2>&1)
  echo "creating $VENV with $version ($PYTHON)"
  "$PYTHON" -m venv "$VENV"
fi
