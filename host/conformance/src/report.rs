//! What a check found: one row per scenario, a summary, and the table the
//! command prints.

use std::fmt::Write as _;

use serde::Serialize;
use sluice_egress::EgressRecord;

/// The scenarios of a check, in the order they run and print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// The bytes are a valid WebAssembly component.
    Component,
    /// Every import is within world `platform` (plus the WASI the runtime links).
    Imports,
    /// The worlds the manifest declares are exported with the contract's signatures.
    Exports,
    /// The component compiles and instantiates in the sandbox.
    Load,
    /// The remote answers 200: `delivered`.
    Deliver2xx,
    /// The remote answers 500: `retry`.
    Deliver5xx,
    /// The remote never answers and the request times out: `retry`.
    DeliverTimeout,
    /// The remote answers 429 with `Retry-After: 7`: `retry` after 7 s.
    Deliver429,
    /// The remote answers 400: `failed` with the remote's status.
    Deliver4xx,
    /// The egress policy refuses the connector's origin: the refusal is in
    /// the egress records, the outcome is not `delivered` and not a trap.
    DeliverRefused,
    /// `test-connection` answers a status without trapping.
    TestConnection,
    /// An event whose payload is not JSON gets an outcome, not a trap.
    MalformedNotJson,
    /// An event whose payload is `{}` gets an outcome, not a trap.
    MalformedEmptyObject,
    /// Peak memory stays under 75% of `limits.memory_mib`.
    Memory,
    /// Calls stay under 50% of `limits.timeout_ms`.
    Duration,
}

impl Scenario {
    /// Every scenario, in order.
    pub const ALL: [Scenario; 15] = [
        Self::Component,
        Self::Imports,
        Self::Exports,
        Self::Load,
        Self::Deliver2xx,
        Self::Deliver5xx,
        Self::DeliverTimeout,
        Self::Deliver429,
        Self::Deliver4xx,
        Self::DeliverRefused,
        Self::TestConnection,
        Self::MalformedNotJson,
        Self::MalformedEmptyObject,
        Self::Memory,
        Self::Duration,
    ];

    /// The scenario's name, as the table and every message print it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Component => "component",
            Self::Imports => "imports",
            Self::Exports => "exports",
            Self::Load => "load",
            Self::Deliver2xx => "deliver: 2xx",
            Self::Deliver5xx => "deliver: 5xx",
            Self::DeliverTimeout => "deliver: timeout",
            Self::Deliver429 => "deliver: 429 Retry-After: 7",
            Self::Deliver4xx => "deliver: 4xx",
            Self::DeliverRefused => "deliver: refused origin",
            Self::TestConnection => "test-connection",
            Self::MalformedNotJson => "malformed event: payload not JSON",
            Self::MalformedEmptyObject => "malformed event: payload {}",
            Self::Memory => "memory",
            Self::Duration => "duration",
        }
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Scenario {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// How a scenario came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The connector did what the contract expects.
    Pass,
    /// It did not.
    Fail,
    /// The scenario does not apply (the component lacks the export) or
    /// could not run (the component did not load).
    Skip,
}

impl Verdict {
    /// `pass`, `FAIL` or `skip`, as the table prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Skip => "skip",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioResult {
    /// Which scenario.
    pub scenario: Scenario,
    /// What the contract expects, in a few words.
    pub expected: String,
    /// What the connector did, in a few words.
    pub got: String,
    /// Pass, fail or skip.
    pub verdict: Verdict,
    /// More about what happened: the connector's reason, the trap, the
    /// requests it made, or why the scenario was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The call's requests and refusals, as its invocation report has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<EgressRecord>,
}

impl ScenarioResult {
    pub(crate) fn new(
        scenario: Scenario,
        expected: impl Into<String>,
        got: impl Into<String>,
        passed: bool,
    ) -> Self {
        // Errors may span lines (a compiler's message); a row holds one.
        let got: String = got.into();
        Self {
            scenario,
            expected: expected.into(),
            got: got.split_whitespace().collect::<Vec<_>>().join(" "),
            verdict: if passed { Verdict::Pass } else { Verdict::Fail },
            detail: None,
            egress: Vec::new(),
        }
    }

