"""Parcel records (AED), holds, inspections and their evidence, the audit chain, storage.

>>> from parcels import validate_item_id
>>> validate_item_id("RR473124829US")
'RR473124829US'
"""

from .aed import ImportSummary, RowError, import_batch, read_batch
from .audit import Finding, Problem, VerifyReport
from .errors import (
    ConflictError,
    IllegalTransitionError,
    IntegrityError,
    InvalidItemIdError,
    ParcelNotFoundError,
    ParcelsError,
    SchemaVersionError,
)
from .records import (
    AuditEvent,
    Declaration,
    DeclarationCategory,
    DeclarationItem,
    DeviceIdentity,
    EventKind,
    HoldRecord,
    HoldRequest,
    HoldState,
    HoldTransition,
    Inspection,
    Parcel,
    ParcelFile,
    ParcelQuery,
    ParcelSummary,
    Party,
    Result,
    ResultKind,
)
from .reidentify import reidentify
from .s10 import check_digit, is_valid_item_id, validate_item_id
from .signing import PublicKey, SignedHead, SigningKeyError, StationKey
from .store import SQLiteStore, Store, open_store

__all__ = [
    "AuditEvent",
    "ConflictError",
    "Declaration",
    "DeclarationCategory",
    "DeclarationItem",
    "DeviceIdentity",
    "EventKind",
    "Finding",
    "HoldRecord",
    "HoldRequest",
    "HoldState",
    "HoldTransition",
    "IllegalTransitionError",
    "ImportSummary",
    "Inspection",
    "IntegrityError",
    "InvalidItemIdError",
    "Parcel",
    "ParcelFile",
    "ParcelNotFoundError",
    "ParcelQuery",
    "ParcelSummary",
    "ParcelsError",
    "Party",
    "Problem",
    "PublicKey",
    "Result",
    "ResultKind",
    "RowError",
    "SQLiteStore",
    "SchemaVersionError",
    "SignedHead",
    "SigningKeyError",
    "StationKey",
    "Store",
    "VerifyReport",
    "check_digit",
    "import_batch",
    "is_valid_item_id",
    "open_store",
    "read_batch",
    "reidentify",
    "validate_item_id",
]
