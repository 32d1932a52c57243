//! The TREC question-classification task (Li & Roth 2002): 6 coarse classes, 50 fine classes.
//!
//! A two-level hierarchy: the root task `Coarse` asks what kind of answer a question wants
//! (abbreviation, description, entity, human, location, number); under each coarse class one task
//! picks its fine class (`Num` → count, date, distance, money …). The data loader is in [`data`],
//! the schema and the labeling functions in [`lfs`].

pub mod data;
pub mod lfs;
