"""The demo clinic's self-reports: patients' SRS after most sessions, WAI-SR or the rupture items in some dyads.

Synthetic, like the rest of the demo, and drawn with a random stream of its own after the clinic is simulated,
so every coding stays exactly as it was. The forms follow the simulation's latent rupture process (each
session's first coding is the simulated truth; the second coders are noisy copies of it):

- SRS total: a per-dyad level (archetype: escalating dyads fall over therapy, repairing ones rise), lowered by
  confrontation segments in the session (`SRS_CONFRONT` points each, up to four) and by a third as much in
  the next session, barely by withdrawal (`SRS_WITHDRAW`), raised when a rupture was resolved well. Patients
  sit near the ceiling, as on the real SRS, so the 36 cutoff catches the sessions that went badly.
- Rupture items: the chance a patient reports a rupture rises steeply with confrontation and only a little
  with withdrawal (withdrawal is by nature often unreported; Eubanks et al., 2019), plus a per-patient
  tendency to report: so some reported ruptures have no coded marker, and many coded withdrawals go
  unreported (discordance both ways). Tension follows the confrontation, resolution the coders' rating.
  Therapists fill in their own version in half of these dyads.
- WAI-SR: the same latent alliance, on the 1-5 items, bond highest.

Therapy goes on after the coded sessions: in dyads that did not drop out, up to `MAX_UNCODED` more weekly
sessions are self-reported but never coded (coding covered a research protocol's sessions; most clinics code
only some), never later than the clinic's last session date. Patients skip a form now and then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rrrs_core import codebook as cb
from rrrs_core import demo_model as dm

INSTRUMENTS = ("srs", "wai_sr", "rupture_items")
RESPONDENTS = ("patient", "therapist")
SRS_ITEMS = ("relationship", "goals", "approach", "overall")
WAI_ITEMS = tuple(str(i) for i in range(1, 13))
WAI_SUBSCALE = {"task": (1, 2, 10, 12), "bond": (3, 5, 7, 9), "goal": (4, 6, 8, 11)}
WAI_LEVEL = {"task": 3.8, "bond": 4.2, "goal": 3.7}
RUPTURE_ITEMS = ("rupture", "tension", "resolution")
ITEMS = (*SRS_ITEMS, *WAI_ITEMS, *RUPTURE_ITEMS)  # `Reports.item` indexes this
P_RUPTURE_ITEMS, P_WAI = 0.40, 0.25  # share of dyads asked the rupture items / the WAI-SR after each session
P_THERAPIST = 0.5  # of the rupture-items dyads, the share whose therapists fill in their version too
P_FORM = {"srs": 0.86, "wai_sr": 0.80, "rupture_items": 0.85}  # forms filled in per session
SRS_LEVEL, SRS_SPREAD = 38.4, 1.2
ARCH_SHIFT = np.array([[-1.2, 0.8], [0.6, 0.6], [-0.6, -3.6], [-0.4, -0.4]])  # first, last session
SRS_CONFRONT, SRS_WITHDRAW, CARRY = 1.5, 0.2, 0.35
MAX_UNCODED = 6
CONFRONTATION = np.array([c.family == "confrontation" for c in cb.DEFAULT.codes])
WITHDRAWAL = np.array([c.family == "withdrawal" for c in cb.DEFAULT.codes])


@dataclass
class Reports:
    """One row per answer (arrays of equal length), sorted by dyad, session, respondent, instrument."""

    dyad: np.ndarray
    session_number: np.ndarray
    respondent: np.ndarray  # index into RESPONDENTS
    instrument: np.ndarray  # index into INSTRUMENTS
    item: np.ndarray  # index into ITEMS
    value: np.ndarray  # float
    completed_on: np.ndarray  # datetime64[D]


def _latent(sim: dm.Simulation) -> dict[str, np.ndarray]:
    """Per simulated session: confrontation and withdrawal segments, resolution and contribution of its first
    coding (the simulated truth)."""
    n_s, n_c = len(sim.session_dyad), len(sim.coding_session)
    first = np.full(n_s, -1)
    first[sim.coding_session[::-1]] = np.arange(n_c)[::-1]
    own = first[sim.coding_session[sim.mark_coding]] == sim.mark_coding
    segments = {}
    for name, family in (("conf", CONFRONTATION), ("wdr", WITHDRAWAL)):
        m = own & family[sim.mark_code] & ~sim.mark_minus
        seg = np.unique(sim.coding_session[sim.mark_coding[m]] * 64 + sim.mark_segment[m])
        segments[name] = np.bincount(seg // 64, minlength=n_s).astype(float)
    items = list(dm.BOOK.rating_items)
    ratings = sim.ratings[first]
    return {**segments, "res": ratings[:, items.index("overall_resolution")].astype(float),
            "tc": ratings[:, items.index("therapist_contribution")].astype(float)}


def _sessions(sim: dm.Simulation, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The coded sessions, then the uncoded ones after them (weekly, up to the clinic's last session date),
    whose latent process repeats a random one of the dyad's last five coded sessions."""
    lat = _latent(sim)
    n_dyads = len(sim.dyad_archetype)
    n_sess = np.bincount(sim.session_dyad, minlength=n_dyads)
    last = np.cumsum(n_sess) - 1
    dropped_out = sim.dyad_archetype == dm.ARCHETYPES.index("escalating")
    today = sim.session_date.max()
    extra = np.where(dropped_out, 0, rng.integers(0, MAX_UNCODED + 1, n_dyads))
    u_dyad = np.repeat(np.arange(n_dyads), extra)
    k = np.arange(len(u_dyad)) - np.repeat(np.cumsum(extra) - extra, extra) + 1
    u_date = sim.session_date[last[u_dyad]] + (7 * k).astype("timedelta64[D]")
    keep = u_date <= today
    u_dyad, k, u_date = u_dyad[keep], k[keep], u_date[keep]
    like = last[u_dyad] - rng.integers(0, np.minimum(5, n_sess[u_dyad]))
    dyad = np.concatenate([sim.session_dyad, u_dyad])
    number = np.concatenate([sim.session_number, n_sess[u_dyad] + k])
    order = np.lexsort((number, dyad))
    out = {"dyad": dyad, "number": number, "date": np.concatenate([sim.session_date, u_date]),
           "coded": np.concatenate([np.ones(len(sim.session_dyad), bool), np.zeros(len(u_dyad), bool)])}
    out |= {name: np.concatenate([v, v[like]]) for name, v in lat.items()}
    return {name: v[order] for name, v in out.items()}


