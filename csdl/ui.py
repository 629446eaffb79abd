"""The only module of the library that imports Streamlit: shared page furniture.

Pages call these helpers so that language, the chosen snapshot and school, cached queries and
the data-age line work the same everywhere.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Sequence

import pandas as pd
import streamlit as st

from . import config, queries, rules, scope, snapshots
from .i18n import fmt_date, fmt_datetime, t
from .timeutil import now_local


LANGUAGES = {"Tiếng Việt": "vi", "English": "en"}


def lang() -> str:
    """The user's language: the switch as it is in this run (so the menu, built before the
    switch is drawn, follows a change at once), else the account's saved choice."""
    choice = st.session_state.get("lang_radio")
    if choice in LANGUAGES:
        return LANGUAGES[choice]
    if "lang" not in st.session_state and st.session_state.get("username"):
        from . import records

        try:
            saved = records.user_setting(data_dir(), st.session_state["username"], "lang")
        except (OSError, records.RecordsBusy):
            saved = None
        st.session_state["lang"] = saved or "vi"
    return "en" if st.session_state.get("lang") == "en" else "vi"


def unknown_page(known_paths: set[str], default_key: str) -> str | None:
    """The page address the browser asked for when no registered page has it (a mistyped or
    old link), else None. Streamlit would answer it with an English "Page not found" dialog;
    app.py registers a page of our own under that address instead. The default page's own
    name (the default page lives at the root, yet its name stays reserved) opens it."""
    import re

    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or ctx.pages_manager.intended_page_script_hash:
        return None
    asked = (ctx.pages_manager.intended_page_name or "").strip().strip("/")
    if asked == default_key:
        ctx.pages_manager.set_script_intent("", "")  # resolves to the default page, no dialog
        return None
    # st.Page takes no nested path: such an address still gets the default page (and dialog).
    if not asked or asked in known_paths or not re.fullmatch(r"[\w.~-]{1,100}", asked):
        return None
    return asked


def page_not_found(asked: str, default_page):
    """The page shown at an address that is no page: says so in the user's language, with a
    link to the first page."""
    from .literal import literal

    def show() -> None:
        st.subheader(tr("page.not_found"))
        st.info(tr("page.not_found_text", path=literal("/" + asked)))
        st.page_link(default_page, label=tr("page.not_found_link"), icon=":material/home:")
    return show


def streamlit_texts() -> None:
    """Streamlit's own texts that no API sets (the file uploader's button and limits) in the
    user's language, by CSS: the English text is hidden and the translation drawn in its place.
    The English mode keeps Streamlit's. Call once per run, before the page."""
    if lang() == "en":
        return
    size = st.get_option("server.maxUploadSize")
    button, limit = tr("ui.upload_button"), tr("ui.upload_limit", size=size)
    # The original text is display:none (so it is not read out or copied); the translation is
    # drawn by its container's ::after.
    st.html(f"""<style>
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {{
  display: none; }}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after {{
  content: "{button}"; }}
[data-testid="stFileUploaderDropzoneInstructions"] span {{ display: none; }}
[data-testid="stFileUploaderDropzoneInstructions"] > div::after {{
  content: "{limit}"; font-size: 0.875rem; }}
</style>""")


def file_uploader(label: str, key: str, multiple: bool = False):
    """A file uploader that takes any file: files are recognised by their content and refused
    with a message in the user's language (a type list would make Streamlit refuse in English)."""
    return st.file_uploader(label, accept_multiple_files=multiple, key=key)


def _save_language() -> None:
    from . import records

    chosen = LANGUAGES.get(st.session_state.get("lang_radio"), "vi")
    st.session_state["lang"] = chosen
    if st.session_state.get("username"):
        try:  # the choice follows the account to a reload or another browser
            records.set_user_setting(data_dir(), st.session_state["username"], "lang", chosen)
        except (OSError, records.RecordsBusy):
            pass  # the choice still holds for this session


def tr(key: str, **params: object) -> str:
    return t(key, lang(), **params)


def data_dir() -> Path:
    return config.data_dir()


