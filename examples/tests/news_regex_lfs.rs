//! The fifteen regular-expression LFs of the LF-application benchmark give snorkel's label
//! matrix on the Reuters-21578 training split, applied in memory, streamed item by item, or
//! parsed in the parallel chunks.

use std::path::PathBuf;

use metal_examples::news::regex_lfs::{self, Story};
use metal_runtime::io::items::{self, JsonLines};
use metal_runtime::io::npy;
use metal_runtime::prelude::*;

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/reuters21578").join(file)
}

#[test]
fn the_port_gives_snorkels_matrix_in_memory_and_streamed() {
    let reference = npy::read_int_2d(data("snorkel_regex_lfs_L_train.npy")).unwrap();
    let set = regex_lfs::all_lfs();
    let config = ApplyConfig { progress: false, threads: Some(2), chunk_size: 100, ..ApplyConfig::default() };

    let stories: Vec<Story> = items::read_jsonl(data("train.jsonl")).unwrap();
    let (in_memory, _) = set.apply_prepared(&stories, regex_lfs::prepare, &config).unwrap();
    assert_eq!(in_memory.to_dense().mapv(i64::from), reference);
    assert_eq!(in_memory.n_votes(), reference.iter().filter(|&&v| v >= 0).count());

    let one_by_one = items::iter_jsonl::<Story>(data("train.jsonl")).unwrap();
    let (streamed, _) = set.try_apply_iter_prepared(one_by_one, regex_lfs::prepare, &config).unwrap();
    assert_eq!(streamed, in_memory);

    let source = JsonLines::open(data("train.jsonl")).unwrap();
    let (parsed_in_chunks, report) = set.apply_jsonl_prepared(source, regex_lfs::prepare, &config).unwrap();
    assert_eq!(parsed_in_chunks, in_memory);
    assert_eq!(report.n_items, 6722);

    let sequential = ApplyConfig { sequential: true, ..config };
    let source = JsonLines::open(data("train.jsonl")).unwrap();
    assert_eq!(set.apply_jsonl_prepared(source, regex_lfs::prepare, &sequential).unwrap().0, in_memory);
}
