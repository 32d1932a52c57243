use metal_runtime::task_schema;

#[task_schema]
pub mod news {
    pub enum Topic { Corporate, Markets }
    #[task(parent = Funding::Equity)]
    pub enum Corporate { Performance, Funding }
    #[task(parent = Corporate::Funding)]
    pub enum Funding { Equity, Debt }
}

fn main() {}
