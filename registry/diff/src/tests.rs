use super::*;

const BASE: &str = r#"
id = "slack"
name = "Slack"
version = "0.1.0"
category = "messaging"
description = "Posts events."
events = ["order.*", "product.updated"]

[[credentials]]
key = "bot_token"
label = "Bot token"
kind = "secret"
required = true

[[settings]]
key = "channel"
label = "Channel"
kind = "text"
required = true

[egress]
allowed_origins = ["https://slack.com", "https://*.slack.com"]

[limits]
timeout_ms = 10000
memory_mib = 64
max_requests = 5
"#;

fn manifest(edit: impl FnOnce(String) -> String) -> Manifest {
    Manifest::parse(&edit(BASE.to_owned())).unwrap()
}

fn surface(imports: &[&str], exports: &[&str]) -> ComponentSurface {
    ComponentSurface {
        imports: imports.iter().map(|s| s.to_string()).collect(),
        exports: exports.iter().map(|s| s.to_string()).collect(),
    }
}

fn base_surface() -> ComponentSurface {
    surface(
        &[
            "sluice:connector/credentials@0.1.1",
            "wasi:http/outgoing-handler@0.2.12",
        ],
        &[
            "sluice:connector/connection@0.1.1",
            "sluice:connector/deliverer@0.1.1",
        ],
    )
}

fn diff(edit: impl FnOnce(String) -> String) -> CapabilityDiff {
    let old = manifest(|m| m);
    let new = manifest(|m| edit(m).replace("version = \"0.1.0\"", "version = \"0.2.0\""));
    CapabilityDiff::between(&old, &base_surface(), &new, &base_surface())
}

fn only(diff: &CapabilityDiff) -> (&ChangeKind, &str, bool) {
    assert_eq!(diff.changes.len(), 1, "{diff}");
    let c = &diff.changes[0];
    (&c.kind, c.subject.as_str(), c.widens)
}

/// An edit of the manifest's text.
type ManifestEdit = Box<dyn Fn(String) -> String>;

#[test]
fn each_kind_of_manifest_change_is_classified() {
    use ChangeKind::*;
    let cases: Vec<(&str, ManifestEdit, ChangeKind, &str, bool)> = vec![
        (
            "new origin",
            Box::new(|m| {
                m.replace(
                    "\"https://slack.com\",",
                    "\"https://slack.com\", \"https://api.example.com\",",
                )
            }),
            OriginAdded,
            "https://api.example.com",
            true,
        ),
        (
            "origin covered by a wildcard",
            Box::new(|m| {
                m.replace(
                    "\"https://slack.com\",",
                    "\"https://slack.com\", \"https://api.slack.com\",",
                )
            }),
            OriginAdded,
            "",
            false,
        ),
        (
            "origin removed",
            Box::new(|m| m.replace("\"https://slack.com\", ", "")),
            OriginRemoved,
            "https://slack.com",
            false,
        ),
        (
            "credential added",
            Box::new(|m| {
                m.replace("[[settings]]", "[[credentials]]\nkey = \"app_token\"\nlabel = \"App token\"\nkind = \"secret\"\n\n[[settings]]")
            }),
            CredentialAdded,
            "app_token",
            true,
        ),
        (
            "credential removed",
            Box::new(|m| {
                m.replace("[[credentials]]\nkey = \"bot_token\"\nlabel = \"Bot token\"\nkind = \"secret\"\nrequired = true\n", "")
            }),
            CredentialRemoved,
            "bot_token",
            false,
        ),
        (
            "setting added",
            Box::new(|m| {
                m.replace(
                    "[egress]",
                    "[[settings]]\nkey = \"emoji\"\nlabel = \"Emoji\"\nkind = \"text\"\n\n[egress]",
                )
            }),
            SettingAdded,
            "emoji",
            true,
        ),
        (
            "setting removed",
            Box::new(|m| {
                m.replace("[[settings]]\nkey = \"channel\"\nlabel = \"Channel\"\nkind = \"text\"\nrequired = true\n", "")
            }),
            SettingRemoved,
            "channel",
            false,
        ),
        (
            "timeout raised",
            Box::new(|m| m.replace("timeout_ms = 10000", "timeout_ms = 20000")),
            LimitRaised,
            "timeout_ms",
            true,
        ),
        (
            "memory lowered",
            Box::new(|m| m.replace("memory_mib = 64", "memory_mib = 32")),
            LimitLowered,
            "memory_mib",
            false,
        ),
        (
            "request cap dropped",
            Box::new(|m| m.replace("max_requests = 5\n", "")),
            LimitRaised,
            "max_requests",
            true,
        ),
        (
            "events widened",
            Box::new(|m| m.replace("\"product.updated\"", "\"product.*\"")),
            EventsWidened,
            "product.*",
            true,
        ),
        (
            "events narrowed",
            Box::new(|m| m.replace("\"order.*\", ", "")),
            EventsNarrowed,
            "order.*",
            false,
        ),
        (
            "event within an old pattern",
            Box::new(|m| m.replace("\"order.*\", ", "\"order.*\", \"order.placed\", ")),
            EventsWidened,
            "",
            false,
        ),
        (
            "sync entity added",
            Box::new(|m| format!("{m}\n[sync]\nentities = [\"orders\"]\n")),
            SyncEntityAdded,
            "orders",
            true,
        ),
    ];
    for (name, edit, kind, subject, widens) in cases {
        let d = diff(edit);
        if subject.is_empty() {
            assert!(d.is_empty(), "{name}: {d}");
            assert!(!d.widens(), "{name}");
            continue;
        }
        assert_eq!(only(&d), (&kind, subject, widens), "{name}");
        assert_eq!(d.widens(), widens, "{name}");
    }
}

