"""The station configuration: one TOML file, every option also a flag or environment variable.

Precedence, highest first: command-line flag > environment variable > configuration file >
built-in default. :func:`load_config` resolves the four layers and records, for every option,
which layer supplied it (``StationConfig.sources``), so ``interdict config`` can show an officer
why the station uses the database it uses.

The file (``--config``, else ``$INTERDICT_CONFIG``, else ``./interdict.toml`` when present, else
``station.toml`` in the user's configuration folder when present: ``~/.config/interdict`` on
Linux, ``~/Library/Application Support/interdict`` on macOS, ``%LOCALAPPDATA%\\interdict`` on
Windows, by the platform's convention (:func:`config_dir`))::

    station = "JFK-IMF-01"
    operator = "officer.kim"
    device = "/dev/ttyUSB0"
    library = "/var/lib/interdict/library"
    db = "/var/lib/interdict/evidence.db"
    key = "/var/lib/interdict/station.key"
    technique = "raman"
    self_test_hours = 8
    dialect = "interdict/1"
    ingest_name_rule = '^(?P<item>[A-Z]{2}[0-9]{9}[A-Z]{2})_'
    central = "https://central.example.org:8750"
    central_token = "idt_…"   # a secret: keep this file readable by the station's user only

    [thresholds]
    match_hqi = 85.0

See ``docs/station.md`` for every option.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from parcels.text import EXPECTED, unsafe_at
from station.errors import ConfigError
from station.options import (
    ALL_OPTIONS,
    CONFIGURED,
    ENV_CONFIG,
    ENV_THRESHOLD_PREFIX,
    ENV_VARS,
    DeprecatedAlias,
    add_config_arguments,
)

if TYPE_CHECKING:
    from matcher.verdict import Thresholds

class ScanTechnique(StrEnum):
    """What ``interdict scan`` measures."""

    RAMAN = "raman"
    FTIR = "ftir"
    BOTH = "both"


class DialectChoice(StrEnum):
    """``--dialect``: the names of :data:`driver.protocol.DIALECTS`, or ``auto`` (probe them
    in turn, as ``interdict devices`` does); a test keeps the two in step (the config does
    not import the driver to parse a file)."""

    INTERDICT = "interdict/1"
    OBP = "obp"
    AUTO = "auto"


class MatcherChoice(StrEnum):
    """``--matcher``: the values of :class:`matcher.learned.MatcherKind` (a test keeps the
    two in step; the config does not import the matcher to parse a file)."""

    CLASSIC = "classic"
    LEARNED = "learned"
    FUSED = "fused"



def data_dir() -> Path:
    """The station's data folder by the platform's convention (``platformdirs``): the
    default evidence database and signing key live here.

    ``$XDG_DATA_HOME/interdict`` (``~/.local/share/interdict``) on Linux,
    ``~/Library/Application Support/interdict`` on macOS, ``%LOCALAPPDATA%\\interdict`` on
    Windows. Read from the process environment.
    """
    from platformdirs import user_data_path

    return user_data_path("interdict", appauthor=False)


def config_dir() -> Path:
    """The user's configuration folder for Interdict by the platform's convention
    (``platformdirs``): ``$XDG_CONFIG_HOME/interdict`` (``~/.config/interdict``) on Linux,
    ``~/Library/Application Support/interdict`` on macOS, ``%LOCALAPPDATA%\\interdict`` on
    Windows. Read from the process environment."""
    from platformdirs import user_config_path

    return user_config_path("interdict", appauthor=False)


POSTGRES_SCHEMES = ("postgresql://", "postgres://")
"""How a PostgreSQL database is named (a libpq URL), as :func:`parcels.store.open_store`
reads it."""


def central_url(text: str) -> str:
    """A central service's URL as given (``http(s)://host[:port]``, no trailing slash).

    Raises
    ------
    ValueError
        Naming what is expected.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"central must be http(s)://host:port, got {text!r}")
    return text.strip().rstrip("/")


_LOGIN_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")


def login_name(env: Mapping[str, str]) -> str | None:
    """The login name, as :func:`getpass.getuser` finds it but from ``env``: the first of
    ``LOGNAME``, ``USER``, ``LNAME``, ``USERNAME`` that is set, else the account database;
    None where there is none (a container without a user entry)."""
    for var in _LOGIN_VARIABLES:
        if env.get(var):
            return env[var]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return None


