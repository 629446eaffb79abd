"""Facilities against the norms: classrooms per class, special rooms, student toilets,
computers per student, rooms by type and construction, condition — each planted to hit and to
miss, counted again in plain Python; the settings; the page."""
from collections import Counter
from datetime import datetime

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from csdl import charts, facilities, i18n, settings, snapshots
from csdl.config import REPO_ROOT
from tests import tabs
from tests.conftest import run_query, bind_session

# room_id, site, room_type, construction, area, condition
ROOMS = [
    ("P1", "Điểm chính", "Phòng học", "Kiên cố", 48.0, "Tốt"),
    ("P2", "Điểm chính", "Phòng học", "Kiên cố", 48.0, "Cần sửa chữa"),  # usable
    ("P3", "Điểm lẻ", "phòng  HỌC", "Bán kiên cố", 45.0, None),  # blank condition: usable
    ("P4", "Điểm lẻ", "Phòng học", "Tạm", 40.0, "Hỏng"),  # broken: not usable
    ("P5", "Điểm chính", "Phòng học bộ môn Âm nhạc", "Kiên cố", 70.0, "Tốt"),  # music, not a classroom
    ("P6", "Điểm chính", "Phòng Mỹ thuật", "Kiên cố", 70.0, "Tốt"),  # "Mỹ" spelling: arts
    ("P7", "Điểm chính", "Phòng Tin học", "Kiên cố", 80.0, "Tốt"),
    ("P8", "Điểm chính", "Thư viện", "Kiên cố", 90.0, "Hỏng"),  # library only broken: missing
    ("P9", "Điểm chính", "Phòng Hội đồng", "Kiên cố", 60.0, "Tốt"),  # meeting room
    ("P10", "Điểm chính", "Phòng y tế", "Kiên cố", 20.0, "Tốt"),
    ("P11", "Điểm chính", "Phòng Khoa học", "Kiên cố", 50.0, "Tốt"),  # not a storeroom ("kho")
    ("P12", "Điểm chính", "Nhà vệ sinh học sinh nam", None, 24.0, "Tốt"),
]
# item, quantity, working. 60 boys need 2 sets (exactly), 41 girls need 3 (2,05 rounded up).
EQUIPMENT = [
    ("Bồn tiểu học sinh nam", 2, 2),         # exactly the norm: met
    ("Bệ xí học sinh nam", 3, 1),            # only 1 works: short by 1
    ("Bệ xí học sinh nữ", 3, None),          # no working count: the quantity, 3: met
    ("Chậu rửa tay học sinh", 5, 5),         # 2 + 3 = 5: met
    ("Bệ xí giáo viên", 4, 4),               # the teachers': not counted
    ("Máy vi tính phòng Tin học", 6, 5),     # 5 student computers
    ("Máy tính xách tay giáo viên", 3, 3),   # teachers': not counted
    ("Máy tính bỏ túi", 10, 10),             # calculators: not counted
    ("Máy chiếu", 4, 3),
]
BOYS, GIRLS = 60, 41


def facility_tables(classes: int = 3):
    school = pd.DataFrame([("S1", "Trường Thử", "Tỉnh"), ("S2", "Trường khác", "Tỉnh")],
                          columns=["school_id", "name", "province"])
    class_ = pd.DataFrame([("S1", f"L{i}", f"{i}A", 1 + i % 5, None) for i in range(classes)]
                          + [("S2", "X1", "1A", 1, None)],
                          columns=["school_id", "class_id", "class_name", "grade",
                                   "homeroom_staff_id"])
    students = [("S1", f"B{i}", "L0", "Nam", True) for i in range(BOYS)]
    students += [("S1", f"G{i}", "L1", "Nữ", True) for i in range(GIRLS)]
    students += [("S1", "B99", "L0", "Nam", False),  # left: not counted
                 ("S1", "U1", "L1", None, True)]   # no gender: counted in total only
    students += [("S2", f"X{i}", "X1", "Nam", True) for i in range(40)]
    student = pd.DataFrame(students, columns=["school_id", "student_id", "class_id", "gender",
                                              "active"])
    room = pd.DataFrame(ROOMS, columns=["room_id", "site", "room_type", "construction",
                                        "area_m2", "condition"])
    room.insert(0, "school_id", "S1")
    room = pd.concat([room, pd.DataFrame([{"school_id": "S2", "room_id": "K1",
                                           "room_type": "Kho", "construction": "Kiên cố"}])],
                     ignore_index=True)
    equipment = pd.DataFrame(EQUIPMENT, columns=["item", "quantity", "working"])
    equipment.insert(0, "school_id", "S1")
    equipment = pd.concat([equipment, pd.DataFrame([{"school_id": "S2", "item": "Máy vi tính",
                                                     "quantity": 99, "working": 99}])],
                          ignore_index=True).astype({"quantity": "Int64", "working": "Int64"})
    return {"school": school, "class": class_, "student": student, "room": room,
            "equipment": equipment}


