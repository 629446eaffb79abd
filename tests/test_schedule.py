"""Lock schedule and lock events (csdl/schedule.py), and the schedule page for an administrator."""
import io
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from csdl import demo, district, i18n, progress, records, schedule, scope
from csdl.config import REPO_ROOT
from csdl.problems import ImportRefused
from tests.conftest import bind_session

YEAR = "2026-2027"
GK1 = (date(2026, 10, 26), date(2026, 11, 7), date(2026, 11, 10))
CK1 = (date(2026, 12, 29), date(2027, 1, 14), date(2027, 1, 17))
LOCK_AT = datetime(2026, 11, 10, 17, 0)


def rows(data_dir, year=YEAR, school_id=None):
    """A school's schedule (None: the shared one) as plain tuples (period, grade or None,
    opens, deadline, lock)."""
    df = schedule.windows(data_dir, year, school_id=school_id)
    return [(r.period, None if pd.isna(r.grade) else int(r.grade), r.opens, r.deadline, r.lock)
            for r in df.itertuples()]


def audit_actions(data_dir):
    return [r["action"] for r in records.audit_entries(data_dir)]


# --- validation ------------------------------------------------------------------------------

def test_one_day_for_opening_deadline_and_lock_is_allowed(tmp_path):
    day = date(2026, 11, 10)
    schedule.set_window(tmp_path, YEAR, "GK1", None, day, day, day, "qt")
    assert rows(tmp_path) == [("GK1", None, day, day, day)]


def test_first_and_last_day_of_the_school_year_are_inside(tmp_path):
    schedule.set_window(tmp_path, YEAR, "CN", 5, date(2026, 8, 1), date(2027, 7, 31),
                        date(2027, 7, 31), "qt")
    assert schedule.window_for(tmp_path, YEAR, "CN", 5) == (date(2026, 8, 1), date(2027, 7, 31),
                                                             date(2027, 7, 31))


@pytest.mark.parametrize("year,period,grade,dates,key,field", [
    (YEAR, "GK1", None, (date(2026, 11, 8), date(2026, 11, 7), date(2026, 11, 10)),
     "problem.schedule_deadline_before_opens", "deadline"),
    (YEAR, "GK1", None, (date(2026, 10, 26), date(2026, 11, 7), date(2026, 11, 6)),
     "problem.schedule_lock_before_deadline", "lock"),
    (YEAR, "GK1", None, (date(2026, 7, 31), date(2026, 11, 7), date(2026, 11, 10)),
     "problem.schedule_outside_year", "opens"),
    (YEAR, "CN", None, (date(2027, 5, 10), date(2027, 5, 22), date(2027, 8, 1)),
     "problem.schedule_outside_year", "lock"),
    (YEAR, "GK3", None, GK1, "problem.schedule_bad_period", "period"),
    (YEAR, "GK1", 6, GK1, "problem.schedule_bad_grade", "grade"),
    (YEAR, "GK1", 0, GK1, "problem.schedule_bad_grade", "grade"),
    (YEAR, "GK1", 4.5, GK1, "problem.schedule_bad_grade", "grade"),
    (YEAR, "GK1", "bốn", GK1, "problem.schedule_bad_grade", "grade"),
    ("2026-2028", "GK1", None, GK1, "problem.schedule_bad_year", "school_year"),
])
def test_bad_rows_are_refused_naming_row_and_field(tmp_path, year, period, grade, dates, key,
                                                    field):
    with pytest.raises(schedule.ScheduleError) as exc:
        schedule.set_window(tmp_path, year, period, grade, *dates, "qt")
    assert exc.value.key == key
    assert exc.value.field == field
    assert exc.value.params["period"] == (period if period != "GK3" else None)
    # The message names the row and the field, in both languages, with no leftover {braces}.
    for lang in i18n.LANGS:
        text = exc.value.message(lang)
        assert i18n.t(f"schedule.field_{field}", lang) in text and "{" not in text
    assert rows(tmp_path) == [] and "schedule_set" not in audit_actions(tmp_path)


def test_message_names_the_grade_row(tmp_path):
    with pytest.raises(schedule.ScheduleError) as exc:
        schedule.set_window(tmp_path, YEAR, "GK1", 4, GK1[1], GK1[0], GK1[2], "qt")
    assert exc.value.message("vi") == "GK1, khối 4 — Hạn nhập: 26/10/2026 trước ngày mở nhập (07/11/2026)"
    assert exc.value.message("en").startswith("GK1, grade 4 — Entry deadline: ")


# --- the schedule ----------------------------------------------------------------------------

def test_a_grade_row_overrides_the_whole_school(tmp_path):
    grade1 = (date(2026, 10, 26), date(2026, 11, 12), date(2026, 11, 14))
    schedule.set_window(tmp_path, YEAR, "GK1", None, *GK1, "qt")
    schedule.set_window(tmp_path, YEAR, "GK1", 1, *grade1, "qt")
    assert schedule.window_for(tmp_path, YEAR, "GK1", 1) == grade1
    assert schedule.window_for(tmp_path, YEAR, "GK1", "1") == grade1  # as a form or a file gives it
    assert schedule.window_for(tmp_path, YEAR, "GK1", 2) == GK1
    assert schedule.window_for(tmp_path, YEAR, "GK1", None) == GK1
    assert schedule.window_for(tmp_path, YEAR, "CK1", 1) is None
    assert schedule.window_for(tmp_path, "2025-2026", "GK1", 1) is None
    assert schedule.delete_window(tmp_path, YEAR, "GK1", 1, "qt") is True
    assert schedule.delete_window(tmp_path, YEAR, "GK1", 1, "qt") is False
    assert schedule.window_for(tmp_path, YEAR, "GK1", 1) == GK1


