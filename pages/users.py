"""Người dùng: the accounts of the signed-in administrator's own school — list, add, disable or
enable, reset a password. District accounts and other schools' are made with the CLI."""
import pandas as pd
import streamlit as st

from csdl import auth, ui
from csdl.access import SCHOOL_ROLES

ui.guard("users")
st.title(ui.tr("page.users"))
data_dir = ui.data_dir()
actor = ui.user_name()
school_id, can_manage = ui.own_school()
if not can_manage:
    st.warning(ui.tr("users.unbound_admin"))
    st.stop()


def report(action, *args, done_key: str) -> None:
    try:
        action(data_dir, *args, actor)
    except auth.AuthError as exc:
        st.error(ui.tr(exc.key, **exc.params))
    else:
        st.success(ui.tr(done_key, username=args[0]))


# Only this school's accounts (unbound ones too while the data holds one school or none).
users = [u for u in auth.list_users(data_dir)
         if "district" not in u.roles and u.school_id in (school_id, None)]
# Only the principal and the administrator reach this line (ui.guard above), so only they can
# download the list of accounts.
ui.table(pd.DataFrame([{
    "username": u.username, "name": u.name,
    "role": ", ".join(ui.tr("role." + r) for r in u.roles),
    "state": ui.tr("users.disabled") if u.disabled else ui.tr("users.active"),
    "school": u.school_id or ui.tr("users.no_school"),
    "demo": "✓" if u.demo else "",
} for u in users], columns=["username", "name", "role", "school", "state", "demo"]),
    {"username": "auth.username", "name": "users.name", "role": "users.role",
     "school": "users.school", "state": "users.state", "demo": "users.demo"},
    title=ui.tr("export.title_users"), snapshot=None, key="users")

st.caption((ui.tr("users.school_fixed", school=school_id) + " " if school_id else "")
           + ui.tr("users.cli_only"))
add_tab, change_tab = st.tabs([ui.tr("users.add"), ui.tr("users.change")])
with add_tab, st.form("add_user", clear_on_submit=True):
    username = st.text_input(ui.tr("auth.username"))
    name = st.text_input(ui.tr("users.name"))
    role = st.selectbox(ui.tr("users.role"), SCHOOL_ROLES, format_func=lambda r: ui.tr("role." + r))
    password = st.text_input(ui.tr("auth.password"), type="password",
                             help=ui.tr("auth.password_too_short", n=auth.MIN_PASSWORD_LENGTH))
    if st.form_submit_button(ui.tr("users.add"), type="primary"):
        try:
            auth.add_user(data_dir, username, role, name, password, actor, school_id=school_id)
        except auth.AuthError as exc:
            st.error(ui.tr(exc.key, **exc.params))
        else:
            st.success(ui.tr("cli.user_added", username=username.strip().lower()))
            st.rerun()

with change_tab:
    names = [u.username for u in users]
    if not names:
        st.info(ui.tr("auth.no_users"))
    else:
        chosen = st.selectbox(ui.tr("auth.username"), names, key="change_user")
        c1, c2 = st.columns(2)
        if c1.button(ui.tr("users.disable"), disabled=chosen == actor):
            report(auth.disable_user, chosen, done_key="cli.user_disabled")
        if c2.button(ui.tr("users.enable")):
            report(auth.enable_user, chosen, done_key="cli.user_enabled")
        with st.form("reset_password", clear_on_submit=True):
            new_password = st.text_input(ui.tr("users.new_password"), type="password")
            if st.form_submit_button(ui.tr("users.reset")):
                report(auth.reset_password, chosen, new_password, done_key="cli.password_reset")
