//! RGB pixel buffer → PNG bytes, with the `png` crate.
//!
//! plotters only draws into a raw RGB buffer here (`BitMapBackend::with_buffer`); the file format
//! is written by `png` directly, which avoids the `image` crate and keeps one encoder (different
//! encoders give different bytes for the same pixels). Encoder settings are fixed, so the same
//! pixels always give the same bytes.

use super::RenderError;

/// Encodes an 8-bit RGB buffer of `width × height` pixels (row-major, no padding) as PNG.
pub fn encode_rgb_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, RenderError> {
    let expected = width as usize * height as usize * 3;
    if rgb.len() != expected {
        return Err(RenderError::new(format!(
            "RGB buffer has {} bytes, a {width}x{height} image needs {expected}",
            rgb.len()
        )));
    }
    let err = |e: png::EncodingError| RenderError::new(format!("PNG encoding failed: {e}"));
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Balanced);
        let mut writer = encoder.write_header().map_err(err)?;
        writer.write_image_data(rgb).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_tiny_image_and_rejects_a_wrong_buffer() {
        let png = encode_rgb_png(&[255u8; 2 * 3 * 3], 2, 3).expect("encodes");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(encode_rgb_png(&[0u8; 5], 2, 3).is_err());
    }
}
