//! A Slack workspace export as Slack documents it, read from its zip: the
//! fields Parley uses, every other one ignored.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::text::ts_key;

#[derive(Deserialize)]
pub(super) struct SlackUser {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) real_name: Option<String>,
    #[serde(default)]
    pub(super) profile: Profile,
    #[serde(default)]
    pub(super) deleted: bool,
    #[serde(default)]
    pub(super) is_bot: bool,
}

#[derive(Deserialize, Default)]
pub(super) struct Profile {
    #[serde(default)]
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) real_name: Option<String>,
}

/// Which of an export's lists a conversation is in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Kind {
    /// `channels.json`.
    #[default]
    Public,
    /// `groups.json`: private channels.
    Private,
    /// `mpims.json` and `dms.json`: group and one-to-one DMs.
    Direct,
}

/// A channel, private channel or DM of the export: the same fields in each
/// list (a DM has no name, and its folder is its id).
#[derive(Deserialize)]
pub(super) struct SlackChannel {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) created: i64,
    #[serde(default)]
    pub(super) creator: Option<String>,
    #[serde(default)]
    pub(super) is_archived: bool,
    #[serde(default)]
    pub(super) members: Vec<String>,
    #[serde(default)]
    pub(super) topic: Option<Text>,
    #[serde(skip)]
    pub(super) kind: Kind,
    /// The folder of its messages.
    #[serde(skip)]
    pub(super) folder: String,
}

#[derive(Deserialize)]
pub(super) struct Text {
    #[serde(default)]
    pub(super) value: String,
}

#[derive(Deserialize, Clone)]
pub(super) struct SlackMessage {
    #[serde(default)]
    pub(super) subtype: Option<String>,
    #[serde(default)]
    pub(super) user: Option<String>,
    #[serde(default)]
    pub(super) text: String,
    pub(super) ts: String,
    #[serde(default)]
    pub(super) thread_ts: Option<String>,
    #[serde(default)]
    pub(super) reactions: Vec<SlackReaction>,
    #[serde(default)]
    pub(super) files: Vec<SlackFile>,
}

#[derive(Deserialize, Clone)]
pub(super) struct SlackReaction {
    pub(super) name: String,
    #[serde(default)]
    pub(super) users: Vec<String>,
}

#[derive(Deserialize, Clone)]
pub(super) struct SlackFile {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) url_private: Option<String>,
    #[serde(default)]
    pub(super) permalink: Option<String>,
}

/// The export's files, read from the zip.
pub(super) struct Export {
    pub(super) users: Vec<SlackUser>,
    /// Public channels, then private ones and DMs when the export has them.
    pub(super) channels: Vec<SlackChannel>,
    /// Each conversation's messages by its folder, oldest first.
    pub(super) messages: HashMap<String, Vec<SlackMessage>>,
}

impl Export {
    pub(super) fn read(path: &Path) -> anyhow::Result<Export> {
        let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut zip = zip::ZipArchive::new(file).with_context(|| format!("{} is not a zip file", path.display()))?;
        let mut users = None;
        let mut channels = None;
        let mut others = Vec::new();
        let mut days: BTreeMap<String, Vec<SlackMessage>> = BTreeMap::new();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i)?;
            if entry.is_dir() {
                continue;
            }
            let name = entry.name().context("a file's name in the zip")?.into_owned();
            let mut text = Vec::new();
            entry.read_to_end(&mut text).with_context(|| format!("reading {name}"))?;
            match name.split('/').collect::<Vec<_>>()[..] {
                ["users.json"] => users = Some(json::<Vec<SlackUser>>(&name, &text)?),
                ["channels.json"] => channels = Some(listed(&name, &text, Kind::Public)?),
                ["groups.json"] => others.extend(listed(&name, &text, Kind::Private)?),
                ["mpims.json" | "dms.json"] => others.extend(listed(&name, &text, Kind::Direct)?),
                [_, day] if day.ends_with(".json") => {
                    days.insert(name.clone(), json(&name, &text)?);
                }
                _ => {}
            }
        }
        let mut messages: HashMap<String, Vec<SlackMessage>> = HashMap::new();
        // Day files in order of their names (dates), then by `ts` within.
        for (name, day) in days {
            let folder = name.split('/').next().unwrap_or_default().to_owned();
            messages.entry(folder).or_default().extend(day);
        }
        for list in messages.values_mut() {
            list.sort_by_key(|m| ts_key(&m.ts));
        }
        let mut channels: Vec<SlackChannel> =
            channels.context("the zip has no channels.json: is it a Slack workspace export?")?;
        channels.extend(others);
        Ok(Export {
            users: users.context("the zip has no users.json: is it a Slack workspace export?")?,
            channels,
            messages,
        })
    }
}

/// A list of conversations of `kind`, each with the folder of its messages.
fn listed(name: &str, text: &[u8], kind: Kind) -> anyhow::Result<Vec<SlackChannel>> {
    let mut list: Vec<SlackChannel> = json(name, text)?;
    for channel in &mut list {
        channel.kind = kind;
        channel.folder = if channel.name.is_empty() { channel.id.clone() } else { channel.name.clone() };
    }
    Ok(list)
}

fn json<T: DeserializeOwned>(name: &str, text: &[u8]) -> anyhow::Result<T> {
    serde_json::from_slice(text).with_context(|| format!("{name} is not what Slack's export writes"))
}
