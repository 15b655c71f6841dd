//! Where messages go, from the configuration's settings and credentials.

use sluice_guest::{InvocationContext, credentials};

/// The incoming-webhook URLs Slack issues start with this.
const WEBHOOK_URL_PREFIX: &str = "https://hooks.slack.com/services/";

/// Where a configuration sends its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An incoming webhook, which posts to the channel it was created for.
    Webhook {
        /// `https://hooks.slack.com/services/T…/B…/…`.
        url: String,
    },
    /// `chat.postMessage` with a bot token.
    Bot {
        /// The bot token, `xoxb-…`.
        token: String,
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
    /// setting or credential is missing or malformed.
    pub fn from_configuration(context: &InvocationContext) -> Result<Self, String> {
        match Mode::parse(context.setting("mode"))? {
            Mode::IncomingWebhook => {
                let url = credentials::require("webhook_url").map_err(|m| m.to_string())?;
                Self::webhook(url)
            }
            Mode::Bot => {
                let token = credentials::require("bot_token").map_err(|m| m.to_string())?;
                let channel = context
                    .require_setting("channel")
                    .map_err(|m| m.to_string())?;
                Ok(Self::Bot {
                    token,
                    channel: channel.to_owned(),
                })
            }
        }
    }

    /// An incoming-webhook destination, if `url` has the shape of one.
    fn webhook(url: String) -> Result<Self, String> {
        if is_webhook_url(&url) {
            Ok(Self::Webhook { url })
        } else {
            Err(
                "credential `webhook_url` is not a Slack incoming-webhook URL \
                 (https://hooks.slack.com/services/T…/B…/…)"
                    .to_owned(),
            )
        }
    }
}

/// Whether `url` has the shape of a Slack incoming-webhook URL,
/// `https://hooks.slack.com/services/T…/B…/<secret>`.
fn is_webhook_url(url: &str) -> bool {
    let Some(path) = url.strip_prefix(WEBHOOK_URL_PREFIX) else {
        return false;
    };
    let segments: Vec<&str> = path.split('/').collect();
    let alphanumeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    matches!(
        segments.as_slice(),
        [team, bot, secret]
            if team.starts_with('T') && bot.starts_with('B')
                && alphanumeric(team) && alphanumeric(bot) && alphanumeric(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX";

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
    fn webhook_urls_must_have_slacks_shape() {
        assert_eq!(
            Destination::webhook(URL.to_owned()),
            Ok(Destination::Webhook {
                url: URL.to_owned()
            })
        );
        for url in [
            "http://hooks.slack.com/services/T0001/B0002/XXXX",
            "https://hooks.slack.com.evil.example/services/T0001/B0002/XXXX",
            "https://hooks.slack.com/services/T0001/B0002",
            "https://hooks.slack.com/services/X0001/B0002/XXXX",
            "https://hooks.slack.com/services/T0001/B0002/XXXX/extra",
            "https://hooks.slack.com/workflows/T0001/A0002/123/XXXX",
            "https://hooks.slack.com/services/T0001/B0002/XX?X",
        ] {
            let problem = Destination::webhook(url.to_owned()).unwrap_err();
            assert!(
                problem.contains("credential `webhook_url`"),
                "{url}: {problem}"
            );
        }
    }
}
