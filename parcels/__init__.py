"""Parcel records (AED), holds, inspections and their evidence, the audit chain, storage.

>>> from parcels import validate_item_id
>>> validate_item_id("RR473124829US")
'RR473124829US'

Names are loaded on first use: a command that only lists parcels does not load the AED
reader, the signing library or the re-identification.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .aed import ImportSummary, RowError, import_batch, read_batch
    from .audit import Finding, Problem, VerifyReport
    from .errors import (
        ConflictError,
        DatabaseUnreachableError,
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

_WHERE = {
    "ImportSummary": "aed",
    "RowError": "aed",
    "import_batch": "aed",
    "read_batch": "aed",
    "Finding": "audit",
    "Problem": "audit",
    "VerifyReport": "audit",
    "ConflictError": "errors",
    "DatabaseUnreachableError": "errors",
    "IllegalTransitionError": "errors",
    "IntegrityError": "errors",
    "InvalidItemIdError": "errors",
    "ParcelNotFoundError": "errors",
    "ParcelsError": "errors",
    "SchemaVersionError": "errors",
    "AuditEvent": "records",
    "Declaration": "records",
    "DeclarationCategory": "records",
    "DeclarationItem": "records",
    "DeviceIdentity": "records",
    "EventKind": "records",
    "HoldRecord": "records",
    "HoldRequest": "records",
    "HoldState": "records",
    "HoldTransition": "records",
    "Inspection": "records",
    "Parcel": "records",
    "ParcelFile": "records",
    "ParcelQuery": "records",
    "ParcelSummary": "records",
    "Party": "records",
    "Result": "records",
    "ResultKind": "records",
    "reidentify": "reidentify",
    "check_digit": "s10",
    "is_valid_item_id": "s10",
    "validate_item_id": "s10",
    "PublicKey": "signing",
    "SignedHead": "signing",
    "SigningKeyError": "signing",
    "StationKey": "signing",
    "SQLiteStore": "store",
    "Store": "store",
    "open_store": "store",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'parcels' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "AuditEvent",
    "ConflictError",
    "DatabaseUnreachableError",
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
