use metal_runtime::prelude::*;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets }
    #[task(parent = Topic::Corporate)]
    pub enum Corporate { Performance, Funding }
}

use news::{Corporate, Topic};

#[labeling_function(task = "Topic")]
pub fn lf_profit(text: &str) -> Option<Corporate> {
    text.contains("profit").then_some(Corporate::Performance)
}

fn main() {}
