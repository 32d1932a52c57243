//! A test of the generative model's central assumption on the matrix it was fit on: that the LFs
//! vote independently of each other given the true label ("local independence" in latent class
//! analysis).
//!
//! For every pair of LFs the fitted model predicts how often both vote, and how often, when both
//! vote, their votes agree (on one task) or are consistent with one end label (on two tasks). The
//! test compares both with the matrix: each gives a z-score, and the sum of their squares is
//! compared with the chi-square distribution of as many degrees of freedom. A model whose
//! assumptions hold leaves residuals of sampling size; LFs that fire together for reasons other
//! than the label (shared keywords, one broad LF's habits) leave residuals that grow with the
//! number of items.

use rayon::prelude::*;

use super::core::{Layout, NULL};
use super::patterns::Patterns;

/// A z-score enters the test only when the expected counts it compares are at least this large
/// (the usual condition for the normal approximation of a binomial count).
const MIN_EXPECTED: f64 = 5.0;

/// Above this many LFs the test is not run (its tables hold LFs² counts per thread).
pub(crate) const MAX_LFS: usize = 2_048;

/// The outcome of the pairwise test of local independence of a fitted generative model.
#[derive(Debug, Clone, PartialEq)]
pub struct IndependenceTest {
    /// Σ z² over the pairwise statistics.
    pub statistic: f64,
    /// Number of pairwise statistics (the degrees of freedom).
    pub df: usize,
    /// Upper-tail probability of `statistic` under χ²(`df`) (Wilson–Hilferty approximation); 1
    /// when there is nothing to test.
    pub p_value: f64,
    /// The pairs of LFs `(i, j, z²)` with the largest residuals, largest first (at most 5): where
    /// the fitted model misses most. A dependency between two LFs can show up at other pairs,
    /// since maximum likelihood bends the other LFs' parameters to explain it (two LFs that copy
    /// each other are learned as nearly perfect, and the others then disagree with them).
    pub worst_pairs: Vec<(usize, usize, f64)>,
}

impl IndependenceTest {
    /// `statistic / df`: about 1 when the model's assumptions hold (0 with nothing to test).
    pub fn ratio(&self) -> f64 {
        if self.df == 0 {
            0.0
        } else {
            self.statistic / self.df as f64
        }
    }
}

