"""Entry point: sign-in, then the menu built from the user's role (`streamlit run app.py`).

Kept short before st.navigation (no hashing, no data reads) so a refreshed sub-page keeps its
URL. Signed out, every page is registered hidden and each page's own guard shows the sign-in
form: a deep link then lands on its page after sign-in instead of on the default page.
"""
import streamlit as st

from csdl import access, scope, ui

st.set_page_config(page_title="Giám sát CSDL ngành", page_icon=":material/fact_check:",
                   layout="wide")
ui.restore_session()
ui.apply_scope()  # the account's schools, from users.yaml, before any page reads data
ui.issue_pending_cookie()
roles = ui.current_roles()
specs = access.pages_for(roles) if roles else list(access.PAGES)
pages = [st.Page(f"pages/{spec.key}.py", title=ui.tr(spec.title_key), icon=spec.icon,
                 url_path=spec.key, default=(i == 0)) for i, spec in enumerate(specs)]
navigation = st.navigation(pages, position="sidebar" if roles else "hidden", expanded=True)
ui.language_switch()
if roles:
    st.sidebar.caption(ui.tr("auth.signed_in_as", name=st.session_state.get("name", ""),
                             role=", ".join(ui.tr("role." + r) for r in sorted(roles))))
    ui.sign_out_button()
try:
    navigation.run()
except scope.ScopeError:  # a school outside the account's schools: nothing was read
    st.error(ui.tr("scope.refused"))
