"""The 3RS codebook as data: the single source of truth for codes, families and rating scales.

Import, metrics, pages, charts and reports all read `CODEBOOK_3RS_2015` (or look a codebook up by id)
instead of repeating code lists, so that another codebook (3RS v2022, a model-specific variant) can be
added later as another `Codebook` value without touching the schema or the views.
Definitions are paraphrased from the 3RS manual (Eubanks, Muran & Safran, 2015), pp. 10-37.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Family = Literal["withdrawal", "confrontation", "resolution"]
FAMILIES: tuple[Family, ...] = ("withdrawal", "confrontation", "resolution")
RUPTURE_FAMILIES: tuple[Family, ...] = ("withdrawal", "confrontation")
CLARITIES: tuple[str, ...] = ("check", "check_minus")


@dataclass(frozen=True)
class Code:
    """One 3RS code: a rupture marker or a resolution strategy."""

    key: str
    family: Family
    label: str
    definition: str
    check_minus: str
    metacommunicative: bool = False  # resolution strategies that talk about the relationship itself


@dataclass(frozen=True)
class Scale:
    """A 1-5 rating scale with the manual's anchor text for each value."""

    key: str
    label: str
    anchors: dict[int, str]
    names: dict[int, str] = field(default_factory=dict)  # one or two words per value, for narrow drop-downs

    def anchor(self, value: int | None) -> str:
        """Anchor text for a value, or an explanation when the rating is missing."""
        if value is None:
            return "Ratings pending"
        return self.anchors.get(int(value), f"{value} is outside 1-5")

    def name(self, value: int) -> str:
        """The value's short name (the anchor's head word), so a drop-down never cuts the anchor mid-word;
        the full anchor is shown next to it."""
        return self.names.get(int(value)) or self.anchor(value).split(":")[0]


@dataclass(frozen=True)
class GlobalItem:
    """A session-level rating given after watching the whole session."""

    key: str
    label: str
    scale: Scale
    help: str


SIGNIFICANCE = Scale(
    "significance",
    "Significance",
    {
        1: "No significance: none, or only very minor ones with no visible impact on the alliance",
        2: "Minor significance: a minor impact on the alliance",
        3: "Some significance: some impact on the alliance",
        4: "Moderate significance: more than some, not enough to be rated 5",
        5: "High significance: a noteworthy impact on the alliance",
    },
    {1: "None", 2: "Minor", 3: "Some", 4: "Moderate", 5: "High"},
)

RESOLUTION = Scale(
    "resolution",
    "Overall resolution",
    {
        1: "Poor resolution / worse alliance: major ruptures not resolved, or repair attempts made it worse",
        2: "Below average / no improvement: minor ruptures unresolved or major ones only slightly resolved",
        3: "OK / average: ruptures at least partly resolved; also sessions with no or only very minor ruptures",
        4: "Good / somewhat improved alliance: ruptures generally resolved well",
        5: "Very good / improved alliance: more than minor ruptures, resolved very well",
    },
    {1: "Poor", 2: "Below average", 3: "OK / average", 4: "Good", 5: "Very good"},
)

CONTRIBUTION = Scale(
    "contribution",
    "Therapist contribution",
    {
        1: "No more than the usual contribution every therapist makes to a rupture",
        2: "Slightly more than usual: minor therapist behaviour feeding a rupture",
        3: "Some: the therapist noticeably contributed to or prolonged ruptures",
        4: "Considerable: the therapist's behaviour (criticism, passivity over clear markers) drove ruptures",
        5: "The therapist clearly caused or exacerbated the ruptures",
    },
    {1: "Usual", 2: "Slightly more", 3: "Some", 4: "Considerable", 5: "Clearly caused"},
)


def _w(key: str, label: str, definition: str, check_minus: str) -> Code:
    return Code(key, "withdrawal", label, definition, check_minus)


def _c(key: str, label: str, definition: str, check_minus: str) -> Code:
    return Code(key, "confrontation", label, definition, check_minus)


def _r(key: str, label: str, definition: str, check_minus: str, meta: bool = False) -> Code:
    return Code(key, "resolution", label, definition, check_minus, meta)


