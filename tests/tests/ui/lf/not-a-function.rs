use metal_runtime::prelude::*;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets }
    #[task(parent = Topic::Corporate)]
    pub enum Corporate { Performance, Funding }
}

#[labeling_function(task = "news::Topic")]
pub struct LfShares;

fn main() {}
