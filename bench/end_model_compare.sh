#!/usr/bin/env bash
# End model, ours against snorkel-metal 0.5's MTEndModel, interleaved: for each repeat, every
# configuration of ours, then every configuration of the reference, so that both see the same
# machine. One JSON line per measurement on standard output; report the best of the repeats.
#   bench/end_model_compare.sh [EPOCHS] [REPEATS]     (defaults: 5 epochs, 3 repeats)
# Needs target/release/bench-end-model (make build) and snorkel-metal 0.5 in
# $cache/peers-venv (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-5}"
repeats="${2:-3}"
cache="${METAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metal-rs}"
peers="$cache/peers-venv/bin/python3"
for _ in $(seq "$repeats"); do
  for n in 1000 6722; do
    for arch in single flat hier; do
      target/release/bench-end-model --n "$n" --arch "$arch" --input bag_of_words --epochs "$epochs"
    done
    for arch in single flat hier; do
      "$peers" bench/end_model_reference.py --n "$n" --arch "$arch" --epochs "$epochs"
    done
  done
done
