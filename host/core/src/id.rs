//! Prefixed, time-ordered identifiers such as `dlv_0192f3...`.
//!
//! The prefix tells a reader what kind of object an id names; the UUIDv7 body
//! sorts by creation time, which keeps B-tree inserts at the right edge.

/// Returns a new identifier `<prefix>_<uuidv7 as 32 hex digits>`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_creation() {
        let a = new_id("dlv");
        let b = new_id("dlv");
        assert!(a.starts_with("dlv_"));
        assert_eq!(a.len(), 4 + 32);
        assert!(a < b, "{a} should sort before {b}");
    }
}
