//! The `wa-sim` binary.

fn main() {}
