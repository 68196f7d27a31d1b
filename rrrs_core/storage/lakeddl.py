"""Migrations as DuckLake accepts them: the same tables and columns, without what DuckLake lacks.

DuckLake (1.5) refuses PRIMARY KEY, UNIQUE and CHECK constraints and sequences, so a migration's DDL is
translated here, never edited: constraints are stripped (a key column keeps its NOT NULL), CREATE SEQUENCE statements dropped and
`DEFAULT nextval(...)` removed. Nothing in rrrs relies on those to reject data: ids come from
`store.next_id` inside the write lock, and the writers check their keys before writing (tests assert it).
NOT NULL and plain DEFAULT values are kept (DuckLake has them). The embedded file runs the SQL as written.
"""

from __future__ import annotations

import re

_SEQUENCE = re.compile(r"(?is)\bCREATE\s+SEQUENCE\b[^;]*;")
_NEXTVAL = re.compile(r"(?i)\s+DEFAULT\s+nextval\s*\(\s*'[^']*'\s*\)")
_COLUMN_PK = re.compile(r"(?i)\s+PRIMARY\s+KEY\b(?!\s*\()(?P<nn>\s+NOT\s+NULL\b)?")
_COLUMN_UNIQUE = re.compile(r"(?i)\s+UNIQUE\b(?!\s*\()")
_CHECK = re.compile(r"(?i)\s*\bCHECK\s*\(")
_TABLE_KEY = re.compile(r"(?i)^\s*(?:CONSTRAINT\s+\w+\s+)?(?:PRIMARY\s+KEY|UNIQUE)\s*\(")


def _strip_checks(sql: str) -> str:
    """Remove every `CHECK (...)`, with its balanced parentheses (a check may hold calls and lists)."""
    out, pos = [], 0
    while (m := _CHECK.search(sql, pos)) is not None:
        depth, i = 1, m.end()
        while depth and i < len(sql):
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        out.append(sql[pos:m.start()])
        pos = i
    return "".join(out) + sql[pos:]


def _split_top_level(body: str) -> list[str]:
    """A CREATE TABLE body's items (columns and table constraints), split on commas outside parentheses."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
    items.append(body[start:])
    return items


def _strip_table_keys(sql: str) -> str:
    """Drop table-level `PRIMARY KEY (...)` / `UNIQUE (...)` items from each CREATE TABLE (...) body."""
    out, pos = [], 0
    for m in re.finditer(r"(?is)\bCREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+[^(;]+\(", sql):
        if m.start() < pos:
            continue
        depth, i = 1, m.end()
        while depth and i < len(sql):
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        body = sql[m.end():i - 1]
        items = _split_top_level(body)
        kept = [item for item in items if not _TABLE_KEY.match(item)]
        if len(kept) != len(items):
            trailing = items[-1][len(items[-1].rstrip()):]  # the newline and indent before the closing ')'
            body = ",".join(kept).rstrip() + trailing
        out.append(sql[pos:m.end()] + body + ")")
        pos = i
    return "".join(out) + sql[pos:]


def for_lake(sql: str) -> str:
    """A migration's SQL, translated for DuckLake (see the module docstring)."""
    sql = _SEQUENCE.sub("", sql)
    sql = _NEXTVAL.sub("", sql)
    sql = _strip_checks(sql)
    sql = _strip_table_keys(sql)
    sql = _COLUMN_PK.sub(lambda m: m.group("nn") or " NOT NULL", sql)  # a key column was never null: that much DuckLake can keep
    return _COLUMN_UNIQUE.sub("", sql)
