"""The dispatch report (项目调度会通报): one Excel workbook and one HTML page.

A view of the ledger for the regular dispatch meeting: projects by status per
community, what changed since the last report (new, started, completed,
cancelled, claimed), overdue and due-soon items with their owners, the open
problems of the problem ledger and the unmet needs by reason. The workbook has
a summary sheet for the street, one sheet per topic and one per community;
the HTML page beside it shows the same tables. The ledger remembers each report
(``reports`` table), so the next one reports the changes since.
"""

from __future__ import annotations

import html
import os
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import InputError
from ..result import REASONS
from ..schema import STATUSES
from .claims import CLAIM_STATUSES, Audit, open_for_claims
from .schema import parse_time
from .supervision import SUPERVISION_COLOURS, SUPERVISION_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from .store import ProjectLedger

__all__ = [
    "CHANGES",
    "REASON_LABELS",
    "REPORT_NAME",
    "STREET",
    "last_report",
    "record_report",
    "report_paths",
    "sheet_name",
    "since_time",
    "write_report",
]

PathLike = str | os.PathLike[str]

#: File stem of the report when a folder is given.
REPORT_NAME = "dispatch-report"
#: The street's row and sheet label.
STREET = "全街道"
#: Kinds of change reported, with their Chinese labels.
CHANGES: dict[str, str] = {
    "new": "新增",
    "started": "开工",
    "completed": "完成",
    "cancelled": "取消",
    "claimed": "认领",
}
#: Unmet reasons in Chinese (keys of :data:`matchcore.result.REASONS`).
REASON_LABELS: dict[str, str] = {
    "no_compatible_resource": "无对口资源",
    "out_of_reach": "超出服务半径",
    "no_time_overlap": "时间不匹配",
    "skills_missing": "缺少所需技能",
    "outbid": "资源已用于更急需的需求",
}
_NO_COMMUNITY = "未分社区"
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")


def sheet_name(name: str, taken: set[str]) -> str:
    """An Excel-safe sheet name: no ``[]:*?/\\``, at most 31 characters, not
    blank, not starting or ending with ``'``, distinct (case-insensitively) from
    ``taken``, to which it is added.

    Examples
    --------
    >>> sheet_name("东湖/西山:联合[社区]", set())
    '东湖_西山_联合_社区_'
    >>> taken = {"a" * 31}
    >>> sheet_name("A" * 40, {n.lower() for n in taken})
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAA~2'
    """
    base = _BAD_SHEET.sub("_", str(name)).strip().strip("'") or "_"
    if base.lower() == "history":  # reserved by Excel
        base = "history_"
    out, k = base[:31], 1
    while out.lower() in taken:
        k += 1
        tail = f"~{k}"
        out = base[: 31 - len(tail)] + tail
    taken.add(out.lower())
    return out


def report_paths(path: PathLike) -> tuple[Path, Path]:
    """(workbook, page): ``path`` itself when it ends in ``.xlsx``, else files in
    the folder ``path`` (created)."""
    p = Path(path)
    if p.suffix.lower() == ".xlsx":
        p.parent.mkdir(parents=True, exist_ok=True)
        return p, p.with_suffix(".html")
    if p.suffix:
        raise InputError(f"a report is an .xlsx file or a folder; got {str(p)!r}")
    p.mkdir(parents=True, exist_ok=True)
    return p / f"{REPORT_NAME}.xlsx", p / f"{REPORT_NAME}.html"


def last_report(c: sqlite3.Connection) -> str | None:
    """When the last report was made (ISO UTC), or None."""
    row = c.execute("SELECT at FROM reports ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def record_report(
    c: sqlite3.Connection, audit: Audit, *, at: str, since: str | None, path: Path,
    by: str | None,
) -> None:
    """Remember a report (the next one reports the changes after ``at``)."""
    rnd = c.execute("SELECT max(round) FROM rounds").fetchone()[0]
    c.execute("INSERT INTO reports (at, round, since, path, by) VALUES (?,?,?,?,?)",
              (at, rnd, since, str(path), by))
    audit(c, "report", round=rnd, by=by, detail={"since": since, "path": str(path)})


def since_time(c: sqlite3.Connection, since: Any) -> str | None:
    """The start of the reported period as ISO UTC text: after round ``since``
    was recorded (an int), a time (date, datetime, ISO text), or the last
    report when None (None again when there was none: everything)."""
    if since is None:
        return last_report(c)
    if isinstance(since, int) and not isinstance(since, bool):
        row = c.execute("SELECT created_at FROM rounds WHERE round = ?", (since,)).fetchone()
        if row is None:
            raise InputError(f"`since` names round {since}, which the ledger does not have")
        return str(row[0])
    return parse_time(since, "since").isoformat(timespec="microseconds")


# ------------------------------------------------------------------ the tables
def _community(values: pd.Series) -> pd.Series:
    return values.where(values.notna() & (values.astype(str) != ""), _NO_COMMUNITY).astype(str)


