//! Label models on generated problems (`tests/data/synthetic/*_n10000`, see its README).
//!
//! Reference numbers, test accuracy at n = 10,000 on the same generator settings (seed 0), from
//! the project's measurements of the Python systems: snorkel 0.10 LabelModel 0.814 and
//! snorkel-metal 0.5 LabelModel 0.815 on flat K = 2, M = 10; snorkel-metal MTLabelModel 0.551 on
//! tree `2:2,2` and 0.582 on `4:3,3,3,3`. The Bayes-optimal accuracy (posterior with the
//! generator's true parameters) is 0.5725 on `2:2,2` and 0.633 on `4:3,3,3,3`.

use metal_runtime::io::synthetic::Problem;
use metal_runtime::label_model::{FittedLabelModel, Hierarchical, LabelModel, MajorityVote};

fn load(name: &str) -> Problem {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/synthetic").join(name);
    Problem::load(dir).expect("committed problem loads")
}

fn test_accuracy(p: &Problem, model: &dyn FittedLabelModel) -> f64 {
    let pred = model.predict(p.test.as_ref().unwrap(), 0).unwrap();
    let gold = p.y_test.as_ref().unwrap();
    metal_runtime::metrics::accuracy(&pred, gold).unwrap()
}

/// Mean absolute error of the learned LF accuracies over the LFs for which `keep(j)` is true.
fn accuracy_mae(p: &Problem, learned: &[f64], keep: impl Fn(usize) -> bool) -> f64 {
    let truth = p.lf_accuracy.as_ref().unwrap();
    let (sum, n) =
        (0..truth.len()).filter(|&j| keep(j)).fold((0.0, 0), |(s, n), j| (s + (learned[j] - truth[j]).abs(), n + 1));
    sum / n as f64
}

#[test]
fn flat_problem_recovers_accuracies_and_beats_majority_vote() {
    let p = load("flat_k2_m10_n10000");
    let mv = test_accuracy(&p, &MajorityVote.fit(&p.train).unwrap());
    for model in [Hierarchical::default(), Hierarchical::paper()] {
        let fit = model.fit(&p.train).unwrap();
        let mae = accuracy_mae(&p, &fit.lf_accuracies().unwrap(), |_| true);
        assert!(mae < 0.03, "{:?}: accuracy MAE {mae}", model.form);
        let acc = test_accuracy(&p, &fit);
        // Measured: 0.8217 (extended), 0.8185 (paper form); majority vote 0.7744.
        assert!(acc > mv, "{:?}: {acc} vs majority vote {mv}", model.form);
        assert!(acc >= 0.814 - 0.005, "{:?}: {acc} vs snorkel 0.814", model.form);
    }
}

#[test]
fn tree_2_22_root_accuracies_and_end_label_accuracy() {
    let p = load("tree_2-22_l3_n10000");
    let fit = Hierarchical::default().fit(&p.train).unwrap();
    let learned = fit.lf_accuracies().unwrap();
    let root = p.train.graph().root();
    // Root-task LFs are well identified; child tasks with 3 LFs each only weakly (their overlaps
    // are rare), so they get a looser bound (measured 0.057).
    let root_mae = accuracy_mae(&p, &learned, |j| p.train.lf_task(j) == root);
    assert!(root_mae < 0.03, "root-task accuracy MAE {root_mae}");
    let child_mae = accuracy_mae(&p, &learned, |j| p.train.lf_task(j) != root);
    assert!(child_mae < 0.08, "child-task accuracy MAE {child_mae}");
    let mv = test_accuracy(&p, &MajorityVote.fit(&p.train).unwrap());
    let acc = test_accuracy(&p, &fit);
    // Measured 0.5669; majority vote 0.4159; snorkel-metal MTLabelModel 0.551; limit 0.5725.
    // Half-way from 0.551 to the limit is 0.56175.
    assert!(acc > mv && acc >= 0.56175, "{acc} (majority vote {mv})");
}

#[test]
fn tree_4_3333_closes_most_of_the_gap_to_the_bayes_limit() {
    let p = load("tree_4-3333_l5_n10000");
    let fit = Hierarchical::default().fit(&p.train).unwrap();
    let acc = test_accuracy(&p, &fit);
    // Half-way between snorkel-metal's 0.582 and the limit 0.633 is 0.6075; measured 0.6276.
    assert!(acc >= 0.6075, "{acc}");
    let root = p.train.graph().root();
    let root_mae = accuracy_mae(&p, &fit.lf_accuracies().unwrap(), |j| p.train.lf_task(j) == root);
    assert!(root_mae < 0.03, "root-task accuracy MAE {root_mae}");
}

