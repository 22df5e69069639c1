//! What a shown name may be made of, and when two users' names look alike.
//!
//! A display name must draw as what it is: NFC (one spelling per name), and
//! none of the characters that draw nothing or reorder the text around them
//! — controls, format characters (bidirectional overrides and isolates,
//! zero-width spaces and joiners, the soft hyphen, tag characters), line and
//! paragraph separators, and the rest of `Default_Ignorable_Code_Point` (such
//! as Hangul fillers) — nor unassigned or private-use code points, whose
//! look no one can judge. The sets come from Unicode's own data
//! (`icu_properties`), not a hand list. Emoji keep working: a variation
//! selector may follow a character it can vary, and a zero-width joiner may
//! join two pictographs (👩‍💻, 🏳️‍🌈). Usernames meet all of this by
//! construction: they are ASCII `a-z 0-9 _ . -`.
//!
//! Two names look alike when they share a [`NameKeys`] key: the Unicode
//! confusables skeleton (UTS #39, `unicode-security`) with case folded.

use icu_properties::props::{
    BinaryProperty, DefaultIgnorableCodePoint, EmojiModifier, EnumeratedProperty, ExtendedPictographic,
    GeneralCategory, VariationSelector,
};
use unicode_normalization::UnicodeNormalization;

use crate::{Error, Result};

/// Joins emoji into one picture (👩‍💻); invisible anywhere else.
const ZERO_WIDTH_JOINER: char = '\u{200D}';
/// Asks for the emoji picture of the character before it (❤️).
const EMOJI_PRESENTATION: char = '\u{FE0F}';
/// A symbol in Unicode's eyes (So), drawn as a blank cell: a name of it alone
/// looks empty.
const BRAILLE_BLANK: char = '\u{2800}';
/// UTS #39 §5.4: more non-spacing marks in a row than any script needs
/// pile up over the text above and below the name.
const MAX_MARKS_IN_A_ROW: usize = 4;

/// `raw` in NFC, trimmed.
pub fn normalized(raw: &str) -> String {
    raw.nfc().collect::<String>().trim().to_owned()
}

/// What a character is to a reader of the name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Look {
    /// A letter, digit, punctuation mark or symbol.
    Visible,
    Space,
    /// A combining mark: drawn on the character before it.
    Mark,
    /// Drawn as nothing, or changes how the text around it is drawn.
    Hidden,
    Control,
    /// Unassigned or private use: no one can tell how it is drawn.
    Unknown,
}

fn look(c: char) -> Look {
    use GeneralCategory as Gc;
    match GeneralCategory::for_char(c) {
        Gc::Control => Look::Control,
        Gc::Format | Gc::LineSeparator | Gc::ParagraphSeparator => Look::Hidden,
        Gc::Unassigned | Gc::PrivateUse | Gc::Surrogate => Look::Unknown,
        _ if DefaultIgnorableCodePoint::for_char(c) => Look::Hidden,
        Gc::NonspacingMark | Gc::EnclosingMark | Gc::SpacingMark => Look::Mark,
        Gc::SpaceSeparator => Look::Space,
        _ => Look::Visible,
    }
}

/// A hidden character that is part of an emoji where it stands: a variation
/// selector right after a visible character, or a joiner between two
/// pictographs (the first possibly with its skin tone or emoji selector).
fn joins_emoji(before: Option<char>, c: char, after: Option<char>) -> bool {
    if VariationSelector::for_char(c) {
        return before.is_some_and(|b| look(b) == Look::Visible);
    }
    c == ZERO_WIDTH_JOINER
        && before
            .is_some_and(|b| ExtendedPictographic::for_char(b) || EmojiModifier::for_char(b) || b == EMOJI_PRESENTATION)
        && after.is_some_and(ExtendedPictographic::for_char)
}