def language_switch() -> None:
    current = lang()
    if st.session_state.get("lang_radio") not in LANGUAGES:  # a new session: the saved choice
        st.session_state["lang_radio"] = next(k for k, v in LANGUAGES.items() if v == current)
    st.sidebar.radio("Ngôn ngữ / Language", list(LANGUAGES), horizontal=True, key="lang_radio",
                     on_change=_save_language)


@st.cache_resource(max_entries=16, show_spinner=False)
def _snapshot_connection(data_path: str, snapshot_id: str, mtime_ns: int, size: int):
    """One read-only connection per snapshot file for the whole server, with the shared macros
    defined once: opening a file and defining the macros cost ~50–100 ms, paid before on every
    cache miss. Queries on it take turns (the lock); they run only on a cache miss."""
    import threading

    return queries.prepare(snapshots.connect(data_path, snapshot_id)), threading.Lock()


@st.cache_data(max_entries=512, show_spinner=False)
def _cached_query(data_path: str, snapshot_id: str, name: str, params: tuple) -> pd.DataFrame:
    # Snapshots never change once written, so (snapshot id, query, parameters) is a safe key.
    try:
        st_ = snapshots.snapshot_path(data_path, snapshot_id).stat()
    except OSError:  # let connect say the snapshot is missing, as before
        con = snapshots.connect(data_path, snapshot_id)
        con.close()
        raise
    con, lock = _snapshot_connection(data_path, snapshot_id, st_.st_mtime_ns, st_.st_size)
    with lock:
        return queries.run(con, name, **{k: list(v) if isinstance(v, tuple) else v
                                         for k, v in params})


def query(snapshot: snapshots.SnapshotInfo, name: str, **params: object) -> pd.DataFrame:
    queries.check_scope(name, **params)  # before the cache: a hit must not skip the check
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    return _cached_query(str(snapshot.path.parent.parent), snapshot.snapshot_id, name,
                         tuple(sorted(params.items())))


def snapshots_available() -> list[snapshots.SnapshotInfo]:
    good, _ = snapshots.list_snapshots(data_dir())
    return good


def pick_snapshot() -> snapshots.SnapshotInfo | None:
    """The snapshot chosen in the sidebar (kept in the URL as ?snapshot=); latest by default."""
    snaps = snapshots_available()
    if not snaps:
        st.info(tr("ui.no_snapshot"))
        return None
    ids = [s.snapshot_id for s in reversed(snaps)]
    wanted = st.query_params.get("snapshot")
    index = ids.index(wanted) if wanted in ids else 0
    by_id = {s.snapshot_id: s for s in snaps}
    chosen = st.sidebar.selectbox(
        tr("ui.snapshot"), ids, index=index,
        # Short enough for the sidebar: the time says the school year.
        format_func=lambda i: fmt_datetime(by_id[i].taken_at)
                              + (f" · {tr('ui.latest')}" if i == ids[0] else ""))
    if chosen != ids[0]:
        st.query_params["snapshot"] = chosen
    elif "snapshot" in st.query_params:
        del st.query_params["snapshot"]
    return by_id[chosen]


def account():
    """The signed-in account as users.yaml holds it now (its school binding is read on the
    server each run, never taken from the URL or from session state)."""
    from . import auth

    if not st.session_state.get("authentication_status"):
        return None
    return auth.get_user(data_dir(), st.session_state.get("username"))


def apply_scope() -> None:
    """Set this run's school scope from the account before any data is read: the district role
    sees every school; a school role its own school; signed out, none. An account without a
    school gets the snapshot's only school in `school_scope`."""
    from . import access

    user = account()
    if user is None or user.disabled:
        scope.set_allowed(())
    elif access.DISTRICT in user.roles:
        scope.set_allowed(None)
    else:
        scope.set_allowed(() if user.school_id is None else (user.school_id,))


def several_schools() -> bool:
    """Whether the latest snapshot holds more than one school."""
    latest = snapshots.latest_snapshot(data_dir())
    return latest is not None and len(query(latest, "school_ids")) > 1


