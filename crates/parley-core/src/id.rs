//! Identifiers: time-ordered UUIDv7, one newtype per kind so they cannot be mixed up.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::Error;

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn generate() -> Self {
                $name(Uuid::now_v7())
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
            pub fn from_uuid(uuid: Uuid) -> Self {
                $name(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Uuid::try_parse(s).map($name).map_err(|_| Error::bad_request(concat!("malformed ", $what, " id")))
            }
        }
    };
}

id_type!(UserId, "user");
id_type!(ChannelId, "channel");
id_type!(EventId, "event");
id_type!(WebhookId, "webhook");
