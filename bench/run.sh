#!/usr/bin/env bash
# `make bench`: the project's benchmarks, one JSON line per measurement on standard output.
#
# Synthetic problems are generated once with bench/gen_synthetic.py (numpy, installed into a
# virtual environment in the cache folder) under target/bench-problems/ and reused.
#   BENCH_MAX_N   largest n_train to generate and fit (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${METAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metal-rs}"
venv="$cache/bench-venv"
if [ ! -x "$venv/bin/python3" ] || ! "$venv/bin/python3" -c 'import numpy' 2>/dev/null; then
  echo "bench: installing numpy into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check numpy >&2
fi
# The Python reference systems (bench/requirements-peers.txt), installed once into
# $cache/peers-venv; without them (offline), their lines are skipped with a note.
if ! scripts/setup-peers.sh >/dev/null; then
  echo "bench: the Python references could not be installed into $cache/peers-venv; skipping their lines" >&2
fi
max_n="${BENCH_MAX_N:-1000000}"
problems=target/bench-problems
mkdir -p "$problems"

gen() {
  local name=$1 n=$2
  shift 2
  [ "$n" -le "$max_n" ] || return 1
  if [ ! -f "$problems/$name/schema.json" ]; then
    echo "bench: generating $name" >&2
    "$venv/bin/python3" bench/gen_synthetic.py "$problems/$name" --n-train "$n" --n-test 10000 --seed 0 "$@" >/dev/null
  fi
}

target/release/bench-apply

# Streamed LF application: the fifteen regex LFs on 10^5, 10^6 and 10^7 Reuters rows read from
# the training split's JSON-lines file (read again from its start as often as needed), each run in
# a process of its own for its peak memory, on 2 threads; snorkel's PandasLFApplier on the 10^5
# rows in the same run when the references' environment exists, and our 10^5-row matrix checked
# against its matrix.
peers="$cache/peers-venv/bin/python3"
check=()
if [ -x "$peers" ] && "$peers" -c 'import snorkel, pandas' 2>/dev/null; then
  "$peers" bench/lfapply_reference.py 100000 --matrix-out target/bench-problems/lfapply-snorkel-100000.npy
  check=(--check target/bench-problems/lfapply-snorkel-100000.npy)
else
  echo "bench: no snorkel in $cache/peers-venv; skipping the LF-application reference" >&2
fi
target/release/bench-lfapply --rows 100000 --threads 2 "${check[@]}"
for rows in 1000000 10000000; do
  target/release/bench-lfapply --rows "$rows" --threads 2
done

# The same LFs over a Parquet table of 10^6 articles read by DataFusion (written once under
# target/bench-problems; 735 MB): labeled in our thread pool as DataFusion reads it, and
# inside DataFusion as a scalar function with the vote patterns counted by GROUP BY, 2 threads or
# partitions each. Needs the `tables` feature (`make build`).
if [ -x target/release/bench-table ]; then
  table=target/bench-problems/reuters-1000000.parquet
  [ -f "$table" ] || target/release/bench-table --mode make --table "$table" --rows 1000000 >&2
  for mode in rayon counts; do
    target/release/bench-table --mode "$mode" --table "$table" --threads 2
  done
else
  echo "bench: target/release/bench-table is not built (make build); skipping the table benchmark" >&2
fi

# The same fifteen LFs over a seeded Parquet table of Reuters articles (written once under
# target/scale-demo/) at 10^6 rows (BENCH_TABLE_ROWS: more sizes, such as "1000000 10000000"):
# labeled in our thread pool, with the patterns counted by DataFusion in this process, and on a
# Ballista cluster of 2 local executor processes; 2 threads, partitions or executors of one task.
# Needs the `cluster` feature (`make build`).
if [ -x target/release/scale-demo ]; then
  for rows in ${BENCH_TABLE_ROWS:-1000000}; do
    for engine in rayon local cluster; do
      target/release/scale-demo --lfs regex15 bench --engine "$engine" --rows "$rows"
    done
  done
else
  echo "bench: target/release/scale-demo is not built (make build); skipping the cluster benchmark" >&2
fi

# Label quality on real LF votes: every model on the WRENCH suite and splits, the pipelines'
# matrices (exported once under target/bench-problems/pipelines) and generated problems.
if [ ! -f target/bench-problems/pipelines/trec/schema.json ]; then
  target/release/export-problems target/bench-problems/pipelines >&2
fi
target/release/bench-label-quality

for n in 10000 100000 1000000; do
  for spec in "flat_k4_m100 --shape flat --k 4 --lfs-per-task 100" "tree_4-3333_l5 --shape tree --spec 4:3,3,3,3 --lfs-per-task 5"; do
    set -- $spec
    name="${1}_n${n}"
    shift
    gen "$name" "$n" "$@" || continue
    for model in mv hyper-hier hyper mc hier hier-paper; do
      target/release/metal label-model --problem "$problems/$name" --model "$model" --seed 0
    done
  done
done

# The Python package against snorkel 0.10's LabelModel, in one Python process on the same
# 1,000,000 × 100 matrix (fit seconds and the peak memory each fit adds), on 1 and 2 threads; the
# package is installed into the references' environment from this checkout first.
flat=$problems/flat_k4_m100_n1000000
if [ -x "$peers" ] && "$peers" -c 'import snorkel' 2>/dev/null && [ -f "$flat/schema.json" ]; then
  "$cache/peers-venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps ./metal-py >&2
  for threads in 1 2; do
    "$peers" bench/python_label_model.py "$flat" --threads "$threads"
  done
else
  echo "bench: no snorkel in $cache/peers-venv (or no $flat); skipping the Python package against snorkel" >&2
fi

# End model: ours (the torch build, `make build`), then snorkel-metal 0.5's MTEndModel on the same
# features where its virtual environment exists.
if [ -x target/release/bench-end-model ]; then
  target/release/bench-end-model
else
  echo "bench: target/release/bench-end-model is not built (make build); skipping the end model" >&2
fi
# Sentence encoder: ours, then sentence-transformers on the same texts and thread count.
if [ -x target/release/bench-encoder ]; then
  scripts/setup-models.sh >/dev/null
  for threads in 1 2; do
    target/release/bench-encoder --threads "$threads" --texts-out target/bench-problems/encoder-texts
    if [ -x "$cache/peers-venv/bin/python3" ] && "$cache/peers-venv/bin/python3" -c 'import sentence_transformers' 2>/dev/null; then
      "$cache/peers-venv/bin/python3" bench/encoder_reference.py target/bench-problems/encoder-texts "$threads"
    else
      echo "bench: no sentence-transformers in $cache/peers-venv; skipping the encoder reference" >&2
    fi
  done
fi
if [ -x "$peers" ] && "$peers" -c 'import snorkel, hyperlm' 2>/dev/null; then
  "$peers" bench/label_quality_reference.py
else
  echo "bench: no snorkel and hyperlm in $cache/peers-venv; skipping the label-quality references" >&2
fi
if [ -x "$peers" ] && "$peers" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("metal") is None)' 2>/dev/null; then
  "$peers" bench/end_model_reference.py
else
  echo "bench: no snorkel-metal in $cache/peers-venv; skipping the end-model reference" >&2
fi
