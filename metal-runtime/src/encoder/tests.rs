use tch::{Device, Tensor};

use super::{normalize_rows, pad_batch, TokenStates};

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

#[test]
fn token_states_keep_each_items_rows_and_refuse_bad_blocks() {
    let x = TokenStates::from_blocks(2, vec![vec![1.0, 2.0, 3.0, 4.0], vec![], vec![5.0, 6.0]]).unwrap();
    assert_eq!((x.n_items(), x.dim(), x.len_of(0), x.len_of(1), x.len_of(2)), (3, 2, 2, 0, 1));
    assert_eq!(x.item(2), [5.0, 6.0]);
    let y = x.select(&[2, 0]);
    assert_eq!((y.n_items(), y.item(0), y.item(1)), (2, [5.0, 6.0].as_slice(), [1.0, 2.0, 3.0, 4.0].as_slice()));
    let msg = |r: crate::Result<TokenStates>| r.unwrap_err().to_string();
    assert!(msg(TokenStates::from_blocks(0, vec![])).contains("dim"));
    assert!(msg(TokenStates::from_blocks(2, vec![vec![1.0, 2.0], vec![1.0]])).contains("item 1"));
    assert!(msg(TokenStates::from_blocks(2, vec![vec![1.0, f32::NAN]])).contains("item 0"));
}
