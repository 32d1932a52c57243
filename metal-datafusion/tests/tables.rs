//! LFs over Parquet, CSV and JSON-lines tables give the label matrix of the same items in memory;
//! bad tables give errors that name the file and the row.

use std::path::Path;

use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{JsonReadOptions, SessionConfig, SessionContext};
use metal_datafusion::{
    apply_table, apply_table_prepared, decode_votes, encode_votes, pattern_counts, pattern_counts_prepared,
    prob_fields, write_table_probs, Engine, Format, LfUdf, Table, TableError,
};
use metal_runtime::error::ApplyError;
use metal_runtime::label_matrix::LabelMatrix;
use metal_runtime::label_model::{FittedLabelModel, HyperHier, LabelModel};
use metal_runtime::prelude::*;
use serde::{Deserialize, Serialize};

#[task_schema]
pub mod sentiment {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Sentiment {
        Negative,
        Positive,
    }
}
use sentiment::Sentiment;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Review {
    id: i64,
    text: String,
}

#[labeling_function]
fn lf_good(r: &Review) -> Option<Sentiment> {
    r.text.contains("good").then_some(Sentiment::Positive)
}

#[labeling_function]
fn lf_bad(r: &Review) -> Option<Sentiment> {
    r.text.contains("bad").then_some(Sentiment::Negative)
}

#[labeling_function]
fn lf_every_third(r: &Review) -> Option<Sentiment> {
    (r.id % 3 == 0).then_some(Sentiment::Positive)
}

fn lfs() -> LfSet<sentiment::Schema, Review> {
    lfs![lf_good, lf_bad, lf_every_third]
}

/// 20,000 reviews: more than two of DataFusion's record batches (8,192 rows).
fn reviews() -> Vec<Review> {
    let words = ["good", "bad", "fine", "good and bad", "meh"];
    (0..20_000).map(|i| Review { id: i, text: format!("review {i}: {}", words[(i as usize * 7) % 5]) }).collect()
}

fn write_jsonl(path: &Path, items: &[Review]) {
    let lines: Vec<String> = items.iter().map(|r| serde_json::to_string(r).unwrap()).collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn write_csv(path: &Path, items: &[Review]) {
    let mut text = String::from("id,text\n");
    for r in items {
        text.push_str(&format!("{},{}\n", r.id, r.text));
    }
    std::fs::write(path, text).unwrap();
}

/// Converts a JSON-lines file into one Parquet file with DataFusion.
fn write_parquet(jsonl: &Path, parquet: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
        let frame =
            ctx.read_json(jsonl.to_str().unwrap(), JsonReadOptions::default().file_extension(".jsonl")).await.unwrap();
        frame.write_parquet(parquet.to_str().unwrap(), DataFrameWriteOptions::new(), None).await.unwrap();
    });
}

#[test]
fn every_format_gives_the_matrix_of_the_items_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let items = reviews();
    let config = ApplyConfig { progress: false, threads: Some(2), chunk_size: 500, ..ApplyConfig::default() };
    let (want, _) = lfs().apply_with(&items, &config).unwrap();

    let (jsonl, csv, parquet) = (dir.path().join("r.jsonl"), dir.path().join("r.csv"), dir.path().join("r.parquet"));
    write_jsonl(&jsonl, &items);
    write_csv(&csv, &items);
    write_parquet(&jsonl, &parquet);
    for path in [&jsonl, &csv, &parquet] {
        let table = Table::open(path).unwrap();
        let (got, report) = apply_table(&lfs(), &table, &config).unwrap();
        assert_eq!(got, want, "{}", path.display());
        assert_eq!(report.n_items, items.len());
        let rows: Vec<Review> = table.rows().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(rows, items, "{}", path.display());
    }
    assert_eq!(Table::open(&parquet).unwrap().format(), Format::Parquet);

    // A preparation step: the LFs read the review with its text in capitals, so none fires on
    // the text.
    let shout = |r: &Review| Review { id: r.id, text: r.text.to_uppercase() };
    let (prepared, _) = apply_table_prepared(&lfs(), &Table::open(&parquet).unwrap(), shout, &config).unwrap();
    let shouted: Vec<Review> = items.iter().map(shout).collect();
    assert_eq!(prepared, lfs().apply_with(&shouted, &config).unwrap().0);
}

