use metal_runtime::prelude::*;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets }
    #[task(parent = Topic::Corporate)]
    pub enum Corporate { Performance, Funding }
}

use news::Topic;

#[labeling_function(task = "Topc")]
pub fn lf_shares(text: &str) -> Option<Topic> {
    text.contains("shares").then_some(Topic::Corporate)
}

fn main() {}