/// Runs the test (nothing to test, `df` 0, above [`MAX_LFS`] LFs). `prior` is the class prior over end labels; `vote[j]` is LF j's K × k_t table
/// of `P(vote = v | end label y)` (row-major, y major).
pub(crate) fn test(lay: &Layout, prior: &[f64], vote: &[Vec<f64>], pats: &Patterns<'_>, n: f64) -> IndependenceTest {
    let m = lay.m();
    if m > MAX_LFS {
        return IndependenceTest { statistic: 0.0, df: 0, p_value: 1.0, worst_pairs: Vec::new() };
    }
    let k = lay.k;
    let t = lay.n_tasks;
    // Which (a, b) label pairs of tasks (s, u) some end label has.
    let mut consistent: Vec<Vec<(usize, usize)>> = vec![Vec::new(); t * t];
    for y in 0..k {
        for s in 0..t {
            for u in 0..t {
                let (a, b) = (lay.y_t(y, s), lay.y_t(y, u));
                if a != NULL && b != NULL {
                    let pair = (usize::from(a), usize::from(b));
                    if !consistent[s * t + u].contains(&pair) {
                        consistent[s * t + u].push(pair);
                    }
                }
            }
        }
    }
    // A task's labels are 0..card, card being one more than the largest label an end label has.
    let card: Vec<usize> = (0..t)
        .map(|s| (0..k).map(|y| lay.y_t(y, s)).filter(|&v| v != NULL).map(|v| usize::from(v) + 1).max().unwrap_or(0))
        .collect();
    // 1.0 where label a of task s and label b of task u are consistent, at
    // `(s * t + u) * cc + a * cmax + b`.
    let cmax = card.iter().copied().max().unwrap_or(0);
    let cc = cmax * cmax;
    let mut is_consistent = vec![0.0; t * t * cc];
    for (su, pairs) in consistent.iter().enumerate() {
        for &(a, b) in pairs {
            is_consistent[su * cc + a * cmax + b] = 1.0;
        }
    }

    // Observed: items where both vote, and where both vote consistently (upper triangle; a
    // pattern's LFs are sorted).
    let chunk = 4096;
    let zeros = || (vec![0.0; m * m], vec![0.0; m * m]);
    let (both, agree) = (0..pats.len())
        .into_par_iter()
        .step_by(chunk)
        .map(|start| {
            let (mut both, mut agree) = zeros();
            let mut votes: Vec<(usize, usize, usize)> = Vec::new();
            for p in start..(start + chunk).min(pats.len()) {
                let c = pats.counts()[p];
                let (lfs, labels) = pats.pattern(p);
                votes.clear();
                votes.extend(lfs.iter().zip(labels).map(|(&j, &v)| {
                    let j = j as usize;
                    (j, usize::from(v), lay.lf_task[j])
                }));
                for (x, &(i, a, s)) in votes.iter().enumerate() {
                    let row = i * m;
                    let cons = s * t * cc + a * cmax;
                    for &(j, b, u) in &votes[x + 1..] {
                        both[row + j] += c;
                        agree[row + j] += c * is_consistent[cons + u * cc + b];
                    }
                }
            }
            (both, agree)
        })
        .reduce(zeros, |(mut b1, mut a1), (b2, a2)| {
            b1.iter_mut().zip(&b2).for_each(|(x, y)| *x += y);
            a1.iter_mut().zip(&a2).for_each(|(x, y)| *x += y);
            (b1, a1)
        });

    // Expected, per end label: each LF's firing probability.
    let fire: Vec<Vec<f64>> = (0..m)
        .map(|j| {
            let kt = lay.lf_card[j];
            (0..k).map(|y| vote[j][y * kt..(y + 1) * kt].iter().sum()).collect()
        })
        .collect();
    let pairs: Vec<(usize, usize, f64, usize)> = (0..m)
        .into_par_iter()
        .flat_map_iter(|i| {
            let fire = &fire;
            let consistent = &consistent;
            let both = &both;
            let agree = &agree;
            (i + 1..m).map(move |j| {
                let p_both: f64 = (0..k).map(|y| prior[y] * fire[i][y] * fire[j][y]).sum();
                let e_both = n * p_both;
                let mut s = 0.0;
                let mut count = 0;
                if e_both >= MIN_EXPECTED && n - e_both >= MIN_EXPECTED {
                    let o = both[i * m + j];
                    s += (o - e_both).powi(2) / (e_both * (1.0 - p_both));
                    count += 1;
                }
                let pairs = &consistent[lay.lf_task[i] * lay.n_tasks + lay.lf_task[j]];
                let (ki, kj) = (lay.lf_card[i], lay.lf_card[j]);
                let p_agree: f64 = (0..k)
                    .map(|y| {
                        prior[y] * pairs.iter().map(|&(a, b)| vote[i][y * ki + a] * vote[j][y * kj + b]).sum::<f64>()
                    })
                    .sum();
                let o_both = both[i * m + j];
                if p_both > 0.0 {
                    let r = (p_agree / p_both).clamp(0.0, 1.0);
                    if o_both * r >= MIN_EXPECTED && o_both * (1.0 - r) >= MIN_EXPECTED {
                        s += (agree[i * m + j] - o_both * r).powi(2) / (o_both * r * (1.0 - r));
                        count += 1;
                    }
                }
                (i, j, s, count)
            })
        })
        .filter(|&(_, _, _, c)| c > 0)
        .collect();
    let statistic: f64 = pairs.iter().map(|x| x.2).sum();
    let df: usize = pairs.iter().map(|x| x.3).sum();
    let mut worst: Vec<(usize, usize, f64)> = pairs.iter().map(|&(i, j, s, _)| (i, j, s)).collect();
    worst.sort_by(|a, b| b.2.total_cmp(&a.2));
    worst.truncate(5);
    IndependenceTest { statistic, df, p_value: chi2_upper(statistic, df), worst_pairs: worst }
}