#[test]
fn bad_tables_name_the_file_and_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let config = ApplyConfig { progress: false, ..ApplyConfig::default() };

    let unknown = dir.path().join("r.txt");
    std::fs::write(&unknown, "id,text\n").unwrap();
    let err = Table::open(&unknown).unwrap_err();
    assert!(matches!(err, TableError::UnknownFormat { .. }), "{err}");
    assert!(err.to_string().contains("r.txt"), "{err}");

    let err = Table::open(dir.path().join("missing.parquet")).unwrap_err();
    assert!(matches!(err, TableError::Open { .. }) && err.to_string().contains("missing.parquet"), "{err}");

    // A column the item type needs is absent.
    let no_text = dir.path().join("no_text.jsonl");
    std::fs::write(&no_text, "{\"id\": 1, \"body\": \"good\"}\n{\"id\": 2, \"body\": \"bad\"}\n").unwrap();
    let err = apply_table(&lfs(), &Table::open(&no_text).unwrap(), &config).unwrap_err();
    let TableError::Apply(ApplyError::Read { item, message }) = &err else { panic!("{err}") };
    assert_eq!(*item, 0);
    assert!(message.contains("no_text.jsonl, row 0") && message.contains("text"), "{message}");

    // A file that is not Parquet.
    let fake = dir.path().join("fake.parquet");
    std::fs::write(&fake, "not parquet").unwrap();
    let err = apply_table(&lfs(), &Table::open(&fake).unwrap(), &config).unwrap_err();
    assert!(err.to_string().contains("fake.parquet"), "{err}");
}

/// The in-memory patterns of a matrix as (votes, count), sorted.
fn in_memory_patterns(matrix: &LabelMatrix) -> Vec<(Vec<(u32, u16)>, u64)> {
    let mut counts = std::collections::BTreeMap::new();
    for i in 0..matrix.n_items() {
        let (lfs, labels) = matrix.row_slices(i);
        let votes: Vec<(u32, u16)> = lfs.iter().copied().zip(labels.iter().copied()).collect();
        *counts.entry(votes).or_insert(0u64) += 1;
    }
    counts.into_iter().collect()
}

