"""Spot checks: reproducible samples, allocation and weighting, the exact interval, verdicts
and their audit, mismatches becoming change requests, the printed list, the CLI report, the
demo's checks and the page."""
import io
from datetime import date, datetime

import numpy as np
import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from csdl import changes, cli, records, schedule, snapshots, spotcheck
from csdl.config import REPO_ROOT
from csdl.spotcheck import Scope, SpotError
from tests.conftest import small_school_tables, bind_session

KEY = ["student_id", "item_code", "field"]


def synthetic_population(class_sizes: dict[str, int], flagged_every: int = 0) -> pd.DataFrame:
    """Items shaped like queries/spot_population.sql: per class, that many Toán levels of
    distinct students; every `flagged_every`-th item changed after the lock."""
    rows = []
    for class_id, size in class_sizes.items():
        for i in range(size):
            rows.append({
                "student_id": f"{class_id}-{i:03d}", "full_name": f"Học sinh {i}",
                "class_id": class_id, "class_name": class_id, "grade": 4,
                "item_type": "subject", "item_code": "TOAN", "field": "level", "db_value": "H",
                "staff_id": "GV1", "staff_name": "Cô Lan", "score_zero": False,
                "level_score_mismatch": False, "invalid_value": False,
                "changed_after_lock": bool(flagged_every) and len(rows) % flagged_every == 0,
                "entered_late": False})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", spotcheck.METHODS)
def test_same_seed_same_sample_other_seed_other_sample(method):
    values = synthetic_population({"4A": 40, "4B": 30, "4C": 25}, flagged_every=7)
    first = spotcheck.draw(values, method, 20, seed=12345)
    again = spotcheck.draw(values.sample(frac=1, random_state=3), method, 20, seed=12345)
    other = spotcheck.draw(values, method, 20, seed=54321)
    assert first[KEY].equals(again[KEY])  # the population's order does not matter
    assert not first[KEY].equals(other[KEY])
    assert list(first["position"]) == list(range(1, 21))
    assert not first.duplicated(KEY).any()


def test_stratification_is_proportional_to_class_size():
    values = synthetic_population({"4A": 10, "4B": 20, "4C": 30})
    drawn = spotcheck.draw(values, "stratified", 12, seed=1)
    assert drawn["class_id"].value_counts().to_dict() == {"4A": 2, "4B": 4, "4C": 6}
    # 7, 11, 13 of 31 with n = 10: quotas 2.26, 3.55, 4.19; the leftover item goes to 4B.
    values = synthetic_population({"4A": 7, "4B": 11, "4C": 13})
    for seed in range(5):
        drawn = spotcheck.draw(values, "stratified", 10, seed=seed)
        assert drawn["class_id"].value_counts().to_dict() == {"4A": 2, "4B": 4, "4C": 4}


def test_allocation_is_exact_and_proportional():
    assert spotcheck.allocate([7, 11, 13], 10) == [2, 4, 4]
    assert spotcheck.allocate([1, 1, 1], 2) == [1, 1, 0]  # ties go to the earlier class
    assert spotcheck.allocate([5, 5], 10) == [5, 5]
    for sizes, n in (([3, 8, 13, 21, 34], 17), ([35, 33, 31, 36], 59), ([2, 100], 7)):
        counts = spotcheck.allocate(sizes, n)
        assert sum(counts) == n
        assert all(abs(c - n * s / sum(sizes)) < 1 for c, s in zip(counts, sizes))


def test_risk_weighting_favours_flagged_items():
    values = synthetic_population({"4A": 100, "4B": 100}, flagged_every=10)  # 10% flagged
    share = values["changed_after_lock"].mean()

    def flagged_share(method: str) -> float:
        drawn = [spotcheck.draw(values, method, 20, seed)["changed_after_lock"].mean()
                 for seed in range(300)]
        return float(np.mean(drawn))

    assert abs(flagged_share("simple") - share) < 0.02  # the control: no favour
    assert flagged_share("risk") > 2.5 * share  # weight 5 gives about 3.3 times the share


def test_draw_refuses_what_cannot_be_drawn():
    values = synthetic_population({"4A": 5})
    for args, key in (((values, "simple", 6, 1), "spot.bad_size"),
                      ((values, "simple", 0, 1), "spot.bad_size"),
                      ((values, "lottery", 2, 1), "spot.bad_method"),
                      ((values, "simple", 2, -1), "spot.bad_seed"),
                      ((values.iloc[:0], "simple", 1, 1), "spot.empty_population")):
        with pytest.raises(SpotError) as exc:
            spotcheck.draw(*args)
        assert exc.value.key == key


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------

