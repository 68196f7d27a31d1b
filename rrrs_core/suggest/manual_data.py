"""Training and evaluation pairs for the code suggestions, derived from the 3RS manual's marker and
resolution-strategy chapters (pp. 10-37) only.

Why a script and a committed file: the manual itself is not shipped with rrrs, so the repository carries
only the short derived text (`data/manual_examples.csv`: the definitional example utterances and the
first definition paragraph of each code). This module regenerates that file from the manual's text:

    python -m rrrs_core.suggest.manual_data ../shared/reference/3rs-manual.txt

It reads nothing after the strategy chapter: the differential-diagnosis guidelines and the coding-examples
chapter (withheld for evaluating rrrs) are never looked at. Rows:
- kind `definition`: the first paragraph of the code's section (training only, never evaluated);
- kind `example`: the utterances of one example exchange by the speaker the code belongs to (patient for
  rupture markers, therapist for resolution strategies), with `clarity` check_minus for examples after the
  section's "Check minus rating" paragraph;
- kind `uncoded`: a therapist prompt in a marker example, or a patient turn the manual says is not a
  rupture; labelled `none`, they let the evaluation see false suggestions and choose a threshold.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path(__file__).with_name("data") / "manual_examples.csv"
FIELDS = ("id", "code", "speaker", "kind", "clarity", "text")

# Section headings (stripped line starts) in manual order -> code key; the chapter ends at the next entry.
HEADINGS: tuple[tuple[str, str], ...] = (
    ("Denial", "denial"),
    ("Minimal Response", "minimal_response"),
    ("Abstract Communication", "abstract_communication"),
    ("Avoidant Storytelling and/or Shifting Topic", "avoidant_storytelling"),
    ("Deferential and Appeasing", "deferential"),
    ("Content/Affect Split", "content_affect_split"),
    ("Self-criticism and/or hopelessness", "self_criticism"),
    ("Complaints/concerns about the therapist", "complaint_therapist"),
    ("Patient rejects therapist intervention", "reject_intervention"),
    ("Complaints/concerns about the activities of therapy", "complaint_activities"),
    ("Complaints/concerns about the parameters of therapy", "complaint_parameters"),
    ("Complaints/concerns about progress in therapy", "complaint_progress"),
    ("Patient defends self against therapist", "defends_self"),
    ("Efforts to control/pressure the therapist", "control_pressure"),
    ("Therapist clarifies a misunderstanding", "clarify_misunderstanding"),
    ("Therapist changes tasks or goals", "change_task"),
    ("Therapist illustrates tasks or provides a rationale for", "illustrate_task"),
    ("The therapist invites the patient to discuss thoughts or", "invite_feelings"),
    ("The therapist acknowledges his/her contribution to a rupture", "acknowledge_contribution"),
    ("The therapist discloses his/her internal experience of the", "disclose_experience"),
    ("Therapist links the rupture to larger interpersonal patterns", "link_therapist_pattern"),
    ("Therapist links the rupture to larger interpersonal patterns in", "link_other_relationships"),
    ("Therapist validates the patient’s defensive posture", "validate_defensive_posture"),
    ("Therapist responds to a rupture by redirecting or refocusing", "redirect_refocus"),
)
START = "In a withdrawal, the patient is moving away"
END = "Below are some guidelines for deciding"
# Page furniture that the PDF extraction drops into the middle of examples.
FURNITURE = re.compile(r"^\s*(\d{1,2}|Withdrawal Rupture Markers|Confrontation Rupture Markers|Resolution Strategies)\s*$")
# Coders' annotations typed after an utterance in a few examples (not words anyone said).
ANNOTATIONS: tuple[str, ...] = (
    r"Content/affect split and check minus reject intervention.*$",
    r"Content/affect split, complaint therapist.*$",
    r"Minimal response and check minus content/affect split\s*$",
    r"\s+Complaint activity\s*$",
    r"\s+Invite thoughts/feelings\s*$",
    r"\(The therapist attempts to stop .*$",
    r"Therapist is aware that the patient is holding things.*$",
    r"In this vignette,.*$",
    r"\[[^\]]*\]",
)
# Second lines of two-line headings, which the extraction puts at the top of the section.
HEADING_TAILS: dict[str, str] = {
    "illustrate_task": "treatment",
    "invite_feelings": "feelings about the therapist or some aspect of therapy",
    "disclose_experience": "patient-therapist interaction",
    "link_therapist_pattern": "between the patient and the therapist",
    "link_other_relationships": "the patient’s other relationships",
    "redirect_refocus": "the patient",
}
# Patient utterances the manual presents as collaboration, not a rupture (matched by their opening words).
NOT_RUPTURES: tuple[str, ...] = (
    "Work was stressing me out a lot last week",
    "I doubted my intelligence",
)
# Therapist prompts inside marker examples that the manual elsewhere treats as (possible) strategies.
NOT_UNCODED: tuple[str, ...] = ("Are you experiencing me as angry", "What just happened?")
TURN = re.compile(r"^\s*([TP]):\s*(.*)$")


@dataclass
class Row:
    code: str
    speaker: str
    kind: str
    clarity: str
    text: str


def _clean(text: str) -> str:
    for pattern in ANNOTATIONS:
        text = re.sub(pattern, "", text)
    return re.sub(r"\s+", " ", text).strip()


def _sections(lines: list[str]) -> list[tuple[str, list[str]]]:
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(START))
    end = next(i for i, line in enumerate(lines) if line.strip().startswith(END))
    marks: list[tuple[int, str]] = []
    cursor = start
    for heading, code in HEADINGS:
        at = next(i for i in range(cursor, end) if lines[i].strip() == heading or
                  (lines[i].strip().startswith(heading) and len(lines[i].strip()) <= len(heading) + 2))
        marks.append((at, code))
        cursor = at + 1
    bounds = [m[0] for m in marks] + [end]
    return [(code, lines[at + 1:bounds[k + 1]]) for k, (at, code) in enumerate(marks)]


def _blocks(body: list[str]) -> tuple[list[str], list[tuple[bool, list[tuple[str, str]]]]]:
    """The section's prose before its first example, and its example exchanges as (after check-minus, turns).
    A blank line ends an exchange unless the next line continues the utterance (starts in lower case): the
    PDF extraction breaks some utterances with a blank line."""
    prose: list[str] = []
    blocks: list[tuple[bool, list[tuple[str, str]]]] = []
    current: list[list[str]] = []
    check_minus = False
    seen_example = False
    pending_close = False

    def close() -> None:
        nonlocal current
        if current:
            blocks.append((check_minus, [(s, t) for s, t in current]))
        current = []

    for raw in body:
        if FURNITURE.match(raw):
            continue
        line = raw.rstrip()
        if not line.strip():
            pending_close = bool(current)
            continue
        turn = TURN.match(line)
        if pending_close and (turn or not line.strip()[0].islower()):
            close()
        pending_close = False
        if line.strip().lower().startswith("check minus"):
            check_minus = True
        if turn:
            seen_example = True
            current.append([turn.group(1), turn.group(2)])
        elif current:
            current[-1][1] += " " + line.strip()
        elif not seen_example and not check_minus:
            prose.append(line.strip())
    close()
    return prose, blocks


def _definition(code: str, prose: list[str]) -> str:
    """The opening of the section's definition: its first three sentences."""
    text = _clean(" ".join(prose))
    tail = HEADING_TAILS.get(code)
    if tail and text.startswith(tail):
        text = text[len(tail):].strip()
    sentences = re.split(r"(?<=[.!?])\s+", text)
    return " ".join(sentences[:3])


