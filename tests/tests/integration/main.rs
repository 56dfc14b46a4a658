//! Cross-crate integration tests: real HTTP on 127.0.0.1, real keys.

mod adapters;
mod attacks;
mod binding;
mod fleet;
mod hardening;
mod keys;
mod opaque;
mod providers;
mod refusals;
mod verify;