/// Checks that `name` (already [`normalized`]) draws as what it is; `what`
/// names the field in the error.
pub fn check_visible(what: &str, name: &str) -> Result<()> {
    let chars: Vec<char> = name.chars().collect();
    let mut seen_visible = false;
    let mut marks = 0;
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).map(|b| chars[b]);
        match look(c) {
            Look::Control => return Err(Error::bad_request(format!("{what} may not contain control characters"))),
            Look::Unknown => {
                return Err(Error::bad_request(format!(
                    "{what} may not contain unassigned or private-use characters (U+{:04X})",
                    u32::from(c)
                )))
            }
            Look::Hidden if !joins_emoji(before, c, chars.get(i + 1).copied()) => {
                return Err(Error::bad_request(format!(
                    "{what} may not contain invisible or text-direction characters (U+{:04X})",
                    u32::from(c)
                )))
            }
            Look::Mark if i == 0 => {
                return Err(Error::bad_request(format!("{what} may not start with a combining mark")))
            }
            Look::Mark if GeneralCategory::for_char(c) == GeneralCategory::NonspacingMark => {
                marks += 1;
                if marks > MAX_MARKS_IN_A_ROW {
                    return Err(Error::bad_request(format!(
                        "{what} may not have more than {MAX_MARKS_IN_A_ROW} combining marks in a row"
                    )));
                }
                continue;
            }
            Look::Visible if c != BRAILLE_BLANK => seen_visible = true,
            _ => {}
        }
        marks = 0;
    }
    if !seen_visible {
        return Err(Error::bad_request(format!("{what} must contain a visible letter, digit or symbol")));
    }
    Ok(())
}

/// A name's look-alike key: its UTS #39 skeleton, then lower-cased, with runs
/// of spaces as one. The skeleton comes first so that a capital I, drawn like
/// an l, counts as one: "AIice" is "alice". Folded first, it would be "aiice".
fn skeleton_then_folded(name: &str) -> String {
    let skeleton: String = unicode_security::skeleton(name).collect();
    skeleton.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The keys a user's names are compared by. Two users' names look alike when
/// one key of one equals one key of the other.
///
/// A display name has two: its skeleton with case folded after ("AIice" and
/// "Alice" are both "alice"), and with case folded before too ("ALICE" is
/// "alice" that way, while after its skeleton it is "allce", its I being an
/// l). One key cannot hold both: they disagree about a capital I. A username
/// is lower case already, so its two are one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameKeys {
    pub username: String,
    pub display: [String; 2],
}

impl NameKeys {
    pub fn of(username: &str, display_name: &str) -> Self {
        NameKeys { username: username_key(username), display: display_keys(display_name) }
    }

    /// Every key, the username's first.
    pub fn all(&self) -> [&str; 3] {
        [&self.username, &self.display[0], &self.display[1]]
    }

    pub fn contains(&self, key: &str) -> bool {
        self.all().contains(&key)
    }
}

/// A username's look-alike key ("a1ice" and "alice" are both "alice").
pub fn username_key(username: &str) -> String {
    skeleton_then_folded(username)
}

/// A display name's two look-alike keys (see [`NameKeys`]); equal for most names.
pub fn display_keys(display_name: &str) -> [String; 2] {
    [skeleton_then_folded(display_name), skeleton_then_folded(&display_name.to_lowercase())]
}

/// Why a name was refused as another user's. The messages are the ones the
/// API answers, whichever store found the clash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameClash {
    UsernameTaken,
    UsernameLooksTaken,
    DisplayNameLooksTaken,
}

impl From<NameClash> for Error {
    fn from(clash: NameClash) -> Error {
        Error::conflict(match clash {
            NameClash::UsernameTaken => "that username is taken",
            NameClash::UsernameLooksTaken => "that username looks like another user's name",
            NameClash::DisplayNameLooksTaken => "that display name looks like another user's name",
        })
    }
}

/// What a store found for a new user `username` with `keys`: the users
/// sharing a key with them, as (username, their keys). The first clash in
/// the order of [`NameClash`], if any.
pub fn registration_clash<'a>(
    username: &str,
    keys: &NameKeys,
    others: impl IntoIterator<Item = (&'a str, &'a NameKeys)>,
) -> Option<NameClash> {
    others
        .into_iter()
        .map(|(name, theirs)| {
            if name == username {
                NameClash::UsernameTaken
            } else if theirs.contains(&keys.username) {
                NameClash::UsernameLooksTaken
            } else {
                NameClash::DisplayNameLooksTaken
            }
        })
        .min()
}