def extract(manual: Path) -> list[Row]:
    """Every row of the derived dataset, in manual order."""
    from rrrs_core.codebook import DEFAULT

    lines = manual.read_text(encoding="utf-8").splitlines()
    rows: list[Row] = []
    for code, body in _sections(lines):
        family = DEFAULT.code(code).family
        speaker = "therapist" if family == "resolution" else "patient"
        letter = speaker[0].upper()
        prose, blocks = _blocks(body)
        rows.append(Row(code, speaker, "definition", "", _definition(code, prose)))
        for check_minus, turns in blocks:
            own = [_clean(t) for s, t in turns if s == letter]
            own = [t for t in own if t]
            if not own:
                continue
            text = " ".join(own)
            if any(text.startswith(p) for p in NOT_RUPTURES):
                rows.append(Row("none", speaker, "uncoded", "", text))
                continue
            rows.append(Row(code, speaker, "example", "check_minus" if check_minus else "check", text))
            if speaker == "patient":
                for s, t in turns:
                    t = _clean(t)
                    if s == "T" and t and not any(t.startswith(p) for p in NOT_UNCODED):
                        rows.append(Row("none", "therapist", "uncoded", "", t))
    return _dedupe(rows)


def _dedupe(rows: list[Row]) -> list[Row]:
    """One row per (text, code); an uncoded text that is also a coded example is dropped."""
    coded = {r.text for r in rows if r.code != "none"}
    seen: set[tuple[str, str]] = set()
    out: list[Row] = []
    for r in rows:
        if (r.text, r.code) in seen or (r.code == "none" and r.text in coded):
            continue
        seen.add((r.text, r.code))
        out.append(r)
    return out


def write(rows: list[Row], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for i, r in enumerate(rows, start=1):
            w.writerow((i, r.code, r.speaker, r.kind, r.clarity, r.text))


def load(path: Path = DATA_FILE) -> list[dict[str, str]]:
    """The committed dataset as dicts (what training and evaluation read)."""
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("manual", type=Path, help="the 3RS manual as text (3rs-manual.txt)")
    parser.add_argument("--out", type=Path, default=DATA_FILE)
    args = parser.parse_args(argv)
    if not args.manual.is_file():
        print(f"manual_data: {args.manual} is not a file", file=sys.stderr)
        return 2
    rows = extract(args.manual)
    write(rows, args.out)
    print(f"{len(rows)} rows -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
