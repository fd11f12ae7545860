//! The pack table of wire version 4 ([`edgecnn::format::pack`]): what the parser refuses,
//! each case a valid packed plan with one field damaged and its checksum fixed, so that the
//! refusal comes from the pack check itself.

mod trust_support;

use edgecnn::format::crc32::crc32;
use edgecnn::format::pack::PackKind;
use edgecnn::format::wire::{self, header, PACK_RECORD_LEN};
use edgecnn::runtime::{ParseError, Plan};

/// The `packed` seed: packs for steps 0 and 2 (step 1 is depthwise).
fn packed() -> Vec<u8> {
    trust_support::packed().encode_with_packs(trust_support::PACKS)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Byte offset of pack record `i`.
fn record(b: &[u8], i: usize) -> usize {
    u32_at(b, header::PACKS) as usize + i * PACK_RECORD_LEN
}

/// `blob` with `edit` applied and the checksum recomputed; what `Plan::parse` says of it.
fn parse_edited(edit: impl FnOnce(&mut Vec<u8>)) -> Result<(), ParseError> {
    let mut b = packed();
    edit(&mut b);
    let crc = crc32(&b[wire::CHECKED_FROM..]);
    b[header::CRC..header::CRC + 4].copy_from_slice(&crc.to_le_bytes());
    Plan::parse(&b).map(|_| ())
}

fn pack_fault(record: u32) -> Result<(), ParseError> {
    Err(ParseError::Pack { record })
}

#[test]
fn the_seed_parses_and_finds_its_packs() {
    let b = packed();
    assert_eq!(parse_edited(|_| {}), Ok(()));
    let p = Plan::parse(&b).unwrap();
    assert_eq!(p.num_packs(), 2);
    assert_eq!(u32_at(&b, header::PACKS + 4), 2);
    let first = p.pack(0, PackKind::X86Vnni).unwrap();
    assert_eq!(first.len(), 64 * 64 + 4 * 40);
    assert_eq!(
        (first.as_ptr() as usize - b.as_ptr() as usize) % 64,
        0,
        "packs lie on cache lines from the blob's start"
    );
    assert!(p.pack(3, PackKind::X86Vnni).is_none());
    assert!(p.pack(usize::MAX, PackKind::X86Vnni).is_none());
}

#[test]
fn unknown_kinds_and_reserved_bytes_are_refused() {
    for kind in [0u8, 2, 255] {
        assert_eq!(
            parse_edited(|b| {
                let at = record(b, 0) + wire::pack::KIND;
                b[at] = kind;
            }),
            pack_fault(0),
            "kind {kind}"
        );
    }
    for zero in wire::pack::ZERO..wire::pack::DATA {
        assert_eq!(
            parse_edited(|b| {
                let at = record(b, 1) + zero;
                b[at] = 1;
            }),
            pack_fault(1),
            "byte {zero}"
        );
    }
}

#[test]
fn packs_must_name_dense_convs_in_order() {
    let set_step = |b: &mut Vec<u8>, i: usize, step: u16| {
        let at = record(b, i) + wire::pack::STEP;
        b[at..at + 2].copy_from_slice(&step.to_le_bytes());
    };
    // Step 1 is a depthwise conv, step 3 does not exist.
    assert_eq!(parse_edited(|b| set_step(b, 0, 1)), pack_fault(0));
    assert_eq!(parse_edited(|b| set_step(b, 1, 3)), pack_fault(1));
    assert_eq!(parse_edited(|b| set_step(b, 1, u16::MAX)), pack_fault(1));
    // Two packs of one kind for step 0; then the two (valid) records swapped.
    assert_eq!(parse_edited(|b| set_step(b, 1, 0)), pack_fault(1));
    assert_eq!(
        parse_edited(|b| {
            let (r0, r1) = (record(b, 0), record(b, 1));
            let first: Vec<u8> = b[r0..r1].to_vec();
            b.copy_within(r1..r1 + PACK_RECORD_LEN, r0);
            b[r1..r1 + PACK_RECORD_LEN].copy_from_slice(&first);
        }),
        pack_fault(1)
    );
}

#[test]
fn pack_lengths_and_refs_are_checked() {
    let set_len = |b: &mut Vec<u8>, i: usize, delta: i64| {
        let at = record(b, i) + wire::pack::DATA + 4;
        let len = (u32_at(b, at) as i64 + delta) as u32;
        b[at..at + 4].copy_from_slice(&len.to_le_bytes());
    };
    // One byte short; four bytes more (still inside the data section).
    assert_eq!(parse_edited(|b| set_len(b, 0, -1)), pack_fault(0));
    assert_eq!(parse_edited(|b| set_len(b, 0, 4)), pack_fault(0));
    // The second pack's bytes moved before the data section.
    assert_eq!(
        parse_edited(|b| {
            let at = record(b, 1) + wire::pack::DATA;
            b[at..at + 4].copy_from_slice(&16u32.to_le_bytes());
        }),
        pack_fault(1)
    );
    // The table claims a third record: whatever follows the table is no pack.
    assert_eq!(
        parse_edited(|b| {
            b[header::PACKS + 4..header::PACKS + 8].copy_from_slice(&3u32.to_le_bytes());
        }),
        pack_fault(2)
    );
    // The table misaligned, or past the blob.
    assert_eq!(
        parse_edited(|b| {
            let off = u32_at(b, header::PACKS) + 4;
            b[header::PACKS..header::PACKS + 4].copy_from_slice(&off.to_le_bytes());
        }),
        Err(ParseError::Section)
    );
    assert_eq!(
        parse_edited(|b| {
            b[header::PACKS + 4..header::PACKS + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        }),
        Err(ParseError::Section)
    );
}

/// Before version 4 the header's last 8 bytes are reserved: a version-3 blob with a pack
/// table there is refused, not read as one.
#[test]
fn older_versions_keep_the_bytes_reserved() {
    assert_eq!(
        parse_edited(
            |b| b[header::VERSION..header::VERSION + 2].copy_from_slice(&3u16.to_le_bytes())
        ),
        Err(ParseError::BadHeader)
    );
}
