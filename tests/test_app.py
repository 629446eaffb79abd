"""Every page runs through Streamlit's AppTest on a small snapshot, without exception."""
import pytest
from streamlit.testing.v1 import AppTest

from csdl import access
from csdl.config import REPO_ROOT as ROOT


@pytest.fixture
def app(small_snapshot, monkeypatch):
    data_dir, _ = small_snapshot
    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)


def test_overview_shows_school_age_and_completion(app):
    app.query_params["school"] = "S1"
    app.query_params["period"] = "CK1"
    app.run()
    assert not app.exception
    assert any("Trường Tiểu học Thử" in s.value for s in app.subheader)
    assert any("Dữ liệu lúc 08/01/2027 17:00" in c.value for c in app.caption)
    metric = app.metric[0]
    assert metric.value == "6,5%"  # (7 + 2) / (71 + 68), counts worked out in test_queries


@pytest.mark.parametrize("page", [p.key for p in access.PAGES])
def test_every_page_runs(app, page):
    app.run()
    app.switch_page(f"pages/{page}.py")
    app.run()
    assert not app.exception, app.exception
