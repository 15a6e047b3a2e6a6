//! How many keys each page of a listing asks for: as many as fill about [`PAGE_BYTES`], judged
//! by the page before, and half as many after a page that did not fit in a gRPC message.
//!
//! Pages must be few: etcd (3.4 and 3.5) walks every key from a page's start to the end of the
//! range to count them, so a listing of n keys in pages of p costs about n²/2p key visits. In
//! pages of 1000, 1M registrations took 48 s to list, where pages of about 2 MiB take a few.
//! And pages must fit: one response over tonic's 4 MiB limit fails ("decoded message length too
//! large"), which 1000 keys with large metadata would.

/// Keys in a listing's first page, before anything is known of their size.
pub const FIRST_PAGE_KEYS: i64 = 1000;
/// The bytes (keys and values) a page aims at: half of tonic's 4 MiB message limit, leaving
/// room for keys larger than the page before's.
pub const PAGE_BYTES: usize = 2 << 20;
/// The most keys a page asks for, however small they are.
pub const MAX_PAGE_KEYS: i64 = 50_000;

/// The keys the page after `page` asks for, to fill about `page_bytes` with keys and values
/// the size of `page`'s: between 1 and [`MAX_PAGE_KEYS`].
pub fn next_page_keys(page: &[etcd_client::KeyValue], page_bytes: usize) -> i64 {
    let bytes = page
        .iter()
        .map(|kv| kv.key().len() + kv.value().len())
        .sum();
    keys_to_fill(page.len(), bytes, page_bytes)
}

/// How many keys of the average size of `keys` keys holding `bytes` fill `page_bytes`.
fn keys_to_fill(keys: usize, bytes: usize, page_bytes: usize) -> i64 {
    let average = bytes.div_ceil(keys.max(1)).max(1);
    let fitting = i64::try_from(page_bytes / average).unwrap_or(MAX_PAGE_KEYS);
    fitting.clamp(1, MAX_PAGE_KEYS)
}

/// The page to ask for after `keys` keys did not fit in one response: half as many, or `None`
/// when a single key does not fit.
pub fn smaller_page(keys: i64) -> Option<i64> {
    (keys > 1).then_some(keys / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_fill_about_the_target_bytes_by_the_last_pages_average() {
        // 1000 keys of 200 bytes: 10485 fit in 2 MiB.
        assert_eq!(keys_to_fill(1000, 200_000, PAGE_BYTES), 10_485);
        // Large records: fewer keys.
        assert_eq!(keys_to_fill(100, 3_000_000, PAGE_BYTES), 69);
    }

    #[test]
    fn page_sizes_stay_between_one_and_the_maximum() {
        assert_eq!(keys_to_fill(1000, 1000, PAGE_BYTES), MAX_PAGE_KEYS);
        assert_eq!(keys_to_fill(1, 5 << 20, PAGE_BYTES), 1);
        // An empty page (the end) cannot divide by zero.
        assert_eq!(keys_to_fill(0, 0, PAGE_BYTES), MAX_PAGE_KEYS);
    }

    #[test]
    fn a_page_that_did_not_fit_halves_down_to_one_key() {
        assert_eq!(smaller_page(1000), Some(500));
        assert_eq!(smaller_page(3), Some(1));
        assert_eq!(smaller_page(1), None);
    }
}
