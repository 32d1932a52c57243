//! The network's forward pass with its layer widths fixed at compile time (1 → 8 → 8 → 8 → 32,
//! the embedded checkpoint's), so that each entry's update is a fully unrolled small matrix
//! product on stack arrays.
//!
//! Entries' embeddings are `f32` (eight lanes fit one 256-bit register); the column and global
//! sums, and everything computed from them, are `f64`. On x86-64 processors with AVX2 the
//! per-pattern work is compiled a second time with AVX2 enabled and chosen at run time. Both
//! versions do the same `f32` multiplications and additions in the same order (no fused
//! multiply-add), so they give bit-identical results.

use rayon::prelude::*;

use super::{leaky, Dense, Layer, Network, Patterns, LEAKY_SLOPE};

/// Patterns per work unit of the column sums; fixed so that the summation order, and so the
/// result, does not depend on the number of threads.
const CHUNK: usize = 2048;

/// Work units whose partial sums are held at once (bounds memory with many LFs).
const CHUNKS_PER_BATCH: usize = 16;

/// One GNN layer from `D` to `O` dimensions (see [`Layer`]).
#[derive(Debug, Clone)]
#[allow(clippy::needless_range_loop)]
pub(super) struct FixedLayer<const D: usize, const O: usize> {
    a_self_t: [[f32; O]; D],
    a_row_t: [[f32; O]; D],
    /// `O × D`, row-major.
    a_col: Vec<f64>,
    a_all: Vec<f64>,
    bias: [f64; O],
}

#[allow(clippy::needless_range_loop)] // index loops over fixed-size arrays unroll without bounds checks
impl<const D: usize, const O: usize> FixedLayer<D, O> {
    pub(super) fn new(layer: &Layer) -> Result<Self, String> {
        if layer.d_in != D || layer.d_out != O {
            return Err(format!("a layer is {} → {}, where {D} → {O} is expected", layer.d_in, layer.d_out));
        }
        let mut a_self_t = [[0.0; O]; D];
        let mut a_row_t = [[0.0; O]; D];
        for x in 0..D {
            for o in 0..O {
                a_self_t[x][o] = layer.a_self_t[x * O + o] as f32;
                a_row_t[x][o] = layer.a_row_t[x * O + o] as f32;
            }
        }
        let mut bias = [0.0; O];
        bias.copy_from_slice(&layer.bias);
        Ok(FixedLayer { a_self_t, a_row_t, a_col: layer.a_col.clone(), a_all: layer.a_all.clone(), bias })
    }

    #[cfg(test)]
    pub(super) fn width(&self) -> (usize, usize) {
        (D, O)
    }

    /// The whole matrix's contribution: `a_col·mean_col(j)` per LF and `a_all·mean_all + bias`,
    /// from the count-weighted column sums of this layer's inputs.
    fn stats(&self, col_sum: &[[f64; D]], col_count: &[f64], n_votes: f64) -> Stats<O> {
        let mut all = [0.0; D];
        for s in col_sum {
            all.iter_mut().zip(s).for_each(|(a, x)| *a += x);
        }
        all.iter_mut().for_each(|x| *x /= n_votes.max(f64::MIN_POSITIVE));
        let mat_vec = |a: &[f64], v: &[f64; D]| -> [f64; O] {
            let mut y = [0.0; O];
            for (o, y) in y.iter_mut().enumerate() {
                *y = (0..D).map(|x| a[o * D + x] * v[x]).sum();
            }
            y
        };
        let col_term = col_sum
            .iter()
            .zip(col_count)
            .map(|(s, &c)| if c > 0.0 { mat_vec(&self.a_col, &s.map(|x| x / c)).map(|v| v as f32) } else { [0.0; O] })
            .collect();
        let mut shared = mat_vec(&self.a_all, &all);
        shared.iter_mut().zip(&self.bias).for_each(|(a, b)| *a += b);
        Stats { col_term, shared: shared.map(|v| v as f32) }
    }

