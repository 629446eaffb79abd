"""Entry point: sign-in, then the menu built from the user's role (`streamlit run app.py`).

Kept short before st.navigation (no hashing, no data reads) so a refreshed sub-page keeps its
URL. Signed out, every page is registered hidden and each page's own guard shows the sign-in
form: a deep link then lands on its page after sign-in instead of on the default page.
"""
import streamlit as st

from csdl import access, ingest, scope, ui

st.set_page_config(page_title="Giám sát CSDL ngành", page_icon=":material/fact_check:",
                   layout="wide")
# Off in config.toml (a fresh server would flash pages/' file names); on for st.navigation's menu.
st.set_option("client.showSidebarNavigation", True)
# Once per process: temporary snapshots that imports killed half-way left behind.
ingest.clean_up_leftovers(ui.data_dir(), once=True)
ui.restore_session()
ui.apply_scope()  # the account's schools, from users.yaml, before any page reads data
ui.issue_pending_cookie()
roles = ui.current_roles()
# Every page is registered; the menu shows the role's. A link to another page then opens it
# and its guard says, in the user's language, that the account may not see it (an unregistered
# page would get Streamlit's English "Page not found").
mine = access.pages_for(roles) if roles else []
# Signed out, the school roles' first page is the default: a sign-in at the app's address then
# opens it in the very run the sign-in starts, with no switch to another page.
first = mine or access.pages_for(set(access.SCHOOL_ROLES))[:1]
specs = first + [spec for spec in access.PAGES if spec not in first]
pages = [st.Page(f"pages/{spec.key}.py", title=ui.tr(spec.title_key), icon=spec.icon,
                 url_path=spec.key, default=(i == 0),
                 visibility="visible" if spec in mine else "hidden")
         for i, spec in enumerate(specs)]
# A mistyped or old address gets a page of ours, in the user's language, not Streamlit's dialog.
asked = ui.unknown_page({spec.key for spec in specs}, specs[0].key)
if asked:
    pages.append(st.Page(ui.page_not_found(asked, pages[0]), title=ui.tr("page.not_found"),
                         url_path=asked, visibility="hidden"))
navigation = st.navigation(pages, position="sidebar" if roles else "hidden", expanded=True)
# The browser asks for the page it showed: signed in at the app's address, that was the
# signed-out default, so open the role's first page instead (before any page code runs).
if st.session_state.pop("_open_first_page", False) and navigation is not pages[0]:
    st.switch_page(pages[0])
st.session_state["_signed_out_default"] = not roles and navigation is pages[0]
ui.language_switch()
ui.streamlit_texts()
if roles:
    st.sidebar.caption(ui.tr("auth.signed_in_as", name=st.session_state.get("name", ""),
                             role=", ".join(ui.tr("role." + r) for r in sorted(roles))))
    ui.sign_out_button()
try:
    navigation.run()
except scope.ScopeError:  # a school outside the account's schools: nothing was read
    st.error(ui.tr("scope.refused"))
