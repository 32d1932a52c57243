# Entry points. Every target installs what it needs on first use (libtorch: scripts/setup-libtorch.sh).
#   make demo    the main job: the news pipeline on Reuters-21578, quick mode (Tables 1-3); the
#                end model reads all-MiniLM-L6-v2's token states (installed once by setup-models.sh)
#   make test    everything CI checks: formatting, clippy, unit/integration/compile-fail/snapshot
#                tests, the starter project built and run from a folder outside the repository, and
#                the Python package (metal-py) installed with pip and its pytest suite
#   make build   release binaries under target/release/
#   make bench   benchmarks, one JSON line per measurement
#   make scale-demo  the news LFs on a Ballista cluster of 2 local executors (one JSON line)

CARGO := scripts/with-torch cargo

.PHONY: demo test build bench fmt models starter python fuzz scale-demo

demo:
	scripts/setup-models.sh > /dev/null
	$(CARGO) run --release --quiet -p metal-examples --features torch --bin news -- --quick

test:
	cargo fmt --all -- --check
	cd examples/starter && cargo fmt -- --check
	scripts/setup-models.sh > /dev/null
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	CI=true INSTA_UPDATE=no $(CARGO) test --workspace --all-features
	scripts/test-starter.sh
	scripts/test-python.sh

build:
	$(CARGO) build --release --workspace --all-features --bins
	# The label-model tool needs no libtorch: rebuild it without, so it does not load it.
	$(CARGO) build --release -p metal-cli

# The build's own output goes to standard error, so standard output holds only the JSON lines.
bench:
	@$(MAKE) --no-print-directory build >&2
	@bench/run.sh

fmt:
	cargo fmt --all
	cd examples/starter && cargo fmt

# A long run of the loaders' mutation fuzzer (metal-runtime/tests/fuzz.rs; `make test` runs 300
# inputs per loader), under an 8 GB address-space limit so that an allocation sized by the input
# fails the run. FUZZ_ITERS and FUZZ_SEED override the length and the inputs.
FUZZ_ITERS ?= 100000
fuzz:
	ulimit -v 8000000 && FUZZ_ITERS=$(FUZZ_ITERS) $(CARGO) test --release -p metal-runtime --features torch --test fuzz -- --nocapture

# The starter project (examples/starter), built and run as a user's own crate; `make test` runs it.
starter:
	scripts/test-starter.sh

# The Python package (metal-py) installed into a virtual environment in the user cache with
# `pip install ./metal-py`, and its pytest suite; `make test` runs it.
python:
	scripts/test-python.sh

# The pretrained text encoder (all-MiniLM-L6-v2) in the user cache; the targets that need it run this.
models:
	scripts/setup-models.sh

# The news LFs on a Ballista cluster on this machine: a seeded table of ROWS news-like rows in
# Parquet (written once under target/scale-demo/), a scheduler and EXECUTORS executors, each a
# process of the `scale-demo` binary; the job (pattern counts, the default label model, every
# row's probabilities) on the cluster and in this process. Prints one JSON line.
ROWS ?= 2000000
EXECUTORS ?= 2
scale-demo:
	cargo run --release --quiet -p metal-examples --features cluster --bin scale-demo -- demo --rows $(ROWS) --executors $(EXECUTORS)
