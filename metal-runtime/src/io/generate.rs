//! Synthetic weak-supervision problems, generated from a seed: the folder format of
//! [`synthetic`](super::synthetic) (the benchmark generator `gen_synthetic.py`'s), so that a
//! label model can be tried without Python or data.
//!
//! The generative process is `gen_synthetic.py`'s: each item's end label is drawn from the class
//! balance, and the tasks on its root-to-leaf path apply. LF `j` (task `t`, accuracy `a_j`,
//! propensity `p_j`, both drawn uniformly from their ranges) fires with probability `p_j` when `t`
//! applies, voting the item's label of `t` with probability `a_j` and a uniformly random wrong
//! label otherwise; when `t` does not apply it fires with probability `offtopic · p_j`, with a
//! uniformly random label. The parameters, the training items and the test items come from three
//! streams of one seeded generator, so the LFs' parameters depend only on the seed and the
//! structure, not on the number of items. (The numbers differ from the Python generator's, whose
//! generator is numpy's.)
//!
//! ```
//! use metal_runtime::io::generate::{generate, GenerateConfig};
//!
//! # fn main() -> metal_runtime::Result<()> {
//! let config = GenerateConfig { n_train: 2000, n_test: 500, ..GenerateConfig::tree("2:2,2", 3) };
//! let problem = generate(&config)?;
//! assert_eq!(problem.graph.n_end_labels(), 4);
//! assert_eq!(problem.lfs.len(), 9); // 3 tasks × 3 LFs
//! # let dir = tempfile::tempdir().unwrap();
//! problem.save(dir.path())?; // schema.json, L_train.npy, Y_train.npy, ... (Problem::load reads it)
//! # Ok(()) }
//! ```

use std::sync::Arc;

use ndarray::Array1;
use ndarray_rand::rand_distr::Uniform;
use ndarray_rand::RandomExt;
use rand::distributions::{Distribution, WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::{json, Map};

use super::synthetic::Problem;
use crate::error::GenerateError;
use crate::label_matrix::{LabelMatrix, LfInfo};
use crate::schema::{TaskDef, TaskGraph};

/// The prior over end labels of a generated problem.
#[derive(Debug, Clone, PartialEq)]
pub enum Balance {
    /// Geometric decay over the end labels with `max / min` = 1.5 (`gen_synthetic.py`'s default).
    Mild,
    /// Uniform.
    Uniform,
    /// Geometric decay with `max / min` = the ratio.
    Ratio(f64),
    /// Given weights, one positive value per end label (normalized).
    Given(Vec<f64>),
}

/// Settings of [`generate`]; the defaults are `gen_synthetic.py`'s.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateConfig {
    /// The hierarchy: `"4"` is one task with 4 labels; `"2:2,2"` a root with 2 labels, each with a
    /// child task of 2 labels; `"2:(2:3,3),2"` three levels. Every label of a task with children
    /// has exactly one child task. Tasks are numbered breadth-first.
    pub spec: String,
    /// LFs per task: one value for every task, or one per task in task order.
    pub lfs_per_task: Vec<usize>,
    /// Training items.
    pub n_train: usize,
    /// Test items (0: none).
    pub n_test: usize,
    /// Seed of everything drawn.
    pub seed: u64,
    /// Prior over the end labels.
    pub class_balance: Balance,
    /// Range of the LFs' accuracies.
    pub accuracy_range: (f64, f64),
    /// Range of the LFs' propensities (firing probability where their task applies).
    pub propensity_range: (f64, f64),
    /// Firing-probability factor where an LF's task does not apply.
    pub offtopic: f64,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            spec: "2".into(),
            lfs_per_task: vec![10],
            n_train: 10_000,
            n_test: 10_000,
            seed: 0,
            class_balance: Balance::Mild,
            accuracy_range: (0.55, 0.9),
            propensity_range: (0.05, 0.5),
            offtopic: 0.1,
        }
    }
}

