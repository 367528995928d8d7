"""bench/common.TreeRssSampler: the daily bench's peak memory counts this process and its workers at one moment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from common import TreeRssSampler  # noqa: E402


def test_the_sampler_adds_a_live_child_to_this_process_and_names_it():
    child_code = "import time; block = bytearray(300 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(1.5)"
    with TreeRssSampler(interval=0.05) as sampler:
        before = sampler.peak_total_mb
        subprocess.run([sys.executable, "-c", child_code], check=True, timeout=30)
    largest_mb, name = sampler.largest_child()
    assert largest_mb >= 290 and "time.sleep" in name
    assert sampler.peak_total_mb >= before + 290  # the child's memory on top of this process's, at the same moment


def test_without_children_the_largest_child_is_empty():
    with TreeRssSampler(interval=0.05) as sampler:
        pass
    assert sampler.largest_child() == (0.0, "") and sampler.peak_total_mb > 0
