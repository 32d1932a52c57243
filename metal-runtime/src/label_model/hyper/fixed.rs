//! The network's forward pass with its layer widths fixed at compile time (1 → 8 → 8 → 8 → 32,
//! the embedded checkpoint's), so that each entry's update is a fully unrolled small matrix
//! product on stack arrays.

use rayon::prelude::*;

use super::{leaky, Layer, Network, Patterns, LEAKY_SLOPE};

/// Patterns per work unit of the column sums; fixed so that the summation order, and so the
/// result, does not depend on the number of threads.
const CHUNK: usize = 2048;

/// Work units whose partial sums are held at once (bounds memory with many LFs).
const CHUNKS_PER_BATCH: usize = 16;

/// One GNN layer from `D` to `O` dimensions (see [`Layer`]).
#[derive(Debug, Clone)]
#[allow(clippy::needless_range_loop)]
pub(super) struct FixedLayer<const D: usize, const O: usize> {
    a_self_t: [[f64; O]; D],
    a_row_t: [[f64; O]; D],
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
                a_self_t[x][o] = layer.a_self_t[x * O + o];
                a_row_t[x][o] = layer.a_row_t[x * O + o];
            }
        }
        let mut bias = [0.0; O];
        bias.copy_from_slice(&layer.bias);
        Ok(FixedLayer { a_self_t, a_row_t, a_col: layer.a_col.clone(), a_all: layer.a_all.clone(), bias })
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
            .map(|(s, &c)| if c > 0.0 { mat_vec(&self.a_col, &s.map(|x| x / c)) } else { [0.0; O] })
            .collect();
        let mut shared = mat_vec(&self.a_all, &all);
        shared.iter_mut().zip(&self.bias).for_each(|(a, b)| *a += b);
        Stats { col_term, shared }
    }

    /// The layer's output for the entries `h` of one pattern (LFs `js`) into `out`.
    fn step(&self, st: &Stats<O>, h: &[[f64; D]], js: &[u32], out: &mut Vec<[f64; O]>) {
        let n = h.len() as f64;
        let mut mean = [0.0; D];
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
        for (e, &j) in h.iter().zip(js) {
            let col = &st.col_term[j as usize];
            let mut y = [0.0; O];
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
                *v = v.max(0.0) + LEAKY_SLOPE * v.min(0.0);
            }
            out.push(y);
        }
    }
}

/// What the whole matrix contributes to a layer's update.
struct Stats<const O: usize> {
    col_term: Vec<[f64; O]>,
    shared: [f64; O],
}

/// The embedded architecture with its widths fixed.
#[derive(Debug, Clone)]
pub(super) struct FixedNetwork {
    pub(super) l0: FixedLayer<1, 8>,
    pub(super) l1: FixedLayer<8, 8>,
    pub(super) l2: FixedLayer<8, 8>,
    pub(super) l3: FixedLayer<8, 32>,
}

impl FixedNetwork {
    pub(super) fn new(layers: &[Layer]) -> Result<Self, String> {
        let [a, b, c, d] = layers else { return Err(format!("{} GNN layers, where 4 are expected", layers.len())) };
        Ok(FixedNetwork {
            l0: FixedLayer::new(a)?,
            l1: FixedLayer::new(b)?,
            l2: FixedLayer::new(c)?,
            l3: FixedLayer::new(d)?,
        })
    }
}

