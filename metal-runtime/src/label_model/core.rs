//! Numerical pieces every label model shares: Adam, softmax and log-sum-exp.

/// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) over a flat parameter vector.
pub(crate) struct Adam {
    lr: f64,
    t: i32,
    m1: Vec<f64>,
    m2: Vec<f64>,
}

impl Adam {
    const B1: f64 = 0.9;
    const B2: f64 = 0.999;

    /// Adam with learning rate `lr` over `n` parameters.
    pub(crate) fn new(lr: f64, n: usize) -> Self {
        Adam { lr, t: 0, m1: vec![0.0; n], m2: vec![0.0; n] }
    }

    /// Starts a step.
    pub(crate) fn tick(&mut self) {
        self.t += 1;
    }

    /// The new value of parameter `i` at `x` with gradient `g`.
    pub(crate) fn step(&mut self, i: usize, x: f64, g: f64) -> f64 {
        self.m1[i] = Self::B1 * self.m1[i] + (1.0 - Self::B1) * g;
        self.m2[i] = Self::B2 * self.m2[i] + (1.0 - Self::B2) * g * g;
        let mh = self.m1[i] / (1.0 - Self::B1.powi(self.t));
        let vh = self.m2[i] / (1.0 - Self::B2.powi(self.t));
        x - self.lr * mh / (vh.sqrt() + 1e-8)
    }
}

/// `exp(x) / Σ exp(x)`, computed from the maximum.
pub(crate) fn softmax(x: &[f64]) -> Vec<f64> {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - max).exp()).collect();
    let z: f64 = e.iter().sum();
    e.into_iter().map(|v| v / z).collect()
}

/// `log Σ exp(x)`, computed from the maximum; `-∞` (or the non-finite maximum) when it is not
/// finite.
pub(crate) fn log_sum_exp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + x.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_and_log_sum_exp_agree() {
        let x = [1.0, -2.0, 1000.0];
        let p = softmax(&x);
        let lse = log_sum_exp(&x);
        for (pi, xi) in p.iter().zip(x) {
            assert!((pi - (xi - lse).exp()).abs() < 1e-12);
        }
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY]), f64::NEG_INFINITY);
    }

    #[test]
    fn adam_first_step_moves_by_the_learning_rate() {
        let mut adam = Adam::new(0.1, 1);
        adam.tick();
        assert!((adam.step(0, 1.0, 5.0) - 0.9).abs() < 1e-6);
    }
}
