use metal_runtime::task_schema;

#[task_schema]
pub mod news {
    pub enum Topic {
        Corporate,
        Markets,
    }

    #[task(parent = Topic::Corporate)]
    pub enum Corporate {
        Earnings,
    }
}

fn main() {}
