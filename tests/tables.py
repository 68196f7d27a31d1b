"""Write small 3RS tables folders/workbooks for import tests, starting from the known-good fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

OK = Path(__file__).parent / "data" / "tables_ok"


def read_ok() -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(OK / f"{t}.csv", dtype=str, keep_default_na=False) for t in ("sessions", "marks", "ratings")}


def write_folder(dest: Path, frames: dict[str, pd.DataFrame] | None = None, sep: str = ",",
                 encoding: str = "utf-8") -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    if frames is None:
        for f in OK.iterdir():
            shutil.copy(f, dest / f.name)
        return dest
    for name, frame in frames.items():
        frame.to_csv(dest / f"{name}.csv", index=False, sep=sep, encoding=encoding)
    return dest


def write_xlsx(dest: Path, frames: dict[str, pd.DataFrame]) -> Path:
    with pd.ExcelWriter(dest, engine="openpyxl") as xl:
        for name, frame in frames.items():
            frame.to_excel(xl, sheet_name=name, index=False)
    return dest
