//! Guest memory an auditor can read: linear memories allocated on the heap
//! instead of the pool, each kept after its instance ends, so that a test
//! (or an operator vetting a connector) can search what a component held
//! for a secret it should never have seen.
//!
//! The serving runtime never uses this: the pool is much faster and wipes a
//! memory when its instance ends. [`Runtime::with_memory_inspector`] builds
//! a runtime that does.
//!
//! [`Runtime::with_memory_inspector`]: crate::Runtime::with_memory_inspector

// The one place Sluice writes `unsafe`: wasmtime's hooks for host-allocated
// linear memory are unsafe traits.
#![allow(unsafe_code)]

use std::sync::Arc;

use parking_lot::Mutex;
use wasmtime::{LinearMemory, MemoryCreator, MemoryType};

/// Collects the final contents of every linear memory of every instance the
/// runtime ran.
#[derive(Default)]
pub struct MemoryInspector {
    retired: Mutex<Vec<Vec<u8>>>,
}

impl MemoryInspector {
    /// An inspector that has seen no memory yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// How many linear memories ended since the inspector was made or last
    /// cleared.
    pub fn memories(&self) -> usize {
        self.retired.lock().len()
    }

    /// Whether any of those memories contains `needle`.
    pub fn contains(&self, needle: &[u8]) -> bool {
        let finder = memchr::memmem::Finder::new(needle);
        !needle.is_empty()
            && self
                .retired
                .lock()
                .iter()
                .any(|memory| finder.find(memory).is_some())
    }

    /// Forgets the memories seen so far.
    pub fn clear(&self) {
        self.retired.lock().clear();
    }

    pub(crate) fn creator(self: &Arc<Self>) -> Arc<dyn MemoryCreator> {
        Arc::new(Creator(self.clone()))
    }
}

impl std::fmt::Debug for MemoryInspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryInspector")
            .field("memories", &self.memories())
            .finish()
    }
}

struct Creator(Arc<MemoryInspector>);

// SAFETY: each memory is a zero-filled heap buffer owned by the `LinearMemory`
// wasmtime holds; the engine is configured without guard regions or fixed
// reservations (see `Runtime::with_memory_inspector`), so wasmtime
// bounds-checks every access and reloads the base pointer after a grow.
unsafe impl MemoryCreator for Creator {
    fn new_memory(
        &self,
        _ty: MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved_size_in_bytes: Option<usize>,
        guard_size_in_bytes: usize,
    ) -> Result<Box<dyn LinearMemory>, String> {
        if reserved_size_in_bytes.unwrap_or(0) > 0 || guard_size_in_bytes > 0 {
            return Err(
                "inspected memories are bounds-checked, without reservations or guards".into(),
            );
        }
        let mut bytes = vec![0; minimum];
        Ok(Box::new(InspectedMemory {
            base: bytes.as_mut_ptr(),
            bytes,
            maximum,
            inspector: self.0.clone(),
        }))
    }
}

struct InspectedMemory {
    /// `bytes.as_mut_ptr()`, taken whenever the buffer moves: wasmtime
    /// writes through it, which a pointer from `&self` must not allow.
    base: *mut u8,
    bytes: Vec<u8>,
    maximum: Option<usize>,
    inspector: Arc<MemoryInspector>,
}

// SAFETY: the buffer is valid for `byte_size()` bytes at `as_ptr()` until the
// next `grow_to`, after which wasmtime reads the pointer again.
unsafe impl LinearMemory for InspectedMemory {
    fn byte_size(&self) -> usize {
        self.bytes.len()
    }

    fn byte_capacity(&self) -> usize {
        self.bytes.capacity()
    }

    fn grow_to(&mut self, new_size: usize) -> wasmtime::Result<()> {
        if self.maximum.is_some_and(|maximum| new_size > maximum) {
            wasmtime::bail!("memory cannot grow past its maximum");
        }
        self.bytes.resize(new_size, 0);
        self.base = self.bytes.as_mut_ptr();
        Ok(())
    }

    fn as_ptr(&self) -> *mut u8 {
        self.base
    }
}

// SAFETY: the memory is used by one store at a time, as wasmtime requires of
// every linear memory; the pointer is only its buffer's.
unsafe impl Send for InspectedMemory {}
// SAFETY: as above; `&self` methods only read the size and the pointer.
unsafe impl Sync for InspectedMemory {}

impl Drop for InspectedMemory {
    fn drop(&mut self) {
        let bytes = std::mem::take(&mut self.bytes);
        self.inspector.retired.lock().push(bytes);
    }
}