class StationConfig(BaseModel):
    """The effective configuration of one station.

    Attributes
    ----------
    device
        Analyzer URL: a serial port (``/dev/ttyUSB0``), a pty path, or a pyserial URL
        (``socket://host:port``, ``spy:///dev/ttyUSB0``). ``None`` until configured.
    library
        The reference library to identify against; ``None`` means the embedded default.
    db
        The evidence database: the station's SQLite file (a path; ``sqlite:///path`` is the
        same file), or a PostgreSQL URL (``postgresql://…``) for the commands that read
        central's database directly (``audit verify``, ``parcel``, ``stats``, ``evidence``).
        What works on the station's own file (scan, watch, report, reidentify, sync) takes
        :attr:`db_file`.
    key
        The station's Ed25519 signing key (PEM file, mode 0600), kept outside the database;
        created on first write. Default: ``station.key`` in the station's data folder, next
        to the default database.
    operator
        Who acts (scans, imports, moves a hold, exports); recorded in the audit log and with
        every inspection. When no flag, variable or file names one: the login name (source
        ``login``).
    station
        This station's identifier; recorded with every inspection.
    technique
        What ``scan`` measures when ``--technique`` is not given.
    self_test_hours
        A self-test against the reference standard is due when the last one is older.
    matcher
        How hits are ordered: ``classic``, ``learned`` or ``fused``
        (:class:`matcher.learned.MatcherKind`); None (not set) leaves it to the matcher's
        default, the measured winner (:func:`matcher.defaults.matcher`, ``docs/accuracy.md``),
        so reading the configuration loads no matcher code.
    dialect
        The protocol the analyzer speaks: ``interdict/1``, ``obp`` (Ocean Binary Protocol)
        or ``auto`` (probe each, as ``interdict devices`` does); used by ``scan``, ``watch``
        and ``acquire``.
    ingest_name_rule
        ``interdict ingest``: a regular expression over an export's file name whose named
        group ``item`` is the parcel id (validated as UPU S10 when a file is taken); None:
        the id is typed or scanned at the prompt.
    thresholds
        Identification thresholds passed to the matcher by name (e.g. ``match``); empty means
        the matcher's documented defaults.
    central
        URL of the fleet's central service (``https://central.example.org:8750``) that
        ``interdict sync`` and ``watch`` push to and pull from; ``None``: this station works
        alone.
    central_token
        This station's credential for central (``interdict central station add`` prints it
        once). A secret: in the station file (readable by the station's user only) or
        ``INTERDICT_CENTRAL_TOKEN``, never a flag; :meth:`public` masks it.
    sources
        For every option, where its value came from: ``flag``, ``env``, ``file``,
        ``login`` (the operator) or ``default``.
    config_file
        The file that was read, if any.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: str | None = None
    library: Path | None = None
    db: Path | str
    key: Path
    operator: str | None = None
    station: str = "station-1"
    technique: ScanTechnique = ScanTechnique.RAMAN
    self_test_hours: float = Field(default=8.0, gt=0)
    matcher: MatcherChoice | None = None
    dialect: DialectChoice = DialectChoice.INTERDICT
    ingest_name_rule: str | None = None
    thresholds: dict[str, float] = Field(default_factory=dict)
    central: str | None = None
    central_token: str | None = Field(default=None, repr=False)
    sources: dict[str, str] = Field(default_factory=dict)
    config_file: Path | None = None

    @field_validator("db", mode="before")
    @classmethod
    def _store_location(cls, v: object) -> object:
        # a file (``sqlite:///path`` is the same file spelled as a URL, as
        # parcels.store.open_store reads it), or a PostgreSQL URL kept as it is
        if isinstance(v, str) and "://" in v:
            if v.startswith("sqlite:///"):
                return Path(v[len("sqlite:///"):])
            if v.startswith(POSTGRES_SCHEMES):
                return v
            raise ValueError("the evidence database is an SQLite file (a path or "
                             "sqlite:///path) or a PostgreSQL URL (postgresql://…)")
        return Path(v) if isinstance(v, str) else v

    @field_validator("central")
    @classmethod
    def _central_url(cls, v: str | None) -> str | None:
        return None if v is None else central_url(v)

    @field_validator("operator", "station", "device", "central", "central_token")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be blank")
        if v is not None and (where := unsafe_at(v)) is not None:  # stored with evidence
            raise ValueError(f"must be {EXPECTED}: {where}")
        return v.strip() if v is not None else None

    @field_validator("ingest_name_rule")
    @classmethod
    def _name_rule(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            pattern = re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if "item" not in pattern.groupindex:
            raise ValueError("needs a named group for the parcel id: (?P<item>...)")
        return v

    def name_rule(self) -> re.Pattern[str] | None:
        """:attr:`ingest_name_rule` compiled (None when not set)."""
        return None if self.ingest_name_rule is None else re.compile(self.ingest_name_rule)

    def public(self) -> dict[str, Any]:
        """The options (without ``sources``; the central token masked), JSON-ready."""
        out = self.model_dump(mode="json", exclude={"sources"})
        if out.get("central_token"):
            out["central_token"] = "***"
        return out

    @property
    def db_file(self) -> Path:
        """The station's own SQLite file, for what works on it (scan, watch, report,
        reidentify, sync).

        Raises
        ------
        ConfigError
            The database is central's PostgreSQL.
        """
        if isinstance(self.db, Path):
            return self.db
        where = _where("db", self.sources.get("db", "default"), self.config_file)
        raise ConfigError(f"{where}: {self.db.rpartition('@')[2]!r} is a PostgreSQL database; "
                          "this works on the station's own SQLite file",
                          hint="give --db FILE; central's database is read with interdict "
                               "audit verify, parcel, stats and evidence, or through the "
                               "central service")

    @property
    def data_folder(self) -> Path:
        """Where the station keeps what goes with its database (the self-test log, the
        default library built on first use): beside the database file, else (a PostgreSQL
        database) the user's data folder (:func:`data_dir`)."""
        return self.db.parent if isinstance(self.db, Path) else data_dir()


