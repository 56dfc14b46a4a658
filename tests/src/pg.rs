//! A real PostgreSQL for tests: the crate `fedauth-test-pg` (`tests/pg`),
//! which the example servers' and fedauth-admin's tests share; re-exported
//! here under its old path.

pub use fedauth_test_pg::*;