    /// The layer's output for the entries `h` of one pattern (LFs `js`) into `out`.
    #[inline(always)]
    fn step(&self, st: &Stats<O>, h: &[[f32; D]], js: &[u32], out: &mut Vec<[f32; O]>) {
        let n = h.len() as f32;
        let mut mean = [0.0f32; D];
        for e in h {
            for x in 0..D {
                mean[x] += e[x];
            }
        }
        let mut row = st.shared;
        for x in 0..D {
            let v = mean[x] / n;
            for o in 0..O {
                row[o] += v * self.a_row_t[x][o];
            }
        }
        out.clear();
        out.resize(h.len(), [0.0; O]);
        for ((e, &j), out) in h.iter().zip(js).zip(out.iter_mut()) {
            let col = &st.col_term[j as usize];
            let mut y = [0.0f32; O];
            for o in 0..O {
                y[o] = row[o] + col[o];
            }
            for x in 0..D {
                let v = e[x];
                for o in 0..O {
                    y[o] += v * self.a_self_t[x][o];
                }
            }
            for v in &mut y {
                *v = v.max(0.0) + LEAKY_SLOPE as f32 * v.min(0.0);
            }
            *out = y;
        }
    }
}

/// What the whole matrix contributes to a layer's update.
struct Stats<const O: usize> {
    col_term: Vec<[f32; O]>,
    shared: [f32; O],
}

/// A dense layer `y = W x + b` of the classifier, `W` stored transposed so that the outputs are
/// updated side by side (the sum for each output is taken in the order of its inputs).
#[derive(Debug, Clone)]
#[allow(clippy::needless_range_loop)]
struct FixedDense<const I: usize, const O: usize> {
    w_t: [[f64; O]; I],
    b: [f64; O],
}

#[allow(clippy::needless_range_loop)]
impl<const I: usize, const O: usize> FixedDense<I, O> {
    fn new(dense: &Dense) -> Result<Self, String> {
        if dense.d_in != I || dense.d_out != O {
            return Err(format!("a classifier layer is {} → {}, where {I} → {O} is expected", dense.d_in, dense.d_out));
        }
        let mut w_t = [[0.0; O]; I];
        for o in 0..O {
            for i in 0..I {
                w_t[i][o] = dense.w[o * I + i];
            }
        }
        let mut b = [0.0; O];
        b.copy_from_slice(&dense.b);
        Ok(FixedDense { w_t, b })
    }

    #[inline(always)]
    fn apply(&self, x: &[f64; I]) -> [f64; O] {
        let mut y = self.b;
        for i in 0..I {
            let v = x[i];
            for o in 0..O {
                y[o] += self.w_t[i][o] * v;
            }
        }
        y
    }
}

/// The embedded architecture with its widths fixed.
#[derive(Debug, Clone)]
pub(super) struct FixedNetwork {
    pub(super) l0: FixedLayer<1, 8>,
    pub(super) l1: FixedLayer<8, 8>,
    pub(super) l2: FixedLayer<8, 8>,
    pub(super) l3: FixedLayer<8, 32>,
    c0: FixedDense<32, 32>,
    c1: FixedDense<32, 32>,
    c2: FixedDense<32, 1>,
}

impl FixedNetwork {
    pub(super) fn new(layers: &[Layer], classify: &[Dense]) -> Result<Self, String> {
        let [a, b, c, d] = layers else { return Err(format!("{} GNN layers, where 4 are expected", layers.len())) };
        let [c0, c1, c2] = classify else {
            return Err(format!("{} classifier layers, where 3 are expected", classify.len()));
        };
        Ok(FixedNetwork {
            l0: FixedLayer::new(a)?,
            l1: FixedLayer::new(b)?,
            l2: FixedLayer::new(c)?,
            l3: FixedLayer::new(d)?,
            c0: FixedDense::new(c0)?,
            c1: FixedDense::new(c1)?,
            c2: FixedDense::new(c2)?,
        })
    }
}

