"""What an id may be: plain visible text of at most `MAX_ID` characters, and not a look-alike of another.

Ids (dyad, therapist, coder, supervisor, patient, treatment) are shown on every page, in PDFs and in Excel,
and they are how people tell patients apart. A NUL byte (`D\\x001` displays as "D1"), a bidi override or a
zero-width space makes two ids look the same; a 1 MB id made the Caseload page 86 MB of text. Both are
refused by SQL rules (`rules.row_rules`). Look-alikes across scripts (Cyrillic "Т1" beside Latin "T1") can
be legitimate names in another alphabet, so they are a warning, not an error (`lookalikes`).

Values shown in problem reports go through `shown`: control characters escaped, long values cut.
"""

from __future__ import annotations

import unicodedata

import duckdb
from confusable_homoglyphs import categories, confusables

from rrrs_core.errors import Problem

MAX_ID = 64
# Free-text fields have their own caps where they are read: segment notes (`scoresheet_read.MAX_NOTE`).
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions": ("dyad_id", "therapist_id", "coder_id", "supervisor_id", "patient_id", "treatment"),
    "marks": ("dyad_id", "coder_id", "code", "clarity"),
    "ratings": ("dyad_id", "coder_id", "item"),
    "selfreports": ("dyad_id", "respondent", "instrument", "item"),
}
LONG = frozenset({"dyad_id", "therapist_id", "coder_id", "supervisor_id", "patient_id", "treatment"})
# Characters that show as nothing (or move other text): controls (Cc), format characters (Cf: soft hyphen,
# zero-width, bidi controls, tags, the BOM), line and paragraph separators (Zl, Zp), private use (Co), and
# the default-ignorable marks and fillers outside those categories (combining grapheme joiner, variation
# selectors, Hangul fillers, Khmer inherent vowels, Mongolian free variation selectors). RE2 syntax for SQL;
# `invisible` below is the same set for one value in Python.
_IGNORABLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
              (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))
_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Co")
INVISIBLE = "[" + "".join(rf"\p{{{c}}}" for c in _CATEGORIES) + "".join(
    rf"\x{{{a:x}}}" if a == b else rf"\x{{{a:x}}}-\x{{{b:x}}}" for a, b in _IGNORABLE) + "]"


def invisible(c: str) -> bool:
    """Is this character one that INVISIBLE refuses?"""
    n = ord(c)
    return unicodedata.category(c) in _CATEGORIES or any(a <= n <= b for a, b in _IGNORABLE)


SHOWN_MAX = 80


def _escaped(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n <= 0xFFFF else f"\\U{n:08x}"


def shown(value: str | None) -> str | None:
    """A value as a problem report shows it: invisible characters escaped (`D\\x001`), at most SHOWN_MAX
    characters (a 1 MB id is not echoed back whole)."""
    if value is None:
        return None
    cut = value[:SHOWN_MAX]
    out = "".join(_escaped(c) if invisible(c) else c for c in cut)
    return out + (f"… ({len(value):,} characters)" if len(value) > SHOWN_MAX else "")


MAX_SUBJECT = 254  # a sign-in subject or e-mail (an e-mail address is at most 254 characters)
MAX_NAME = 128  # a display name


def id_problem(value: str, max_len: int = MAX_ID) -> str | None:
    """Why `value` cannot be an id typed by hand (the CLI's `rrrs users add`), or None; the same rules as the
    import's SQL rules, for one value."""
    if any(invisible(c) for c in value):
        return f"'{shown(value)}' contains a control or invisible character; ids must be plain visible text"
    if len(value) > max_len:
        return f"'{shown(value)}' is longer than {max_len} characters"
    return None


def id_rules(rule: type) -> list:
    """The rules (as `rules.Rule`) refusing control/invisible characters and over-long ids."""
    out = []
    for table, cols in ID_COLUMNS.items():
        for c in cols:
            out.append(rule(table, c, f"t.{c} IS NOT NULL AND regexp_matches(t.{c}, ?)",
                            "contains a control or invisible character (shown escaped, e.g. \\x00); ids must be "
                            "plain visible text: retype the value", (INVISIBLE,)))
            if c in LONG:
                out.append(rule(table, c, f"t.{c} IS NOT NULL AND length(t.{c}) > {MAX_ID}",
                                f"is longer than {MAX_ID} characters; ids are short codes (e.g. D12, T3)"))
    return out


# --- look-alikes -------------------------------------------------------------------------------------------

# Each kind of id, with the stored ids of that kind (look-alikes matter within a kind: a patient "Т1" beside
# a therapist "T1" confuses nobody).
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "dyad_id": (("dyad_id",), "SELECT dyad_id FROM dyad"),
    "therapist_id": (("therapist_id", "supervisor_id"),
                     "SELECT therapist_id FROM therapist UNION SELECT supervisor_id FROM therapist"),
    "coder_id": (("coder_id",), "SELECT DISTINCT coder_id FROM coding"),
    "patient_id": (("patient_id",), "SELECT patient_id FROM dyad"),
}
NON_ASCII = r"[^\x00-\x7f]"


