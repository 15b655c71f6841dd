use serde_json::json;

use super::*;

const VALID: &str = r#"
id = "slack"
name = "Slack"
version = "0.1.0"
category = "messaging"
description = "Posts platform events to Slack."
events = ["order.*", "product.updated"]

[[credentials]]
key = "bot_token"
label = "Bot token"
kind = "secret"

[[settings]]
key = "mode"
label = "Send through"
kind = "select"
options = ["incoming-webhook", "bot"]
default = "incoming-webhook"

[[settings]]
key = "mention_here"
label = "Mention @here"
kind = "boolean"

[egress]
allowed_origins = ["https://slack.com", "https://*.slack.com"]

[limits]
timeout_ms = 5000
memory_mib = 32
"#;

fn errors_of(text: &str) -> Vec<(String, String)> {
    Manifest::parse(text)
        .unwrap_err()
        .errors
        .into_iter()
        .map(|e| (e.field, e.message))
        .collect()
}

fn fields_of(text: &str) -> Vec<String> {
    errors_of(text).into_iter().map(|(f, _)| f).collect()
}

#[test]
fn a_valid_manifest_parses_with_its_declarations() {
    let m = Manifest::parse(VALID).unwrap();
    assert_eq!(m.id, "slack");
    assert_eq!(m.version, semver::Version::new(0, 1, 0));
    assert!(m.handles("order.placed"));
    assert!(m.handles("product.updated"));
    assert!(!m.handles("inventory.updated"));
    assert!(m.declares_credential("bot_token"));
    assert!(!m.declares_credential("webhook_url"));
    assert_eq!(m.limits.timeout_ms, 5000);
    assert_eq!(m.allowed_origins.patterns().len(), 2);
}

#[test]
fn limits_default_when_absent() {
    let text = VALID.replace("[limits]\ntimeout_ms = 5000\nmemory_mib = 32\n", "");
    assert_eq!(Manifest::parse(&text).unwrap().limits, Limits::default());
}

#[test]
fn each_malformed_field_is_named() {
    let cases: &[(&str, &str, &str)] = &[
        ("id = \"slack\"", "id = \"Slack Connector\"", "id"),
        ("version = \"0.1.0\"", "version = \"one\"", "version"),
        ("name = \"Slack\"", "name = \"  \"", "name"),
        ("category = \"messaging\"", "category = \"\"", "category"),
        (
            "events = [\"order.*\", \"product.updated\"]",
            "events = [\"order.*\", \"Product\"]",
            "events[1]",
        ),
        (
            "kind = \"secret\"",
            "kind = \"password\"",
            "credentials[0].kind",
        ),
        (
            "key = \"bot_token\"",
            "key = \"Bot Token\"",
            "credentials[0].key",
        ),
        (
            "label = \"Bot token\"",
            "label = \"\"",
            "credentials[0].label",
        ),
        (
            "options = [\"incoming-webhook\", \"bot\"]",
            "options = []",
            "settings[0].options",
        ),
        (
            "default = \"incoming-webhook\"",
            "default = \"carrier-pigeon\"",
            "settings[0].default",
        ),
        (
            "kind = \"boolean\"",
            "kind = \"secret\"",
            "settings[1].kind",
        ),
        (
            "\"https://*.slack.com\"",
            "\"https://*.slack.com/api\"",
            "egress.allowed_origins[1]",
        ),
        (
            "\"https://slack.com\"",
            "\"slack.com\"",
            "egress.allowed_origins[0]",
        ),
        ("timeout_ms = 5000", "timeout_ms = 0", "limits.timeout_ms"),
        (
            "memory_mib = 32",
            "memory_mib = 100000",
            "limits.memory_mib",
        ),
        (
            "memory_mib = 32",
            "memory_mib = \"lots\"",
            "limits.memory_mib",
        ),
        (
            "memory_mib = 32",
            "memory_mib = 32\nfuel = 5",
            "limits.fuel",
        ),
    ];
    for (from, to, field) in cases {
        assert!(VALID.contains(from), "test case does not apply: {from}");
        let fields = fields_of(&VALID.replacen(from, to, 1));
        assert!(
            fields.contains(&field.to_string()),
            "{to}: expected {field}, got {fields:?}"
        );
    }
}

