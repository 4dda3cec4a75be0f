"""How ``--help`` is laid out: prose wrapped to the terminal, hand-set lines kept.

A description or epilog paragraph (paragraphs are separated by a blank line) is re-wrapped
to the terminal's width when one of its lines is too long for it and none is indented;
otherwise it is kept as written (command lists, the exit-code table, examples).
"""

from __future__ import annotations

import argparse
import textwrap


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Raw description and epilog, except over-long prose paragraphs, which are wrapped."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for para in text.split("\n\n"):
            lines = para.splitlines()
            if any(len(line) > width for line in lines) and not any(
                    line.startswith((" ", "\t")) for line in lines):
                paragraphs.append(textwrap.fill(" ".join(lines), width,
                                                initial_indent=indent,
                                                subsequent_indent=indent))
            else:
                paragraphs.append("\n".join(indent + line for line in lines))
        return "\n\n".join(paragraphs)


__all__ = ["HelpFormatter"]
