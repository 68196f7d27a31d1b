"""Clinical simulation behind the synthetic demo clinic: staff, dyads, sessions, 3RS marks and ratings.

Vectorised over sessions, segments and marks (numpy, no Python loop per dyad or mark), so 5,000 dyads
(~100,000 sessions) take a second or two. The clinical story sits in the small per-archetype tables below
(value at the first session, value at the last), so it can be tuned without touching the mechanics:
repairing dyads rupture early and resolve, stable ones barely rupture, escalating ones rupture more and
more (mostly confrontation), stay unresolved and drop out early, mixed ones vary from session to session.
Code lists always come from the codebook; only family-level behaviour is parameterised here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rrrs_core import codebook as cb

BOOK = cb.CODEBOOK_3RS_2015
ARCHETYPES = ("repairing", "stable", "escalating", "mixed")
ARCHETYPE_P = np.array([0.35, 0.30, 0.15, 0.20])
TREATMENTS = ("CBT", "Psychodynamic", "AFT", "ISTDP")
TREATMENT_P = np.array([0.40, 0.30, 0.15, 0.15])
META_PREFERENCE = np.array([0.5, 1.2, 2.5, 1.6])  # weight of metacommunicative strategies per treatment
N_CODERS = 6
FIRST_MONDAY = np.datetime64("2023-01-02")

# Per archetype (rows in ARCHETYPES order): [first session, last session], interpolated over therapy.
P_WITHDRAWAL = np.array([[0.22, 0.10], [0.06, 0.06], [0.12, 0.18], [0.13, 0.13]])  # per segment
P_CONFRONT = np.array([[0.07, 0.03], [0.012, 0.012], [0.05, 0.26], [0.05, 0.05]])  # per segment
P_QUIET = np.array([[0.05, 0.15], [0.30, 0.30], [0.03, 0.00], [0.10, 0.10]])  # session has no rupture
P_STRATEGY = np.array([[0.45, 0.65], [0.35, 0.35], [0.15, 0.08], [0.30, 0.30]])  # per rupture segment
SEVERITY = np.array([[0.4, 0.0], [-0.3, -0.3], [0.2, 1.0], [0.2, 0.2]])  # pushes significance up
RESOLVED = np.array([[2.6, 5.0], [3.3, 3.3], [2.1, 1.2], [3.0, 3.0]])  # overall_resolution latent
P_HIGH_CONTRIBUTION = np.array([[0.02, 0.0], [0.005, 0.005], [0.08, 0.45], [0.02, 0.02]])

_FAMILY = np.array([cb.FAMILIES.index(c.family) for c in BOOK.codes])
W_IDX, C_IDX, R_IDX = (np.flatnonzero(np.equal(_FAMILY, f)) for f in range(len(cb.FAMILIES)))
_IS_RUPTURE = np.isin(_FAMILY, [cb.FAMILIES.index(f) for f in cb.RUPTURE_FAMILIES])
_META = np.array([c.metacommunicative for c in BOOK.codes])[R_IDX]
N_CODES, N_ITEMS = len(BOOK.codes), len(BOOK.rating_items)
_BONUS = {"withdrawal": 0.0, "confrontation": 0.9, "resolution": 0.2}  # confrontation weighs more
_FAMILY_BONUS = np.array([_BONUS[c.family] for c in BOOK.codes])


@dataclass
class Simulation:
    """Arrays of the simulated clinic; `demo.py` turns them into the 3RS tables."""

    supervisor: np.ndarray  # per therapist: index of supervisor or -1
    trainee: np.ndarray  # per therapist
    dyad_therapist: np.ndarray
    dyad_treatment: np.ndarray
    dyad_archetype: np.ndarray
    session_dyad: np.ndarray  # sessions ordered by dyad, then session number
    session_number: np.ndarray
    session_date: np.ndarray  # datetime64[D]
    n_segments: np.ndarray
    coding_session: np.ndarray  # codings ordered by session, then coder
    coding_coder: np.ndarray  # 0-based coder number
    mark_coding: np.ndarray  # marks ordered by coding, segment, code
    mark_segment: np.ndarray
    mark_code: np.ndarray  # index into BOOK.codes
    mark_minus: np.ndarray  # clarity check_minus
    ratings: np.ndarray  # (n_codings, N_ITEMS) in BOOK.rating_items order
    pending: np.ndarray  # per coding: ratings not yet entered


def _lerp(table: np.ndarray, arch: np.ndarray, t: np.ndarray) -> np.ndarray:
    return table[arch, 0] + (table[arch, 1] - table[arch, 0]) * t


def _pick(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of `weights` (rows need not sum to 1)."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), weights.shape[1] - 1)


def _group_cumsum(values: np.ndarray, group_start: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group (rows sorted by group)."""
    cs = np.cumsum(values)
    return cs - (cs[group_start] - values[group_start])[group]


