//! Unit tests of the sender constraint's parts.
