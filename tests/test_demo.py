"""The demo generator: deterministic, realistic sizes, a believable story over the snapshots and
the planted data problems exactly where they are said to be."""
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from csdl import demo, rules, snapshots

SEED = 2026
KEY = ["student_id", "period", "subject_code"]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    infos = demo.make_demo(data_dir, seed=SEED, write_samples=False)
    return data_dir, infos


def read(data_dir, info) -> dict[str, pd.DataFrame]:
    return snapshots.read_tables(data_dir, info.snapshot_id)


@pytest.fixture(scope="module")
def district():
    return demo.build_district(SEED)


@pytest.fixture(scope="module")
def latest(demo_dir):
    data_dir, infos = demo_dir
    return read(data_dir, infos[-1])


@pytest.fixture(scope="module")
def previous_year(demo_dir):
    data_dir, infos = demo_dir
    [info] = [i for i in infos if i.taken_at == demo.PREVIOUS_YEAR_TAKEN_AT]
    return read(data_dir, info)


def completion_by_class(tables: dict[str, pd.DataFrame], period: str) -> pd.Series:
    """Entered values / expected values per class, as DESIGN.md defines them."""
    classes = tables["class"].set_index("class_id")
    assigned = set(zip(tables["assignment"]["class_id"], tables["assignment"]["subject_code"]))
    active = tables["student"][tables["student"]["active"]]
    size = active.groupby("class_id").size()
    sr = tables["subject_result"][tables["subject_result"]["period"] == period]
    tr = tables["trait_result"][tables["trait_result"]["period"] == period]
    sr = sr[sr["student_id"].isin(active["student_id"])]
    tr = tr[tr["student_id"].isin(active["student_id"])]
    entered = (sr["level"].notna().astype(int) + sr["score"].notna().astype(int)) \
        .groupby(sr["student_id"].map(active.set_index("student_id")["class_id"])).sum() \
        .add(tr["level"].notna().astype(int)
             .groupby(tr["student_id"].map(active.set_index("student_id")["class_id"])).sum(),
             fill_value=0)
    expected = {}
    for class_id, n in size.items():
        owed = [e for e in rules.expectations(int(classes.at[class_id, "grade"]), period)
                if not e.optional or (class_id, e.item_code) in assigned]
        expected[class_id] = n * sum(e.needs_level + e.needs_score for e in owed)
    expected = pd.Series(expected)
    return entered.reindex(expected.index, fill_value=0) / expected


# --- schedule and series ------------------------------------------------------------------

def test_schedule_is_plain_data_in_order():
    for year in (demo.PREVIOUS_SCHOOL_YEAR, demo.DEMO_SCHOOL_YEAR):
        rows = demo.demo_schedule(year)
        assert [r["period"] for r in rows] == list(rules.PERIODS)
        for r in rows:
            assert r["grade"] is None
            assert r["opens"] < r["deadline"] < r["lock"]
            assert rules.school_year_of(r["opens"]) == year
    ck1 = {r["period"]: r for r in demo.demo_schedule(demo.DEMO_SCHOOL_YEAR)}["CK1"]
    assert ck1["opens"] <= demo.DEFAULT_AS_OF <= ck1["deadline"]
    with pytest.raises(ValueError):
        demo.demo_schedule("2030-2031")