#[test]
fn missing_required_fields_and_unknown_fields_are_named() {
    let errors = errors_of(&VALID.replace("id = \"slack\"\n", ""));
    assert_eq!(errors[0].0, "<manifest>");
    assert!(errors[0].1.contains("missing field `id`"), "{errors:?}");

    let errors = errors_of(&format!("{VALID}\ncolour = \"blue\"\n"));
    assert!(errors[0].1.contains("unknown field `colour`"), "{errors:?}");

    let errors = errors_of("id = ");
    assert_eq!(errors[0].0, "<manifest>");
    assert!(errors[0].1.starts_with("not valid TOML"), "{errors:?}");
}

#[test]
fn duplicate_keys_and_all_errors_at_once() {
    let text = VALID
        .replace("key = \"mention_here\"", "key = \"mode\"")
        .replace("timeout_ms = 5000", "timeout_ms = 999999");
    let fields = fields_of(&text);
    assert_eq!(fields, vec!["settings[1].key", "limits.timeout_ms"]);
}

#[test]
fn sync_section_is_checked() {
    let text = format!("{VALID}\n[sync]\nentities = []\ndefault_interval_seconds = 1\n");
    assert_eq!(
        fields_of(&text),
        vec!["sync.entities", "sync.default_interval_seconds"]
    );
    let ok = format!("{VALID}\n[sync]\nentities = [\"orders\"]\n");
    assert_eq!(
        Manifest::parse(&ok)
            .unwrap()
            .sync
            .unwrap()
            .default_interval_seconds,
        900
    );
}

#[test]
fn configurations_are_checked_against_declared_fields() {
    let m = Manifest::parse(VALID).unwrap();
    let checked = m
        .check_configuration(
            json!({"mention_here": true}).as_object().unwrap(),
            json!({"bot_token": "xoxb-1"}).as_object().unwrap(),
        )
        .unwrap();
    assert_eq!(
        checked.settings["mode"], "incoming-webhook",
        "default filled in"
    );
    assert_eq!(checked.settings["mention_here"], "true");
    assert_eq!(checked.credentials["bot_token"], "xoxb-1");

    let errors = m
        .check_configuration(
            json!({"mode": "fax", "mention_here": "yes", "colour": "red"})
                .as_object()
                .unwrap(),
            json!({"api_key": "k", "bot_token": 5}).as_object().unwrap(),
        )
        .unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "settings.colour",
            "settings.mode",
            "settings.mention_here",
            "credentials.api_key",
            "credentials.bot_token"
        ]
    );
    assert!(errors[1].message.contains("incoming-webhook, bot"));
}

#[test]
fn required_and_url_fields_are_enforced() {
    let text = VALID.replace("kind = \"secret\"", "kind = \"url\"\nrequired = true");
    let m = Manifest::parse(&text).unwrap();
    let empty = serde_json::Map::new();
    let errors = m.check_configuration(&empty, &empty).unwrap_err();
    assert_eq!(errors[0].field, "credentials.bot_token");
    assert_eq!(errors[0].message, "is required");

    for bad in ["not a url", "ftp://example.com/x", "mailto:a@b.c"] {
        let errors = m
            .check_configuration(&empty, json!({"bot_token": bad}).as_object().unwrap())
            .unwrap_err();
        assert_eq!(errors[0].field, "credentials.bot_token", "{bad}");
    }
    assert!(
        m.check_configuration(
            &empty,
            json!({"bot_token": "https://hooks.slack.com/services/T/B/X"})
                .as_object()
                .unwrap()
        )
        .is_ok()
    );
}

#[test]
fn a_pattern_must_match_the_whole_value_and_the_error_never_repeats_it() {
    let text = VALID.replace(
        "kind = \"secret\"",
        "kind = \"secret\"\npattern = 'xoxb-[0-9A-Za-z-]+'\nhelp = \"The bot token, xoxb-…\"",
    );
    let m = Manifest::parse(&text).unwrap();
    let empty = serde_json::Map::new();
    for bad in ["xoxp-123", "my xoxb-123", "xoxb-123 trailing"] {
        let errors = m
            .check_configuration(&empty, json!({ "bot_token": bad }).as_object().unwrap())
            .unwrap_err();
        assert_eq!(errors[0].field, "credentials.bot_token", "{bad}");
        assert!(
            errors[0].message.contains("The bot token, xoxb-…"),
            "{}",
            errors[0].message
        );
        assert!(!errors[0].message.contains(bad), "{}", errors[0].message);
    }
    assert!(
        m.check_configuration(
            &empty,
            json!({ "bot_token": "xoxb-1-2-abc" }).as_object().unwrap()
        )
        .is_ok()
    );

    let broken = VALID.replace(
        "kind = \"secret\"",
        "kind = \"secret\"\npattern = '(unclosed'",
    );
    let errors = errors_of(&broken);
    assert_eq!(errors[0].0, "credentials[0].pattern", "{errors:?}");
}

