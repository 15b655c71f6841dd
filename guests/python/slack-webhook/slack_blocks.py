"""Block Kit messages for platform events, within Slack's limits.

Every message has the same three parts: a header naming what happened
(``🛒 Order 1001 placed``), a section of fields with the payload's
top-level values (a ``{"amount", "currency"}`` object reads ``19.99 USD``),
and a context line naming the store, the event id and when it happened.
Payloads that are not JSON objects are shown raw.

Slack refuses a message that breaks a limit (``invalid_blocks``): a header
of at most 150 characters, at most 10 fields of at most 2,000, section text
of at most 3,000, and about 12,000 characters of text in all blocks. Here a
field is cut to :data:`MAX_FIELD_CHARS` and a context element to
:data:`MAX_CONTEXT_CHARS`, which keeps the whole message under 11,000
characters whatever the payload.
"""

import json
from typing import Any, Dict, List, Optional, Tuple

from wit_world.imports.model import Event

MAX_HEADER_CHARS = 150
"""Longest header text (plain text), in characters."""
MAX_FIELDS = 10
"""Most fields in one section."""
MAX_FIELD_CHARS = 1_000
"""Longest field text here (Slack allows 2,000), in characters."""
MAX_SECTION_CHARS = 3_000
"""Longest section text, in characters."""
MAX_CONTEXT_CHARS = 200
"""Longest context element here, in characters."""

_FAMILY_EMOJI = {"order": "🛒", "product": "🏷️", "inventory": "📦"}

Payload = Dict[str, Any]


def render(event: Event) -> Dict[str, Any]:
    """The message for ``event``, as Slack takes it:
    ``{"text": <notification text>, "blocks": [...]}``."""
    try:
        payload = json.loads(event.payload)
    except ValueError:
        payload = None
    plain = _plain_title(event.event_type, payload)
    blocks = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": truncate(_title(event.event_type, plain), MAX_HEADER_CHARS),
                "emoji": True,
            },
        }
    ]
    if isinstance(payload, dict):
        blocks.extend(_fields_blocks(payload))
    else:
        raw = escape(event.payload)
        blocks.append(_section(f"```{truncate(raw, MAX_SECTION_CHARS - 6)}```"))
    blocks.append(
        {
            "type": "context",
            "elements": [
                _mrkdwn(text, MAX_CONTEXT_CHARS)
                for text in (
                    f"Store `{escape(event.store_id)}`",
                    f"Event `{escape(event.id)}`",
                    escape(event.occurred_at),
                )
            ],
        }
    )
    return {"text": truncate(escape(plain), MAX_SECTION_CHARS), "blocks": blocks}


def _title(event_type: str, plain: str) -> str:
    """The header: the ``plain`` title with an emoji for the platform's event
    families and Sluice's delivery reports."""
    if event_type == "webhook.delivered":
        return f"✅ {plain}"
    if event_type == "webhook.dead_lettered":
        return f"⚠️ {plain}"
    emoji = _FAMILY_EMOJI.get(event_type.split(".", 1)[0])
    return f"{emoji} {plain}" if emoji else plain


def _plain_title(event_type: str, payload: Any) -> str:
    """The title without emoji, also the notification text."""
    payload = payload if isinstance(payload, dict) else {}
    family, _, _ = event_type.partition(".")
    action = event_type.rsplit(".", 1)[-1].replace("_", " ").replace("-", " ")
    if event_type == "webhook.delivered":
        return "Delivery succeeded"
    if event_type == "webhook.dead_lettered":
        return "Delivery dead-lettered"
    if family == "order":
        order_id = scalar(payload.get("order_id"))
        return f"Order {order_id} {action}" if order_id else f"Order {action}"
    if family == "product":
        name = scalar(payload.get("title")) or scalar(payload.get("sku"))
        return f"Product {action}: {name}" if name else f"Product {action}"
    if family == "inventory":
        sku = scalar(payload.get("sku"))
        return f"Inventory of {sku} {action}" if sku else f"Inventory {action}"
    return event_type


def _fields_blocks(payload: Payload) -> List[Dict[str, Any]]:
    """A section of the payload's showable values, and a note on how many
    others were left out."""
    shown: List[Tuple[str, str]] = []
    for key, value in payload.items():
        text = money(value) or scalar(value)
        if text is not None and len(shown) < MAX_FIELDS:
            shown.append((key, text))
    blocks = []
    if shown:
        fields = [
            _mrkdwn(f"*{escape(label(key))}*\n{escape(text)}", MAX_FIELD_CHARS)
            for key, text in shown
        ]
        blocks.append({"type": "section", "fields": fields})
    hidden = len(payload) - len(shown)
    if hidden:
        noun = "field" if hidden == 1 else "fields"
        blocks.append(_section(f"_{hidden} more {noun} not shown._"))
    return blocks


def label(key: str) -> str:
    """A payload key as a field label: ``order_id`` reads ``Order id``."""
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else key


def scalar(value: Any) -> Optional[str]:
    """A string, number or boolean as text; ``None`` for anything else or an
    empty string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str) and value:
        return value
    return None


def money(value: Any) -> Optional[str]:
    """``{"amount": "19.99", "currency": "USD"}`` as ``19.99 USD``; ``None``
    for anything else."""
    if not isinstance(value, dict) or "amount" not in value:
        return None
    amount = scalar(value.get("amount"))
    currency = scalar(value.get("currency"))
    if amount is None:
        return None
    return f"{amount} {currency}" if currency else amount


def escape(text: str) -> str:
    """Escapes the three characters Slack's mrkdwn gives a meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, max_chars: int) -> str:
    """Cuts ``text`` to ``max_chars`` characters, ending with ``…`` when cut,
    and never in the middle of an ``&amp;``-style entity."""
    if len(text) <= max_chars:
        return text
    kept = text[: max_chars - 1]
    amp = kept.rfind("&")
    if amp >= 0 and ";" not in kept[amp:]:
        kept = kept[:amp]
    return kept + "…"


def _mrkdwn(text: str, max_chars: int) -> Dict[str, str]:
    return {"type": "mrkdwn", "text": truncate(text, max_chars)}


def _section(text: str) -> Dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text, MAX_SECTION_CHARS)}
