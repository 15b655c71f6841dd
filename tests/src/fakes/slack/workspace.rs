//! What the fake Slack workspace knows: bot tokens, channels, webhooks.

use std::collections::HashMap;

use rand::Rng;
use rand::distr::Alphanumeric;
use sluice_core::UnixMillis;

use super::TEAM_ID;

/// How the fake treats a bot token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Works for every method.
    Valid,
    /// Answers `token_revoked`.
    Revoked,
    /// Authenticates (`auth.test` works) but lacks `chat:write`, so
    /// `chat.postMessage` answers `missing_scope`.
    MissingScope,
}

/// Whether the bot is a member of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// The bot was invited: `chat.postMessage` works.
    Member,
    /// The bot was not invited: `chat.postMessage` answers `not_in_channel`
    /// (incoming webhooks still post, as they are tied to the channel).
    NotMember,
}

struct Channel {
    name: String,
    membership: Membership,
    archived: bool,
}

/// Why a channel cannot take a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChannelRefusal {
    NotFound,
    Archived,
    NotMember,
}

/// Why a webhook cannot deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WebhookRefusal {
    UnknownWebhook,
    ChannelGone,
    ChannelArchived,
}

/// The workspace's state; the fake keeps it behind a mutex.
#[derive(Default)]
pub(super) struct Workspace {
    tokens: HashMap<String, TokenStatus>,
    channels: HashMap<String, Channel>,
    /// Webhook path (`/services/T.../B.../...`) to channel id.
    webhooks: HashMap<String, String>,
    serial: u64,
    last_ts_micros: i64,
}

impl Workspace {
    pub(super) fn add_token(&mut self, status: TokenStatus) -> String {
        let token = format!("xoxb-{}-{}", self.next_serial(), random_suffix());
        self.tokens.insert(token.clone(), status);
        token
    }

    pub(super) fn set_token_status(&mut self, token: &str, status: TokenStatus) {
        let known = self
            .tokens
            .get_mut(token)
            .unwrap_or_else(|| panic!("fake Slack has no token {token:?}"));
        *known = status;
    }

    pub(super) fn token_status(&self, token: &str) -> Option<TokenStatus> {
        self.tokens.get(token).copied()
    }

    pub(super) fn add_channel(&mut self, name: &str, membership: Membership) -> String {
        let id = format!("C{:08X}", self.next_serial());
        self.channels.insert(
            id.clone(),
            Channel {
                name: name.to_owned(),
                membership,
                archived: false,
            },
        );
        id
    }

    pub(super) fn archive_channel(&mut self, id: &str) {
        self.channel_mut(id).archived = true;
    }

    pub(super) fn delete_channel(&mut self, id: &str) {
        self.channel_mut(id);
        self.channels.remove(id);
    }

    /// The id of the channel named by `id_or_name` (an id, `name` or `#name`)
    /// if the bot may post there.
    pub(super) fn postable_channel(&self, id_or_name: &str) -> Result<String, ChannelRefusal> {
        let name = id_or_name.strip_prefix('#').unwrap_or(id_or_name);
        let (id, channel) = self
            .channels
            .get_key_value(id_or_name)
            .or_else(|| {
                self.channels
                    .iter()
                    .find(|(_, channel)| channel.name == name)
            })
            .ok_or(ChannelRefusal::NotFound)?;
        if channel.archived {
            Err(ChannelRefusal::Archived)
        } else if channel.membership == Membership::NotMember {
            Err(ChannelRefusal::NotMember)
        } else {
            Ok(id.clone())
        }
    }

    /// Registers a webhook into channel `id` and returns its path.
    pub(super) fn add_webhook(&mut self, channel_id: &str) -> String {
        self.channel_mut(channel_id);
        let path = format!(
            "/services/{TEAM_ID}/B{:08X}/{}",
            self.next_serial(),
            random_suffix()
        );
        self.webhooks.insert(path.clone(), channel_id.to_owned());
        path
    }

    pub(super) fn remove_webhook(&mut self, path: &str) {
        self.webhooks
            .remove(path)
            .unwrap_or_else(|| panic!("fake Slack has no webhook at {path:?}"));
    }

