"""The TT27 rules against DOMAIN.md's tables, written out here independently of csdl.rules."""
import pytest

from csdl import rules

# DOMAIN.md §2, the score table, cell by cell (Vietnamese names as written there).
SCORE_TABLE = {
    (1, "GK1"): set(), (1, "CK1"): {"Tiếng Việt", "Toán"}, (1, "GK2"): set(), (1, "CN"): {"Tiếng Việt", "Toán"},
    (2, "GK1"): set(), (2, "CK1"): {"Tiếng Việt", "Toán"}, (2, "GK2"): set(), (2, "CN"): {"Tiếng Việt", "Toán"},
    (3, "GK1"): set(), (3, "GK2"): set(),
    (3, "CK1"): {"Tiếng Việt", "Toán", "Ngoại ngữ 1", "Tin học", "Công nghệ"},
    (3, "CN"): {"Tiếng Việt", "Toán", "Ngoại ngữ 1", "Tin học", "Công nghệ"},
}
for g in (4, 5):
    SCORE_TABLE[(g, "GK1")] = SCORE_TABLE[(g, "GK2")] = {"Tiếng Việt", "Toán"}
    SCORE_TABLE[(g, "CK1")] = SCORE_TABLE[(g, "CN")] = {
        "Tiếng Việt", "Toán", "Ngoại ngữ 1", "Lịch sử và Địa lí", "Khoa học", "Tin học", "Công nghệ"}

SUBJECTS_BY_GRADE = {
    g: {"Tiếng Việt", "Toán", "Đạo đức", "Giáo dục thể chất", "Âm nhạc", "Mĩ thuật",
        "Hoạt động trải nghiệm", "Ngoại ngữ 1", "Tiếng dân tộc thiểu số"}
    | ({"Tự nhiên và Xã hội"} if g <= 3 else set())
    | {"Tin học"}  # optional in grades 1–2: some schools teach it there (DOMAIN.md §4)
    | ({"Công nghệ"} if g >= 3 else set())
    | ({"Lịch sử và Địa lí", "Khoa học"} if g >= 4 else set())
    for g in (1, 2, 3, 4, 5)
}
OPTIONAL_BY_GRADE = {g: {"Tiếng dân tộc thiểu số"} | ({"Ngoại ngữ 1", "Tin học"} if g <= 2 else set())
                     for g in (1, 2, 3, 4, 5)}


def names(codes):
    return {rules.SUBJECT_BY_CODE[c].name_vi for c in codes}


@pytest.mark.parametrize("grade,period", sorted(SCORE_TABLE))
def test_every_cell_of_the_score_table(grade, period):
    assert names(rules.scored_subjects(grade, period)) == SCORE_TABLE[(grade, period)]
    exp = rules.expectations(grade, period)
    scored = {e.item_code for e in exp if e.needs_score}
    assert names(scored) == SCORE_TABLE[(grade, period)]


@pytest.mark.parametrize("grade", [1, 2, 3, 4, 5])
def test_subjects_traits_and_optional_per_grade(grade):
    exp = rules.expectations(grade, "CK1")
    subjects = [e for e in exp if e.item_type == "subject"]
    assert names(e.item_code for e in subjects) == SUBJECTS_BY_GRADE[grade]
    assert all(e.needs_level for e in exp)
    assert names(e.item_code for e in subjects if e.optional) == OPTIONAL_BY_GRADE[grade]
    traits = [e for e in exp if e.item_type == "trait"]
    # 5 qualities + 3 general competencies + 7 specific (5 in grades 1–2).
    assert len(traits) == (13 if grade <= 2 else 15)
    codes = {e.item_code for e in traits}
    assert ("NLD_TINHOC" in codes) == (grade >= 3) and ("NLD_CONGNGHE" in codes) == (grade >= 3)


def test_optional_subjects_never_scored():
    for e in rules.all_expectations():
        if e.optional:
            assert not e.needs_score, e


def test_bad_grade_or_period_rejected():
    with pytest.raises(ValueError):
        rules.expectations(6, "CK1")
    with pytest.raises(ValueError):
        rules.expectations(3, "HK1")


def _student(grade, subject_level="T", trait_level="T", score=10, overrides=None, scores=None):
    exp = rules.expectations(grade, "CN")
    subj = {e.item_code: subject_level for e in exp if e.item_type == "subject" and not e.optional}
    traits = {e.item_code: trait_level for e in exp if e.item_type == "trait"}
    sc = {e.item_code: score for e in exp if e.needs_score}
    subj.update(overrides or {})
    sc.update(scores or {})
    return subj, traits, sc


@pytest.mark.parametrize("grade", [1, 3, 5])
@pytest.mark.parametrize("score,expected", [(10, "HTXS"), (9, "HTXS"), (8, "HTT"), (7, "HTT"),
                                            (6, "HT"), (5, "HT"), (4, "CHT"), (1, "CHT")])
def test_score_boundaries_9_7_5(grade, score, expected):
    subj, traits, sc = _student(grade)
    sc["TOAN"] = score  # one score at the boundary, all else perfect
    assert rules.classify(grade, subj, traits, sc) == expected


def test_subject_level_h_drops_to_ht_and_c_to_cht():
    subj, traits, sc = _student(4, overrides={"AMNHAC": "H"})
    assert rules.classify(4, subj, traits, sc) == "HT"
    subj, traits, sc = _student(4, overrides={"AMNHAC": "C"})
    assert rules.classify(4, subj, traits, sc) == "CHT"


def test_trait_level_d_drops_to_ht_and_c_to_cht():
    subj, traits, sc = _student(2)
    traits["PC_CHAMCHI"] = "Đ"
    assert rules.classify(2, subj, traits, sc) == "HT"
    traits["PC_CHAMCHI"] = "C"
    assert rules.classify(2, subj, traits, sc) == "CHT"


def test_ht_needs_scores_of_five():
    subj, traits, sc = _student(3, subject_level="H", trait_level="Đ", score=5)
    assert rules.classify(3, subj, traits, sc) == "HT"
    sc["TV"] = 4
    assert rules.classify(3, subj, traits, sc) == "CHT"


def test_optional_subject_not_taken_is_left_out_and_taken_one_counts():
    subj, traits, sc = _student(1)
    assert rules.classify(1, subj, traits, sc) == "HTXS"  # no Ngoại ngữ, no Tiếng dân tộc
    subj["NGOAINGU"] = "H"
    # Not taken: an entry there is ignored; taken: it counts.
    assert rules.classify(1, subj, traits, sc) == "HTXS"
    assert rules.classify(1, subj, traits, sc, taken_optional={"NGOAINGU"}) == "HT"
    assert rules.classify(1, subj, traits, sc, taken_optional={"TIENGDT"}) is None


def test_missing_entry_means_no_classification():
    subj, traits, sc = _student(5)
    del sc["KHOAHOC"]
    assert rules.classify(5, subj, traits, sc) is None


def test_school_year_of():
    from datetime import date

    assert rules.school_year_of(date(2026, 8, 1)) == "2026-2027"
    assert rules.school_year_of(date(2026, 7, 31)) == "2025-2026"
    assert rules.school_year_of(date(2027, 1, 8)) == "2026-2027"
    with pytest.raises(ValueError):
        rules.parse_school_year("2026-2028")
