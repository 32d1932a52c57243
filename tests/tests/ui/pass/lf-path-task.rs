use metal_runtime::prelude::*;

mod tasks {
    use metal_runtime::task_schema;

    #[task_schema]
    pub mod sentiment {
        pub enum Sentiment { Negative, Positive }
    }
}

#[labeling_function(task = tasks::sentiment::Sentiment, name = "great")]
pub fn lf_great(x: &str) -> Option<tasks::sentiment::Sentiment> {
    x.contains("great").then_some(tasks::sentiment::Sentiment::Positive)
}

fn main() {
    let set: LfSet<tasks::sentiment::Schema, str> = lfs![lf_great];
    assert_eq!(set.names(), ["great"]);
    assert_eq!(LabelingFunction::<str>::name(&lf_great {}), "great");
}