def test_series_is_ordered_within_the_year_and_from_the_demo(demo_dir):
    data_dir, infos = demo_dir
    listed, bad = snapshots.list_snapshots(data_dir)
    assert not bad and [s.snapshot_id for s in listed] == [i.snapshot_id for i in infos]
    times = [i.taken_at for i in infos]
    assert times == sorted(times) and len(set(times)) == len(times)
    previous = [i for i in infos if i.school_year == demo.PREVIOUS_SCHOOL_YEAR]
    current = [i for i in infos if i.school_year == demo.DEMO_SCHOOL_YEAR]
    assert 20 <= len(current) <= 30
    # The previous year: inside each of its four entry windows, then its final snapshot.
    assert previous[-1].taken_at == demo.PREVIOUS_YEAR_TAKEN_AT
    windows = demo.DEFAULT_SCHEDULE[demo.PREVIOUS_SCHOOL_YEAR].values()
    for info in previous[:-1]:
        assert any(o <= info.taken_at.date() <= lk for o, _, lk in windows)
    for opens, deadline, lock in windows:
        days = {i.taken_at.date() for i in previous}
        assert deadline in days and lock - timedelta(days=1) in days
    assert infos == previous + current
    assert all(i.source == "demo" and i.created_by == "demo" for i in infos)
    assert all(i.school_year == demo.DEMO_SCHOOL_YEAR for i in current)
    assert current[0].taken_at.date() >= date(2026, 9, 1)
    assert current[0].taken_at.date() <= date(2026, 9, 7)
    assert current[-1].taken_at == datetime.combine(demo.DEFAULT_AS_OF, demo.SNAPSHOT_TIME)
    # More often inside the GK1 entry window than outside it.
    opens, _, lock = demo.DEFAULT_SCHEDULE[demo.DEMO_SCHOOL_YEAR]["GK1"]
    gaps = [(b.taken_at - a.taken_at).days for a, b in zip(current, current[1:])
            if opens <= a.taken_at.date() < lock]
    assert gaps and max(gaps) <= 4
    assert demo.is_demo_data(data_dir)


def test_snapshot_ids_are_deterministic(demo_dir):
    _, infos = demo_dir
    for info in infos:
        assert snapshots.SNAPSHOT_ID_RE.match(info.snapshot_id)
        assert info.snapshot_id == demo.demo_snapshot_id(SEED, ["DEMO01"], info.taken_at)
        assert info.snapshot_id.startswith(info.taken_at.strftime("%Y%m%d-%H%M%S"))
    other = demo.demo_snapshot_id(SEED + 1, ["DEMO01"], infos[-1].taken_at)
    assert other != infos[-1].snapshot_id


def test_second_run_keeps_what_is_there(demo_dir):
    data_dir, infos = demo_dir
    again = demo.make_demo(data_dir, seed=SEED, write_samples=False)
    assert [i.snapshot_id for i in again] == [i.snapshot_id for i in infos]
    assert len(snapshots.list_snapshots(data_dir)[0]) == len(infos)


def test_snapshot_times_start_early_in_september():
    assert demo.snapshot_times(date(2026, 9, 2)) == [datetime(2026, 9, 2, 17, 0)]
    times = demo.snapshot_times(date(2027, 6, 10))
    assert times == sorted(times) and times[-1] == datetime(2027, 6, 10, 17, 0)
    for _, _, lock in demo.DEFAULT_SCHEDULE[demo.DEMO_SCHOOL_YEAR].values():
        assert lock not in {t.date() for t in times}  # never on a lock day: before or after


def test_is_demo_data_false_without_snapshots(tmp_path):
    assert not demo.is_demo_data(tmp_path)


def test_as_of_outside_the_year_is_refused(tmp_path):
    with pytest.raises(ValueError):
        demo.make_demo(tmp_path, as_of=date(2026, 8, 20), write_samples=False)


# --- determinism --------------------------------------------------------------------------

