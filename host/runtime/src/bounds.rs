//! Bounds on the strings a guest hands back.
//!
//! A guest's answer goes to the attempt log, the sync log and the API; a
//! connector that returns a 16 MiB external id or failure reason must not be
//! able to push that into the database. Free text (ids the host only shows,
//! reasons, remote error codes and messages) is cut on a character boundary
//! and every cut is listed in the report; values whose meaning a cut would
//! change (sync record ids, cursors, event payloads) are checked whole by the
//! layer that uses them.

use serde::{Deserialize, Serialize};

use crate::bindings::types::{
    ConnectionCheck, DeliveryOutcome, InboundAccepted, InboundRejection, RemoteError, SyncBatch,
    SyncError,
};
use crate::host::truncate;

/// How long each kind of string a guest returns may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuestStringLimits {
    /// Identifiers and codes: external ids, remote error codes, step names.
    pub max_id_bytes: usize,
    /// Sentences: reasons, remote error messages, connection-check messages.
    pub max_text_bytes: usize,
    /// Steps a connection check may list.
    pub max_check_steps: usize,
}

impl Default for GuestStringLimits {
    fn default() -> Self {
        Self {
            max_id_bytes: 512,
            max_text_bytes: 8 * 1024,
            max_check_steps: 32,
        }
    }
}

/// One string the host cut before keeping it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CutString {
    /// Where it was, for example `failed.reason`.
    pub field: String,
    /// Its length as the guest returned it, in bytes.
    pub original_bytes: usize,
}

/// Cuts the strings of one answer, recording each cut.
pub(crate) struct Bounder<'a> {
    limits: &'a GuestStringLimits,
    cuts: Vec<CutString>,
}

impl<'a> Bounder<'a> {
    pub(crate) fn new(limits: &'a GuestStringLimits) -> Self {
        Self {
            limits,
            cuts: Vec::new(),
        }
    }

    pub(crate) fn into_cuts(self) -> Vec<CutString> {
        self.cuts
    }

    fn cut(&mut self, field: &str, text: &mut String, limit: usize) {
        if text.len() > limit {
            self.cuts.push(CutString {
                field: field.to_owned(),
                original_bytes: text.len(),
            });
            *text = truncate(std::mem::take(text), limit);
        }
    }

    fn id(&mut self, field: &str, text: &mut String) {
        self.cut(field, text, self.limits.max_id_bytes);
    }

    fn text(&mut self, field: &str, text: &mut String) {
        self.cut(field, text, self.limits.max_text_bytes);
    }

    fn remote(&mut self, prefix: &str, remote: &mut Option<RemoteError>) {
        if let Some(remote) = remote {
            if let Some(code) = &mut remote.code {
                self.id(&format!("{prefix}.remote.code"), code);
            }
            if let Some(message) = &mut remote.message {
                self.text(&format!("{prefix}.remote.message"), message);
            }
        }
    }
}

/// An answer whose strings the host bounds before keeping it.
pub(crate) trait Bounded {
    fn bound(&mut self, bounder: &mut Bounder<'_>);
}

impl Bounded for DeliveryOutcome {
    fn bound(&mut self, bounder: &mut Bounder<'_>) {
        match self {
            DeliveryOutcome::Delivered(delivered) => {
                if let Some(id) = &mut delivered.external_id {
                    bounder.id("delivered.external-id", id);
                }
            }
            DeliveryOutcome::Retry(retry) => {
                bounder.text("retry.reason", &mut retry.reason);
                bounder.remote("retry", &mut retry.remote);
            }
            DeliveryOutcome::Failed(failure) => {
                bounder.text("failed.reason", &mut failure.reason);
                bounder.remote("failed", &mut failure.remote);
            }
        }
    }
}

impl Bounded for ConnectionCheck {
    fn bound(&mut self, bounder: &mut Bounder<'_>) {
        bounder.text("message", &mut self.message);
        let max_steps = bounder.limits.max_check_steps;
        if self.steps.len() > max_steps {
            bounder.cuts.push(CutString {
                field: "steps".to_owned(),
                original_bytes: self.steps.iter().map(|(k, v)| k.len() + v.len()).sum(),
            });
            self.steps.truncate(max_steps);
        }
        for (index, (step, finding)) in self.steps.iter_mut().enumerate() {
            bounder.id(&format!("steps[{index}].name"), step);
            bounder.text(&format!("steps[{index}].finding"), finding);
        }
    }
}

impl Bounded for Result<SyncBatch, SyncError> {
    fn bound(&mut self, bounder: &mut Bounder<'_>) {
        // A batch's ids, versions and cursor are checked whole by the sync
        // scheduler: cutting them would change which record they name.
        if let Err(error) = self {
            bounder.text("sync-error.reason", &mut error.reason);
            bounder.remote("sync-error", &mut error.remote);
        }
    }
}

impl Bounded for Result<InboundAccepted, InboundRejection> {
    fn bound(&mut self, bounder: &mut Bounder<'_>) {
        // Emitted events are checked whole like any ingested event.
        if let Err(rejection) = self {
            bounder.text("rejection.reason", &mut rejection.reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::{CheckStatus, PermanentFailure};

    #[test]
    fn strings_within_their_limits_are_kept_as_they_are() {
        let limits = GuestStringLimits::default();
        let mut bounder = Bounder::new(&limits);
        let mut outcome = DeliveryOutcome::Failed(PermanentFailure {
            reason: "channel_not_found".into(),
            remote: Some(RemoteError {
                status: Some(404),
                code: Some("channel_not_found".into()),
                message: None,
            }),
        });
        let before = outcome.clone();
        outcome.bound(&mut bounder);
        assert_eq!(outcome, before);
        assert!(bounder.into_cuts().is_empty());
    }

    #[test]
    fn a_cut_keeps_whole_characters() {
        let limits = GuestStringLimits {
            max_text_bytes: 5,
            ..GuestStringLimits::default()
        };
        let mut bounder = Bounder::new(&limits);
        let mut check = ConnectionCheck {
            status: CheckStatus::Ok,
            message: "ééé".into(),
            steps: Vec::new(),
        };
        check.bound(&mut bounder);
        assert_eq!(check.message, "éé");
        assert_eq!(
            bounder.into_cuts(),
            vec![CutString {
                field: "message".into(),
                original_bytes: 6
            }]
        );
    }

    #[test]
    fn a_connection_check_keeps_at_most_the_allowed_steps() {
        let limits = GuestStringLimits::default();
        let mut bounder = Bounder::new(&limits);
        let mut check = ConnectionCheck {
            status: CheckStatus::Ok,
            message: "fine".into(),
            steps: vec![("step".into(), "ok".into()); 40],
        };
        check.bound(&mut bounder);
        assert_eq!(check.steps.len(), limits.max_check_steps);
        assert_eq!(bounder.into_cuts()[0].field, "steps");
    }
}