/// The keys of a new display name that must not be another user's: those
/// `mine` (the user's current names) does not hold already. A user may keep
/// what they have, and take a display name that looks like their own
/// username; none of that adds a look-alike that was not there before.
pub fn new_display_keys(display_name: &str, mine: &NameKeys) -> Vec<String> {
    let mut keys = display_keys(display_name).to_vec();
    keys.dedup();
    keys.retain(|key| !mine.contains(key));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn refused(name: &str) -> String {
        let error = check_visible("display_name", &normalized(name)).expect_err(name);
        assert_eq!(error.code, ErrorCode::BadRequest);
        error.message
    }

    #[test]
    fn invisible_and_direction_characters_are_refused() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202E}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{061C}',
            '\u{180E}',
            '\u{3164}',
            '\u{115F}',
            '\u{034F}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{2028}',
            '\u{2029}',
            '\u{1D173}',
        ] {
            let message = refused(&format!("ali{c}ce"));
            assert!(message.contains("invisible or text-direction"), "U+{:04X}: {message}", u32::from(c));
            assert!(message.contains(&format!("U+{:04X}", u32::from(c))), "names the character: {message}");
        }
        assert!(refused("ali\u{7}ce").contains("control characters"));
        assert!(refused("ali\u{E000}ce").contains("private-use"));
        assert!(refused("ali\u{0378}ce").contains("unassigned"));
    }

    #[test]
    fn blank_looking_names_are_refused() {
        for name in ["\u{2800}", "\u{3000}\u{2800}\u{3000}", "a\u{0301}".trim_start_matches('a'), "\u{20DD}"] {
            let message = refused(name);
            assert!(message.contains("visible") || message.contains("combining mark"), "{name:?}: {message}");
        }
        assert!(refused("\u{FE0F}").contains("U+FE0F"), "a variation selector alone");
        assert!(refused("a\u{FE0F}\u{FE0F}").contains("U+FE0F"), "two in a row");
        assert!(
            refused("x\u{0301}\u{0302}\u{0303}\u{0304}\u{0305}").contains("in a row"),
            "x has no precomposed forms"
        );
        check_visible("display_name", "x\u{0301}\u{0302}\u{0303}\u{0304}").expect("four is enough for any script");
    }

    #[test]
    fn ordinary_names_and_emoji_pass() {
        for name in [
            "Alice",
            "Dr Alice Smith",
            "Émile Zola",
            "Mary-Jane O'Neil 🎸",
            "Alice in Wonderland ✨",
            "I ❤\u{FE0F} tea",
            "👩\u{1F3FD}\u{200D}💻 Dev",
            "🏳\u{FE0F}\u{200D}🌈",
            "#\u{FE0F}\u{20E3}",
            "Nguyễn Thị Minh Khai",
            "محمد",
            "שלום",
            "李小龍",
            "क्षत्रिय",
            "a\u{2800}b",
        ] {
            check_visible("display_name", &normalized(name)).unwrap_or_else(|e| panic!("{name:?}: {}", e.message));
        }
    }

    #[test]
    fn names_are_nfc_and_trimmed() {
        assert_eq!(normalized("  Ame\u{0301}lie \n"), "Amélie");
        assert_eq!(normalized("Amélie"), "Amélie");
    }

    #[test]
    fn look_alikes_share_a_key() {
        let alice = NameKeys::of("alice", "alice");
        for name in ["Alice", "аlice", "a1ice", "AIice", "ALICE", "al\u{0456}ce", "alice\u{FE0F}"] {
            let keys = display_keys(name);
            assert!(keys.iter().any(|k| alice.contains(k)), "{name:?} ({keys:?}) looks like alice");
        }
        assert_eq!(username_key("a1ice"), "alice");
        assert_eq!(username_key("b0b"), username_key("bob"));
        assert_eq!(display_keys("Mary  Jones"), display_keys("Mary Jones"));
        for name in ["Alicia", "Bob", "alice2", "Al"] {
            let keys = display_keys(name);
            assert!(!keys.iter().any(|k| alice.contains(k)), "{name:?} ({keys:?}) does not look like alice");
        }
    }

    #[test]
    fn registration_clashes_in_order() {
        let mine = NameKeys::of("alice", "Alice");
        let taken = NameKeys::of("alice", "Someone");
        let looks = NameKeys::of("bob", "Аlice");
        let by_display = NameKeys::of("carol", "Wonder");
        let me = NameKeys::of("alice", "Wonder");
        assert_eq!(registration_clash("alice", &mine, []), None);
        assert_eq!(
            registration_clash("alice", &me, [("carol", &by_display), ("alice", &taken)]),
            Some(NameClash::UsernameTaken)
        );
        assert_eq!(
            registration_clash("alice", &me, [("carol", &by_display), ("bob", &looks)]),
            Some(NameClash::UsernameLooksTaken)
        );
        assert_eq!(registration_clash("alice", &me, [("carol", &by_display)]), Some(NameClash::DisplayNameLooksTaken));
    }

    #[test]
    fn a_user_keeps_what_they_hold() {
        let mine = NameKeys::of("alice", "Wonder");
        assert!(new_display_keys("ALICE", &mine).iter().all(|k| k != "alice"), "my own username");
        assert!(new_display_keys("Wonder", &mine).is_empty(), "my own display name");
        assert_eq!(new_display_keys("Bob", &mine), ["bob"]);
    }
}
