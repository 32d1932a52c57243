use metal_runtime::prelude::*;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets }
    #[task(parent = Topic::Corporate)]
    pub enum Corporate { Performance, Funding }
}

#[labeling_function(task = "String")]
pub fn lf_shares(text: &str) -> Option<String> {
    text.contains("shares").then(|| text.to_owned())
}

fn main() {}
