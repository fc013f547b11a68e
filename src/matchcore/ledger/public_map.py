"""The public project map (重点项目公示图): a self-contained, de-identified HTML page.

Key projects are shown in three classes — completed, in progress, not started
(已经完成、正在实施、尚未开工) — one map for the street and one per community.
The page is one file with its SVG drawing, CSS and JavaScript inline: it opens
offline, from a USB stick or a WeChat attachment, with no CDN. Map tiles are
drawn only when asked for (``tiles=``, for lat/lon ledgers) and when the
browser is online.

Why hand-written SVG and not plotly or bokeh: the page must be self-contained
and offline. plotly inlines its whole JavaScript bundle (``include_plotlyjs=
True``: 4.8 MB measured with plotly 7.1 for a map of three points) and bokeh's
``INLINE`` resources add bokeh.min.js (1.0 MB in bokeh 3.4) and a dependency;
about a hundred lines of SVG and script need neither: the tiny district's map
is 5 KB, the 1,144 projects of ``synthetic.district("seed_street")`` 0.27 MB.

De-identification (on by default, and not optional): the page carries only
the whitelisted project columns (:data:`PUBLIC_COLUMNS`, at most
:data:`ALLOWED_COLUMNS`) and the providers' names — never a resident's name,
phone number, a need's description or a need's position. Each marker is drawn
at the centre of its need's grid (the mean position of the grid's needs and
resources; the community's, then the street's centre when the grid has fewer
than :data:`MIN_POINTS` points), then moved by a random offset of at most
``jitter`` metres (default :data:`JITTER_M`) drawn with a seed derived from the
project id, so that markers of one grid do not overlap and a map is the same
every time it is made.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import STATUSES
from .claims import last_round, round_rows
from .schema import parse_time
from .supervision import SUPERVISION_COLOURS, SUPERVISION_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from .store import ProjectLedger

__all__ = [
    "ALLOWED_COLUMNS",
    "CLASS_COLOURS",
    "JITTER_M",
    "MIN_POINTS",
    "PUBLIC_CLASSES",
    "PUBLIC_COLUMNS",
    "ColourBy",
    "public_points",
    "write_public_map",
    "write_public_maps",
]

ColourBy = Literal["status", "supervision"]

#: The three classes of the public map, in legend order.
PUBLIC_CLASSES: tuple[str, ...] = ("completed", "in_progress", "not_started")
#: Their colours (those of the status maps, :data:`matchcore.plot.base.STATUS_COLOURS`).
CLASS_COLOURS: dict[str, str] = {
    "completed": "#2ca02c",
    "in_progress": "#1f77b4",
    "not_started": "#9e9e9e",
}
#: Columns shown by default in a marker's tooltip.
PUBLIC_COLUMNS: tuple[str, ...] = ("project_id", "community", "grid", "category", "status",
                                   "assigned", "providers")
#: Every column a public map may show: project fields and the providers' names.
ALLOWED_COLUMNS: tuple[str, ...] = (
    "project_id", "need_id", "community", "grid", "category", "demand", "assigned",
    "resources", "providers", "status", "round", "updated_round", "owner", "due", "flag",
)
#: Largest offset of a marker from its snapped position, metres.
JITTER_M = 150.0
#: A grid (or community) with fewer points than this is too small to snap to.
MIN_POINTS = 3

_HEADERS = {"project_id": "项目编号", "need_id": "需求编号", "community": "社区",
            "grid": "网格", "category": "类别", "demand": "需求数量", "assigned": "已分配",
            "resources": "资源", "providers": "提供方", "status": "状态", "round": "轮次",
            "updated_round": "更新轮次", "owner": "责任人", "due": "完成时限", "flag": "督办"}

PathLike = str | os.PathLike[str]


def _seed(project_id: str) -> int:
    return int.from_bytes(hashlib.sha256(project_id.encode("utf-8")).digest()[:8], "little")


def _mercator(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator metres (EPSG:3857), the plane of web map tiles."""
    r = 6378137.0
    lat = np.clip(lat, -85.0, 85.0)
    return r * np.radians(lon), r * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def _plane(points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, bool]:
    """x, y in metres of a frame with x/y or lat/lon columns (and whether lat/lon)."""
    if "x" in points.columns and pd.to_numeric(points["x"], errors="coerce").notna().any():
        return (pd.to_numeric(points["x"], errors="coerce").to_numpy(float),
                pd.to_numeric(points["y"], errors="coerce").to_numpy(float), False)
    if "lat" in points.columns:
        lat = pd.to_numeric(points["lat"], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(points["lon"], errors="coerce").to_numpy(float)
        x, y = _mercator(lat, lon)
        # Mercator stretches distances by 1/cos(lat): the jitter radius is scaled alike.
        return x, y, True
    n = len(points)
    return np.full(n, np.nan), np.full(n, np.nan), False


def public_points(
    ledger: ProjectLedger,
    c: sqlite3.Connection,
    *,
    jitter: float = JITTER_M,
    as_of: Any = None,
) -> pd.DataFrame:
    """Live and completed projects with de-identified positions (``px``, ``py``,
    metres on the map's plane) and the providers' names; no need position.

    ``c`` is the ledger's connection inside the read transaction that every
    read of the map shares (:meth:`ProjectLedger.public_map` opens it).
    """
    if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or jitter < 0:
        raise InputError(f"`jitter` must be a number of metres >= 0; got {jitter!r}")
    points = ledger.project_points()
    points = points[points["status"].isin(PUBLIC_CLASSES)].reset_index(drop=True)
    sup = ledger.supervision(as_of)[["project_id", "owner", "due", "flag"]]
    points = points.merge(sup, on="project_id", how="left")
    geographic = _plane(points)[2]
    # Snap targets: every need and resource position known, by grid and community.
    places = _places(c)
    px, py = _snap(points, places, geographic)
    scale = np.ones(len(points))
    if geographic and "lat" in points.columns:
        lat = pd.to_numeric(points["lat"], errors="coerce").fillna(0).to_numpy(float)
        scale = 1.0 / np.cos(np.radians(np.clip(lat, -85, 85)))
    for k, pid in enumerate(points["project_id"].astype(str)):
        rng = np.random.default_rng(_seed(pid))
        r, a = jitter * math.sqrt(rng.random()), 2 * math.pi * rng.random()
        px[k] += r * math.cos(a) * scale[k]
        py[k] += r * math.sin(a) * scale[k]
    providers = _providers(ledger, c)
    out = points.drop(columns=[k for k in ("x", "y", "lat", "lon") if k in points.columns])
    return out.assign(px=px, py=py, providers=out["project_id"].map(providers).fillna(""))


def _places(c: sqlite3.Connection) -> pd.DataFrame:
    """Positions of needs (latest rows) and resources of the last round, with grid
    and community: what a marker snaps to."""
    needs = pd.DataFrame([json.loads(r[0]) for r in c.execute(
        "SELECT data FROM needs n WHERE round = (SELECT max(round) FROM needs m"
        " WHERE m.need_id = n.need_id)")])
    resources = round_rows(c, "resources", "resource_id", last_round(c))
    keep = ["grid", "community", "x", "y", "lat", "lon"]
    return pd.concat([f.reindex(columns=[k for k in keep if k in f.columns])
                      for f in (needs, resources) if len(f)], ignore_index=True)


def _snap(points: pd.DataFrame, places: pd.DataFrame, geographic: bool
          ) -> tuple[np.ndarray, np.ndarray]:
    x, y, _ = _plane(places)
    places = places.assign(_x=x, _y=y).dropna(subset=["_x", "_y"])
    street = (float(places["_x"].mean()), float(places["_y"].mean())) if len(places) else (
        0.0, 0.0)

    def centres(key: str) -> dict[Any, tuple[float, float]]:
        if key not in places.columns:
            return {}
        g = places.dropna(subset=[key]).groupby(key)
        sizes = g.size()
        means = g[["_x", "_y"]].mean()
        return {k: (float(means.at[k, "_x"]), float(means.at[k, "_y"]))
                for k in sizes.index if sizes[k] >= MIN_POINTS}

    grid, comm = centres("grid"), centres("community")
    px, py = np.zeros(len(points)), np.zeros(len(points))
    g_col = points["grid"] if "grid" in points.columns else pd.Series([None] * len(points))
    c_col = (points["community"] if "community" in points.columns
             else pd.Series([None] * len(points)))
    for k, (g, c) in enumerate(zip(g_col, c_col)):
        px[k], py[k] = grid.get(g) or comm.get(c) or street
    return px, py


def _providers(ledger: ProjectLedger, c: sqlite3.Connection) -> dict[str, str]:
    names: dict[str, str] = {}
    for (data,) in c.execute("SELECT data FROM resources ORDER BY round"):
        row = json.loads(data)
        if isinstance(row.get("provider"), str) and row["provider"]:
            names[str(row["resource_id"])] = row["provider"]
    a = ledger.assignments()
    out: dict[str, str] = {}
    for pid, group in a.groupby("project_id"):
        out[str(pid)] = "；".join(dict.fromkeys(
            names.get(str(r), str(r)) for r in group["resource_id"]))
    return out


def _check_columns(columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(PUBLIC_COLUMNS)
    if isinstance(columns, str):
        columns = [columns]
    cols = [str(c) for c in columns]
    bad = [c for c in cols if c not in ALLOWED_COLUMNS]
    if bad:
        raise InputError(
            f"`columns` of a public map must be among {list(ALLOWED_COLUMNS)} "
            f"(no names, phone numbers, descriptions or positions); got {bad}"
        )
    return list(dict.fromkeys(["project_id", *cols]))


def _tiles(tiles: str, box: tuple[float, float, float, float]
           ) -> list[dict[str, Any]]:
    """Web map tiles covering ``box`` (mercator metres) at a zoom of about 4x4 tiles."""
    half = 20037508.342789244
    x0, y0, x1, y1 = box
    span = max(x1 - x0, y1 - y0, 1.0)
    z = int(np.clip(math.floor(math.log2(2 * half / span * 3)), 0, 18))
    size = 2 * half / 2**z
    out = []
    for tx in range(int((x0 + half) // size), int((x1 + half) // size) + 1):
        for ty in range(int((half - y1) // size), int((half - y0) // size) + 1):
            out.append({"url": tiles.format(z=z, x=tx, y=ty),
                        "x0": -half + tx * size, "y1": half - ty * size, "size": size})
    return out


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1em;color:#222}
h1{font-size:1.3em;margin:.2em 0}#mc-wrap{display:flex;gap:1em;flex-wrap:wrap}
#mc-svg{border:1px solid #ccc;background:#fafafa;flex:1 1 480px;max-width:900px;
height:auto}
.mc-marker{stroke:#fff;stroke-width:1.5;cursor:pointer}.mc-marker:hover{stroke:#000}
#mc-legend{min-width:12em}#mc-legend div{margin:.3em 0;cursor:pointer}
#mc-legend .off{opacity:.35}#mc-legend i{display:inline-block;width:.9em;height:.9em;
border-radius:50%;margin-right:.4em;vertical-align:middle}
#mc-tip{position:fixed;display:none;background:#fff;border:1px solid #888;padding:.4em .6em;
font-size:.85em;pointer-events:none;box-shadow:0 1px 4px rgba(0,0,0,.3)}
.mc-note{font-size:.8em;color:#666;max-width:60em}
"""

# The page's script: draws markers, legend and counts from the JSON data; writes its
# marker count (and any error) on #mc-status so a headless browser can check it.
_JS = r"""
(function(){
var st=document.getElementById('mc-status');
window.addEventListener('error',function(e){
  st.dataset.errors=String(Number(st.dataset.errors||0)+1);st.dataset.error=String(e.message);});
var D=JSON.parse(document.getElementById('mc-data').textContent);
var NS='http://www.w3.org/2000/svg',svg=document.getElementById('mc-svg');
function el(n,a){var e=document.createElementNS(NS,n);
  for(var k in a)e.setAttribute(k,a[k]);return e;}
if(D.tiles.length&&navigator.onLine){
  var g=el('g',{id:'mc-tiles'});svg.appendChild(g);
  D.tiles.forEach(function(t){g.appendChild(el('image',{href:t.url,x:t.x,y:t.y,
    width:t.w,height:t.w,preserveAspectRatio:'none'}));});}
var layer=el('g',{id:'mc-markers'});svg.appendChild(layer);
var tip=document.getElementById('mc-tip'),counts={};
D.markers.forEach(function(m){
  var c=el('circle',{cx:m.x,cy:m.y,r:D.radius,fill:D.colours[m.cls],'class':'mc-marker',
    'data-project':m.fields.project_id,'data-class':m.cls});
  c.addEventListener('mousemove',function(ev){
    tip.textContent='';D.columns.forEach(function(k){
      var row=document.createElement('div'),v=m.fields[k];
      row.textContent=D.headers[k]+'：'+(v==null?'':v);
      tip.appendChild(row);});
    tip.style.display='block';tip.style.left=(ev.clientX+12)+'px';tip.style.top=(ev.clientY+12)+'px';});
  c.addEventListener('mouseleave',function(){tip.style.display='none';});
  layer.appendChild(c);counts[m.cls]=(counts[m.cls]||0)+1;});
var lg=document.getElementById('mc-legend');
D.classes.forEach(function(k){
  var row=document.createElement('div');row.className='mc-legend-item';row.dataset.class=k;
  row.dataset.count=String(counts[k]||0);
  var sw=document.createElement('i');sw.style.background=D.colours[k];row.appendChild(sw);
  row.appendChild(document.createTextNode(D.labels[k]+'：'+(counts[k]||0)));
  row.addEventListener('click',function(){row.classList.toggle('off');
    var show=!row.classList.contains('off');
    layer.querySelectorAll('[data-class="'+k+'"]').forEach(function(c){c.style.display=show?'':'none';});});
  lg.appendChild(row);});
var tot=document.createElement('div');tot.className='mc-total';
tot.textContent='合计：'+D.markers.length+' 个项目';lg.appendChild(tot);
st.dataset.markers=String(layer.querySelectorAll('.mc-marker').length);
st.dataset.ready='1';
})();
"""


def write_public_map(
    ledger: ProjectLedger,
    c: sqlite3.Connection,
    path: PathLike,
    *,
    community: str | None = None,
    columns: Sequence[str] | None = None,
    colour_by: ColourBy = "status",
    jitter: float = JITTER_M,
    tiles: str | None = None,
    title: str | None = None,
    as_of: Any = None,
    points: pd.DataFrame | None = None,
) -> Path:
    """Write one public map; see :meth:`ProjectLedger.public_map` (``c``: as for
    :func:`public_points`)."""
    cols = _check_columns(columns)
    if colour_by not in ("status", "supervision"):
        raise InputError(f"`colour_by` must be 'status' or 'supervision'; got {colour_by!r}")
    pts = public_points(ledger, c, jitter=jitter, as_of=as_of) if points is None else points
    if community is not None:
        pts = pts[pts["community"] == community]
    pts = pts.dropna(subset=["px", "py"]).reset_index(drop=True)
    if colour_by == "status":
        classes, colours = list(PUBLIC_CLASSES), dict(CLASS_COLOURS)
        labels = {k: STATUSES[k] for k in classes}
        cls = pts["status"].astype(str)
    else:
        classes, colours = list(SUPERVISION_COLOURS), dict(SUPERVISION_COLOURS)
        labels = dict(SUPERVISION_LABELS)
        cls = pts["flag"].astype(str)
    # The drawing's frame: the points' box with a margin, at most 1000 units wide.
    if len(pts):
        x0, x1 = float(pts["px"].min()), float(pts["px"].max())
        y0, y1 = float(pts["py"].min()), float(pts["py"].max())
    else:
        x0 = x1 = y0 = y1 = 0.0
    pad = max(x1 - x0, y1 - y0, 4 * jitter, 100.0) * 0.08
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    width = 1000.0
    unit = width / max(x1 - x0, y1 - y0)
    height = round((y1 - y0) * unit, 1)
    width = round((x1 - x0) * unit, 1)

    def sx(v: float) -> float:
        return round((v - x0) * unit, 1)

    def sy(v: float) -> float:
        return round((y1 - v) * unit, 1)

    words = {"status": STATUSES, "flag": SUPERVISION_LABELS}
    markers = []
    for k in range(len(pts)):
        fields = {}
        for col in cols:
            v = pts[col].iat[k] if col in pts.columns else None
            v = None if v is None or (isinstance(v, float) and math.isnan(v)) else v
            v = words[col].get(str(v), v) if col in words and v is not None else v
            fields[col] = v if isinstance(v, (str, int, float)) or v is None else str(v)
        fields["project_id"] = str(pts["project_id"].iat[k])
        markers.append({"x": sx(float(pts["px"].iat[k])), "y": sy(float(pts["py"].iat[k])),
                        "cls": cls.iat[k], "fields": fields})
    tile_rows = []
    if tiles is not None:
        if not isinstance(tiles, str) or not all(t in tiles for t in ("{z}", "{x}", "{y}")):
            raise InputError(f"`tiles` must be a URL template with {{z}}, {{x}}, {{y}}; "
                             f"got {tiles!r}")
        tile_rows = [{"url": t["url"], "x": sx(t["x0"]), "y": sy(t["y1"]),
                      "w": round(t["size"] * unit, 1)}
                     for t in _tiles(tiles, (x0, y0, x1, y1))]
    data = {"markers": markers, "classes": classes, "colours": colours, "labels": labels,
            "columns": cols, "headers": {c: _HEADERS[c] for c in cols},
            # Smaller markers on a crowded map (7 units of 1000 for up to 200 projects).
            "radius": round(float(np.clip(7 * math.sqrt(200 / max(len(markers), 1)), 3, 7)), 1),
            "tiles": tile_rows}
    name = community or "全街道"
    heading = title or f"{name}重点项目公示图"
    counts = "；".join(f"{labels[k]} {int((cls == k).sum())}" for k in classes)
    when = parse_time(as_of).date().isoformat()
    note = (f"图中位置已脱敏：每个项目标在其网格的中心（网格点位不足 {MIN_POINTS} 个时取社区或"
            f"街道中心），再随机偏移至多 {jitter:g} 米；不含居民姓名、电话、需求描述和具体位置。"
            f" 数据截至 {when}。")
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    page = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(heading)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(heading)}</h1><p>{html.escape(counts)}</p>"
        f'<div id="mc-wrap"><svg id="mc-svg" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(heading)}"></svg><div id="mc-legend"></div></div>'
        '<div id="mc-tip"></div>'
        f'<div id="mc-status" data-markers="0" data-errors="0" data-expected="{len(markers)}">'
        "</div>"
        f'<p class="mc-note">{html.escape(note)}</p>'
        f'<script type="application/json" id="mc-data">{blob}</script>'
        f"<script>{_JS}</script></body></html>\n"
    )
    out = Path(path)
    if out.suffix.lower() != ".html":
        raise InputError(f"a public map is an .html file; got {str(out)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out


def _file_name(name: str) -> str:
    bad = '<>:"/\\|?*'
    return "".join("_" if ch in bad or ord(ch) < 32 else ch for ch in name).strip() or "_"


def write_public_maps(ledger: ProjectLedger, c: sqlite3.Connection, folder: PathLike,
                      **kw: Any) -> dict[str, Path]:
    """The street's map and one per community in ``folder``; see
    :meth:`ProjectLedger.public_maps`."""
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise InputError(f"`folder` must be a folder; got the file {str(root)!r}")
    root.mkdir(parents=True, exist_ok=True)
    pts = public_points(ledger, c, jitter=kw.get("jitter", JITTER_M), as_of=kw.get("as_of"))
    out = {"全街道": write_public_map(ledger, c, root / "public-map.html", points=pts, **kw)}
    for name in sorted({n for n in pts["community"] if isinstance(n, str) and n}):
        out[name] = write_public_map(ledger, c, root / f"public-map-{_file_name(name)}.html",
                                     community=name, points=pts, **kw)
    return out
