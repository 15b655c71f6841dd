//! Attacks on the host's CPU and memory limits; neither returns.

use std::hint::black_box;

use sluice_guest::log;

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
