"""Lazy tabs (ui.tabs) in AppTest: only the open tab's content is drawn, so a test opens the
tab it reads, as a click would (the tab's label in the session state, then a run)."""
from __future__ import annotations

from typing import Iterator

from streamlit.testing.v1 import AppTest


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def groups(at: AppTest) -> list[tuple[str, list[str]]]:
    """(key, tab labels) of every lazy tab group the last run drew."""
    found = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or getattr(proto.DESCRIPTOR, "name", "") != "Block" \
                or proto.WhichOneof("type") != "tab_container" or not proto.tab_container.id:
            continue
        key = proto.tab_container.id.split("-", 2)[2]  # "$$ID-<hash>-<key>"
        found.append((key, [child.label for child in node.children.values()]))
    return found


def open_tab(at: AppTest, label: str) -> AppTest:
    """Open the tab of this label and run the page again."""
    for key, labels in groups(at):
        if label in labels:
            at.session_state[key] = label
            return at.run()
    raise AssertionError(f"no tab {label!r} in {groups(at)}")


def each_tab(at: AppTest) -> Iterator[AppTest]:
    """The page once with each tab of its first lazy tab group open, the first tab first."""
    found = groups(at)
    if not found:
        yield at
        return
    key, labels = found[0]
    for label in labels:
        at.session_state[key] = label
        yield at.run()
