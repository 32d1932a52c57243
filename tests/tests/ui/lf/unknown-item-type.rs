// A typo in the item type is reported once, at the parameter.
use metal_runtime::prelude::*;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets }
}

#[labeling_function]
pub fn lf_shares(article: &Artcle) -> Option<news::Topic> {
    let _ = article;
    None
}

fn main() {}
