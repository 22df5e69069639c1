//! The text form of a notice on the pub/sub channel: `online <user>`,
//! `offline <user>`, `typing <channel> <user>`, `read <user> <channel>
//! <last_read_seq> <unread_count> <mention_count>` (the last left out by
//! nodes older than mentions: 0), `prefs <user> <channel> <notify>
//! <muted: 0|1>`, `ended <user> <token hashes,…>`, `block <user> <other>
//! <blocked: 0|1>`. Text rather than JSON because the Lua scripts publish the
//! first two themselves. A node that does not know a kind skips it, so a
//! newer node's notices cost an older one nothing during an upgrade.

use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Notify, Preferences, ReadMarker};
use parley_core::presence::{Mine, Notice};

pub(crate) const ONLINE: &str = "online";
pub(crate) const OFFLINE: &str = "offline";
const TYPING: &str = "typing";
const READ: &str = "read";
const PREFERENCES: &str = "prefs";
const ENDED: &str = "ended";
const BLOCK: &str = "block";

pub(crate) fn encode(notice: &Notice) -> String {
    match notice {
        Notice::Online(user) => format!("{ONLINE} {user}"),
        Notice::Offline(user) => format!("{OFFLINE} {user}"),
        Notice::Typing { channel, user } => format!("{TYPING} {channel} {user}"),
        Notice::Mine { user, what: Mine::Read(marker) } => {
            let ReadMarker { channel_id, last_read_seq, unread_count, mention_count } = marker;
            format!("{READ} {user} {channel_id} {last_read_seq} {unread_count} {mention_count}")
        }
        Notice::Mine { user, what: Mine::Preferences(channel, preferences) } => {
            let muted = u8::from(preferences.muted);
            format!("{PREFERENCES} {user} {channel} {} {muted}", preferences.notify.as_str())
        }
        // Token hashes are hex: no space or comma in one.
        Notice::Mine { user, what: Mine::Ended(sessions) } => format!("{ENDED} {user} {}", sessions.join(",")),
        Notice::Mine { user, what: Mine::Blocked { other, blocked } } => {
            format!("{BLOCK} {user} {other} {}", u8::from(*blocked))
        }
    }
}

/// `None` for anything else: the caller skips it with a log line.
pub(crate) fn decode(text: &str) -> Option<Notice> {
    let mut words = text.split(' ');
    let notice = match words.next()? {
        ONLINE => Notice::Online(words.next()?.parse::<UserId>().ok()?),
        OFFLINE => Notice::Offline(words.next()?.parse::<UserId>().ok()?),
        TYPING => Notice::Typing {
            channel: words.next()?.parse::<ChannelId>().ok()?,
            user: words.next()?.parse::<UserId>().ok()?,
        },
        READ => Notice::Mine {
            user: words.next()?.parse::<UserId>().ok()?,
            what: Mine::Read(ReadMarker {
                channel_id: words.next()?.parse::<ChannelId>().ok()?,
                last_read_seq: words.next()?.parse().ok()?,
                unread_count: words.next()?.parse().ok()?,
                mention_count: words.next().map_or(Some(0), |n| n.parse().ok())?,
            }),
        },
        PREFERENCES => Notice::Mine {
            user: words.next()?.parse::<UserId>().ok()?,
            what: Mine::Preferences(
                words.next()?.parse::<ChannelId>().ok()?,
                Preferences {
                    notify: Notify::from_db(words.next()?)?,
                    muted: match words.next()? {
                        "0" => false,
                        "1" => true,
                        _ => return None,
                    },
                },
            ),
        },
        ENDED => Notice::Mine {
            user: words.next()?.parse::<UserId>().ok()?,
            what: Mine::Ended(
                words
                    .next()?
                    .split(',')
                    .filter(|hash| !hash.is_empty())
                    .map(|hash| hash.bytes().all(|b| b.is_ascii_hexdigit()).then(|| hash.to_owned()))
                    .collect::<Option<_>>()?,
            ),
        },
        BLOCK => Notice::Mine {
            user: words.next()?.parse::<UserId>().ok()?,
            what: Mine::Blocked {
                other: words.next()?.parse::<UserId>().ok()?,
                blocked: match words.next()? {
                    "0" => false,
                    "1" => true,
                    _ => return None,
                },
            },
        },
        _ => return None,
    };
    words.next().is_none().then_some(notice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_comes_back_as_it_went() {
        let (user, channel) = (UserId::generate(), ChannelId::generate());
        let marker = ReadMarker { channel_id: channel, last_read_seq: 57, unread_count: 3, mention_count: 1 };
        let read = Notice::Mine { user, what: Mine::Read(marker) };
        let preferences = Preferences { notify: Notify::Nothing, muted: true };
        let preferred = Notice::Mine { user, what: Mine::Preferences(channel, preferences) };
        let ended = Notice::Mine { user, what: Mine::Ended(vec!["ab12".to_owned(), "cd34".to_owned()]) };
        let blocked = Notice::Mine { user, what: Mine::Blocked { other: UserId::generate(), blocked: true } };
        for notice in [
            Notice::Online(user),
            Notice::Offline(user),
            Notice::Typing { channel, user },
            read.clone(),
            preferred.clone(),
            ended.clone(),
            blocked.clone(),
        ] {
            assert_eq!(decode(&encode(&notice)), Some(notice));
        }
        assert_eq!(encode(&Notice::Online(user)), format!("online {user}"));
        assert_eq!(encode(&read), format!("read {user} {channel} 57 3 1"));
        assert_eq!(encode(&ended), format!("ended {user} ab12,cd34"));
        assert_eq!(decode(&format!("ended {user} ab12,not-hex")), None);
        assert_eq!(decode(&format!("block {user} {user} 2")), None);
        let older = decode(&format!("read {user} {channel} 57 3"));
        assert_eq!(older, Some(Notice::Mine { user, what: Mine::Read(ReadMarker { mention_count: 0, ..marker }) }));
        assert_eq!(encode(&preferred), format!("prefs {user} {channel} none 1"));
    }

    #[test]
    fn anything_else_is_refused() {
        let user = UserId::generate();
        for text in [
            "",
            "online",
            "online x",
            &format!("away {user}"),
            &format!("online {user} extra"),
            &format!("typing {user}"),
            &format!("read {user}"),
            &format!("read {user} {user} x 0"),
            &format!("prefs {user} {user} loud 0"),
            &format!("prefs {user} {user} all 2"),
            &format!("read {user} {user} 5 0 x"),
            &format!("read {user} {user} 5 0 1 extra"),
        ] {
            assert_eq!(decode(text), None, "{text:?}");
        }
    }
}
