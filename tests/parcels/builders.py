"""Builders of test records: parcels (AED dicts), spectra, identifications, devices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from matcher.results import Category, Hit, Identification, Verdict
from parcels.records import DeviceIdentity, Parcel
from parcels.s10 import check_digit
from parcels.signing import StationKey
from spectra import Acquisition, Pipeline, Spectrum


def item_id(n: int, prefix: str = "RR", country: str = "US") -> str:
    """A valid S10 id with serial ``n``."""
    serial = f"{n:08d}"
    return f"{prefix}{serial}{check_digit(serial)}{country}"


def aed(n: int, *, hold: bool = False, origin: str = "CN", category: str = "gift",
        day: int = 0, **extra: Any) -> dict[str, Any]:
    """One AED row (the import shape of the issue)."""
    received = datetime(2026, 11, 1, 8, 15, tzinfo=UTC) + timedelta(days=day, minutes=n % 600)
    row: dict[str, Any] = {
        "item_id": item_id(n),
        "origin_country": origin,
        "mail_class": "parcel",
        "received_at": received.isoformat().replace("+00:00", "Z"),
        "facility": "ORD-ISC",
        "sender": {"name": f"Sender {n}", "address": "1 Road, Shenzhen", "country": origin},
        "recipient": {"name": f"Recipient {n}", "address": "2 Street, Chicago IL",
                      "country": "US"},
        "declaration": {
            "category": category,
            "items": [{"description": "phone case", "quantity": 2, "net_weight_kg": 0.2,
                       "value": 12.5, "currency": "USD", "hs_code": "392690",
                       "origin_country": origin}],
            "total_gross_weight_kg": 0.35, "total_value": 12.5, "currency": "USD",
        },
        "hold": None,
    }
    if hold:
        row["hold"] = {"requested_at": (received - timedelta(hours=1)).isoformat(),
                       "requested_by": "NTC targeting", "reason": "risk score 0.91"}
    row.update(extra)
    return row


def parcel(n: int, **kw: Any) -> Parcel:
    """A validated :class:`Parcel`."""
    return Parcel.model_validate(aed(n, **kw))


def spectrum(seed: int = 0, n: int = 1800, technique: str = "raman") -> Spectrum:
    """A raw spectrum as an analyzer would give it (peaks on a sloped background + noise)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(200.0, 2000.0, n)
    y = 500 + 0.1 * x + rng.normal(0, 5, n)
    for c in rng.uniform(300, 1900, 5):
        y += rng.uniform(200, 2000) * np.exp(-0.5 * ((x - c) / 6.0) ** 2)
    return Spectrum(
        x, y, technique=technique, y_unit="counts",
        excitation_nm=785.0 if technique == "raman" else None,
        x_unit="raman-shift-cm-1" if technique == "raman" else "wavenumber-cm-1",
        acquisition=Acquisition(instrument_model="TruScan RM", instrument_serial="SN123",
                                integration_time_ms=1000.0,
                                acquired_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
        title=f"scan {seed}",
    )


def identification(verdict: str = "MATCH", *, technique: str = "raman",
                   library: str = "lib-2026.11", alert: bool | None = None,
                   name: str = "cocaine HCl") -> Identification:
    """A constructed matcher result."""
    v = Verdict(verdict)
    category = Category.CONTROLLED if name.startswith(("cocaine", "fentanyl")) else \
        Category.BENIGN
    is_alert = (v in (Verdict.MATCH, Verdict.MIXTURE) and category.alerts) if alert is None \
        else alert
    hits = () if v is Verdict.NO_MATCH else (
        Hit(entry_id="e1", name=name, score=93.5, category=category, schedule="II"),
        Hit(entry_id="e2", name="lactose", score=71.0, category=Category.CUTTING_AGENT),
    )
    return Identification(
        verdict=v, alert=is_alert, alert_substances=(name,) if is_alert else (),
        confidence=0.9, hits=hits, technique=technique, library_id=library,
        library_hash="ab" * 32, pipeline=Pipeline.of(("normalize", {})),
        reason=None if v is Verdict.MATCH else "test",
    )


DEVICE = DeviceIdentity(make="Thermo", model="TruScan RM", serial="SN123", firmware="2.4.1")

KEY = StationKey.from_seed(bytes(range(32)))
"""The test station's signing key (deterministic, in memory: no key file, no home folder)."""
CENTRAL_KEY = StationKey.from_seed(bytes(range(100, 132)))
"""The test central service's own signing key."""
