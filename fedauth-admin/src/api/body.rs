//! Request bodies as the framework adapters read them.

/// How much of an oversized body the adapters read (and drop) before
/// answering, so that a client still sending it reads the `400` rather
/// than a broken connection: 4 MiB.
pub(crate) const DRAIN_BYTES: usize = 4 * 1024 * 1024;

/// A request body as the adapters read it: what fits the API's limit plus
/// one byte (the sign that it was larger), then at most [`DRAIN_BYTES`]
/// dropped. One reader for both frameworks.
pub(crate) struct BodyReader {
    keep: usize,
    kept: bytes::BytesMut,
    seen: usize,
}

impl BodyReader {
    pub(crate) fn new(api: &super::AdminApi) -> Self {
        Self {
            keep: api.max_body_bytes() + 1,
            kept: bytes::BytesMut::new(),
            seen: 0,
        }
    }

    /// Take a chunk; `false` when reading should stop.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> bool {
        let room = self.keep - self.kept.len();
        self.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.seen = self.seen.saturating_add(chunk.len());
        self.seen < self.keep + DRAIN_BYTES
    }

    /// The body for the API (empty if the client broke off).
    pub(crate) fn finish(self, complete: bool) -> bytes::Bytes {
        match complete || self.kept.len() == self.keep {
            true => self.kept.freeze(),
            false => bytes::Bytes::new(),
        }
    }
}
