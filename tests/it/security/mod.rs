//! Regression tests of the security review (issue 10), one module per finding area, each test
//! named for the attack or failure it stops.

mod jobs;