def skeleton(text: str) -> str:
    """Roughly UTS #39's skeleton: NFKC, then each non-ASCII letter replaced by its Latin look-alike (from
    the Unicode confusables data in `confusable_homoglyphs`); ASCII stays as it is."""
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        if ord(ch) < 128:
            out.append(ch)
            continue
        found = confusables.is_confusable(ch, greedy=True, preferred_aliases=["latin"]) or []
        latin = [h["c"] for f in found for h in f["homoglyphs"] if h["c"].isascii()]
        out.append(latin[0] if latin else ch)
    return "".join(out)


def _scripts(text: str) -> set[str]:
    return {categories.alias(ch) for ch in text if ch.isalpha()} - {"COMMON"}


def lookalikes(con: duckdb.DuckDBPyConnection, source: str) -> list[Problem]:
    """Warnings for incoming ids that mix scripts or look like another id of the same kind (stored or in
    this upload). Reads only the non-ASCII ids, so a plain ASCII upload costs one scan of the sessions."""
    problems: list[Problem] = []
    for cols, stored_sql in KINDS.values():
        incoming: dict[str, tuple[int, str]] = {}
        for c in cols:
            for value, row in con.execute(f"SELECT {c}, min(_row) FROM stg_sessions WHERE regexp_matches({c}, ?) "
                                          "GROUP BY ALL ORDER BY 2 LIMIT 1000", [NON_ASCII]).fetchall():
                incoming.setdefault(value, (row, c))
        if not incoming:
            continue
        skeletons = {v: skeleton(v) for v in incoming}
        wanted = sorted(set(skeletons.values()))
        # Others of this kind: in the upload and stored; ASCII ids are their own skeleton, so an exact lookup.
        others_sql = " UNION ".join([f"SELECT {c} AS v FROM stg_sessions" for c in cols] + [stored_sql])
        others = {r[0] for r in con.execute(
            f"SELECT DISTINCT v FROM ({others_sql}) WHERE v IS NOT NULL AND (list_contains(?, v) OR "
            "regexp_matches(v, ?))", [wanted, NON_ASCII]).fetchall()}
        for value, (row, col) in sorted(incoming.items(), key=lambda kv: kv[1][0]):
            twins = sorted(o for o in others if o != value and skeleton(o) == skeletons[value])
            if twins:
                problems.append(Problem("warning", source, row, col, value,
                                        f"looks like the id {', '.join(twins[:5])} but is spelled with other "
                                        "characters (" + ", ".join(sorted(_scripts(value))) + "); check that it "
                                        "is not the same person typed on another keyboard"))
            elif len(_scripts(value)) > 1:
                problems.append(Problem("warning", source, row, col, value,
                                        "mixes alphabets (" + ", ".join(sorted(_scripts(value))) + "); check that "
                                        "it was not typed partly on another keyboard"))
    return problems
