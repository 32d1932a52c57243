use metal_runtime::task_schema;

#[task_schema(krate = "metal_runtime")]
pub mod news {
    pub enum Topic { Corporate, Markets }
}

fn main() {}
