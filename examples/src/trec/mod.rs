//! The TREC question-classification task: 6 coarse classes, 50 fine classes.