def own_school() -> tuple[str | None, bool]:
    """(the school whose accounts this school account manages, whether it can manage any):
    its bound school; unbound, the only school of the latest snapshot (None before any
    import); no school and no right when the data holds several schools."""
    user = account()
    if user is None:
        return None, False
    if user.school_id is not None:
        return user.school_id, True
    latest = snapshots.latest_snapshot(data_dir())
    if latest is None:
        return None, True
    ids = list(query(latest, "school_ids")["school_id"])
    return (ids[0], True) if len(ids) == 1 else (None, False)


def school_scope(snapshot: snapshots.SnapshotInfo) -> list[str]:
    """The snapshot's schools this account may see; narrows this run's scope to them."""
    from . import auth

    user = account()
    ids = list(query(snapshot, "school_ids")["school_id"])
    allowed = ([] if user is None or user.disabled
               else auth.allowed_schools(user.roles, user.school_id, ids))
    scope.set_allowed(allowed)
    return allowed


def pick_school(snapshot: snapshots.SnapshotInfo) -> pd.Series | None:
    """The school the page shows: one of the account's schools only (a `?school=` for another
    school is ignored); the district role picks among all of them."""
    allowed = school_scope(snapshot)
    if not allowed:
        user = account()
        if user is not None and user.school_id is not None:
            st.warning(tr("scope.school_not_in_snapshot", school=user.school_id))
        elif user is not None and query(snapshot, "school_ids").shape[0] > 1:
            st.warning(tr("scope.unbound_account"))
        else:
            st.warning(tr("ui.no_school"))
        return None
    schools = query(snapshot, "schools", school_ids=allowed)
    if len(schools) == 1:
        if st.query_params.get("school") not in (None, schools.iloc[0]["school_id"]):
            del st.query_params["school"]  # another school's id: dropped from the URL
        return schools.iloc[0]
    ids = list(schools["school_id"])
    wanted = st.query_params.get("school")
    chosen = st.sidebar.selectbox(
        tr("ui.school"), ids, index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda i: schools.set_index("school_id").loc[i, "name"])
    st.query_params["school"] = chosen
    return schools[schools["school_id"] == chosen].iloc[0]


def pick_period(default: str) -> str:
    wanted = st.query_params.get("period", default)
    periods = list(rules.PERIODS)
    names = rules.PERIOD_NAMES_EN if lang() == "en" else rules.PERIOD_NAMES_VI
    chosen = st.sidebar.selectbox(
        tr("ui.period"), periods, index=periods.index(wanted) if wanted in periods else 0,
        format_func=lambda p: f"{names[p]} ({p})")
    st.query_params["period"] = chosen
    return chosen