@pytest.fixture
def facility_snapshot(tmp_path):
    info = snapshots.write_snapshot(tmp_path, facility_tables(), school_year="2026-2027",
                                    taken_at=datetime(2027, 1, 8, 17), source="import")
    return tmp_path, info


@pytest.fixture
def loaded(facility_snapshot):
    data_dir, info = facility_snapshot

    def q(name):
        return run_query(data_dir, info, name, school_id="S1")

    return q("facility_rooms"), q("facility_equipment"), \
        facilities.students_by_gender(q("facility_students"))


def test_students_by_gender(loaded):
    _, _, students = loaded
    assert students == {"boys": BOYS, "girls": GIRLS, "unknown": 1, "total": BOYS + GIRLS + 1}


def test_rooms_by_type_match_a_plain_count(loaded):
    rooms, _, _ = loaded
    assert len(rooms) == len(ROOMS)  # S2's storeroom left out
    table = facilities.rooms_by_type(rooms).set_index("room_type")
    key = {"Kiên cố": "solid", "Bán kiên cố": "semi_solid", "Tạm": "temporary", None: "unknown"}
    expected = Counter((" ".join(r[2].split()), key[r[3]]) for r in ROOMS)
    got = Counter({(t, c): n for t, row in table.iterrows()
                   for c in facilities.CONSTRUCTION_KEYS for n in [row[c]] if n})
    assert got == expected
    assert table.loc["Phòng học", "rooms"] == 3 and table.loc["Phòng học", "usable"] == 2
    assert table.loc["phòng HỌC", "semi_solid"] == 1  # the type as written, spacing aside
    assert list(table.index)[:2] in (["Phòng học", "phòng HỌC"], ["phòng HỌC", "Phòng học"])
    conditions = facilities.room_conditions(rooms).set_index("room_type")
    assert conditions.loc["Thư viện", "broken"] == 1 and conditions.loc["phòng HỌC", "unknown"] == 1


def test_classrooms_per_class_exactly_at_the_norm_and_short(loaded):
    rooms, _, _ = loaded
    # Usable classrooms: P1, P2 and P3 (blank condition); P4 is broken; the music room is not one.
    assert facilities.classrooms(rooms) == {"classrooms": 4, "usable": 3, "solid": 2,
                                            "semi_solid": 1, "temporary": 1, "unknown": 0}
    met = facilities.classrooms_per_class(rooms, 3, 1.0)
    assert (met["ratio"], met["needed"], met["met"], met["shortfall"]) == (1.0, 3, True, 0)
    short = facilities.classrooms_per_class(rooms, 4, 1.0)
    assert (short["ratio"], short["needed"], short["met"], short["shortfall"]) == (0.75, 4, False, 1)


def test_special_rooms_present_and_missing(loaded):
    rooms, _, _ = loaded
    found = facilities.special_rooms(rooms).set_index("kind")
    assert list(found.index) == list(facilities.SPECIAL_ROOMS)
    assert dict(found["present"]) == {"music": True, "arts": True, "computer": True,
                                      "library": False, "meeting": True, "health": True,
                                      "storeroom": False}
    assert found.loc["library", "rooms"] == 1 and found.loc["library", "usable"] == 0
    assert found.loc["music", "room_types"] == "Phòng học bộ môn Âm nhạc"
    assert facilities.room_kind("Kho thiết bị") == "storeroom"
    assert facilities.room_kind("Phòng Khoa học") is None
    assert facilities.room_kind("Phòng Ngoại ngữ") is None


