"""The station configuration: one TOML file, every option also a flag or environment variable.

Precedence, highest first: command-line flag > environment variable > configuration file >
built-in default. :func:`load_config` resolves the four layers and records, for every option,
which layer supplied it (``StationConfig.sources``), so ``interdict config`` can show an officer
why the station uses the database it uses.

The file (``--config``, else ``$INTERDICT_CONFIG``, else ``./interdict.toml`` when present, else
``$XDG_CONFIG_HOME/interdict/station.toml`` when present)::

    station = "JFK-IMF-01"
    operator = "officer.kim"
    device = "/dev/ttyUSB0"
    library = "/var/lib/interdict/library"
    db = "/var/lib/interdict/evidence.db"
    key = "/var/lib/interdict/station.key"
    technique = "raman"
    self_test_hours = 8

    [thresholds]
    match_hqi = 85.0

See ``docs/station.md`` for every option.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from parcels.text import EXPECTED, unsafe_at

if TYPE_CHECKING:
    from matcher.verdict import Thresholds

ENV_PREFIX = "INTERDICT_"
ENV_CONFIG = "INTERDICT_CONFIG"
ENV_THRESHOLD_PREFIX = "INTERDICT_THRESHOLD_"

#: option name -> environment variable
ENV_VARS: dict[str, str] = {
    "device": "INTERDICT_DEVICE",
    "library": "INTERDICT_LIBRARY",
    "db": "INTERDICT_DB",
    "key": "INTERDICT_KEY",
    "operator": "INTERDICT_OPERATOR",
    "station": "INTERDICT_STATION",
    "technique": "INTERDICT_TECHNIQUE",
    "self_test_hours": "INTERDICT_SELF_TEST_HOURS",
    "central": "INTERDICT_CENTRAL",
    "central_token": "INTERDICT_CENTRAL_TOKEN",
}


class ConfigError(ValueError):
    """The configuration (file, variable or flag) is not valid; the message says where."""


class ScanTechnique(StrEnum):
    """What ``interdict scan`` measures."""

    RAMAN = "raman"
    FTIR = "ftir"
    BOTH = "both"


def _default_data_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "interdict"


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
        The evidence database (SQLite file).
    key
        The station's Ed25519 signing key (PEM file, mode 0600), kept outside the database;
        created on first write. Default: ``station.key`` in the station's data folder, next
        to the default database.
    operator
        Who is scanning; recorded with every inspection.
    station
        This station's identifier; recorded with every inspection.
    technique
        What ``scan`` measures when ``--technique`` is not given.
    self_test_hours
        A self-test against the reference standard is due when the last one is older.
    thresholds
        Identification thresholds passed to the matcher by name (e.g. ``match``); empty means
        the matcher's documented defaults.
    central
        URL of the fleet's central service (``https://central.example:8750``) that ``interdict
        sync`` and ``watch`` push to and pull from; ``None``: this station works alone.
    central_token
        This station's credential for central (``interdict central station add``). A secret:
        keep it in the file (readable by the station's user only) or the environment.
    sources
        For every option, where its value came from: ``flag``, ``env``, ``file`` or
        ``default``.
    config_file
        The file that was read, if any.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: str | None = None
    library: Path | None = None
    db: Path
    key: Path
    operator: str | None = None
    station: str = "station-1"
    technique: ScanTechnique = ScanTechnique.RAMAN
    self_test_hours: float = Field(default=8.0, gt=0)
    thresholds: dict[str, float] = Field(default_factory=dict)
    central: str | None = None
    central_token: str | None = Field(default=None, repr=False)
    sources: dict[str, str] = Field(default_factory=dict)
    config_file: Path | None = None

    @field_validator("operator", "station", "device", "central", "central_token")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be blank")
        if v is not None and (where := unsafe_at(v)) is not None:  # stored with evidence
            raise ValueError(f"must be {EXPECTED}: {where}")
        return v.strip() if v is not None else None

    def public(self) -> dict[str, Any]:
        """The options (without ``sources``; the central token masked), JSON-ready."""
        out = self.model_dump(mode="json", exclude={"sources"})
        if out.get("central_token"):
            out["central_token"] = "***"
        return out


_FILE_KEYS = {"device", "library", "db", "key", "operator", "station", "technique",
              "self_test_hours", "thresholds", "central", "central_token"}


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
    xdg = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = xdg / "interdict" / "station.toml"
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
        if isinstance(raw.get(key), str):
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
        values["db"] = _default_data_dir(env) / "evidence.db"
    if "key" not in values:
        values["key"] = _default_data_dir(env) / "station.key"
    for name in (*ENV_VARS, "db"):
        sources.setdefault(name, "default")
    try:
        return StationConfig(**values, thresholds=thresholds, sources=sources,
                             config_file=path)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            origin = sources.get(field, "default")
            where = {"flag": f"--{field.replace('_', '-')}",
                     "env": ENV_VARS.get(field, field),
                     "file": str(path)}.get(origin, "default")
            problems.append(f"{where}: {field}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError("; ".join(problems)) from exc


def add_config_arguments(parser: argparse.ArgumentParser, *, device: bool = True) -> None:
    """Add the station options (``--config``, ``--db``, ``--operator`` ...) to a command.

    Every option defaults to ``None`` (not given) so :func:`config_from_args` can tell a flag
    from a default.
    """
    g = parser.add_argument_group(
        "station options (flag > environment variable > config file > default)")
    g.add_argument("--config", metavar="FILE",
                   help=f"station TOML file (env {ENV_CONFIG}; default ./interdict.toml)")
    if device:
        g.add_argument("--device", metavar="URL",
                       help="analyzer: serial port, pty path or pyserial URL "
                            "(env INTERDICT_DEVICE)")
    g.add_argument("--library", metavar="PATH",
                   help="reference library (env INTERDICT_LIBRARY; default: embedded)")
    g.add_argument("--db", metavar="FILE",
                   help="evidence database (env INTERDICT_DB; default "
                        "~/.local/share/interdict/evidence.db, as interdict parcel)")
    g.add_argument("--key", metavar="FILE",
                   help="the station's signing key (env INTERDICT_KEY; default station.key "
                        "next to the default database; created on first write)")
    g.add_argument("--operator", metavar="NAME", help="who is scanning (env INTERDICT_OPERATOR)")
    g.add_argument("--station", metavar="ID", help="this station's id (env INTERDICT_STATION)")
    g.add_argument("--threshold", dest="thresholds", metavar="NAME=VALUE", action="append",
                   help="identification threshold, repeatable "
                        "(env INTERDICT_THRESHOLD_<NAME>)")


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
    if flags.get("technique") is not None:
        flags["technique"] = str(flags["technique"])
    return load_config(flags, env, config_file=getattr(args, "config", None))


__all__ = [
    "ENV_VARS",
    "ConfigError",
    "ScanTechnique",
    "StationConfig",
    "add_config_arguments",
    "config_from_args",
    "find_config_file",
    "load_config",
    "read_config_file",
    "thresholds_for",
]
