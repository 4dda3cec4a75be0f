"""The station options as command-line flags: names, help texts, and how to add them.

Kept apart from :mod:`station.config` (which resolves the values with pydantic), so that
building the ``interdict`` command tree, e.g. for ``--help``, loads nothing heavy.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

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
    "matcher": "INTERDICT_MATCHER",
    "dialect": "INTERDICT_DIALECT",
    "ingest_name_rule": "INTERDICT_INGEST_NAME_RULE",
    "central": "INTERDICT_CENTRAL",
    "central_token": "INTERDICT_CENTRAL_TOKEN",
}
"""Every station option but the central credential (``central_token``) is also a flag: a
secret on the command line would be readable by every user of the laptop (``ps``)."""


_OPTION_HELP: dict[str, tuple[str, str]] = {
    "config": ("FILE", f"station TOML file (env {ENV_CONFIG}; default ./interdict.toml, else "
                       "station.toml in the user's configuration folder)"),
    "device": ("URL", "analyzer: serial port (/dev/ttyUSB0, COM3), pty path or pyserial URL "
                      "such as socket://host:port (env INTERDICT_DEVICE)"),
    "library": ("PATH", "reference library file (env INTERDICT_LIBRARY; default: the embedded "
                        "default library)"),
    "db": ("FILE", "evidence database: the station's SQLite file (env INTERDICT_DB; default "
                   "evidence.db in the user's data folder: interdict config shows where), or "
                   "a postgresql:// URL where a command reads central's database"),
    "key": ("FILE", "the station's signing key (env INTERDICT_KEY; default station.key beside "
                    "the default database; created on the first write)"),
    "operator": ("NAME", "who acts, recorded in the audit log (env INTERDICT_OPERATOR; default: "
                         "the station file's operator, else the login name)"),
    "station": ("ID", "this station's id, recorded with evidence (env INTERDICT_STATION)"),
    "matcher": ("KIND", "how hits are ordered: classic, learned or fused (env INTERDICT_MATCHER; "
                        "default: the measured winner, see docs/accuracy.md and interdict "
                        "config)"),
    "thresholds": ("NAME=VALUE", "identification threshold, repeatable "
                                 "(env INTERDICT_THRESHOLD_<NAME>)"),
    "dialect": ("NAME", "the protocol the analyzer speaks: interdict/1 (default), obp (Ocean "
                        "Binary Protocol) or auto (probe both, as interdict devices does) (env "
                        "INTERDICT_DIALECT)"),
    "ingest_name_rule": ("REGEX", "interdict ingest: a regular expression over an export's "
                                  "file name whose named group item is the parcel id, e.g. "
                                  "'^(?P<item>[A-Z]{2}[0-9]{9}[A-Z]{2})' (env "
                                  "INTERDICT_INGEST_NAME_RULE)"),
    "central": ("URL", "the fleet's central service, http(s)://host:port (env "
                       "INTERDICT_CENTRAL); its credential is central_token in the station "
                       "file or INTERDICT_CENTRAL_TOKEN, never a flag"),
}
"""The station options a command can take: name -> (metavar, help)."""

ONE_COMMAND = ("ingest_name_rule",)
"""Options only one command uses (it names them); not among the defaults below."""

ALL_OPTIONS = tuple(n for n in _OPTION_HELP if n not in ONE_COMMAND)


class DeprecatedAlias(argparse.Action):
    """An old spelling of an option (``--by`` for ``--operator``): accepted, with a note on
    stderr. ``metavar`` names the new spelling; a value is appended when the option it
    stands for collects a list."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        new = self.metavar or self.dest
        print(f"{parser.prog}: {option_string} is deprecated — use {new}", file=sys.stderr)
        current = getattr(namespace, self.dest, None)
        setattr(namespace, self.dest,
                [*current, values] if isinstance(current, list) else values)


CONFIGURED = ""
"""The value of an option given without one (see ``bare`` of :func:`add_config_arguments`):
"the configured value"; :func:`station.config.config_from_args` reads it as not given."""


def add_config_arguments(parser: argparse.ArgumentParser, *names: str,
                         short: Mapping[str, str] | None = None,
                         bare: Mapping[str, str] | None = None) -> None:
    """Add the station options ``names`` (default: all of :data:`ALL_OPTIONS`) to a command.

    Every option defaults to ``None`` (not given) so :func:`config_from_args` can tell a flag
    from a default. ``--operator`` also accepts its deprecated spelling ``--by``. ``short``
    gives an option a one-letter alias (``{"library": "-l"}``). ``bare`` lets an option be
    given without its value, meaning "the configured one" (:data:`CONFIGURED`), with the help
    text that says what it does then (``audit verify --central``).
    """
    title = "station options (flag > environment variable > config file > default)"
    g = next((g for g in parser._action_groups if g.title == title), None) \
        or parser.add_argument_group(title)  # a second call adds to the same group
    for name in names or ALL_OPTIONS:
        metavar, text = _OPTION_HELP[name]
        flag = "--threshold" if name == "thresholds" else f"--{name.replace('_', '-')}"
        flags = [flag, *([short[name]] if short and name in short else [])]
        if name == "thresholds":
            g.add_argument(*flags, dest="thresholds", metavar=metavar, action="append",
                           help=text)
        elif bare and name in bare:
            g.add_argument(*flags, dest=name, metavar=metavar, nargs="?", const=CONFIGURED,
                           help=f"{bare[name]}; {text}")
        else:
            g.add_argument(*flags, dest=name, metavar=metavar, help=text)
        if name == "operator":
            g.add_argument("--by", dest="operator", metavar="--operator",
                           action=DeprecatedAlias, help=argparse.SUPPRESS)


__all__ = ["ALL_OPTIONS", "CONFIGURED", "ENV_CONFIG", "ENV_PREFIX", "ENV_THRESHOLD_PREFIX",
           "ENV_VARS", "DeprecatedAlias", "add_config_arguments"]
