//! Mutation fuzzing of every loader, on the stable toolchain: valid seed files from `tests/data`
//! are mutated at random (bit flips, boundary bytes, deleted, repeated and truncated ranges,
//! numbers replaced by extreme ones) and handed to the loader, which must return `Ok` or an error
//! that names the file, never panic, and never quote more than a bounded part of the input.
//!
//! Each loader runs `FUZZ_ITERS` inputs (default 300: the bounded run of `make test`); `make
//! fuzz` runs a long one under a memory limit, so that an allocation sized by the input aborts
//! instead of passing unnoticed. `FUZZ_SEED` changes the inputs. An input that panics is written
//! to `target/fuzz-findings/` and fails the test.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use metal_runtime::io::{npy, synthetic::Problem, wrench};
use metal_runtime::label_matrix::LfInfo;
use metal_runtime::schema::TaskGraph;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel)
}

fn iterations() -> usize {
    std::env::var("FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Text that replaces a number of a text file: the boundaries loaders must check.
const EXTREME_NUMBERS: [&str; 10] =
    ["0", "-1", "65536", "4294967296", "18446744073709551615", "-9223372036854775809", "1e308", "NaN", "0.5", "1e-300"];

/// Bytes that mean something to the formats read here.
const BOUNDARY_BYTES: [u8; 14] = [0, 0xff, 0x7f, 0x80, b'9', b'(', b')', b'[', b']', b'{', b'"', b'-', b'\n', b','];

/// One to four random mutations of `seed`.
fn mutate(seed: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        if b.is_empty() {
            b.push(BOUNDARY_BYTES[rng.gen_range(0..BOUNDARY_BYTES.len())]);
            continue;
        }
        let i = rng.gen_range(0..b.len());
        match rng.gen_range(0..7) {
            0 => b[i] ^= 1 << rng.gen_range(0..8),
            1 => b[i] = BOUNDARY_BYTES[rng.gen_range(0..BOUNDARY_BYTES.len())],
            2 => {
                let end = (i + rng.gen_range(1..64)).min(b.len());
                b.drain(i..end);
            }
            3 => {
                let end = (i + rng.gen_range(1..64)).min(b.len());
                let copy = b[i..end].to_vec();
                for _ in 0..rng.gen_range(1..50) {
                    b.splice(i..i, copy.iter().copied());
                }
            }
            4 => b.truncate(i),
            5 => {
                // A number of the text: the digits around position i.
                let is_num = |c: u8| c.is_ascii_digit() || c == b'-' || c == b'.';
                let (mut s, mut e) = (i, i);
                while s > 0 && is_num(b[s - 1]) {
                    s -= 1;
                }
                while e < b.len() && is_num(b[e]) {
                    e += 1;
                }
                let with = EXTREME_NUMBERS[rng.gen_range(0..EXTREME_NUMBERS.len())].as_bytes();
                b.splice(s..e, with.iter().copied());
            }
            _ => {
                let j = rng.gen_range(0..b.len());
                b.swap(i, j);
            }
        }
    }
    b
}

/// Runs `iterations()` mutations of the seed files: `files` are (name, seed bytes) written into a
/// fresh folder, of which the one named `target` is mutated; `load` reads the folder. Returns how
/// many inputs were tried and how many the loader accepted.
fn fuzz(
    name: &str,
    files: &[(&str, Vec<u8>)],
    target: &str,
    load: impl Fn(&Path) -> Result<(), String>,
) -> (usize, usize) {
    let mut rng =
        Xoshiro256PlusPlus::seed_from_u64(seed() ^ name.bytes().fold(0u64, |h, b| h.wrapping_mul(31) + u64::from(b)));
    let dir = tempfile::tempdir().unwrap();
    let seed_bytes = &files.iter().find(|(f, _)| *f == target).unwrap().1;
    let (mut accepted, mut findings) = (0, Vec::new());
    let n = iterations();
    for case in 0..n {
        for (f, bytes) in files {
            std::fs::write(dir.path().join(f), bytes).unwrap();
        }
        let input = mutate(seed_bytes, &mut rng);
        std::fs::write(dir.path().join(target), &input).unwrap();
        match catch_unwind(AssertUnwindSafe(|| load(dir.path()))) {
            Ok(Ok(())) => accepted += 1,
            Ok(Err(message)) => {
                let dir_name = dir.path().to_string_lossy();
                assert!(message.contains(&*dir_name), "{name} case {case}: the error names no file: {message}");
                assert!(message.len() < 1_500, "{name} case {case}: {} characters of error: {message}", message.len());
            }
            Err(_) => findings.push((case, input)),
        }
    }
    if !findings.is_empty() {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-findings");
        std::fs::create_dir_all(&out).unwrap();
        for (case, input) in &findings {
            std::fs::write(out.join(format!("{name}-{case}-{target}")), input).unwrap();
        }
        panic!("{name}: {} of {n} inputs panicked; written to {}", findings.len(), out.display());
    }
    eprintln!("fuzz {name}: {n} inputs, {accepted} accepted, {} refused with an error, 0 panics", n - accepted);
    (n, accepted)
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn npy_label_matrix() {
    let problem = Problem::load(data("synthetic/flat")).unwrap();
    let (graph, lfs): (Arc<TaskGraph>, Vec<LfInfo>) = (problem.train.graph_arc().clone(), problem.train.lfs().to_vec());
    let seed = read(data("synthetic/flat/L_train.npy"));
    fuzz("npy-label-matrix", &[("L.npy", seed)], "L.npy", |dir| {
        npy::read_label_matrix(dir.join("L.npy"), graph.clone(), lfs.clone()).map(drop).map_err(|e| e.to_string())
    });
}

#[test]
fn npy_vectors_and_probabilities() {
    let seed = read(data("synthetic/flat/Y_train.npy"));
    fuzz("npy-labels", &[("Y.npy", seed.clone())], "Y.npy", |dir| {
        npy::read_labels_1d(dir.join("Y.npy")).map(drop).map_err(|e| e.to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let probs = ndarray::Array2::from_shape_fn((20, 3), |(i, j)| ((i + j) % 3) as f64 / 3.0);
    npy::write_probs(dir.path().join("p.npy"), probs.view()).unwrap();
    fuzz("npy-probs", &[("p.npy", read(dir.path().join("p.npy")))], "p.npy", |dir| {
        npy::read_probs(dir.join("p.npy")).map(drop).map_err(|e| e.to_string())
    });
}

fn problem_files(rel: &str) -> Vec<(&'static str, Vec<u8>)> {
    ["schema.json", "L_train.npy", "Y_train.npy", "L_test.npy", "Y_test.npy"]
        .into_iter()
        .filter(|f| data(rel).join(f).exists())
        .map(|f| (f, read(data(rel).join(f))))
        .collect()
}

#[test]
fn synthetic_problem_schema() {
    for rel in ["synthetic/flat", "synthetic/tree"] {
        let files = problem_files(rel);
        fuzz(&format!("schema-{}", rel.replace('/', "-")), &files, "schema.json", |dir| {
            Problem::load(dir).map(drop).map_err(|e| e.to_string())
        });
    }
}

#[test]
fn synthetic_problem_matrices() {
    let files = problem_files("synthetic/tree");
    fuzz("problem-l-train", &files, "L_train.npy", |dir| Problem::load(dir).map(drop).map_err(|e| e.to_string()));
}

#[test]
fn wrench_json_lines() {
    let src = data("wrench/youtube");
    let head = |f: &str, n: usize| -> Vec<u8> {
        let text = std::fs::read_to_string(src.join(f)).unwrap();
        text.lines().take(n).flat_map(|l| l.bytes().chain([b'\n'])).collect()
    };
    let files = vec![
        ("source_label.json", read(src.join("source_label.json"))),
        ("train.jsonl", head("train.jsonl", 30)),
        ("valid.jsonl", head("valid.jsonl", 10)),
        ("test.jsonl", head("test.jsonl", 10)),
    ];
    for target in ["train.jsonl", "source_label.json"] {
        fuzz(&format!("wrench-{target}"), &files, target, |dir| {
            wrench::Dataset::load(dir).map(drop).map_err(|e| e.to_string())
        });
    }
}

#[cfg(feature = "torch")]
#[test]
fn end_model_files() {
    use metal_runtime::end_model::{EndModel, EndModelConfig, InputConfig};
    let graph = Arc::new(TaskGraph::flat("y", ["a", "b", "c"]).unwrap());
    let config = EndModelConfig { input: InputConfig::BagOfWords { dim: 8 }, layers: vec![4], ..Default::default() };
    let model = EndModel::new(graph, 30, config).unwrap();
    let saved = tempfile::tempdir().unwrap();
    let saved = saved.path().join("model");
    model.save(&saved).unwrap();
    let json = read(saved.join("model.json"));
    let weights = read(saved.join("weights.safetensors"));
    let load = |dir: &Path| EndModel::load(dir, tch::Device::Cpu).map(drop).map_err(|e| e.to_string());
    fuzz(
        "end-model-json",
        &[("model.json", json.clone()), ("weights.safetensors", weights.clone())],
        "model.json",
        load,
    );
    // Without the weights' hash in model.json, so that mutated weights reach the tensor checks.
    let mut unhashed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    unhashed.as_object_mut().unwrap().remove("weights_sha256").unwrap();
    let unhashed = serde_json::to_vec(&unhashed).unwrap();
    fuzz(
        "end-model-weights",
        &[("model.json", unhashed), ("weights.safetensors", weights)],
        "weights.safetensors",
        load,
    );
}
