//! Byte searches eight bytes at a time, for the scans whose targets sit a
//! few bytes apart: there a search routine's set-up costs more than the
//! search, and a byte loop mispredicts once at every hit.

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The first eight bytes of `b` as a little-endian `u64`; `b` holds at
/// least eight.
#[inline(always)]
pub(crate) fn load8(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The first byte at or after `at` in `lo..=hi`, or `bytes.len()`.
/// `lo..=hi` lies within 1..=0x7f.
#[inline(always)]
pub(crate) fn find_in(bytes: &[u8], mut at: usize, lo: u8, hi: u8) -> usize {
    debug_assert!(0 < lo && lo <= hi && hi < 0x80);
    let (below, above) = (u64::from(lo) - 1, u64::from(hi) + 1);
    while let Some(chunk) = bytes.get(at..at + 8) {
        // The high bit of each byte strictly between `below` and `above`,
        // worked out on the low seven bits so that no byte borrows from or
        // carries into its neighbour, then cleared for bytes of 0x80 and up.
        let x = load8(chunk);
        let low = x & LOW7;
        let hits = (ONES * (127 + above) - low) & !x & (low + ONES * (127 - below)) & !LOW7;
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while at < bytes.len() && !(lo..=hi).contains(&bytes[at]) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::find_in;

    #[test]
    fn finds_what_a_byte_loop_finds() {
        let ranges = [(b'0', b'9'), (b' ', b' '), (1, 0x7f), (b'a', b'z')];
        // Random strings of every length around the eight-byte steps.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|k| match (state >> (k % 8 * 8)) as u8 {
                    b if b % 5 == 0 => b'0' + b % 10,
                    b if b % 7 == 0 => b' ',
                    b => b.rotate_left(k as u32),
                })
                .collect();
            for &(lo, hi) in &ranges {
                for start in 0..=len {
                    let want = (start..len)
                        .find(|&k| (lo..=hi).contains(&bytes[k]))
                        .unwrap_or(len);
                    assert_eq!(
                        find_in(&bytes, start, lo, hi),
                        want,
                        "{bytes:?} from {start}"
                    );
                }
            }
        }
        // Every byte value in every range, inside an eight-byte step.
        for &(lo, hi) in &ranges {
            for b in 0..=255u8 {
                let bytes = [0x80, 0x80, 0x80, b, 0x80, 0x80, 0x80, 0x80, 0x80];
                let want = if (lo..=hi).contains(&b) { 3 } else { 9 };
                assert_eq!(find_in(&bytes, 0, lo, hi), want, "byte {b} in {lo}..={hi}");
            }
        }
    }
}
