"""Differences between snapshots and changes after a lock: planted changes found exactly, none
missed and none invented; requests and decisions matched; every write audited."""
from collections import Counter
from datetime import date, datetime

import pandas as pd
import pytest

from csdl import changes, cli, diff, i18n, records, schedule, snapshots
from tests import tabs
from tests.conftest import small_school_tables
from tests.test_app import table_frame

BEFORE = datetime(2027, 1, 8, 17)
AFTER = datetime(2027, 1, 20, 17)


def planted(tables: dict) -> dict:
    """The small school with seven planted changes (listed in EXPECTED)."""
    t = {k: v.copy() for k, v in tables.items()}
    sr = t["subject_result"]
    sr.loc[(sr.student_id == "H1") & (sr.period == "CK1") & (sr.subject_code == "TOAN"), "level"] = "H"
    sr.loc[(sr.student_id == "H3") & (sr.period == "CK1") & (sr.subject_code == "TOAN"), "score"] = 8
    sr.loc[(sr.student_id == "H5") & (sr.period == "CK1") & (sr.subject_code == "KHOAHOC"), "score"] = None
    t["trait_result"] = pd.concat([t["trait_result"], pd.DataFrame(
        [("S1", "H6", "CK1", "PC_CHAMCHI", "T")], columns=t["trait_result"].columns)],
        ignore_index=True)
    # H2 leaves the list (with no results left); H7 joins 1B and gets a Toán level.
    t["student"] = pd.concat([t["student"][t["student"].student_id != "H2"], pd.DataFrame(
        [("S1", "H7", "L1B", "Đặng Khoa", True)], columns=t["student"].columns)], ignore_index=True)
    t["trait_result"] = t["trait_result"][t["trait_result"].student_id != "H2"]
    t["subject_result"] = pd.concat([sr, pd.DataFrame(
        [("S1", "H7", "CK1", "TOAN", "T", None)], columns=sr.columns)], ignore_index=True)
    # A change in the other school must never show for S1.
    sr2 = t["subject_result"]
    sr2.loc[(sr2.school_id == "S2") & (sr2.student_id == "K1"), "level"] = "C"
    return t


EXPECTED = {
    ("H1", "CK1", "subject", "TOAN", "level", "T", "H", "changed"),
    ("H3", "CK1", "subject", "TOAN", "score", "7", "8", "changed"),
    ("H5", "CK1", "subject", "KHOAHOC", "score", "8", None, "removed"),
    ("H6", "CK1", "trait", "PC_CHAMCHI", "level", None, "T", "added"),
    ("H2", None, "student", "STUDENT", "class_id", "L1A", None, "removed"),
    ("H7", None, "student", "STUDENT", "class_id", None, "L1B", "added"),
    ("H7", "CK1", "subject", "TOAN", "level", None, "T", "added"),
}


@pytest.fixture
def pair(tmp_path):
    base = small_school_tables()
    a = snapshots.write_snapshot(tmp_path, base, school_year="2026-2027", taken_at=BEFORE,
                                 source="import")
    b = snapshots.write_snapshot(tmp_path, planted(base), school_year="2026-2027",
                                 taken_at=AFTER, source="import")
    return tmp_path, a, b


def as_set(df: pd.DataFrame) -> set:
    df = df.astype(object).where(df.notna(), None)
    return set(zip(df.student_id, df.period, df.item_type, df.item_code, df.field, df.before,
                   df.after, df.change))


def test_planted_changes_found_exactly(pair):
    data, a, b = pair
    got = diff.diff(data, a.snapshot_id, b.snapshot_id, "S1")
    assert as_set(got) == EXPECTED
    # Class of a student who left comes from the earlier snapshot.
    assert got.loc[got.student_id == "H2", "class_id"].item() == "L1A"
    assert as_set(diff.diff(data, a.snapshot_id, b.snapshot_id, "S1", "CK1")) == {
        e for e in EXPECTED if e[1] == "CK1"}
    assert diff.diff(data, a.snapshot_id, a.snapshot_id, "S1").empty
    other = diff.diff(data, a.snapshot_id, b.snapshot_id, "S2")
    assert as_set(other) == {("K1", "CK1", "subject", "TOAN", "level", "T", "C", "changed")}