/// Per-thread buffers for one pattern's entries at each width.
#[derive(Default)]
struct Scratch {
    h0: Vec<[f32; 1]>,
    h1: Vec<[f32; 8]>,
    h2: Vec<[f32; 8]>,
    h3: Vec<[f32; 8]>,
    h4: Vec<[f32; 32]>,
}

/// Statistics of the layers known so far.
#[derive(Default)]
struct Known {
    s0: Option<Stats<8>>,
    s1: Option<Stats<8>>,
    s2: Option<Stats<8>>,
    s3: Option<Stats<32>>,
}

/// Runs pattern `p` through the first `depth` layers (its ±1 values in `sc.h0`).
#[inline(always)]
fn run_to(net: &FixedNetwork, known: &Known, depth: usize, js: &[u32], sc: &mut Scratch) {
    let Scratch { h0, h1, h2, h3, h4 } = sc;
    if depth >= 1 {
        if let Some(s) = &known.s0 {
            net.l0.step(s, h0, js, h1);
        }
    }
    if depth >= 2 {
        if let Some(s) = &known.s1 {
            net.l1.step(s, h1, js, h2);
        }
    }
    if depth >= 3 {
        if let Some(s) = &known.s2 {
            net.l2.step(s, h2, js, h3);
        }
    }
    if depth >= 4 {
        if let Some(s) = &known.s3 {
            net.l3.step(s, h3, js, h4);
        }
    }
}

/// The ±1 matrix a forward pass reads: the patterns with their counts, the number of LFs, and
/// per LF the vote that counts +1 (`u32::MAX` for none; every other vote counts −1).
#[derive(Clone, Copy)]
struct Input<'p, 'a> {
    pats: &'p Patterns<'a>,
    counts: &'p [f64],
    m: usize,
    positive: &'p [u32],
}

impl Input<'_, '_> {
    /// Puts pattern `p`'s ±1 values into `sc.h0` and returns its LFs.
    #[inline(always)]
    fn load(&self, p: usize, sc: &mut Scratch) -> &[u32] {
        let (js, vs) = self.pats.pattern(p);
        sc.h0.clear();
        sc.h0.resize(js.len(), [0.0]);
        for ((h, &j), &v) in sc.h0.iter_mut().zip(js).zip(vs) {
            h[0] = if self.positive[j as usize] == u32::from(v) { 1.0 } else { -1.0 };
        }
        js
    }
}

/// One pass of the column sums: the layers to run and the buffer whose embeddings are summed.
#[derive(Clone, Copy)]
struct Pass<'n, const D: usize> {
    net: &'n FixedNetwork,
    known: &'n Known,
    depth: usize,
    get: fn(&Scratch) -> &[[f32; D]],
}

/// Adds the count-weighted embeddings after `pass.depth` layers of patterns `range` to `acc`
/// (one row per LF).
#[inline(always)]
fn add_chunk<const D: usize>(
    pass: Pass<'_, D>,
    input: &Input<'_, '_>,
    range: std::ops::Range<usize>,
    sc: &mut Scratch,
    acc: &mut [[f64; D]],
) {
    for p in range {
        let c = input.counts[p];
        let js = input.load(p, sc);
        if js.is_empty() {
            continue;
        }
        run_to(pass.net, pass.known, pass.depth, js, sc);
        for (h, &j) in (pass.get)(sc).iter().zip(js) {
            acc[j as usize].iter_mut().zip(h).for_each(|(a, &x)| *a += c * f64::from(x));
        }
    }
}

/// [`add_chunk`] compiled with AVX2 (same operations, wider registers).
///
/// # Safety
/// The processor must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn add_chunk_avx2<const D: usize>(
    pass: Pass<'_, D>,
    input: &Input<'_, '_>,
    range: std::ops::Range<usize>,
    sc: &mut Scratch,
    acc: &mut [[f64; D]],
) {
    add_chunk(pass, input, range, sc, acc);
}

