//! The Lua scripts that change presence in Redis, and the key layout they share.
//!
//! Keys, all under `<prefix>:`:
//! - `nodes`: SET of the node ids that hold (or held) a claim;
//! - `node:<node>:alive`: a node's claim, a string with a TTL it renews;
//! - `node:<node>:users`: SET of the users that node has online;
//! - `user:<user>`: SET of the nodes that have that user online;
//! - `notices`: the pub/sub channel (see `wire`).
//!
//! Each change runs as one script, so "was this the user's first (last) live
//! node?" and the change are one atomic step: of several nodes adding or
//! removing the same user at once, exactly one announces it. A user counts as
//! online while their set holds a node whose claim is alive; a node found dead
//! in a user's set is dropped from it there and then, and whoever leaves the
//! set without a live node announces `Offline`. Scripts compute key names from
//! the prefix, which standalone Redis allows and Redis Cluster does not.

use redis::Script;

/// Names and helpers every script starts with. `ARGV[1]` is always the prefix.
const PRELUDE: &str = r#"
local prefix = ARGV[1]
local notices = prefix .. ':notices'
local function alive_key(node) return prefix .. ':node:' .. node .. ':alive' end
local function users_key(node) return prefix .. ':node:' .. node .. ':users' end
local function user_key(user) return prefix .. ':user:' .. user end

-- Counts the live nodes of a user's set other than `except`, dropping the dead ones.
local function live_others(ukey, except)
  local live = 0
  for _, node in ipairs(redis.call('SMEMBERS', ukey)) do
    if node ~= except then
      if redis.call('EXISTS', alive_key(node)) == 1 then
        live = live + 1
      else
        redis.call('SREM', ukey, node)
      end
    end
  end
  return live
end

-- `node` has `user` online; Online when no other live node had them.
-- `force`: announce even if the set already held `node` (a retried change).
local function add(node, user, force)
  redis.call('SADD', users_key(node), user)
  local ukey = user_key(user)
  local added = redis.call('SADD', ukey, node) == 1
  if (added or force) and live_others(ukey, node) == 0 then
    redis.call('PUBLISH', notices, 'online ' .. user)
  end
end

-- `node` no longer has `user`; Offline when no live node is left.
local function remove(node, user, force)
  redis.call('SREM', users_key(node), user)
  local ukey = user_key(user)
  local removed = redis.call('SREM', ukey, node) == 1
  if (removed or force) and live_others(ukey, node) == 0 then
    redis.call('PUBLISH', notices, 'offline ' .. user)
  end
end

-- Takes a node whose claim is gone out of every set.
local function forget(node)
  for _, user in ipairs(redis.call('SMEMBERS', users_key(node))) do
    remove(node, user, false)
  end
  redis.call('DEL', users_key(node))
  redis.call('SREM', prefix .. ':nodes', node)
end
"#;

/// ARGV: prefix, node, ttl in ms, then pairs of user and op (`on`, `off`,
/// `on!`, `off!`; `!` announces even when Redis already had the change).
/// Renews the node's claim; returns 1 when the claim had lapsed (expired,
/// swept, or Redis restarted), so the node must re-assert all its users.
const APPLY: &str = r#"
local node = ARGV[2]
local lapsed = not redis.call('SET', alive_key(node), '1', 'PX', ARGV[3], 'GET')
redis.call('SADD', prefix .. ':nodes', node)
for i = 4, #ARGV - 1, 2 do
  local user, op = ARGV[i], ARGV[i + 1]
  local force = op == 'on!' or op == 'off!'
  if op == 'on' or op == 'on!' then
    add(node, user, force)
  else
    remove(node, user, force)
  end
end
if lapsed then return 1 end
return 0
"#;

/// ARGV: prefix, the calling node (never swept by itself). Forgets every node
/// whose claim is gone; returns how many. Idempotent: a second sweep at the
/// same moment finds nothing left.
const SWEEP: &str = r#"
local swept = 0
for _, node in ipairs(redis.call('SMEMBERS', prefix .. ':nodes')) do
  if node ~= ARGV[2] and redis.call('EXISTS', alive_key(node)) == 0 then
    forget(node)
    swept = swept + 1
  end
end
return swept
"#;

/// ARGV: prefix, node. Gives up the node's claim at once (a clean shutdown).
const LEAVE: &str = r#"
redis.call('DEL', alive_key(ARGV[2]))
forget(ARGV[2])
return 0
"#;

/// ARGV: prefix, then users. Returns 1 or 0 for each: held by a live node.
const ONLINE_AMONG: &str = r#"
local found = {}
for i = 2, #ARGV do
  local online = 0
  for _, node in ipairs(redis.call('SMEMBERS', user_key(ARGV[i]))) do
    if redis.call('EXISTS', alive_key(node)) == 1 then
      online = 1
      break
    end
  end
  found[#found + 1] = online
end
return found
"#;

/// The scripts, loaded by hash (`EVALSHA`); the driver sends the source again
/// when Redis answers `NOSCRIPT`, as it does after a restart.
pub(crate) struct Scripts {
    pub apply: Script,
    pub sweep: Script,
    pub leave: Script,
    pub online_among: Script,
}

impl Scripts {
    pub(crate) fn new() -> Scripts {
        let script = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Scripts { apply: script(APPLY), sweep: script(SWEEP), leave: script(LEAVE), online_among: script(ONLINE_AMONG) }
    }
}

/// A change to one user in an `APPLY` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    On,
    Off,
    /// The same, announced again: an earlier attempt may not have reached Redis.
    OnAgain,
    OffAgain,
}

impl Op {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::On => "on",
            Op::Off => "off",
            Op::OnAgain => "on!",
            Op::OffAgain => "off!",
        }
    }
}

/// The key names the Rust side uses.
pub(crate) fn notices_channel(prefix: &str) -> String {
    format!("{prefix}:notices")
}

pub(crate) fn users_key(prefix: &str, node: &str) -> String {
    format!("{prefix}:node:{node}:users")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    #[test]
    fn the_scripts_publish_what_wire_decodes() {
        assert!(PRELUDE.contains(&format!("'{} ' .. user", wire::ONLINE)));
        assert!(PRELUDE.contains(&format!("'{} ' .. user", wire::OFFLINE)));
        assert!(PRELUDE.contains("prefix .. ':notices'"));
        assert_eq!(notices_channel("p"), "p:notices");
        assert_eq!(users_key("p", "n"), "p:node:n:users");
    }
}
