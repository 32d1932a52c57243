use tch::{Device, Tensor};

use super::{normalize_rows, pad_batch};

#[test]
fn batches_pad_to_the_longest_text_with_a_mask() {
    let (a, b): (&[u32], &[u32]) = (&[101, 7, 102], &[101, 102]);
    let (ids, mask) = pad_batch(&[a, b], Device::Cpu).unwrap();
    assert_eq!(ids.size(), [2, 3]);
    assert_eq!(Vec::<i64>::try_from(ids.view([-1])).unwrap(), [101, 7, 102, 101, 102, 0]);
    assert_eq!(Vec::<i64>::try_from(mask.view([-1])).unwrap(), [1, 1, 1, 1, 1, 0]);
}

#[test]
fn rows_are_scaled_to_unit_length_and_zero_rows_stay_zero() {
    let x = Tensor::from_slice(&[3f32, 4.0, 0.0, 0.0]).view([2, 2]);
    let y = Vec::<f32>::try_from(normalize_rows(&x).unwrap().view([-1])).unwrap();
    assert_eq!(y, [0.6, 0.8, 0.0, 0.0]);
}
