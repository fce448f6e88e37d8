"""Reading DVC's closing summary line, which the remote tests and bench/dvc_remote.py count files with."""
from __future__ import annotations

import pytest

from zhtw_subtitles.testing.dvc_repo import files_moved


@pytest.mark.parametrize("output, verb, moved", [
    ("4 files pushed\n", "pushed", 4),
    ("1 file pushed\n", "pushed", 1),
    ("A       data/synth/\n12 files fetched and 1 file added\n", "fetched", 12),
    ("A       data/synth/\n1 file added\n", "fetched", 0),  # all in the cache already: DVC leaves zero counts out
    ("Everything is up to date.\n", "pushed", 0),
    ("", "pushed", None),  # no summary: not measured, never 0
    ("ERROR: failed to push data to the cloud\n", "pushed", None),
])
def test_files_moved_tells_no_summary_from_nothing_moved(output, verb, moved):
    assert files_moved(output, verb) == moved