def test_toilets_exactly_at_the_norm_and_one_short(loaded):
    _, equipment, students = loaded
    table = facilities.toilets(equipment, students["boys"], students["girls"],
                               settings.Settings()).set_index("fixture")
    assert dict(table["needed"]) == {"boys_urinal": 2, "boys_toilet": 2, "girls_toilet": 3,
                                     "basin": 5}
    assert dict(table["have"]) == {"boys_urinal": 2, "boys_toilet": 1, "girls_toilet": 3,
                                   "basin": 5}
    assert dict(table["met"]) == {"boys_urinal": True, "boys_toilet": False,
                                  "girls_toilet": True, "basin": True}
    assert table.loc["boys_toilet", "shortfall"] == 1
    # One more girl than 60: still 3 sets; 61 would need a 4th.
    more = facilities.toilets(equipment, 60, 61, settings.Settings()).set_index("fixture")
    assert more.loc["girls_toilet", "needed"] == 4 and not more.loc["girls_toilet", "met"]
    assert facilities.toilets(equipment, 60, 60, settings.Settings()).set_index(
        "fixture").loc["girls_toilet", "met"]
    # A setting changes the norm: 1 set per 40 girls.
    wider = settings.Settings(girls_per_toilet_set=40)
    assert facilities.toilets(equipment, 60, 41, wider).set_index("fixture").loc[
        "girls_toilet", "needed"] == 2


def test_fixture_words():
    assert facilities.fixture("Bồn tiểu học sinh nam") == ("urinal", "boys")
    assert facilities.fixture("BỆ XÍ HỌC SINH NỮ") == ("toilet", "girls")
    assert facilities.fixture("Chậu rửa tay") == ("basin", None)
    assert facilities.fixture("Bệ xí giáo viên") is None
    assert facilities.fixture("Bộ thiết bị dạy học tối thiểu lớp 1") is None
    assert facilities.is_computer("Máy vi tính phòng Tin học")
    assert not facilities.is_computer("Máy tính bỏ túi")
    assert not facilities.is_computer("Máy tính xách tay giáo viên")


def test_unstated_toilets_are_shown_without_a_norm():
    equipment = pd.DataFrame([("Bệ xí học sinh", 4, 4)], columns=["item", "quantity", "working"])
    table = facilities.toilets(equipment, 30, 20, settings.Settings()).set_index("fixture")
    assert table.loc["toilet_unstated", "have"] == 4
    assert pd.isna(table.loc["toilet_unstated", "met"])
    assert table.loc["boys_toilet", "have"] == 0 and not table.loc["boys_toilet", "met"]


def test_computers_per_student_hit_and_miss(loaded):
    _, equipment, students = loaded
    assert facilities.computers(equipment) == 5  # working ones of the computer room only
    total = students["total"]  # 102
    miss = facilities.computers_per_student(equipment, total, 0.05)  # 5,1 → 6 needed
    assert (miss["needed"], miss["met"], miss["shortfall"]) == (6, False, 1)
    assert miss["ratio"] == pytest.approx(5 / 102)
    hit = facilities.computers_per_student(equipment, 100, 0.05)  # exactly 5
    assert (hit["needed"], hit["met"]) == (5, True)


def test_equipment_condition(loaded):
    _, equipment, _ = loaded
    table = facilities.equipment_condition(equipment).set_index("item")
    assert table.loc["Máy chiếu", "broken"] == 1
    assert table.loc["Máy chiếu", "share"] == pytest.approx(0.75)
    assert table.loc["Bệ xí học sinh nữ", "working"] is None
    assert pd.isna(table.loc["Bệ xí học sinh nữ", "share"])


def test_norms_table_says_each_norm_and_whether_met(loaded):
    rooms, equipment, students = loaded
    table = facilities.norms(rooms, equipment, 3, students, settings.Settings())
    met = dict(zip(table["indicator"], table["met"]))
    assert met == {"classrooms_per_class": True, "special_music": True, "special_arts": True,
                   "special_computer": True, "special_library": False,
                   "special_meeting": True, "special_health": True,
                   "special_storeroom": False, "toilet_boys_urinal": True,
                   "toilet_boys_toilet": False, "toilet_girls_toilet": True,
                   "toilet_basin": True, "computers_per_student": False}
    described = facilities.describe(table, students, settings.Settings(), "vi")
    rows = described.set_index("indicator")
    assert rows.loc["Phòng học dùng được / lớp", "value"] == "1,00 (3 / 3)"
    assert rows.loc["Phòng học dùng được / lớp", "verdict"] == "✓ Đạt"
    assert rows.loc["Kho", "verdict"] == "✗ Chưa đạt, thiếu 1"
    assert rows.loc["Bệ xí học sinh nữ", "norm"] == "1 cho mỗi 20 học sinh nữ: 41 em cần 3"
    assert rows.loc["Máy tính cho học sinh / học sinh", "value"] == "0,049 (5 / 102)"
    english = facilities.describe(table, students, settings.Settings(), "en")
    assert english.loc[0, "indicator"] == "Usable classrooms per class"
    for key in described["indicator"]:
        assert not key.startswith("facilities."), key  # every label translated


