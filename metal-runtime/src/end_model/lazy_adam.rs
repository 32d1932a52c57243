//! Lazy Adam for parameters with sparse gradients (the rows of a bag-of-words layer).
//!
//! A bag-of-words batch touches a few thousand of the V rows of the input layer. libtorch's Adam
//! updates every row of every parameter at each step, which for V = 20,000 words and 250 outputs
//! is 5 million weights and their two moment estimates per step, most of them with a zero
//! gradient. Lazy Adam (as `torch.optim.SparseAdam`) updates only the rows that received a
//! gradient: their moment estimates and weights follow Adam's rule exactly, and the moments of
//! rows absent from a batch are left as they are instead of decaying. The step count and the
//! bias corrections are global, as in Adam. Weight decay is added to the gradient of the touched
//! rows (Adam's L2 form).

use tch::{TchError, Tensor};

/// One parameter with its moment estimates.
struct Slot {
    param: Tensor,
    m: Tensor,
    v: Tensor,
}

/// The optimizer state over a set of parameters.
pub(super) struct LazyAdam {
    slots: Vec<Slot>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    step: i32,
}

impl LazyAdam {
    /// Lazy Adam over `params` (which must require gradients), with Adam's usual β = (0.9, 0.999)
    /// and ε = 1e-8.
    pub(super) fn new(params: Vec<Tensor>, lr: f64, weight_decay: f64) -> Result<Self, TchError> {
        let slots = params
            .into_iter()
            .map(|param| {
                let m = param.f_zeros_like()?;
                let v = param.f_zeros_like()?;
                Ok(Slot { param, m, v })
            })
            .collect::<Result<Vec<_>, TchError>>()?;
        Ok(LazyAdam { slots, lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay, step: 0 })
    }

    /// Clears the gradients (sparse gradients become empty, so the next backward pass starts
    /// from nothing).
    pub(super) fn zero_grad(&mut self) {
        for slot in &mut self.slots {
            slot.param.zero_grad();
        }
    }

    /// One update from the current gradients. A dense gradient updates every row.
    pub(super) fn step(&mut self) -> Result<(), TchError> {
        if self.slots.is_empty() {
            return Ok(());
        }
        self.step += 1;
        let bias1 = 1.0 - self.beta1.powi(self.step);
        let bias2 = 1.0 - self.beta2.powi(self.step);
        let (lr, beta1, beta2, eps, weight_decay) = (self.lr, self.beta1, self.beta2, self.eps, self.weight_decay);
        tch::no_grad(|| {
            for slot in &mut self.slots {
                let grad = slot.param.grad();
                if !grad.defined() {
                    continue;
                }
                if grad.is_sparse() {
                    let grad = grad.f_coalesce()?;
                    let rows = grad.f_indices()?.f_select(0, 0)?;
                    if rows.size()[0] == 0 {
                        continue;
                    }
                    let mut g = grad.f_values()?;
                    if weight_decay > 0.0 {
                        g = g.f_add(&slot.param.f_index_select(0, &rows)?.f_mul_scalar(weight_decay)?)?;
                    }
                    let m =
                        slot.m.f_index_select(0, &rows)?.f_mul_scalar(beta1)?.f_add(&g.f_mul_scalar(1.0 - beta1)?)?;
                    let v = slot
                        .v
                        .f_index_select(0, &rows)?
                        .f_mul_scalar(beta2)?
                        .f_add(&g.f_square()?.f_mul_scalar(1.0 - beta2)?)?;
                    let _ = slot.m.f_index_copy_(0, &rows, &m)?;
                    let _ = slot.v.f_index_copy_(0, &rows, &v)?;
                    let update = adam_update(&m, &v, bias1, bias2, eps, lr)?;
                    let _ = slot.param.f_index_add_(0, &rows, &update)?;
                } else {
                    let mut g = grad.shallow_clone();
                    if weight_decay > 0.0 {
                        g = g.f_add(&slot.param.f_mul_scalar(weight_decay)?)?;
                    }
                    let _ = slot.m.f_mul_scalar_(beta1)?;
                    let _ = slot.m.f_add_(&g.f_mul_scalar(1.0 - beta1)?)?;
                    let _ = slot.v.f_mul_scalar_(beta2)?;
                    let _ = slot.v.f_add_(&g.f_square()?.f_mul_scalar(1.0 - beta2)?)?;
                    let update = adam_update(&slot.m, &slot.v, bias1, bias2, eps, lr)?;
                    let _ = slot.param.f_add_(&update)?;
                }
            }
            Ok(())
        })
    }
}

/// −lr · m̂ / (√v̂ + ε) with the bias-corrected moments m̂ = m / bias1, v̂ = v / bias2.
fn adam_update(m: &Tensor, v: &Tensor, bias1: f64, bias2: f64, eps: f64, lr: f64) -> Result<Tensor, TchError> {
    let denom = v.f_div_scalar(bias2)?.f_sqrt()?.f_add_scalar(eps)?;
    m.f_div(&denom)?.f_mul_scalar(-lr / bias1)
}

#[cfg(test)]
mod tests {
    use tch::{Device, Kind, Tensor};

    use super::LazyAdam;

    /// On rows that every step touches, lazy Adam is Adam: compare with libtorch's optimizer on
    /// a dense copy of the same problem.
    #[test]
    fn matches_adam_on_touched_rows() {
        use tch::nn::{self, OptimizerConfig};
        let init = Tensor::from_slice(&[0.5f32, -0.2, 0.1, 0.3, -0.4, 0.2]).view([3, 2]);
        let idx = Tensor::from_slice(&[0i64, 2, 2]);
        let offsets = Tensor::from_slice(&[0i64, 1]);
        let w = Tensor::from_slice(&[1.0f32, 2.0, 0.5]);
        let target = Tensor::from_slice(&[1.0f32, -1.0, 0.5, 0.25]).view([2, 2]);

        let sparse_w = init.copy().set_requires_grad(true);
        let mut lazy = LazyAdam::new(vec![sparse_w.shallow_clone()], 0.05, 0.01).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let dense_w = vs.root().var_copy("w", &init);
        let mut adam = nn::adam(0.9, 0.999, 0.01).build(&vs, 0.05).unwrap();
        for _ in 0..5 {
            let loss = |weight: &Tensor, sparse: bool| {
                let out = Tensor::embedding_bag(weight, &idx, &offsets, false, 0, sparse, Some(&w), false).0;
                (out - &target).square().sum(Kind::Float)
            };
            lazy.zero_grad();
            loss(&sparse_w, true).backward();
            assert!(sparse_w.grad().is_sparse());
            lazy.step().unwrap();
            adam.zero_grad();
            loss(&dense_w, false).backward();
            adam.step();
            // Row 1 is never touched: lazy Adam leaves it alone, Adam moves it by weight decay only.
            let diff = (sparse_w.select(0, 0) - dense_w.select(0, 0)).abs().max().double_value(&[])
                + (sparse_w.select(0, 2) - dense_w.select(0, 2)).abs().max().double_value(&[]);
            assert!(diff < 1e-6, "touched rows differ by {diff}");
        }
        let untouched = (sparse_w.select(0, 1) - init.select(0, 1)).abs().max().double_value(&[]);
        assert_eq!(untouched, 0.0);
    }
}