def _changes(ledger: ProjectLedger, since: str | None, projects: pd.DataFrame) -> pd.DataFrame:
    hist = ledger.history()
    if since is not None:
        hist = hist[hist["at"] > since]
    kind = pd.Series(None, index=hist.index, dtype=object)
    kind[hist["from_status"].isna() & (hist["to_status"] == "not_started")] = "new"
    kind[hist["to_status"] == "in_progress"] = "started"
    kind[hist["to_status"] == "completed"] = "completed"
    kind[hist["to_status"] == "cancelled"] = "cancelled"
    rows = hist.assign(change=kind).dropna(subset=["change"])
    rows = rows[["project_id", "change", "at", "by", "note"]]
    claims = ledger.claims()
    if since is not None:
        # The wall-clock stamp, like the status changes and the reports.
        claims = claims[claims["recorded_at"] > since]
    claimed = pd.DataFrame({
        "project_id": claims["project_id"], "change": "claimed", "at": claims["recorded_at"],
        "by": claims["by"],
        "note": claims["resource_id"] + "（" + claims["provider"].fillna("") + "）"
        + claims["units"].astype(str) + "单位",
    })
    out = pd.concat([rows, claimed], ignore_index=True) if len(claimed) else rows
    where = dict(zip(projects["project_id"], _community(projects["community"])))
    out = out.assign(community=out["project_id"].map(where).fillna(_NO_COMMUNITY))
    return out.sort_values(["community", "at", "project_id"], kind="stable").reset_index(
        drop=True)


def report_tables(ledger: ProjectLedger, c: sqlite3.Connection, *, since: str | None,
                  as_of: Any) -> dict[str, pd.DataFrame]:
    """Every table of the report, in English columns (renamed at writing).

    Read in the caller's transaction ``c`` on the ledger's connection (one
    committed state; expired claims already settled by the caller).
    """
    sup = ledger.supervision(as_of)
    sup = sup.assign(community=_community(sup["community"]))
    changes = _changes(ledger, since, sup)
    unmet = open_for_claims(c, ledger.round_options())
    unmet = unmet.assign(community=_community(unmet["community"]))
    problems = ledger.problems(open=True)
    problems = problems.assign(community=_community(problems["community"]))
    claims = ledger.claims("open")
    where = dict(zip(sup["project_id"], sup["community"]))
    claims = claims.assign(community=claims["project_id"].map(where).fillna(_NO_COMMUNITY))

    communities = sorted(set(sup["community"]) | set(unmet["community"])
                         | set(problems["community"]))
    rows = []
    for name in [*communities, STREET]:
        def mine(frame: pd.DataFrame, name: str = name) -> pd.DataFrame:
            return frame if name == STREET else frame[frame["community"] == name]

        p, ch = mine(sup), mine(changes)
        row: dict[str, Any] = {"community": name, "n_projects": len(p)}
        row.update({s: int((p["status"] == s).sum()) for s in STATUSES})
        row.update({f"n_{k}": int((ch["change"] == k).sum()) for k in CHANGES})
        row.update({"overdue": int((p["flag"] == "overdue").sum()),
                    "due_soon": int((p["flag"] == "due_soon").sum()),
                    "open_problems": len(mine(problems)),
                    "unmet_needs": len(mine(unmet)),
                    "unmet_units": int(mine(unmet)["units_open"].sum())})
        rows.append(row)
    summary = pd.DataFrame(rows)
    watch = sup[sup["flag"].isin(["overdue", "due_soon"])].sort_values(
        ["days_left", "project_id"], kind="stable")
    reasons = (unmet.groupby("reason").size().reindex(list(REASONS), fill_value=0)
               .rename("n_needs").rename_axis("reason").reset_index())
    reasons = reasons[reasons["n_needs"] > 0]
    return {"summary": summary, "changes": changes, "watch": watch, "problems": problems,
            "unmet": unmet, "reasons": reasons, "claims": claims, "projects": sup}


_HEADERS: dict[str, dict[str, str]] = {
    "summary": {"community": "社区", "n_projects": "项目数",
                **{s: label for s, label in STATUSES.items()},
                **{f"n_{k}": f"本期{label}" for k, label in CHANGES.items()},
                "overdue": "逾期", "due_soon": "7日内到期", "open_problems": "待整改问题",
                "unmet_needs": "未满足需求", "unmet_units": "未满足数量"},
    "changes": {"community": "社区", "project_id": "项目编号", "change": "变化",
                "at": "时间", "by": "经办人", "note": "说明"},
    "watch": {"community": "社区", "project_id": "项目编号", "category": "类别",
              "status": "状态", "owner": "责任人", "due": "完成时限",
              "days_left": "剩余天数", "flag": "督办"},
    "problems": {"problem_id": "问题编号", "community": "社区", "project_id": "项目编号",
                 "text": "问题", "due": "整改时限", "opened_by": "发现人",
                 "opened_at": "发现时间"},
    "unmet": {"community": "社区", "need_id": "需求编号", "grid": "网格",
              "category": "类别", "priority": "优先级", "demand": "需求数量",
              "units_open": "未满足数量", "reason": "原因", "providers": "可认领提供方"},
    "reasons": {"reason": "原因", "n_needs": "需求数"},
    "claims": {"claim_id": "认领编号", "community": "社区", "project_id": "项目编号",
               "need_id": "需求编号", "resource_id": "资源编号", "provider": "提供方",
               "units": "认领数量", "by": "认领人", "claimed_at": "认领时间",
               "flag": "不匹配原因", "status": "状态"},
    "projects": {"project_id": "项目编号", "need_id": "需求编号", "grid": "网格",
                 "category": "类别", "demand": "需求数量", "assigned": "已分配",
                 "resources": "资源", "status": "状态", "owner": "责任人",
                 "due": "完成时限", "flag": "督办"},
}
#: Sheet titles of the street-wide tables.
_TITLES = {"summary": "汇总", "changes": "本期变化", "watch": "逾期督办",
           "problems": "问题台账", "unmet": "未满足需求", "reasons": "未满足原因",
           "claims": "认领"}


