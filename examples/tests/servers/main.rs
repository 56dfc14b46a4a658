//! The example servers as real processes (one test binary).

mod basics;
mod egress;
mod harness;
mod routes;
