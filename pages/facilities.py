"""Cơ sở vật chất: rooms, classrooms per class, special rooms, student toilets, computers and
the condition of rooms and equipment, each against its norm (a setting)."""
import pandas as pd
import streamlit as st

from csdl import charts, facilities, ui
from csdl.i18n import fmt_number

ui.guard("facilities")
st.title(ui.tr("page.facilities"))
lang = ui.lang()
snapshot, school = ui.snapshot_and_school()
school_id = school.school_id
ui.show_data_age(snapshot)
norms = ui.norms()

rooms = ui.query(snapshot, "facility_rooms", school_id=school_id)
equipment = ui.query(snapshot, "facility_equipment", school_id=school_id)
students = facilities.students_by_gender(
    ui.query(snapshot, "facility_students", school_id=school_id))
classes = len(ui.query(snapshot, "classes", school_id=school_id))
if rooms.empty and equipment.empty:
    st.info(ui.tr("facilities.no_data"))
    st.stop()

table = facilities.norms(rooms, equipment, classes, students, norms)
by_indicator = table.set_index("indicator")
special = table[table["indicator"].str.startswith("special_")]
fixtures = table[table["indicator"].str.startswith("toilet_")]
cols = st.columns(4)
for col, indicator, key, decimals in (
        (cols[0], "classrooms_per_class", "facilities.metric_classrooms", 2),
        (cols[3], "computers_per_student", "facilities.metric_computers", 3)):
    row = by_indicator.loc[indicator]
    value = "–" if pd.isna(row["ratio"]) else fmt_number(row["ratio"], lang, decimals)
    col.metric(ui.tr(key), value,
               # In words, no arrow: a shortfall is not a fall ("↑ −12" read as a rise).
               delta=ui.tr("facilities.met") if row["met"] else ui.tr(
                   "facilities.not_met", shortfall=fmt_number(row["shortfall"], lang)),
               delta_color="green" if row["met"] else "red", delta_arrow="off",
               help=ui.tr(f"facilities.norm.{indicator}",
                          norm=fmt_number(row["norm"], lang, decimals),
                          base=fmt_number(row["base"], lang),
                          needed=fmt_number(row["needed"], lang)))
for col, part, key in ((cols[1], special, "facilities.metric_special"),
                       (cols[2], fixtures, "facilities.metric_toilets")):
    col.metric(ui.tr(key),
               f"{fmt_number(int(part['met'].sum()), lang)} / {fmt_number(len(part), lang)}")

tab_norms, tab_rooms, tab_toilets, tab_equipment = ui.tabs((
    "facilities.tab_norms", "facilities.tab_rooms", "facilities.tab_toilets",
    "facilities.tab_equipment"), key="facilities-tab")

with tab_norms:
    if tab_norms.open:
        st.caption(ui.tr("facilities.norms_note"))
        described = facilities.describe(table, students, norms, lang)
        ui.table(described, {"indicator": "col.indicator", "value": "col.value", "norm": "col.norm",
                             "verdict": "col.verdict"},
                 title=ui.tr("facilities.norms_title"), snapshot=snapshot, key="norms")

with tab_rooms:
    if tab_rooms.open:
        by_type = facilities.rooms_by_type(rooms)
        if by_type.empty:
            st.info(ui.tr("facilities.no_data"))
        else:
            construction = {"solid": ui.tr("col.solid"), "semi_solid": ui.tr("col.semi_solid"),
                            "temporary": ui.tr("col.temporary"),
                            "unknown": ui.tr("col.construction_unknown")}
            st.markdown("##### " + ui.tr("facilities.rooms_title"))
            st.plotly_chart(ui.chart(charts.stacked_counts, by_type, "room_type", construction,
                                                  charts.CONSTRUCTION_COLORS, lang),
                            width="stretch", key="rooms-chart")
            ui.table(by_type, {"room_type": "col.room_type", "rooms": "col.rooms", "solid": "col.solid",
                               "semi_solid": "col.semi_solid", "temporary": "col.temporary",
                               "unknown": "col.construction_unknown", "usable": "col.usable"},
                     title=ui.tr("facilities.rooms_title"), snapshot=snapshot, key="rooms")
            st.markdown("##### " + ui.tr("facilities.special_title"))
            found = facilities.special_rooms(rooms)
            ui.table(found.assign(
                name=[ui.tr(f"facilities.indicator.special_{k}") for k in found["kind"]],
                state=[ui.tr("facilities.present") if p else ui.tr("facilities.only_broken") if n
                       else ui.tr("facilities.missing")
                       for p, n in zip(found["present"], found["rooms"])]),
                {"name": "col.special_room", "state": "col.present", "rooms": "col.rooms",
                 "usable": "col.usable", "room_types": "col.room_types"},
                title=ui.tr("facilities.special_title"), snapshot=snapshot, key="special")
            st.markdown("##### " + ui.tr("facilities.conditions_title"))
            ui.table(facilities.room_conditions(rooms),
                     {"room_type": "col.room_type", "rooms": "col.rooms", "good": "col.good",
                      "repair": "col.repair", "broken": "col.broken_rooms",
                      "unknown": "col.condition_unknown"},
                     title=ui.tr("facilities.conditions_title"), snapshot=snapshot, key="conditions")

with tab_toilets:
    if tab_toilets.open:
        st.caption(ui.tr("facilities.toilets_note", boys_per=norms.boys_per_toilet_set,
                         girls_per=norms.girls_per_toilet_set,
                         boys=fmt_number(students["boys"], lang),
                         girls=fmt_number(students["girls"], lang)))
        found = facilities.toilets(equipment, students["boys"], students["girls"], norms)
        found["label"] = [ui.tr(f"facilities.indicator.toilet_{f}")
                          if f"toilet_{f}" in set(table["indicator"])
                          else ui.tr(f"facilities.fixture.{f}") for f in found["fixture"]]
        st.plotly_chart(ui.chart(charts.have_and_needed, found, "label", lang), width="stretch",
                        key="toilets-chart")
        ui.table(found.assign(verdict=[
            "" if m is None else ui.tr("facilities.met") if m
            else ui.tr("facilities.not_met", shortfall=fmt_number(s, lang))
            for m, s in zip(found["met"], found["shortfall"])]),
            {"label": "col.fixture", "have": "col.have", "needed": "col.needed",
             "verdict": "col.verdict"},
            title=ui.tr("facilities.toilets_title"), snapshot=snapshot, key="toilets")

with tab_equipment:
    if tab_equipment.open:
        st.caption(ui.tr("facilities.computers_note",
                         norm=fmt_number(norms.computers_per_student, lang, 3)))
        ui.table(facilities.equipment_condition(equipment),
                 {"item": "col.equipment", "quantity": "col.quantity", "working": "col.working",
                  "broken": "col.broken", "share": "col.share"},
                 title=ui.tr("facilities.equipment_title"), snapshot=snapshot, key="equipment")