/// A manifest whose credentials carry `extra` (appended after the
/// credential declarations) and the egress origins of `VALID`.
fn with_auth(extra: &str) -> String {
    format!(
        r#"
id = "acme"
name = "Acme"
version = "1.0.0"
category = "marketplace"
description = "Acme."
events = ["*"]

[[credentials]]
key = "client_id"
label = "Client id"
kind = "text"

[[credentials]]
key = "client_secret"
label = "Client secret"
kind = "secret"

{extra}

[egress]
allowed_origins = ["https://api.acme.test", "https://auth.acme.test"]
"#
    )
}

#[test]
fn credentials_are_not_readable_unless_the_manifest_says_so() {
    let manifest = Manifest::parse(VALID).unwrap();
    assert!(!manifest.credential_is_readable("bot_token"));
    let readable = VALID.replace("kind = \"secret\"", "kind = \"secret\"\nreadable = true");
    assert!(
        Manifest::parse(&readable)
            .unwrap()
            .credential_is_readable("bot_token")
    );
}

#[test]
fn a_refresh_token_grant_binds_the_credential_to_its_origins() {
    let manifest = Manifest::parse(&with_auth(
        r#"[[credentials]]
key = "refresh_token"
label = "Refresh token"
kind = "secret"
[credentials.auth]
scheme = "oauth2-refresh-token"
origins = ["https://api.acme.test"]
token_url = "https://auth.acme.test/token"
client_id = "client_id"
client_secret = "client_secret"
client_auth = "basic"
apply = { header = "x-access-token", prefix = "" }
renew_on_status = [401, 403]"#,
    ))
    .unwrap();
    let auth = manifest
        .credential("refresh_token")
        .unwrap()
        .auth
        .clone()
        .unwrap();
    assert_eq!(auth.scheme.companions(), ["client_id", "client_secret"]);
    assert!(
        auth.allow_list()
            .allows_uri(&"https://api.acme.test/x".parse().unwrap())
    );
    assert!(
        !auth
            .allow_list()
            .allows_uri(&"https://auth.acme.test/x".parse().unwrap())
    );
}

#[test]
fn auth_tables_that_reach_beyond_egress_or_name_unknown_credentials_are_refused_by_field() {
    let errors = errors_of(&with_auth(
        r#"[[credentials]]
key = "refresh_token"
label = "Refresh token"
kind = "secret"
[credentials.auth]
scheme = "oauth2-refresh-token"
origins = ["https://evil.test"]
token_url = "https://evil.test/token"
client_id = "nope"
client_secret = "refresh_token""#,
    ));
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "credentials[2].auth.origins[0]",
            "credentials[2].auth.client_id",
            "credentials[2].auth.client_secret",
            "credentials[2].auth.token_url",
        ],
        "{errors:?}"
    );
}

#[test]
fn an_unknown_scheme_or_field_in_an_auth_table_is_refused() {
    let unknown = Manifest::parse(&with_auth(
        "[[credentials]]\nkey = \"k\"\nlabel = \"K\"\nkind = \"secret\"\n[credentials.auth]\nscheme = \"magic\"\norigins = [\"https://api.acme.test\"]",
    ));
    assert!(unknown.is_err());
    let misspelt = Manifest::parse(&with_auth(
        "[[credentials]]\nkey = \"k\"\nlabel = \"K\"\nkind = \"secret\"\n[credentials.auth]\nscheme = \"header\"\nnmae = \"x\"\norigins = [\"https://api.acme.test\"]",
    ));
    assert!(misspelt.is_err());
}

#[test]
fn an_inbound_signature_must_name_a_credential_and_sign_the_body() {
    let errors = errors_of(&with_auth(
        "[inbound.signature]\ncredential = \"missing\"\nheader = \"x-sig\"\nmessage = \"{timestamp}\"",
    ));
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "inbound.signature.credential",
            "inbound.signature.message",
            "inbound.signature.timestamp_header",
        ],
        "{errors:?}"
    );
}
