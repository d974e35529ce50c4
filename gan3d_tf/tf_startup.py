"""Importing TensorFlow without its start-up log lines, which TensorFlow 2.21 prints twice per process.

TensorFlow's C++ runtime writes its start-up lines straight to file
descriptor 2, before `TF_CPP_MIN_LOG_LEVEL` is read, once per native
library that loads ("oneDNN custom operations are on", the CPU-instruction
note, absl's "All log messages before absl::InitializeLog()"), so every
command printed them twice. `import_tensorflow` loads TensorFlow with
descriptor 2 sent to a temporary file, keeps what it wrote (each record
once) in `STARTUP_LOG`, and writes back at once everything but the
informational records: warnings and errors still show, once.
`print_startup_log` (train.py `--verbose`) shows the whole log.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

STARTUP_LOG: list[str] = []  # what TensorFlow wrote while it loaded, each record once
# a glog line, e.g. "I0000 00:00:1796525251.508130    7313 port.cc:153] oneDNN custom operations are on. ..."
_GLOG = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]+\] (.*)$")
_ABSL_NOTE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def records(text: str) -> list[tuple[str, str, str]]:
    """(severity, message key, text) of each record in a stretch of TensorFlow's stderr, each once.

    A record is a log line with its continuation lines; severity is "I",
    "W", "E", "F", "absl" (absl's note) or "" (anything else, e.g. a Python
    warning); the key is the message without its timestamp and process id.

    Args:
        text: what was written to stderr.
    """
    out, seen = [], set()
    for line in text.splitlines():
        m = _GLOG.match(line)
        if m or line == _ABSL_NOTE or not out:
            severity = m.group(1) if m else ("absl" if line == _ABSL_NOTE else "")
            out.append([severity, m.group(2) if m else line, line])
        else:  # a continuation line (TensorFlow's CPU note spans two)
            out[-1][1] += "\n" + line
            out[-1][2] += "\n" + line
    unique = []
    for severity, key, full in out:
        if key not in seen:
            seen.add(key)
            unique.append((severity, key, full))
    return unique


def import_tensorflow() -> None:
    """Imports TensorFlow with its start-up lines captured (see the module docstring); a no-op once loaded."""
    if "tensorflow" in sys.modules:
        return
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a detached process): nothing to capture
        import tensorflow  # noqa: F401

        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:  # an import error goes on, after what TensorFlow wrote is shown
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = records(captured.read().decode("utf-8", errors="replace"))
            STARTUP_LOG[:] = [full for _, _, full in kept]
            shown = [full for severity, _, full in kept if severity not in ("I", "absl")]
            if shown:
                print("\n".join(shown), file=sys.stderr, flush=True)


def print_startup_log(file=None) -> None:
    """Writes TensorFlow's whole start-up log (each record once) to `file` (default: stderr).

    Args:
        file: a text stream.
    """
    if STARTUP_LOG:
        print("\n".join(STARTUP_LOG), file=file or sys.stderr, flush=True)
