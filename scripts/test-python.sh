#!/usr/bin/env bash
# The Python package's tests (metal-py): installs it with `pip install ./metal-py` into a virtual
# environment in the user cache, as a user would, and runs its pytest suite. Run by `make test`.
#
#   METAL_CACHE      cache root (default: $XDG_CACHE_HOME/metal-rs or ~/.cache/metal-rs)
#   PYTHON           the interpreter to build the environment from (default: python3)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${METAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metal-rs}"
venv="$cache/py-test-venv"
stamp="$venv/.deps-1"

# Test dependencies, pinned; the package itself is built and installed again on every run, the
# way a user installs it (pip fetches maturin, its build backend, into an isolated build environment).
if [ ! -f "$stamp" ]; then
  echo "test-python: creating $venv" >&2
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "numpy==2.4.6" "scipy==1.17.1" "pandas==3.1.1" "pytest==9.2.0"
  touch "$stamp"
fi

# The command-line tool the equality tests compare with (no libtorch).
cargo build --release --quiet -p metal-cli
start=$(date +%s)
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$repo/metal-py"
echo "test-python: pip install ./metal-py took $(( $(date +%s) - start )) s" >&2
cd "$repo/metal-py"
METAL_BIN="$repo/target/release/metal" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests
