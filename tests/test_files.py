"""The one copy of the file helpers (vipquality/_files.py) and the errors decided by type."""

from __future__ import annotations

import pandas as pd
import pytest

from vipquality._files import atomic_write_text, csv_bytes, exclusive_lock, neutralise, safe_csv
from vipquality.data.store import StoreLock
from vipquality.errors import LockBusy, ReportBusy, ReportError, StoreBusy, StoreError
from vipquality.report.run import report_lock


def test_a_held_lock_is_refused_with_its_holder(tmp_path):
    path = tmp_path / "x.lock"
    with exclusive_lock(path, note="pid 1 since noon"):
        with pytest.raises(LockBusy) as err:
            with exclusive_lock(path):
                pass
    assert err.value.holder == "pid 1 since noon" and err.value.path == path
    with exclusive_lock(path):  # released: the next one gets it
        pass


def test_waiting_for_a_lock_gives_up_after_wait(tmp_path):
    path = tmp_path / "x.lock"
    with exclusive_lock(path):
        with pytest.raises(LockBusy, match="after waiting") as err:
            with exclusive_lock(path, wait=0.3, poll=0.05):
                pass
    assert err.value.waited == 0.3


def test_a_busy_store_is_a_store_error_with_a_message_that_says_what_to_do(tmp_path):
    with StoreLock(tmp_path):
        with pytest.raises(StoreBusy) as err:
            with StoreLock(tmp_path):
                pass
    assert isinstance(err.value, StoreError) and isinstance(err.value, LockBusy)
    assert str(err.value).startswith(f"another ingest is running on the store {tmp_path}")
    assert "wait for it to finish" in str(err.value)


def test_a_busy_reports_folder_is_a_report_error_naming_the_holder(tmp_path):
    with report_lock(tmp_path):
        with pytest.raises(ReportBusy) as err:
            with report_lock(tmp_path):
                pass
    assert isinstance(err.value, ReportError)
    message = str(err.value)
    assert message.startswith(f"{tmp_path} is being written by another vipquality report run")
    assert "pid " in message and "another --out folder" in message


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+7 999", "'+7 999"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\nx"), ("\nx", "'\nx"), ("a\r\nb", "a\nb"), ("ok", "ok"),
    ("'=1", "'=1"), (3, 3), (None, None),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_the_two_csv_writers_follow_one_rule(tmp_path):
    rows = [["=cmd", "\r=x", "ok"]]
    raw = csv_bytes(["a", "b", "c"], rows).decode("utf-8-sig")
    frame_csv = safe_csv(pd.DataFrame(rows, columns=["a", "b", "c"]), tmp_path / "t.csv")
    assert raw == frame_csv.read_text(encoding="utf-8")
    assert raw.splitlines()[1].startswith("'=cmd,\"'")


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    target = atomic_write_text(tmp_path / "sub" / "a.txt", "one\n")
    atomic_write_text(target, "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]
