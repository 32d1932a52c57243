#!/usr/bin/env bash
# Installs libtorch 2.13 (the library behind `tch` 0.26) from the `torch==2.13.0` wheel on PyPI into
# a per-user cache folder, once; later calls reuse it. Prints the environment's python3 path.
#
#   scripts/setup-libtorch.sh                        install (once); print the python3 path
#   scripts/setup-libtorch.sh --cargo-config DIR     also write DIR/.cargo/config.toml, which tells
#                                                    cargo where libtorch is when it builds the
#                                                    crate in DIR (your own project) with `torch`
#
#   METAL_CACHE   cache root (default: $XDG_CACHE_HOME/metal-rs or ~/.cache/metal-rs)
set -euo pipefail

config_dir=""
if [ "${1:-}" = "--cargo-config" ]; then
  if [ -z "${2:-}" ]; then
    echo "setup-libtorch: --cargo-config needs the folder of your crate (where its Cargo.toml is)" >&2
    exit 2
  fi
  config_dir="$2"
  if [ ! -f "$config_dir/Cargo.toml" ]; then
    echo "setup-libtorch: no Cargo.toml in $config_dir; give the folder of your crate" >&2
    exit 2
  fi
elif [ -n "${1:-}" ]; then
  echo "setup-libtorch: unknown argument '$1' (usage: setup-libtorch.sh [--cargo-config DIR])" >&2
  exit 2
fi

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

if [ -n "$config_dir" ]; then
  torch=$(ls -d "$venv"/lib/python3*/site-packages/torch | head -n 1)
  config="$config_dir/.cargo/config.toml"
  marker="# Written by snorkel-metal-rs's scripts/setup-libtorch.sh"
  if [ -f "$config" ] && ! head -n 1 "$config" | grep -qF "$marker"; then
    echo "setup-libtorch: $config exists and was not written by this script; add these lines to it:" >&2
    printf '[env]\nLIBTORCH = "%s"\n\n[build]\nrustflags = ["-C", "link-arg=-Wl,-rpath,%s/lib"]\n' "$torch" "$torch" >&2
    exit 1
  fi
  mkdir -p "$config_dir/.cargo"
  tmp="$config.tmp.$$"
  cat > "$tmp" <<TOML
$marker: where libtorch 2.13 is, for the
# \`torch\` feature of metal-runtime. LIBTORCH is read by torch-sys when it builds; the run path
# lets the binaries find libtorch at run time without LD_LIBRARY_PATH. (A RUSTFLAGS variable in
# the environment replaces build.rustflags; add the link argument to it then.)
[env]
LIBTORCH = "$torch"

[build]
rustflags = ["-C", "link-arg=-Wl,-rpath,$torch/lib"]
TOML
  mv "$tmp" "$config"
  echo "setup: wrote $config" >&2
fi
echo "$venv/bin/python3"
