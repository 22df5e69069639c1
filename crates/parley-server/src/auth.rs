//! Accounts and sessions: argon2id password hashes computed off the async
//! runtime under a concurrency cap, and 256-bit session tokens stored only as
//! their SHA-256.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parley_core::id::UserId;
use parley_core::model::{Session, User};
use parley_core::parse::{DisplayName, Password, Username};
use parley_core::ports::Store;
use parley_core::time::Timestamp;
use parley_core::{Error, Result};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// How long a session lives.
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;

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

    pub async fn register(
        &self,
        username: Username,
        password: Password,
        display_name: Option<DisplayName>,
    ) -> Result<(User, String)> {
        let hash = self.hash(password.expose().to_owned()).await?;
        let user = User {
            id: UserId::generate(),
            display_name: display_name.map_or_else(|| username.to_string(), DisplayName::into_string),
            username,
            created_at: Timestamp::now(),
        };
        // A conflict says which name, in the store's words (`NameClash`).
        self.store.create_user(&user, &hash).await?;
        let token = self.open_session(user.id).await?;
        Ok((user, token))
    }

    /// A wrong username and a wrong password answer alike, after the same work.
    pub async fn login(&self, username: &str, password: &str) -> Result<(User, String)> {
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
            Some(user) if matches => {
                let token = self.open_session(user.id).await?;
                Ok((user, token))
            }
            _ => Err(refused()),
        }
    }

    async fn open_session(&self, user_id: UserId) -> Result<String> {
        let token = new_token();
        let now = Timestamp::now();
        let session = Session {
            token_hash: token_hash(&token),
            user_id,
            created_at: now,
            expires_at: now.plus_seconds(SESSION_SECONDS),
        };
        self.store.create_session(&session).await?;
        Ok(token)
    }

    /// The user holding `token`, and the token's hash.
    pub async fn authenticate(&self, token: &str) -> Result<(User, String)> {
        let hash = token_hash(token);
        match self.store.session_user(&hash, Timestamp::now()).await? {
            Some(user) => Ok((user, hash)),
            None => Err(Error::unauthenticated("the session is unknown or has expired")),
        }
    }

    pub async fn logout(&self, token_hash: &str) -> Result<()> {
        self.store.delete_session(token_hash).await
    }
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
}
