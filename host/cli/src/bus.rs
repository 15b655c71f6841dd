//! `sluice bus stream | publish | tail`: enough of NATS JetStream to point
//! Sluice at a bus and watch it, without the `nats` CLI.
//!
//! Exit status: 0 when done, 2 on bad input or when the server refused or
//! could not be reached.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream;
use clap::{Args, Subcommand};
use futures::StreamExt;
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// Where the NATS server is.
#[derive(Args)]
pub struct NatsArgs {
    /// The NATS server.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    url: String,
}

/// The bus commands.
#[derive(Subcommand)]
pub enum BusCommand {
    /// Create a JetStream stream capturing some subjects, unless one of that
    /// name exists; prints its subjects and message count either way.
    Stream {
        /// The stream's name, such as PLATFORM.
        name: String,
        /// A subject it captures, wildcards allowed; repeat for several.
        #[arg(long = "subject", required = true)]
        subjects: Vec<String>,
        /// How long the stream drops a repeated Nats-Msg-Id, in seconds.
        #[arg(long, default_value_t = 120)]
        duplicate_window_seconds: u64,
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Publish events, one message each, with JetStream's acknowledgement and
    /// the event's id as Nats-Msg-Id (a repeat within the stream's duplicate
    /// window is dropped). Each file holds one event object or an array of
    /// them; `-` reads standard input.
    Publish {
        /// The subject, such as platform.events.orders.
        #[arg(long)]
        subject: String,
        /// Event files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Publish each file's bytes unchanged as one message, without a
        /// Nats-Msg-Id (for example to see a malformed message rejected).
        #[arg(long)]
        raw: bool,
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Print a stream's messages as JSON lines (sequence, subject,
    /// Nats-Msg-Id, headers, body), from the first or only new ones.
    Tail {
        /// The stream, such as SLUICE_OUTCOMES.
        stream: String,
        /// Only messages on this subject (wildcards allowed).
        #[arg(long)]
        subject: Option<String>,
        /// Only messages published from now on.
        #[arg(long)]
        new: bool,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<usize>,
        /// Stop when no message came for this many milliseconds.
        #[arg(long)]
        idle_ms: Option<u64>,
        #[command(flatten)]
        nats: NatsArgs,
    },
}

/// Runs a bus command.
pub async fn run(command: BusCommand) -> ExitCode {
    let result = match command {
        BusCommand::Stream {
            name,
            subjects,
            duplicate_window_seconds,
            nats,
        } => create_stream(&nats, name, subjects, duplicate_window_seconds).await,
        BusCommand::Publish {
            subject,
            files,
            raw,
            nats,
        } => publish(&nats, &subject, &files, raw).await,
        BusCommand::Tail {
            stream,
            subject,
            new,
            count,
            idle_ms,
            nats,
        } => tail(&nats, &stream, subject, new, count, idle_ms).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn jetstream(nats: &NatsArgs) -> anyhow::Result<async_nats::jetstream::Context> {
    let client = sluice_bus::connect(&nats.url).await?;
    Ok(async_nats::jetstream::new(client))
}

async fn create_stream(
    nats: &NatsArgs,
    name: String,
    subjects: Vec<String>,
    duplicate_window_seconds: u64,
) -> anyhow::Result<()> {
    let context = jetstream(nats).await?;
    let mut created = context
        .get_or_create_stream(stream::Config {
            name: name.clone(),
            subjects,
            duplicate_window: Duration::from_secs(duplicate_window_seconds),
            ..Default::default()
        })
        .await
        .with_context(|| format!("cannot create the stream {name:?}"))?;
    let info = created
        .info()
        .await
        .with_context(|| format!("cannot read the stream {name:?}"))?;
    println!(
        "stream {} captures {} and holds {} messages",
        info.config.name,
        info.config.subjects.join(", "),
        info.state.messages
    );
    Ok(())
}

async fn publish(
    nats: &NatsArgs,
    subject: &str,
    files: &[PathBuf],
    raw: bool,
) -> anyhow::Result<()> {
    let context = jetstream(nats).await?;
    for file in files {
        let bytes = if file.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .context("cannot read standard input")?;
            bytes
        } else {
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
        };
        let messages = if raw {
            vec![(None, bytes)]
        } else {
            events_of(&bytes).with_context(|| file.display().to_string())?
        };
        for (id, body) in messages {
            let mut publication = PublishMessage::build().payload(body.into());
            if let Some(id) = &id {
                publication = publication.message_id(id);
            }
            let ack = context
                .send_publish(subject.to_owned(), publication)
                .await
                .with_context(|| format!("cannot publish to {subject}"))?
                .await
                .with_context(|| {
                    format!("{subject} was not acknowledged: does a stream capture it?")
                })?;
            println!(
                "{} {} (stream {} sequence {})",
                if ack.duplicate {
                    "duplicate"
                } else {
                    "published"
                },
                id.as_deref().unwrap_or("raw message"),
                ack.stream,
                ack.sequence
            );
        }
    }
    Ok(())
}

/// The events of a file: one object or an array, each with its `id`, as
/// the exact bytes they had.
fn events_of(bytes: &[u8]) -> anyhow::Result<Vec<(Option<String>, Vec<u8>)>> {
    let batch = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let items: Vec<Box<RawValue>> = if batch {
        serde_json::from_slice(bytes).context("not a JSON array of events")?
    } else {
        vec![serde_json::from_slice(bytes).context("not a JSON event")?]
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let id = serde_json::from_str::<Value>(item.get())
                .ok()
                .and_then(|value| value.get("id")?.as_str().map(str::to_owned))
                .with_context(|| format!("event {index} has no string \"id\""))?;
            Ok((Some(id), item.get().as_bytes().to_vec()))
        })
        .collect()
}

async fn tail(
    nats: &NatsArgs,
    stream: &str,
    subject: Option<String>,
    new: bool,
    count: Option<usize>,
    idle_ms: Option<u64>,
) -> anyhow::Result<()> {
    let context = jetstream(nats).await?;
    let consumer = context
        .get_stream(stream)
        .await
        .with_context(|| format!("cannot open the stream {stream:?}"))?
        .create_consumer(pull::Config {
            deliver_policy: if new {
                DeliverPolicy::New
            } else {
                DeliverPolicy::All
            },
            ack_policy: AckPolicy::None,
            filter_subject: subject.unwrap_or_default(),
            inactive_threshold: Duration::from_secs(30),
            ..Default::default()
        })
        .await
        .with_context(|| format!("cannot read the stream {stream:?}"))?;
    let mut messages = consumer
        .messages()
        .await
        .with_context(|| format!("cannot read the stream {stream:?}"))?;
    let mut printed = 0;
    while count.is_none_or(|count| printed < count) {
        let next = match idle_ms {
            Some(idle) => {
                match tokio::time::timeout(Duration::from_millis(idle), messages.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                }
            }
            None => messages.next().await,
        };
        let Some(message) = next else { break };
        let message = message.with_context(|| format!("reading the stream {stream:?}"))?;
        let sequence = message.info().map(|info| info.stream_sequence).ok();
        let headers: serde_json::Map<String, Value> = message
            .headers
            .iter()
            .flat_map(|headers| headers.iter())
            .map(|(name, values)| {
                let values: Vec<&str> = values.iter().map(|value| value.as_str()).collect();
                (name.to_string(), json!(values.join(", ")))
            })
            .collect();
        let body = serde_json::from_slice::<Value>(&message.payload)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&message.payload).into()));
        println!(
            "{}",
            json!({
                "stream_sequence": sequence,
                "subject": message.subject.as_str(),
                "headers": headers,
                "body": body,
            })
        );
        printed += 1;
    }
    Ok(())
}