def test_settings_defaults_and_overrides(tmp_path):
    got = settings.load(tmp_path)
    assert (got.classrooms_per_class, got.boys_per_toilet_set, got.girls_per_toilet_set,
            got.computers_per_student, got.teachers_per_class) == (1.0, 30, 20, 0.05, 1.5)
    (tmp_path / "settings.yaml").write_text("boys_per_toilet_set: 25\ncomputers_per_student: 0.1\n")
    got = settings.load(tmp_path)
    assert (got.boys_per_toilet_set, got.computers_per_student) == (25, 0.1)
    assert isinstance(got.boys_per_toilet_set, int)
    (tmp_path / "settings.yaml").write_text("girls_per_toilet_set: 20.5\n")
    with pytest.raises(settings.SettingsError, match="girls_per_toilet_set must be a positive whole"):
        settings.load(tmp_path)


def test_chart_builders():
    by_type = pd.DataFrame({"room_type": ["Phòng học", "Kho"], "solid": [3, 1],
                            "semi_solid": [1, 0], "temporary": [1, 0], "unknown": [0, 0]})
    fig = charts.stacked_counts(by_type, "room_type", {"solid": "Kiên cố", "semi_solid": "Bán",
                                                       "temporary": "Tạm"},
                                charts.CONSTRUCTION_COLORS)
    assert [tr.name for tr in fig.data] == ["Kiên cố", "Bán", "Tạm"]
    assert list(fig.data[0].x) == [3, 1]
    fig = charts.have_and_needed(pd.DataFrame({"label": ["a", "b"], "have": [1, 3],
                                               "needed": [2, 3]}), "label", "en")
    assert list(fig.data[0].marker.color) == ["#d7301f", "#238b45"]  # the short one red
    assert fig.data[1].name == "Needed by the norm"
    fig = charts.count_bars(pd.DataFrame({"l": ["x", "y"], "n": [1200, 3]}), "l", "n", "vi")
    assert list(fig.data[0].text) == ["1.200", "3"]


def test_i18n_of_every_indicator():
    for kind in facilities.SPECIAL_ROOMS:
        assert f"facilities.indicator.special_{kind}" in i18n.TABLE
    for fixture in ("boys_urinal", "boys_toilet", "girls_toilet", "basin"):
        assert f"facilities.indicator.toilet_{fixture}" in i18n.TABLE
        assert f"facilities.norm.{fixture}" in i18n.TABLE


# --- the page -------------------------------------------------------------------------------
def page(data_dir, monkeypatch, role="principal", lang="vi") -> AppTest:
    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(REPO_ROOT / "pages/facilities.py"), default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "test"
    at.session_state["roles"] = [role]
    bind_session(at)  # the account and its school, in users.yaml
    at.session_state["lang"] = lang
    at.query_params["school"] = "S1"
    return at.run()


def test_page_shows_every_norm(facility_snapshot, monkeypatch):
    data_dir, _ = facility_snapshot
    at = page(data_dir, monkeypatch)
    assert not at.exception, at.exception
    assert at.title[0].value == "Cơ sở vật chất"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Phòng học / lớp": "1,00", "Phòng chức năng có đủ": "5 / 7",
                       "Thiết bị vệ sinh đạt định mức": "3 / 4", "Máy tính / học sinh": "0,049"}
    shown, charts = [], 0
    for at in tabs.each_tab(at):
        assert not at.exception, at.exception
        shown += [df.value.to_string() for df in at.dataframe]
        charts += len(at.get("plotly_chart"))
    assert "✗ Chưa đạt, thiếu 1" in "\n".join(shown) and "✗ Thiếu" in "\n".join(shown)
    assert "✗ Chỉ có phòng hỏng" in "\n".join(shown)  # the library
    assert charts == 2


def test_page_follows_the_settings(facility_snapshot, monkeypatch):
    data_dir, _ = facility_snapshot
    (data_dir / "settings.yaml").write_text("classrooms_per_class: 1.5\n")
    at = page(data_dir, monkeypatch, lang="en")
    assert not at.exception, at.exception
    metrics = {m.label: m for m in at.metric}
    assert metrics["Classrooms per class"].value == "1.00"
    shown = "\n".join(df.value.to_string() for df in at.dataframe)
    assert "≥ 1.50 usable classrooms per class: 3 classes need 5" in shown


def test_page_without_facilities(small_snapshot, monkeypatch):
    data_dir, _ = small_snapshot
    at = page(data_dir, monkeypatch, role="admin")
    assert not at.exception, at.exception
    assert any("chưa có dữ liệu cơ sở vật chất" in i.value for i in at.info)
