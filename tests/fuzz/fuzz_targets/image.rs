//! Arbitrary bytes as an image file: decode, convert, resize and normalise must return an
//! error or pixels of exactly the requested size, never panic. The first byte picks the
//! target size and channel count, the rest is the file.
#![no_main]
use edgecnn::format::Layout;
use edgecnn::image::{decode, Normalize};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    let sizes = [(1, 1), (7, 5), (28, 28), (32, 17), (0, 4)];
    let (h, w) = sizes[(sel as usize >> 1) % sizes.len()];
    let channels = if sel & 1 == 0 { 1 } else { 3 };
    let channels = if sel & 0x80 != 0 { 2 } else { channels };
    let Ok(px) = decode(file, h, w, channels) else {
        return;
    };
    assert_eq!((px.height(), px.width(), px.channels()), (h, w, channels));
    assert_eq!(px.as_bytes().len(), (h * w) as usize * channels as usize);
    let norm = Normalize {
        scale: 1.0 / 255.0,
        mean: vec![0.5],
        std: vec![0.25],
    };
    for layout in [Layout::Nchw, Layout::Nhwc] {
        assert_eq!(px.to_tensor(&norm, layout).len(), px.as_bytes().len());
    }
});