/// Per-thread buffers for one pattern's entries at each width.
#[derive(Default)]
struct Scratch {
    h0: Vec<[f64; 1]>,
    h1: Vec<[f64; 8]>,
    h2: Vec<[f64; 8]>,
    h3: Vec<[f64; 8]>,
    h4: Vec<[f64; 32]>,
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
/// each vote's value.
#[derive(Clone, Copy)]
struct Input<'p, 'a> {
    pats: &'p Patterns<'a>,
    counts: &'p [f64],
    m: usize,
    value: &'p (dyn Fn(u32, u16) -> f64 + Sync),
}

/// Count-weighted column sums of the entries' embeddings after `depth` layers (`get` picks the
/// buffer of that width), summed chunk by chunk in a fixed order.
fn col_sums<const D: usize>(
    net: &FixedNetwork,
    known: &Known,
    depth: usize,
    input: &Input<'_, '_>,
    get: fn(&Scratch) -> &[[f64; D]],
) -> Vec<[f64; D]> {
    let Input { pats, counts, m, value } = *input;
    let n_pat = pats.len();
    let n_chunks = n_pat.div_ceil(CHUNK);
    let mut total = vec![[0.0; D]; m];
    for batch in (0..n_chunks).collect::<Vec<_>>().chunks(CHUNKS_PER_BATCH) {
        let partial: Vec<Vec<[f64; D]>> = batch
            .par_iter()
            .map_init(Scratch::default, |sc, &ch| {
                let mut acc = vec![[0.0; D]; m];
                let first = ch * CHUNK;
                for (p, &c) in counts.iter().enumerate().take((first + CHUNK).min(n_pat)).skip(first) {
                    let (js, vs) = pats.pattern(p);
                    if js.is_empty() {
                        continue;
                    }
                    sc.h0.clear();
                    sc.h0.extend(js.iter().zip(vs).map(|(&j, &v)| [value(j, v)]));
                    run_to(net, known, depth, js, sc);
                    for (h, &j) in get(sc).iter().zip(js) {
                        acc[j as usize].iter_mut().zip(h).for_each(|(a, x)| *a += c * x);
                    }
                }
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

/// The network's output (probability of the positive class) for each pattern on the ±1 matrix
/// given by `value(lf, label)`; 0 for patterns with no vote.
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
    value: &(dyn Fn(u32, u16) -> f64 + Sync),
) -> Vec<f64> {
    let f = &net.fixed;
    let m = col_count.len();
    let mut known = Known::default();
    let input = Input { pats, counts, m, value };
    let sums = col_sums::<1>(f, &known, 0, &input, |s| &s.h0);
    known.s0 = Some(f.l0.stats(&sums, col_count, n_votes));
    let sums = col_sums::<8>(f, &known, 1, &input, |s| &s.h1);
    known.s1 = Some(f.l1.stats(&sums, col_count, n_votes));
    let sums = col_sums::<8>(f, &known, 2, &input, |s| &s.h2);
    known.s2 = Some(f.l2.stats(&sums, col_count, n_votes));
    let sums = col_sums::<8>(f, &known, 3, &input, |s| &s.h3);
    known.s3 = Some(f.l3.stats(&sums, col_count, n_votes));
    let [c0, c1, c2] = &net.classify;
    (0..pats.len())
        .into_par_iter()
        .with_min_len(256)
        .map_init(Scratch::default, |sc, p| {
            let (js, vs) = pats.pattern(p);
            if js.is_empty() {
                return 0.0;
            }
            sc.h0.clear();
            sc.h0.extend(js.iter().zip(vs).map(|(&j, &v)| [value(j, v)]));
            run_to(f, &known, 4, js, sc);
            let mut mean = [0.0; 32];
            for h in &sc.h4 {
                mean.iter_mut().zip(h).for_each(|(a, x)| *a += x);
            }
            let n = js.len() as f64;
            mean.iter_mut().for_each(|x| *x /= n);
            let mut a = vec![0.0; c0.d_out];
            c0.apply(&mean, &mut a);
            a.iter_mut().for_each(|v| *v = leaky(*v));
            let mut b = vec![0.0; c1.d_out];
            c1.apply(&a, &mut b);
            b.iter_mut().for_each(|v| *v = leaky(*v));
            let mut z = [0.0];
            c2.apply(&b, &mut z);
            1.0 / (1.0 + (-z[0]).exp())
        })
        .collect()
}
