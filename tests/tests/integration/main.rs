//! Cross-crate integration tests: real HTTP on 127.0.0.1, real keys.

mod adapters;
mod attacks;
mod keys;
mod refusals;
mod verify;