impl GenerateConfig {
    /// One task with `k` labels and `lfs` LFs.
    pub fn flat(k: usize, lfs: usize) -> Self {
        GenerateConfig { spec: k.to_string(), lfs_per_task: vec![lfs], ..GenerateConfig::default() }
    }

    /// The hierarchy `spec` with `lfs` LFs per task.
    pub fn tree(spec: &str, lfs: usize) -> Self {
        GenerateConfig { spec: spec.into(), lfs_per_task: vec![lfs], ..GenerateConfig::default() }
    }
}

fn bad(name: &'static str, value: impl ToString, expected: impl Into<String>) -> GenerateError {
    GenerateError { name, value: value.to_string(), expected: expected.into() }
}

/// A parsed spec node: the task's cardinality and, for an internal task, one child per label.
struct Node {
    card: usize,
    children: Option<Vec<Node>>,
}

/// Parses a tree spec (see [`GenerateConfig::spec`]).
fn parse_spec(spec: &str) -> Result<Node, GenerateError> {
    let s: Vec<char> = spec.chars().filter(|c| !c.is_whitespace()).collect();
    let err = |pos: usize, what: &str| bad("spec", spec, format!("{what} at character {}", pos + 1));
    fn int(s: &[char], pos: &mut usize) -> Option<usize> {
        let start = *pos;
        while *pos < s.len() && s[*pos].is_ascii_digit() {
            *pos += 1;
        }
        s[start..*pos].iter().collect::<String>().parse().ok()
    }
    /// A task's number of labels at `pos` (2 to 65,535).
    fn cardinality(
        s: &[char],
        pos: &mut usize,
        err: &dyn Fn(usize, &str) -> GenerateError,
        missing: &str,
    ) -> Result<usize, GenerateError> {
        let at = *pos;
        let card = int(s, pos).ok_or_else(|| err(at, missing))?;
        if !(2..=usize::from(u16::MAX)).contains(&card) {
            return Err(err(at, "a task needs 2 to 65535 labels"));
        }
        Ok(card)
    }
    fn node(s: &[char], pos: &mut usize, err: &dyn Fn(usize, &str) -> GenerateError) -> Result<Node, GenerateError> {
        let at = *pos;
        let card = cardinality(s, pos, err, "expected a number of labels")?;
        if *pos < s.len() && s[*pos] == ':' {
            *pos += 1;
            let mut children = vec![child(s, pos, err)?];
            while *pos < s.len() && s[*pos] == ',' {
                *pos += 1;
                children.push(child(s, pos, err)?);
            }
            if children.len() != card {
                return Err(err(at, &format!("a task with {card} labels has {} child tasks; every label of an internal task needs exactly one", children.len())));
            }
            return Ok(Node { card, children: Some(children) });
        }
        Ok(Node { card, children: None })
    }
    fn child(s: &[char], pos: &mut usize, err: &dyn Fn(usize, &str) -> GenerateError) -> Result<Node, GenerateError> {
        if *pos < s.len() && s[*pos] == '(' {
            *pos += 1;
            let n = node(s, pos, err)?;
            if *pos >= s.len() || s[*pos] != ')' {
                return Err(err(*pos, "expected `)`"));
            }
            *pos += 1;
            return Ok(n);
        }
        // A child with children of its own is written in parentheses.
        let card = cardinality(s, pos, err, "expected a number of labels or `(`")?;
        Ok(Node { card, children: None })
    }
    let mut pos = 0;
    let root = node(&s, &mut pos, &err)?;
    if pos != s.len() {
        return Err(err(pos, "unexpected character"));
    }
    Ok(root)
}

