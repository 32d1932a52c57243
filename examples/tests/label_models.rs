//! The default label model on the three pipelines' label matrices (no libtorch needed): at least
//! as accurate on the test split as the maximum-likelihood hierarchical model that the pipelines'
//! Table 2 reports, and above hierarchical majority vote.

use metal_examples::pipeline::{self, accuracy, Corpus};
use metal_examples::{news, radiology, trec};
use metal_runtime::label_model::{FittedLabelModel, Hierarchical, HyperHier, LabelModel, MajorityVote};

const DEV_SEED: u64 = 20180601;

fn check(corpus: &Corpus) {
    let score = |m: &dyn FittedLabelModel| accuracy(&m.predict(&corpus.l_test, 0).unwrap(), &corpus.gold_test);
    let default = score(&HyperHier::default().fit(&corpus.l_train).unwrap());
    let mle = score(&Hierarchical { progress: false, ..Hierarchical::default() }.fit(&corpus.l_train).unwrap());
    let mv = score(&MajorityVote.fit(&corpus.l_train).unwrap());
    println!("{}: default {default:.4}, hierarchical {mle:.4}, majority vote {mv:.4}", corpus.name);
    assert!(default >= mle - 0.005, "{}: default {default} vs hierarchical {mle}", corpus.name);
    assert!(default > mv, "{}: default {default} vs majority vote {mv}", corpus.name);
}

#[test]
fn news() {
    use news::{data, lfs};
    let (train, dev, test) =
        (data::load_train_subset(None).unwrap(), data::load_dev(None).unwrap(), data::load_test(None).unwrap());
    let corpus =
        Corpus::new("news", "", &lfs::all_lfs(), (&train, &dev, &test), |_| String::new(), |a: &data::Article| a.label)
            .unwrap();
    check(&corpus);
}

#[test]
fn radiology() {
    use radiology::{data, lfs};
    let train = data::load_train(None).unwrap();
    let dev = pipeline::draw(&data::load_dev(None).unwrap(), 50, DEV_SEED);
    let test = data::load_test(None).unwrap();
    let corpus = Corpus::new(
        "radiology",
        "",
        &lfs::all_lfs(),
        (&train, &dev, &test),
        |_| String::new(),
        |r: &data::Report| r.label,
    )
    .unwrap();
    check(&corpus);
}

#[test]
fn trec() {
    use trec::{data, lfs};
    let train = data::load_train(None).unwrap();
    let dev = pipeline::draw(&data::load_dev(None).unwrap(), 50, DEV_SEED);
    let test = data::load_test(None).unwrap();
    let corpus = Corpus::new(
        "trec",
        "",
        &lfs::all_lfs(),
        (&train, &dev, &test),
        |_| String::new(),
        |q: &data::Question| q.label,
    )
    .unwrap();
    check(&corpus);
}