#[test]
fn pattern_counts_by_group_by_equal_the_matrix_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let items = reviews();
    let config = ApplyConfig { progress: false, ..ApplyConfig::default() };
    let (matrix, _) = lfs().apply_with(&items, &config).unwrap();
    let mut want = in_memory_patterns(&matrix);
    want.sort();

    let (jsonl, csv, parquet) = (dir.path().join("r.jsonl"), dir.path().join("r.csv"), dir.path().join("r.parquet"));
    write_jsonl(&jsonl, &items);
    write_csv(&csv, &items);
    write_parquet(&jsonl, &parquet);
    let lfs = std::sync::Arc::new(lfs());
    let mut first = None;
    for (path, partitions) in [(&jsonl, Some(1)), (&csv, Some(3)), (&parquet, Some(4)), (&parquet, None)] {
        let counts = pattern_counts(lfs.clone(), &Table::open(path).unwrap(), &["id", "text"], partitions).unwrap();
        assert_eq!(counts.n_items(), items.len() as u64, "{}", path.display());
        let mut got: Vec<(Vec<(u32, u16)>, u64)> = (0..counts.patterns.n_items())
            .map(|p| {
                let (lfs, labels) = counts.patterns.row_slices(p);
                (lfs.iter().copied().zip(labels.iter().copied()).collect(), counts.counts[p])
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "{} on {partitions:?} partitions", path.display());
        // The same patterns in the same order however the table was read.
        match &first {
            None => first = Some(counts.clone()),
            Some(f) => assert_eq!(&counts, f, "{}", path.display()),
        }
        // Expanded: the rows of the matrix, reordered.
        let expanded = counts.expand();
        assert_eq!(expanded.n_items(), items.len());
        assert_eq!(in_memory_patterns(&expanded), in_memory_patterns(&matrix));
    }

    // With a preparation step (the text in capitals: only the id LF fires).
    let shout = |r: &Review| Review { id: r.id, text: r.text.to_uppercase() };
    let (shouted, _) = lfs.apply_prepared(&items, shout, &config).unwrap();
    let prepared =
        pattern_counts_prepared(lfs.clone(), &Table::open(&parquet).unwrap(), &["id", "text"], shout, Some(2)).unwrap();
    let mut got: Vec<(Vec<(u32, u16)>, u64)> = (0..prepared.patterns.n_items())
        .map(|p| {
            let (l, v) = prepared.patterns.row_slices(p);
            (l.iter().copied().zip(v.iter().copied()).collect(), prepared.counts[p])
        })
        .collect();
    got.sort();
    assert_eq!(got, in_memory_patterns(&shouted));
    assert_eq!(got.len(), 2, "the id LF votes or not");

    // A label model fit on the counts is the one fit on the expanded matrix, bit for bit, and
    // the one fit on the matrix in memory up to the order of its sums.
    let counts = first.unwrap();
    let fitted = HyperHier::default().fit_counts(&counts.patterns, &counts.counts).unwrap();
    let on_expanded = HyperHier::default().fit(&counts.expand()).unwrap();
    let in_memory = HyperHier::default().fit(&matrix).unwrap();
    let probs = fitted.predict_proba(&matrix).unwrap();
    assert_eq!(probs, on_expanded.predict_proba(&matrix).unwrap());
    let want = in_memory.predict_proba(&matrix).unwrap();
    let diff = (probs.end_labels().to_owned() - want.end_labels()).mapv(f64::abs).fold(0.0, |a: f64, &b| a.max(b));
    assert!(diff < 1e-9, "largest difference {diff}");
}

#[test]
fn vote_patterns_round_trip_and_bad_bytes_are_refused() {
    let lfs = [0u32, 5, 127, 128, 40_000];
    let labels = [3u16, 0, 200, 65_535, 1];
    let mut bytes = Vec::new();
    encode_votes(&lfs, &labels, &mut bytes);
    assert_eq!(bytes.len(), 1 + 1 + 1 + 1 + 1 + 2 + 2 + 3 + 3 + 1);
    let decoded = decode_votes(&bytes).unwrap();
    assert_eq!(decoded, lfs.iter().copied().zip(labels).collect::<Vec<_>>());
    assert_eq!(decode_votes(&[]), Some(vec![]));
    // A cut varint, an LF without its label, a label over u16.
    assert_eq!(decode_votes(&[0x80]), None);
    assert_eq!(decode_votes(&[3]), None);
    assert_eq!(decode_votes(&[1, 0xff, 0xff, 0x04]), None);
}

#[test]
fn a_missing_column_in_the_pattern_query_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("r.jsonl");
    write_jsonl(&jsonl, &reviews()[..10]);
    let lfs = std::sync::Arc::new(lfs());
    let err = pattern_counts(lfs.clone(), &Table::open(&jsonl).unwrap(), &["id", "body"], None).unwrap_err();
    println!("{err}");
    assert!(err.to_string().contains("r.jsonl") && err.to_string().contains("body"), "{err}");
    // A column of another type than the item's field.
    let err = pattern_counts(lfs, &Table::open(&jsonl).unwrap(), &["text", "text"], None).unwrap_err();
    println!("{err}");
    assert!(err.to_string().contains("r.jsonl"), "{err}");
}

fn read_parquet(path: &Path) -> Vec<datafusion::arrow::record_batch::RecordBatch> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap().build().unwrap();
    reader.map(Result::unwrap).collect()
}

