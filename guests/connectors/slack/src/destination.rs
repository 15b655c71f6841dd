//! Where messages go, from the configuration's settings. The credentials
//! themselves stay with the host, which applies them to the requests.

use sluice_guest::InvocationContext;
use sluice_guest::auth::{self, AuthError};

/// The credential holding the incoming-webhook URL, applied by the host.
pub const WEBHOOK_URL: &str = "webhook_url";

/// The credential holding the bot token, applied by the host.
pub const BOT_TOKEN: &str = "bot_token";

/// Where a configuration sends its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An incoming webhook, which posts to the channel it was created for.
    Webhook,
    /// `chat.postMessage` as the bot.
    Bot {
        /// The channel ID.
        channel: String,
    },
}

/// How messages are sent, setting `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    IncomingWebhook,
    Bot,
}

impl Mode {
    /// Parses setting `mode`; absent means an incoming webhook, the
    /// manifest's default.
    fn parse(setting: Option<&str>) -> Result<Self, String> {
        match setting.unwrap_or("incoming-webhook") {
            "incoming-webhook" => Ok(Self::IncomingWebhook),
            "bot" => Ok(Self::Bot),
            other => Err(format!(
                "setting `mode` must be incoming-webhook or bot, not {other:?}"
            )),
        }
    }
}

impl Destination {
    /// Reads the destination of the configuration being run, or says which
    /// setting or credential is missing.
    pub fn from_configuration(context: &InvocationContext) -> Result<Self, String> {
        match Mode::parse(context.setting("mode"))? {
            Mode::IncomingWebhook => {
                require_credential(WEBHOOK_URL)?;
                Ok(Self::Webhook)
            }
            Mode::Bot => {
                require_credential(BOT_TOKEN)?;
                let channel = context
                    .require_setting("channel")
                    .map_err(|m| m.to_string())?;
                Ok(Self::Bot {
                    channel: channel.to_owned(),
                })
            }
        }
    }

    /// The credential the host applies to this destination's requests.
    pub fn credential(&self) -> &'static str {
        match self {
            Self::Webhook => WEBHOOK_URL,
            Self::Bot { .. } => BOT_TOKEN,
        }
    }
}

/// Fails unless the configuration sets credential `key`, which the host
/// applies without showing it to the connector.
fn require_credential(key: &str) -> Result<(), String> {
    match auth::request_header(key) {
        Ok(_) => Ok(()),
        Err(AuthError::NotConfigured(_)) => Err(format!("credential `{key}` is not set")),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_defaults_to_incoming_webhook() {
        assert_eq!(Mode::parse(None), Ok(Mode::IncomingWebhook));
        assert_eq!(Mode::parse(Some("bot")), Ok(Mode::Bot));
    }

    #[test]
    fn an_unknown_mode_names_the_setting() {
        let problem = Mode::parse(Some("carrier-pigeon")).unwrap_err();
        assert!(problem.contains("setting `mode`"), "{problem}");
    }

    #[test]
    fn each_destination_names_the_credential_the_host_applies() {
        assert_eq!(Destination::Webhook.credential(), "webhook_url");
        assert_eq!(
            Destination::Bot {
                channel: "C1".into()
            }
            .credential(),
            "bot_token"
        );
    }
}
