//! Accounts and sessions: argon2id password hashes computed off the async
//! runtime under a concurrency cap, and 256-bit session tokens stored only as
//! their SHA-256.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parley_core::accounts::Admission;
use parley_core::id::UserId;
use parley_core::model::{Invite, PasswordReset, ServerRole, Session, User};
use parley_core::parse::{DisplayName, Password, Username};
use parley_core::ports::Store;
use parley_core::time::Timestamp;
use parley_core::{Error, ErrorCode, Result};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// How long a session lives.
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;
/// How long a bot's API token lives: until revoked, in practice.
pub const API_TOKEN_SECONDS: i64 = 100 * 365 * 24 * 3600;

pub struct Auth {
    store: Arc<dyn Store>,
    argon2: Argon2<'static>,
    /// At most this many hashes at once: a login storm queues here instead of
    /// starving the blocking pool (each hash holds 19 MiB for ~20 ms per core).
    hashing: Semaphore,
    /// What an unknown username is verified against, so that it costs the
    /// same time as a wrong password.
    decoy_hash: String,
}

impl Auth {
    pub async fn new(store: Arc<dyn Store>) -> Result<Auth> {
        // OWASP's argon2id baseline: m=19456 KiB, t=2, p=1.
        let params = Params::new(19_456, 2, 1, None).map_err(|e| Error::internal(format!("argon2 params: {e}")))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let cap = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut auth = Auth { store, argon2, hashing: Semaphore::new(cap), decoy_hash: String::new() };
        auth.decoy_hash = auth.hash(new_token()).await?;
        Ok(auth)
    }

    async fn hash(&self, password: String) -> Result<String> {
        let _permit = self.hashing.acquire().await.map_err(|_| Error::unavailable("hashing is shut down"))?;
        let argon2 = self.argon2.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2.hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await
        .map_err(|e| Error::internal(format!("hashing task: {e}")))?
        .map_err(|e| Error::internal(format!("argon2: {e}")))
    }

    async fn verify(&self, password: String, hash: String) -> Result<bool> {
        let _permit = self.hashing.acquire().await.map_err(|_| Error::unavailable("hashing is shut down"))?;
        let argon2 = self.argon2.clone();
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).map(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(|e| Error::internal(format!("hashing task: {e}")))?
        .map_err(|e| Error::internal(format!("stored hash: {e}")))
    }

    /// A hash no password matches (that of a random one, forgotten): an
    /// imported account without its password signs in only after an
    /// admin's reset link.
    pub async fn unusable_hash(&self) -> Result<String> {
        self.hash(new_token()).await
    }

    /// A new account, signed in, and the invite it came in with (counted):
    /// the caller joins its channel.
    pub async fn register(&self, new: NewAccount<'_>) -> Result<(User, String, Option<Invite>)> {
        let hash = self.hash(new.password.expose().to_owned()).await?;
        let display_name = new.display_name.map_or_else(|| new.username.to_string(), DisplayName::into_string);
        let mut user = User::new(new.username, display_name);
        // A conflict says which name, in the store's words (`NameClash`).
        let admitted = self.store.create_user(&user, &hash, &new.admission).await?;
        user.role = admitted.role;
        let token = self.open_session(user.id, new.user_agent).await?;
        Ok((user, token, admitted.invite))
    }

    /// An account made by the machine's owner (`parley admin create-user`):
    /// an admin when asked, or when it is the server's first.
    pub async fn create_user(&self, username: Username, password: Password, admin: bool) -> Result<User> {
        let hash = self.hash(password.expose().to_owned()).await?;
        let mut user = User::new(username.clone(), username.to_string());
        user.role = self.store.create_user(&user, &hash, &Admission::by_owner()).await?.role;
        if admin && user.role != ServerRole::Admin {
            self.store.set_server_role(user.id, ServerRole::Admin).await?;
            user.role = ServerRole::Admin;
        }
        Ok(user)
    }

    /// A wrong username and a wrong password answer alike, after the same
    /// work; a deactivated account is told so only with its password.
    pub async fn login(&self, username: &str, password: &str, user_agent: Option<&str>) -> Result<(User, String)> {
        let user = self.check_password(username, password).await?;
        if user.deactivated_at.is_some() {
            return Err(deactivated());
        }
        let token = self.open_session(user.id, user_agent).await?;
        Ok((user, token))
    }

