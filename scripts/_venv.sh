# Shared by scripts/run and scripts/test: a Python 3.11+ virtual environment in .venv.
ensure_venv() {
  local python=${PYTHON:-python3}
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "Python 3.11 or newer is needed: install it (Debian: apt-get install python3 python3-venv)." >&2
    exit 1
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Python 3.11 or newer is needed; $python is $("$python" --version 2>&1)." >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv || {
      echo "Could not create a virtual environment (Debian: apt-get install python3-venv)." >&2
      exit 1
    }
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$1"
}