_CODES_2015: tuple[Code, ...] = (
    _w("denial", "Denial",
       "Patient denies a feeling that is plainly evident, or the importance of relationships or events "
       "relevant to the work, in a way that shuts the topic down.",
       "Unclear: the patient may be moving away, or may be honestly reporting how they feel."),
    _w("minimal_response", "Minimal response",
       "Patient goes silent or gives minimal answers to questions meant to open discussion; includes "
       "withdrawn body language, walking out, checking a phone.",
       "A short reply or silence that may be quiet processing rather than withdrawal."),
    _w("abstract_communication", "Abstract communication",
       "Vague, intellectualised or global language that keeps the therapist away from the patient's real "
       "feelings or concerns.",
       "Abstract language whose role in withdrawing from the therapist or the work is unclear."),
    _w("avoidant_storytelling", "Avoidant storytelling / shifting topic",
       "Stories or topic shifts (often heavy to light) that function to avoid the work or shut the "
       "therapist out; includes talking about others' reactions instead of one's own.",
       "A story or shift that is partly relevant yet avoidant, or possible collusion by the therapist."),
    _w("deferential", "Deferential and appeasing",
       "Overly compliant, submissive agreement ('yes-ing' the therapist) that avoids conflict and hides "
       "what the patient really thinks.",
       "Praise or agreement that may be sincere or may be appeasing."),
    _w("content_affect_split", "Content/affect split",
       "Affect that does not match the content (smiling while describing pain, laughing off a complaint), "
       "weakening the bond or hiding true feelings.",
       "Content and affect seem discrepant but withdrawal from the therapist is uncertain."),
    _w("self_criticism", "Self-criticism / hopelessness",
       "Absorption in self-criticism or hopelessness that shuts the therapist out and closes off the "
       "possibility that therapy can help.",
       "Self-critical or hopeless statements that may still be open, collaborative exploration."),
    _c("complaint_therapist", "Complaint/concern about the therapist",
       "Negative feelings about the therapist: anger, distrust, feeling judged or not understood, doubts "
       "about competence; also polite, 'nice' complaints.",
       "Unclear whether the patient is expressing negative feelings about the therapist."),
    _c("reject_intervention", "Rejects therapist intervention",
       "Patient rejects or dismisses the therapist's interpretation, question or effort to help, attacking "
       "what the therapist brings.",
       "Unclear whether the patient rejects the intervention or is thoughtfully weighing it."),
    _c("complaint_activities", "Complaint/concern about activities",
       "Dissatisfaction or doubts about specific tasks (homework, exercises); not doing homework counts.",
       "Unclear whether the patient is voicing a concern about a therapy activity."),
    _c("complaint_parameters", "Complaint/concern about parameters",
       "Complaints about the frame: schedule, session length or frequency, questionnaires, recording.",
       "Unclear whether scheduling talk is a complaint or collaborative planning."),
    _c("complaint_progress", "Complaint/concern about progress",
       "Complaints or doubts about the progress made or possible in therapy, including wanting to quit.",
       "Unclear whether the patient is voicing doubts about progress."),
    _c("defends_self", "Patient defends self against therapist",
       "Patient justifies their thoughts, feelings or behaviour against perceived criticism or judgment "
       "from the therapist.",
       "Unclear whether the defence is aimed at the therapist; strong defensiveness gets at least this."),
    _c("control_pressure", "Efforts to control/pressure therapist",
       "Patient tries to control the therapist or session, or pressures the therapist to fix things fast; "
       "pushing or provoking.",
       "Unclear whether the patient is pressuring or controlling the therapist."),
    _r("clarify_misunderstanding", "Clarifies a misunderstanding",
       "Therapist responds to a rupture by clarifying a misunderstanding, without exploring it further.",
       "A clarification that may not be a response to a rupture."),
    _r("change_task", "Changes tasks or goals",
       "Therapist changes or modifies the task or goal in response to a rupture.",
       "Unclear whether the change answers a rupture or is simply the next agenda item."),
    _r("illustrate_task", "Illustrates tasks / gives a rationale",
       "Therapist explains, illustrates or reframes a task or goal in response to a rupture.",
       "Unclear whether the explanation answers a rupture or is routine therapy."),
    _r("invite_feelings", "Invites thoughts/feelings about therapist or therapy",
       "Therapist recognises a rupture and invites the patient to explore negative or vulnerable feelings "
       "about the therapist or the therapy.",
       "Acknowledges feelings without clearly inviting them, or their link to therapy is unclear.",
       meta=True),
    _r("acknowledge_contribution", "Acknowledges own contribution",
       "Therapist acknowledges how they contributed (or may contribute) to a rupture.",
       "Unclear whether the therapist is acknowledging a contribution.", meta=True),
    _r("disclose_experience", "Discloses internal experience",
       "In a rupture, therapist discloses their own experience of the patient-therapist interaction.",
       "Only hints at an inner experience, or the link to a rupture is unclear.", meta=True),
    _r("link_therapist_pattern", "Links rupture to patterns with therapist",
       "Therapist links the rupture to recurring patterns between patient and therapist ('we're doing it "
       "again').",
       "Unclear whether a link to patterns in the dyad is being made.", meta=True),
    _r("link_other_relationships", "Links rupture to other relationships",
       "Therapist links the rupture to patterns in the patient's other relationships, in the context of "
       "the rupture.",
       "Unclear whether a link to outside relationships is being made.", meta=True),
    _r("validate_defensive_posture", "Validates defensive posture",
       "Therapist allies with the resistance: conveys that the patient's complaint or withdrawal is "
       "legitimate and understandable.",
       "Validation whose link to a rupture is unclear."),
    _r("redirect_refocus", "Redirects / refocuses",
       "Therapist reins in a withdrawing patient, bringing them back to the task or the present moment.",
       "Unclear whether the redirection answers a rupture or is routine."),
)

