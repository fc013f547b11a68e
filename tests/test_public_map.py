"""The public project map: de-identified, self-contained, and checked in a real browser.

The browser test drives Debian's headless Chromium (``apt-get install chromium``)
without any Python browser library: ``--dump-dom`` gives the DOM after the page's
script ran (markers are ``circle.mc-marker`` elements with ``data-project``; the
script writes its marker count and any error on ``#mc-status``), console messages
come on stderr with ``--enable-logging=stderr --v=0``, and ``--screenshot`` writes
a PNG. It is skipped, saying so, only where no Chromium is found.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading

import numpy as np
import pandas as pd
import pytest

import matchcore as mc
from matchcore.ledger.public_map import JITTER_M, public_points

RESIDENTS = ["张秀英", "李建国", "王淑珍", "赵德明", "陈桂兰", "刘志强"]
PHONES = ["13812345671", "13812345672", "13812345673", "13812345674", "13812345675",
          "13812345676"]


def _district():
    """Needs with personal columns and distinctive positions (to search the page for)."""
    needs = pd.DataFrame({
        "need_id": [f"N{k}" for k in range(1, 7)],
        "category": ["elderly_care", "repair", "elderly_care", "repair", "medical", "repair"],
        "demand": [1, 1, 1, 1, 1, 1],
        "x": [123.457, 311.813, 1287.391, 1402.177, 655.123, 912.871],
        "y": [88.913, 141.227, 977.641, 1033.519, 402.337, 287.903],
        "community": ["东湖社区", "东湖社区", "西山社区", "西山社区", "东湖社区", "东湖社区"],
        "grid": ["G1", "G1", "G2", "G2", "G1", "G1"],
        "description": ["独居老人每日助餐", "厨房水管漏水", "行动不便需陪诊", "门锁损坏",
                        "血压监测", "楼道灯不亮"],
        "姓名": RESIDENTS,
        "电话": PHONES,
    })
    resources = pd.DataFrame({
        "resource_id": ["R1", "R2", "R3"],
        "category": ["elderly_care", "repair", "medical"],
        "capacity": [2, 3, 1],
        "x": [200.0, 800.0, 600.0], "y": [300.0, 600.0, 400.0],
        "community": ["东湖社区", "西山社区", "东湖社区"], "grid": ["G1", "G2", "G1"],
        "provider": ["东湖志愿服务队", "物业维修部", "社区卫生服务站"],
    })
    return needs, resources


@pytest.fixture
def led(tmp_path):
    needs, resources = _district()
    ledger = mc.ProjectLedger(tmp_path / "l.db")
    ledger.add_round(mc.match(needs, resources, max_distance=3000))
    ledger.set_status("P-N1", "in_progress")
    ledger.set_status("P-N2", "in_progress")
    ledger.set_status("P-N2", "completed")
    yield ledger
    ledger.close()


def test_map_reads_one_committed_state(led, tmp_path, monkeypatch):
    # Another writer commits while the map is being read (between its reads of the
    # projects and of their deadlines): the page is still the state it started from.
    before = led.public_map(tmp_path / "before.html").read_text(encoding="utf-8")
    other = mc.ProjectLedger(led.path)
    supervision = led.supervision

    def racing(*args, **kwargs):
        other.rematch(dropped_resources=["R1"], by="a writer in between")
        return supervision(*args, **kwargs)

    monkeypatch.setattr(led, "supervision", racing)
    during = led.public_map(tmp_path / "during.html").read_text(encoding="utf-8")
    monkeypatch.undo()
    other.close()
    assert during == before
    # The write did land: the next map no longer names R1's provider.
    assert "东湖志愿服务队" in before
    after = led.public_map(tmp_path / "after.html").read_text(encoding="utf-8")
    assert "东湖志愿服务队" not in after


def _data(page: str) -> dict:
    blob = re.search(r'<script type="application/json" id="mc-data">(.*?)</script>', page,
                     re.S).group(1)
    return json.loads(blob)


def test_map_is_de_identified(led, tmp_path):
    needs, _ = _district()
    page = led.public_map(tmp_path / "map.html").read_text(encoding="utf-8")
    for text in [*RESIDENTS, *PHONES, *needs["description"]]:
        assert text not in page
    assert not re.search(r"1[3-9]\d{9}", page)  # no mobile number at all
    for x, y in zip(needs["x"], needs["y"]):
        assert f"{x:g}" not in page and f"{y:g}" not in page
    # No marker sits at (or within a metre of) its need's position.
    with led._snapshot() as c:
        pts = public_points(led, c).set_index("need_id")
    exact = needs.set_index("need_id")
    d = np.hypot(pts["px"] - exact.loc[pts.index, "x"], pts["py"] - exact.loc[pts.index, "y"])
    assert (d > 1.0).all()
    # Snapped to the grid centre (mean of its needs and resources), then at most JITTER_M away.
    resources = _district()[1]
    places = pd.concat([needs[["grid", "x", "y"]], resources[["grid", "x", "y"]]])
    centre = places.groupby("grid")[["x", "y"]].mean()
    off = np.hypot(pts["px"] - centre.loc[pts["grid"], "x"].to_numpy(),
                   pts["py"] - centre.loc[pts["grid"], "y"].to_numpy())
    assert (off <= JITTER_M + 1e-9).all()
    # Only whitelisted fields; providers may be named.
    data = _data(page)
    assert {k for m in data["markers"] for k in m["fields"]} == set(data["columns"])
    assert "东湖志愿服务队" in page
    assert "description" not in data["columns"] and "need_id" not in data["columns"]


def test_map_is_deterministic_and_self_contained(led, tmp_path):
    a = led.public_map(tmp_path / "a.html", as_of="2026-03-01").read_bytes()
    b = led.public_map(tmp_path / "b.html", as_of="2026-03-01").read_bytes()
    assert a == b
    page = a.decode("utf-8")
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and "<script src" not in page and "<link" not in page
    assert len(a) < 30_000
    data = _data(page)
    assert data["tiles"] == []
    assert sorted(m["fields"]["project_id"] for m in data["markers"]) == sorted(
        led.projects().query("status != 'cancelled'")["project_id"])


def test_map_options(led, tmp_path):
    with pytest.raises(mc.InputError, match="no names, phone numbers, descriptions"):
        led.public_map(tmp_path / "m.html", columns=["description"])
    with pytest.raises(mc.InputError, match=r"an \.html file"):
        led.public_map(tmp_path / "m.png")
    with pytest.raises(mc.InputError, match="colour_by"):
        led.public_map(tmp_path / "m.html", colour_by="rainbow")
    with pytest.raises(mc.InputError, match="URL template"):
        led.public_map(tmp_path / "m.html", tiles="https://tiles.example/t.png")
    page = led.public_map(tmp_path / "m.html", columns=["need_id", "owner"],
                          colour_by="supervision",
                          tiles="https://tiles.example/{z}/{x}/{y}.png").read_text("utf-8")
    data = _data(page)
    assert data["columns"] == ["project_id", "need_id", "owner"]
    assert data["classes"] == ["overdue", "due_soon", "on_track", "done"]
    assert data["tiles"] and "tiles.example" in data["tiles"][0]["url"]
    # Tiles are drawn only when the browser is online.
    assert "navigator.onLine" in page


def test_public_maps_per_community(led, tmp_path):
    maps = led.public_maps(tmp_path / "maps")
    assert sorted(maps) == ["东湖社区", "全街道", "西山社区"]
    projects = led.projects().query("status != 'cancelled'")
    for name, path in maps.items():
        markers = _data(path.read_text(encoding="utf-8"))["markers"]
        mine = projects if name == "全街道" else projects[projects["community"] == name]
        assert len(markers) == len(mine)
    assert maps["东湖社区"].name == "public-map-东湖社区.html"


# --------------------------------------------------------------------- the browser
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


CHROMIUM = _chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found (Debian: apt-get install -y chromium); the browser test needs one",
)


def _browser(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def served(tmp_path):
    """``tmp_path/site`` on an http.server bound to 127.0.0.1 (a free port)."""
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@needs_chromium
def test_public_map_in_a_real_browser(led, tmp_path, served):
    site, base = served
    led.public_map(site / "map.html", as_of="2026-03-01")
    url = f"{base}/map.html"
    run = _browser(tmp_path, "--dump-dom", url)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    projects = led.projects().query("status != 'cancelled'")
    markers = re.findall(r'<circle[^>]*class="mc-marker"[^>]*>', dom)
    found = sorted(re.search(r'data-project="([^"]+)"', m).group(1) for m in markers)
    assert found == sorted(projects["project_id"])  # one marker per project
    status = re.search(r'<div id="mc-status"[^>]*>', dom).group(0)
    assert 'data-ready="1"' in status and 'data-errors="0"' in status
    assert f'data-markers="{len(projects)}"' in status
    legend = dict(re.findall(r'class="mc-legend-item" data-class="(\w+)" data-count="(\d+)"',
                             dom))
    counts = projects["status"].value_counts()
    assert legend == {k: str(int(counts.get(k, 0)))
                      for k in ("completed", "in_progress", "not_started")}
    assert "已经完成" in dom and "正在实施" in dom and "尚未开工" in dom
    # Console: the page logs nothing, and no uncaught error.
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    shot = tmp_path / "map.png"
    run = _browser(tmp_path, f"--screenshot={shot}", "--window-size=1200,900",
                   "--hide-scrollbars", url)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5_000


@needs_chromium
def test_browser_check_catches_a_broken_page(tmp_path, served):
    """The method itself is tested: a page whose script fails is caught."""
    site, base = served
    (site / "bad.html").write_text(
        '<div id="mc-status" data-markers="0"></div><script>'
        'console.error("boom"); undefinedFunction();</script>', encoding="utf-8")
    run = _browser(tmp_path, "--dump-dom", f"{base}/bad.html")
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert any("boom" in line for line in console)
    assert any("Uncaught" in line for line in console)
    assert 'data-ready="1"' not in run.stdout
