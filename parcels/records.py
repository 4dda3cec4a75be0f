"""The records: parcels as announced by advance electronic data (AED), holds, inspections,
identification results and audit events.

All are frozen pydantic models; they are the boundary of the evidence store. AED models keep
fields they do not know (``extra="allow"``): a carrier may send more than the shape below,
and what it sent is evidence too. Identification results are :mod:`matcher.results` models,
stored as they are.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)

from matcher.results import FusedIdentification, Identification, Verdict
from spectra import Pipeline, Technique, canonical_json

from .s10 import CountryCode, ItemId
from .text import SafeText


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Timestamp = Annotated[AwareDatetime, AfterValidator(_utc)]
"""A timezone-aware instant, normalised to UTC (naive times are refused: whose 08:15?)."""


def _currency(value: object) -> str:
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        raise ValueError(f"currency must be a 3-letter ISO 4217 code, got {value!r}")
    return value.strip().upper()


Currency = Annotated[str, BeforeValidator(_currency)]


def _hs_code(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).replace(".", "").replace(" ", "")
    if text == "":
        return None
    if not (text.isascii() and text.isdigit() and 4 <= len(text) <= 10 and len(text) % 2 == 0):
        raise ValueError(f"HS code must be 4, 6, 8 or 10 digits, got {value!r}")
    return text


HsCode = Annotated[str | None, BeforeValidator(_hs_code)]

NonEmpty = Annotated[str, Field(min_length=1)]
SafeName = Annotated[SafeText, Field(min_length=1)]
"""Text a record brings in from outside (names, addresses, reasons, who requested): no
control, line-separator or bidirectional-control character (see :mod:`parcels.text`)."""


def digest(value: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("ascii")).hexdigest()


# --------------------------------------------------------------------------------------
# AED: the parcel as announced
# --------------------------------------------------------------------------------------
class DeclarationCategory(StrEnum):
    """CN22/CN23 item category."""

    GIFT = "gift"
    DOCUMENTS = "documents"
    COMMERCIAL_SAMPLE = "commercial-sample"
    RETURNED_GOODS = "returned-goods"
    SALE_OF_GOODS = "sale-of-goods"
    OTHER = "other"


def _category(value: object) -> object:
    if isinstance(value, str):
        return "-".join(value.strip().lower().replace("_", " ").split())
    return value


class Party(BaseModel):
    """Sender or recipient."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: SafeName
    address: SafeName
    country: CountryCode


class DeclarationItem(BaseModel):
    """One article of a CN22/CN23 declaration."""

    model_config = ConfigDict(frozen=True, extra="allow")

    description: SafeName
    quantity: int = Field(ge=1)
    net_weight_kg: float = Field(ge=0, allow_inf_nan=False)
    value: float = Field(ge=0, allow_inf_nan=False)
    currency: Currency
    hs_code: HsCode = None
    origin_country: CountryCode | None = None


class Declaration(BaseModel):
    """The CN22/CN23 customs declaration."""

    model_config = ConfigDict(frozen=True, extra="allow")

    category: Annotated[DeclarationCategory, BeforeValidator(_category)]
    items: tuple[DeclarationItem, ...] = ()
    total_gross_weight_kg: float = Field(ge=0, allow_inf_nan=False)
    total_value: float = Field(ge=0, allow_inf_nan=False)
    currency: Currency

    @model_validator(mode="after")
    def _weights(self) -> Declaration:
        net = sum(i.net_weight_kg for i in self.items)
        if net > self.total_gross_weight_kg * (1 + 1e-9) + 1e-9:
            raise ValueError(
                f"total_gross_weight_kg {self.total_gross_weight_kg:g} is less than the "
                f"articles' net weight {net:g}"
            )
        return self


class HoldRequest(BaseModel):
    """Targeting asks that this parcel be held for inspection."""

    model_config = ConfigDict(frozen=True, extra="allow")

    requested_at: Timestamp
    requested_by: SafeName
    reason: SafeName