_GLOBALS: tuple[GlobalItem, ...] = (
    GlobalItem("overall_withdrawal", "Overall withdrawal", SIGNIFICANCE,
               "Significance of all withdrawal markers as a group."),
    GlobalItem("overall_confrontation", "Overall confrontation", SIGNIFICANCE,
               "Significance of all confrontation markers as a group."),
    GlobalItem("overall_resolution", "Overall resolution", RESOLUTION,
               "How far resolution actually occurred across the session's ruptures; anchor at 3."),
    GlobalItem("therapist_contribution", "Therapist contribution", CONTRIBUTION,
               "How far the therapist caused or exacerbated the ruptures beyond the usual."),
)


@dataclass(frozen=True)
class Codebook:
    """A versioned coding scheme; stored codings record `id` and `version`."""

    id: str
    version: str
    title: str
    codes: tuple[Code, ...]
    global_items: tuple[GlobalItem, ...]
    significance: Scale = SIGNIFICANCE
    _by_key: dict[str, Code] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {c.key: c for c in self.codes})

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.codes)

    def code(self, key: str) -> Code:
        return self._by_key[key]

    def has_code(self, key: str) -> bool:
        return key in self._by_key

    def family(self, family: Family) -> tuple[Code, ...]:
        return tuple(c for c in self.codes if c.family == family)

    @property
    def global_keys(self) -> tuple[str, ...]:
        return tuple(g.key for g in self.global_items)

    def global_item(self, key: str) -> GlobalItem:
        return next(g for g in self.global_items if g.key == key)

    @property
    def rating_items(self) -> tuple[str, ...]:
        """Every valid `item` in a ratings table: each code's significance, then the global items."""
        return self.keys + self.global_keys

    def scale_for(self, item: str) -> Scale:
        return self.global_item(item).scale if item in self.global_keys else self.significance


CODEBOOK_3RS_2015 = Codebook(
    id="3rs",
    version="2015",
    title="Rupture Resolution Rating System (Eubanks, Muran & Safran, 2015)",
    codes=_CODES_2015,
    global_items=_GLOBALS,
)

CODEBOOKS: dict[tuple[str, str], Codebook] = {(CODEBOOK_3RS_2015.id, CODEBOOK_3RS_2015.version): CODEBOOK_3RS_2015}
DEFAULT = CODEBOOK_3RS_2015

CLARITY_ALIASES: dict[str, str] = {
    "check": "check", "✓": "check", "✔": "check",
    "check_minus": "check_minus", "check-minus": "check_minus", "✓-": "check_minus", "✓−": "check_minus",
    "✓–": "check_minus", "✔-": "check_minus", "✔−": "check_minus",
}


def get(codebook_id: str, version: str) -> Codebook:
    """Look a codebook up by the id and version stored with a coding."""
    return CODEBOOKS[(codebook_id, version)]
