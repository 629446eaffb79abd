"""Time in the school's zone (Asia/Ho_Chi_Minh); stored times are naive local wall-clock."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now_local() -> datetime:
    return datetime.now(TZ).replace(tzinfo=None, microsecond=0)


def to_local_naive(moment: datetime) -> datetime:
    """An aware time converted to local; a naive one is taken as local already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(TZ).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def parse_iso(text: str) -> datetime:
    """ISO-8601 date or date-time; raises ValueError with the text in the message."""
    try:
        return to_local_naive(datetime.fromisoformat(text.strip()))
    except ValueError as exc:
        raise ValueError(f"not an ISO-8601 time: {text!r}") from exc
