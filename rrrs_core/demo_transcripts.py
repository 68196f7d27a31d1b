"""Synthetic transcripts and a sample recording for a few sessions of the demo clinic, labelled synthetic.

The dialogue is invented here, line by line, from the demo's own coded marks: in a segment coded with a
rupture marker the patient says something of that kind, in one coded with a resolution strategy the therapist
does, and the rest is ordinary talk. Nothing comes from the 3RS manual's examples (the suggestion model is
evaluated on those). `rrrs demo` writes them as WebVTT files into <demo folder>/transcripts/ and, with Debian's
ffmpeg, a short test-pattern video with a tone into <demo folder>/media/ (skipped with a note without ffmpeg);
`rrrs import` of that folder attaches them (`attach_folder`). The CSVs, and so the codings, do not change.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from rrrs_core.codebook import DEFAULT
from rrrs_core.errors import RrrsError

N_SESSIONS = 4
TURNS_PER_SEGMENT = 8
RECORDING_SECONDS = 360  # "a few minutes": the recorded session is chosen with a rupture in its first 6 minutes
FOLDER, MEDIA = "transcripts", "media"
NOTE = ("NOTE Synthetic transcript written by rrrs for its demo clinic: invented dialogue, no real patient or "
        "therapist. Its turns follow the demo's coded marks for this session.")
FAMILY = {c.key: c.family for c in DEFAULT.codes}

SAYS: dict[str, tuple[str, ...]] = {
    "denial": ("No, I'm not upset. It's fine, honestly, nothing is wrong.", "It doesn't bother me at all."),
    "minimal_response": ("Mm.", "I guess.", "Maybe. Don't know."),
    "abstract_communication": ("It's just, you know, things in general. The whole situation, sort of.",
                               "People are like that. It's all part of the bigger picture, isn't it."),
    "avoidant_storytelling": ("Anyway, did I tell you about the neighbour's fence? It's a whole saga.",
                              "That reminds me, on Tuesday the printer at work broke and nobody could fix it."),
    "deferential": ("You're the expert, whatever you think is best is fine with me.",
                    "Sorry, I'm probably doing this wrong. You know better than me."),
    "content_affect_split": ("(laughs) My father didn't come to the wedding. Funny, really.",
                             "So the dog died last week. Anyway, it's fine, we move on."),
    "self_criticism": ("I'm hopeless at this. Nothing I try ever works out.",
                       "It's my fault, it always is. I don't see the point."),
    "complaint_therapist": ("You never actually listen to what I say.", "Honestly, you seem bored with me today."),
    "reject_intervention": ("No, that's not it at all. That's just wrong.",
                            "I'm not doing the breathing thing again, it's pointless."),
    "complaint_activities": ("These worksheets are a waste of my time.",
                             "Why do we keep going back to my childhood? That's not why I came."),
    "complaint_parameters": ("Moving my appointment again was really inconvenient.",
                             "I didn't like that you cancelled last week."),
    "complaint_progress": ("We've been at this for months and I'm no better.",
                           "Nothing is changing. What's the point of coming here?"),
    "defends_self": ("I wasn't being rude, I was being honest. Don't make it sound like it's me.",
                     "That's not fair, I did try. You make it sound like I didn't."),
    "control_pressure": ("Just tell me what to do. I want an answer today.",
                         "You have to write to my manager for me. You have to."),
    "clarify_misunderstanding": ("I don't think I was clear. I didn't mean you were doing it wrong.",
                                 "Let me put that differently, I think it came across as criticism."),
    "change_task": ("Let's set the worksheet aside today and talk about what feels most pressing.",
                    "Maybe we drop the exercise for now and look at what happened this week."),
    "illustrate_task": ("The reason I ask you to notice the feeling is that it often shows us what sets off the "
                        "panic.", "When we slow down like this, it helps us see the step you usually skip."),
    "invite_feelings": ("How is it for you, talking about this with me right now?",
                        "I wonder what it was like for you when I said that."),
    "acknowledge_contribution": ("You're right, I pushed that too hard. That's on me.",
                                 "I think I rushed you just now, and that wasn't helpful."),
    "disclose_experience": ("I notice I feel a bit shut out right now, and I'm curious about that.",
                            "I find myself wanting to fix this for you, and I'm not sure that helps."),
    "link_therapist_pattern": ("This seems to happen between us when I ask about your week. Have you noticed?",
                               "It's a bit like last time, when I pressed and you went quiet."),
    "link_other_relationships": ("It sounds a little like what happens with your sister, when she doesn't hear "
                                 "you.", "Is this like how it goes with your boss, you agree and then feel angry?"),
    "validate_defensive_posture": ("It makes sense you'd want to keep some distance from this; it's been painful.",
                                   "Of course you're wary, you've been let down before."),
    "redirect_refocus": ("Can we come back to what you said about feeling stuck?",
                         "I'd like to return to the argument on Sunday, if that's all right."),
}
OPENING = "Hello, come in. Where would you like to start today?"
PATIENT_TALK = ("This week was busy, mostly work.", "I slept a bit better, I think.",
                "My mother phoned on Thursday, we talked about the holidays.", "I went for a walk on Saturday.",
                "Work is the same as always.", "I tried what we said, writing things down.",
                "I'm tired, but okay.", "We had friends over on Friday, it was nice actually.",
                "The trains were late again, so I was stressed before I even got in.",
                "I keep thinking about what my brother said.", "I cooked for the first time in ages.")
THERAPIST_TALK = ("How has the week been?", "Mm-hm. Go on.", "What happened next?", "How did that feel?",
                  "Tell me more about that.", "What did you notice in yourself then?", "I see.",
                  "What was that like?", "And then?", "What was going through your mind?",
                  "Say more?")


def _deck(lines: tuple[str, ...], rng: random.Random) -> Iterator[str]:
    """The lines in a shuffled order, reshuffled when used up: no line twice in a row within a round."""
    while True:
        yield from rng.sample(lines, len(lines))


def _lines(marks: pd.DataFrame, n_segments: int, rng: random.Random) -> list[tuple[int, str, str]]:
    """(segment, speaker, text) in order: per segment, talk around the coded markers and strategies."""
    asks, tells = _deck(THERAPIST_TALK, rng), _deck(PATIENT_TALK, rng)
    out: list[tuple[int, str, str]] = [(1, "Therapist", OPENING)]
    for seg in range(1, n_segments + 1):
        codes = marks.loc[marks.segment == seg, "code"].tolist()
        markers = [c for c in codes if FAMILY.get(c) in ("withdrawal", "confrontation")]
        strategies = [c for c in codes if FAMILY.get(c) == "resolution"]
        turns = [("Patient", next(tells)), ("Therapist", next(asks))]
        for i, code in enumerate(markers):
            turns.append(("Patient", rng.choice(SAYS[code])))
            if i < len(markers) - 1 or not strategies:  # else the therapist answers with the strategy
                turns.append(("Therapist", rng.choice(("Mm.", "Okay.", "I see."))))
        if strategies and turns[-1][0] == "Therapist":
            turns.append(("Patient", next(tells)))
        for code in strategies:
            turns += [("Therapist", rng.choice(SAYS[code])),
                      ("Patient", rng.choice(("Maybe.", "Yeah.", "I hadn't thought of that.", "Hm. Possibly.")))]
        while len(turns) < TURNS_PER_SEGMENT:  # ordinary talk, the two taking turns
            turns.append(("Therapist", next(asks)) if turns[-1][0] == "Patient" else ("Patient", next(tells)))
        out += [(seg, who, text) for who, text in turns]
    return out


def _clock(secs: float) -> str:
    ms = round(secs * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def vtt(marks: pd.DataFrame, n_segments: int, segment_minutes: int, seed: str) -> str:
    """One session's synthetic WebVTT: each segment's turns spread over its minutes."""
    rng = random.Random(seed)
    lines = _lines(marks, n_segments, rng)
    width = segment_minutes * 60.0
    cues = [f"WEBVTT - synthetic demo transcript ({seed})", "", NOTE, ""]
    for seg in range(1, n_segments + 1):
        these = [text_of for text_of in lines if text_of[0] == seg]
        step = width / len(these)
        for i, (_, who, text) in enumerate(these):
            start = (seg - 1) * width + i * step + rng.uniform(0, 2)
            cues += [f"{_clock(start)} --> {_clock(start + step * 0.85)}", f"<v {who}>{text}", ""]
    return "\n".join(cues)


def chosen(marks: pd.DataFrame, sessions: pd.DataFrame, n: int = N_SESSIONS) -> list[tuple[str, int]]:
    """A few single-coder sessions with both rupture markers and resolution strategies, from different dyads;
    the first has a marker in its first segments (it gets the recording)."""
    single = sessions.groupby(["dyad_id", "session_number"]).size()
    fam = marks.assign(family=marks.code.map(FAMILY))
    picks: list[tuple[str, int]] = []
    for (dyad, session), group in fam.groupby(["dyad_id", "session_number"], sort=True):
        if single.get((dyad, session)) != 1 or dyad in {d for d, _ in picks}:
            continue
        families = set(group.family)
        if "resolution" not in families or not families & {"withdrawal", "confrontation"}:
            continue
        early = (group.family != "resolution") & (group.segment * 300 <= RECORDING_SECONDS)
        if picks or early.any():
            picks.append((str(dyad), int(session)))
        if len(picks) == n:
            break
    return picks


def recording(path: Path, seconds: int = RECORDING_SECONDS) -> bool:
    """A small synthetic video (test pattern, 440 Hz tone) with ffmpeg; False when ffmpeg is not installed."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc=size=160x90:rate=2:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=8000:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "45", "-g", "20", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "12k", "-ac", "1", "-shortest", "-movflags", "+faststart", str(path)],
                   check=True, capture_output=True, timeout=120)
    return True


