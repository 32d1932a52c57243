// A schema error must not cascade into errors where the schema is used.
use metal_runtime::prelude::*;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets }
    #[task(parent = Topic::Corporate)]
    pub enum Corporate { Performance }
}

#[labeling_function]
pub fn lf_profit(text: &str) -> Option<news::Corporate> {
    text.contains("profit").then_some(news::Corporate::Performance)
}

pub fn use_it() -> LfSet<news::Schema, str> {
    lfs![lf_profit]
}

fn main() {}
