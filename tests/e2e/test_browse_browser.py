"""Real browser: Home and Browse render the bundled data; a selected row opens on Review."""
from __future__ import annotations

import pytest


def _active_page(page) -> str:
    return page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]').inner_text().split("\n")[-1]


def test_home_renders(app_url, page, wait_idle, artifacts):
    page.goto(app_url)
    wait_idle(page)
    page.get_by_role("heading", name="ECG review dashboard").wait_for()
    assert page.get_by_text("Creative Commons Attribution 4.0", exact=False).count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)


def test_browse_table_and_open_record(app_url, page, wait_idle, artifacts):
    page.goto(f"{app_url}/browse")
    wait_idle(page)
    assert _active_page(page) == "Browse"
    page.get_by_role("heading", name="Browse records").wait_for()
    page.get_by_text("488 of 488 records match").wait_for()
    grid = page.locator('[data-testid="stDataFrame"]')
    grid.wait_for()
    box = grid.bounding_box()
    assert box["height"] > 300
    page.screenshot(path=str(artifacts / "browse.png"), full_page=True)

    # Glide data grid draws on a canvas: click the row-marker column of the first data row.
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)
    link = page.get_by_role("link", name="Open ecg_id 1 on the Review page")
    link.wait_for()
    wait_idle(page)
    page.screenshot(path=str(artifacts / "browse-selected.png"), full_page=True)
    link.click()
    page.wait_for_function("() => location.search == '?ecg_id=1'")  # Review is "/" with an ecg_id
    wait_idle(page)
    assert _active_page(page) == "Review"
    assert page.locator('[data-testid="stException"]').count() == 0


def test_deep_link(app_url, page, wait_idle):
    page.goto(f"{app_url}/?ecg_id=1")
    wait_idle(page)
    assert "ecg_id=1" in page.url and _active_page(page) == "Review"
    assert page.locator('[data-testid="stException"]').count() == 0


@pytest.mark.xfail(strict=True, reason=(
    "Streamlit runs a folder named pages/ as a legacy multipage app until the first script run "
    "of app.py: a fresh server's first visitor of /browse gets every pages/*.py in the sidebar "
    "and no router. Fixed by renaming pages/ (then remove this mark)."))
def test_first_visit_of_a_page_url_on_a_fresh_server(launch_app, page, wait_idle):
    with launch_app(warm=False) as url:
        page.goto(f"{url}/browse")
        wait_idle(page)
        links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
        assert [t.split("\n")[-1] for t in links][:2] == ["Home", "Browse"]