def write(out_dir: str | Path, marks: pd.DataFrame, sessions: pd.DataFrame) -> tuple[list[Path], Path | None]:
    """Write the synthetic transcripts (and the sample recording, if ffmpeg is there) into the demo folder."""
    out = Path(out_dir)
    (out / FOLDER).mkdir(parents=True, exist_ok=True)
    written = []
    for dyad, session in chosen(marks, sessions):
        row = sessions[(sessions.dyad_id == dyad) & (sessions.session_number == session)].iloc[0]
        these = marks[(marks.dyad_id == dyad) & (marks.session_number == session)]
        path = out / FOLDER / f"{dyad}_{session}.vtt"
        path.write_text(vtt(these, int(row.n_segments), int(row.segment_minutes), f"{dyad}_{session}"), "utf-8")
        written.append(path)
    video = out / MEDIA / f"{written[0].stem}.mp4" if written else None
    if video is not None and not recording(video):
        video = None
    return written, video


def write_and_say(out_dir: str | Path, marks: pd.DataFrame, sessions: pd.DataFrame) -> str:
    """`write`, and one sentence for `rrrs demo` to print about it."""
    files, video = write(out_dir, marks, sessions)
    said = f"Wrote {len(files)} synthetic session transcripts to {Path(out_dir) / FOLDER}"
    if video is not None:
        return f"{said} and a synthetic sample recording to {video}."
    if files:
        return f"{said}; no sample recording: ffmpeg is not installed (apt-get install ffmpeg)."
    return said + "."


