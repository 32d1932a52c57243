use metal_runtime::task_schema;

#[task_schema]
pub mod news {
    pub enum Topic<const N: usize> { Corporate, Markets }
}

fn main() {}