def _where(option: str, source: str, file: Path | None) -> str:
    """Where an option's value came from, as the officer would look for it: the flag, the
    variable, the file."""
    return {"flag": f"--{option.replace('_', '-')}", "env": ENV_VARS.get(option, option),
            "file": str(file), "login": "the login name"}.get(source, "default")


_FILE_KEYS = {"device", "library", "db", "key", "operator", "station", "technique",
              "self_test_hours", "matcher", "dialect", "ingest_name_rule", "thresholds",
              "central", "central_token"}


def find_config_file(flag: str | os.PathLike[str] | None, env: Mapping[str, str],
                     cwd: Path | None = None) -> tuple[Path | None, bool]:
    """The configuration file to read, and whether it was named explicitly.

    Parameters
    ----------
    flag
        ``--config`` as given, or None.
    env
        The environment.
    cwd
        Where to look for ``interdict.toml`` (the current directory by default).

    Returns
    -------
    tuple of (Path or None, bool)
        The file (None when there is none) and whether it was asked for by flag or variable,
        in which case a missing file is an error.
    """
    if flag:
        return Path(flag), True
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]), True
    local = (cwd or Path.cwd()) / "interdict.toml"
    if local.is_file():
        return local, False
    user = config_dir() / "station.toml"
    if user.is_file():
        return user, False
    return None, False


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a station TOML file into raw option values (paths made absolute).

    Raises
    ------
    ConfigError
        The file is missing, not TOML, or has an unknown key.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration file: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError:  # tomllib's own bound on nesting
        raise ConfigError(f"{path}: nested too deeply to be a configuration file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from exc
    unknown = sorted(set(raw) - _FILE_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown option(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted(_FILE_KEYS))}"
        )
    for key in ("library", "db", "key"):
        if isinstance(raw.get(key), str) and "://" not in raw[key]:
            p = Path(raw[key]).expanduser()
            raw[key] = p if p.is_absolute() else (path.parent / p)
    if "thresholds" in raw and not isinstance(raw["thresholds"], dict):
        raise ConfigError(f"{path}: thresholds: must be a table ([thresholds])")
    return raw


