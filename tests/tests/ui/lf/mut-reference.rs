use metal_runtime::prelude::*;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets }
}

#[labeling_function]
pub fn lf_shares(text: &mut String) -> Option<news::Topic> {
    text.contains("shares").then_some(news::Topic::Corporate)
}

fn main() {}