    /// The channel webhook `path` posts into, if it can take a message.
    pub(super) fn webhook_channel(&self, path: &str) -> Result<String, WebhookRefusal> {
        let id = self
            .webhooks
            .get(path)
            .ok_or(WebhookRefusal::UnknownWebhook)?;
        match self.channels.get(id) {
            None => Err(WebhookRefusal::ChannelGone),
            Some(channel) if channel.archived => Err(WebhookRefusal::ChannelArchived),
            Some(_) => Ok(id.clone()),
        }
    }

    /// A message timestamp (`"<unix seconds>.<micros>"`), strictly increasing
    /// even when many messages land in the same microsecond.
    pub(super) fn next_ts(&mut self, now: UnixMillis) -> String {
        let micros = now.saturating_mul(1000).max(self.last_ts_micros + 1);
        self.last_ts_micros = micros;
        format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
    }

    fn channel_mut(&mut self, id: &str) -> &mut Channel {
        self.channels
            .get_mut(id)
            .unwrap_or_else(|| panic!("fake Slack has no channel {id:?}"))
    }

    fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }
}

/// Unguessable like Slack's secrets, so a test cannot pass by guessing.
fn random_suffix() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_found_by_id_name_or_hash_name() {
        let mut workspace = Workspace::default();
        let id = workspace.add_channel("alerts", Membership::Member);
        assert_eq!(workspace.postable_channel(&id), Ok(id.clone()));
        assert_eq!(workspace.postable_channel("alerts"), Ok(id.clone()));
        assert_eq!(workspace.postable_channel("#alerts"), Ok(id));
        assert_eq!(
            workspace.postable_channel("#nope"),
            Err(ChannelRefusal::NotFound)
        );
    }

    #[test]
    fn archived_and_non_member_channels_refuse_the_bot() {
        let mut workspace = Workspace::default();
        let archived = workspace.add_channel("old", Membership::Member);
        workspace.archive_channel(&archived);
        let foreign = workspace.add_channel("private", Membership::NotMember);
        assert_eq!(
            workspace.postable_channel(&archived),
            Err(ChannelRefusal::Archived)
        );
        assert_eq!(
            workspace.postable_channel(&foreign),
            Err(ChannelRefusal::NotMember)
        );
    }

    #[test]
    fn webhooks_post_regardless_of_membership_but_not_when_archived_or_gone() {
        let mut workspace = Workspace::default();
        let channel = workspace.add_channel("private", Membership::NotMember);
        let hook = workspace.add_webhook(&channel);
        assert!(hook.starts_with("/services/T123/B"));
        assert_eq!(workspace.webhook_channel(&hook), Ok(channel.clone()));

        workspace.archive_channel(&channel);
        assert_eq!(
            workspace.webhook_channel(&hook),
            Err(WebhookRefusal::ChannelArchived)
        );
        workspace.delete_channel(&channel);
        assert_eq!(
            workspace.webhook_channel(&hook),
            Err(WebhookRefusal::ChannelGone)
        );
        workspace.remove_webhook(&hook);
        assert_eq!(
            workspace.webhook_channel(&hook),
            Err(WebhookRefusal::UnknownWebhook)
        );
    }

    #[test]
    fn timestamps_increase_within_one_millisecond() {
        let mut workspace = Workspace::default();
        let first = workspace.next_ts(1_503_435_956_000);
        let second = workspace.next_ts(1_503_435_956_000);
        assert_eq!(first, "1503435956.000000");
        assert_eq!(second, "1503435956.000001");
    }

    #[test]
    fn tokens_keep_the_status_they_were_given() {
        let mut workspace = Workspace::default();
        let token = workspace.add_token(TokenStatus::Valid);
        assert!(token.starts_with("xoxb-"));
        workspace.set_token_status(&token, TokenStatus::Revoked);
        assert_eq!(workspace.token_status(&token), Some(TokenStatus::Revoked));
        assert_eq!(workspace.token_status("xoxb-unknown"), None);
    }
}
