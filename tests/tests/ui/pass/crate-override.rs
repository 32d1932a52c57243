extern crate metal_runtime as renamed;

use renamed::lf::LfSet;
use renamed::{labeling_function, lfs, task_schema};

#[task_schema(crate = "renamed")]
pub mod news {
    pub enum Topic { Corporate, Markets }
}

#[labeling_function(task = "news::Topic", crate = "renamed")]
fn lf_shares(text: &str) -> Option<news::Topic> {
    text.contains("shares").then_some(news::Topic::Corporate)
}

fn main() {
    let set: LfSet<news::Schema, str> = lfs![lf_shares];
    assert_eq!(set.len(), 1);
}
