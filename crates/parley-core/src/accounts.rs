//! Who may open an account: the server's sign-up policy, the invite a new
//! person brings, and the first account of a fresh server, which becomes its
//! admin. Each store decides it in the step that writes the account (see
//! [`UserStore::create_user`](crate::ports::UserStore::create_user)), so two
//! people signing up at once cannot both be first, nor both take an
//! invite's last use.

use crate::model::{Invite, ServerRole};
use crate::time::Timestamp;
use crate::{Error, Result};

/// Who may sign up (`--registration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Registration {
    /// Anyone who reaches the server.
    Open,
    /// Only someone with an invite link: a channel's, or an admin's join link.
    #[default]
    Invite,
    /// Nobody: accounts are made with `parley admin create-user`.
    Closed,
}

impl Registration {
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Open => "open",
            Registration::Invite => "invite",
            Registration::Closed => "closed",
        }
    }
}

/// How one sign-up comes in.
#[derive(Debug, Clone)]
pub struct Admission<'a> {
    pub policy: Registration,
    /// The invite code it brings, used (counted) in the step that stores
    /// the account.
    pub invite: Option<&'a str>,
    pub now: Timestamp,
}

impl Admission<'_> {
    /// An account made by the server's owner (`parley admin create-user`):
    /// no policy applies.
    pub fn by_owner() -> Admission<'static> {
        Admission { policy: Registration::Open, invite: None, now: Timestamp::now() }
    }
}

/// What came in: the account's server role, and the invite it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub role: ServerRole,
    pub invite: Option<Invite>,
}

pub fn closed() -> Error {
    Error::forbidden("sign-up is closed on this server: ask its admin for an account")
}

pub fn invite_needed() -> Error {
    Error::forbidden("sign-up on this server takes an invite link: ask someone here for one")
}

pub fn invite_unusable() -> Error {
    Error::not_found("invite not found, expired or used up")
}

/// Before anything is counted: may this sign-up go on at all, on a server
/// that has users (`first` false) or none yet? The first account of a
/// server needs no invite (someone must be first) unless sign-up is closed.
pub fn check(admission: &Admission<'_>, first: bool) -> Result<()> {
    match admission.policy {
        Registration::Closed => Err(closed()),
        Registration::Invite if admission.invite.is_none() && !first => Err(invite_needed()),
        _ => Ok(()),
    }
}

/// The role of an account admitted on a server that had no user (`first`)
/// or some.
pub fn role(first: bool) -> ServerRole {
    if first {
        ServerRole::Admin
    } else {
        ServerRole::Member
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(policy: Registration, invite: Option<&str>) -> Admission<'_> {
        Admission { policy, invite, now: Timestamp::from_millis(0) }
    }

    #[test]
    fn policies() {
        assert!(check(&admission(Registration::Open, None), false).is_ok());
        assert!(check(&admission(Registration::Invite, None), true).is_ok());
        assert_eq!(check(&admission(Registration::Invite, None), false), Err(invite_needed()));
        assert!(check(&admission(Registration::Invite, Some("c")), false).is_ok());
        assert_eq!(check(&admission(Registration::Closed, Some("c")), true), Err(closed()));
        assert_eq!(role(true), ServerRole::Admin);
        assert_eq!(role(false), ServerRole::Member);
    }
}
