//! A minimal baseline JPEG writer for CMYK test images, because neither `image` nor any other
//! dependency of this crate can encode CMYK. Each 8×8 block is flat (only the DC coefficient
//! is non-zero, quantisation 1), which keeps the encoder to a few lines and the decoded
//! values exact.

/// Encodes a 4-component JPEG with an Adobe APP14 marker (transform 0 = CMYK, stored inverted
/// as Photoshop does). `blocks` gives one (C, M, Y, K) sample value per 8×8 block, left to
/// right; the image is `8·blocks.len()` × 8 pixels.
pub fn flat_cmyk_jpeg(blocks: &[[u8; 4]]) -> Vec<u8> {
    let width = 8 * blocks.len() as u16;
    let mut out = vec![0xFF, 0xD8];
    let mut segment = |marker: u8, body: &[u8]| {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
        out.extend_from_slice(body);
    };
    // APP14 "Adobe": version 100, flags0 0, flags1 0, transform 0.
    segment(0xEE, &[b'A', b'd', b'o', b'b', b'e', 0, 100, 0, 0, 0, 0, 0]);
    // DQT: table 0, all ones.
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1; 64]);
    segment(0xDB, &dqt);
    // SOF0: 8-bit, height 8, width, 4 components with ids 1..4, no subsampling, table 0.
    let mut sof = vec![8, 0, 8];
    sof.extend_from_slice(&width.to_be_bytes());
    sof.push(4);
    for id in 1..=4 {
        sof.extend_from_slice(&[id, 0x11, 0]);
    }
    segment(0xC0, &sof);
    // DHT DC table 0: the standard luminance DC table (JPEG Annex K.3).
    let mut dht = vec![0x00];
    dht.extend_from_slice(&DC_BITS);
    dht.extend(0u8..12);
    segment(0xC4, &dht);
    // DHT AC table 0: one symbol, end-of-block (0x00), with the 1-bit code "0".
    let mut ac = vec![0x10, 1];
    ac.extend_from_slice(&[0; 15]);
    ac.push(0x00);
    segment(0xC4, &ac);
    // SOS: 4 components, tables 0/0, full spectral range.
    let mut sos = vec![4];
    for id in 1..=4 {
        sos.extend_from_slice(&[id, 0x00]);
    }
    sos.extend_from_slice(&[0, 63, 0]);
    segment(0xDA, &sos);

    let dc_codes = canonical_codes(&DC_BITS);
    let mut bits = BitWriter::default();
    let mut predictors = [0i32; 4];
    for block in blocks {
        for (component, &value) in block.iter().enumerate() {
            // A flat block of level-shifted value v has DC = 8·v with an orthonormal DCT.
            let dc = 8 * (i32::from(value) - 128);
            let diff = dc - predictors[component];
            predictors[component] = dc;
            let category = 32 - diff.unsigned_abs().leading_zeros();
            let (code, length) = dc_codes[category as usize];
            bits.put(code, length);
            if category > 0 {
                let magnitude = if diff < 0 {
                    diff + (1 << category) - 1
                } else {
                    diff
                };
                bits.put(magnitude as u32, category);
            }
            bits.put(0, 1); // end of block
        }
    }
    out.extend_from_slice(&bits.finish());
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

const DC_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];

/// (code, length) per symbol for canonical Huffman code lengths, as JPEG assigns them.
fn canonical_codes(bits: &[u8; 16]) -> Vec<(u32, u32)> {
    let mut codes = Vec::new();
    let mut code = 0u32;
    for (i, &count) in bits.iter().enumerate() {
        for _ in 0..count {
            codes.push((code, i as u32 + 1));
            code += 1;
        }
        code <<= 1;
    }
    codes
}

#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    current: u32,
    filled: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, length: u32) {
        for shift in (0..length).rev() {
            self.current = (self.current << 1) | ((value >> shift) & 1);
            self.filled += 1;
            if self.filled == 8 {
                self.push_byte();
            }
        }
    }

    fn push_byte(&mut self) {
        let byte = self.current as u8;
        self.bytes.push(byte);
        if byte == 0xFF {
            self.bytes.push(0x00); // byte stuffing
        }
        self.current = 0;
        self.filled = 0;
    }

    fn finish(mut self) -> Vec<u8> {
        while self.filled != 0 {
            self.put(1, 1); // pad with ones
        }
        self.bytes
    }
}