def test_same_seed_same_school_other_seed_other_school():
    a, b = demo.build_school(SEED), demo.build_school(SEED)
    for name in ("classes", "students", "staff", "assignments", "rooms", "equipment"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    other = demo.build_school(SEED + 1)
    assert list(other.students["full_name"]) != list(a.students["full_name"])


def test_tables_are_deterministic(district, latest):
    again = district.tables_at(datetime.combine(demo.DEFAULT_AS_OF, demo.SNAPSHOT_TIME))
    for name in ("student", "staff", "subject_result", "trait_result"):
        mine = again[name].sort_values(list(again[name].columns[:4])).reset_index(drop=True)
        stored = latest[name].sort_values(list(latest[name].columns[:4])).reset_index(drop=True)
        assert len(mine) == len(stored), name
        assert mine.astype(str).equals(stored[mine.columns].astype(str)), name


# --- the school ---------------------------------------------------------------------------

def test_sizes_in_range(latest):
    assert list(latest["school"]["school_id"]) == ["DEMO01"]
    assert "dữ liệu mẫu" in latest["school"]["name"].iat[0]
    assert 24 <= len(latest["class"]) <= 30
    assert set(latest["class"]["grade"]) == set(rules.GRADES)
    assert 850 <= len(latest["student"]) <= 1050
    assert 850 <= int(latest["student"]["active"].sum()) <= 1050
    assert 45 <= len(latest["staff"]) <= 60


def test_exactly_one_class_over_35(latest):
    active = latest["student"][latest["student"]["active"]]
    sizes = active.groupby("class_id").size()
    assert (sizes > 35).sum() == 1
    assert sizes.min() >= 25


def test_students_look_real(latest):
    students = latest["student"]
    assert students["full_name"].str.split().str.len().ge(3).all()
    assert students["full_name"].str.split().str[0].isin(
        set(demo.FAMILY_NAMES) | {n for d in demo.FAMILY_NAMES_BY_ETHNICITY.values() for n in d}
    ).all()
    assert set(students["gender"]) == {"Nam", "Nữ"}
    assert (students["ethnicity"] == "Kinh").mean() > 0.8
    assert students["ethnicity"].nunique() >= 3
    assert 3 <= students["disability"].notna().sum() <= 20
    grades = students.merge(latest["class"], on=["school_id", "class_id"])["grade"]
    age = 2026 - pd.to_datetime(students["birth_date"]).dt.year
    assert ((age - grades).between(5, 6)).all()  # grade 1 born 2020, a few a year older


def test_students_who_left_are_listed_inactive(latest):
    students = latest["student"]
    left = students[~students["active"]]
    assert 2 <= len(left) <= 8
    assert set(left["status"]) <= {demo.STATUS_MOVED_AWAY, demo.STATUS_DROPPED_OUT}
    assert (students.loc[students["active"], "status"]
            .isin([demo.STATUS_ENROLLED, demo.STATUS_ARRIVED]).all())
    assert (students["status"] == demo.STATUS_ARRIVED).sum() >= 3
    # The export lists no results for them.
    assert not latest["subject_result"]["student_id"].isin(left["student_id"]).any()


def test_staff_roles_and_columns(latest):
    staff = latest["staff"]
    assert (staff["job_position"] == "Hiệu trưởng").sum() == 1
    assert 1 <= (staff["job_position"] == "Phó hiệu trưởng").sum() <= 2
    assert set(staff["position_group"]) == {"Cán bộ quản lý", "Giáo viên", "Nhân viên"}
    assert set(staff["contract_type"]) == {"Biên chế", "Hợp đồng"}
    teachers = staff[staff["position_group"] != "Nhân viên"]
    assert teachers["rank_code"].isin(["V.07.03.27", "V.07.03.28", "V.07.03.29"]).all()
    assert teachers["qualification"].isin(["Đại học", "Thạc sĩ", "Cao đẳng", "Trung cấp"]).all()
    assert teachers[["standard_rating", "major", "main_subject"]].notna().all().all()
    assert (teachers["sessions_per_day"] == 2).mean() > 0.8
    assert (staff["status"] == demo.STAFF_RETIRED).sum() == 1
    retired = staff.loc[staff["status"] == demo.STAFF_RETIRED, "staff_id"]
    assert not latest["assignment"]["staff_id"].isin(retired).any()
    support = staff[staff["position_group"] == "Nhân viên"]
    assert {"Kế toán", "Thư viện", "Y tế học đường", "Bảo vệ"} <= set(support["job_position"])


def test_assignments(latest):
    classes, assignment = latest["class"], latest["assignment"]
    assert classes["homeroom_staff_id"].notna().all() and classes["homeroom_staff_id"].is_unique
    own = assignment.merge(classes, on=["school_id", "class_id"])
    homeroom = own[own["staff_id"] == own["homeroom_staff_id"]]
    for c in classes.itertuples():
        mine = set(homeroom.loc[homeroom["class_id"] == c.class_id, "subject_code"])
        science = {"TNXH"} if c.grade <= 3 else {"LSDL", "KHOAHOC"}
        assert mine == {"TV", "TOAN", "DAODUC", "HDTN"} | science
    # Every subject of the grade is taught; each by one teacher.
    assert not assignment.duplicated(["class_id", "subject_code"]).any()
    for c in classes.itertuples():
        taught = set(assignment.loc[assignment["class_id"] == c.class_id, "subject_code"])
        required = {s.code for s in rules.subjects_for_grade(c.grade)
                    if c.grade not in s.optional_grades}
        assert required <= taught


def test_optional_subjects_only_where_assigned(latest):
    classes, assignment = latest["class"], latest["assignment"]
    lower = classes[classes["grade"] <= 2]
    english = set(assignment.loc[assignment["subject_code"] == "NGOAINGU", "class_id"])
    ethnic = set(assignment.loc[assignment["subject_code"] == "TIENGDT", "class_id"])
    assert 0 < len(english & set(lower["class_id"])) < len(lower)
    assert 1 <= len(ethnic) <= 2
    sr = latest["subject_result"].merge(latest["student"][["student_id", "class_id"]],
                                        on="student_id")
    for code, taught_in in (("NGOAINGU", english), ("TIENGDT", ethnic)):
        assert sr.loc[sr["subject_code"] == code, "class_id"].isin(taught_in).all()
        assert sr["subject_code"].eq(code).any()


def test_facilities(latest):
    rooms, equipment = latest["room"], latest["equipment"]
    assert (rooms["room_type"] == "Phòng học").sum() >= len(latest["class"])
    for room_type in ("Phòng Âm nhạc", "Phòng Mĩ thuật", "Phòng Tin học", "Thư viện",
                      "Phòng y tế", "Phòng họp", "Kho", "Nhà vệ sinh học sinh nam",
                      "Nhà vệ sinh học sinh nữ"):
        assert (rooms["room_type"] == room_type).any(), room_type
    assert set(rooms["construction"]) == {"Kiên cố", "Bán kiên cố", "Tạm"}
    assert (rooms["area_m2"] > 0).all()
    assert (equipment["working"] <= equipment["quantity"]).all()
    assert equipment["item"].str.contains("Máy chiếu").any()


# --- results ------------------------------------------------------------------------------

def test_levels_and_scores_are_realistic(previous_year):
    sr, tr = previous_year["subject_result"], previous_year["trait_result"]
    shares = sr["level"].value_counts(normalize=True)
    assert 0.45 <= shares["T"] <= 0.6 and 0.3 <= shares["H"] <= 0.5 and 0.01 <= shares["C"] <= 0.06
    assert set(tr["level"]) == {"T", "Đ", "C"}
    scored = sr.dropna(subset=["score"])
    assert scored["score"].between(1, 10).all()
    assert scored.loc[scored["level"] == "T", "score"].ge(9).mean() > 0.6
    assert scored.loc[scored["level"] == "H", "score"].between(5, 8).all()
    assert scored.loc[scored["level"] == "C", "score"].le(4).all()


def test_previous_year_is_complete(previous_year):
    for period in rules.PERIODS:
        completion = completion_by_class(previous_year, period)
        assert (completion == 1).all(), period
    active = previous_year["student"][previous_year["student"]["active"]]
    year = previous_year["year_result"]
    assert set(year["student_id"]) == set(active["student_id"])
    assert set(year["classification"]) == set(rules.CLASSIFICATIONS)
    assert year["promoted"].mean() > 0.95
    assert (year["award"] == demo.AWARD_EXCELLENT).sum() >= (year["classification"] == "HTXS").sum()
    assert (year["award"] == demo.AWARD_EXEMPLARY).any()


def test_previous_year_students_are_one_grade_lower(latest, previous_year):
    def grades(tables):
        s = tables["student"].merge(tables["class"], on=["school_id", "class_id"])
        return s.set_index("student_id")["grade"]

    now, then = grades(latest), grades(previous_year)
    both = now.index.intersection(then.index)
    assert len(both) > 600
    step = (now[both] - then[both])
    assert (step == 1).mean() > 0.98 and step.isin([0, 1]).all()
    # Those in the same grade again were kept back: CHT, not promoted.
    kept = step.index[step == 0]
    year = previous_year["year_result"].set_index("student_id")
    assert (~year.loc[kept, "promoted"]).all()
    assert (year.loc[kept, "classification"] == "CHT").all()


def recomputed_classification(tables) -> pd.Series:
    classes = tables["class"].set_index("class_id")
    students = tables["student"].set_index("student_id")
    optional = tables["assignment"][tables["assignment"]["subject_code"].isin(["NGOAINGU", "TIENGDT"])]
    taken = optional.groupby("class_id")["subject_code"].agg(frozenset)
    sr = tables["subject_result"][tables["subject_result"]["period"] == "CN"]
    tr = tables["trait_result"][tables["trait_result"]["period"] == "CN"]
    sr_by, tr_by = dict(tuple(sr.groupby("student_id"))), dict(tuple(tr.groupby("student_id")))
    out = {}
    for student_id in tables["year_result"]["student_id"]:
        class_id = students.at[student_id, "class_id"]
        s, t = sr_by[student_id], tr_by[student_id]
        out[student_id] = rules.classify(
            int(classes.at[class_id, "grade"]), dict(zip(s["subject_code"], s["level"])),
            dict(zip(t["trait_code"], t["level"])),
            {k: int(v) for k, v in zip(s["subject_code"], s["score"]) if pd.notna(v)},
            taken.get(class_id, frozenset()))
    return pd.Series(out)


def test_planted_classification_disagreement(previous_year):
    recorded = previous_year["year_result"].set_index("student_id")["classification"]
    by_rule = recomputed_classification(previous_year)
    disagree = recorded[recorded != by_rule[recorded.index]]
    assert 1 <= len(disagree) <= 2
    # Recorded better than the rule: the kind of slip a principal must catch.
    order = {c: i for i, c in enumerate(rules.CLASSIFICATIONS)}
    assert all(order[disagree[s]] < order[by_rule[s]] for s in disagree.index)


def test_one_gk1_score_of_zero(latest):
    gk1 = latest["subject_result"][latest["subject_result"]["period"] == "GK1"]
    assert (gk1["score"] == 0).sum() == 1
    scores = latest["subject_result"]["score"].dropna()
    assert scores.between(0, 10).all() and (scores == 0).sum() == 1


def test_changes_after_the_gk1_lock(demo_dir, latest):
    data_dir, infos = demo_dir
    _, _, lock = demo.DEFAULT_SCHEDULE[demo.DEMO_SCHOOL_YEAR]["GK1"]
    before_lock = [i for i in infos if i.taken_at.date() < lock][-1]
    before = read(data_dir, before_lock)
    changed = 0
    for table, key in (("subject_result", KEY), ("trait_result", KEY[:2] + ["trait_code"])):
        a = before[table][before[table]["period"] == "GK1"]
        b = latest[table][latest[table]["period"] == "GK1"]
        both = a.merge(b, on=["school_id"] + key, suffixes=("_a", "_b"))
        for column in ("level", "score") if table == "subject_result" else ("level",):
            x, y = both[f"{column}_a"], both[f"{column}_b"]
            changed += int((x.notna() & y.notna() & (x.astype(str) != y.astype(str))).sum())
    assert 5 <= changed <= 10


def test_gk1_late_teachers_then_nearly_complete_by_the_lock(demo_dir):
    data_dir, infos = demo_dir
    _, deadline, lock = demo.DEFAULT_SCHEDULE[demo.DEMO_SCHOOL_YEAR]["GK1"]
    at_deadline = [i for i in infos if i.taken_at.date() == deadline][0]
    eve_of_lock = [i for i in infos if i.taken_at.date() < lock][-1]
    week_after = [i for i in infos if (i.taken_at.date() - lock).days >= 7][0]
    c_deadline = completion_by_class(read(data_dir, at_deadline), "GK1")
    c_eve = completion_by_class(read(data_dir, eve_of_lock), "GK1")
    c_week_after = completion_by_class(read(data_dir, week_after), "GK1")
    assert (c_deadline < 1).sum() >= 2  # late teachers
    assert 0.95 <= c_eve.mean() < 1 and (c_eve < 1).any()  # one is late even past the lock
    assert (c_week_after == 1).all()


def test_ck1_progress_at_as_of_is_partial_and_uneven(latest):
    completion = completion_by_class(latest, "CK1")
    # Six days before the deadline: most teachers enter in the last days, a few are done.
    assert 0.15 < completion.mean() < 0.6 and (completion > 0.8).any()
    assert completion.max() - completion.min() > 0.2
    assert completion.nunique() > len(completion) // 2
    for period in ("GK2", "CN"):
        assert not latest["subject_result"]["period"].eq(period).any()
    assert latest["year_result"].empty


# --- several schools ----------------------------------------------------------------------

def test_several_schools_share_the_snapshots():
    tables = demo.demo_tables_at(SEED, datetime(2026, 11, 13, 17, 0), schools=2)
    school = tables["school"]
    assert list(school["school_id"]) == ["DEMO01", "DEMO02"]
    assert school["name"].is_unique
    for name in ("class", "student", "staff", "subject_result"):
        assert set(tables[name]["school_id"]) == {"DEMO01", "DEMO02"}, name
    one = tables["student"][tables["student"]["school_id"] == "DEMO01"]
    two = tables["student"][tables["student"]["school_id"] == "DEMO02"]
    assert list(one["full_name"][:20]) != list(two["full_name"][:20])
    assert len(demo.school_names(15)) == len({n for _, n in demo.school_names(15)})


def test_planted_problems_report_matches_the_snapshots(district, latest, previous_year):
    report = demo.planted_problems(district)["DEMO01"]
    active = latest["student"][latest["student"]["active"]]
    sizes = active.merge(latest["class"], on=["school_id", "class_id"]).groupby("class_name").size()
    assert report["oversize_classes"] == list(sizes.index[sizes > 35])
    assert report["oversize_classes"][0].startswith("1")
    student_id, period, _, subject = report["zero_score"]
    sr = latest["subject_result"].set_index(KEY)
    assert sr.at[(student_id, period, subject), "score"] == 0
    assert 5 <= len(report["changed_after_lock"]) <= 10
    kinds = {item_type for _, _, item_type, _ in report["changed_after_lock"]}
    assert kinds == {"subject", "trait"}
    recorded = previous_year["year_result"].set_index("student_id")["classification"]
    for student_id, rule_says, written in report["classification_disagreements"]:
        assert recorded[student_id] == written != rule_says
    assert set(report["late_teachers"]) == set(rules.PERIODS)


# --- a district: the staged path of make_demo -------------------------------------------

DISTRICT = 3


@pytest.fixture(scope="module")
def district_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("district")
    infos = demo.make_demo(data_dir, seed=SEED, schools=DISTRICT, write_samples=False)
    return data_dir, infos


def read_with_summary(data_dir, info) -> dict[str, pd.DataFrame]:
    tables = read(data_dir, info)
    con = snapshots.connect(data_dir, info.snapshot_id)
    try:
        tables["progress_summary"] = con.execute("SELECT * FROM progress_summary").df()
    finally:
        con.close()
    return tables


@pytest.fixture(scope="module")
def district_latest(district_dir):
    data_dir, infos = district_dir
    return read_with_summary(data_dir, infos[-1])


def test_district_series_is_short_and_has_what_the_pages_need(district_dir):
    data_dir, infos = district_dir
    ids = demo.school_ids(DISTRICT)
    plan = demo.demo_plan(demo.DEFAULT_AS_OF, "short")
    assert [i.taken_at for i in infos] == [t for t, _ in plan]
    assert [i.snapshot_id for i in infos] == [demo.demo_snapshot_id(SEED, ids, i.taken_at)
                                             for i in infos]
    assert [s.snapshot_id for s in snapshots.list_snapshots(data_dir)[0]] == \
        [i.snapshot_id for i in infos]
    assert 6 <= len(infos) <= 10
    assert infos[0].school_year == demo.PREVIOUS_SCHOOL_YEAR
    assert infos[-1].taken_at == datetime.combine(demo.DEFAULT_AS_OF, demo.SNAPSHOT_TIME)
    full = set(demo.snapshot_times(demo.DEFAULT_AS_OF))
    assert {i.taken_at for i in infos[1:]} <= full  # the same moments as the single school's
    days = [i.taken_at.date() for i in infos[1:]]
    _, gk1_deadline, gk1_lock = demo.DEFAULT_SCHEDULE[demo.DEMO_SCHOOL_YEAR]["GK1"]
    ck1_opens = demo.DEFAULT_SCHEDULE[demo.DEMO_SCHOOL_YEAR]["CK1"][0]
    assert gk1_deadline in days and gk1_lock - pd.Timedelta(days=1) in days
    assert any(gk1_lock < d < ck1_opens for d in days)  # changes after the lock show
    assert sum(d >= ck1_opens for d in days) >= 3  # burn-up and projection in the window


def test_district_tables_hold_every_school_without_collisions(district_latest):
    ids = set(demo.school_ids(DISTRICT))
    for name in ("school", "class", "student", "staff", "assignment", "room", "equipment",
                 "subject_result", "trait_result", "progress_summary"):
        assert set(district_latest[name]["school_id"]) == ids, name
    for name, key in (("student", "student_id"), ("staff", "staff_id"), ("class", "class_id")):
        assert district_latest[name][key].is_unique, name
    student = district_latest["student"]
    placed = student.merge(district_latest["class"], on=["school_id", "class_id"])
    assert len(placed) == len(student)
    assert (student["class_id"].str.split("-").str[0] == student["school_id"]).all()
    results = district_latest["subject_result"]
    mine = results.merge(student[["school_id", "student_id"]], on=["school_id", "student_id"])
    assert len(mine) == len(results)
    assert len(set(demo.school_codes(demo.school_ids(500)))) == 500


def test_district_schools_differ(district_latest):
    active = district_latest["student"][district_latest["student"]["active"]]
    sizes = active.groupby("school_id").size()
    assert sizes.between(850, 1000).all() and sizes.nunique() == DISTRICT
    summary = district_latest["progress_summary"]
    ck1 = summary[summary["period"] == "CK1"].groupby("school_id")[["entered", "expected"]].sum()
    share = ck1["entered"] / ck1["expected"]
    assert share.nunique() == DISTRICT and share.max() - share.min() > 0.02
    paces = [spec.pace for spec in demo.school_specs(SEED, DISTRICT)]
    assert paces[0] == demo.DEFAULT_PACE and len(set(paces)) == DISTRICT


def test_first_school_of_a_district_is_the_single_demo_school(demo_dir, district_latest):
    latest = read_with_summary(demo_dir[0], demo_dir[1][-1])
    for name in ("student", "staff", "subject_result", "trait_result", "progress_summary"):
        one = latest[name].drop(columns=["snapshot_id"], errors="ignore")
        ours = district_latest[name]
        ours = ours[ours["school_id"] == "DEMO01"].drop(columns=["snapshot_id"], errors="ignore")
        sort = list(one.columns[:5])
        one = one.sort_values(sort).reset_index(drop=True)
        ours = ours.sort_values(sort).reset_index(drop=True)
        pd.testing.assert_frame_equal(one, ours, check_dtype=False, obj=name)


def test_district_planted_problems_per_school(district_latest):
    report = demo.planted_problems(demo.build_district(SEED, DISTRICT))
    assert set(report) == set(demo.school_ids(DISTRICT))
    sr = district_latest["subject_result"].set_index(["school_id"] + KEY)
    active = district_latest["student"][district_latest["student"]["active"]]
    sizes = active.merge(district_latest["class"], on=["school_id", "class_id"]) \
        .groupby(["school_id", "class_name"]).size()
    for school_id, planted in report.items():
        student_id, period, _, subject = planted["zero_score"]
        assert sr.at[(school_id, student_id, period, subject), "score"] == 0
        assert 5 <= len(planted["changed_after_lock"]) <= 10
        assert planted["oversize_classes"] == \
            list(sizes[school_id].index[sizes[school_id] > 35])
        assert len(planted["classification_disagreements"]) == demo.PLANTED_DISAGREEMENTS
        assert len(planted["late_teachers"]["GK1"]["after_lock"]) == 1


def test_latest_only_series_and_one_worker(tmp_path):
    infos = demo.make_demo(tmp_path, seed=SEED, schools=2, series="latest", workers=1,
                           write_samples=False)
    assert [i.taken_at for i in infos] == [datetime.combine(demo.DEFAULT_AS_OF,
                                                            demo.SNAPSHOT_TIME)]
    tables = read(tmp_path, infos[0])
    assert list(tables["school"]["school_id"]) == ["DEMO01", "DEMO02"]
    with pytest.raises(ValueError):
        demo.demo_plan(demo.DEFAULT_AS_OF, "weekly")


def test_teachers_enter_in_bursts_by_a_habit_kept_across_windows(district):
    current, previous = district.current[0], district.previous[0]
    # Bursts: a teacher's values of a window go in on a few days, mostly in its last week.
    for log in (current, previous):
        cells = log.cells[log.cells["late"] == ""]
        for period, (opens, deadline, _) in demo.DEFAULT_SCHEDULE[
                log.school.school_year].items():
            mine = cells[cells["period"] == period]
            days = mine.groupby("owner")["level_at"].apply(lambda t: t.dt.date.nunique())
            assert days.median() <= 4, (period, days.describe())
            last_week = (mine["level_at"].dt.date > deadline - timedelta(days=7)).mean()
            assert last_week > 0.5, period
    # Habits: the habitually late are late in far more of the eight windows than the others.
    habits = demo.teacher_habits(current.school.seed, sorted(
        set(current.cells["owner"].dropna()) | set(previous.cells["owner"].dropna())))
    late_windows: dict[str, int] = {}
    for log in (current, previous):
        for period, who in log.planted["late_teachers"].items():
            for staff_id in who["after_deadline"] + who["after_lock"]:
                late_windows[staff_id] = late_windows.get(staff_id, 0) + 1
    habitual = [t for t, (_, chance) in habits.items() if chance == demo.LATE_HABITUAL]
    others = [t for t in habits if t not in habitual]
    assert habitual and others
    share = lambda group: sum(late_windows.get(t, 0) for t in group) / (8 * len(group))  # noqa: E731
    assert share(habitual) > 3 * share(others)
