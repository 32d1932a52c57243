use metal_runtime::prelude::*;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets }
    #[task(parent = Topic::Corporate)]
    pub enum Corporate { Performance, Funding }
}

#[labeling_function(task = "news::Topic")]
pub fn lf_shares(text: String) -> Option<news::Topic> {
    text.contains("shares").then_some(news::Topic::Corporate)
}

fn main() {}