def _parse_threshold(text: str, where: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"{where}: expected NAME=VALUE, got {text!r}")
    try:
        return name.strip(), float(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {name.strip()}: not a number: {value!r}") from exc


def load_config(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    config_file: str | os.PathLike[str] | None = None,
    cwd: Path | None = None,
) -> StationConfig:
    """Resolve the station configuration: flag > environment > file > default.

    Parameters
    ----------
    flags
        Option values given on the command line; ``None`` values mean "not given".
        ``thresholds`` is a list of ``NAME=VALUE`` strings.
    env
        The environment (``os.environ`` by default).
    config_file
        ``--config`` as given.
    cwd
        Directory searched for ``interdict.toml``.

    Returns
    -------
    StationConfig

    Raises
    ------
    ConfigError
        Naming the layer (file path, variable or flag) and the option at fault.
    """
    env = os.environ if env is None else env
    flags = dict(flags or {})
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    thresholds: dict[str, float] = {}

    path, explicit = find_config_file(config_file, env, cwd)
    if path is not None:
        if explicit and not path.is_file():
            raise ConfigError(f"{path}: configuration file not found")
        raw = read_config_file(path)
        for name, v in raw.pop("thresholds", {}).items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConfigError(f"{path}: thresholds.{name}: not a number: {v!r}")
            thresholds[name] = float(v)
            sources[f"thresholds.{name}"] = "file"
        for k, v in raw.items():
            values[k] = v
            sources[k] = "file"

    for name, var in ENV_VARS.items():
        if env.get(var):
            values[name] = env[var]
            sources[name] = "env"
    for var, text in env.items():
        if var.startswith(ENV_THRESHOLD_PREFIX) and text:
            tname = var[len(ENV_THRESHOLD_PREFIX):].lower()
            _, thresholds[tname] = _parse_threshold(f"{tname}={text}", var)
            sources[f"thresholds.{tname}"] = "env"

    for name in ENV_VARS:
        if flags.get(name) is not None:
            values[name] = flags[name]
            sources[name] = "flag"
    for text in flags.get("thresholds") or ():
        tname, thresholds[tname] = _parse_threshold(text, "--threshold")
        sources[f"thresholds.{tname}"] = "flag"

    if "db" not in values:
        values["db"] = data_dir() / "evidence.db"
    if "key" not in values:
        values["key"] = data_dir() / "station.key"
    if not values.get("operator") and (login := login_name(env)) is not None:
        values["operator"] = login
        sources["operator"] = "login"
    for name in (*ENV_VARS, "db"):
        sources.setdefault(name, "default")
    try:
        return StationConfig(**values, thresholds=thresholds, sources=sources,
                             config_file=path)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            where = _where(field, sources.get(field, "default"), path)
            got = "a secret" if field == "central_token" else repr(err.get("input"))
            problems.append(f"{where}: {field}: {err['msg']} (got {got})")
        raise ConfigError("; ".join(problems)) from exc


def thresholds_for(cfg: StationConfig, technique: str | None = None) -> Thresholds:
    """The matcher's default thresholds for ``technique`` with the configured ones applied.

    Raises
    ------
    ConfigError
        An unknown threshold name, or a value the matcher refuses.
    """
    from matcher import defaults

    base = defaults.thresholds(technique)
    if not cfg.thresholds:
        return base
    known = set(type(base).model_fields)
    unknown = set(cfg.thresholds) - known
    if unknown:
        raise ConfigError(f"unknown threshold(s) {', '.join(sorted(unknown))}; known: "
                          f"{', '.join(sorted(known))}")
    try:
        return type(base).model_validate({**base.model_dump(), **cfg.thresholds})
    except ValueError as exc:
        raise ConfigError(f"thresholds: {exc}") from exc


def config_from_args(args: argparse.Namespace,
                     env: Mapping[str, str] | None = None) -> StationConfig:
    """The configuration for a command whose parser used :func:`add_config_arguments`."""
    flags = {name: getattr(args, name, None) for name in (*ENV_VARS, "thresholds")}
    for name, value in flags.items():  # ``--central`` without a URL: the configured one
        if value == CONFIGURED:
            flags[name] = None
    if flags.get("technique") is not None:
        flags["technique"] = str(flags["technique"])
    return load_config(flags, env, config_file=getattr(args, "config", None))


__all__ = [
    "ALL_OPTIONS",
    "ENV_VARS",
    "POSTGRES_SCHEMES",
    "ConfigError",
    "DeprecatedAlias",
    "DialectChoice",
    "MatcherChoice",
    "ScanTechnique",
    "StationConfig",
    "add_config_arguments",
    "central_url",
    "config_dir",
    "config_from_args",
    "data_dir",
    "find_config_file",
    "load_config",
    "login_name",
    "read_config_file",
    "thresholds_for",
]