def test_cli_diff_prints_csv(pair, capsys):
    data, a, b = pair
    assert cli.main(["diff", a.snapshot_id, b.snapshot_id, "--data", str(data),
                     "--school-id", "S1", "--period", "CK1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "student_id,class_id,period,item_type,item_code,field,before,after"
    assert "H1,L1A,CK1,subject,TOAN,level,T,H" in lines and len(lines) == 1 + 5
    assert cli.main(["diff", a.snapshot_id, "20990101-000000-abcdef", "--data", str(data)]) == 2


def test_after_lock_and_requests_matched(pair):
    data, a, b = pair
    assert changes.after_lock(data, b, "S1").empty  # no period locked yet
    schedule.set_window(data, "2026-2027", "CK1", None, date(2026, 12, 29), date(2027, 1, 9),
                        date(2027, 1, 10), "t")
    after = changes.after_lock(data, b, "S1")
    assert as_set(after[after.period == "CK1"]) == {e for e in EXPECTED if e[1] == "CK1"}
    assert set(after["decision"]) == {"none"}
    common = dict(school_year="2026-2027", school_id="S1", period="CK1", item_type="subject",
                  item_code="TOAN", requested_by="Cô Lan", actor="quantri")
    approved = changes.record_request(data, student_id="H1", field="level", old_value="T",
                                      new_value="H", reason="Nhập nhầm", **common)
    rejected = changes.record_request(data, student_id="H3", field="score", old_value="7",
                                      new_value="8", reason="Chấm lại", **common)
    changes.record_request(data, student_id="H7", field="level", old_value=None,
                           new_value="H", reason="Học sinh mới", **common)  # asks for H, not T
    changes.decide(data, approved, "approved", None, "hieutruong")
    changes.decide(data, rejected, "rejected", "Không có bài kiểm tra gốc", "hieutruong")
    after = changes.after_lock(data, b, "S1").set_index(["student_id", "item_code", "field"])
    assert after.loc[("H1", "TOAN", "level"), "decision"] == "approved"
    assert after.loc[("H1", "TOAN", "level"), "request_id"] == approved
    assert after.loc[("H3", "TOAN", "score"), "decision"] == "rejected"
    assert after.loc[("H7", "TOAN", "level"), "decision"] == "none"
    assert len(changes.not_approved(after.reset_index())) == len(after) - 1
    actions = [r["action"] for r in records.audit_entries(data)]
    assert actions.count("change_request") == 3 and actions.count("change_decision") == 2


def test_the_base_is_the_last_snapshot_before_the_lock(pair):
    data, a, b = pair
    # Locked on 21/01, after both snapshots: nothing has changed since the lock yet.
    schedule.set_window(data, "2026-2027", "CK1", None, date(2026, 12, 29), date(2027, 1, 9),
                        date(2027, 1, 21), "t")
    assert changes.locked_periods(data, b) == []
    # A school-wide lock event on 09/01 10:00 decides instead of the schedule's date.
    schedule.record_event(data, "2026-2027", "CK1", "lock", "school", None,
                          datetime(2027, 1, 9, 10), "Khóa sổ", "quantri")
    [locked] = changes.locked_periods(data, b)
    assert locked.base.snapshot_id == a.snapshot_id
    assert len(changes.after_lock(data, b, "S1", "CK1")) == 5


def test_requests_validated_and_decisions_checked(tmp_path):
    base = dict(school_year="2026-2027", school_id="S1", student_id="H1", period="CK1",
                item_type="subject", item_code="TOAN", field="level", old_value="T",
                new_value="H", reason="Nhập nhầm", requested_by="Cô Lan", actor="quantri")
    for change, key in ((dict(reason=" "), "changes.reason_required"),
                        (dict(field="grade"), "changes.bad_field"),
                        (dict(period="HK1"), "changes.bad_period"),
                        (dict(requested_by=""), "changes.teacher_required")):
        with pytest.raises(changes.ChangeError) as exc:
            changes.record_request(tmp_path, **(base | change))
        assert exc.value.key == key
    request_id = changes.record_request(tmp_path, **base)
    with pytest.raises(changes.ChangeError) as exc:
        changes.decide(tmp_path, request_id, "rejected", "", "hieutruong")
    assert exc.value.key == "changes.note_required"
    with pytest.raises(changes.ChangeError):
        changes.decide(tmp_path, 999, "approved", None, "hieutruong")
    assert changes.requests(tmp_path, "2026-2027", "S1")["decision"].tolist() == ["pending"]


def test_cli_report_changes_after_lock(pair, capsys):
    data, a, b = pair
    schedule.set_window(data, "2026-2027", "CK1", None, date(2026, 12, 29), date(2027, 1, 9),
                        date(2027, 1, 10), "t")
    assert cli.main(["report", "changes-after-lock", "--data", str(data), "--school-id", "S1",
                     "--period", "CK1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("student_id,class_id,period,item_type,item_code,field,before,after,"
                        "request_id,decision")
    assert "H1,L1A,CK1,subject,TOAN,level,T,H,,none" in lines and len(lines) == 6


def test_values_gone_with_a_student_who_left_need_no_request():
    changed = pd.DataFrame([
        ("H1", "CK1", "subject", "TOAN", "level", "T", None, "removed", True),
        ("H3", "CK1", "subject", "TOAN", "level", "T", None, "removed", False)],
        columns=["student_id", "period", "item_type", "item_code", "field", "before", "after",
                 "change", "student_left"])
    out = changes.annotate(changed, pd.DataFrame(columns=changes.REQUEST_COLUMNS))
    assert out["decision"].tolist() == ["student_left", "none"]
    assert changes.not_approved(out)["student_id"].tolist() == ["H3"]


def test_page_groups_then_one_request_for_a_group_decided_at_once(tmp_path, monkeypatch):
    """The page as the administrator and the principal use it: groups in words (no code),
    one request for a whole group, one decision for it; the numbers follow."""
    from streamlit.testing.v1 import AppTest

    from csdl.config import REPO_ROOT
    from tests.conftest import add_account
    from tests.test_change_groups import (AFTER as LATER, BEFORE as EARLIER, PLANTED, planted as
                                          plant, with_staff)

    base = with_staff(small_school_tables())
    for tables, at in ((base, EARLIER), (plant(base), LATER)):
        snapshots.write_snapshot(tmp_path, tables, school_year="2026-2027", taken_at=at,
                                 source="import")
    schedule.set_window(tmp_path, "2026-2027", "CK1", None, date(2026, 12, 29), date(2027, 1, 9),
                        date(2027, 1, 10), "t")
    monkeypatch.setenv("CSDL_DATA_DIR", str(tmp_path))

    def page(role: str) -> AppTest:
        add_account(tmp_path, f"t_{role}", role, "S1")
        at = AppTest.from_file(str(REPO_ROOT / "pages/changes.py"), default_timeout=60)
        for key, value in {"authentication_status": True, "username": f"t_{role}",
                           "name": "Người thử", "roles": [role]}.items():
            at.session_state[key] = value
        return at.run()

    at = page("admin")
    assert not at.exception, at.exception
    groups = table_frame(at.table[0])  # a table that wraps
    # Worst first: 1A's Toán (three changes of Cô Lan's), then by class; counts as PLANTED.
    assert groups.iloc[0].tolist()[:5] == ["1A", "Toán", "Cô Lan", "Cuối học kỳ I", "3"]
    assert len(groups) == len({(r[1], r[2]) for r in PLANTED})
    assert sorted(groups["Số thay đổi"].astype(int), reverse=True) == sorted(
        Counter((r[1], r[2]) for r in PLANTED).values(), reverse=True)
    labels = at.selectbox[0].options
    assert labels[0] == "1A · Toán · Cô Lan · 3 thay đổi, 3 chưa duyệt"
    assert not any(code in "\n".join(labels) for code in ("PC_", "TOAN", "PCNL", "L1A", "20270"))
    assert "Phẩm chất, năng lực" in labels[1]
    values = at.dataframe[0].value
    assert set(values["Trước → sau"]) == {"T → H", "9 → 5", "– → H"}
    assert [m.value for m in at.metric] == [str(len(PLANTED)), str(len(PLANTED)), "5"]
    at.text_area[0].input("Nhập nhầm, đối chiếu bài kiểm tra")
    next(b for b in at.button if b.label == "Ghi nhận yêu cầu cho 3 giá trị").click().run()
    assert not at.exception and [s.value for s in at.success] == [
        "Đã ghi nhận yêu cầu cho 3 giá trị; chờ hiệu trưởng duyệt."], at.error

    at = tabs.open_tab(page("principal"), i18n.t("changes.tab_requests"))
    [picker] = [s for s in at.selectbox if s.label == "Yêu cầu"]
    assert len(picker.options) == 1 and picker.options[0].startswith(
        "Lớp 1A · Toán · Cô Lan · 3 giá trị · đề nghị: Cô Lan · ")
    next(b for b in at.button if b.label == "Đồng ý").click().run()
    assert not at.exception and at.success[0].value.startswith("Đã ghi quyết định cho 3 giá trị")
    tabs.open_tab(at, i18n.t("changes.tab_after"))
    assert [m.value for m in at.metric] == [str(len(PLANTED)), str(len(PLANTED) - 3), "4"]
    after = changes.after_lock(tmp_path, snapshots.latest_snapshot(tmp_path), "S1")
    assert len(changes.not_approved(after)) == len(PLANTED) - 3
    assert [r["action"] for r in records.audit_entries(tmp_path)][:2] == [
        "change_decision", "change_request_group"]
