use metal_runtime::task_schema;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets = 3 }
}

fn main() {}
