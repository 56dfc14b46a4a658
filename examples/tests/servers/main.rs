//! The example servers as real processes (one test binary).

mod basics;
mod dpop;
mod egress;
mod harness;
mod mtls;
mod routes;
