//! Slack's text and times in Parley's words.

use std::collections::HashMap;

use parley_core::time::Timestamp;

use super::read::SlackMessage;

/// A message's text in Parley's words: people and channels by name, links
/// as Markdown, Slack's escapes undone, its files linked below it.
pub(super) fn body_of(message: &SlackMessage, usernames: &HashMap<&str, String>) -> String {
    let mut out = String::with_capacity(message.text.len());
    let mut rest = message.text.as_str();
    while let Some(open) = rest.find('<') {
        out.push_str(&unescape(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&unescape(&rest[open..]));
            rest = "";
            break;
        };
        let inner = &rest[open + 1..open + close];
        let (target, label) = match inner.split_once('|') {
            Some((target, label)) => (target, Some(label)),
            None => (inner, None),
        };
        match target.as_bytes().first() {
            Some(b'@') => match usernames.get(&target[1..]) {
                Some(name) => out.push_str(&format!("@{name}")),
                None => out.push_str(&format!("@{}", label.unwrap_or(&target[1..]))),
            },
            Some(b'#') => out.push_str(&format!("#{}", label.unwrap_or(&target[1..]))),
            Some(b'!') => {
                let word = target[1..].split('^').next().unwrap_or_default();
                match word {
                    "channel" | "here" | "everyone" => out.push_str(&format!("@{word}")),
                    _ => out.push_str(&unescape(label.unwrap_or(word))),
                }
            }
            _ => match label {
                Some(label) if label != target => out.push_str(&format!("[{}]({target})", unescape(label))),
                _ => out.push_str(&unescape(target)),
            },
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(&unescape(rest));
    let mut out = emphasis(&out);
    for file in &message.files {
        let name = file.title.as_deref().or(file.name.as_deref()).unwrap_or("a file");
        match file.url_private.as_deref().or(file.permalink.as_deref()) {
            Some(url) => out.push_str(&format!("\n📎 [{name}]({url})")),
            None => out.push_str(&format!("\n📎 {name}")),
        }
    }
    out.trim().to_owned()
}

/// Slack's `*bold*` and `~struck~` as Markdown's `**bold**` and
/// `~~struck~~` (`_italic_`, code and quotes are written alike), outside
/// code and link targets.
fn emphasis(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    // Copies through the first `end` at or after `from` (all if none): code, a link's target.
    let through = |out: &mut String, i: usize, from: usize, end: &str| -> usize {
        let end: Vec<char> = end.chars().collect();
        let stop = (from..chars.len()).find(|&j| chars[j..].starts_with(&end)).map_or(chars.len(), |j| j + end.len());
        out.extend(&chars[i..stop]);
        stop
    };
    let word = |at: Option<&char>, mark: char| at.is_some_and(|c| c.is_alphanumeric() || *c == mark);
    while i < chars.len() {
        let c = chars[i];
        if chars[i..].starts_with(&['`', '`', '`']) {
            i = through(&mut out, i, i + 3, "```");
        } else if c == '`' {
            i = through(&mut out, i, i + 1, "`");
        } else if c == ']' && chars.get(i + 1) == Some(&'(') {
            i = through(&mut out, i, i + 2, ")");
        } else if (c == '*' || c == '~')
            && !word(i.checked_sub(1).and_then(|p| chars.get(p)), c)
            && chars.get(i + 1).is_some_and(|n| !n.is_whitespace() && *n != c)
        {
            let close = (i + 2..chars.len())
                .take_while(|&j| chars[j] != '\n')
                .find(|&j| chars[j] == c && !chars[j - 1].is_whitespace() && !word(chars.get(j + 1), c));
            match close {
                Some(j) => {
                    out.extend([c, c]);
                    out.extend(&chars[i + 1..j]);
                    out.extend([c, c]);
                    i = j + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Slack escapes these three in a message's text.
pub(super) fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// `text` in parts of at most `max` characters, cut at a line's end where
/// one is near, so that a long Slack message is kept whole.
pub(super) fn split(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if rest.chars().count() <= max {
            parts.push(rest.to_owned());
            break;
        }
        let end = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let cut_at = rest[..end].rfind('\n').filter(|i| *i > end / 2).unwrap_or(end);
        let part = rest[..cut_at].trim();
        if !part.is_empty() {
            parts.push(part.to_owned());
        }
        rest = rest[cut_at..].trim_start();
    }
    parts
}

/// At most `max` characters of `text`, trimmed.
pub(super) fn cut(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect::<String>().trim().to_owned()
}

/// `"1512085950.000216"`: seconds and microseconds, as Slack writes a
/// message's `ts` (which is also its id within its channel).
pub(super) fn ts_key(ts: &str) -> (i64, i64) {
    let (secs, fraction) = ts.split_once('.').unwrap_or((ts, "0"));
    let micros = format!("{fraction:0<6}");
    (secs.parse().unwrap_or(0), micros.get(..6).and_then(|m| m.parse().ok()).unwrap_or(0))
}

pub(super) fn ts_time(ts: &str) -> Option<Timestamp> {
    let (secs, fraction) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: i64 = secs.parse().ok()?;
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().ok()?;
    Some(Timestamp::from_millis(secs.checked_mul(1000)?.checked_add(millis)?))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::import::slack::read::SlackMessage;

    #[test]
    fn slack_text_reads_as_parley_text() {
        let usernames = HashMap::from([("U1", "ann".to_owned())]);
        let message = |text: &str| SlackMessage {
            subtype: None,
            user: None,
            text: text.to_owned(),
            ts: "1.000001".to_owned(),
            thread_ts: None,
            reactions: Vec::new(),
            files: Vec::new(),
        };
        let cases = [
            ("hi <@U1>, see <#C1|general>", "hi @ann, see #general"),
            ("<!here> <!channel> <@U9|bo>", "@here @channel @bo"),
            (
                "<https://example.com|the site> and <https://example.com>",
                "[the site](https://example.com) and https://example.com",
            ),
            ("a &lt;b&gt; &amp; c", "a <b> & c"),
            ("no close <here", "no close <here"),
            ("*bold* and ~struck~, _italic_", "**bold** and ~~struck~~, _italic_"),
            ("2*3*4 and a * star * alone, *open", "2*3*4 and a * star * alone, *open"),
            ("`*code*` ```*block*``` *after*", "`*code*` ```*block*``` **after**"),
            ("<https://x.org/~a/b~|site> ~gone~", "[site](https://x.org/~a/b~) ~~gone~~"),
        ];
        for (slack, parley) in cases {
            assert_eq!(body_of(&message(slack), &usernames), parley);
        }
    }

    #[test]
    fn long_text_is_split_at_line_ends_and_loses_nothing() {
        let text = format!("{}\n{}", "a".repeat(3000), "b".repeat(3000));
        let parts = split(&text, 4000);
        assert_eq!(parts, ["a".repeat(3000), "b".repeat(3000)]);
        let parts = split(&"c".repeat(9000), 4000);
        assert_eq!(parts.iter().map(String::len).collect::<Vec<_>>(), [4000, 4000, 1000]);
    }

    #[test]
    fn times() {
        assert_eq!(ts_time("1512085950.000216"), Some(Timestamp::from_millis(1_512_085_950_000)));
        assert_eq!(ts_time("1512085950.5"), Some(Timestamp::from_millis(1_512_085_950_500)));
        assert!(ts_key("10.000002") > ts_key("10.000001") && ts_key("9.9") < ts_key("10.0"));
        assert!(ts_key("1.5") > ts_key("1.000001"));
    }
}
