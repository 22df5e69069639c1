//! Cluster mode's presence, typing and read markers: the hub's relays go out
//! to every node through the `Presence` port (Redis), and its notices come
//! back to every node, this one included, where the hub hands them to the
//! sessions that share a channel with the user (a read marker: to the
//! user's own sessions). Who is shown whose presence: [`parley_core::presence`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use parley_core::chat::Chat;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{ChannelKind, MyChannel};
use parley_core::ports::Store;
use parley_core::presence::{Notice, Presence};
use parley_core::Result;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::hub::{Hub, Relay, Shown, PRESENCE_MAX_SESSIONS};

/// Starts the two tasks: one sends this node's relays, one reads every
/// node's notices. Both end on `stop` (the sender once the hub is dropped).
pub fn spawn(
    presence: Arc<dyn Presence>,
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    mut relays: mpsc::UnboundedReceiver<Relay>,
    stop: CancellationToken,
) -> Vec<JoinHandle<()>> {
    let sender = {
        let (presence, hub, store) = (presence.clone(), hub.clone(), store.clone());
        tokio::spawn(async move {
            // One at a time, in order: a user's online and offline must not swap.
            while let Some(relay) = relays.recv().await {
                let result = match relay {
                    Relay::Online(user, online) => presence.set_online(user, online).await,
                    Relay::Typing(channel, user) => presence.typing(channel, user).await,
                    Relay::Joined(channel, user) => {
                        introduce(&hub, presence.as_ref(), store.as_ref(), channel, user).await
                    }
                    Relay::Shown(channel, user) => shown(&hub, presence.as_ref(), channel, user).await,
                    Relay::Mine(user, what) => presence.mine(user, what).await,
                };
                if let Err(error) = result {
                    // The presence backend keeps its own state and renews it once back.
                    tracing::warn!(error = %error, "presence relay failed");
                }
            }
        })
    };
    let reader = tokio::spawn(async move {
        let mut notices = loop {
            match presence.subscribe().await {
                Ok(notices) => break notices,
                Err(error) => tracing::warn!(error = %error, "presence: cannot subscribe yet"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        };
        loop {
            let notice = tokio::select! {
                () = stop.cancelled() => return,
                notice = notices.next() => notice,
            };
            match notice {
                Ok(Notice::Online(user)) => tell(&hub, store.as_ref(), user, true).await,
                Ok(Notice::Offline(user)) => tell(&hub, store.as_ref(), user, false).await,
                Ok(Notice::Typing { channel, user }) => hub.relay_typing(channel, user),
                Ok(Notice::Mine { user, what }) => hub.relay_mine(user, what),
                Err(error) => {
                    tracing::warn!(error = %error, "presence notices interrupted");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    vec![sender, reader]
}

/// The hub knows which of its sessions follow which channel, not which
/// channels a user of another node is in: the store does.
async fn tell(hub: &Hub, store: &dyn Store, user: UserId, online: bool) {
    match store.my_channels(user).await {
        Ok(channels) => {
            let ids: Vec<_> = channels.iter().map(|c| c.channel.id).collect();
            hub.announce(user, online, &ids);
        }
        Err(error) => tracing::warn!(error = %error, user = %user, "presence notice dropped: store unavailable"),
    }
}

/// Every node sees each `member_joined`: each introduces the joiner and the
/// channel's members online anywhere to each other among its own sessions.
async fn introduce(
    hub: &Hub,
    presence: &dyn Presence,
    store: &dyn Store,
    channel: ChannelId,
    user: UserId,
) -> Result<()> {
    let Some(channel) = store.channel(channel).await? else { return Ok(()) };
    hub.learned(&channel);
    if channel.member_count > PRESENCE_MAX_SESSIONS as i64 {
        return Ok(());
    }
    let channel = channel.id;
    let members: Vec<UserId> = store.members(channel).await?.into_iter().map(|m| m.user.id).collect();
    let online = presence.online_among(&members).await?;
    hub.introduce(channel, user, &online);
    Ok(())
}

/// `user` shows in `channel` from now on and has no session here: the
/// channel's sessions here learn so if they are online on another node.
async fn shown(hub: &Hub, presence: &dyn Presence, channel: ChannelId, user: UserId) -> Result<()> {
    if !presence.online_among(&[user]).await?.is_empty() {
        hub.announce(user, true, &[channel]);
    }
    Ok(())
}

/// Who among the people whose presence `me` is shown is online on any node:
/// what a new session is told after `ready`. Channels too large to carry
/// presence ([`PRESENCE_MAX_SESSIONS`] members) are left out.
pub async fn online_neighbours(presence: &dyn Presence, chat: &Chat, me: UserId) -> Result<Vec<UserId>> {
    let people = chat.presence_peers(me, PRESENCE_MAX_SESSIONS as u32).await?;
    presence.online_among(&people).await
}

/// The DMs among `channels` (a session's, as `my_channels` read them), each
/// with who shows in it: what the hub needs to follow them.
pub async fn dms(chat: &Chat, me: UserId, channels: &[MyChannel]) -> Result<Shown> {
    let mut dms: Shown = channels
        .iter()
        .filter(|c| c.channel.kind == ChannelKind::Direct)
        .map(|c| (c.channel.id, HashSet::from([c.channel.created_by])))
        .collect();
    if !dms.is_empty() {
        for (channel, person) in chat.dm_shown(me).await? {
            if let Some(shown) = dms.get_mut(&channel) {
                shown.insert(person);
            }
        }
    }
    Ok(dms)
}