#[test]
fn predictions_join_back_to_the_rows_in_file_order() {
    use datafusion::arrow::array::{Array, Float64Array, Int64Array};
    let dir = tempfile::tempdir().unwrap();
    let items = reviews();
    let config = ApplyConfig { progress: false, ..ApplyConfig::default() };
    let (matrix, _) = lfs().apply_with(&items, &config).unwrap();
    let model = HyperHier::default().fit(&matrix).unwrap();
    let want = model.predict_proba(&matrix).unwrap();

    let (jsonl, parquet) = (dir.path().join("r.jsonl"), dir.path().join("r.parquet"));
    write_jsonl(&jsonl, &items);
    write_parquet(&jsonl, &parquet);
    let lfs = std::sync::Arc::new(lfs());
    for input in [&jsonl, &parquet] {
        let out = dir.path().join("probs.parquet");
        let table = Table::open(input).unwrap();
        let rows = write_table_probs(lfs.clone(), &table, &["id", "text"], &["id"], &model, &out).unwrap();
        assert_eq!(rows, items.len() as u64);
        let batches = read_parquet(&out);
        let names: Vec<String> = batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
        let mut expected = vec!["id".to_owned()];
        expected.extend(prob_fields(matrix.graph()).iter().map(|f| f.name().clone()));
        assert_eq!(names, expected);
        let mut row = 0;
        for batch in &batches {
            let ids = batch.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            for r in 0..batch.num_rows() {
                assert_eq!(ids.value(r), (row + r) as i64, "{}: file order", input.display());
                for c in 0..2 {
                    let p = batch.column(1 + c).as_any().downcast_ref::<Float64Array>().unwrap();
                    assert_eq!(p.value(r), want.end_labels()[[row + r, c]]);
                }
            }
            row += batch.num_rows();
        }
        assert_eq!(row, items.len());
    }

    // A kept column named like a probability column, and a kept column the table lacks.
    let out = dir.path().join("bad.parquet");
    let table = Table::open(&jsonl).unwrap();
    let clash = prob_fields(matrix.graph())[0].name().clone();
    let err = write_table_probs(lfs.clone(), &table, &["id", "text"], &[clash.as_str()], &model, &out).unwrap_err();
    assert!(matches!(err, TableError::Write { .. }) && err.to_string().contains(&clash), "{err}");
    let err = write_table_probs(lfs, &table, &["id", "text"], &["rating"], &model, &out).unwrap_err();
    assert!(err.to_string().contains("r.jsonl") && err.to_string().contains("rating"), "{err}");
    assert!(!out.exists());
}

/// A remote engine whose result has other rows than the table (a cluster that lost or added
/// rows) gives [`TableError::Incomplete`] and leaves no file.
#[test]
fn a_remote_result_with_other_rows_than_the_table_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let items = dir.path().join("items");
    std::fs::create_dir_all(items.join("sub")).unwrap();
    let reviews = reviews();
    write_jsonl(&items.join("a.jsonl"), &reviews[..100]);
    write_jsonl(&items.join("sub/b.jsonl"), &reviews[100..150]);
    let table = Table::with_format(&items, Format::JsonLines).unwrap();
    let lfs = LfUdf::new(std::sync::Arc::new(lfs())).unwrap();
    let local = Engine::local(&lfs, None).unwrap().pattern_counts(&table, &["id", "text"]).unwrap();
    assert_eq!(local.n_items(), 100, "a table's rows leave out its sub-folders");

    // Stands for a cluster that returns rows the table does not have: a context that also reads
    // the sub-folder.
    let config = SessionConfig::new().set_bool("datafusion.execution.listing_table_ignore_subdirectory", false);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let engine = Engine::remote(runtime, SessionContext::new_with_config(config), &lfs);
    let err = engine.pattern_counts(&table, &["id", "text"]).unwrap_err();
    assert!(matches!(err, TableError::Incomplete { got: 150, expected: 100, .. }), "{err}");
    assert!(err.to_string().contains("items"), "{err}");

    let model = HyperHier::default().fit_counts(&local.patterns, &local.counts).unwrap();
    let out = dir.path().join("probs.parquet");
    let err = engine.write_probs(&table, &["id", "text"], &["id"], &model, &out).unwrap_err();
    assert!(matches!(err, TableError::Incomplete { got: 150, expected: 100, .. }), "{err}");
    assert!(!out.exists(), "a failed job left {}", out.display());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "a temporary file was left behind");
}
