#!/usr/bin/env bash
# Builds and runs the starter project (examples/starter) the way a user's own crate is built: copied
# to a temporary folder outside this repository, its dependency pointed at this checkout, libtorch
# found through the .cargo/config.toml that scripts/setup-libtorch.sh writes. Run by `make test`.
#
#   STARTER_TARGET   cargo's target folder for it (default: target/starter in this checkout, so
#                    that a second run reuses the first build)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp -r "$repo/examples/starter/Cargo.toml" "$repo/examples/starter/Cargo.lock" "$repo/examples/starter/src" "$work/"
# The one line a user changes: where the library is.
sed -i "s|^metal-runtime = { path = \"../../metal-runtime\"|metal-runtime = { path = \"$repo/metal-runtime\"|" "$work/Cargo.toml"
grep -qF "path = \"$repo/metal-runtime\"" "$work/Cargo.toml" || { echo "test-starter: could not point Cargo.toml at $repo" >&2; exit 1; }
"$repo/scripts/setup-libtorch.sh" --cargo-config "$work" > /dev/null

export CARGO_TARGET_DIR="${STARTER_TARGET:-$repo/target/starter}"
cd "$work"
start=$(date +%s)
cargo build --release --locked --features torch
echo "starter: built in $(( $(date +%s) - start )) s in $work (target folder $CARGO_TARGET_DIR)" >&2
out="$(cargo run --release --locked --quiet --features torch -- "$repo/examples/data/trec" 2> "$work/stderr.txt")" || {
  cat "$work/stderr.txt" >&2
  exit 1
}
echo "$out"
# What the run must have printed: the LF summary, the label model's and the end model's scores.
for want in "LF summary: 7 LFs on 4952 items" "label model, test accuracy: 0." "end model, test accuracy: 0."; do
  grep -qF "$want" <<< "$out" || { echo "test-starter: the starter's output lacks '$want'" >&2; exit 1; }
done
echo "starter: ok" >&2
