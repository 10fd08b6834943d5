"""Worker functions for tests/test_screen.py that crash or hang on purpose (run in spawned processes)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any

from engine.batch import screen as sc

CRASH = "ORANGE-2026-MM-2290"   # dies on the first try (as durable_rules does on some cases), not with the plain evaluator
HANG = "HARRIS-2026-0311"        # never finishes


def crash_or_hang(conn: Any, config: sc.Config) -> None:
    while True:
        msg = conn.recv()
        if msg is None:
            return
        item, fallback = msg
        if item.case_id == CRASH and not fallback:
            os._exit(11)
        if item.case_id == HANG:
            time.sleep(600)   # until the pool's timeout replaces the worker
        conn.send(sc.screen_item(item, replace(config, evaluator="plain") if fallback else config))
