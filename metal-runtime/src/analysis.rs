//! LF analysis.
