use metal_runtime::task_schema;

#[task_schema]
pub enum Topic { Corporate, Markets }

fn main() {}