def _quota(p: np.ndarray, n: int) -> np.ndarray:
    """Counts proportional to `p` summing to `n` (largest remainder), so even small clinics get the mix."""
    counts = np.floor(p * n).astype(np.int64)
    counts[np.argsort(counts - p * n, kind="stable")[: n - counts.sum()]] += 1
    return counts


def _staff(n_dyads: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """About four dyads per therapist, one supervisor per six therapists, half the rest trainees."""
    n_t = max(3, round(n_dyads / 4))
    n_sup = max(2, round(n_t / 6))
    n_trainee = (n_t - n_sup + 1) // 2
    role = rng.permutation(np.repeat([0, 1, 2], [n_sup, n_trainee, n_t - n_sup - n_trainee]))
    supervisors = np.flatnonzero(role == 0)
    supervised = (role == 1) | ((role == 2) & (rng.random(n_t) < 0.5))
    supervisor = np.full(n_t, -1)
    supervisor[supervised] = supervisors[rng.permutation(np.arange(supervised.sum()) % n_sup)]  # spread evenly
    skill = np.array([1.2, 0.85, 1.0])[role] * rng.uniform(0.85, 1.15, n_t)
    return supervisor, role == 1, skill


def simulate(n_dyads: int, rng: np.random.Generator) -> Simulation:
    """Simulate a clinic of `n_dyads` dyads (about 20 weekly sessions each)."""
    if n_dyads < 1:
        raise ValueError("n_dyads must be at least 1")
    supervisor, trainee, skill = _staff(n_dyads, rng)
    n_t = len(trainee)
    d_ther = rng.permutation(np.arange(n_dyads) % n_t)
    own_treatment = rng.choice(len(TREATMENTS), n_t, p=TREATMENT_P)
    d_treat = np.where(rng.random(n_dyads) < 0.8, own_treatment[d_ther], rng.choice(len(TREATMENTS), n_dyads))
    d_arch = rng.permutation(np.repeat(np.arange(len(ARCHETYPES)), _quota(ARCHETYPE_P, n_dyads)))
    escalating = d_arch == ARCHETYPES.index("escalating")
    n_sess = np.where(escalating, rng.integers(8, 16, n_dyads), rng.integers(13, 31, n_dyads))  # dropout
    d_skill = skill[d_ther] * rng.uniform(0.9, 1.1, n_dyads)

    # sessions: weekly, occasionally a week or two skipped
    s_dyad = np.repeat(np.arange(n_dyads), n_sess)
    n_s = len(s_dyad)
    d_first = np.cumsum(n_sess) - n_sess
    s_num = np.arange(n_s) - d_first[s_dyad] + 1
    gap = np.where(s_num == 1, 0, 1 + (rng.random(n_s) < 0.08) + (rng.random(n_s) < 0.02))
    day0 = rng.integers(0, 105, n_dyads) * 7 + rng.integers(0, 5, n_dyads)
    s_date = FIRST_MONDAY + (day0[s_dyad] + 7 * _group_cumsum(gap, d_first, s_dyad)).astype("timedelta64[D]")
    n_seg = np.where(rng.random(n_s) < np.where(rng.random(n_dyads) < 0.6, 0.9, 0.15)[s_dyad], 10, 9)
    t = (s_num - 1) / np.maximum(n_sess[s_dyad] - 1, 1)
    p = _lerp_all(d_arch[s_dyad], t)

    # codings: one coder per session (usually the dyad's regular coder), a second one on ~20%
    coder1 = np.where(rng.random(n_s) < 0.7, rng.integers(0, N_CODERS, n_dyads)[s_dyad],
                      rng.integers(0, N_CODERS, n_s))
    doubled = np.flatnonzero(rng.random(n_s) < 0.2)
    coder2 = (coder1[doubled] + rng.integers(1, N_CODERS, len(doubled))) % N_CODERS
    c_sess = np.concatenate([np.arange(n_s), doubled])
    c_coder = np.concatenate([coder1, coder2])
    order = np.lexsort((c_coder, c_sess))
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    first_coding, second_coding = position[:n_s], np.full(n_s, -1)
    second_coding[doubled] = position[n_s:]

    m_sess, m_seg, m_code, m_minus = _first_coder_marks(rng, p, d_treat, d_skill, s_dyad, n_seg)
    marks = _with_second_coder(rng, first_coding[m_sess], second_coding[m_sess], m_seg, m_code, m_minus,
                               second_coding[doubled], n_seg[doubled], len(order))
    is_second = np.zeros(len(order), bool)
    is_second[position[n_s:]] = True
    c_sess = c_sess[order]
    ratings = _ratings(rng, marks, c_sess, is_second, p, d_skill[s_dyad], trainee[d_ther][s_dyad])
    last = (s_num == n_sess[s_dyad]) & (rng.random(n_dyads) < 0.25)[s_dyad]
    pending = last[c_sess] | (rng.random(len(c_sess)) < 0.008)
    return Simulation(supervisor, trainee, d_ther, d_treat, d_arch, s_dyad, s_num, s_date, n_seg,
                      c_sess, c_coder[order], *marks, ratings, pending)


def _lerp_all(arch: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
    """Per-session values of every archetype table at that point in therapy."""
    tables = {"w": P_WITHDRAWAL, "c": P_CONFRONT, "quiet": P_QUIET, "strategy": P_STRATEGY,
              "severity": SEVERITY, "resolved": RESOLVED, "high_tc": P_HIGH_CONTRIBUTION}
    return {name: _lerp(table, arch, t) for name, table in tables.items()}


def _first_coder_marks(rng: np.random.Generator, p: dict[str, np.ndarray], d_treat: np.ndarray,
                       d_skill: np.ndarray, s_dyad: np.ndarray, n_seg: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rupture markers per segment, then resolution strategies only once a rupture has occurred.

    Returns (session, segment, code, check_minus) sorted by session, segment, code.
    """
    n_s, n_dyads = len(s_dyad), len(d_treat)
    quiet = rng.random(n_s) < p["quiet"]
    heat = np.where(quiet, 0.0, rng.gamma(2.0, 0.5, n_s) * rng.gamma(4.0, 0.25, n_dyads)[s_dyad])
    g_sess = np.repeat(np.arange(n_s), n_seg)
    s_first = np.cumsum(n_seg) - n_seg
    g_dyad = s_dyad[g_sess]
    w_ev = rng.random(len(g_sess)) < (p["w"] * heat)[g_sess]
    c_ev = rng.random(len(g_sess)) < (p["c"] * heat)[g_sess]
    rupture = w_ev | c_ev
    eligible = _group_cumsum(rupture.astype(np.int64), s_first, g_sess) > 0  # a rupture so far this session
    p_strategy = (p["strategy"] * d_skill[s_dyad])[g_sess] * np.where(rupture, 1.0, 0.35)
    r_ev = eligible & (rng.random(len(g_sess)) < p_strategy)
    meta = np.where(_META, META_PREFERENCE[d_treat][:, None], 1.0)
    rows, codes = [], []
    for events, idx, weights, p_two in (
        (w_ev, W_IDX, rng.dirichlet(np.full(len(W_IDX), 0.7), n_dyads), 0.25),  # each patient's habits
        (c_ev, C_IDX, rng.dirichlet(np.full(len(C_IDX), 0.7), n_dyads), 0.20),
        (r_ev, R_IDX, rng.dirichlet(np.full(len(R_IDX), 2.0), n_dyads) * meta, 0.30),
    ):
        ev = np.flatnonzero(events)
        ev = np.concatenate([ev, ev[rng.random(len(ev)) < p_two]])  # co-occurring markers/strategies
        rows.append(ev)
        codes.append(idx[_pick(weights[g_dyad[ev]], rng)])
    key = np.unique(np.concatenate(rows) * N_CODES + np.concatenate(codes))
    row, code = key // N_CODES, key % N_CODES
    minus = rng.random(len(key)) < np.where(_IS_RUPTURE[code], 0.22, 0.28)
    sess = g_sess[row]
    return sess, row - s_first[sess] + 1, code, minus


def _with_second_coder(rng: np.random.Generator, coding1: np.ndarray, coding2: np.ndarray, seg: np.ndarray,
                       code: np.ndarray, minus: np.ndarray, doubled_coding: np.ndarray,
                       doubled_n_seg: np.ndarray, n_codings: int) -> tuple[np.ndarray, ...]:
    """Add the second coders' marks: the first coding with ~12% of marks dropped, ~10% re-graded, and an
    extra (usually unclear) rupture marker in about a third of sessions. Returns marks sorted by coding."""
    copy = (coding2 >= 0) & (rng.random(len(seg)) >= 0.12)
    n_extra = len(doubled_coding)
    extra = rng.random(n_extra) < 0.35
    extra_code = np.where(rng.random(n_extra) < 0.75, rng.choice(W_IDX, n_extra), rng.choice(C_IDX, n_extra))
    coding = np.concatenate([coding1, coding2[copy], doubled_coding[extra]])
    seg = np.concatenate([seg, seg[copy], (rng.random(n_extra) * doubled_n_seg).astype(np.int64)[extra] + 1])
    code = np.concatenate([code, code[copy], extra_code[extra]])
    minus = np.concatenate([minus, minus[copy] ^ (rng.random(copy.sum()) < 0.1),
                            (rng.random(n_extra) < 0.6)[extra]])
    rupture = _IS_RUPTURE[code]
    first_rupture = np.full(n_codings, 1 << 20)
    np.minimum.at(first_rupture, coding[rupture], seg[rupture])
    # a strategy needs a rupture at or before its segment; a second coder's dropped rupture can strand one
    keep = np.flatnonzero(rupture | (seg >= first_rupture[coding]))
    key, first = np.unique((coding[keep] * 64 + seg[keep]) * N_CODES + code[keep], return_index=True)
    return key // N_CODES // 64, key // N_CODES % 64, key % N_CODES, minus[keep][first]


def _ratings(rng: np.random.Generator, marks: tuple[np.ndarray, ...], c_sess: np.ndarray, is_second: np.ndarray,
             p: dict[str, np.ndarray], skill: np.ndarray, trainee: np.ndarray) -> np.ndarray:
    """Significance and global ratings consistent with each coding's marks.

    Random draws are per session, so two coders of one session differ mainly where their marks differ,
    plus a little coder noise (the second coder's draws are jittered).
    """
    coding, _, code, minus = marks
    n_c, n_s = len(c_sess), len(skill)
    flat = coding * N_CODES + code
    n = np.bincount(flat, minlength=n_c * N_CODES).reshape(n_c, N_CODES)
    checks = np.bincount(flat, weights=~minus, minlength=n_c * N_CODES).reshape(n_c, N_CODES)
    z = rng.normal(size=(n_s, N_ITEMS))[c_sess] + is_second[:, None] * rng.normal(0, 0.35, (n_c, N_ITEMS))
    u = rng.random((n_s, 4))[c_sess]
    u = np.where(is_second[:, None] & (rng.random((n_c, 4)) < 0.15), rng.random((n_c, 4)), u)
    sev, resolved = p["severity"][c_sess], p["resolved"][c_sess] + 0.5 * (skill[c_sess] - 1)
    push = np.where(_IS_RUPTURE, sev[:, None], 0.4 * (resolved[:, None] - 3))
    latent = 1.3 + 0.5 * np.minimum(n, 4) + _FAMILY_BONUS + push + 0.55 * z[:, :N_CODES]
    sig = np.where(n > 0, np.clip(np.rint(latent), 2, 5), 1)
    sig = np.where((n > 0) & (checks == 0), np.minimum(sig, 3), sig)  # only unclear (check-minus) marks

    def overall(idx: np.ndarray) -> np.ndarray:
        several = ((n[:, idx] > 0).sum(axis=1) >= 3) & (u[:, 0] < 0.5)
        return np.minimum(sig[:, idx].max(axis=1) + several, 5)

    ow, oc = overall(W_IDX), overall(C_IDX)
    ruptured = n[:, np.concatenate([W_IDX, C_IDX])].sum(axis=1) > 0
    strategies = n[:, R_IDX].sum(axis=1) > 0
    res = np.clip(np.rint(resolved + np.where(strategies, 0.3, -0.7) + 0.5 * z[:, -2]), 1, 5)
    res = np.where(np.maximum(ow, oc) <= 2, np.clip(res, 2, 4), res)  # 1 and 5 need more than minor ruptures
    high = u[:, 3] < p["high_tc"][c_sess] * np.where(trainee[c_sess], 1.4, 1.0)
    tc = np.where(high, 4 + (z[:, -1] > 0.4), np.where(u[:, 2] < 0.08, 3, 1 + (u[:, 1] < 0.3)))
    overall_items = {"overall_withdrawal": ow, "overall_confrontation": oc,
                     "overall_resolution": np.where(ruptured, res, 3),  # anchor 3 when nothing ruptured
                     "therapist_contribution": np.where(ruptured, tc, 1)}
    return np.column_stack([sig, *(overall_items[k] for k in BOOK.global_keys)]).astype(np.int64)
