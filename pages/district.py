"""So sánh các trường: the district office's view, one row per school — completion of the
period, units overdue, changes after lock, data-quality findings; a link under the table opens
each school. The table wraps (st.table): its thirteen columns fit a 1366 px screen, headers and
long school names on two lines, rather than scrolling sideways as a grid would."""
import streamlit as st

from csdl import charts, district, ui
from csdl.settings import SettingsError

ui.guard("district")
st.title(ui.tr("page.district"))
lang = ui.lang()
snapshot = ui.pick_snapshot()
if snapshot is None:
    st.stop()
school_ids = ui.school_scope(snapshot)
ui.show_data_age(snapshot)
if not school_ids:
    st.info(ui.tr("district.no_schools"))
    st.stop()
period = ui.pick_period(district.current_period(ui.data_dir(), snapshot, school_ids))
try:
    table = district.compare(ui.data_dir(), snapshot, school_ids, period)
except SettingsError as exc:
    st.error(ui.tr("results.settings_error", error=exc))
    st.stop()

st.caption(ui.tr("district.caption"))
st.markdown("##### " + ui.tr("district.chart_title", period=period))
st.plotly_chart(charts.district_completion(table, lang), width="stretch", key="district-chart")
COLUMNS = {"name": "district.col_school", "school_id": "district.col_school_id",
           "expected": "district.col_expected", "entered": "district.col_entered",
           "completion": "district.col_completion", "units": "district.col_units",
           "overdue_units": "district.col_overdue", "changes": "district.col_changes",
           "changes_not_approved": "district.col_not_approved",
           "findings_high": "district.col_findings_high",
           "findings_medium": "district.col_findings_medium",
           "findings_low": "district.col_findings_low"}
ui.table(table, COLUMNS, ui.tr("district.table_title", period=period), snapshot, key="district",
         wrap=True)
st.caption(ui.tr("district.overdue_note"))
link_params = {"period": period}
if "snapshot" in st.query_params:  # the school's pages open on the snapshot compared here
    link_params["snapshot"] = st.query_params["snapshot"]
for row in table.itertuples():
    st.page_link("pages/overview.py", label=ui.tr("district.open_school", school=row.name),
                 icon=":material/dashboard:",
                 query_params={"school": row.school_id, **link_params})