def test_sample_size_for_zero_failure_acceptance():
    assert spotcheck.sample_size(0.05) == 59
    assert spotcheck.sample_size(0.01) == 299
    assert spotcheck.sample_size(0.10) == 29
    for rate in (0.5, 0.2, 0.03, 0.002):
        n = spotcheck.sample_size(rate)
        assert (1 - rate) ** n <= 0.05 < (1 - rate) ** (n - 1)
    with pytest.raises(SpotError):
        spotcheck.sample_size(0)


def test_clopper_pearson_against_known_values():
    low, high = spotcheck.clopper_pearson(0, 59)
    assert low == 0 and high == pytest.approx(0.0606, abs=1e-4)
    assert spotcheck.clopper_pearson(3, 100) == pytest.approx((0.0062, 0.0852), abs=1e-4)
    low, high = spotcheck.clopper_pearson(10, 10)
    assert high == 1 and low == pytest.approx(0.6915, abs=1e-4)
    assert spotcheck.clopper_pearson(1, 8) == pytest.approx((0.0032, 0.5265), abs=1e-4)
    for n in (1, 10, 59, 299, 2000):
        assert spotcheck.clopper_pearson(0, n)[1] == pytest.approx(1 - 0.025 ** (1 / n), abs=1e-9)
        low, high = spotcheck.clopper_pearson(n // 3, n)
        mirrored = spotcheck.clopper_pearson(n - n // 3, n)
        assert low == pytest.approx(1 - mirrored[1], abs=1e-9)
        assert low <= (n // 3) / n <= high


def test_tally_leaves_cannot_verify_out_of_the_rate():
    verdicts = pd.Series(["match"] * 6 + ["mismatch"] * 2 + ["cannot_verify"] * 3 + [None] * 4)
    result = spotcheck.tally(verdicts)
    assert (result["size"], result["verified"], result["checked"], result["mismatches"],
            result["cannot_verify"]) == (15, 11, 8, 2, 3)
    assert result["error_rate"] == 0.25
    assert (result["ci_low"], result["ci_high"]) == spotcheck.clopper_pearson(2, 8)
    assert spotcheck.tally(pd.Series(["cannot_verify", None]))["error_rate"] is None


# --------------------------------------------------------------------------------------------
# The population and its flags
# --------------------------------------------------------------------------------------------

def keys(df: pd.DataFrame) -> set:
    return set(zip(df["student_id"], df["item_code"], df["field"]))


def test_population_is_every_entered_owed_value(small_snapshot):
    data, info = small_snapshot
    values = spotcheck.population(data, info, "S1", "CK1")
    # H3's Ngoại ngữ is not owed (1B has no assignment), H4 has left, H2's trait is empty, H1's
    # Tiếng Việt score and H5's Khoa học level are not entered.
    assert keys(values) == {
        ("H1", "TOAN", "level"), ("H1", "TOAN", "score"), ("H1", "TV", "level"),
        ("H1", "NGOAINGU", "level"), ("H1", "PC_YEUNUOC", "level"),
        ("H3", "TOAN", "level"), ("H3", "TOAN", "score"),
        ("H5", "KHOAHOC", "score"), ("H5", "NLD_TINHOC", "level")}
    by_key = values.set_index(KEY)
    assert by_key.loc[("H1", "TOAN", "score"), "db_value"] == "9"
    assert by_key.loc[("H1", "TOAN", "level"), "staff_id"] == "GV1"  # assigned teacher
    assert by_key.loc[("H1", "NGOAINGU", "level"), "staff_id"] == "GV9"
    assert by_key.loc[("H1", "PC_YEUNUOC", "level"), "staff_id"] == "GV1"  # homeroom
    assert by_key.loc[("H5", "NLD_TINHOC", "level"), "staff_id"] == "GV3"
    assert pd.isna(by_key.loc[("H1", "TV", "level"), "staff_id"])  # nobody assigned
    assert not values[list(spotcheck.FLAGS)].any().any()  # no schedule, no problems


def test_scope_filters(small_snapshot):
    data, info = small_snapshot
    values = spotcheck.population(data, info, "S1", "CK1")
    assert keys(Scope(grades=(4,)).apply(values)) == {("H5", "KHOAHOC", "score"),
                                                      ("H5", "NLD_TINHOC", "level")}
    assert len(Scope(classes=("L1A",)).apply(values)) == 5
    assert len(Scope(subjects=("TOAN",)).apply(values)) == 4  # traits left out
    assert keys(Scope(traits=("PC_YEUNUOC", "NLD_TINHOC")).apply(values)) == {
        ("H1", "PC_YEUNUOC", "level"), ("H5", "NLD_TINHOC", "level")}
    assert len(Scope(grades=(1,), classes=("L4A",)).apply(values)) == 0  # every filter holds
    scope = Scope(grades=[4, 1], classes=["L1B", "L1A"], subjects=["TV"])
    assert Scope.from_json(scope.to_json()) == scope == Scope((1, 4), ("L1A", "L1B"), ("TV",))


BEFORE_DEADLINE = datetime(2027, 1, 8, 17)
AFTER_LOCK = datetime(2027, 1, 20, 17)


@pytest.fixture
def flagged(tmp_path):
    """CK1 with deadline 09/01 and lock 10/01, a snapshot before the deadline and one after the
    lock. Between them: H3's Toán score is entered (1B's Toán then complete); H1's Toán level
    changes T → H and its score 9 → 0; H5's Khoa học gets level C beside a 9; one cell of H1
    is kept as invalid."""
    base = small_school_tables()
    sr = base["subject_result"]
    before = {**base, "subject_result": sr.assign(score=sr["score"].where(
        ~((sr.student_id == "H3") & (sr.subject_code == "TOAN")), None))}
    after_sr = sr.copy()
    h1_toan = ((after_sr.student_id == "H1") & (after_sr.period == "CK1")
               & (after_sr.subject_code == "TOAN"))
    after_sr.loc[h1_toan, ["level", "score"]] = ["H", 0]
    h5 = (after_sr.student_id == "H5") & (after_sr.subject_code == "KHOAHOC")
    after_sr.loc[h5, ["level", "score"]] = ["C", 9]
    invalid = pd.DataFrame([{"school_id": "S1", "source_file": "KQHT_Khoi1_CK1.xlsx",
                             "sheet": "Sheet1", "row": 5, "column": "I", "raw_value": "8,5",
                             "reason": "score_not_integer", "student_id": "H1",
                             "period": "CK1", "item_code": "TV"}])
    after = {**base, "subject_result": after_sr, "invalid_value": invalid}
    snapshots.write_snapshot(tmp_path, before, school_year="2026-2027",
                             taken_at=BEFORE_DEADLINE, source="import")
    latest = snapshots.write_snapshot(tmp_path, after, school_year="2026-2027",
                                      taken_at=AFTER_LOCK, source="import")
    schedule.set_window(tmp_path, "2026-2027", "CK1", None, date(2026, 12, 29),
                        date(2027, 1, 9), date(2027, 1, 10), "t")
    return tmp_path, latest


def test_risk_flags(flagged):
    data, latest = flagged
    values = spotcheck.population(data, latest, "S1", "CK1").set_index(KEY)

    def flags(*key) -> set:
        return {f for f in spotcheck.FLAGS if values.loc[key, f]}

    assert flags("H1", "TOAN", "level") == {"changed_after_lock", "entered_late"}  # 1A behind
    assert flags("H1", "TOAN", "score") == {"changed_after_lock", "entered_late", "score_zero"}
    assert flags("H3", "TOAN", "level") == set()  # there by the deadline, its unit complete
    assert flags("H3", "TOAN", "score") == {"changed_after_lock", "entered_late"}  # not there
    assert flags("H5", "KHOAHOC", "level") == {"changed_after_lock", "entered_late",
                                               "level_score_mismatch"}
    assert flags("H5", "KHOAHOC", "score") == {"changed_after_lock", "entered_late",
                                               "level_score_mismatch"}
    assert flags("H1", "TV", "score") == {"entered_late", "invalid_value"}
    assert values.loc[("H1", "TV", "score"), "db_value"] == "8,5"  # what the database shows
    weights = spotcheck.risk_weights(values.reset_index())
    assert weights.min() >= 1 and weights.max() == 1 + sum(spotcheck.RISK_WEIGHTS.values())


# --------------------------------------------------------------------------------------------
# Checks and verdicts
# --------------------------------------------------------------------------------------------

def new_check(data, info, size=9, seed=7, method="simple", at=None) -> int:
    return spotcheck.create_check(data, info, "S1", "CK1", Scope(), method, size, seed, 0.05,
                                  "phohieutruong", at=at)


def position_of(items: pd.DataFrame, student_id: str, item_code: str, field: str) -> int:
    row = items[(items.student_id == student_id) & (items.item_code == item_code)
                & (items.field == field)]
    return int(row["position"].iloc[0])


def test_check_stores_the_drawn_sample(small_snapshot):
    data, info = small_snapshot
    check_id = new_check(data, info, size=5, seed=99, method="stratified")
    check = spotcheck.get_check(data, check_id)
    assert (check.period, check.method, check.seed, check.size, check.status, check.scope) == (
        "CK1", "stratified", 99, 5, "open", Scope())
    stored = spotcheck.items(data, check_id)
    drawn = spotcheck.draw_sample(data, info, "S1", "CK1", Scope(), "stratified", 5, 99)
    assert list(stored["student_id"]) == list(drawn["student_id"])
    assert list(stored["position"]) == [1, 2, 3, 4, 5]
    assert stored["verdict"].isna().all() and stored["full_name"].notna().all()
    with pytest.raises(SpotError) as exc:
        new_check(data, info, size=10)
    assert exc.value.key == "spot.bad_size"


def test_verdicts_validated_recorded_and_audited(small_snapshot):
    data, info = small_snapshot
    check_id = new_check(data, info)
    items = spotcheck.items(data, check_id)
    level = position_of(items, "H1", "TOAN", "level")  # T in the database
    score = position_of(items, "H1", "TOAN", "score")  # 9
    trait = position_of(items, "H5", "NLD_TINHOC", "level")  # Đ
    for args, key in (((level, "maybe"), "spot.bad_verdict"),
                      ((level, "mismatch", " "), "spot.paper_required"),
                      ((level, "mismatch", "X"), "spot.paper_invalid"),
                      ((score, "mismatch", "11"), "spot.paper_invalid"),
                      ((score, "mismatch", "8,5"), "spot.paper_invalid"),
                      ((level, "mismatch", "t"), "spot.paper_same"),
                      ((99, "match"), "spot.no_such_item")):
        with pytest.raises(SpotError) as exc:
            spotcheck.record_verdict(data, check_id, *args, actor="phohieutruong")
        assert exc.value.key == key
    assert spotcheck.items(data, check_id)["verdict"].isna().all()  # nothing written

    spotcheck.record_verdict(data, check_id, level, "mismatch", "h", " Bài ghi H ",
                             "phohieutruong", at=datetime(2027, 1, 11, 8))
    spotcheck.record_verdict(data, check_id, trait, "mismatch", "ccg", None, "phohieutruong")
    spotcheck.record_verdict(data, check_id, score, "cannot_verify", "7", "Vắng",
                             "phohieutruong")
    items = spotcheck.items(data, check_id).set_index("position")
    assert items.loc[level, ["verdict", "paper_value", "note", "verified_by", "verified_at"]] \
        .tolist() == ["mismatch", "H", "Bài ghi H", "phohieutruong", "2027-01-11 08:00:00"]
    assert items.loc[trait, "paper_value"] == "C"
    assert items.loc[score, "paper_value"] is None  # only a mismatch keeps a paper value

    with pytest.raises(SpotError) as exc:
        spotcheck.finish_check(data, check_id, "phohieutruong")
    assert exc.value.key == "spot.unverified_left" and exc.value.params["count"] == 6
    assert spotcheck.next_position(items.reset_index()) == min(
        p for p in range(1, 10) if p not in (level, score, trait))
    for position in range(1, 10):
        if position not in (level, score, trait):
            spotcheck.record_verdict(data, check_id, position, "match", actor="hieutruong")
    assert spotcheck.next_position(spotcheck.items(data, check_id)) is None
    spotcheck.finish_check(data, check_id, "phohieutruong")
    assert spotcheck.get_check(data, check_id).status == "finished"
    with pytest.raises(SpotError) as exc:
        spotcheck.record_verdict(data, check_id, level, "match", actor="phohieutruong")
    assert exc.value.key == "spot.check_finished"

    entries = records.audit_entries(data)
    actions = [e["action"] for e in entries]
    assert actions.count("spot_check_create") == 1 and actions.count("spot_verdict") == 9
    assert actions[0] == "spot_check_finish" and entries[0]["actor"] == "phohieutruong"
    tally = spotcheck.checks(data, "S1").iloc[0]
    assert (tally["size"], tally["checked"], tally["mismatches"], tally["cannot_verify"]) == (
        9, 8, 2, 1)


def test_next_position_resumes_after_the_current_item():
    items = pd.DataFrame({"position": [1, 2, 3, 4], "verdict": ["match", None, "match", None]})
    assert spotcheck.next_position(items) == 2
    assert spotcheck.next_position(items, after=2) == 4
    assert spotcheck.next_position(items, after=4) == 2  # wraps round to what is left


def test_mismatch_becomes_a_linked_change_request(small_snapshot):
    data, info = small_snapshot
    check_id = new_check(data, info)
    items = spotcheck.items(data, check_id)
    level = position_of(items, "H1", "TOAN", "level")
    score = position_of(items, "H3", "TOAN", "score")
    spotcheck.record_verdict(data, check_id, level, "mismatch", "H", "Bài kiểm tra ghi H",
                             "phohieutruong")
    spotcheck.record_verdict(data, check_id, score, "mismatch", "8", None, "phohieutruong")
    first = spotcheck.request_change(data, check_id, level, "Cô Lan", "phohieutruong")
    second = spotcheck.request_change(data, check_id, score, "phohieutruong", "phohieutruong")
    reqs = changes.requests(data, "2026-2027", "S1").set_index("id")
    assert reqs.loc[first, ["student_id", "period", "item_type", "item_code", "field",
                            "old_value", "new_value", "reason", "requested_by", "decision"]] \
        .tolist() == ["H1", "CK1", "subject", "TOAN", "level", "T", "H", "Bài kiểm tra ghi H",
                      "Cô Lan", "pending"]
    assert reqs.loc[second, ["old_value", "new_value"]].tolist() == ["7", "8"]
    assert f"#{check_id}" in reqs.loc[second, "reason"]  # no note: the check says why
    linked = spotcheck.items(data, check_id).set_index("position")["request_id"]
    assert (linked[level], linked[score]) == (first, second)
    with pytest.raises(SpotError) as exc:
        spotcheck.request_change(data, check_id, level, "Cô Lan", "phohieutruong")
    assert exc.value.key == "spot.request_exists"
    with pytest.raises(SpotError) as exc:
        spotcheck.record_verdict(data, check_id, level, "match", actor="phohieutruong")
    assert exc.value.key == "spot.verdict_has_request"
    other = next(p for p in range(1, 10) if p not in (level, score))
    with pytest.raises(SpotError) as exc:
        spotcheck.request_change(data, check_id, other, "Cô Lan", "phohieutruong")
    assert exc.value.key == "spot.not_mismatch"
    actions = [e["action"] for e in records.audit_entries(data)]
    assert actions.count("spot_change_request") == 2 and actions.count("change_request") == 2


# --------------------------------------------------------------------------------------------
# The printed list and the report
# --------------------------------------------------------------------------------------------

def test_sample_list_prints_to_excel_and_pdf(small_snapshot):
    data, info = small_snapshot
    check_id = new_check(data, info, size=6)
    check, items = spotcheck.get_check(data, check_id), spotcheck.items(data, check_id)
    sheet = openpyxl.load_workbook(io.BytesIO(spotcheck.sample_excel(check, items))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert f"#{check_id}" in rows[0][0] and "Cuối học kỳ I (CK1)" in rows[0][0]
    assert "Dữ liệu lúc 08/01/2027 17:00" in rows[1][0]  # the data's time, not an internal id
    assert list(rows[3]) == ["STT", "Lớp", "Học sinh", "Môn/PC-NL", "Nội dung (Mức / Điểm)",
                             "Giá trị trên CSDL", "Trên giấy", "Khớp?", "Ghi chú"]
    body = rows[4:]
    assert [r[0] for r in body] == [1, 2, 3, 4, 5, 6]
    assert all(not r[6] and not r[7] and not r[8] for r in body)  # left blank to fill in
    assert {r[4] for r in body} <= {"Mức", "Điểm"}
    pdf = spotcheck.sample_pdf(check, items)
    assert pdf.startswith(b"%PDF") and b"DejaVu" in pdf


def test_cli_report_spot_checks(small_snapshot, capsys):
    data, info = small_snapshot
    first = new_check(data, info, at=datetime(2027, 1, 11, 7, 30))
    for position in range(1, 10):
        verdict = {1: "mismatch", 2: "cannot_verify"}.get(position, "match")
        db_value = spotcheck.items(data, first).set_index("position").loc[position, "db_value"]
        paper = {"T": "H", "H": "T", "Đ": "T"}.get(db_value, "1") if verdict == "mismatch" else None
        spotcheck.record_verdict(data, first, position, verdict, paper, actor="phohieutruong")
    new_check(data, info, size=3, seed=8, at=datetime(2027, 1, 12, 9))
    # The fixture holds two schools: a report is for one of them.
    assert cli.main(["report", "spot-checks", "--data", str(data)]) == 2
    capsys.readouterr()
    assert cli.main(["report", "spot-checks", "--data", str(data), "--school-id", "S1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    low, high = spotcheck.clopper_pearson(1, 8)
    assert lines == [
        "check_id,created_at,period,size,checked,cannot_verify,mismatches,error_rate,ci_low,"
        "ci_high",
        f"{first},2027-01-11 07:30:00,CK1,9,8,1,1,0.1250,{low:.4f},{high:.4f}",
        f"{first + 1},2027-01-12 09:00:00,CK1,3,0,0,0,,,"]
    assert cli.main(["report", "spot-checks", "--data", str(data), "--school-id", "S2"]) == 0
    assert capsys.readouterr().out.splitlines() == [lines[0]]
    assert cli.main(["report", "--list"]) == 0
    assert "spot-checks\t" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# The demo school's checks
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_dir(demo_copy):
    data_dir = demo_copy(samples=False)  # as demo.make_demo(data_dir, write_samples=False)
    schedule.store_demo_schedule(data_dir)
    spotcheck.store_demo_checks(data_dir)
    return data_dir


def test_demo_has_a_finished_and_an_open_check(demo_dir):
    latest = snapshots.latest_snapshot(demo_dir)
    listed = spotcheck.checks(demo_dir)
    assert list(listed["period"]) == ["GK1", "CK1"]
    finished, in_progress = listed.iloc[0], listed.iloc[1]
    assert (finished["status"], finished["method"], finished["size"]) == (
        "finished", "stratified", 59)
    assert (finished["mismatches"], finished["cannot_verify"], finished["checked"]) == (3, 2, 57)
    assert (in_progress["status"], in_progress["method"], in_progress["size"],
            in_progress["verified"]) == ("open", "simple", 30, 12)
    assert set(listed["snapshot_id"]) == {latest.snapshot_id}
    items = spotcheck.items(demo_dir, int(finished["id"]))
    assert set(items["verified_by"]) == {"phohieutruong"}
    days = {pd.Timestamp(v).date() for v in items["verified_at"]}
    assert len(days) == 2 and min(days) > latest.taken_at.date() > date(2026, 11, 10)  # GK1 lock
    mismatched = items[items["verdict"] == "mismatch"]
    assert (mismatched["paper_value"] != mismatched["db_value"]).all()
    spotcheck.store_demo_checks(demo_dir)  # idempotent
    assert len(spotcheck.checks(demo_dir)) == 2


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

def test_page_creates_a_check_as_vice_principal(small_snapshot, monkeypatch):
    data, _ = small_snapshot
    monkeypatch.setenv("CSDL_DATA_DIR", str(data))
    at = AppTest.from_file(str(REPO_ROOT / "pages/spotcheck.py"), default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "phohieutruong"
    at.session_state["name"] = "Phó hiệu trưởng"
    at.session_state["roles"] = ["vice_principal"]
    bind_session(at)  # the account and its school, in users.yaml
    at.query_params["school"] = "S1"
    at.run()
    assert not at.exception, at.exception
    [period] = [s for s in at.selectbox if s.label == "Đợt đánh giá"]
    period.select("CK1").run()
    assert any("9 giá trị" in c.value for c in at.caption)
    assert any("Cần kiểm tra 59 mục" in c.value for c in at.caption)
    [size] = [n for n in at.number_input if n.label == "Số mục kiểm tra"]
    assert size.value == 9  # the whole population: it is smaller than the suggestion
    [seed] = [n for n in at.number_input if n.label == "Mã lấy mẫu (seed)"]
    seed.set_value(4242).run()
    [b for b in at.button if b.label == "Tạo đợt kiểm tra"][0].click().run()
    assert not at.exception, at.exception
    assert any("Đã tạo đợt kiểm tra #1 gồm 9 mục" in s.value for s in at.success)
    check = spotcheck.get_check(data, 1)
    assert (check.period, check.seed, check.size, check.created_by) == ("CK1", 4242, 9,
                                                                         "phohieutruong")
    # The verdicts start at item 1 of the new check, one at a time.
    assert any(m.value == "##### Mục 1 / 9" for m in at.markdown)
    [b for b in at.button if b.label == "Khớp"][0].click().run()
    assert not at.exception, at.exception
    assert spotcheck.items(data, 1).set_index("position").loc[1, "verdict"] == "match"
    assert any(m.value == "##### Mục 2 / 9" for m in at.markdown)