/// The tasks of a spec, numbered breadth-first, named `t0`, `t1`, … with labels `"0"`, `"1"`, ….
fn build_graph(root: Node) -> Result<TaskGraph, GenerateError> {
    let mut tasks = Vec::new();
    let mut queue = std::collections::VecDeque::from([(root, None::<(usize, u16)>)]);
    while let Some((node, parent)) = queue.pop_front() {
        let idx = tasks.len();
        let mut def = TaskDef::new(format!("t{idx}"), (0..node.card).map(|v| v.to_string()));
        if let Some((task, label)) = parent {
            def = def.with_parent(task, label);
        }
        tasks.push(def);
        for (v, child) in node.children.into_iter().flatten().enumerate() {
            queue.push_back((child, Some((idx, v as u16))));
        }
    }
    TaskGraph::new(tasks).map_err(|e| bad("spec", "", e.to_string()))
}

fn check_range(name: &'static str, (lo, hi): (f64, f64)) -> Result<(), GenerateError> {
    if !(0.0..=1.0).contains(&lo) || !(0.0..=1.0).contains(&hi) || lo > hi {
        return Err(bad(name, format!("{lo},{hi}"), "a range `lo,hi` with 0 ≤ lo ≤ hi ≤ 1"));
    }
    Ok(())
}

fn balance(b: &Balance, k: usize) -> Result<Vec<f64>, GenerateError> {
    let geometric = |ratio: f64| -> Vec<f64> {
        let w: Vec<f64> = (0..k).map(|i| ratio.powf(-(i as f64) / (k as f64 - 1.0).max(1.0))).collect();
        let total: f64 = w.iter().sum();
        w.into_iter().map(|x| x / total).collect()
    };
    match b {
        Balance::Mild => Ok(geometric(1.5)),
        Balance::Uniform => Ok(vec![1.0 / k as f64; k]),
        Balance::Ratio(r) if *r >= 1.0 && r.is_finite() => Ok(geometric(*r)),
        Balance::Ratio(r) => Err(bad("class_balance", format!("ratio:{r}"), "a ratio max/min of at least 1")),
        Balance::Given(w) => {
            if w.len() != k || w.iter().any(|&x| !(x > 0.0 && x.is_finite())) {
                return Err(bad("class_balance", format!("{w:?}"), format!("{k} positive weights, one per end label")));
            }
            let total: f64 = w.iter().sum();
            Ok(w.iter().map(|x| x / total).collect())
        }
    }
}

/// The drawn parameters of a problem.
struct Params<'a> {
    graph: &'a Arc<TaskGraph>,
    lfs: &'a [LfInfo],
    prior: &'a WeightedIndex<f64>,
    acc: &'a Array1<f64>,
    prop: &'a Array1<f64>,
    offtopic: f64,
}

/// Draws the items of one split: their end labels and the LFs' votes.
fn sample(rng: &mut Xoshiro256PlusPlus, n: usize, params: &Params<'_>) -> (LabelMatrix, Vec<usize>) {
    let Params { graph, lfs, prior, acc, prop, offtopic } = *params;
    let mut matrix = LabelMatrix::empty(graph.clone(), lfs.to_vec()).expect("the LFs are on the graph's tasks");
    let mut gold = Vec::with_capacity(n);
    let mut votes = Vec::with_capacity(lfs.len());
    for _ in 0..n {
        let y = prior.sample(rng);
        let path = graph.feasible(y);
        votes.clear();
        for (j, lf) in lfs.iter().enumerate() {
            let k = graph.cardinality(lf.task);
            let (fire, corr) = (rng.gen::<f64>(), rng.gen::<f64>());
            let wrong_offset = rng.gen_range(1..k);
            let noise = rng.gen_range(0..k);
            let label = match path[lf.task] {
                Some(truth) if fire < prop[j] => {
                    let truth = usize::from(truth);
                    Some(if corr < acc[j] { truth } else { (truth + wrong_offset) % k })
                }
                None if fire < offtopic * prop[j] => Some(noise),
                _ => None,
            };
            if let Some(label) = label {
                votes.push((j as u32, label as u16));
            }
        }
        matrix.push_row(&votes).expect("generated votes are in range");
        gold.push(y);
    }
    (matrix, gold)
}

