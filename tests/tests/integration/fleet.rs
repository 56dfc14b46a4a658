//! Running in a fleet (issue 6): registry sources (file, in-memory, HTTP,
//! PostgreSQL) through one behaviour suite, the HTTP registry's caching and
//! failure modes, the user directory, and PostgreSQL change notifications
//! across instances. Real servers only: axum apps on 127.0.0.1 ephemeral
//! ports, a real PostgreSQL (see `fedauth_tests::pg`).

mod directory;
mod http_registry;
mod postgres;
mod servers;
mod suite;
