//! Who a message mentions, read from its text: `@username` (any case),
//! `@channel` (every member; `@everyone` says the same) and `@here` (the
//! members online). The rules,
//! as a person expects them:
//!
//! - the `@` starts the text or follows a space or punctuation, never a
//!   letter, a digit or one of `_ . - + / @` — so `bob@example.com` and
//!   `a/@b` mention nobody;
//! - the name is what a username may hold (`a-z 0-9 _ . -`), less any `.`
//!   or `-` that ends the sentence (`@bob.` is bob), and is not followed by
//!   another `@` (`@bob@example.com` is an address);
//! - nothing inside code (between backticks, inline or fenced) mentions;
//! - a name too short or too long to be a username mentions nobody.
//!
//! The names found are only candidates: whether one is a user who can read
//! the channel is for the writer to decide, where the message is stored.

use crate::parse::Username;

/// At most this many names of one message are looked up; more are ignored.
pub const MAX_MENTIONS: usize = 50;

/// What a message's text asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentioned {
    /// Lower-case candidate usernames, each once, in the order they appear.
    pub names: Vec<String>,
    pub channel: bool,
    pub here: bool,
}

impl Mentioned {
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && !self.channel && !self.here
    }
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// A character after which an `@` does not start a mention.
fn joins(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '+' | '/' | '@' | '\\')
}

/// Reads the mentions of `text`.
pub fn mentions(text: &str) -> Mentioned {
    let mut found = Mentioned::default();
    let chars: Vec<char> = text.chars().collect();
    // Inside code: the length of the backtick run that opened it.
    let mut code: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let run = chars[i..].iter().take_while(|c| **c == '`').count();
            code = match code {
                None => Some(run),
                Some(open) if open == run => None,
                inside => inside,
            };
            i += run;
            continue;
        }
        if c != '@' || code.is_some() || (i > 0 && joins(chars[i - 1])) {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < chars.len() && name_char(chars[end]) {
            end += 1;
        }
        let followed_by_at = chars.get(end) == Some(&'@');
        let mut name_end = end;
        while name_end > start && matches!(chars[name_end - 1], '.' | '-') {
            name_end -= 1;
        }
        i = end.max(start);
        if followed_by_at {
            continue;
        }
        let name: String = chars[start..name_end].iter().collect::<String>().to_ascii_lowercase();
        match name.as_str() {
            "channel" | "everyone" => found.channel = true,
            "here" => found.here = true,
            _ if (Username::MIN..=Username::MAX).contains(&name.len())
                && !found.names.contains(&name)
                && found.names.len() < MAX_MENTIONS =>
            {
                found.names.push(name)
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        mentions(text).names
    }

    #[test]
    fn a_name_after_space_or_punctuation_is_a_mention() {
        assert_eq!(names("@bob hi"), ["bob"]);
        assert_eq!(names("hi @Bob, and (@carol_1) or @dee.e!"), ["bob", "carol_1", "dee.e"]);
        assert_eq!(names("thanks @bob."), ["bob"], "the sentence's full stop is not the name's");
        assert_eq!(names("ask @bob-- or @bob"), ["bob"], "once, in order");
        assert_eq!(names("«@zoë»"), Vec::<String>::new(), "ASCII names only: zo is too short");
        assert_eq!(names("@ana\n@ben"), ["ana", "ben"]);
    }

    #[test]
    fn addresses_and_joined_text_are_not_mentions() {
        assert!(names("write to bob@example.com").is_empty());
        assert!(names("@bob@example.com").is_empty(), "an address that starts the text");
        assert!(names("a/@bob a+@bob a_@bob @@bob").is_empty());
        assert!(names("@ab @ or @").is_empty(), "too short, or nothing");
        assert!(names(&format!("@{}", "x".repeat(33))).is_empty(), "too long to be a username");
    }

    #[test]
    fn code_mentions_nobody() {
        assert_eq!(names("`@bob` and @carol"), ["carol"]);
        assert_eq!(names("```\n@bob\n``` @dave"), ["dave"]);
        assert_eq!(names("``a ` @bob`` @erin"), ["erin"], "a single backtick inside a double run");
        assert!(names("`@bob unclosed").is_empty(), "an unclosed run runs to the end");
    }

    #[test]
    fn channel_and_here_are_flags() {
        let all = mentions("@channel meeting, @HERE too, cc @bob");
        assert_eq!((all.channel, all.here, all.names), (true, true, vec!["bob".to_owned()]));
        assert!(mentions("@everyone!").channel);
        assert!(mentions("no one").is_empty());
        assert!(!mentions("`@channel`").channel);
    }

    #[test]
    fn names_stop_at_the_limit() {
        let text: String = (0..60).map(|n| format!("@user{n:02} ")).collect();
        assert_eq!(names(&text).len(), MAX_MENTIONS);
    }
}
