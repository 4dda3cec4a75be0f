"""The README is executable: every command of its ``sh`` walk-throughs runs, as written, in a
scratch folder, against the simulator, so the front door cannot drift from the code.

How the blocks are read (the same way a reader would follow them):

* every ```` ```sh ```` block runs, in the README's order, in one scratch folder holding a
  ``fixtures`` link to the embedded defaults (a reader runs them in a clone), with
  ``interdict`` on the path and fresh data and configuration folders;
* a block right after ``<!-- readme-test: skip — why -->`` is illustrative and not run (the
  Makefile, an install into the current environment);
* each line (``\\``-continued lines joined) runs in ``bash`` as written; a line ending in
  ``&`` starts a background job, numbered as bash numbers jobs; ``kill [-SIG] %N`` and
  ``wait %N`` act on those jobs;
* a comment saying ``prints "TEXT"`` or ``says "TEXT"`` waits until the last background job
  has printed TEXT (up to its first ``/`` or ``...``: the part a reader looks for);
* the URL a simulator prints (``device: URL``) replaces ``/dev/ttyUSB0`` and
  ``/tmp/.../ttySIM0``; ``FINGERPRINT`` is the key fingerprint an earlier command printed
  (``--trust <64 hex digits>``), as a reader copies them;
* a line's comment starting with ``exit N`` is its documented exit code; every other line
  must exit 0.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b(.*?)-->")
WAIT = re.compile(r'(?:prints|says) "([^"]+)"')
EXPECT = re.compile(r"^exit (\d+)\b")
KEY = re.compile(r"--trust ([0-9a-f]{64})")
DEVICE_PLACEHOLDERS = ("/tmp/.../ttySIM0", "/dev/ttyUSB0")
TIMEOUT_S = 180.0


@dataclass
class Block:
    """One ``sh`` block: its first line number and its logical lines."""

    line: int
    lines: list[str]


def sh_blocks(text: str) -> tuple[list[Block], list[tuple[int, str]]]:
    """The blocks to run, and the skipped ones as (line, reason)."""
    run: list[Block] = []
    skipped: list[tuple[int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```sh":
            i += 1
            continue
        start = i + 1
        j = start
        while lines[j].strip() != "```":
            j += 1
        body = lines[start:j]
        reason = SKIP.search(lines[i - 1]) if i else None
        if reason:
            skipped.append((start, reason.group(1).strip(" —-")))
        else:
            logical: list[str] = []
            for raw in body:
                if logical and logical[-1].endswith("\\"):
                    logical[-1] = logical[-1][:-1].rstrip() + " " + raw.strip()
                elif raw.strip():
                    logical.append(raw.strip())
            run.append(Block(start, logical))
        i = j + 1
    return run, skipped


def split_comment(line: str) -> tuple[str, str]:
    """``command  # comment`` -> (command, comment), outside quotes."""
    quote = ""
    for k, c in enumerate(line):
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k].rstrip(), line[k + 1:].strip()
    return line.rstrip(), ""


@dataclass
class Job:
    """A background command and everything it printed."""

    number: int
    proc: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    seen: threading.Condition = field(default_factory=threading.Condition)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.seen:
                self.output.append(line)
                self.seen.notify_all()
        with self.seen:
            self.seen.notify_all()

    def wait_for(self, text: str, timeout_s: float = TIMEOUT_S) -> str:
        """The first line holding ``text`` (waiting for it)."""
        end = time.monotonic() + timeout_s
        with self.seen:
            while True:
                for line in self.output:
                    if text in line:
                        return line
                left = end - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and
                                 not any(text in x for x in self.output)):
                    raise AssertionError(f"job %{self.number} never printed {text!r}: "
                                         f"{''.join(self.output)[-2000:]}")
                self.seen.wait(min(left, 0.5))


