"""Importing an export: its items mapped (domain/imports), checked as any event is, recorded in
one append, and answered one by one: stored, duplicate, superseded, or rejected naming the field."""

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from marshmallow import ValidationError

from backtrack_shared.contracts import NewEventSchema
from backtrack_shared.user_key import UserKey
from traininglog.domain.append import Outcome, Writer
from traininglog.domain.imports.items import REJECTED, ImportItem, StoredRecord, supersedes
from traininglog.service_layer.ingest import Receipt

Record = Callable[[Sequence[dict[str, Any]], Writer], list[Receipt]]
STATUSES = ("stored", "duplicate", "superseded", "rejected")
_PAGE = 1000


class StreamReader(Protocol):
    def stream(self, user: UserKey, after_version: int, limit: int) -> list[dict[str, Any]]: ...


def whole_stream(reader: StreamReader, user: UserKey) -> Iterator[dict[str, Any]]:
    """Every stored event of `user`, in stream order, a page at a time."""
    after = 0
    while True:
        page = reader.stream(user, after, _PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1]["stream_version"]


@dataclass(frozen=True)
class ImportAnswer:
    results: list[dict[str, Any]]
    stored_any: bool

    def as_json(self, mapping_version: str) -> dict[str, Any]:
        counts = Counter(result["status"] for result in self.results)
        return {
            "mapping_version": mapping_version,
            "results": self.results,
            "counts": {status: counts.get(status, 0) for status in STATUSES},
        }


def import_items(
    items: Sequence[ImportItem],
    stored: Mapping[str, StoredRecord],
    record: Record,
    writer: Writer,
    *,
    refusals: Mapping[Outcome, str],
    conflict: Mapping[str, Any],
) -> ImportAnswer:
    """Record the items' envelopes in one append and answer each item. `refusals` words a
    refusal of the user (not found, erased); `conflict` names the field of a record whose id
    and version were imported before with other content."""
    loader = NewEventSchema()
    answers: list[dict[str, Any] | None] = [None] * len(items)
    to_record: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        if item.settled is not None:
            status, extra = item.settled
            answers[index] = {**item.ref, "status": status, **extra}
        elif item.envelope is None:
            answers[index] = {**item.ref, "status": REJECTED, "errors": dict(item.errors)}
        else:
            try:
                to_record.append((index, loader.load(item.envelope)))
            except ValidationError as err:
                answers[index] = {**item.ref, "status": REJECTED, "errors": err.messages}
    receipts = record([envelope for _, envelope in to_record], writer) if to_record else []
    for (index, _), receipt in zip(to_record, receipts, strict=True):
        item = items[index]
        answer: dict[str, Any] = {**item.ref, **receipt.as_response()}
        refused = refusals.get(receipt.outcome)
        if refused is not None:
            answer.update(status=REJECTED, errors={"user_id": [refused]})
        elif receipt.outcome is Outcome.CONFLICT:
            answer.update(status=REJECTED, errors=dict(conflict))
        else:
            answer["status"] = receipt.outcome.value
            older = supersedes(item, stored)
            if older and receipt.outcome is Outcome.STORED:
                answer["supersedes"] = older
        answers[index] = answer
    results = [answer for answer in answers if answer is not None]
    return ImportAnswer(results, any(r.outcome is Outcome.STORED for r in receipts))
