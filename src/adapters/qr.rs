//! QR codes as PNG data URLs (the TOTP set-up image), like upstream's: the code scaled
//! to fit a square image, centred on white, medium error correction.

use base64::Engine;
use qrcodegen::{QrCode, QrCodeEcc};

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("text too long for a QR code")]
    TooLong,
    #[error("image {0}px is too small for the QR code")]
    TooSmall(u32),
    #[error("png: {0}")]
    Png(#[from] png::EncodingError),
}

/// `data:image/png;base64,…` of a `size`×`size` grayscale PNG showing `text`.
pub fn png_data_url(text: &str, size: u32) -> Result<String, QrError> {
    let png = png_bytes(text, size)?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

pub fn png_bytes(text: &str, size: u32) -> Result<Vec<u8>, QrError> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|_| QrError::TooLong)?;
    let modules = u32::try_from(qr.size()).map_err(|_| QrError::TooLong)?;
    let scale = size / modules;
    if scale == 0 {
        return Err(QrError::TooSmall(size));
    }
    let offset = (size - modules * scale) / 2;
    let mut pixels = vec![0xFFu8; (size * size) as usize];
    for y in 0..modules * scale {
        for x in 0..modules * scale {
            // Module coordinates fit in i32: a QR code has at most 177 modules.
            let dark = qr.get_module((x / scale) as i32, (y / scale) as i32);
            if dark {
                pixels[((y + offset) * size + x + offset) as usize] = 0;
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, size, size);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_is_a_png_of_the_requested_size() {
        let png = png_bytes("otpauth://totp/auth:a@b.c?secret=JBSWY3DPEHPK3PXP", 200).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big endian, right after the chunk header.
        assert_eq!(&png[16..20], &200u32.to_be_bytes());
        assert_eq!(&png[20..24], &200u32.to_be_bytes());
        let url = png_data_url("hello", 200).unwrap();
        assert!(url.starts_with("data:image/png;base64,iVBORw0KGgo"));
    }

    #[test]
    fn too_small_or_too_long_is_an_error() {
        assert!(matches!(png_bytes("hello", 10), Err(QrError::TooSmall(10))));
        assert!(matches!(
            png_bytes(&"x".repeat(5000), 200),
            Err(QrError::TooLong)
        ));
    }
}