#[test]
fn surface_changes_are_compared_without_versions() {
    let old = manifest(|m| m);
    let wider = surface(
        &[
            "sluice:connector/credentials@0.1.1",
            "wasi:http/outgoing-handler@0.2.3",
            "wasi:sockets/tcp@0.2.12",
        ],
        &[
            "sluice:connector/connection@0.1.1",
            "sluice:connector/deliverer@0.1.1",
            "sluice:connector/inbound-handler@0.1.1",
        ],
    );
    let d = CapabilityDiff::between(&old, &base_surface(), &old, &wider);
    let kinds: Vec<_> = d
        .changes
        .iter()
        .map(|c| (c.kind, c.subject.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::ExportAdded, "sluice:connector/inbound-handler"),
            (ChangeKind::ImportAdded, "wasi:sockets/tcp"),
        ]
    );
    assert!(d.widens());
    let back = CapabilityDiff::between(&old, &wider, &old, &base_surface());
    assert!(!back.widens());
    assert_eq!(back.changes.len(), 2);
}

/// Slack 0.1 → 0.2 adding an origin and an app token, raising the timeout
/// and dropping a setting: the text and JSON an operator sees, and the hash
/// an approval echoes, exactly.
#[test]
fn golden_slack_upgrade_diff() {
    let d = diff(|m| {
        m.replace("\"https://slack.com\",", "\"https://slack.com\", \"https://api.example.com\",")
            .replace("[[settings]]\nkey = \"channel\"\nlabel = \"Channel\"\nkind = \"text\"\nrequired = true\n", "[[credentials]]\nkey = \"app_token\"\nlabel = \"App token\"\nkind = \"secret\"\nrequired = true\n")
            .replace("timeout_ms = 10000", "timeout_ms = 20000")
            .replace("memory_mib = 64", "memory_mib = 48")
    });
    assert_eq!(
        d.to_string(),
        "slack 0.1.0 → 0.2.0 (widens: approval needed)\n\
         + egress origin https://api.example.com  [widens]\n\
         + credential app_token (secret, required)  [widens]\n\
         - setting channel\n\
         ~ limit raised timeout_ms 10000 → 20000  [widens]\n\
         ~ limit lowered memory_mib 64 → 48"
    );
    assert_eq!(
        String::from_utf8(d.canonical_json()).unwrap(),
        r#"{"format":"sluice.diff/v1","from":{"id":"slack","version":"0.1.0"},"to":{"id":"slack","version":"0.2.0"},"widens":true,"changes":[{"kind":"origin_added","subject":"https://api.example.com","widens":true},{"kind":"credential_added","subject":"app_token","to":"secret, required","widens":true},{"kind":"setting_removed","subject":"channel","widens":false},{"kind":"limit_raised","subject":"timeout_ms","from":"10000","to":"20000","widens":true},{"kind":"limit_lowered","subject":"memory_mib","from":"64","to":"48","widens":false}]}"#
    );
    assert_eq!(d.hash(), GOLDEN_HASH);
    let parsed: CapabilityDiff = serde_json::from_slice(&d.canonical_json()).unwrap();
    assert_eq!(
        parsed.hash(),
        d.hash(),
        "the hash survives a JSON round trip"
    );
}

const GOLDEN_HASH: &str = "sha256:a14558daae9e46696c4599d688fa2d0aa73e2de69d4717811fd5f4e6fefef2a5";

#[test]
fn a_narrowing_only_upgrade_does_not_widen() {
    let d = diff(|m| {
        m.replace("\"https://slack.com\", ", "")
            .replace("memory_mib = 64", "memory_mib = 32")
            .replace("\"order.*\", ", "")
    });
    assert!(!d.widens());
    assert_eq!(d.changes.len(), 3);
    assert!(
        d.to_string()
            .starts_with("slack 0.1.0 → 0.2.0 (narrows only)"),
        "{d}"
    );
}

#[test]
fn the_hash_differs_when_anything_in_the_diff_differs() {
    let a = diff(|m| m.replace("timeout_ms = 10000", "timeout_ms = 20000"));
    let b = diff(|m| m.replace("timeout_ms = 10000", "timeout_ms = 20001"));
    assert_ne!(a.hash(), b.hash());
    assert_eq!(
        a.hash(),
        diff(|m| m.replace("timeout_ms = 10000", "timeout_ms = 20000")).hash()
    );
}