def data_age(snapshot: snapshots.SnapshotInfo, now: datetime | None = None) -> str:
    """'Dữ liệu lúc 08/01/2027 17:00 (2 ngày trước)': every page says how old its data is."""
    now = now or now_local()
    delta = now - snapshot.taken_at
    if delta.total_seconds() < 0:
        age = tr("ui.age_future")
    elif delta.days >= 1:
        age = tr("ui.age_days", days=delta.days)
    else:
        age = tr("ui.age_hours", hours=int(delta.total_seconds() // 3600))
    return tr("ui.data_as_of", when=fmt_datetime(snapshot.taken_at), age=age)


def show_data_age(snapshot: snapshots.SnapshotInfo) -> None:
    st.caption(data_age(snapshot))
    if snapshot.source == "demo":
        st.caption(tr("ui.demo_data"))


def current_roles() -> frozenset[str]:
    if not st.session_state.get("authentication_status"):
        return frozenset()
    return frozenset(st.session_state.get("roles") or ())


def is_demo() -> bool:
    """A demo installation: demo accounts may sign in (never once real data was imported)."""
    from . import auth

    return auth.demo_allowed(data_dir())


_SESSION_KEYS = ("authentication_status", "username", "name", "roles", "_session_version")


def _start_session(user, version: int) -> None:
    st.session_state.update(authentication_status=True, username=user.username, name=user.name,
                            roles=list(user.roles), _session_version=version)


def _end_session() -> None:
    for key in _SESSION_KEYS:
        st.session_state.pop(key, None)


def _check_session() -> None:
    """End a signed-in session whose account was signed out (anywhere), reset, disabled,
    removed or retired since: read from users.yaml and app.db on every run. Sessions set up
    without a version (tests) count as version 0, as cookies issued before versions did."""
    from . import auth

    if not st.session_state.get("authentication_status"):
        return
    found = auth.session_check(data_dir(), st.session_state.get("username"),
                               st.session_state.get("_session_version", 0))
    if found is None:
        _end_session()
        st.session_state["_session_ended"] = True


def restore_session() -> None:
    """Check the open session, else sign the visitor in from a valid cookie. A cookie that is
    not ours in every respect (key, HS256, expiry, session version, enabled account) is
    ignored quietly: the visitor sees the sign-in form, never an error."""
    from . import auth

    if st.session_state.get("authentication_status"):
        _check_session()
        return
    name = str(auth.load_config(data_dir())["cookie"]["name"])
    found = auth.user_from_token(data_dir(), st.context.cookies.get(name))
    if found is not None:
        _start_session(*found)


def _cookie_component(method: str, key: str, **args) -> bool:
    """The cookie component of extra-streamlit-components, called directly: it answers True
    once the browser has run the method, which CookieManager's wrappers do not pass on.
    It writes document.cookie from the page, so it cannot set HttpOnly (browsers refuse that
    flag from scripts); SameSite=Strict always, Secure over HTTPS (auth.cookie_secure)."""
    from extra_streamlit_components.CookieManager import _component_func

    st.markdown("<style>.element-container:has(iframe[height='0']){display:none}</style>",
                unsafe_allow_html=True)
    return bool(_component_func(method=method, key=key, default=False, **args))


def issue_pending_cookie() -> None:
    """Set or delete the sign-in cookie, drawn again on every run until the browser answers
    that it did it: a run cut short by a rerun (a menu rebuilt, a widget changed) before the
    component reached the browser would otherwise lose the cookie for good. In a fragment:
    the browser's answer reruns the fragment alone, not the page again."""
    if st.session_state.get("_cookie_pending") or st.session_state.get("_cookie_delete_pending"):
        _cookie_fragment()


@st.fragment
def _cookie_fragment() -> None:
    import os
    from datetime import timedelta

    from . import auth

    if st.session_state.get("_cookie_pending") and st.session_state.get("authentication_status"):
        cookie = auth.load_config(data_dir())["cookie"]
        days = float(cookie["expiry_days"])
        if days <= 0:
            st.session_state.pop("_cookie_pending")
        else:
            if "_cookie_args" not in st.session_state:  # the same arguments on every redraw
                token = auth.issue_token(data_dir(), st.session_state["username"],
                                         st.session_state.get("_session_version", 0))
                secure = auth.cookie_secure(st.context.url,
                                            st.context.headers.get("X-Forwarded-Proto"),
                                            os.environ.get(auth.COOKIE_SECURE_ENV))
                options = {"path": "/", "sameSite": "strict",
                           "expires": (datetime.now() + timedelta(days=days)).isoformat()}
                if secure:
                    options["secure"] = True
                st.session_state["_cookie_args"] = {
                    "cookie": str(cookie["name"]), "value": token, "options": options}
            if _cookie_component("set", "csdl_cookie_set", **st.session_state["_cookie_args"]):
                st.session_state.pop("_cookie_pending")
                st.session_state.pop("_cookie_args")
    if st.session_state.get("_cookie_delete_pending"):
        name = str(auth.load_config(data_dir())["cookie"]["name"])
        if _cookie_component("delete", "csdl_cookie_delete", cookie=name):
            st.session_state.pop("_cookie_delete_pending")


def _submit_sign_in() -> None:
    """The sign-in button's callback: it runs before the script, so the run it starts builds
    the signed-in menu and opens the page at once (the role's first at the app's address)."""
    from . import auth
    try:
        user = auth.sign_in(data_dir(), st.session_state.get("sign_in_username", ""),
                            st.session_state.get("sign_in_password", ""),
                            demo_allowed=is_demo())
        version = auth.session_version(data_dir(), user.username)
    except auth.AuthError as exc:
        st.session_state["_sign_in_error"] = (exc.key, exc.params)
    else:
        _start_session(user, version)
        st.session_state.update(_cookie_pending=True, _cookie_delete_pending=False,
                                _open_first_page=st.session_state.get("_signed_out_default"))
        st.session_state.pop("_cookie_args", None)


def _warm_up_charts() -> None:
    """An empty chart, never shown: the browser fetches and compiles the chart library while
    the password is typed, not after the click (the first page after sign-in has charts)."""
    import plotly.graph_objects as go

    with st.container(key="warm_up_charts"):
        st.markdown("<style>.st-key-warm_up_charts{display:none}</style>", unsafe_allow_html=True)
        st.plotly_chart(go.Figure(), key="warm_up_chart", config={"staticPlot": True})


def sign_in_form() -> None:
    """Our own form, so the lockout is checked before the password."""
    from . import auth

    st.subheader(tr("auth.sign_in"))
    if st.session_state.pop("_session_ended", False):
        st.info(tr("auth.session_ended"))
    with st.form("sign_in"):
        st.text_input(tr("auth.username"), autocomplete="username", key="sign_in_username")
        st.text_input(tr("auth.password"), type="password", autocomplete="current-password",
                      max_chars=auth.MAX_PASSWORD_LENGTH, key="sign_in_password")
        st.form_submit_button(tr("auth.sign_in_button"), type="primary",
                              on_click=_submit_sign_in)
    _warm_up_charts()
    refused = st.session_state.pop("_sign_in_error", None)
    if refused:
        st.error(tr(refused[0], **refused[1]))
    if is_demo():
        st.info(tr("auth.demo_accounts") + "\n\n" + "\n".join(
            f"- `{u}` / `{pw}` — {tr('role.' + role)}" for u, role, _, pw in auth.DEMO_ACCOUNTS))
    elif not auth.list_users(data_dir()):
        st.warning(tr("auth.no_users"))


def sign_out_button() -> None:
    if st.sidebar.button(tr("auth.sign_out"), key="sign_out"):
        from . import auth

        auth.sign_out(data_dir(), user_name())  # raises the version: every cookie of it ends
        _end_session()
        st.session_state.update(_cookie_delete_pending=True, _cookie_pending=False)
        st.session_state.pop("_cookie_args", None)
        st.rerun()


def _leave_pages_directory_mode() -> None:
    """On a fresh server Streamlit serves pages/*.py directly (its older multipage mode) until
    some session has run app.py's st.navigation. Switch the server to st.navigation and rerun
    through app.py, so a deep link gets the app's menu and sign-in like any other visit."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def guard(page_key: str) -> None:
    """Stop the page unless the signed-in user's role may see it (checked in every page)."""
    from . import access

    _leave_pages_directory_mode()
    _check_session()  # also when the page runs without app.py (a deep link on a fresh server)
    if not st.session_state.get("authentication_status"):
        sign_in_form()
        st.stop()
    if not access.allowed(page_key, current_roles()):
        st.title(tr("ui.no_access_title"))
        st.warning(tr("ui.sign_in_required"))
        st.stop()
    apply_scope()


def tabs(label_keys: Sequence[str], key: str, default: str | None = None) -> Sequence:
    """st.tabs whose hidden tabs cost nothing: each tab's content goes under `if tab.open:`,
    so only the open one is computed and sent, and opening another reruns the page. Not for
    tabs holding a form half filled in: a widget not drawn in a run loses its value.
    `default`: the label key of the tab open on arrival (a link to what a tab shows). Taken
    once a session: a tab that writes the link's parameter would otherwise change the default,
    and Streamlit then makes the tabs anew on it, closing the tab the user opened."""
    default = st.session_state.setdefault(f"_tabs_default_{key}", default)
    return st.tabs([tr(k) for k in label_keys], key=key, on_change="rerun",
                   default=tr(default) if default else None)


def table(df: pd.DataFrame, columns: dict[str, str], title: str | None = None,
          snapshot: snapshots.SnapshotInfo | None = None,
          select_key: str | None = None, key: str | None = None, wrap: bool = False) -> int | None:
    """Show a table with translated headers and numbers in the user's style; with a title, also
    offer it as Excel with a title row saying what it is, which snapshot, and when. With a
    `select_key` the user may pick a row: its position is returned. With `wrap` the table is an
    HTML table whose headers and cells wrap (csdl/tables.py says when that is needed)."""
    from . import exports, tables

    lg = lang()  # once: each st.session_state read costs ~15 µs, per row it adds up
    raw = df[list(columns)].copy()
    raw.columns = [t(k, lg) for k in columns.values()]
    shown = tables.screen_text(df, columns, lg)
    picked = None
    if wrap:
        st.table(tables.literal_frame(shown), hide_index=True, height=tables.height(len(df)))
    elif select_key:
        event = st.dataframe(shown, hide_index=True, width="stretch", key=select_key,
                             on_select="rerun", selection_mode="single-row")
        rows = event.selection.rows if event is not None else []
        picked = rows[0] if rows else None
    else:
        st.dataframe(shown, hide_index=True, width="stretch")
    if title:
        subtitle = (tr("export.subtitle", snapshot=snapshot.snapshot_id,
                       when=fmt_datetime(snapshot.taken_at)) if snapshot else "")
        sheet = exports.Sheet(title, raw, title, subtitle)
        st.download_button(tr("export.download"), lambda: exports.workbook([sheet]),
            file_name=f"{_file_stem(title)}.xlsx", key=f"dl-{key or title}",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return picked


def _file_stem(title: str) -> str:
    from .text import fold

    return fold(title)[:60] or "bang"


def user_name() -> str | None:
    return st.session_state.get("username")


def problem_table(problems: list) -> pd.DataFrame:
    """Problems as rows naming file, sheet, row and column, in the user's language."""
    from .i18n import t as translate

    return pd.DataFrame([{
        tr("problem.col_file"): p.file,
        tr("problem.col_sheet"): p.sheet or "",
        tr("problem.col_row"): "" if p.row is None else str(p.row),
        tr("problem.col_column"): p.column or "",
        tr("problem.col_message"): translate("problem." + p.code, lang(), **p.params),
    } for p in problems])


def _schedule_key(school_year: str, school_id: str) -> str:
    """A key that changes whenever the school's windows or lock events of any year change (the
    forecast reads earlier years' windows), so cached progress figures follow an edit at once."""
    from . import schedule

    return schedule.fingerprint(data_dir(), school_id)


@st.cache_data(max_entries=64, show_spinner=False)
def _progress_units(data_path: str, snapshot_id: str, school_id: str, period: str,
                    schedule_key: str) -> pd.DataFrame:
    from . import progress

    return progress.compute(data_path, snapshots.get_snapshot(data_path, snapshot_id), school_id,
                            period)


def progress_units(snapshot: snapshots.SnapshotInfo, school_id: str, period: str) -> pd.DataFrame:
    scope.check(school_id)
    return _progress_units(str(data_dir()), snapshot.snapshot_id, school_id, period,
                           _schedule_key(snapshot.school_year, school_id))


@st.cache_data(max_entries=16, show_spinner=False)
def _forecast_backtest(data_path: str, snapshot_id: str, school_id: str,
                       schedule_key: str) -> pd.DataFrame:
    from . import progress

    return progress.backtest(data_path, snapshots.get_snapshot(data_path, snapshot_id), school_id)


def forecast_backtest(snapshot: snapshots.SnapshotInfo, school_id: str) -> pd.DataFrame:
    """forecast.backtest of the school's history up to the snapshot (cached)."""
    scope.check(school_id)
    return _forecast_backtest(str(data_dir()), snapshot.snapshot_id, school_id,
                              _schedule_key(snapshot.school_year, school_id))


@st.cache_data(max_entries=64, show_spinner=False)
def _progress_history(data_path: str, snapshot_id: str, school_id: str, period: str) -> pd.DataFrame:
    from . import progress

    return progress.history(data_path, school_id, period,
                            snapshots.get_snapshot(data_path, snapshot_id))


def progress_history(snapshot: snapshots.SnapshotInfo, school_id: str, period: str) -> pd.DataFrame:
    scope.check(school_id)
    return _progress_history(str(data_dir()), snapshot.snapshot_id, school_id, period)


def current_period(snapshot: snapshots.SnapshotInfo, school_id: str) -> str:
    from . import progress

    with_entries = list(query(snapshot, "entries_by_period", school_id=school_id)["period"])
    return progress.current_period(
        progress.school_windows(data_dir(), snapshot.school_year, school_id),
        snapshot.taken_at, with_entries)


def window(snapshot: snapshots.SnapshotInfo, school_id: str, period: str, grade: int | None):
    """The school's entry window of a period for a grade (else the whole school's), or None."""
    from . import progress, schedule

    found = schedule.window_for(data_dir(), snapshot.school_year, period, grade,
                                school_id=school_id)
    return progress.Window(*found) if found else None


def pick_grade_and_class(units: pd.DataFrame) -> tuple[int | None, str | None]:
    """Grade and class filters in the sidebar, kept in the URL (?grade=4&class=4A1)."""
    grades = sorted(int(g) for g in units["grade"].dropna().unique())
    wanted = st.query_params.get("grade")
    options = [None, *grades]
    grade = st.sidebar.selectbox(
        tr("ui.grade"), options,
        index=options.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in grades else 0,
        format_func=lambda g: tr("ui.all_grades") if g is None else tr("chart.grade_label", grade=g))
    _set_param("grade", None if grade is None else str(grade))
    classes = units if grade is None else units[units["grade"] == grade]
    names = dict(zip(classes["class_id"], classes["class_name"]))
    options = [None, *names]
    wanted = st.query_params.get("class")
    class_id = st.sidebar.selectbox(
        tr("ui.class"), options, index=options.index(wanted) if wanted in names else 0,
        format_func=lambda c: tr("ui.all_classes") if c is None else names[c])
    _set_param("class", class_id)
    return grade, class_id


def _set_param(name: str, value: str | None) -> None:
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


def item_name(code: str, lang_code: str | None = None) -> str:
    lg = lang_code or lang()
    if code in rules.SUBJECT_BY_CODE:
        s = rules.SUBJECT_BY_CODE[code]
        return s.name_en if lg == "en" else s.name_vi
    if code in rules.TRAIT_BY_CODE:
        t_ = rules.TRAIT_BY_CODE[code]
        return t_.name_en if lg == "en" else t_.name_vi
    return t("progress.pcnl", lg) if code == rules.TRAITS_UNIT else code


def item_names(codes) -> list[str]:
    """`item_name` of each code, reading the language once (for whole columns)."""
    lg = lang()
    names: dict = {}
    return [names[c] if c in names else names.setdefault(c, item_name(c, lg)) for c in codes]


def tr_each(prefix: str, values) -> list[str]:
    """`tr(prefix + value)` of each value, reading the language once (for whole columns)."""
    lg = lang()
    texts: dict = {}
    return [texts[v] if v in texts else texts.setdefault(v, t(prefix + str(v), lg))
            for v in values]


def reminder_sheets(units: pd.DataFrame, missing: pd.DataFrame,
                    snapshot: snapshots.SnapshotInfo, period: str,
                    lang_code: str | None = None) -> list:
    """One summary sheet, then one sheet per teacher listing the students still missing."""
    from . import exports

    lg = lang_code or lang()  # given: built on the download click, outside the script run

    def tr(key: str, **params: object) -> str:  # noqa: F811 - the language read once
        return t(key, lg, **params)

    def item_names(codes) -> list[str]:  # noqa: F811
        return [item_name(c, lg) for c in codes]

    behind = units[units["entered"] < units["expected"]].copy()
    behind["teacher"] = behind["staff_name"].fillna(tr("progress.no_teacher"))
    subtitle = tr("export.subtitle", snapshot=snapshot.snapshot_id,
                  when=fmt_datetime(snapshot.taken_at))
    summary = pd.DataFrame({
        tr("col.teacher"): behind["teacher"], tr("col.class"): behind["class_name"],
        tr("col.subject"): item_names(behind["item_code"]),
        tr("col.entered"): behind["entered"], tr("col.expected"): behind["expected"],
        tr("col.missing_count"): behind["expected"] - behind["entered"],
        tr("col.deadline"): behind["deadline"],
        tr("col.status"): [tr("status." + s) for s in behind["status"]],
    })
    sheets = [exports.Sheet(tr("progress.reminder_summary"), summary,
                            tr("progress.reminder_title", period=period), subtitle)]
    owners = behind[["class_id", "item_code", "staff_id", "teacher", "deadline"]].rename(
        columns={"item_code": "unit_code"})
    rows_all = missing.merge(owners, on=["class_id", "unit_code"], how="inner")
    for (_, teacher), rows in rows_all.groupby([rows_all["staff_id"].fillna(""), "teacher"],
                                               sort=True):
        table = pd.DataFrame({
            tr("col.class"): rows["class_name"], tr("col.student_id"): rows["student_id"],
            tr("col.student"): rows["full_name"],
            tr("col.item"): item_names(rows["item_code"]),
            tr("col.missing"): [tr("missing." + m) for m in rows["missing"]],
        })
        deadline = rows["deadline"].dropna()
        sheets.append(exports.Sheet(
            teacher, table, tr("progress.reminder_teacher", teacher=teacher, period=period,
                               deadline=fmt_date(deadline.iloc[0]) if len(deadline) else "–"),
            subtitle))
    return sheets


def allowed_pages() -> set[str]:
    from . import access

    return {p.key for p in access.pages_for(current_roles())}


def norms():
    """The norms from settings.yaml; stops the page saying what is wrong when it is unusable."""
    from .settings import SettingsError, load

    try:
        return load(data_dir())
    except SettingsError as exc:
        st.error(tr("results.settings_error", error=exc))
        st.stop()


def snapshot_and_school() -> tuple[snapshots.SnapshotInfo, pd.Series]:
    """The sidebar's snapshot and school; stops the page with a message when there is none."""
    snapshot = pick_snapshot()
    if snapshot is None:
        st.stop()
    school = pick_school(snapshot)
    if school is None:
        st.stop()
    return snapshot, school


# One entry per school, snapshot and schedule: a district's schools share the server's cache.
@st.cache_data(max_entries=1024, show_spinner=False)
def _changed_after_lock(data_path: str, snapshot_id: str, school_id: str,
                        schedule_key: str) -> pd.DataFrame:
    from . import changes

    return changes.changed_after_lock(data_path, snapshots.get_snapshot(data_path, snapshot_id),
                                      school_id)


def changes_after_lock(snapshot: snapshots.SnapshotInfo, school_id: str) -> pd.DataFrame:
    """Changes after each lock (cached per snapshot and schedule) matched to the requests as
    they stand now (not cached: a decision shows at once)."""
    from . import changes

    scope.check(school_id)
    changed = _changed_after_lock(str(data_dir()), snapshot.snapshot_id, school_id,
                                  _schedule_key(snapshot.school_year, school_id))
    return changes.annotate(changed, changes.requests(data_dir(), snapshot.school_year, school_id))


@st.cache_resource(max_entries=256, show_spinner=False)
def _chart(builder: str, *args: object, **kwargs: object):
    from . import charts

    return getattr(charts, builder)(*args, **kwargs)


def chart(builder, *args: object, **kwargs: object):
    """`builder(*args, **kwargs)` from csdl.charts, built once per distinct input and shared:
    plotly validates every property as a figure is built (~15–30 ms a chart, several charts a
    page, on every rerun), while st.plotly_chart only reads the figure. Callers must not
    change the figure they get."""
    return _chart(builder.__name__, *args, **kwargs)


@st.cache_data(max_entries=32, show_spinner=False)
def _snapshot_diff(data_path: str, before_id: str, after_id: str, school_id: str,
                   period: str | None) -> pd.DataFrame:
    from . import diff

    return diff.diff(data_path, before_id, after_id, school_id, period)


def snapshot_diff(before_id: str, after_id: str, school_id: str,
                  period: str | None = None) -> pd.DataFrame:
    """diff.diff of two snapshots for one school, cached: both are immutable, and the compare
    tab ran the join of both files on every rerun of the page."""
    scope.check(school_id)  # before the cache: a hit must not skip the check
    return _snapshot_diff(str(data_dir()), before_id, after_id, school_id, period)