/// Makes [`has_avx2`] answer no, so that tests can compare both versions.
#[cfg(test)]
static PLAIN_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the AVX2 versions may run on this processor.
fn has_avx2() -> bool {
    #[cfg(test)]
    if PLAIN_ONLY.load(std::sync::atomic::Ordering::SeqCst) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Count-weighted column sums of the entries' embeddings after `depth` layers (`get` picks the
/// buffer of that width), summed chunk by chunk in a fixed order.
fn col_sums<const D: usize>(
    net: &FixedNetwork,
    known: &Known,
    depth: usize,
    input: &Input<'_, '_>,
    get: fn(&Scratch) -> &[[f32; D]],
) -> Vec<[f64; D]> {
    let (n_pat, m) = (input.pats.len(), input.m);
    let n_chunks = n_pat.div_ceil(CHUNK);
    let avx2 = has_avx2();
    let pass = Pass { net, known, depth, get };
    let mut total = vec![[0.0; D]; m];
    for batch in (0..n_chunks).collect::<Vec<_>>().chunks(CHUNKS_PER_BATCH) {
        let partial: Vec<Vec<[f64; D]>> = batch
            .par_iter()
            .map_init(Scratch::default, |sc, &ch| {
                let mut acc = vec![[0.0; D]; m];
                let range = ch * CHUNK..((ch + 1) * CHUNK).min(n_pat);
                #[cfg(target_arch = "x86_64")]
                if avx2 {
                    // SAFETY: `has_avx2` checked that the processor supports AVX2.
                    unsafe { add_chunk_avx2(pass, input, range, sc, &mut acc) };
                    return acc;
                }
                add_chunk(pass, input, range, sc, &mut acc);
                acc
            })
            .collect();
        for part in &partial {
            for (t, p) in total.iter_mut().zip(part) {
                t.iter_mut().zip(p).for_each(|(a, b)| *a += b);
            }
        }
    }
    total
}

/// [`col_sums`] of the ±1 input values themselves (no layer to run): the same sums in the same
/// order, straight from the votes.
fn input_col_sums(input: &Input<'_, '_>) -> Vec<[f64; 1]> {
    let (n_pat, m) = (input.pats.len(), input.m);
    let mut total = vec![[0.0]; m];
    for batch in (0..n_pat.div_ceil(CHUNK)).collect::<Vec<_>>().chunks(CHUNKS_PER_BATCH) {
        let partial: Vec<Vec<f64>> = batch
            .par_iter()
            .map(|&ch| {
                let mut acc = vec![0.0; m];
                for p in ch * CHUNK..((ch + 1) * CHUNK).min(n_pat) {
                    let c = input.counts[p];
                    let (js, vs) = input.pats.pattern(p);
                    for (&j, &v) in js.iter().zip(vs) {
                        let x = if input.positive[j as usize] == u32::from(v) { 1.0 } else { -1.0 };
                        acc[j as usize] += c * x;
                    }
                }
                acc
            })
            .collect();
        for part in &partial {
            total.iter_mut().zip(part).for_each(|(t, p)| t[0] += p);
        }
    }
    total
}

/// The network's output for pattern `p` (which has at least one vote): the mean of its
/// entries' last-layer embeddings through the classifier.
#[inline(always)]
fn score(net: &FixedNetwork, known: &Known, input: &Input<'_, '_>, p: usize, sc: &mut Scratch) -> f64 {
    let js = input.load(p, sc);
    run_to(net, known, 4, js, sc);
    let mut sum = [0.0f32; 32];
    for h in &sc.h4 {
        sum.iter_mut().zip(h).for_each(|(a, x)| *a += x);
    }
    let n = js.len() as f64;
    let mean = sum.map(|s| f64::from(s) / n);
    let a = net.c0.apply(&mean).map(leaky);
    let b = net.c1.apply(&a).map(leaky);
    let [z] = net.c2.apply(&b);
    1.0 / (1.0 + (-z).exp())
}

/// [`score`] compiled with AVX2.
///
/// # Safety
/// The processor must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn score_avx2(net: &FixedNetwork, known: &Known, input: &Input<'_, '_>, p: usize, sc: &mut Scratch) -> f64 {
    score(net, known, input, p, sc)
}

