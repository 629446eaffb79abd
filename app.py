"""Entry point: sign-in, then the menu built from the user's role (`streamlit run app.py`)."""
import streamlit as st

from csdl import access, ui

st.set_page_config(page_title="Giám sát CSDL ngành", page_icon=":material/fact_check:",
                   layout="wide")
ui.language_switch()

# Placeholder until sign-in lands: every visitor is treated as the principal, and says so.
st.session_state["roles"] = ("principal",)
st.sidebar.warning(ui.tr("ui.no_login_placeholder"))

pages = [st.Page(f"pages/{spec.key}.py", title=ui.tr(spec.title_key), icon=spec.icon,
                 url_path=spec.key, default=(i == 0))
         for i, spec in enumerate(access.pages_for(ui.current_roles()))]
st.navigation(pages).run()
