//! The TREC example's data loader and labeling functions, on the repository's data.
//!
//! Every bound below was measured on train and dev; the test split is only checked to load.

mod common;

use metal_examples::trec::{data, lfs};

use metal_runtime::analysis::LfSummary;
use metal_runtime::prelude::*;

use data::{Question, END_LABELS};
use lfs::{all_lfs, trec};

fn gold(items: &[Question]) -> Vec<usize> {
    items.iter().map(|q| q.label).collect()
}

/// `ABBR:abb` → `abbr/abb`, the spelling of the schema's end-label names in lower case.
fn as_end_label_name(label: &str) -> String {
    label.to_lowercase().replace(':', "/")
}

#[test]
fn gold_labels_follow_the_schema_end_label_order() {
    let graph = <trec::Schema as TaskSchema>::graph();
    let names: Vec<String> = graph.end_label_names().iter().map(|n| n.to_lowercase()).collect();
    let expected: Vec<String> = END_LABELS.iter().map(|l| as_end_label_name(l)).collect();
    assert_eq!(names, expected);

    // meta.json's `fine` list gives `fine_id`, which the loader requires to equal the end label.
    let meta_path = data::default_data_dir().join("meta.json");
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(meta_path).unwrap()).unwrap();
    let fine: Vec<&str> = meta["fine"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(fine, END_LABELS);

    // The generated `EndLabel` enum has the same order.
    for (k, label) in END_LABELS.iter().enumerate() {
        let end = trec::EndLabel::from_index(k).unwrap();
        assert_eq!(end.index(), k);
        assert_eq!(end.name().to_lowercase(), as_end_label_name(label));
    }
    assert_eq!(trec::EndLabel::AbbrAbb.index(), 0);
    assert_eq!(trec::EndLabel::HumDesc.name(), "Hum/Desc");
    assert_eq!(END_LABELS[trec::EndLabel::NumDist.index()], "NUM:dist");
    assert_eq!(END_LABELS[trec::EndLabel::NumWeight.index()], "NUM:weight");
}

#[test]
fn test_split_loads() {
    assert_eq!(data::load_test(None).unwrap().len(), 500);
}

#[test]
fn lfs_cover_every_task_and_majority_vote_beats_the_bound_on_dev() {
    let lfs = all_lfs();
    let train = data::load_train(None).unwrap();
    let dev = data::load_dev(None).unwrap();
    let l_train = lfs.apply(&train).unwrap();
    let l_dev = lfs.apply(&dev).unwrap();

    // Coverage on train, accuracy on dev.
    let summary = LfSummary::new(&l_train).with_gold(&l_dev, &gold(&dev)).unwrap();
    println!("{summary}");
    let dev_summary = LfSummary::new(&l_dev).with_gold(&l_dev, &gold(&dev)).unwrap();
    println!("On dev: {dev_summary}");

    let graph = l_train.graph();
    for (t, task) in summary.tasks.iter().enumerate() {
        assert!(task.n_lfs >= 3, "task {} has {} LFs", graph.task(t).name, task.n_lfs);
    }
    for lf in &summary.lfs {
        assert!(lf.n_votes > 0, "{} never fires on train", lf.name);
        // Chance is 1/k on a task with k labels, at most 1/2. Measured: the lowest dev accuracy
        // is 0.667 (lf_technique, 4 of 6), then 0.750 (lf_term_for, 3 of 4); lf_made_of does not
        // vote on dev.
        if let Some(acc) = lf.empirical_accuracy {
            assert!(acc >= 0.6, "{}: accuracy {acc:.3} on dev", lf.name);
        }
    }
    // Measured: 0.828 of the training questions get at least one vote.
    assert!(summary.coverage >= 0.80, "train coverage {}", summary.coverage);

    // Measured: majority vote gets 351 of the 500 dev questions right (0.702) and the coarse
    // class of 365 (0.730); a tie or no vote counts as wrong.
    let mv = common::majority_vote(&l_dev);
    let dev_gold = gold(&dev);
    let correct = mv.iter().zip(&dev_gold).filter(|(p, g)| **p == Some(**g)).count();
    let root = graph.root();
    let coarse_correct = mv
        .iter()
        .zip(&dev_gold)
        .filter(|(p, g)| p.is_some_and(|p| graph.feasible(p)[root] == graph.feasible(**g)[root]))
        .count();
    let acc = correct as f64 / dev.len() as f64;
    let coarse_acc = coarse_correct as f64 / dev.len() as f64;
    println!("majority vote on dev: end-label accuracy {acc:.3}, coarse accuracy {coarse_acc:.3}");
    assert!(acc >= 0.66, "majority-vote end-label accuracy on dev: {acc:.3}");
    assert!(coarse_acc >= 0.69, "majority-vote coarse accuracy on dev: {coarse_acc:.3}");
}
