"""Who may open which page (DESIGN.md "Pages and who sees them"). Pure data, no Streamlit."""
from __future__ import annotations

from dataclasses import dataclass

# School roles belong to one school (auth.py); the district office's role sees every school.
SCHOOL_ROLES = ("principal", "vice_principal", "admin", "viewer")
DISTRICT = "district"
ROLES = (*SCHOOL_ROLES, DISTRICT)
# Read-only school pages the district role may open after picking a school.
_D = (DISTRICT,)


@dataclass(frozen=True)
class PageSpec:
    key: str  # also the script name in pages/ and the URL path
    title_key: str  # i18n key of the title
    icon: str
    roles: tuple[str, ...]


PAGES: tuple[PageSpec, ...] = (
    PageSpec("district", "page.district", ":material/account_balance:", _D),
    PageSpec("overview", "page.overview", ":material/dashboard:",
             ("principal", "vice_principal", "admin", "viewer", *_D)),
    PageSpec("progress", "page.progress", ":material/trending_up:",
             ("principal", "vice_principal", "admin", *_D)),
    PageSpec("schedule", "page.schedule", ":material/event_available:",
             ("principal", "vice_principal", "admin")),
    PageSpec("printed", "page.printed", ":material/print:",
             ("principal", "vice_principal", "admin")),
    PageSpec("changes", "page.changes", ":material/published_with_changes:",
             ("principal", "vice_principal", "admin", *_D)),
    PageSpec("results", "page.results", ":material/school:",
             ("principal", "vice_principal", "admin", *_D)),
    PageSpec("staff", "page.staff", ":material/badge:",
             ("principal", "vice_principal", "admin", *_D)),
    PageSpec("facilities", "page.facilities", ":material/domain:",
             ("principal", "vice_principal", "admin", *_D)),
    PageSpec("figures", "page.figures", ":material/summarize:",
             ("principal", "vice_principal", "admin", *_D)),
    PageSpec("spotcheck", "page.spotcheck", ":material/fact_check:",
             ("principal", "vice_principal")),
    PageSpec("presentation", "page.presentation", ":material/slideshow:",
             ("principal", "vice_principal", "viewer", *_D)),
    PageSpec("data", "page.data", ":material/upload_file:", ("principal", "admin")),
    PageSpec("users", "page.users", ":material/group:", ("principal", "admin")),
)
PAGE_BY_KEY = {p.key: p for p in PAGES}


def allowed(page_key: str, roles: set[str] | frozenset[str]) -> bool:
    spec = PAGE_BY_KEY.get(page_key)
    return spec is not None and bool(set(spec.roles) & set(roles))


def pages_for(roles: set[str] | frozenset[str]) -> list[PageSpec]:
    return [p for p in PAGES if allowed(p.key, roles)]
