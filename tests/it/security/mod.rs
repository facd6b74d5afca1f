//! Regression tests of the security review (issue 10), one module per face, each test named for
//! the attack it stops.

mod web;