class Parcel(BaseModel):
    """One postal item, as announced by AED (one JSON line of an import batch).

    Its names, addresses, descriptions and hold request are :data:`SafeName` (refused with
    a control character); a record read back from the store is validated with the
    :data:`~parcels.text.STORED` context and loads as it was stored. Extra fields are kept
    exactly as the carrier sent them (and escaped when printed).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    item_id: ItemId
    origin_country: CountryCode
    mail_class: SafeName
    received_at: Timestamp
    facility: SafeName
    sender: Party
    recipient: Party
    declaration: Declaration
    hold: HoldRequest | None = None

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the whole record (extra fields included)."""
        return digest(self.model_dump(mode="json"))


# --------------------------------------------------------------------------------------
# Holds
# --------------------------------------------------------------------------------------
class HoldState(StrEnum):
    """Where a hold request stands (see :mod:`parcels.holds` for the allowed moves)."""

    REQUESTED = "requested"
    HELD = "held"
    INSPECTED = "inspected"
    RELEASED = "released"
    SEIZED = "seized"
    REFERRED = "referred"
    """Referred to a laboratory."""
    NOT_FOUND = "not-found"


class HoldTransition(BaseModel):
    """One move of a hold, with who made it and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: HoldState
    at: Timestamp
    actor: NonEmpty
    note: str | None = None


class HoldRecord(BaseModel):
    """A hold as stored: the request, its current state and every transition so far."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: ItemId
    state: HoldState
    requested_at: Timestamp
    requested_by: NonEmpty
    reason: NonEmpty
    transitions: tuple[HoldTransition, ...]
    """Oldest first; the first is always ``requested``."""

    def at(self, state: HoldState) -> datetime | None:
        """When the hold (last) entered ``state``, or None if it never did."""
        for t in reversed(self.transitions):
            if t.state is state:
                return t.at
        return None


# --------------------------------------------------------------------------------------
# Inspections and results
# --------------------------------------------------------------------------------------
class DeviceIdentity(BaseModel):
    """The analyzer that measured: enough to find it, and its firmware, in court."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    make: str | None = None
    model: NonEmpty
    serial: NonEmpty
    firmware: NonEmpty


AnyIdentification = Identification | FusedIdentification


class ResultKind(StrEnum):
    """How a result came to be."""

    ORIGINAL = "original"
    """Computed at the scan."""
    REIDENTIFICATION = "reidentification"
    """The stored raw spectrum run again later, e.g. against a newer library."""


class Result(BaseModel):
    """One identification result of an inspection's raw spectrum."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    result_id: NonEmpty
    inspection_id: NonEmpty
    kind: ResultKind
    recorded_at: Timestamp
    recorded_by: NonEmpty
    library_id: str
    library_hash: str
    verdict: Verdict
    alert: bool
    identification: AnyIdentification
    based_on: str | None = None
    """For a re-identification: the result it re-examines (the original stays as it was)."""
    note: str | None = None


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class OriginalFile(BaseModel):
    """The file an inspection's spectrum was read from, kept byte for byte as evidence (a
    closed handheld's export taken in by ``interdict ingest``); its bytes are
    :meth:`parcels.store.Store.get_original`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: Sha256
    """SHA-256 of the file's bytes: how it is found again (a second copy is recognised)."""
    inspection_id: NonEmpty
    item_id: ItemId
    name: SafeName
    """The file's name as it was found (no folder)."""
    size: int = Field(ge=0)
    format: NonEmpty
    """The reader that read it (``opus``, ``omnic``, ``jcamp``...: :func:`spectra.sniff`)."""
    received_at: Timestamp
    """When the station took it in."""