/// The network's output (probability of the positive class) for each pattern on the ±1 matrix
/// with +1 where LF `j` votes `positive[j]` and −1 for its other votes; 0 for patterns with no
/// vote.
///
/// An entry's embedding after a layer depends only on its pattern's entries and on the column
/// and global means of the earlier layers, so each pass recomputes a pattern's embeddings from
/// its values with the statistics known so far: memory stays at one pattern's embeddings per
/// thread instead of one per vote.
pub(super) fn forward(
    net: &Network,
    pats: &Patterns<'_>,
    counts: &[f64],
    col_count: &[f64],
    n_votes: f64,
    positive: &[Option<u16>],
) -> Vec<f64> {
    let f = &net.fixed;
    let m = col_count.len();
    let mut known = Known::default();
    let positive: Vec<u32> = positive.iter().map(|v| v.map_or(u32::MAX, u32::from)).collect();
    let input = Input { pats, counts, m, positive: &positive };
    let sums = input_col_sums(&input);
    known.s0 = Some(f.l0.stats(&sums, col_count, n_votes));
    let sums = col_sums::<8>(f, &known, 1, &input, |s| &s.h1);
    known.s1 = Some(f.l1.stats(&sums, col_count, n_votes));
    let sums = col_sums::<8>(f, &known, 2, &input, |s| &s.h2);
    known.s2 = Some(f.l2.stats(&sums, col_count, n_votes));
    let sums = col_sums::<8>(f, &known, 3, &input, |s| &s.h3);
    known.s3 = Some(f.l3.stats(&sums, col_count, n_votes));
    let avx2 = has_avx2();
    (0..pats.len())
        .into_par_iter()
        .with_min_len(256)
        .map_init(Scratch::default, |sc, p| {
            if pats.pattern(p).0.is_empty() {
                return 0.0;
            }
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: `has_avx2` checked that the processor supports AVX2.
                return unsafe { score_avx2(f, &known, &input, p, sc) };
            }
            score(f, &known, &input, p, sc)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label_model::tests::tree_matrix;

    /// The AVX2 and the plain versions do the same operations in the same order: the outputs
    /// are bit-identical. (Other tests running meanwhile may take the plain version too, which
    /// is what this test checks to be harmless.)
    #[test]
    fn avx2_and_plain_versions_agree_bit_for_bit() {
        let mat = tree_matrix();
        let net = super::super::network().unwrap();
        let pats = Patterns::new(&mat);
        let counts: Vec<f64> = (0..pats.len()).map(|p| 1.0 + p as f64).collect();
        let mut col_count = vec![0.0; mat.n_lfs()];
        let mut n_votes = 0.0;
        for (p, &c) in counts.iter().enumerate() {
            for &j in pats.pattern(p).0 {
                col_count[j as usize] += c;
                n_votes += c;
            }
        }
        let positive: Vec<Option<u16>> = (0..mat.n_lfs()).map(|j| Some((j % 2) as u16)).collect();
        let fast = forward(net, &pats, &counts, &col_count, n_votes, &positive);
        PLAIN_ONLY.store(true, std::sync::atomic::Ordering::SeqCst);
        let plain = forward(net, &pats, &counts, &col_count, n_votes, &positive);
        PLAIN_ONLY.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            fast.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            plain.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert!(fast.iter().any(|&x| x > 0.0 && x < 1.0), "{fast:?}");
    }
}
