#!/usr/bin/env bash
# Installs libtorch 2.13 (the library behind `tch` 0.26) from the `torch==2.13.0` wheel on PyPI into
# a per-user cache folder, once; later calls reuse it. Prints the environment's python3 path.
#
#   METAL_CACHE   cache root (default: $XDG_CACHE_HOME/metal-rs or ~/.cache/metal-rs)
set -euo pipefail

cache="${METAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metal-rs}"
venv="$cache/torch-2.13.0"
stamp="$venv/.installed"

if [ ! -f "$stamp" ]; then
  echo "setup: installing torch==2.13.0 (libtorch) into $venv (once; about 4.7 GB)" >&2
  mkdir -p "$cache"
  # One installer at a time: a second caller waits for the first.
  exec 9>"$cache/.torch-install.lock"
  flock 9
  if [ ! -f "$stamp" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir torch==2.13.0 >&2
    "$venv/bin/python3" -c 'import torch, os; assert os.path.isdir(os.path.join(os.path.dirname(torch.__file__), "lib"))'
    touch "$stamp"
  fi
fi
echo "$venv/bin/python3"
