//! The compute device of the end model (feature `torch`).

use serde::Serialize;

/// The device the end model runs on: the first CUDA device when libtorch sees one, the CPU
/// otherwise.
pub fn default_device() -> tch::Device {
    tch::Device::cuda_if_available()
}

/// Sets libtorch's intra-op CPU threads for the whole process (at least 1).
///
/// libtorch starts with one thread per core; on a machine busy with other work that
/// oversubscribes the cores, and small networks then train many times slower (see
/// [`TrainConfig::threads`](crate::end_model::TrainConfig::threads)).
pub fn set_threads(n: usize) {
    tch::set_num_threads(n.max(1) as i32);
}

/// The cores available to this process (at least 1).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What libtorch offers on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// `"cuda"` or `"cpu"`.
    pub kind: &'static str,
    /// Number of CUDA devices.
    pub n_cuda: usize,
    /// Threads libtorch uses on the CPU.
    pub cpu_threads: i32,
}

impl DeviceInfo {
    /// Queries libtorch.
    pub fn query() -> Self {
        let n_cuda = if tch::Cuda::is_available() { tch::Cuda::device_count() as usize } else { 0 };
        DeviceInfo { kind: if n_cuda > 0 { "cuda" } else { "cpu" }, n_cuda, cpu_threads: tch::get_num_threads() }
    }
}

impl std::fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.n_cuda > 0 {
            write!(f, "libtorch on CUDA ({} device(s))", self.n_cuda)
        } else {
            write!(f, "libtorch on CPU ({} threads)", self.cpu_threads)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tensor_computes_on_the_default_device() {
        let device = default_device();
        let x = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]).to_device(device);
        let sum = f64::try_from((&x * &x).sum(tch::Kind::Float)).unwrap();
        assert_eq!(sum, 14.0);
        assert!(DeviceInfo::query().to_string().starts_with("libtorch on"));
    }
}
