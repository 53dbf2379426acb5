//! A walk over a JPEG file's marker segments, for what the decoder does not tell us.
//!
//! zune-jpeg (behind the `image` crate) is lenient: a file cut off in the middle of its scan
//! data decodes "successfully" with the missing blocks filled in grey, and CMYK input is
//! silently turned into RGB. PIL refuses truncated files, and a run should record a damaged
//! image as failed rather than explain grey blocks, so we check for the end-of-image marker
//! ourselves and read the frame header for the size and number of colour components.

/// What the marker walk found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct JpegLayout {
    /// Width and height from the first frame header (SOFn), if one was reached.
    pub size: Option<(u32, u32)>,
    /// Number of colour components in the frame: 1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK.
    pub components: Option<u8>,
    /// The colour transform flag of an Adobe APP14 segment (0 none/CMYK, 1 YCbCr, 2 YCCK).
    pub adobe_transform: Option<u8>,
    /// Whether the end-of-image marker was reached by following the segment structure.
    pub complete: bool,
}

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP14: u8 = 0xEE;

/// Walks the segments of `bytes`, which must start with the JPEG start-of-image marker.
/// Returns what was learned before the walk ended (at EOI, at the end of the data, or at
/// something that is not a marker).
pub(crate) fn scan_jpeg(bytes: &[u8]) -> JpegLayout {
    let mut layout = JpegLayout::default();
    if bytes.len() < 2 || bytes[0] != 0xFF || bytes[1] != SOI {
        return layout;
    }
    let mut pos = 2;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if pos >= bytes.len() || bytes[pos] != 0xFF {
            return layout;
        }
        while pos < bytes.len() && bytes[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return layout;
        };
        pos += 1;
        if marker == EOI {
            layout.complete = true;
            return layout;
        }
        if is_standalone(marker) {
            continue;
        }
        let Some(length) = read_u16(bytes, pos).map(usize::from) else {
            return layout;
        };
        if length < 2 || pos + length > bytes.len() {
            return layout;
        }
        let segment = &bytes[pos + 2..pos + length];
        if is_start_of_frame(marker) && layout.size.is_none() && segment.len() >= 6 {
            let height = u32::from(u16::from_be_bytes([segment[1], segment[2]]));
            let width = u32::from(u16::from_be_bytes([segment[3], segment[4]]));
            layout.size = Some((width, height));
            layout.components = Some(segment[5]);
        }
        if marker == APP14 && segment.len() >= 12 && segment.starts_with(b"Adobe") {
            layout.adobe_transform = Some(segment[11]);
        }
        pos += length;
        if marker == SOS {
            match end_of_entropy_data(bytes, pos) {
                Some(next_marker) => pos = next_marker,
                None => return layout,
            }
        }
    }
}

/// Markers without a length field: TEM and the restart markers RST0..RST7.
fn is_standalone(marker: u8) -> bool {
    marker == 0x01 || (0xD0..=0xD7).contains(&marker)
}

/// SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
fn is_start_of_frame(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Entropy-coded data escapes every 0xFF as 0xFF 0x00 and may contain restart markers, so the
/// first 0xFF followed by anything else starts the next segment. Returns its position.
fn end_of_entropy_data(bytes: &[u8], mut pos: usize) -> Option<usize> {
    while pos + 1 < bytes.len() {
        if bytes[pos] == 0xFF {
            let next = bytes[pos + 1];
            if next != 0x00 && next != 0xFF && !(0xD0..=0xD7).contains(&next) {
                return Some(pos);
            }
            if next == 0xFF {
                // A fill byte before a marker; look at the following byte.
                pos += 1;
                continue;
            }
            pos += 2;
        } else {
            pos += 1;
        }
    }
    None
}

fn read_u16(bytes: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(pos)?, *bytes.get(pos + 1)?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> Vec<u8> {
        std::fs::read(crate::testing::assets_dir().join("photos/pytorch_hub_dog.jpg")).unwrap()
    }

    #[test]
    fn complete_photo_reaches_the_end_marker() {
        lantern_core::skip_without_assets!();
        let layout = scan_jpeg(&photo());
        assert!(layout.complete);
        assert_eq!(layout.components, Some(3));
        let (w, h) = layout.size.unwrap();
        assert!(w > 0 && h > 0);
    }

    #[test]
    fn trailing_bytes_after_the_end_marker_are_fine() {
        lantern_core::skip_without_assets!();
        let mut bytes = photo();
        bytes.extend_from_slice(b"trailing garbage");
        assert!(scan_jpeg(&bytes).complete);
    }

    #[test]
    fn cut_files_are_incomplete() {
        lantern_core::skip_without_assets!();
        let bytes = photo();
        for keep in [2, 100, bytes.len() / 2, bytes.len() - 2] {
            assert!(!scan_jpeg(&bytes[..keep]).complete, "kept {keep} bytes");
        }
    }

    #[test]
    fn non_jpeg_data_is_incomplete() {
        assert_eq!(scan_jpeg(b"not a jpeg"), JpegLayout::default());
    }
}
