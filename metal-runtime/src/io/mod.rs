//! Reading and writing label matrices, problems and datasets.
