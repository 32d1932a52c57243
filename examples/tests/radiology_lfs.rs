//! The radiology example's data loader and labeling functions, on the repository's data.
//!
//! LF accuracies are measured on the labeled dev split only; the training split is used without
//! its labels (coverage), and the test split is only checked to load.

mod common;

use metal_examples::radiology::{data, lfs};

use metal_runtime::analysis::LfSummary;
use metal_runtime::prelude::*;

use data::{Report, DATA_LABELS, END_LABELS};
use lfs::{all_lfs, triage};

fn gold(items: &[Report]) -> Vec<usize> {
    items.iter().map(|r| r.label).collect()
}

/// The schema's end-label names, reduced to the data files' spelling: `"NonAcute/NonUrgent"`
/// becomes `"nonurgent"`.
fn schema_leaf_names() -> Vec<String> {
    let graph = <triage::Schema as TaskSchema>::graph();
    graph.end_label_names().iter().map(|n| n.rsplit('/').next().unwrap_or(n).to_lowercase()).collect()
}

#[test]
fn gold_labels_follow_the_schema_end_label_order() {
    let names = schema_leaf_names();
    let expected: Vec<String> = END_LABELS.iter().map(|n| n.replace('-', "")).collect();
    assert_eq!(names, expected);

    // Every loaded report's `label` names the schema end label of its data-file level.
    let dev = data::load_dev(None).unwrap();
    for r in &dev {
        assert_eq!(names[r.label], DATA_LABELS[r.data_label].replace('-', ""), "{}", r.id);
        assert_eq!(END_LABELS[r.label], r.label_name, "{}", r.id);
    }
    let end = |k: usize| <triage::EndLabel as EndLabel>::from_index(k).unwrap();
    assert_eq!(end(dev.iter().find(|r| r.label_name == "normal").unwrap().label), triage::EndLabel::NonAcuteNormal);
    assert_eq!(end(dev.iter().find(|r| r.label_name == "emergent").unwrap().label), triage::EndLabel::AcuteEmergent);
}

#[test]
fn test_split_loads() {
    assert_eq!(data::load_test(None).unwrap().len(), 747);
}

#[test]
fn lfs_cover_the_training_split_and_majority_vote_beats_the_bound_on_dev() {
    let lfs = all_lfs();
    let train = data::load_train(None).unwrap();
    let dev = data::load_dev(None).unwrap();
    let config = ApplyConfig::default();
    let l_train = lfs.apply_prepared(&train, lfs::parse, &config).unwrap().0;
    let l_dev = lfs.apply_prepared(&dev, lfs::parse, &config).unwrap().0;

    // Coverage, overlaps and conflicts on the unlabeled training split; accuracy on dev.
    let summary = LfSummary::new(&l_train).with_gold(&l_dev, &gold(&dev)).unwrap();
    println!("{summary}");

    for task in &summary.tasks {
        assert!(task.n_lfs >= 3, "task {} has {} LFs", task.name, task.n_lfs);
    }
    for lf in &summary.lfs {
        assert!(lf.n_votes > 0, "{} never fires on the training split", lf.name);
        // Every task has two labels, so chance is 0.5. Measured: the lowest dev accuracy is 0.667
        // (lf_cardiovascular, 2 of 3), then 0.714 (lf_old_injury); lf_congestion does not vote
        // on dev.
        if let Some(acc) = lf.empirical_accuracy {
            assert!(acc > 0.6, "{}: accuracy {acc:.3} on dev", lf.name);
        }
    }
    // Measured: 0.999 of the training split gets at least one vote, 0.989 a Triage vote.
    assert!(summary.coverage > 0.99, "coverage {}", summary.coverage);
    assert!(summary.tasks[0].coverage > 0.97, "Triage coverage {}", summary.tasks[0].coverage);

    // Measured: majority vote gets 344 of the 373 dev reports right (0.922), and the Triage
    // decision (acute or not) of 353 (0.946); a tie or no vote counts as wrong.
    let graph = <triage::Schema as TaskSchema>::graph();
    let dev_gold = gold(&dev);
    let predicted = common::majority_vote(&l_dev);
    let correct = predicted.iter().zip(&dev_gold).filter(|(p, g)| **p == Some(**g)).count();
    let acc = correct as f64 / dev.len() as f64;
    let acute = |k: usize| graph.feasible(k)[0];
    let triage_correct =
        predicted.iter().zip(&dev_gold).filter(|(p, g)| p.is_some_and(|p| acute(p) == acute(**g))).count();
    let triage_acc = triage_correct as f64 / dev.len() as f64;
    println!(
        "majority vote on dev: end label {correct} of {} ({acc:.3}), triage {triage_correct} ({triage_acc:.3})",
        dev.len()
    );
    assert!(acc >= 0.89, "majority-vote accuracy on dev: {acc:.3}");
    assert!(triage_acc >= 0.92, "majority-vote triage accuracy on dev: {triage_acc:.3}");
}