    async fn check_password(&self, username: &str, password: &str) -> Result<User> {
        let refused = || Error::unauthenticated("wrong username or password");
        if password.chars().count() > 1024 {
            return Err(refused());
        }
        let found = match Username::parse(username) {
            Ok(username) => self.store.credentials(&username).await?,
            Err(_) => None,
        };
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), hash),
            None => (None, self.decoy_hash.clone()),
        };
        let matches = self.verify(password.to_owned(), hash).await?;
        match user {
            Some(user) if matches => Ok(user),
            _ => Err(refused()),
        }
    }

    /// Changes `user`'s password, given their current one, and ends every
    /// other session: the token hashes ended, whose sockets the caller closes.
    pub async fn change_password(&self, user: &User, current: &str, new: Password, keep: &str) -> Result<Vec<String>> {
        self.check_password(user.username.as_str(), current).await.map_err(|e| {
            if e.code == ErrorCode::Unauthenticated {
                wrong_current()
            } else {
                e
            }
        })?;
        let hash = self.hash(new.expose().to_owned()).await?;
        self.store.set_password(user.id, &hash).await?;
        self.store.delete_sessions(user.id, Some(keep)).await
    }

    /// Sets a password with a reset link's token (one use, within the
    /// hour), ends every session of the account, and signs in: the user, the
    /// new session's token, and the token hashes ended.
    pub async fn reset_password(
        &self,
        token: &str,
        new: Password,
        user_agent: Option<&str>,
    ) -> Result<(User, String, Vec<String>)> {
        let unusable = || Error::not_found("this reset link is unknown, used or expired: ask an admin for a new one");
        let hash = self.hash(new.expose().to_owned()).await?;
        let id = self.store.use_reset(&token_hash(token), Timestamp::now()).await?.ok_or_else(unusable)?;
        let user = self.store.user(id).await?.ok_or_else(unusable)?;
        if user.deactivated_at.is_some() {
            return Err(deactivated());
        }
        self.store.set_password(id, &hash).await?;
        let ended = self.store.delete_sessions(id, None).await?;
        let token = self.open_session(id, user_agent).await?;
        Ok((user, token, ended))
    }

    /// Sets a password directly (`parley admin reset-password`) and ends
    /// every session of the account.
    pub async fn set_password(&self, id: UserId, new: Password) -> Result<()> {
        let hash = self.hash(new.expose().to_owned()).await?;
        self.store.set_password(id, &hash).await?;
        self.store.delete_sessions(id, None).await?;
        Ok(())
    }

    /// A bot account, and the hash of a password nobody knows (a bot signs
    /// in with its API tokens only).
    pub async fn new_bot(&self, username: Username, display_name: String) -> Result<(User, String)> {
        let mut bot = User::new(username, display_name);
        bot.bot = true;
        Ok((bot, self.hash(new_token()).await?))
    }

    /// A new API token of `bot`, named `name`: a session that lasts a
    /// century. The token (shown once) and what the store keeps of it.
    pub fn new_api_token(bot: UserId, name: &str) -> (String, Session) {
        let token = new_token();
        let now = Timestamp::now();
        let session = Session {
            token_hash: token_hash(&token),
            user_id: bot,
            created_at: now,
            expires_at: now.plus_seconds(API_TOKEN_SECONDS),
            last_seen_at: now,
            user_agent: Some(cut(&format!("API token: {name}"), Session::MAX_USER_AGENT).to_owned()),
        };
        (token, session)
    }

    /// A new secret for an incoming webhook, and its hash.
    pub fn new_hook_secret() -> (String, String) {
        let token = new_token();
        let hash = token_hash(&token);
        (token, hash)
    }

    /// A reset link's token for `user`, and what the store keeps of it.
    pub fn new_reset(user: UserId) -> (String, PasswordReset) {
        let token = new_token();
        let now = Timestamp::now();
        let reset = PasswordReset {
            token_hash: token_hash(&token),
            user_id: user,
            created_at: now,
            expires_at: now.plus_seconds(PasswordReset::SECONDS),
        };
        (token, reset)
    }

    async fn open_session(&self, user_id: UserId, user_agent: Option<&str>) -> Result<String> {
        let token = new_token();
        let now = Timestamp::now();
        let session = Session {
            token_hash: token_hash(&token),
            user_id,
            created_at: now,
            expires_at: now.plus_seconds(SESSION_SECONDS),
            last_seen_at: now,
            user_agent: user_agent.map(|agent| cut(agent, Session::MAX_USER_AGENT).to_owned()),
        };
        self.store.create_session(&session).await?;
        Ok(token)
    }

    /// The user holding `token`, and the token's hash. Notes when the
    /// session was last used, at most once every few minutes.
    pub async fn authenticate(&self, token: &str) -> Result<(User, String)> {
        let hash = token_hash(token);
        let now = Timestamp::now();
        match self.store.session_user(&hash, now).await? {
            Some((user, session)) => {
                if now.millis() - session.last_seen_at.millis() > Session::SEEN_EVERY_SECONDS * 1000 {
                    // Not on the request's path: a lost note costs nothing.
                    let (store, hash) = (self.store.clone(), hash.clone());
                    tokio::spawn(async move {
                        if let Err(error) = store.touch_session(&hash, now).await {
                            tracing::debug!(%error, "could not note a session's use");
                        }
                    });
                }
                Ok((user, hash))
            }
            None => Err(Error::unauthenticated("the session is unknown or has expired")),
        }
    }

    pub async fn logout(&self, token_hash: &str) -> Result<()> {
        self.store.delete_session(token_hash).await
    }

    /// `user`'s sessions, the last used first.
    pub async fn sessions(&self, user: UserId) -> Result<Vec<Session>> {
        self.store.sessions(user, Timestamp::now()).await
    }

    /// Ends `user`'s session with this public id: its token hash.
    pub async fn revoke_session(&self, user: UserId, public_id: &str) -> Result<String> {
        let sessions = self.sessions(user).await?;
        let session = sessions
            .into_iter()
            .find(|s| s.public_id() == public_id)
            .ok_or_else(|| Error::not_found("session not found"))?;
        self.store.delete_session(&session.token_hash).await?;
        Ok(session.token_hash)
    }
}

/// What a sign-up brings.
pub struct NewAccount<'a> {
    pub username: Username,
    pub password: Password,
    pub display_name: Option<DisplayName>,
    pub admission: Admission<'a>,
    pub user_agent: Option<&'a str>,
}

impl NewAccount<'static> {
    /// An account with no policy to pass (as `parley admin create-user` makes
    /// them), its display name its username.
    pub fn by_owner(username: Username, password: Password) -> Self {
        NewAccount { username, password, display_name: None, admission: Admission::by_owner(), user_agent: None }
    }
}

fn deactivated() -> Error {
    Error::forbidden("this account has been deactivated by an admin")
}

fn wrong_current() -> Error {
    Error::forbidden("the current password is wrong")
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// 256 random bits, URL-safe base64.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn user_agents_are_cut_between_characters() {
        assert_eq!(cut("abc", 2), "ab");
        assert_eq!(cut("aé", 2), "a");
        assert_eq!(cut("", 2), "");
    }
}
