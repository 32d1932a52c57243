use metal_runtime::task_schema;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate { ticker: String }, Markets }
}

fn main() {}
