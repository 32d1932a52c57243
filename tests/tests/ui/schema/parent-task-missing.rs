use metal_runtime::task_schema;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets }
    #[task(parent = Topc::Corporate)]
    pub enum Corporate { Performance, Funding }
}

fn main() {}