def attach_folder(con: duckdb.DuckDBPyConnection, folder: str | Path, user: str = "cli") -> str | None:
    """Attach the demo folder's synthetic transcripts (<dyad>_<session>.vtt) to their sessions, and the sample
    recording when $RRRS_MEDIA_ROOT holds it; a sentence saying what was done, None without a transcripts
    folder. Called by `rrrs import` for a synthetic batch only."""
    from rrrs_core.transcripts import attach, parse, recordings, rules
    from rrrs_core.transcripts.stored import has_session

    base = Path(folder)
    files = sorted((base / FOLDER).glob("*.vtt")) if (base / FOLDER).is_dir() else []
    if not files:
        return None
    who, n, video = rules.cli(user), 0, None
    for path in files:
        dyad, _, session = path.stem.rpartition("_")
        if not session.isdigit() or not has_session(con, dyad, int(session)):
            continue
        attach(con, who, dyad, int(session), parse(path.read_bytes(), path.name), path.name)
        n += 1
        media = base / MEDIA / f"{path.stem}.mp4"
        if media.is_file():
            try:
                video = recordings.set_recording(con, who, dyad, int(session), media.resolve())
            except RrrsError as exc:
                video = f"not referenced ({exc})"
    said = f"Attached {n} synthetic demo transcripts"
    return said + (f"; sample recording {video}" if video else "")
