//! A reaction's emoji: one Unicode emoji, or a `:shortcode:` of the built-in
//! list (GitHub's, as the `emojis` crate carries them), which is stored as
//! the emoji it names, so that `:+1:` and 👍 are one reaction.

use crate::{Error, Result};

/// One emoji, as stored and served: never more than [`Emoji::MAX_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Emoji(String);

impl Emoji {
    /// The longest emoji accepted, in UTF-8 bytes (a family of four with
    /// skin tones is 35: not one of the list's).
    pub const MAX_BYTES: usize = 32;

    pub fn parse(raw: &str) -> Result<Emoji> {
        let found = match raw.strip_prefix(':').and_then(|r| r.strip_suffix(':')) {
            Some(code) if !code.is_empty() => emojis::get_by_shortcode(code),
            _ => emojis::get(raw),
        };
        match found {
            Some(emoji) if emoji.as_str().len() <= Self::MAX_BYTES => Ok(Emoji(emoji.as_str().to_owned())),
            _ => Err(Error::bad_request("emoji must be one emoji or a :shortcode: of the built-in list")),
        }
    }

    /// An emoji read back from the store, where only parsed ones are written.
    pub fn stored(text: String) -> Emoji {
        Emoji(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_and_shortcodes_are_one_reaction() {
        assert_eq!(Emoji::parse("👍").unwrap(), Emoji::parse(":+1:").unwrap());
        assert_eq!(Emoji::parse(":thumbsup:").unwrap().as_str(), "👍");
        assert_eq!(Emoji::parse("🎉").unwrap().as_str(), "🎉");
        assert!(Emoji::parse("👍🏽").is_ok(), "a skin tone");
        assert!(Emoji::parse("🏳️‍🌈").is_ok(), "a ZWJ sequence");
        assert!(Emoji::parse("🇫🇷").is_ok(), "a flag");
    }

    #[test]
    fn anything_else_is_refused() {
        for raw in ["", "a", "👍👍", ":nope:", "::", ":+1", "👍 ", "<b>", ":"] {
            assert!(Emoji::parse(raw).is_err(), "{raw:?}");
        }
    }
}