class Inspection(BaseModel):
    """One measurement of a parcel: who, where, with what, and the raw spectrum's hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inspection_id: NonEmpty
    item_id: ItemId
    performed_at: Timestamp
    operator: NonEmpty
    station: NonEmpty
    device: DeviceIdentity
    technique: Technique
    spectrum_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    pipeline: Pipeline
    library_id: str
    library_hash: str
    results: tuple[Result, ...]
    """The original result first, then re-identifications, oldest first."""
    original_file: OriginalFile | None = None
    """The exported file the spectrum was read from (an ingested export); None for a scan
    the station acquired itself."""

    @property
    def original(self) -> Result:
        """The result computed at the scan."""
        return self.results[0]

    @property
    def latest(self) -> Result:
        """The most recent result (the original when never re-identified)."""
        return self.results[-1]


# --------------------------------------------------------------------------------------
# Audit
# --------------------------------------------------------------------------------------
class EventKind(StrEnum):
    """What an audit event records."""

    IMPORT = "import"
    HOLD_REQUEST = "hold-request"
    HOLD = "hold"
    NOT_FOUND = "not-found"
    SCAN = "scan"
    VERDICT = "verdict"
    REIDENTIFY = "reidentify"
    INSPECTED = "inspected"
    RELEASE = "release"
    SEIZURE = "seizure"
    REFER = "refer"
    EXPORT = "export"
    ORIGINAL_FILE = "original-file"
    """An inspection's original file (an ingested export) was stored with it."""
    SYNC = "sync"
    """Central received a run of a station's chain, its signed heads checked (the run's
    end, the signing key and whether this push registered it are in the data)."""
    CONFLICT = "conflict"
    """Central did not apply a station's hold move (see :mod:`parcels.sync`)."""
    KEY = "key"
    """An admin pinned or rotated a station's signing key at central."""


class AuditEvent(BaseModel):
    """One link of the append-only, hash-chained audit log.

    ``hash = sha256(prev_hash + canonical_json(body))`` where the body is every field but
    ``hash`` and ``prev_hash`` (see :func:`parcels.audit.event_hash`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1)
    at: Timestamp
    kind: EventKind
    actor: NonEmpty
    item_id: str | None = None
    data: dict[str, JsonValue] = Field(default_factory=dict)
    prev_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


# --------------------------------------------------------------------------------------
# What the store answers to queries
# --------------------------------------------------------------------------------------
class ParcelSummary(BaseModel):
    """One line of a parcel listing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    origin_country: str
    mail_class: str
    received_at: Timestamp
    facility: str
    category: DeclarationCategory
    hold_state: HoldState | None
    inspections: int
    verdict: Verdict | None
    """Verdict of the latest result of the latest inspection."""
    alert: bool
    """Any current result of any inspection raised an alert."""


class ParcelFile(BaseModel):
    """Everything stored about one parcel: the AED, the hold, the inspections."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parcel: Parcel
    imported_at: Timestamp
    hold: HoldRecord | None
    inspections: tuple[Inspection, ...]


class ParcelQuery(BaseModel):
    """Filters of :meth:`parcels.store.Store.find`; all given filters must hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_ids: tuple[ItemId, ...] | None = None
    hold_state: HoldState | None = None
    verdict: Verdict | None = None
    """Any inspection whose latest result has this verdict."""
    alert: bool | None = None
    origin_country: CountryCode | None = None
    received_from: Timestamp | None = None
    """Inclusive."""
    received_to: Timestamp | None = None
    """Exclusive."""
    limit: int | None = Field(default=None, ge=1)
    order: Literal["received", "item_id"] = "received"


__all__ = [
    "AnyIdentification",
    "AuditEvent",
    "Currency",
    "Declaration",
    "DeclarationCategory",
    "DeclarationItem",
    "DeviceIdentity",
    "EventKind",
    "HoldRecord",
    "HoldRequest",
    "HoldState",
    "HoldTransition",
    "Inspection",
    "OriginalFile",
    "Parcel",
    "ParcelFile",
    "ParcelQuery",
    "ParcelSummary",
    "Party",
    "Result",
    "ResultKind",
    "Timestamp",
    "digest",
]