/// Upper tail of χ²(df) at `x` by the Wilson–Hilferty cube-root normal approximation (accurate
/// to about 1e-3 in p for df ≥ 3; 1 when df = 0).
fn chi2_upper(x: f64, df: usize) -> f64 {
    if df == 0 {
        return 1.0;
    }
    let d = df as f64;
    let v = 2.0 / (9.0 * d);
    let z = ((x / d).cbrt() - (1.0 - v)) / v.sqrt();
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Chebyshev fit, relative error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;
    use crate::label_matrix::{LabelMatrix, LfInfo};
    use crate::label_model::{Hierarchical, LabelModel};
    use crate::schema::TaskGraph;

    #[test]
    fn chi_square_tail() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-6);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-6);
        // Quantiles of χ²: 23.209 is the 0.99 quantile at 10 degrees of freedom, 135.807 at 100.
        assert!((chi2_upper(23.209, 10) - 0.01).abs() < 1e-3);
        assert!((chi2_upper(135.807, 100) - 0.01).abs() < 1e-3);
        assert!((chi2_upper(99.334, 100) - 0.5).abs() < 2e-3);
        assert_eq!(chi2_upper(5.0, 0), 1.0);
    }

    /// Votes of `m` LFs on two classes, each LF right with probability `acc` when it fires; with
    /// `copies`, LF 1 repeats LF 0's vote whenever both fire (a dependency the label does not
    /// explain).
    fn votes(n: usize, m: usize, copies: bool, seed: u64) -> LabelMatrix {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut dense = ndarray::Array2::<i16>::from_elem((n, m), -1);
        for i in 0..n {
            let y = i16::from(rng.gen_bool(0.4));
            for j in 0..m {
                if rng.gen_bool(0.5) {
                    let acc = 0.6 + 0.03 * (j % 10) as f64;
                    dense[[i, j]] = if rng.gen_bool(acc) { y } else { 1 - y };
                }
            }
            if copies && dense[[i, 0]] >= 0 && dense[[i, 1]] >= 0 {
                dense[[i, 1]] = dense[[i, 0]];
            }
        }
        let graph = Arc::new(TaskGraph::flat("y", ["a", "b"]).unwrap());
        let lfs = (0..m).map(|j| LfInfo { name: format!("lf{j}"), task: 0 }).collect();
        LabelMatrix::from_dense(graph, lfs, dense.view()).unwrap()
    }

    fn fit_and_test(mat: &LabelMatrix) -> IndependenceTest {
        let fit = Hierarchical { progress: false, ..Hierarchical::default() }.fit(mat).unwrap();
        fit.independence_test(mat).unwrap().unwrap()
    }

    #[test]
    fn votes_from_the_model_pass() {
        for seed in 0..3 {
            let t = fit_and_test(&votes(5000, 8, false, seed));
            assert!(t.df >= 40, "{t:?}");
            assert!(t.p_value > 0.01, "seed {seed}: {t:?}");
            assert!(t.ratio() < 1.3, "seed {seed}: {t:?}");
        }
    }

    #[test]
    fn too_many_lfs_are_not_tested() {
        let mat = votes(20, MAX_LFS + 1, false, 0);
        let fit = Hierarchical { progress: false, n_epochs: 1, ..Hierarchical::default() }.fit(&mat).unwrap();
        let t = fit.independence_test(&mat).unwrap().unwrap();
        assert_eq!((t.df, t.p_value), (0, 1.0));
    }

    #[test]
    fn dependent_lfs_fail() {
        for seed in 0..3 {
            let t = fit_and_test(&votes(5000, 8, true, seed));
            assert!(t.p_value < 1e-6, "seed {seed}: {t:?}");
            assert!(t.worst_pairs.len() == 5 && t.worst_pairs[0].2 >= t.worst_pairs[4].2, "{t:?}");
        }
    }
}
