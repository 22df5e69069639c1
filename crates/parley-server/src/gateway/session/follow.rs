//! What a session follows: `ready` and the replay of a resumed session,
//! then each delivered event in `seq` order, a hole refilled from the
//! store, and a channel joined elsewhere added.

use std::collections::HashSet;

use futures::Sink;
use parley_core::id::{ChannelId, UserId};
use parley_core::parse::Seq;
use parley_core::time::Timestamp;
use parley_core::Error;
use parley_protocol::ServerFrame;

use super::{channel_bodies, channel_body, Exit, Outbound, Resume, Session, REPLAY_INLINE};
use crate::gateway::hub::{Delivery, EventFrame, Frame};

impl<W: Sink<Outbound> + Unpin> Session<W> {
    /// `ready`, who is online, then the replay of each resumed channel.
    pub(super) async fn start(
        &mut self,
        following: &[ChannelId],
        online: &[UserId],
        resume: &Resume,
    ) -> Result<(), Exit> {
        // Read again now that the hub delivers to us: any event after these
        // `last_seq`s reaches us live.
        let channels = self.state.chat.my_channels(self.user.id).await?;
        let before: HashSet<&ChannelId> = following.iter().collect();
        let late: Vec<ChannelId> = channels.iter().map(|c| c.channel.id).filter(|id| !before.contains(id)).collect();
        for entry in channels.iter().filter(|c| !before.contains(&c.channel.id)) {
            self.state.hub.subscribe(self.link.id, &entry.channel);
        }
        let ready =
            ServerFrame::Ready { user: (&self.user).into(), channels: channel_bodies(&self.state, &channels).await? };
        let mut out = vec![Outbound::Frame(Frame::new(&ready))];
        // In a cluster, the people online on other nodes too.
        let everywhere = match self.state.hub.online_elsewhere(&self.state.chat, self.user.id).await {
            Ok(users) => users,
            Err(error) => {
                // Presence is a courtesy: the session goes on without it.
                tracing::warn!(error = %error, "presence unavailable at connect");
                Vec::new()
            }
        };
        let online: HashSet<&UserId> = online.iter().chain(&everywhere).collect();
        for user in online {
            let frame = ServerFrame::Presence { user_id: user.to_string(), status: "online".into() };
            out.push(Outbound::Frame(Frame::new(&frame)));
        }
        for entry in &channels {
            let (id, last) = (entry.channel.id, entry.channel.last_seq);
            match resume.get(&id) {
                Some(from) if *from < last => self.replay(id, *from, last, &mut out).await?,
                _ => {
                    self.delivered.insert(id, last);
                }
            }
        }
        // A channel joined between the two reads may have moved on meanwhile.
        for id in late {
            let last = self.delivered.get(&id).copied().unwrap_or(0);
            let head = self.state.chat.followed_channel(id).await?.map_or(last, |c| c.last_seq);
            if head > last {
                self.replay(id, last, head, &mut out).await?;
            }
        }
        self.write(out).await
    }

    /// Events `after+1 ..= through` of `channel`: up to [`REPLAY_INLINE`]
    /// inline, then one `gap` for the rest.
    async fn replay(
        &mut self,
        channel: ChannelId,
        after: Seq,
        through: Seq,
        out: &mut Vec<Outbound>,
    ) -> Result<(), Error> {
        let inline_end = through.min(after + REPLAY_INLINE);
        let mut sent = after;
        while sent < inline_end {
            let want = u32::try_from((inline_end - sent).min(500)).unwrap_or(500);
            let page = self.state.chat.followed_events(self.user.id, channel, sent, want).await?;
            if page.is_empty() {
                break;
            }
            for event in page.iter().filter(|e| e.seq <= inline_end) {
                out.push(Outbound::Frame(Frame::new(&ServerFrame::Event { event: event.into() })));
                sent = event.seq;
            }
        }
        if through > sent {
            let gap = ServerFrame::Gap { channel_id: channel.to_string(), after_seq: sent, through_seq: through };
            out.push(Outbound::Frame(Frame::new(&gap)));
            sent = through;
        }
        self.delivered.insert(channel, sent);
        Ok(())
    }

    pub(super) async fn on_delivery(&mut self, delivery: Delivery, out: &mut Vec<Outbound>) -> Result<(), Error> {
        match delivery {
            Delivery::Frame(frame) => out.push(Outbound::Frame(Frame::clone(&frame))),
            Delivery::Event(event) => self.on_event(&event, out).await?,
        }
        Ok(())
    }

    async fn on_event(&mut self, event: &EventFrame, out: &mut Vec<Outbound>) -> Result<(), Error> {
        let me = self.user.id;
        let last = match (self.delivered.get(&event.channel), event.membership) {
            (Some(last), _) => *last,
            (None, Some((user, true))) if user == me => {
                // Joined elsewhere: by invite on another device, a new DM, a new channel.
                Box::pin(self.channel_added(event.channel, out)).await?;
                event.seq - 1
            }
            // Not a channel this session follows (a leave raced this event).
            (None, _) => return Ok(()),
        };
        if event.seq <= last {
            return Ok(());
        }
        if event.seq > last + 1 {
            Box::pin(self.replay(event.channel, last, event.seq - 1, out)).await?;
        }
        out.push(Outbound::Frame(event.frame.clone()));
        self.delivered.insert(event.channel, event.seq);
        self.state.metrics.delivered_after(Timestamp::now().millis() - event.created_at_ms);
        if event.membership == Some((me, false)) || event.closes {
            self.delivered.remove(&event.channel);
            let removed = ServerFrame::ChannelRemoved { channel_id: event.channel.to_string() };
            out.push(Outbound::Frame(Frame::new(&removed)));
        }
        Ok(())
    }

    /// The channel as my list shows it (my role, preferences and counts);
    /// left again already, as it stands.
    async fn channel_added(&self, id: ChannelId, out: &mut Vec<Outbound>) -> Result<(), Error> {
        if let Some(channel) = self.state.chat.followed_channel(id).await? {
            self.state.hub.learned(&channel);
            let channel = channel_body(&self.state, self.user.id, &channel).await?;
            out.push(Outbound::Frame(Frame::new(&ServerFrame::ChannelAdded { channel })));
        }
        Ok(())
    }
}
