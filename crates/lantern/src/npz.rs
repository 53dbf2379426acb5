//! `.npz` files as `np.load` reads them: a zip archive of `.npy` members, stored uncompressed
//! (what `np.savez` writes). Used for the stacked `a_batch` that Quantus and Xplique take.

/// CRC-32 (IEEE, reflected), as zip requires for every member.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The `.npy` bytes of a 1-D array of strings (`<U{n}`: UTF-32 little-endian, zero-padded).
pub fn npy_strings(values: &[String]) -> Vec<u8> {
    let width = values
        .iter()
        .map(|v| v.chars().count())
        .max()
        .unwrap_or(0)
        .max(1);
    let dict = format!(
        "{{'descr': '<U{width}', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    // Magic, version 1.0, header length; the header is padded with spaces to a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    let padding = (64 - unpadded % 64) % 64;
    let header = format!("{dict}{}\n", " ".repeat(padding));
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        let mut n = 0;
        for c in v.chars() {
            out.extend_from_slice(&(c as u32).to_le_bytes());
            n += 1;
        }
        out.extend(std::iter::repeat_n(0u8, 4 * (width - n)));
    }
    out
}

/// The fields a local file header and its central directory entry share, from "version needed"
/// to the name's length: version 2.0, no flags, stored, no timestamp, `size` both ways.
fn entry_fields(buf: &mut Vec<u8>, crc: u32, size: u32, file_name: &str) {
    buf.extend_from_slice(&20u16.to_le_bytes());
    buf.extend_from_slice(&[0; 2 + 2 + 2 + 2]);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf.extend_from_slice(&size.to_le_bytes());
    buf.extend_from_slice(&size.to_le_bytes());
    buf.extend_from_slice(&(file_name.len() as u16).to_le_bytes());
}

/// A zip archive of `(name, .npy bytes)` members, each saved as `name.npy`.
pub fn npz_bytes(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in members {
        let file_name = format!("{name}.npy");
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        entry_fields(&mut out, crc, size, &file_name);
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(file_name.as_bytes());
        out.extend_from_slice(data);
        // Central directory entry: "version made by", then the same fields.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        entry_fields(&mut central, crc, size, &file_name);
        central.extend_from_slice(&[0; 2 + 2 + 2 + 2 + 4]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(file_name.as_bytes());
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let count = members.len() as u16;
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn string_arrays_are_padded_utf32() {
        let bytes = npy_strings(&["ab".into(), "é".into()]);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.starts_with("{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }"));
        let body = &bytes[10 + header_len..];
        assert_eq!(body.len(), 2 * 2 * 4);
        assert_eq!(&body[0..4], &(b'a' as u32).to_le_bytes());
        assert_eq!(&body[8..12], &('é' as u32).to_le_bytes());
        assert_eq!(&body[12..16], &[0, 0, 0, 0]);
    }

    #[test]
    fn members_are_stored_with_their_names_and_a_central_directory() {
        let zip = npz_bytes(&[("a_batch", b"xyz".to_vec()), ("ids", b"12".to_vec())]);
        assert_eq!(&zip[0..4], b"PK\x03\x04");
        let text = String::from_utf8_lossy(&zip);
        assert!(text.contains("a_batch.npy") && text.contains("ids.npy"));
        let end = zip.len() - 22;
        assert_eq!(&zip[end..end + 4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([zip[end + 10], zip[end + 11]]), 2);
    }
}
