//! Attacks on the host's CPU, memory and storage limits: the loops never
//! return; the others hand the host more than it should keep.

use std::alloc::Layout;
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};

use sluice_guest::{DeliveryOutcome, RemoteError, log, state};

const MIB: usize = 1024 * 1024;

/// Spins until the host's deadline ends the call.
pub fn spin() -> ! {
    let mut turns: u64 = 0;
    loop {
        turns = black_box(turns.wrapping_add(1));
    }
}

/// Allocates and touches 1 MiB after 1 MiB until the host's memory cap makes
/// an allocation fail, which aborts (traps) the instance.
pub fn grow_memory() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(black_box(vec![0xA5; MIB]));
        if hoard.len().is_multiple_of(8) {
            log::info(
                "hostile guest holds memory",
                &[("mib", &hoard.len().to_string())],
            );
        }
    }
}

/// Bytes in the strings the oversize answers carry.
const HUGE: usize = 16 * MIB;

/// Writes a 64 KiB value `count` times over a few keys: the time goes into
/// host calls, which the call's time limit must cover too.
pub fn flood_state(count: u32) -> DeliveryOutcome {
    let value = vec![0x5A; 64 * 1024];
    let mut refused = 0u32;
    for turn in 0..count {
        if state::set(&format!("flood-{}", turn % 8), &value, None).is_err() {
            refused += 1;
        }
    }
    DeliveryOutcome::delivered(Some(format!("wrote {count} values, {refused} refused")))
}

/// Claims delivery with an external id of 16 MiB.
pub fn huge_external_id() -> DeliveryOutcome {
    DeliveryOutcome::delivered(Some("i".repeat(HUGE)))
}

/// Fails with a reason and a remote error of 16 MiB each.
pub fn huge_reason() -> DeliveryOutcome {
    // Built by hand: the SDK's own constructors would cut the message.
    DeliveryOutcome::failed("r".repeat(HUGE)).with_remote(RemoteError {
        status: Some(400),
        code: Some("c".repeat(HUGE)),
        message: Some("m".repeat(HUGE)),
    })
}

/// Initialised data, in the component's memory image.
static IMAGE_MARK: AtomicU32 = AtomicU32::new(7);
/// Zeroed data, past the image.
static ZEROED_MARK: AtomicU32 = AtomicU32::new(0);
/// What [`remember`] writes into the heap.
const HEAP_MARK: u64 = 0xfeed_f00d;

/// Answers delivered with what earlier calls left in its memory, after
/// leaving marks of its own: in initialised data, in zeroed data, and in the
/// first word of a heap allocation that it never frees (the allocator hands
/// a fresh instance the same address again).
pub fn remember() -> DeliveryOutcome {
    let image = IMAGE_MARK.swap(1_000, Ordering::Relaxed);
    let zeroed = ZEROED_MARK.swap(1_000, Ordering::Relaxed);
    // Larger than anything freed before it, so it comes from untouched pages.
    let layout = Layout::new::<[u64; 32 * 1024]>();
    // SAFETY: the allocation is non-zero-sized and never freed; its first
    // word is read before this call writes it, which is the point: it holds
    // whatever the memory held before this instance got it.
    let heap = unsafe {
        let word = std::alloc::alloc(layout).cast::<u64>();
        let left = word.read_volatile();
        word.write_volatile(HEAP_MARK);
        left
    };
    DeliveryOutcome::delivered(Some(format!(
        "image {image} zeroed {zeroed} heap {heap:#x}"
    )))
}
