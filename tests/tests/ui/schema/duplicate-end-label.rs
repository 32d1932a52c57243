use metal_runtime::task_schema;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, CorporateFunding }
    #[task(parent = Topic::Corporate)]
    pub enum Corporate { Performance, Funding }
}

fn main() {}
