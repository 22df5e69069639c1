//! The text form of a notice on the pub/sub channel: `online <user>`,
//! `offline <user>`, `typing <channel> <user>`, `read <user> <channel>
//! <last_read_seq> <unread_count>`. Text rather than JSON because the Lua
//! scripts publish the first two themselves.

use parley_core::id::{ChannelId, UserId};
use parley_core::model::ReadMarker;
use parley_core::presence::Notice;

pub(crate) const ONLINE: &str = "online";
pub(crate) const OFFLINE: &str = "offline";
const TYPING: &str = "typing";
const READ: &str = "read";

pub(crate) fn encode(notice: &Notice) -> String {
    match notice {
        Notice::Online(user) => format!("{ONLINE} {user}"),
        Notice::Offline(user) => format!("{OFFLINE} {user}"),
        Notice::Typing { channel, user } => format!("{TYPING} {channel} {user}"),
        Notice::Read { user, marker } => {
            format!("{READ} {user} {} {} {}", marker.channel_id, marker.last_read_seq, marker.unread_count)
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
        READ => Notice::Read {
            user: words.next()?.parse::<UserId>().ok()?,
            marker: ReadMarker {
                channel_id: words.next()?.parse::<ChannelId>().ok()?,
                last_read_seq: words.next()?.parse().ok()?,
                unread_count: words.next()?.parse().ok()?,
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
        let marker = ReadMarker { channel_id: channel, last_read_seq: 57, unread_count: 3 };
        for notice in [
            Notice::Online(user),
            Notice::Offline(user),
            Notice::Typing { channel, user },
            Notice::Read { user, marker },
        ] {
            assert_eq!(decode(&encode(&notice)), Some(notice));
        }
        assert_eq!(encode(&Notice::Online(user)), format!("online {user}"));
        assert_eq!(encode(&Notice::Read { user, marker }), format!("read {user} {channel} 57 3"));
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
            &format!("read {user} {user} 5 0 extra"),
        ] {
            assert_eq!(decode(text), None, "{text:?}");
        }
    }
}
