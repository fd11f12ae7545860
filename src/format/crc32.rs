//! CRC-32 (ISO-HDLC / IEEE 802.3: reflected polynomial `0xEDB8_8320`, init and final XOR
//! `0xFFFF_FFFF`), the plan blob's checksum. Table-driven, four bytes a step ("slicing by
//! 4": about 3.5 instructions a byte on a Cortex-M4 against 6 for the byte-wise table, which
//! matters at boot for a plan of a few hundred KB); the 4 KiB of tables are built at compile
//! time and live in flash. Never panics.

const fn make_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        // Const evaluation: `i < 256` by the loop bound, and an out-of-range index here would
        // be a compile error, never a run-time panic.
        #[allow(clippy::indexing_slicing)]
        {
            table[i] = c;
        }
        i += 1;
    }
    table
}

/// `TABLES[0]` is the byte-wise table; `TABLES[k][i]` is the CRC state after byte `i` and
/// `k` zero bytes, so that one step folds four bytes: the state's four bytes, each looked up
/// in the table for its distance from the end of the word, XORed.
const fn make_tables() -> [[u32; 256]; 4] {
    let t0 = make_table();
    let mut tables = [t0; 4];
    let mut k = 1;
    while k < 4 {
        let mut i = 0;
        while i < 256 {
            // Const evaluation: every index is below 256 or 4 by the loop bounds, and an
            // out-of-range one would be a compile error, never a run-time panic.
            #[allow(clippy::indexing_slicing)]
            {
                let prev = tables[k - 1][i];
                tables[k][i] = (prev >> 8) ^ t0[(prev & 0xFF) as usize];
            }
            i += 1;
        }
        k += 1;
    }
    tables
}

static TABLES: [[u32; 256]; 4] = make_tables();

/// Table `k`'s entry for the low byte of `v` (`& 0xFF` keeps the index below 256: the `get`
/// compiles to the plain load).
#[inline(always)]
fn look(k: usize, v: u32) -> u32 {
    TABLES
        .get(k)
        .and_then(|t| t.get((v & 0xFF) as usize))
        .copied()
        .unwrap_or(0)
}

/// The CRC-32 of `bytes` (`crc32(b"123456789") == 0xCBF4_3926`).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    let mut words = bytes.chunks_exact(4);
    for w in &mut words {
        let v = c ^ w.try_into().map_or(0, u32::from_le_bytes);
        c = look(3, v) ^ look(2, v >> 8) ^ look(1, v >> 16) ^ look(0, v >> 24);
    }
    for &b in words.remainder() {
        c = look(0, c ^ b as u32) ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // tests: a bad index is a failure
mod tests {
    use super::crc32;

    #[test]
    fn check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    /// Four bytes a step gives the bit-at-a-time definition's value for every length mod 4
    /// and every alignment of the slice.
    #[test]
    fn sliced_is_the_bitwise_definition() {
        fn bitwise(bytes: &[u8]) -> u32 {
            let mut c = 0xFFFF_FFFFu32;
            for &b in bytes {
                c ^= b as u32;
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        0xEDB8_8320 ^ (c >> 1)
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        }
        let data: Vec<u8> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        for start in 0..4 {
            for len in 0..70 {
                let s = &data[start..start + len];
                assert_eq!(crc32(s), bitwise(s), "start {start} len {len}");
            }
        }
        assert_eq!(crc32(&data), bitwise(&data));
    }
}