    pub(crate) fn skipped(
        scenario: Scenario,
        expected: impl Into<String>,
        why: impl Into<String>,
    ) -> Self {
        Self {
            scenario,
            expected: expected.into(),
            got: "not run".to_owned(),
            verdict: Verdict::Skip,
            detail: Some(why.into()),
            egress: Vec::new(),
        }
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        if !detail.is_empty() {
            self.detail = Some(detail);
        }
        self
    }

    pub(crate) fn with_egress(mut self, egress: Vec<EgressRecord>) -> Self {
        self.egress = egress;
        self
    }

    /// `FAIL deliver: 5xx: expected retry, got delivered`, and the detail.
    pub fn failure_message(&self) -> String {
        let mut message = format!(
            "{} {}: expected {}, got {}",
            self.verdict.label(),
            self.scenario,
            self.expected,
            self.got
        );
        if let Some(detail) = &self.detail {
            let _ = write!(message, " ({detail})");
        }
        message
    }
}

/// How many scenarios passed, failed and were skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Scenarios passed.
    pub passed: usize,
    /// Scenarios failed.
    pub failed: usize,
    /// Scenarios skipped.
    pub skipped: usize,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The connector's id, from its manifest.
    pub connector: String,
    /// Its version.
    pub version: String,
    /// Whether every scenario that ran passed.
    pub passed: bool,
    /// The counts.
    pub summary: Summary,
    /// The origins the fake remote stood in for.
    pub fake_origins: Vec<String>,
    /// What the publisher should know about how the check ran (a made-up
    /// configuration, wildcard origins the fake could not stand in for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// One row per scenario, in order.
    pub scenarios: Vec<ScenarioResult>,
}

/// Longest "got" shown in a table cell; the whole text is in the failure
/// lines below the table and in the JSON.
const MAX_CELL: usize = 56;

impl Report {
    pub(crate) fn new(
        connector: String,
        version: String,
        fake_origins: Vec<String>,
        notes: Vec<String>,
        scenarios: Vec<ScenarioResult>,
    ) -> Self {
        let count = |verdict| scenarios.iter().filter(|s| s.verdict == verdict).count();
        let summary = Summary {
            passed: count(Verdict::Pass),
            failed: count(Verdict::Fail),
            skipped: count(Verdict::Skip),
        };
        Self {
            connector,
            version,
            passed: summary.failed == 0,
            summary,
            fake_origins,
            notes,
            scenarios,
        }
    }

    /// The row of `scenario`.
    pub fn get(&self, scenario: Scenario) -> Option<&ScenarioResult> {
        self.scenarios.iter().find(|s| s.scenario == scenario)
    }

    /// The rows that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ScenarioResult> {
        self.scenarios.iter().filter(|s| s.verdict == Verdict::Fail)
    }

    /// The table, the failures in full, the notes and the summary line.
    pub fn table(&self) -> String {
        let header = ["SCENARIO", "EXPECTED", "GOT", "RESULT"];
        let rows: Vec<[String; 4]> = self
            .scenarios
            .iter()
            .map(|s| {
                [
                    s.scenario.to_string(),
                    s.expected.clone(),
                    cut(&s.got, MAX_CELL),
                    s.verdict.label().to_owned(),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = format!("{} {}\n\n", self.connector, self.version);
        let mut line = |cells: [&str; 4]| {
            let mut text = String::new();
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                if i + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    let _ = write!(text, "{cell:<width$}  ");
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(header);
        for row in &rows {
            line([&row[0], &row[1], &row[2], &row[3]]);
        }
        let failures: Vec<String> = self.failures().map(|f| f.failure_message()).collect();
        if !failures.is_empty() {
            out.push('\n');
            for failure in failures {
                out.push_str(&failure);
                out.push('\n');
            }
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "note: {note}");
            }
        }
        let Summary {
            passed,
            failed,
            skipped,
        } = self.summary;
        let _ = writeln!(
            out,
            "\n{}: {passed} passed, {failed} failed, {skipped} skipped",
            if self.passed {
                "conforms"
            } else {
                "does not conform"
            }
        );
        out
    }
}

/// `text` cut to `max` characters, ending in `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}
