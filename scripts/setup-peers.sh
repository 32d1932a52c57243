#!/usr/bin/env bash
# Installs the Python reference systems that `make bench` compares against (snorkel 0.10,
# snorkel-metal 0.5, hyperlm, flyingsquid, sentence-transformers; pinned in
# bench/requirements-peers.txt) into a virtual environment in the per-user cache, once; later calls
# reuse it. torch 2.13 comes from the libtorch environment of scripts/setup-libtorch.sh (a .pth
# file puts its site-packages on the path), so it is not downloaded twice; the rest is about
# 1 GB. Prints the environment's python3 path.
#
#   METAL_CACHE   cache root (default: $XDG_CACHE_HOME/metal-rs or ~/.cache/metal-rs)
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${METAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metal-rs}"
venv="$cache/peers-venv"
requirements=bench/requirements-peers.txt
stamp="$venv/.installed"
digest="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  torch_python="$(scripts/setup-libtorch.sh)"
  torch_site="$("$torch_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  exec 9>"$cache/.peers-install.lock"
  flock 9
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "setup: installing the Python references ($requirements) into $venv (once; about 1 GB)" >&2
    [ -x "$venv/bin/python3" ] || python3 -m venv "$venv"
    site="$("$venv/bin/python3" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$torch_site" > "$site/metal-rs-torch.pth"
    rm -f "$stamp"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    "$venv/bin/python3" -c 'import torch, snorkel, metal, hyperlm, flyingsquid, sentence_transformers' >&2
    echo "$digest" > "$stamp"
  fi
fi
echo "$venv/bin/python3"