def _alliance(s: dict[str, np.ndarray], sim: dm.Simulation, rng: np.random.Generator) -> np.ndarray:
    """The patient's latent SRS total per session (before the items' own noise)."""
    dyad, n_dyads = s["dyad"], len(sim.dyad_archetype)
    n_total = np.bincount(dyad, minlength=n_dyads)
    t = (s["number"] - 1) / np.maximum(n_total[dyad] - 1, 1)
    arch = sim.dyad_archetype[dyad]
    shift = ARCH_SHIFT[arch, 0] + (ARCH_SHIFT[arch, 1] - ARCH_SHIFT[arch, 0]) * t
    hit = SRS_CONFRONT * np.minimum(s["conf"], 4) + SRS_WITHDRAW * np.minimum(s["wdr"], 4)
    previous = np.concatenate([[0.0], hit[:-1]]) * (np.concatenate([[False], dyad[1:] == dyad[:-1]]))
    ruptured = (s["conf"] + s["wdr"]) > 0
    return (SRS_LEVEL + rng.normal(0, SRS_SPREAD, n_dyads)[dyad] + shift - hit - CARRY * previous
            + np.where(ruptured, 0.5 * (s["res"] - 3), 0.0) - 0.7 * (s["tc"] >= 4) + rng.normal(0, 0.9, len(dyad)))


def simulate(sim: dm.Simulation, seed: int) -> Reports:
    rng = np.random.default_rng([seed, 18])
    s = _sessions(sim, rng)
    n_dyads, n = len(sim.dyad_archetype), len(s["dyad"])
    dyad = s["dyad"]
    kind = rng.random(n_dyads)
    ruptures_asked, wai_asked = kind < P_RUPTURE_ITEMS, (kind >= P_RUPTURE_ITEMS) & (kind < P_RUPTURE_ITEMS + P_WAI)
    therapist_too = ruptures_asked & (rng.random(n_dyads) < P_THERAPIST)
    alliance = _alliance(s, sim, rng)
    rows: list[tuple[np.ndarray, ...]] = []

    def add(sess: np.ndarray, respondent: int, instrument: int, items: tuple[str, ...], values: np.ndarray) -> None:
        """values: (len(sess), len(items)); NaN = item left out."""
        r, c = np.nonzero(~np.isnan(values))
        rows.append((sess[r], np.full(len(r), respondent), np.full(len(r), instrument),
                     np.array([ITEMS.index(i) for i in items])[c], values[r, c]))

    srs = np.flatnonzero(rng.random(n) < P_FORM["srs"])
    items = np.clip(alliance[srs, None] / 4 + rng.normal(0, 0.35, (len(srs), 4)), 0, 10)
    add(srs, 0, 0, SRS_ITEMS, np.round(items, 1))

    wai = np.flatnonzero(wai_asked[dyad] & (rng.random(n) < P_FORM["wai_sr"]))
    z = (alliance[wai] - SRS_LEVEL) / 2.5
    level = np.array([WAI_LEVEL[next(k for k, v in WAI_SUBSCALE.items() if i in v)] for i in range(1, 13)])
    add(wai, 0, 1, WAI_ITEMS, np.clip(np.rint(level + 0.7 * z[:, None] + rng.normal(0, 0.55, (len(wai), 12))), 1, 5))

    tendency = rng.normal(0, 0.7, n_dyads)
    for respondent, asked, base, w_weight in ((0, ruptures_asked, -2.3, 0.25), (1, therapist_too, -1.9, 0.55)):
        sess = np.flatnonzero(asked[dyad] & (rng.random(n) < P_FORM["rupture_items"]))
        conf, wdr = np.minimum(s["conf"][sess], 3), np.minimum(s["wdr"][sess], 3)
        logit = base + 1.5 * conf + w_weight * wdr + tendency[dyad[sess]] * (respondent == 0)
        said = rng.random(len(sess)) < 1 / (1 + np.exp(-logit))
        tension = np.clip(np.rint(1.6 + 0.8 * conf + 0.2 * wdr + rng.normal(0, 0.7, len(sess))), 1, 5)
        resolved = np.clip(np.rint(np.where(conf + wdr > 0, s["res"][sess], 3.5) + rng.normal(0, 0.8, len(sess))),
                           1, 5)
        values = np.column_stack([said.astype(float), np.where(said, tension, np.nan), np.where(said, resolved, np.nan)])
        add(sess, respondent, 2, RUPTURE_ITEMS, values)

    sess, respondent, instrument, item, value = (np.concatenate(parts) for parts in zip(*rows, strict=True))
    order = np.lexsort((np.arange(len(sess)), instrument, respondent, sess))
    sess = sess[order]
    return Reports(dyad[sess], s["number"][sess], respondent[order], instrument[order], item[order], value[order],
                   s["date"][sess])
