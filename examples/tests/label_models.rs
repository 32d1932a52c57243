//! The default label model on the three pipelines' label matrices (no libtorch needed): at least
//! as accurate on the test split as the maximum-likelihood hierarchical model that the pipelines'
//! Table 2 reports, and above hierarchical majority vote.

use metal_examples::pipeline::{self, Corpus};
use metal_runtime::label_model::{FittedLabelModel, Hierarchical, HyperHier, LabelModel, MajorityVote};
use metal_runtime::metrics::accuracy;

fn check(corpus: &Corpus) {
    let score = |m: &dyn FittedLabelModel| accuracy(&m.predict(&corpus.l_test, 0).unwrap(), &corpus.gold_test).unwrap();
    let default = score(&HyperHier::default().fit(&corpus.l_train).unwrap());
    let mle = score(&Hierarchical { progress: false, ..Hierarchical::default() }.fit(&corpus.l_train).unwrap());
    let mv = score(&MajorityVote.fit(&corpus.l_train).unwrap());
    println!("{}: default {default:.4}, hierarchical {mle:.4}, majority vote {mv:.4}", corpus.name);
    assert!(default >= mle - 0.005, "{}: default {default} vs hierarchical {mle}", corpus.name);
    assert!(default > mv, "{}: default {default} vs majority vote {mv}", corpus.name);
}

#[test]
fn the_three_pipelines() {
    for corpus in pipeline::label_corpora().unwrap() {
        check(&corpus);
    }
}