class Reader:
    """Follows the walk-throughs line by line, as a reader in a shell would."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work, self.env = work, env
        self.jobs: dict[int, Job] = {}
        self.device: str | None = None
        self.fingerprint: str | None = None
        self.ran: list[str] = []

    def substitute(self, command: str) -> str:
        for placeholder in DEVICE_PLACEHOLDERS:
            if placeholder in command:
                assert self.device, f"{command}: no simulator has printed its URL yet"
                command = command.replace(placeholder, self.device)
        if "FINGERPRINT" in command:
            assert self.fingerprint, f"{command}: no key fingerprint was printed before"
            command = command.replace("FINGERPRINT", self.fingerprint)
        return command

    def _noticed(self, text: str) -> None:
        if m := re.search(r"^device: (\S+)", text, flags=re.M):
            self.device = m.group(1)
        if keys := KEY.findall(text):
            self.fingerprint = keys[-1]

    def _job(self, spec: str) -> Job:
        return self.jobs[int(spec.lstrip("%"))]

    def _last_job(self) -> Job:
        assert self.jobs, "a wait for output, but no background job"
        return self.jobs[max(self.jobs)]

    def _wait_output(self, comment: str) -> None:
        if m := WAIT.search(comment):
            wanted = re.split(r"/|\.\.\.", m.group(1))[0]
            self._noticed(self._last_job().wait_for(wanted))

    def run(self, line: str, where: str) -> None:
        command, comment = split_comment(line)
        if not command:
            self._wait_output(comment)
            return
        words = command.split()
        if words[0] == "kill" and words[-1].startswith("%"):
            job = self._job(words[-1])
            sig = getattr(signal, f"SIG{words[1][1:]}") if len(words) == 3 else signal.SIGTERM
            job.proc.send_signal(sig)
            if sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT):
                job.proc.wait(timeout=TIMEOUT_S)
                del self.jobs[job.number]
            self.ran.append(command)
            return
        if words[0] == "wait" and len(words) == 2:
            job = self._job(words[1])
            code = job.proc.wait(timeout=TIMEOUT_S)
            assert code == 0, f"{where}: {command}: job exit {code}: {''.join(job.output)}"
            del self.jobs[job.number]
            self.ran.append(command)
            return
        expected = int(m.group(1)) if (m := EXPECT.match(comment)) else 0
        if command.endswith("&"):
            number = max(self.jobs, default=0) + 1
            proc = subprocess.Popen(["bash", "-c", "exec " + self.substitute(command[:-1])],
                                    cwd=self.work, env=self.env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            job = Job(number, proc)
            threading.Thread(target=job.read, daemon=True).start()
            self.jobs[number] = job
            self.ran.append(command)
            self._wait_output(comment)
            return
        done = subprocess.run(["bash", "-c", self.substitute(command)], cwd=self.work,
                              env=self.env, capture_output=True, text=True,
                              timeout=TIMEOUT_S, check=False)
        self._noticed(done.stdout + done.stderr)
        assert done.returncode == expected, (
            f"{where}: {command}\nexit {done.returncode}, the README says {expected}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        self.ran.append(command)

    def stop(self) -> None:
        for job in self.jobs.values():
            if job.proc.poll() is None:
                job.proc.kill()
                job.proc.wait()


def test_the_reader_reads_blocks_comments_and_codes() -> None:
    blocks, skipped = sh_blocks("<!-- readme-test: skip — a reason -->\n```sh\nmake x\n```\n"
                                "```sh\na \\\n  b  # exit 3: why\n\n# note\n```\n")
    assert skipped == [(2, "a reason")]
    assert [b.lines for b in blocks] == [["a b  # exit 3: why", "# note"]]
    assert split_comment('x --note "a # b"  # exit 10') == ('x --note "a # b"', "exit 10")


@pytest.mark.slow
def test_every_walk_through_runs_as_written(tmp_path: Path) -> None:
    blocks, skipped = sh_blocks(README.read_text(encoding="utf-8"))
    assert all(reason for _, reason in skipped)  # an illustrative block says why
    work = tmp_path / "work"
    work.mkdir()
    (work / "fixtures").symlink_to(ROOT / "fixtures")
    bindir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERDICT_", "XDG_"))}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", HOME=str(tmp_path / "home"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               PYTHONUNBUFFERED="1")
    reader = Reader(work, env)
    try:
        for block in blocks:
            for line in block.lines:
                reader.run(line, f"README.md:{block.line}")
    finally:
        reader.stop()
    ran = "\n".join(reader.ran)
    # every walk-through was followed to its end
    for needle in ("interdict simulate", "interdict parcel import", "interdict scan",
                   "interdict reidentify", "interdict evidence verify", "interdict watch",
                   "kill -USR1", "interdict acquire", "interdict library add",
                   "interdict identify scan.jdx"):
        assert needle in ran, needle
    assert not reader.jobs  # every job the README starts, it stops
