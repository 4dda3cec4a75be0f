"""The station's signing key and signed chain heads (Ed25519, from ``cryptography``).

Each station has its own Ed25519 key pair. The private key lives in one file OUTSIDE the
evidence database (by default next to the default database, see
:func:`station.config.load_config`, option ``key``), created on first use with mode 0600 and
refused when other users may read it. The store gets the key injected
(``open_store(..., signer=key)``); no module-level state holds it.

Every store transaction that appends audit events also appends a :class:`SignedHead`: the
sequence number and hash of the chain's last event after the transaction, the sequence number
of the previous signed head (so the heads form their own list, one per transaction), the key
id and an Ed25519 signature over a domain-separated canonical message
(:func:`head_message`). A forger with write access to the database file can rewrite a
record and recompute every digest and chain hash, but not the signatures: the old heads no
longer match the rewritten events, and new ones cannot be made without the private key.

The key id (fingerprint) is the SHA-256 (hex) of the raw 32-byte public key; it is what an
officer compares, what ``--key`` takes and what reports and bundles print.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Annotated

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import BaseModel, ConfigDict, Field

from spectra import canonical_json

from .errors import ParcelsError

HEAD_DOMAIN = b"interdict/audit-head/v1\n"
"""Prefix of every signed message: a signature made for anything else never verifies here."""

Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]

MAX_KEY_FILE_BYTES = 4096
"""A PEM Ed25519 private key is ~120 bytes; anything much larger is not one."""


class SigningKeyError(ParcelsError):
    """The station key is missing, unreadable, not private to its owner, or not Ed25519."""


def fingerprint(public_raw: bytes) -> str:
    """The key id: SHA-256 (hex) of the raw 32-byte Ed25519 public key."""
    return hashlib.sha256(public_raw).hexdigest()


class SignedHead(BaseModel):
    """A chain head as signed by a station at the end of one write transaction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1)
    """Sequence number of the last event of the transaction."""
    hash: Hex64
    """That event's hash (which, through the links, covers every event before it)."""
    prev_seq: int = Field(ge=0)
    """``seq`` of the previous signed head (0 for the first): the transaction's events are
    ``prev_seq + 1 .. seq``."""
    key_id: Hex64
    signature: Annotated[str, Field(pattern=r"^[0-9a-f]{128}$")]

    def anchor(self) -> str:
        """``SEQ:HASH``, as ``interdict audit verify --anchor`` takes it."""
        return f"{self.seq}:{self.hash}"


def head_message(*, seq: int, hash: str, prev_seq: int, key_id: str) -> bytes:
    """The exact bytes a head signature covers: the domain, then canonical JSON."""
    body = {"seq": int(seq), "hash": hash, "prev_seq": int(prev_seq), "key_id": key_id}
    return HEAD_DOMAIN + canonical_json(body).encode("ascii")


class PublicKey:
    """A station's public key: verifies heads, nothing else."""

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise SigningKeyError(f"an Ed25519 public key has 32 bytes, got {len(raw)}")
        self.raw = bytes(raw)
        self._key = Ed25519PublicKey.from_public_bytes(self.raw)
        self.key_id = fingerprint(self.raw)

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        """From the 64-hex-digit form stored in databases and bundles."""
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise SigningKeyError(f"public key is not hex: {text[:20]!r}…") from exc
        return cls(raw)

    @property
    def hex(self) -> str:
        """The raw public key as 64 hex digits."""
        return self.raw.hex()

    def verify(self, head: SignedHead) -> bool:
        """True when ``head`` was signed by this key (and names it)."""
        if head.key_id != self.key_id:
            return False
        try:
            self._key.verify(bytes.fromhex(head.signature), head_message(
                seq=head.seq, hash=head.hash, prev_seq=head.prev_seq, key_id=head.key_id))
        except InvalidSignature:
            return False
        return True


class StationKey:
    """A station's private signing key (Ed25519).

    Build it with :meth:`load_or_create` (the station's key file) or :meth:`generate`
    (tests, tools); never store it in the evidence database.
    """

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = PublicKey(private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @property
    def key_id(self) -> str:
        """The fingerprint of the public key."""
        return self.public.key_id

    @classmethod
    def generate(cls) -> StationKey:
        """A fresh key held in memory only."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> StationKey:
        """The key of a 32-byte seed (deterministic: for tests and fixtures only)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def sign_head(self, *, seq: int, hash: str, prev_seq: int) -> SignedHead:
        """Sign the chain head ``(seq, hash)`` of a transaction that began after ``prev_seq``."""
        sig = self._private.sign(head_message(seq=seq, hash=hash, prev_seq=prev_seq,
                                              key_id=self.key_id))
        return SignedHead(seq=seq, hash=hash, prev_seq=prev_seq, key_id=self.key_id,
                          signature=sig.hex())

    # -- the key file -------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> bool:
        """Write the key to ``path`` (PEM, PKCS#8, mode 0600) unless a key is already there.

        Atomic and exclusive: written to a private temporary file, then hard-linked into
        place, so two processes starting at once end up with the same key, never two, and
        nobody reads a half-written file. Returns whether this key was written.
        """
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = self._private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, p)
        except FileExistsError:
            return False  # another process made it first: theirs is the key
        finally:
            tmp.unlink()
        return True

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StationKey:
        """Read the key file (PEM, PKCS#8, unencrypted).

        Raises
        ------
        SigningKeyError
            Missing, readable by group or others (as ssh refuses such a key), too large, or
            not an Ed25519 private key.
        """
        p = Path(path)
        try:
            st = p.stat()
        except FileNotFoundError as exc:
            raise SigningKeyError(f"no station key at {p}") from exc
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SigningKeyError(
                f"station key {p} is accessible to other users (mode "
                f"{stat.S_IMODE(st.st_mode):04o}); refusing it: chmod 600 {p}")
        if st.st_size > MAX_KEY_FILE_BYTES:
            raise SigningKeyError(f"station key {p} is {st.st_size} bytes: not a key file")
        try:
            key = serialization.load_pem_private_key(p.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"station key {p} is not a PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"station key {p} is not an Ed25519 key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> StationKey:
        """The key at ``path``; created (mode 0600, its folder 0700 when new) if missing
        (see :meth:`save`)."""
        p = Path(path)
        if not p.exists():
            cls.generate().save(p)
        return cls.load(p)


def public_key_of(path: str | os.PathLike[str]) -> PublicKey | None:
    """The public half of the station key at ``path``, or None when there is no key file."""
    p = Path(path)
    if not p.exists():
        return None
    return StationKey.load(p).public


__all__ = [
    "HEAD_DOMAIN",
    "PublicKey",
    "SignedHead",
    "SigningKeyError",
    "StationKey",
    "fingerprint",
    "head_message",
    "public_key_of",
]
