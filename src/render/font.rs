//! The chart font, embedded in the binary and registered with plotters once.
//!
//! Charts must look the same on every machine, so text is never drawn with a system font:
//! DejaVu Sans (regular and bold, see `assets/fonts/LICENSE-DejaVu.txt`) is compiled in with
//! `include_bytes!` and registered with plotters' `ab_glyph` text backend under the family name
//! `"sans-serif"`, the name plotters' own axis labels use. This only works while plotters is built
//! with `default-features = false`: its default `ttf` feature would silently switch back to
//! system fonts found through fontconfig.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use super::RenderError;

/// The family name every chart asks for.
pub const FONT_FAMILY: &str = "sans-serif";

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The outcome of the one registration, kept so every later call reports the same result.
static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();

/// Registers the embedded fonts under [`FONT_FAMILY`]; only the first call does any work.
pub fn register_fonts() -> Result<(), RenderError> {
    REGISTERED
        .get_or_init(|| {
            register_font(FONT_FAMILY, FontStyle::Normal, REGULAR)
                .map_err(|_| "embedded DejaVuSans.ttf is not a valid font".to_string())?;
            register_font(FONT_FAMILY, FontStyle::Bold, BOLD)
                .map_err(|_| "embedded DejaVuSans-Bold.ttf is not a valid font".to_string())
        })
        .clone()
        .map_err(RenderError::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fonts_register_and_registering_again_is_harmless() {
        assert!(register_fonts().is_ok());
        assert!(register_fonts().is_ok());
    }
}
