use metal_runtime::prelude::*;

#[task_schema]
mod s {
    pub enum Sentiment { Negative, Positive }
}

pub struct Review {
    pub stars: u8,
}

#[labeling_function]
fn lf_stars(review: &Review) -> Option<s::Sentiment> {
    match review.stars {
        0..=2 => Some(s::Sentiment::Negative),
        4..=5 => Some(s::Sentiment::Positive),
        _ => None,
    }
}

#[labeling_function]
fn lf_bytes(bytes: &[u8]) -> std::option::Option<s::Sentiment> {
    bytes.is_empty().then_some(s::Sentiment::Negative)
}

fn main() {
    let reviews = [Review { stars: 1 }, Review { stars: 3 }];
    let set: LfSet<s::Schema, Review> = lfs![lf_stars];
    let matrix = set.apply(&reviews).unwrap();
    assert_eq!(matrix.get(0, 0), Vote::Label(0));
    assert_eq!(matrix.get(1, 0), Vote::Abstain);
    let _bytes: LfSet<s::Schema, [u8]> = lfs![lf_bytes];
}
