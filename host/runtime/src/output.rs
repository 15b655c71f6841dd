//! Bounded capture of a guest's stdout and stderr.
//!
//! Unlike wasmtime's `MemoryOutputPipe`, writes past the limit succeed and
//! are dropped: a guest that prints too much must not fail (Rust's `println!`
//! panics on a write error), it only loses the excess, and the report says so.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes a guest may write per call; the usual size of WASI stream permits.
const WRITE_PERMIT: usize = 64 * 1024;

/// A capture buffer shared between the guest's stream and the report.
#[derive(Debug, Clone)]
pub struct BoundedCapture {
    inner: Arc<Mutex<Captured>>,
    limit: usize,
}

#[derive(Debug, Default)]
struct Captured {
    bytes: Vec<u8>,
    truncated: bool,
}

impl BoundedCapture {
    /// A capture keeping at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            inner: Arc::default(),
            limit,
        }
    }

    /// The captured text (lossy UTF-8) and whether anything was dropped.
    pub fn contents(&self) -> (String, bool) {
        let captured = self.inner.lock();
        (
            String::from_utf8_lossy(&captured.bytes).into_owned(),
            captured.truncated,
        )
    }

    fn write(&self, buf: &[u8]) {
        let mut captured = self.inner.lock();
        let room = self.limit.saturating_sub(captured.bytes.len());
        if buf.len() > room {
            captured.truncated = true;
        }
        captured
            .bytes
            .extend_from_slice(&buf[..buf.len().min(room)]);
    }
}

impl IsTerminal for BoundedCapture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for BoundedCapture {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    // Writing straight into the buffer, instead of through wasmtime's
    // adapter and its background task, keeps a guest printing megabytes fast.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for BoundedCapture {
    async fn ready(&mut self) {}
}

impl OutputStream for BoundedCapture {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        BoundedCapture::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

impl AsyncWrite for BoundedCapture {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_past_the_limit_are_accepted_and_dropped() {
        let capture = BoundedCapture::new(5);
        capture.write(b"hello");
        capture.write(b" world");
        assert_eq!(capture.contents(), ("hello".to_owned(), true));
    }
}