def _display(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A table with Chinese headers and words, the columns of :data:`_HEADERS`."""
    cols = _HEADERS[key]
    out = frame.reindex(columns=list(cols)).copy()
    if "status" in out.columns:
        words = {**STATUSES, **CLAIM_STATUSES} if key == "claims" else STATUSES
        out["status"] = out["status"].map(words).fillna(out["status"])
    if "flag" in out.columns and key != "claims":
        out["flag"] = out["flag"].map(SUPERVISION_LABELS).fillna(out["flag"])
    if "change" in out.columns:
        out["change"] = out["change"].map(CHANGES)
    if "reason" in out.columns:
        out["reason"] = out["reason"].map(REASON_LABELS).fillna(out["reason"])
    if key == "claims":
        out["flag"] = out["flag"].map(REASON_LABELS).fillna(out["flag"])
    return out.rename(columns=cols).reset_index(drop=True)


def _write_xlsx(path: Path, sheets: list[tuple[str, pd.DataFrame]]) -> None:
    try:
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter
    except ImportError as err:
        raise InputError(
            f"the dispatch report needs openpyxl: pip install 'matchcore[excel]' ({err})"
        ) from err
    tmp = path.with_name(path.name + ".tmp.xlsx")
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, frame in sheets:
            frame.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            ws.freeze_panes = "A2"
            for k, col in enumerate(frame.columns, start=1):
                width = max([len(str(col)) * 2, *(len(str(v)) for v in frame[col].head(200))])
                ws.column_dimensions[get_column_letter(k)].width = min(60, width + 2)
                ws.cell(row=1, column=k).font = Font(bold=True)
    os.replace(tmp, path)


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:2px solid #0f766e}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f0f4f4}.flag{display:inline-block;width:.8em;height:.8em;border-radius:50%;
margin-right:.3em;vertical-align:middle}.legend span{margin-right:1.2em}
"""


def _html_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>（无）</p>"
    return frame.to_html(index=False, escape=True, na_rep="", border=0)


def _write_html(path: Path, title: str, meta: str, parts: list[tuple[str, pd.DataFrame]]
                ) -> None:
    legend = "".join(
        f'<span><i class="flag" style="background:{SUPERVISION_COLOURS[k]}"></i>'
        f"{html.escape(label)}</span>" for k, label in SUPERVISION_LABELS.items())
    body = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(meta)}</p>",
            f'<p class="legend">督办颜色：{legend}</p>']
    colour_of = {SUPERVISION_LABELS[k]: v for k, v in SUPERVISION_COLOURS.items()}
    for heading, frame in parts:
        text = _html_table(frame)
        for label, colour in colour_of.items():
            text = text.replace(f"<td>{label}</td>",
                                f'<td><i class="flag" style="background:{colour}"></i>'
                                f"{label}</td>")
        body.append(f"<h2>{html.escape(heading)}</h2>{text}")
    page = ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)


def write_report(
    tables: dict[str, pd.DataFrame], paths: tuple[Path, Path], *, since: str | None,
    as_of: Any
) -> dict[str, Path]:
    """Write the workbook and the page (:func:`report_paths`) of :func:`report_tables`;
    see :meth:`ProjectLedger.report`."""
    xlsx, page = paths
    t = parse_time(as_of)
    taken: set[str] = set()
    sheets = [(sheet_name(title, taken), _display(key, tables[key]))
              for key, title in _TITLES.items()]
    projects = tables["projects"]
    for name in sorted(set(projects["community"])):
        mine = projects[projects["community"] == name]
        sheets.append((sheet_name(name, taken), _display("projects", mine)))
    _write_xlsx(xlsx, sheets)
    period = f"自 {since} 起" if since is not None else "自台账建立起"
    meta = (f"统计时间 {t.date().isoformat()}；本期变化 {period}；"
            f"共 {len(projects)} 个项目。")
    _write_html(page, "项目调度会通报", meta,
                [(title, frame) for title, frame in sheets])
    return {"xlsx": xlsx, "html": page}