def test_setting_a_row_again_replaces_it_and_rows_come_in_order(tmp_path):
    schedule.set_window(tmp_path, YEAR, "CK1", None, *CK1, "qt")
    schedule.set_window(tmp_path, YEAR, "GK1", 3, *GK1, "qt")
    schedule.set_window(tmp_path, YEAR, "GK1", None, *GK1, "qt")
    later = (GK1[0], GK1[1], date(2026, 11, 12))
    schedule.set_window(tmp_path, YEAR, "GK1", None, *later, "qt")
    assert rows(tmp_path) == [("GK1", None, *later), ("GK1", 3, *GK1), ("CK1", None, *CK1)]
    df = schedule.windows(tmp_path, YEAR)
    assert list(df.columns[:5]) == ["period", "grade", "opens", "deadline", "lock"]
    assert type(df["opens"].iloc[0]) is date
    assert set(df["updated_by"]) == {"qt"}
    assert schedule.school_years(tmp_path) == [YEAR]


# --- Excel -----------------------------------------------------------------------------------

def filled(tmp_path):
    schedule.set_window(tmp_path, YEAR, "GK1", None, *GK1, "qt")
    schedule.set_window(tmp_path, YEAR, "CK1", None, *CK1, "qt")
    schedule.set_window(tmp_path, YEAR, "CK1", 5, CK1[0], CK1[1], date(2027, 1, 20), "qt")
    return tmp_path


