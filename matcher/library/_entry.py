"""One library entry's metadata."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from spectra import Technique, canonical_json

from ..results import Category
from ._cas import validate_cas

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"invalid entry id {value!r}: 1-128 characters of letters, digits and ._:+-, "
            "starting with a letter or digit"
        )
    return value


def slug(text: str) -> str:
    """A valid entry id made from free text (a name or a file stem)."""
    s = re.sub(r"[^A-Za-z0-9._+-]+", "-", text.strip()).strip("-._+")
    return (s or "entry")[:128]


class EntryMeta(BaseModel):
    """What a caller knows about a reference before it is in a library.

    ``id`` defaults to a slug of ``name``; ``technique`` and ``excitation_nm`` default to the
    spectrum's own. :meth:`matcher.library.Library.build` turns it into a
    :class:`LibraryEntry` by adding the spectrum's content hash.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    id: str | None = None
    synonyms: tuple[str, ...] = ()
    cas: str | None = None
    category: Category = Category.UNKNOWN
    schedule: str | None = None
    technique: Technique | None = None
    excitation_nm: float | None = Field(default=None, gt=0)
    source: str = ""
    licence: str = ""
    synthetic: bool = False

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        return None if v is None else _check_id(v)

    @field_validator("cas")
    @classmethod
    def _cas(cls, v: str | None) -> str | None:
        return None if v is None or not v.strip() else validate_cas(v)


class LibraryEntry(BaseModel):
    """A substance in the library: identity, category, provenance of its reference spectrum.

    Attributes
    ----------
    id
        Unique in its library; letters, digits and ``._:+-``.
    name, synonyms
        What it is called.
    cas
        CAS Registry Number, check digit validated (see :func:`validate_cas`).
    category, schedule
        For alerting: controlled substances carry their schedule.
    technique, excitation_nm
        How the reference was measured.
    source, licence
        Where the reference spectrum comes from and under which terms.
    synthetic
        The reference was synthesised, not measured: never for casework.
    spectrum_hash
        ``Spectrum.content_hash`` of the raw reference spectrum.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    synonyms: tuple[str, ...] = ()
    cas: str | None = None
    category: Category = Category.UNKNOWN
    schedule: str | None = None
    technique: Technique
    excitation_nm: float | None = Field(default=None, gt=0)
    source: str = ""
    licence: str = ""
    synthetic: bool = False
    spectrum_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _check_id(v)

    @field_validator("cas")
    @classmethod
    def _cas(cls, v: str | None) -> str | None:
        return None if v is None else validate_cas(v)

    @model_validator(mode="after")
    def _schedule_only_when_controlled(self) -> LibraryEntry:
        if self.schedule is not None and self.category not in (
            Category.CONTROLLED, Category.PRECURSOR
        ):
            raise ValueError(
                f"entry {self.id!r}: a schedule ({self.schedule!r}) needs category "
                f"controlled or precursor, not {self.category.value}"
            )
        return self


def entry_line(entry: LibraryEntry) -> bytes:
    """The canonical JSON of one entry (how it is stored and hashed)."""
    return canonical_json(entry.model_dump(mode="json")).encode("ascii")
