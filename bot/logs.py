"""Logging, set up in one place for the bot, the sandbox and the tests alike."""
from __future__ import annotations

import os
import traceback

_OUR_CODE = tuple(os.sep + package + os.sep for package in ("bot", "flows", "storage"))


def describe(error: BaseException) -> str:
    """An error for the log: its class and where it was raised in our code, never its message
    (a message can quote what a person typed)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if any(part in f.filename for part in _OUR_CODE)] or frames
    if not ours:
        return error.__class__.__name__
    where = ours[-1]
    return f"{error.__class__.__name__} at {os.path.basename(where.filename)}:{where.lineno} in {where.name}"