#[test]
fn the_same_data_gives_the_same_fit() {
    let p = load("tree_2-22_l3_n10000");
    let a = Hierarchical::default().fit(&p.train).unwrap();
    let b = Hierarchical::default().fit(&p.train).unwrap();
    assert_eq!(a.lf_accuracies(), b.lf_accuracies());
    assert_eq!(a.predict(&p.train, 3).unwrap(), b.predict(&p.train, 3).unwrap());
}

/// WRENCH youtube (real LF votes, committed under `tests/data/wrench/youtube`): the trained models
/// beat majority vote on the test split. Measured (seed 0): majority vote 0.812, hierarchical
/// 0.856, matrix completion 0.832; the reference snorkel LabelModel scores 0.869.
#[test]
fn wrench_youtube_trained_models_beat_majority_vote() {
    use metal_runtime::io::wrench::Dataset;
    use metal_runtime::label_model::MatrixCompletion;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wrench/youtube");
    let d = Dataset::load(dir).unwrap();
    let acc = |model: &dyn FittedLabelModel| {
        let pred = model.predict(&d.test.matrix, 0).unwrap();
        metal_runtime::metrics::accuracy(&pred, &d.test.labels).unwrap()
    };
    let mv = acc(&MajorityVote.fit(&d.train.matrix).unwrap());
    let hier = acc(&Hierarchical::default().fit(&d.train.matrix).unwrap());
    let mc = acc(&MatrixCompletion::default().fit(&d.train.matrix).unwrap());
    assert!(hier > mv + 0.02, "hierarchical {hier} vs majority vote {mv}");
    assert!(mc > mv, "matrix completion {mc} vs majority vote {mv}");
}

/// One M-step from the gold labels (`fit_from` with no EM iteration) estimates each LF's
/// accuracy as its agreement with them: on the generated flat problem, within 0.02 of the
/// generator's true accuracies (measured MAE on 10,000 items printed by the test).
#[test]
fn an_m_step_from_gold_labels_recovers_the_accuracies() {
    use metal_runtime::label_model::ProbLabels;
    let p = load("flat_k2_m10_n10000");
    let gold = ProbLabels::one_hot(p.train.graph_arc().clone(), p.y_train.as_ref().unwrap()).unwrap();
    let fit = Hierarchical { n_epochs: 0, ..Hierarchical::default() }.fit_from(&p.train, &gold).unwrap();
    let mae = accuracy_mae(&p, &fit.lf_accuracies().unwrap(), |_| true);
    println!("accuracy MAE {mae:.4}");
    assert!(mae < 0.02, "accuracy MAE {mae}");
    assert_eq!(fit.fit_report().n_epochs, 0);
}

/// The default model gives the same probabilities on one thread as on several.
#[test]
fn the_default_model_does_not_depend_on_the_thread_count() {
    use metal_runtime::label_model::HyperHier;
    let p = load("tree_4-3333_l5_n10000");
    let many = HyperHier::default().fit(&p.train).unwrap().predict_proba(&p.train).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let one = pool.install(|| HyperHier::default().fit(&p.train).unwrap().predict_proba(&p.train).unwrap());
    assert_eq!(many, one);
}

/// The maximum-likelihood fit (EM over thousands of vote patterns, summed in parallel) is the
/// same, bit for bit, on one, two and three threads.
#[test]
fn em_fits_do_not_depend_on_the_thread_count() {
    use metal_runtime::label_model::Hierarchical;
    let p = load("tree_4-3333_l5_n10000");
    let model = Hierarchical { progress: false, ..Hierarchical::default() };
    let fit_on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let fit = model.fit(&p.train).unwrap();
            (fit.predict_proba(&p.train).unwrap(), fit.fit_report().loss.clone())
        })
    };
    let one = fit_on(1);
    assert!(one.1.len() > 2, "EM ran {} epochs", one.1.len());
    assert_eq!(fit_on(2), one);
    assert_eq!(fit_on(3), one);
}