def test_export_is_a_vietnamese_sheet_with_dd_mm_yyyy_dates(tmp_path):
    book = openpyxl.load_workbook(io.BytesIO(schedule.export_excel(filled(tmp_path), YEAR)))
    sheet = book["Lịch khóa sổ"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["Năm học", "Đợt", "Khối (để trống = toàn trường)", "Mở nhập",
                         "Hạn nhập", "Khóa sổ"]
    assert values[1][:3] == [YEAR, "GK1", None]
    assert values[3][:3] == [YEAR, "CK1", 5]
    assert sheet["D2"].number_format == "dd/mm/yyyy"
    assert values[1][3].date() == GK1[0]


def test_excel_round_trip(tmp_path):
    source = filled(tmp_path / "a")
    content = schedule.export_excel(source, YEAR)
    target = tmp_path / "b"
    schedule.set_window(target, YEAR, "CN", None, date(2027, 5, 10), date(2027, 5, 22),
                        date(2027, 5, 25), "qt")  # replaced by the file's rows
    assert schedule.import_excel(target, content, "qt", school_year=YEAR) == 3
    assert rows(target) == rows(source)


def workbook(rows_: list[list], title: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Lịch khóa sổ"
    if title:
        sheet.append([title])
    sheet.append(["Năm học", "Đợt", "Khối\n(để trống = toàn trường)", "Mở nhập", "Hạn nhập",
                  "Khóa sổ"])
    for row in rows_:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_import_accepts_names_text_serial_and_date_cells(tmp_path):
    content = workbook([
        [YEAR, "Giữa học kỳ I", None, "26/10/2026", "2026-11-07", 46336],  # 46336 = 10/11/2026
        [YEAR, "Cuối học kỳ 1", "", datetime(2026, 12, 29), date(2027, 1, 14), "17/01/2027"],
        [YEAR, "Giữa học kỳ 2", 4, "15/03/2027", "27/03/2027", "30/03/2027"],
        [None, None, None, None, None, None],  # blank rows are skipped
        [YEAR, "Cuối năm học", "Khối 5", "10/05/2027", "22/05/2027", "25/05/2027"],
    ], title="LỊCH KHÓA SỔ NĂM HỌC 2026-2027")
    assert schedule.import_excel(tmp_path, content, "qt") == 4
    assert rows(tmp_path) == [
        ("GK1", None, *GK1), ("CK1", None, *CK1),
        ("GK2", 4, date(2027, 3, 15), date(2027, 3, 27), date(2027, 3, 30)),
        ("CN", 5, date(2027, 5, 10), date(2027, 5, 22), date(2027, 5, 25))]


def test_a_file_with_bad_rows_is_refused_whole_and_changes_nothing(tmp_path):
    filled(tmp_path)
    before = rows(tmp_path)
    audit_before = audit_actions(tmp_path)
    content = workbook([
        [YEAR, "GK1", None, "26/10/2026", "07/11/2026", "10/11/2026"],  # good
        [YEAR, "CK1", None, "29/12/2026", "14/01/2027", "17/01/2027"],  # good
        [YEAR, "GK2", None, "28/03/2027", "27/03/2027", "30/03/2027"],  # deadline before opens
        [YEAR, "Giữa kỳ ba", 7, "32/05/2027", "22/05/2027", "25/05/2026"],  # four bad cells
        [YEAR, "GK1", None, "26/10/2026", "07/11/2026", "10/11/2026"],  # repeats row 2
    ])
    with pytest.raises(ImportRefused) as refused:
        schedule.import_excel(tmp_path, content, "qt", school_year=YEAR, file_name="lich.xlsx")
    found = {(p.row, p.column, p.code) for p in refused.value.problems}
    assert found == {
        (4, "E (Hạn nhập)", "schedule_deadline_before_opens"),
        (5, "B (Đợt)", "schedule_bad_period"),
        (5, "C (Khối)", "schedule_bad_grade"),
        (5, "D (Mở nhập)", "schedule_bad_date"),
        (5, "F (Khóa sổ)", "schedule_outside_year"),
        (6, "B (Đợt)", "schedule_duplicate_row"),
    }
    assert all(p.sheet == "Lịch khóa sổ" for p in refused.value.problems)
    assert any(p.message("vi") == 'lich.xlsx, trang tính Lịch khóa sổ, dòng 5, cột D (Mở nhập): '
               'Ngày "32/05/2027" không hợp lệ (cần dd/mm/yyyy)' for p in refused.value.problems)
    for p in refused.value.problems:  # every message is in the table, both languages
        for lang in i18n.LANGS:
            assert not i18n.t("problem." + p.code, lang, **p.params).startswith("problem.")
    assert rows(tmp_path) == before
    assert audit_actions(tmp_path) == audit_before


def test_a_file_of_another_year_or_not_a_schedule_is_refused(tmp_path):
    other = workbook([["2025-2026", "GK1", None, "27/10/2025", "08/11/2025", "11/11/2025"]])
    with pytest.raises(ImportRefused) as refused:
        schedule.import_excel(tmp_path, other, "qt", school_year=YEAR)
    assert [(p.row, p.code) for p in refused.value.problems] == [(2, "schedule_other_year")]
    with pytest.raises(ImportRefused) as refused:
        schedule.import_excel(tmp_path, b"not a spreadsheet", "qt", school_year=YEAR)
    assert refused.value.problems[0].code == "not_spreadsheet"
    book = openpyxl.Workbook()
    book.active.append(["Họ tên", "Ngày sinh"])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(ImportRefused) as refused:
        schedule.import_excel(tmp_path, buffer.getvalue(), "qt", school_year=YEAR)
    assert refused.value.problems[0].code == "schedule_columns_missing"
    assert rows(tmp_path) == []


# --- lock events and the lock state ----------------------------------------------------------

@pytest.fixture
def locked_school(tmp_path):
    schedule.set_window(tmp_path, YEAR, "GK1", None, *GK1, "qt")
    schedule.record_event(tmp_path, YEAR, "GK1", "lock", "school", None, LOCK_AT, None, "qt")
    return tmp_path


def state(data_dir, grade, class_id, at, period="GK1"):
    return schedule.lock_state(data_dir, YEAR, period, grade, class_id, at)


def test_schedule_decides_where_no_event_applies(locked_school):
    before_lock_day = state(locked_school, 4, "L4A", datetime(2026, 11, 9, 23, 59))
    assert before_lock_day == schedule.LockState(False, None, None, None, None)
    lock_morning = state(locked_school, 4, "L4A", datetime(2026, 11, 10, 8, 0))
    assert lock_morning == schedule.LockState(True, datetime(2026, 11, 10), None, None, "schedule")
    assert state(locked_school, 4, "L4A", datetime(2027, 1, 20), period="CK1").locked is False


def test_school_lock_covers_every_class(locked_school):
    for grade, class_id in ((1, "L1A"), (4, "L4A"), (None, None)):
        got = state(locked_school, grade, class_id, LOCK_AT)
        assert got == schedule.LockState(True, LOCK_AT, "qt", None, "event")


def test_grade_and_class_scopes_cover_only_their_classes(locked_school):
    d = locked_school
    schedule.record_event(d, YEAR, "GK1", "unlock", "grade", 4, datetime(2026, 11, 12, 8, 0),
                          "Sửa điểm khối 4", "qt")
    schedule.record_event(d, YEAR, "GK1", "lock", "class", "L4B", datetime(2026, 11, 12, 9, 0),
                          None, "qt")
    at = datetime(2026, 11, 12, 10, 0)
    grade4 = state(d, 4, "L4A", at)
    assert (grade4.locked, grade4.since, grade4.reason) == (False, datetime(2026, 11, 12, 8, 0),
                                                            "Sửa điểm khối 4")
    assert state(d, 4, "L4B", at).locked is True  # its own later lock
    assert state(d, 1, "L1A", at).since == LOCK_AT  # the school's lock still holds
    assert state(d, 4, "L4A", datetime(2026, 11, 12, 7, 0)).locked is True  # before the unlock


def test_unlock_one_class_then_relock(locked_school):
    d = locked_school
    schedule.record_event(d, YEAR, "GK1", "unlock", "class", "L4A", datetime(2026, 11, 13, 17),
                          "GVCN báo nhập nhầm; hiệu trưởng đồng ý", "ht")
    schedule.record_event(d, YEAR, "GK1", "lock", "class", "L4A", datetime(2026, 11, 14, 17),
                          None, "qt")
    opened = state(d, 4, "L4A", datetime(2026, 11, 14, 9))
    assert opened == schedule.LockState(False, datetime(2026, 11, 13, 17), "ht",
                                        "GVCN báo nhập nhầm; hiệu trưởng đồng ý", "event")
    assert state(d, 4, "L4B", datetime(2026, 11, 14, 9)).locked is True
    relocked = state(d, 4, "L4A", datetime(2026, 11, 20))
    assert (relocked.locked, relocked.since, relocked.by) == (True, datetime(2026, 11, 14, 17), "qt")
    # Events of another period or year do not apply.
    assert state(d, 4, "L4A", datetime(2027, 1, 20), period="CK1").locked is False


def test_later_record_wins_a_tie(locked_school):
    schedule.record_event(locked_school, YEAR, "GK1", "unlock", "school", None, LOCK_AT,
                          "Nhầm giờ", "qt")
    assert state(locked_school, 1, "L1A", LOCK_AT).locked is False


def test_lock_states_table_matches_lock_state(locked_school):
    d = locked_school
    schedule.set_window(d, YEAR, "GK1", 1, GK1[0], GK1[1], date(2026, 11, 8), "qt")
    schedule.record_event(d, YEAR, "GK1", "unlock", "class", "L4A", datetime(2026, 11, 13, 17),
                          "Sửa", "qt")
    classes = pd.DataFrame({"class_id": ["L1A", "L4A"], "class_name": ["1A", "4A"],
                            "grade": [1, 4]})
    for at in (datetime(2026, 11, 9, 12), datetime(2026, 11, 14)):
        table = schedule.lock_states(d, YEAR, classes, at)
        assert len(table) == 8
        for r in table.itertuples():
            assert schedule.LockState(r.locked, r.since, r.by, r.reason, r.source) == \
                state(d, r.grade, r.class_id, at, period=r.period)
    # Grade 1's own lock day (08/11) applies to 1A only.
    table = schedule.lock_states(d, YEAR, classes, datetime(2026, 11, 9, 12))
    assert list(table.loc[table["period"] == "GK1", "locked"]) == [True, False]


@pytest.mark.parametrize("action,scope,value,reason,key,field", [
    ("unlock", "school", None, "  ", "problem.schedule_reason_required", "reason"),
    ("lock", "grade", None, None, "problem.schedule_scope_value_required", "scope_value"),
    ("lock", "class", "", None, "problem.schedule_scope_value_required", "scope_value"),
    ("lock", "grade", 7, None, "problem.schedule_bad_grade", "scope_value"),
    ("close", "school", None, None, "problem.schedule_bad_action", "action"),
    ("lock", "district", None, None, "problem.schedule_bad_scope", "scope"),
])
def test_bad_events_are_refused(tmp_path, action, scope, value, reason, key, field):
    with pytest.raises(schedule.ScheduleError) as exc:
        schedule.record_event(tmp_path, YEAR, "GK1", action, scope, value, LOCK_AT, reason, "qt")
    assert (exc.value.key, exc.value.field) == (key, field)
    assert exc.value.message("vi").startswith("GK1 — ")
    assert schedule.events(tmp_path, YEAR).empty


def test_event_outside_the_school_year_is_refused(tmp_path):
    with pytest.raises(schedule.ScheduleError) as exc:
        schedule.record_event(tmp_path, YEAR, "GK1", "lock", "school", None,
                              datetime(2027, 8, 1, 9), None, "qt")
    assert exc.value.key == "problem.schedule_outside_year"


def test_events_listed_oldest_first_by_period(locked_school):
    schedule.record_event(locked_school, YEAR, "CK1", "lock", "school", None,
                          datetime(2027, 1, 17, 17), "", "qt")
    all_events = schedule.events(locked_school, YEAR)
    assert list(all_events["period"]) == ["GK1", "CK1"]
    assert all_events["reason"].iloc[1] is None  # a blank reason is stored as none
    assert list(schedule.events(locked_school, YEAR, "CK1")["at"]) == [datetime(2027, 1, 17, 17)]
    assert schedule.events(locked_school, "2025-2026").empty


# --- audit and the demo ----------------------------------------------------------------------

def test_every_write_is_audited_with_its_actor(tmp_path):
    schedule.set_window(tmp_path, YEAR, "GK1", None, *GK1, "quantri")
    schedule.delete_window(tmp_path, YEAR, "GK1", None, "quantri")
    schedule.import_excel(tmp_path, schedule.export_excel(filled(tmp_path / "x"), YEAR),
                          "quantri", school_year=YEAR)
    schedule.record_event(tmp_path, YEAR, "GK1", "lock", "school", None, LOCK_AT, None, "quantri")
    entries = records.audit_entries(tmp_path)
    assert [e["action"] for e in entries] == ["lock_event", "schedule_import", "schedule_delete",
                                              "schedule_set"]
    assert {e["actor"] for e in entries} == {"quantri"}
    assert '"period": "GK1"' in entries[-1]["detail"]


def test_store_demo_schedule_is_idempotent(tmp_path):
    schedule.store_demo_schedule(tmp_path)
    first = (rows(tmp_path, "2025-2026"), rows(tmp_path), schedule.events(tmp_path, YEAR),
             len(records.audit_entries(tmp_path)))
    schedule.store_demo_schedule(tmp_path)
    assert rows(tmp_path, "2025-2026") == first[0] and rows(tmp_path) == first[1]
    assert schedule.events(tmp_path, YEAR).equals(first[2])
    assert len(records.audit_entries(tmp_path)) == first[3]
    assert rows(tmp_path) == [(r["period"], None, r["opens"], r["deadline"], r["lock"])
                              for r in demo.demo_schedule(YEAR)]
    previous = schedule.events(tmp_path, "2025-2026")
    assert list(previous["action"]) == ["lock"] * 4 and set(previous["recorded_by"]) == {"quantri"}
    assert [t.hour for t in previous["at"]] == [17] * 4
    this_year = first[2]
    assert list(zip(this_year["action"], this_year["scope"])) == [
        ("lock", "school"), ("unlock", "class"), ("lock", "class")]
    assert this_year["at"].iloc[0] == datetime(2026, 11, 10, 17)
    assert this_year["reason"].iloc[1]  # the unlock says why


def test_demo_locks_tell_why_and_who(tmp_path):
    schedule.store_demo_schedule(tmp_path)
    corrected = schedule.events(tmp_path, YEAR)["scope_value"].iloc[1]
    assert corrected.startswith("DEMO01-") and corrected.endswith("-4A")
    during = state(tmp_path, 4, corrected, datetime(2026, 11, 14, 9))
    assert (during.locked, during.by, during.source) == (False, "quantri", "event")
    assert state(tmp_path, 4, corrected, datetime(2027, 1, 8, 17)).locked is True
    assert state(tmp_path, 4, corrected, datetime(2027, 1, 8, 17), period="CK1").locked is False


# --- the page --------------------------------------------------------------------------------

def page(data_dir, monkeypatch, role: str) -> AppTest:
    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(REPO_ROOT / "pages/schedule.py"), default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = f"test_{role}"
    at.session_state["name"] = "Người thử"
    at.session_state["roles"] = [role]
    bind_session(at)  # the account and its school, in users.yaml
    return at.run()


def date_inputs(at: AppTest) -> dict:
    return {d.label: d for d in at.date_input}


def test_admin_saves_a_window_through_the_page(small_snapshot, monkeypatch):
    data_dir, _ = small_snapshot
    at = page(data_dir, monkeypatch, "admin")
    assert not at.exception, at.exception
    at.selectbox(key="edit_period").set_value("GK1")
    at.selectbox(key="edit_grade").set_value(4).run()  # the row's form appears
    inputs = date_inputs(at)
    inputs["Mở nhập"].set_value(GK1[1])
    inputs["Hạn nhập"].set_value(GK1[0])  # before entry opens: refused, nothing written
    inputs["Khóa sổ"].set_value(GK1[2])
    assert any("lịch chung" in c.value for c in at.caption)  # nothing of its own yet
    [b for b in at.button if b.label == "Lưu"][0].click().run()
    assert not at.exception, at.exception
    assert any("trước ngày mở nhập" in e.value for e in at.error)
    assert rows(data_dir, school_id="S1") == [] and not schedule.keeps_own(data_dir, YEAR, "S1")
    inputs = date_inputs(at)
    inputs["Mở nhập"].set_value(GK1[0])
    inputs["Hạn nhập"].set_value(GK1[1])
    inputs["Khóa sổ"].set_value(GK1[2])
    [b for b in at.button if b.label == "Lưu"][0].click().run()
    assert not at.exception, at.exception
    # The account's school (S1) got the row; the shared schedule and S2 did not.
    assert rows(data_dir, school_id="S1") == [("GK1", 4, *GK1)]
    assert rows(data_dir) == [] and rows(data_dir, school_id="S2") == []
    assert any("Đã lưu lịch" in s.value for s in at.success)
    assert any("lịch riêng của trường" in c.value for c in at.caption)
    shown = at.dataframe[0].value
    assert list(shown.iloc[0])[:5] == ["Giữa học kỳ I (GK1)", "Khối 4", "26/10/2026",
                                       "07/11/2026", "10/11/2026"]
    entry = records.audit_entries(data_dir)[0]
    assert (entry["action"], entry["actor"]) == ("schedule_set", "test_admin")
    assert '"school_id": "S1"' in entry["detail"]


def test_admin_deletes_a_shared_row_for_the_school_only_and_goes_back(small_snapshot,
                                                                       monkeypatch):
    data_dir, _ = small_snapshot
    schedule.set_window(data_dir, YEAR, "GK1", None, *GK1, "qt")
    schedule.set_window(data_dir, YEAR, "CK1", None, *CK1, "qt")
    at = page(data_dir, monkeypatch, "admin")
    assert any(c.value.startswith("Đây là lịch chung") for c in at.caption)
    assert any("chép lịch chung" in c.value for c in at.caption)
    at.selectbox(key="edit_period").set_value("GK1")
    at.selectbox(key="edit_grade").set_value(None).run()
    at.button(key="delete_window").click().run()
    assert not at.exception, at.exception
    assert rows(data_dir, school_id="S1") == [("CK1", None, *CK1)]
    assert rows(data_dir, school_id="S2") == [("GK1", None, *GK1), ("CK1", None, *CK1)]
    assert any(c.value.startswith("Đây là lịch riêng") for c in at.caption)
    at.button(key="use_shared").click().run()
    assert not at.exception, at.exception
    assert not schedule.keeps_own(data_dir, YEAR, "S1")
    assert rows(data_dir, school_id="S1") == rows(data_dir)
    assert any("dùng lại lịch chung" in s.value for s in at.success)
    assert [r["action"] for r in records.audit_entries(data_dir)][:2] == [
        "schedule_use_shared", "schedule_delete"]


def test_admin_records_an_unlock_and_sees_the_state(small_snapshot, monkeypatch):
    data_dir, _ = small_snapshot
    schedule.set_window(data_dir, YEAR, "GK1", None, *GK1, "qt")
    schedule.record_event(data_dir, YEAR, "GK1", "lock", "school", None, LOCK_AT, None, "qt")
    at = page(data_dir, monkeypatch, "admin")
    at.radio(key="event_scope").set_value("class").run()
    at.selectbox(key="event_period").set_value("GK1")
    form = {w.label: w for kind in ("radio", "selectbox", "date_input", "time_input")
            for w in getattr(at, kind)}
    form["Việc"].set_value("unlock")
    form["Lớp"].set_value("L4A")
    form["Ngày"].set_value(date(2026, 11, 13))
    form["Giờ"].set_value(datetime(2026, 11, 13, 17).time())
    [b for b in at.button if b.label == "Ghi lại"][0].click().run()
    assert any("Mở khóa cần ghi lý do" in e.value for e in at.error)
    assert len(schedule.events(data_dir, YEAR)) == 1
    form = {w.label: w for w in at.text_area}
    form["Lý do"].input("Sửa điểm Toán, hiệu trưởng đồng ý")
    [b for b in at.button if b.label == "Ghi lại"][0].click().run()
    assert not at.exception, at.exception
    recorded = schedule.events(data_dir, YEAR)
    assert list(recorded["scope_value"]) == [None, "L4A"]
    assert recorded["recorded_by"].iloc[1] == "test_admin"
    # The status at a chosen time after the unlock: 4A open, why and by whom; 1A still locked.
    when = [r for r in at.radio if r.label == "Xem tình trạng lúc"][0]
    when.set_value("chosen").run()
    at.date_input(key="state_day").set_value(date(2026, 11, 20))
    at.time_input(key="state_time").set_value(datetime(2026, 11, 20, 8).time()).run()
    status = at.dataframe[-1].value
    gk1 = status[status["Đợt"] == "Giữa học kỳ I (GK1)"].set_index("Lớp")
    assert gk1.loc["4A", "Tình trạng"] == "🔓 Đã mở khóa"
    assert gk1.loc["4A", "Từ lúc"] == "13/11/2026 17:00"
    assert gk1.loc["4A", "Người khóa / mở"] == "test_admin"
    assert gk1.loc["4A", "Lý do"] == "Sửa điểm Toán, hiệu trưởng đồng ý"
    assert gk1.loc["1A", "Tình trạng"] == "🔒 Đã khóa"


@pytest.mark.parametrize("role", ["principal", "vice_principal"])
def test_principal_and_vice_principal_only_read(small_snapshot, monkeypatch, role):
    data_dir, _ = small_snapshot
    schedule.set_window(data_dir, YEAR, "GK1", None, *GK1, "qt")
    at = page(data_dir, monkeypatch, role)
    assert not at.exception, at.exception
    labels = {b.label for b in at.button}
    assert "Lưu" not in labels and "Ghi lại" not in labels
    assert not at.date_input or all(d.key in ("state_day",) for d in at.date_input)
    assert at.dataframe[0].value.iloc[0, 0] == "Giữa học kỳ I (GK1)"


# --- one schedule per school -----------------------------------------------------------------

SHARED = [("GK1", None, *GK1), ("CK1", None, *CK1), ("CK1", 5, CK1[0], CK1[1], date(2027, 1, 20))]
EARLIER_CK1 = (CK1[0], date(2027, 1, 7), date(2027, 1, 10))


def test_a_schools_edit_changes_only_its_own_schedule(tmp_path):
    filled(tmp_path)  # the shared schedule: S1 and S2 follow it
    assert rows(tmp_path, school_id="S1") == rows(tmp_path, school_id="S2") == SHARED
    assert not schedule.keeps_own(tmp_path, YEAR, "S1")
    schedule.set_window(tmp_path, YEAR, "CK1", None, *EARLIER_CK1, "s1_admin", school_id="S1")
    # S1: the shared rows copied, then its edit; S2 and the shared schedule keep the old dates.
    assert rows(tmp_path, school_id="S1") == [SHARED[0], ("CK1", None, *EARLIER_CK1), SHARED[2]]
    assert rows(tmp_path, school_id="S2") == rows(tmp_path) == SHARED
    assert schedule.window_for(tmp_path, YEAR, "CK1", 1, school_id="S1") == EARLIER_CK1
    assert schedule.window_for(tmp_path, YEAR, "CK1", 1, school_id="S2") == CK1
    assert schedule.window_for(tmp_path, YEAR, "CK1", 5, school_id="S1") == SHARED[2][2:]
    assert (schedule.keeps_own(tmp_path, YEAR, "S1"), schedule.keeps_own(tmp_path, YEAR, "S2")) \
        == (True, False)
    # The copied rows say who last set their dates; the edited one says who edited it.
    s1 = schedule.windows(tmp_path, YEAR, school_id="S1")
    assert list(s1["updated_by"]) == ["qt", "s1_admin", "qt"]
    # A second edit changes S1's copy only; nothing is copied again.
    schedule.set_window(tmp_path, YEAR, "GK1", 4, *GK1, "s1_admin", school_id="S1")
    assert len(rows(tmp_path, school_id="S1")) == 4 and rows(tmp_path) == SHARED
    first, second = records.audit_entries(tmp_path)[1::-1]
    assert '"school_id": "S1"' in first["detail"] and '"copied_shared": 3' in first["detail"]
    assert '"school_id": "S1"' in second["detail"] and "copied_shared" not in second["detail"]
    # The lock day of each school's own schedule decides where no event applies.
    at = datetime(2027, 1, 12, 9)
    assert schedule.lock_state(tmp_path, YEAR, "CK1", 1, "L1A", at, "S1").locked is True
    assert schedule.lock_state(tmp_path, YEAR, "CK1", 1, "X1", at, "S2").locked is False
    assert schedule.school_years(tmp_path, school_id="S2") == [YEAR]


def test_a_schools_deletion_leaves_the_other_schools_alone(tmp_path):
    filled(tmp_path)
    assert schedule.delete_window(tmp_path, YEAR, "GK1", None, "s1_admin", school_id="S1")
    assert rows(tmp_path, school_id="S1") == SHARED[1:]
    assert schedule.window_for(tmp_path, YEAR, "GK1", 1, school_id="S1") is None
    assert rows(tmp_path, school_id="S2") == rows(tmp_path) == SHARED
    assert schedule.window_for(tmp_path, YEAR, "GK1", 1, school_id="S2") == GK1
    assert not schedule.delete_window(tmp_path, YEAR, "GK1", None, "s1_admin", school_id="S1")
    # A row no schedule holds: nothing is copied, written or audited.
    audited = len(records.audit_entries(tmp_path))
    assert not schedule.delete_window(tmp_path, YEAR, "GK2", None, "x",
                                      school_id="S2")
    assert not schedule.keeps_own(tmp_path, YEAR, "S2")
    assert len(records.audit_entries(tmp_path)) == audited
    # Deleting its last rows leaves S1 with an empty schedule, not the shared one again ...
    for period, grade, *_ in SHARED[1:]:
        schedule.delete_window(tmp_path, YEAR, period, grade, "s1_admin", school_id="S1")
    assert rows(tmp_path, school_id="S1") == [] and schedule.keeps_own(tmp_path, YEAR, "S1")
    # ... until the school chooses the shared schedule again.
    assert schedule.use_shared(tmp_path, YEAR, "S1", "s1_admin") is True
    assert rows(tmp_path, school_id="S1") == SHARED
    assert schedule.use_shared(tmp_path, YEAR, "S1", "s1_admin") is False
    assert rows(tmp_path, school_id="S2") == rows(tmp_path) == SHARED


def test_a_schools_import_replaces_only_its_own_schedule(tmp_path):
    filled(tmp_path)
    content = workbook([
        [YEAR, "GK1", None, "26/10/2026", "05/11/2026", "09/11/2026"],
        [YEAR, "CK1", None, "29/12/2026", "07/01/2027", "10/01/2027"],
    ])
    assert schedule.import_excel(tmp_path, content, "s1_admin", school_year=YEAR,
                                 school_id="S1") == 2
    assert rows(tmp_path, school_id="S1") == [
        ("GK1", None, GK1[0], date(2026, 11, 5), date(2026, 11, 9)),
        ("CK1", None, *EARLIER_CK1)]  # the file's rows only: CK1 grade 5 is gone for S1
    assert rows(tmp_path, school_id="S2") == rows(tmp_path) == SHARED
    entry = records.audit_entries(tmp_path)[0]
    assert entry["action"] == "schedule_import" and '"school_id": "S1"' in entry["detail"]
    # Its export is its own schedule; S2's is the shared one.
    exported = schedule.export_excel(tmp_path, YEAR, school_id="S1")
    other = tmp_path / "other"
    schedule.import_excel(other, exported, "qt", school_year=YEAR)
    assert rows(other) == rows(tmp_path, school_id="S1")
    assert schedule.export_excel(tmp_path, YEAR, school_id="S2") == \
        schedule.export_excel(tmp_path, YEAR)
    # The shared schedule can still be replaced from the library (the CLI, the demo).
    schedule.import_excel(tmp_path, content, "qt", school_year=YEAR)
    assert rows(tmp_path) == rows(tmp_path, school_id="S2") == rows(tmp_path, school_id="S1")


def test_an_account_of_one_school_cannot_read_or_change_anothers_schedule(tmp_path):
    filled(tmp_path)
    schedule.set_window(tmp_path, YEAR, "CK1", None, *EARLIER_CK1, "s2_admin", school_id="S2")
    before = (rows(tmp_path), rows(tmp_path, school_id="S1"), rows(tmp_path, school_id="S2"),
              len(records.audit_entries(tmp_path)))
    content = schedule.export_excel(tmp_path, YEAR)
    with scope.restricted(["S1"]):
        for read in (lambda: schedule.windows(tmp_path, YEAR, school_id="S2"),
                     lambda: schedule.window_for(tmp_path, YEAR, "CK1", 1, school_id="S2"),
                     lambda: schedule.school_years(tmp_path, school_id="S2"),
                     lambda: schedule.export_excel(tmp_path, YEAR, school_id="S2"),
                     lambda: schedule.keeps_own(tmp_path, YEAR, "S2"),
                     lambda: schedule.windows_of_schools(tmp_path, YEAR, ["S1", "S2"]),
                     lambda: schedule.lock_state(tmp_path, YEAR, "CK1", 1, "X1",
                                                 datetime(2027, 1, 12), "S2")):
            with pytest.raises(scope.ScopeError):
                read()
        for write in (
                lambda: schedule.set_window(tmp_path, YEAR, "GK1", None, *GK1, "x",
                                            school_id="S2"),
                lambda: schedule.delete_window(tmp_path, YEAR, "CK1", None, "x", school_id="S2"),
                lambda: schedule.import_excel(tmp_path, content, "x", school_year=YEAR,
                                              school_id="S2"),
                lambda: schedule.use_shared(tmp_path, YEAR, "S2", "x"),
                # nor the shared schedule, which every school without its own follows
                lambda: schedule.set_window(tmp_path, YEAR, "GK1", None, *GK1, "x"),
                lambda: schedule.delete_window(tmp_path, YEAR, "GK1", None, "x"),
                lambda: schedule.import_excel(tmp_path, content, "x", school_year=YEAR)):
            with pytest.raises(scope.ScopeError):
                write()
        # Its own school, and the shared dates it follows, it may read.
        assert rows(tmp_path, school_id="S1") == rows(tmp_path) == SHARED
    assert before == (rows(tmp_path), rows(tmp_path, school_id="S1"),
                      rows(tmp_path, school_id="S2"), len(records.audit_entries(tmp_path)))


def test_progress_follows_each_schools_own_dates(small_snapshot):
    data_dir, info = small_snapshot  # taken 08/01/2027 17:00; S1 and S2 have CK1 gaps

    def statuses(school_id):
        units = progress.compute(data_dir, info, school_id, "CK1")
        return dict(zip(zip(units["class_id"], units["item_code"]), units["status"]))

    schedule.set_window(data_dir, YEAR, "CK1", None, *CK1, "qt")  # shared: deadline 14/01
    s1_before, s2_before = statuses("S1"), statuses("S2")
    assert "overdue" not in set(s1_before.values()) | set(s2_before.values())
    assert "on_track" in set(s2_before.values())
    # S1 moves its deadline before the snapshot's day: its incomplete units are overdue ...
    schedule.set_window(data_dir, YEAR, "CK1", None, *EARLIER_CK1, "s1_admin", school_id="S1")
    s1_after = statuses("S1")
    assert {k: v for k, v in s1_after.items() if v != "complete"} == \
        {k: "overdue" for k, v in s1_before.items() if v != "complete"}
    # ... S2's are what they were, and its whole-school windows are still the shared ones.
    assert statuses("S2") == s2_before
    assert progress.school_windows(data_dir, YEAR, "S2")["CK1"] == progress.Window(*CK1)
    assert progress.school_windows(data_dir, YEAR, "S1")["CK1"] == \
        progress.Window(*EARLIER_CK1)


def test_an_old_app_db_keeps_its_schedule_as_the_shared_one(tmp_path):
    import sqlite3

    path = records.db_path(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE lock_schedule (
            school_year TEXT NOT NULL, period TEXT NOT NULL, grade INTEGER,
            opens TEXT NOT NULL, deadline TEXT NOT NULL, lock TEXT NOT NULL,
            updated_at TEXT NOT NULL, updated_by TEXT);
        CREATE UNIQUE INDEX lock_schedule_key
            ON lock_schedule (school_year, period, COALESCE(grade, 0));
        INSERT INTO lock_schedule VALUES
            ('2026-2027', 'GK1', NULL, '2026-10-26', '2026-11-07', '2026-11-10',
             '2026-09-01 08:00:00', 'qt'),
            ('2026-2027', 'GK1', 4, '2026-10-26', '2026-11-09', '2026-11-12',
             '2026-09-01 08:00:00', 'qt');
    """)
    con.commit()
    con.close()
    grade4 = (GK1[0], date(2026, 11, 9), date(2026, 11, 12))
    assert rows(tmp_path) == [("GK1", None, *GK1), ("GK1", 4, *grade4)]
    assert rows(tmp_path, school_id="S1") == rows(tmp_path)
    assert schedule.school_years(tmp_path, school_id="S1") == [YEAR]
    # The old key (one row per year, period and grade) is gone: a school may hold its own row.
    schedule.set_window(tmp_path, YEAR, "GK1", 4, *GK1, "s1_admin", school_id="S1")
    assert rows(tmp_path, school_id="S1") == [("GK1", None, *GK1), ("GK1", 4, *GK1)]
    assert rows(tmp_path) == [("GK1", None, *GK1), ("GK1", 4, *grade4)]
    # One window per (year, school or shared, period, grade) still holds.
    con = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("INSERT INTO lock_schedule (school_year, period, grade, opens, deadline, "
                    "lock, updated_at, school_id) SELECT school_year, period, grade, opens, "
                    "deadline, lock, updated_at, school_id FROM lock_schedule LIMIT 1")
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    con.close()
    assert "lock_schedule_key" not in indexes and "lock_schedule_school_key" in indexes


def test_district_overdue_counts_follow_each_schools_deadlines(small_snapshot):
    data_dir, info = small_snapshot
    as_of = info.taken_at.date()  # 08/01/2027

    def by_hand(school_id, deadlines):
        """Incomplete units whose deadline (the grade's, else the whole school's) passed,
        counted from the school's own units with the dates this test set."""
        units = progress.compute(data_dir, info, school_id, "CK1")
        return sum(1 for g, x, n in zip(units["grade"], units["expected"], units["entered"])
                   if n < x and deadlines.get(int(g), deadlines[0]) < as_of)

    def overdue():
        table = district.progress_by_school(data_dir, info, ["S1", "S2"], "CK1")
        return dict(zip(table["school_id"], table["overdue_units"]))

    # Every school on the shared schedule: the grade-4 row overrides the whole school's.
    schedule.set_window(data_dir, YEAR, "CK1", None, *EARLIER_CK1, "qt")
    schedule.set_window(data_dir, YEAR, "CK1", 4, CK1[0], date(2027, 1, 9), CK1[2], "qt")
    shared = {0: EARLIER_CK1[1], 4: date(2027, 1, 9)}
    assert overdue() == {"S1": by_hand("S1", shared), "S2": by_hand("S2", shared)}
    assert 0 < overdue()["S1"] < len(progress.compute(data_dir, info, "S1", "CK1"))
    # S2 keeps a later deadline of its own: its overdue count follows it, S1's does not move.
    schedule.set_window(data_dir, YEAR, "CK1", None, *CK1, "s2_admin", school_id="S2")
    own = {0: CK1[1], 4: date(2027, 1, 9)}  # its copy of the grade-4 row is kept
    assert overdue() == {"S1": by_hand("S1", shared), "S2": by_hand("S2", own)}
    assert overdue()["S2"] == 0 and by_hand("S2", shared) > 0
    # S1 drops the grade-4 row from its own schedule: its grade 4 falls back to 07/01.
    schedule.delete_window(data_dir, YEAR, "CK1", 4, "s1_admin", school_id="S1")
    assert overdue() == {"S1": by_hand("S1", {0: EARLIER_CK1[1]}), "S2": 0}
    assert district.deadlines(data_dir, YEAR, "CK1", ["S1", "S2"]) == (
        ["S1", "S2", "S2"], [0, 0, 4], [EARLIER_CK1[1], CK1[1], date(2027, 1, 9)])
    assert district.current_period(data_dir, info, ["S1", "S2"]) == "CK1"


def test_the_cached_progress_key_names_the_school(tmp_path, monkeypatch):
    from csdl import ui

    monkeypatch.setenv("CSDL_DATA_DIR", str(tmp_path))
    filled(tmp_path)
    assert ui._schedule_key(YEAR, "S1") != ui._schedule_key(YEAR, "S2")
    s2 = ui._schedule_key(YEAR, "S2")
    schedule.set_window(tmp_path, YEAR, "CK1", None, *EARLIER_CK1, "s1_admin", school_id="S1")
    s1 = ui._schedule_key(YEAR, "S1")
    schedule.set_window(tmp_path, YEAR, "CK1", None, *CK1, "s1_admin", school_id="S1")
    assert ui._schedule_key(YEAR, "S1") != s1  # S1's cached figures follow its edit
    assert ui._schedule_key(YEAR, "S2") == s2  # S2's stay valid


def test_fingerprint_follows_every_edit_of_the_school_and_no_other_school(tmp_path):
    # The key of the cached progress figures: a change of the school's windows (any year), its
    # own schedule, the shared one or a lock event changes it; another school's edit does not.
    key = lambda: schedule.fingerprint(tmp_path, "S1")  # noqa: E731
    seen = [key()]
    schedule.set_window(tmp_path, YEAR, "GK1", None, date(2026, 10, 26), date(2026, 11, 7),
                        date(2026, 11, 10), "qt")  # shared
    seen.append(key())
    schedule.set_window(tmp_path, "2025-2026", "CN", None, date(2026, 5, 11), date(2026, 5, 23),
                        date(2026, 5, 26), "qt", school_id="S1")  # the school's own, a year before
    seen.append(key())
    before_other = key()
    schedule.set_window(tmp_path, YEAR, "CK1", None, date(2026, 12, 29), date(2027, 1, 14),
                        date(2027, 1, 17), "qt", school_id="S2")
    assert key() == before_other
    schedule.record_event(tmp_path, YEAR, "GK1", "lock", "school", None,
                          datetime(2026, 11, 10, 17), "", "qt", school_id="S1")
    seen.append(key())
    assert len(set(seen)) == len(seen)
    assert key() == seen[-1]  # the same rows, the same key
