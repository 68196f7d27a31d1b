"""Blank 3RS tables to start from: three CSVs in a zip, or one workbook, each with an example coding."""

from __future__ import annotations

import io
import zipfile

import pandas as pd

from rrrs_core.importing.format import TABLES, columns

EXAMPLE: dict[str, list[list[str]]] = {
    "sessions": [["D001", "T01", "1", "C1", "10", "2026-03-02", "5", "S01", "true", "P001", "CBT", "false"]],
    "marks": [["D001", "1", "C1", "3", "minimal_response", "check"],
              ["D001", "1", "C1", "4", "complaint_activities", "check_minus"],
              ["D001", "1", "C1", "4", "invite_feelings", "check"]],
    "ratings": [["D001", "1", "C1", "minimal_response", "2"], ["D001", "1", "C1", "complaint_activities", "2"],
                ["D001", "1", "C1", "invite_feelings", "3"], ["D001", "1", "C1", "overall_withdrawal", "2"],
                ["D001", "1", "C1", "overall_confrontation", "2"], ["D001", "1", "C1", "overall_resolution", "4"],
                ["D001", "1", "C1", "therapist_contribution", "1"]],
}


def frames() -> dict[str, pd.DataFrame]:
    return {t: pd.DataFrame(EXAMPLE[t], columns=list(columns(t))) for t in TABLES}


def csv_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, frame in frames().items():
            zf.writestr(f"{name}.csv", frame.to_csv(index=False))
    return buf.getvalue()


def xlsx() -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, frame in frames().items():
            frame.to_excel(xl, sheet_name=name, index=False)
    return buf.getvalue()
