#!/bin/sh
# Installs the pinned Python guest toolchain (componentize-py, see
# requirements.txt beside this script) into a virtual environment, never
# into the system's Python.
#
#   guests/python/install-toolchain.sh [VENV]    # default build/toolchains/python
#
# componentize-py bundles its own CPython for the component; the Python that
# runs it (PYTHON, default python3) must be 3.11 or later, because the
# generated bindings, which the SDK's unit tests import natively, need it.
set -eu

venv=${1:-build/toolchains/python}
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: $python is missing or older than 3.11; set PYTHON to a Python 3.11+" >&2
    exit 1
fi
if [ ! -x "$venv/bin/pip" ]; then
    "$python" -m venv "$venv" || {
        echo "error: '$python -m venv' failed; install the venv module (Debian: python3-venv)" >&2
        exit 1
    }
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
