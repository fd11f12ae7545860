//! CRC-32 (ISO-HDLC / IEEE 802.3: reflected polynomial `0xEDB8_8320`, init and final XOR
//! `0xFFFF_FFFF`), the plan blob's checksum. Table-driven; the table is built at compile time
//! and lives in flash. Never panics.

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

static TABLE: [u32; 256] = make_table();

/// The CRC-32 of `bytes` (`crc32(b"123456789") == 0xCBF4_3926`).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        // `& 0xFF` keeps the index below 256; the `get` compiles to the plain load.
        let t = TABLE
            .get(((c ^ b as u32) & 0xFF) as usize)
            .copied()
            .unwrap_or(0);
        c = t ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
