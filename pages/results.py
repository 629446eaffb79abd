"""Kết quả giáo dục: what the entries of a period say, and the data-quality rules."""
import pandas as pd
import streamlit as st

from csdl import charts, quality, results, rules, ui
from csdl.settings import SettingsError

ui.guard("results")
st.title(ui.tr("page.results"))
lang = ui.lang()
snapshot, school = ui.snapshot_and_school()
school_id = school.school_id
period = ui.pick_period(ui.current_period(snapshot, school_id))
classes = ui.query(snapshot, "classes", school_id=school_id)
grade, class_id = ui.pick_grade_and_class(classes)
ui.show_data_age(snapshot)
class_names = dict(zip(classes["class_id"], classes["class_name"]))


def pick(label: str, options: list, param: str, format_func=str, default=None):
    """A selectbox kept in the URL (?param=value), so a view can be shared as a link."""
    wanted = st.query_params.get(param, default)
    index = options.index(wanted) if wanted in options else 0
    chosen = st.selectbox(label, options, index=index, format_func=format_func, key=f"pick-{param}")
    st.query_params[param] = chosen
    return chosen


def with_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Translated names beside the codes, for charts and tables."""
    out = df.assign(label=ui.item_names(df["item_code"])) if "item_code" in df else df
    if "trait_group" in out:
        out = out.assign(group_label=ui.tr_each("trait_group.", out["trait_group"]))
    if "grade" in out:
        out = out.assign(grade_label=[ui.tr("chart.grade_label", grade=g) for g in out["grade"]])
    return out


def level_names(df: pd.DataFrame, kind: str, column: str = "level") -> list[str]:
    return ui.tr_each(f"level.{kind}.", df[column])


subject_levels = ui.query(snapshot, "results_subject_levels", school_id=school_id, period=period)
in_scope = results.within(subject_levels, grade, class_id)

(tab_subjects, tab_traits, tab_scores, tab_moves, tab_year, tab_compare,
 tab_quality) = ui.tabs((
    "results.tab_subjects", "results.tab_traits", "results.tab_scores",
    "results.tab_transitions", "results.tab_year", "results.tab_compare", "results.tab_quality"),
    key="results-tab", default="results.tab_quality" if "rule" in st.query_params else None)

with tab_subjects:
    if tab_subjects.open:
        st.caption(ui.tr("results.entered_only"))
        if in_scope.empty:
            st.info(ui.tr("results.no_levels"))
        else:
            st.markdown("##### " + ui.tr("results.all_subjects"))
            st.plotly_chart(ui.chart(charts.level_share_bars,
                                     with_labels(results.subject_shares(in_scope)),
                                     "subject", lang), width="stretch")
            codes = list(dict.fromkeys(results.subject_shares(in_scope)["item_code"]))
            subject = pick(ui.tr("results.subject"), codes, "subject", ui.item_name)
            one = subject_levels[subject_levels["item_code"] == subject]
            by_grade = with_labels(results.subject_shares(one, ["grade"]))
            by_class = with_labels(results.subject_shares(results.within(one, grade),
                                                          ["grade", "class_name", "class_id"]))
            left, right = st.columns(2)
            left.markdown("##### " + ui.tr("results.by_grade", subject=ui.item_name(subject)))
            left.plotly_chart(ui.chart(charts.level_share_bars, by_grade, "subject", lang,
                                       "grade_label"),
                              width="stretch")
            right.markdown("##### " + ui.tr("results.by_class", subject=ui.item_name(subject)))
            right.plotly_chart(ui.chart(charts.level_share_bars, by_class, "subject", lang,
                                        "class_name"),
                               width="stretch")
            table = with_labels(results.subject_shares(in_scope, ["grade", "class_name", "class_id"]))
            ui.table(table.assign(level_text=level_names(table, "subject")),
                     {"class_name": "col.class", "label": "col.subject", "level_text": "col.level",
                      "students": "col.students", "share": "col.share"},
                     title=ui.tr("results.subject_levels_title", period=period), snapshot=snapshot,
                     key="subject-levels")

with tab_traits:
    if tab_traits.open:
        st.caption(ui.tr("results.entered_only"))
        trait_levels = results.within(
            ui.query(snapshot, "results_trait_levels", school_id=school_id, period=period),
            grade, class_id)
        if trait_levels.empty:
            st.info(ui.tr("results.no_levels"))
        else:
            st.plotly_chart(ui.chart(charts.level_share_bars,
                with_labels(results.trait_shares(trait_levels)), "trait", lang,
                group_col="group_label"), width="stretch")
            table = with_labels(results.trait_shares(trait_levels, ["grade", "class_name", "class_id"]))
            ui.table(table.assign(level_text=level_names(table, "trait")),
                     {"class_name": "col.class", "group_label": "col.trait_group", "label": "col.item",
                      "level_text": "col.level", "students": "col.students", "share": "col.share"},
                     title=ui.tr("results.trait_levels_title", period=period), snapshot=snapshot,
                     key="trait-levels")

with tab_scores:
    if tab_scores.open:
        st.caption(ui.tr("results.scores_note"))
        scores = results.within(
            ui.query(snapshot, "results_scores", school_id=school_id, period=period), grade, class_id)
        if scores.empty:
            st.info(ui.tr("results.no_scores"))
        else:
            distribution = with_labels(results.score_distribution(scores, ["grade", "item_code"]))
            codes = list(dict.fromkeys(distribution["item_code"]))
            scored = pick(ui.tr("results.subject"), codes, "scored", ui.item_name)
            st.plotly_chart(ui.chart(charts.score_histogram,
                distribution[distribution["item_code"] == scored], lang, "grade_label"),
                width="stretch")
            ui.table(distribution, {"grade": "col.grade", "label": "col.subject", "score": "col.score",
                                    "students": "col.students"},
                     title=ui.tr("results.scores_title", period=period), snapshot=snapshot,
                     key="scores")

with tab_moves:
    if tab_moves.open:
        periods = list(rules.PERIODS)
        names = rules.PERIOD_NAMES_EN if lang == "en" else rules.PERIOD_NAMES_VI
        left, right = st.columns(2)
        with left:
            before = pick(ui.tr("results.period_from"), periods, "from", names.get,
                          results.previous_period(period) or period)
        with right:
            after = pick(ui.tr("results.period_to"), periods, "to", names.get, period)
        moves = results.transitions(results.within(
            ui.query(snapshot, "results_transitions", school_id=school_id, period_from=before,
                     period_to=after), grade, class_id))
        st.caption(ui.tr("results.transition_note", before=before, after=after))
        if moves.empty:
            st.info(ui.tr("results.no_transitions"))
        else:
            codes = list(dict.fromkeys(moves["item_code"]))
            moved = pick(ui.tr("results.subject"), codes, "moved", ui.item_name)
            st.plotly_chart(ui.chart(charts.transition_heatmap, results.transition_matrix(moves, moved),
                                                      before, after, lang), width="stretch")
            ui.table(with_labels(moves), {"label": "col.item", "level_from": "col.level_from",
                                          "level_to": "col.level_to", "students": "col.students"},
                     title=ui.tr("results.transitions_title", before=before, after=after),
                     snapshot=snapshot, key="transitions")

with tab_year:
    if tab_year.open:
        st.caption(ui.tr("results.year_note"))
        year = results.within(ui.query(snapshot, "results_classification", school_id=school_id),
                              grade, class_id)
        if year.empty:
            st.info(ui.tr("results.no_year"))
        else:
            table = results.classification_shares(year)
            st.plotly_chart(ui.chart(charts.level_share_bars, table, "classification", lang,
                                     "class_name"),
                            width="stretch")
            ui.table(table.assign(level_text=level_names(table, "classification")),
                     {"class_name": "col.class", "level_text": "col.classification",
                      "students": "col.students", "share": "col.share"},
                     title=ui.tr("results.year_title"), snapshot=snapshot, key="year")

with tab_compare:
    if tab_compare.open:
        st.caption(ui.tr("results.entered_only"))
        choices = list(results.within(classes, grade)["class_id"])
        if len(choices) < 2:
            choices = list(classes["class_id"])
        if len(choices) < 2:
            st.info(ui.tr("results.need_two_classes"))
        else:
            left, right = st.columns(2)
            with left:
                class_a = pick(ui.tr("results.class_a"), choices, "class_a", class_names.get)
            with right:
                class_b = pick(ui.tr("results.class_b"), choices, "class_b", class_names.get,
                               next(c for c in choices if c != class_a))
            pair = with_labels(results.side_by_side(subject_levels, [class_a, class_b]))
            if pair.empty:
                st.info(ui.tr("results.no_levels"))
            else:
                st.plotly_chart(ui.chart(charts.classes_side_by_side, pair, lang), width="stretch")
                ui.table(pair.assign(level_text=level_names(pair, "subject")),
                         {"class_name": "col.class", "label": "col.subject", "level_text": "col.level",
                          "students": "col.students", "share": "col.share"},
                         title=ui.tr("results.compare_title", a=class_names[class_a],
                                     b=class_names[class_b], period=period),
                         snapshot=snapshot, key="compare")

with tab_quality:
    if tab_quality.open:
        st.caption(ui.tr("results.quality_note"))
        try:
            found = quality.cached_findings(ui.data_dir(), snapshot, school_id, lang)
        except SettingsError as exc:
            st.error(ui.tr("results.settings_error", error=exc))
            st.stop()
        rules_table = quality.summary(found, lang)
        described = rules_table.assign(
            description=[quality.rule_description(c, lang) for c in rules_table["rule"]],
            severity_text=[ui.tr("severity." + s) for s in rules_table["severity"]])
        rule_columns = {"name": "col.rule", "severity_text": "col.severity", "count": "col.count",
                        "description": "col.description"}
        # The descriptions are sentences: a wrapping table, so none is cut at the column's edge.
        ui.table(described, rule_columns, ui.tr("results.quality_rules_title"), snapshot,
                 key="quality-rules", wrap=True)
        counts = dict(zip(rules_table["rule"], rules_table["count"]))
        first_found = next((c for c, n in counts.items() if n), None)
        rule = pick(ui.tr("results.pick_rule"), list(counts), "rule",
                    lambda c: f"{quality.rule_name(c, lang)} ({counts[c]})", first_found)
        listed = quality.named(found[found["rule"] == rule], classes,
                               ui.query(snapshot, "results_student_names", school_id=school_id))
        if listed.empty:
            st.success(ui.tr("results.no_findings"))
        else:
            ui.table(listed.assign(item=[name if isinstance(c, str) else "" for c, name in
                                         zip(listed["item_code"], ui.item_names(listed["item_code"]))]),
                     {"class_name": "col.class", "student_id": "col.student_id",
                      "full_name": "col.student", "item": "col.item", "detail": "col.detail"},
                     title=ui.tr("results.findings_title", rule=quality.rule_name(rule, lang)),
                     snapshot=snapshot, key="quality-findings")
