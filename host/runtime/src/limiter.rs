//! Per-instance memory cap, with the peak recorded for the report.

use wasmtime::ResourceLimiter;

/// Table elements allowed per table; generous for real guests, small enough
/// that tables cannot be used to exhaust host memory.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// The error a refused memory growth traps with, so the runtime can tell an
/// out-of-memory stop from any other trap.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("memory limit of {limit_bytes} bytes reached (the instance asked for {asked_bytes})")]
pub struct MemoryLimitReached {
    /// The cap.
    pub limit_bytes: u64,
    /// The total linear memory the refused growth would have reached.
    pub asked_bytes: u64,
}

/// Caps the linear memory of one instance and remembers its peak.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit_bytes: usize,
    peak_bytes: usize,
    total_bytes: usize,
}

impl MemoryLimiter {
    /// A limiter allowing `limit_bytes` of linear memory across the
    /// instance's memories.
    pub fn new(limit_bytes: usize) -> Self {
        Self {
            limit_bytes,
            peak_bytes: 0,
            total_bytes: 0,
        }
    }

    /// Largest total memory reached so far.
    pub fn peak_bytes(&self) -> usize {
        self.peak_bytes
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.total_bytes - current + desired;
        if total > self.limit_bytes {
            // Trapping (rather than returning false) stops a guest that would
            // otherwise loop on a failed allocation until its deadline.
            return Err(MemoryLimitReached {
                limit_bytes: self.limit_bytes as u64,
                asked_bytes: total as u64,
            }
            .into());
        }
        self.total_bytes = total;
        self.peak_bytes = self.peak_bytes.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_counted_across_memories_and_refused_past_the_limit() {
        let mut limiter = MemoryLimiter::new(100);
        assert!(limiter.memory_growing(0, 40, None).unwrap());
        assert!(limiter.memory_growing(0, 50, None).unwrap());
        assert!(limiter.memory_growing(40, 45, None).unwrap());
        assert_eq!(limiter.peak_bytes(), 95);
        let err = limiter.memory_growing(45, 60, None).unwrap_err();
        let reached = err.downcast_ref::<MemoryLimitReached>().unwrap();
        assert_eq!((reached.limit_bytes, reached.asked_bytes), (100, 110));
        assert_eq!(limiter.peak_bytes(), 95);
    }
}