/// Generates a problem (see the [module](self) documentation); [`Problem::save`] writes it.
///
/// # Errors
/// [`GenerateError`] naming the setting: a spec that does not parse (with the position), LF
/// counts that do not match the tasks, a range outside `[0, 1]`, or a class balance that does not
/// fit the end labels.
pub fn generate(config: &GenerateConfig) -> crate::Result<Problem> {
    let graph = Arc::new(build_graph(parse_spec(&config.spec)?)?);
    let t = graph.n_tasks();
    let per_task = match config.lfs_per_task[..] {
        [m] => vec![m; t],
        ref v if v.len() == t => v.to_vec(),
        ref v => {
            return Err(bad("lfs_per_task", format!("{v:?}"), format!("one count, or one per task ({t} tasks)")).into())
        }
    };
    check_range("accuracy_range", config.accuracy_range)?;
    check_range("propensity_range", config.propensity_range)?;
    if !(config.offtopic >= 0.0 && config.offtopic.is_finite()) {
        return Err(bad("offtopic", config.offtopic, "a non-negative factor").into());
    }
    let k = graph.n_end_labels();
    let prior = balance(&config.class_balance, k)?;
    let lfs: Vec<LfInfo> = per_task
        .iter()
        .enumerate()
        .flat_map(|(task, &m)| std::iter::repeat_n(task, m))
        .enumerate()
        .map(|(j, task)| LfInfo { name: format!("lf{j}"), task })
        .collect();
    if lfs.is_empty() {
        return Err(bad("lfs_per_task", format!("{:?}", config.lfs_per_task), "at least one LF").into());
    }
    // Three streams of one generator: parameters, training items, test items.
    let mut params = Xoshiro256PlusPlus::seed_from_u64(config.seed);
    let mut train_rng = params.clone();
    train_rng.jump();
    let mut test_rng = train_rng.clone();
    test_rng.jump();
    let m = lfs.len();
    let uniform = |(lo, hi): (f64, f64)| Uniform::new_inclusive(lo, hi);
    let acc = Array1::random_using(m, uniform(config.accuracy_range), &mut params);
    let prop = Array1::random_using(m, uniform(config.propensity_range), &mut params);
    let weights = WeightedIndex::new(&prior).map_err(|e| bad("class_balance", format!("{prior:?}"), e.to_string()))?;
    let drawn = Params { graph: &graph, lfs: &lfs, prior: &weights, acc: &acc, prop: &prop, offtopic: config.offtopic };
    let (train, y_train) = sample(&mut train_rng, config.n_train, &drawn);
    let (test, y_test) = sample(&mut test_rng, config.n_test, &drawn);
    let mut metadata = Map::new();
    metadata.insert("generator".into(), json!("metal generate"));
    metadata.insert("spec".into(), json!(config.spec));
    metadata.insert("seed".into(), json!(config.seed));
    metadata.insert("offtopic_factor".into(), json!(config.offtopic));
    metadata.insert("n_train".into(), json!(config.n_train));
    metadata.insert("n_test".into(), json!(config.n_test));
    let mut problem = Problem::new(train);
    problem.y_train = Some(y_train);
    if config.n_test > 0 {
        problem.test = Some(test);
        problem.y_test = Some(y_test);
    }
    problem.lf_accuracy = Some(acc.to_vec());
    problem.lf_propensity = Some(prop.to_vec());
    problem.class_balance = Some(prior);
    problem.metadata = metadata;
    Ok(problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label_model::{FittedLabelModel, Hierarchical, LabelModel};

    #[test]
    fn specs_parse_into_breadth_first_trees() {
        let g = build_graph(parse_spec("2:(2:3,3),2").unwrap()).unwrap();
        assert_eq!(g.n_tasks(), 5); // t0; t1, t2 (children of t0); t3, t4 (children of t1)
        assert_eq!(g.n_end_labels(), 2 + 3 + 3);
        assert_eq!(g.task(3).parent.as_ref().map(|p| (p.task, p.label)), Some((1, 0)));
        for (spec, what) in [
            ("2:2", "has 1 child tasks"),
            ("1", "2 to 65535 labels"),
            ("2:2,2x", "unexpected character at character 6"),
            ("2:(2:2,2", "expected `)`"),
            ("2:2:2,2", "has 1 child tasks"),
            ("", "expected a number of labels at character 1"),
        ] {
            let err = parse_spec(spec).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(what), "{spec}: {err}");
        }
    }

    /// The same seed gives the same problem; the votes follow the drawn parameters (each LF's
    /// share of correct votes where its task applies is near its accuracy); the maximum-likelihood
    /// model recovers the accuracies.
    #[test]
    fn generated_problems_follow_their_parameters() {
        let config = GenerateConfig { n_train: 20_000, n_test: 100, seed: 3, ..GenerateConfig::tree("2:2,2", 4) };
        let p = generate(&config).unwrap();
        assert_eq!(generate(&config).unwrap().train, p.train);
        assert_ne!(generate(&GenerateConfig { seed: 4, ..config.clone() }).unwrap().train, p.train);
        // The parameters depend on the seed, not on the number of items.
        let fewer = generate(&GenerateConfig { n_train: 10, ..config.clone() }).unwrap();
        assert_eq!(fewer.lf_accuracy, p.lf_accuracy);
        let (acc, y) = (p.lf_accuracy.as_ref().unwrap(), p.y_train.as_ref().unwrap());
        let summary = crate::analysis::LfSummary::new(&p.train).with_gold(&p.train, y).unwrap();
        for (s, a) in summary.lfs.iter().zip(acc) {
            let on_task = s.on_task_accuracy.unwrap();
            assert!((on_task - a).abs() < 0.05, "{}: {on_task} vs {a}", s.name);
        }
        let fit = Hierarchical { progress: false, ..Hierarchical::default() }.fit(&p.train).unwrap();
        let learned = fit.lf_accuracies().unwrap();
        let mae = learned.iter().zip(acc).map(|(l, a)| (l - a).abs()).sum::<f64>() / acc.len() as f64;
        assert!(mae < 0.05, "mean absolute error {mae}");
        let prior = p.class_balance.as_ref().unwrap();
        assert!((prior[0] / prior[3] - 1.5).abs() < 1e-9);
    }

    #[test]
    fn bad_settings_are_errors_naming_the_setting() {
        let err =
            generate(&GenerateConfig { lfs_per_task: vec![1, 2], ..GenerateConfig::tree("2:2,2", 1) }).unwrap_err();
        assert!(err.to_string().contains("`lfs_per_task`") && err.to_string().contains("3 tasks"), "{err}");
        let err = generate(&GenerateConfig { accuracy_range: (0.9, 0.5), ..GenerateConfig::flat(2, 3) }).unwrap_err();
        assert!(err.to_string().contains("`accuracy_range`"), "{err}");
        let err = generate(&GenerateConfig { class_balance: Balance::Given(vec![1.0]), ..GenerateConfig::flat(2, 3) })
            .unwrap_err();
        assert!(err.to_string().contains("2 positive weights"), "{err}");
    }

    #[test]
    fn saved_problems_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = generate(&GenerateConfig { n_train: 300, n_test: 50, ..GenerateConfig::flat(3, 4) }).unwrap();
        p.save(dir.path()).unwrap();
        let loaded = Problem::load(dir.path()).unwrap();
        assert_eq!(loaded.train, p.train);
        assert_eq!(loaded.y_test, p.y_test);
        assert_eq!(loaded.lf_accuracy, p.lf_accuracy);
    }
}
