"""The demo clinic's reliability story: a calibration set with a master coder's reference codings, and a
coder who drifts away from the others over time.

Everything here is added after the clinic is simulated, with a random stream of its own, and only as new
codings appended after every simulated one: the simulated codings, their order and so every session's
primary coding (the earliest; the demo marks no consensus) stay exactly as they were.

- Calibration: `N_CALIBRATION` sessions from quiet to heavily ruptured, each from a different dyad and
  coded once so far, are
  coded by every other coder and by the master coder `MASTER`. Everyone's coding is a noisy copy of the
  session's first coding (the master's a little less noisy); a verified synthetic import marks the master's
  codings as the references (`importing.load`).
- Drift: `DRIFTER` second-codes about `DRIFT_SHARE` of the single-coded sessions (at most
  `DRIFT_MAX`), and the share of the
  first coder's rupture markers they miss grows steadily from the usual 12% to 75% by the last session date,
  so their agreement falls quarter by quarter.

Marks keep the simulation's rules (a strategy only at or after a rupture in the coding); ratings come from
`demo_model._ratings`, so they are consistent with each new coding's marks.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rrrs_core import demo_model as dm

MASTER = "M1"  # coder index N_CODERS in the demo's coder names
N_CALIBRATION = 10
DRIFTER = dm.N_CODERS - 1  # C6
DRIFT_SHARE = 0.15
DRIFT_MAX = 400  # sessions: ~40 a quarter over the demo's ten quarters, at any clinic size
BASE_DROP, LATE_DROP, MASTER_DROP = 0.12, 0.75, 0.05


def extend(sim: dm.Simulation, seed: int) -> dm.Simulation:
    """The simulated clinic with the calibration set and the drifting coder's codings appended."""
    rng = np.random.default_rng([seed, 16])
    n_c = len(sim.coding_session)
    per_session = np.bincount(sim.coding_session, minlength=len(sim.session_dyad))
    first = np.full(len(sim.session_dyad), -1)
    first[sim.coding_session[::-1]] = np.arange(n_c)[::-1]  # codings are ordered by session: the first one
    ruptures = np.bincount(sim.mark_coding[dm._IS_RUPTURE[sim.mark_code] & ~sim.mark_minus], minlength=n_c)
    eligible = np.flatnonzero((per_session == 1) & ~sim.pending[first])
    eligible = rng.permutation(eligible)
    eligible = eligible[np.unique(sim.session_dyad[eligible], return_index=True)[1]]  # one per dyad
    # spread over the range of rupture counts (quiet to heavy), so the set has the variance an ICC needs
    eligible = eligible[np.lexsort((rng.random(len(eligible)), ruptures[first[eligible]]))]
    picks = np.unique(np.linspace(0, len(eligible) - 1, min(N_CALIBRATION, len(eligible))).round().astype(int))
    calibration = np.sort(eligible[picks])

    coders = np.arange(dm.N_CODERS + 1)  # the six coders and the master
    cal_sess = np.repeat(calibration, len(coders))
    cal_coder = np.tile(coders, len(calibration))
    keep = cal_coder != sim.coding_coder[first[cal_sess]]
    cal_sess, cal_coder = cal_sess[keep], cal_coder[keep]
    cal_drop = np.where(cal_coder == dm.N_CODERS, MASTER_DROP, BASE_DROP)

    coded_by_drifter = np.zeros(len(sim.session_dyad), bool)
    coded_by_drifter[sim.coding_session[sim.coding_coder == DRIFTER]] = True
    pool = np.setdiff1d(np.flatnonzero(~coded_by_drifter & (per_session == 1)), calibration)
    drift_sess = np.sort(pool[rng.random(len(pool)) < DRIFT_SHARE])
    if len(drift_sess) > DRIFT_MAX:  # a big clinic: enough for a quarterly line, not a third more double-coding
        drift_sess = np.sort(rng.choice(drift_sess, DRIFT_MAX, replace=False))
    day = (sim.session_date - sim.session_date.min()).astype(np.int64)
    late = day[drift_sess] / max(int(day.max()), 1)
    drift_drop = BASE_DROP + (LATE_DROP - BASE_DROP) * late

    new_sess = np.concatenate([cal_sess, drift_sess])
    new_coder = np.concatenate([cal_coder, np.full(len(drift_sess), DRIFTER)])
    drop = np.concatenate([cal_drop, drift_drop])
    marks = _noisy_copies(rng, sim, first[new_sess], drop, sim.n_segments[new_sess])
    ratings = _ratings_for(rng, sim, marks, new_sess)
    coding = np.concatenate([sim.mark_coding, marks[0] + n_c])
    order = np.lexsort((np.concatenate([sim.mark_code, marks[2]]), np.concatenate([sim.mark_segment, marks[1]]),
                        coding))
    return replace(
        sim,
        coding_session=np.concatenate([sim.coding_session, new_sess]),
        coding_coder=np.concatenate([sim.coding_coder, new_coder]),
        mark_coding=coding[order],
        mark_segment=np.concatenate([sim.mark_segment, marks[1]])[order],
        mark_code=np.concatenate([sim.mark_code, marks[2]])[order],
        mark_minus=np.concatenate([sim.mark_minus, marks[3]])[order],
        ratings=np.concatenate([sim.ratings, ratings]),
        pending=np.concatenate([sim.pending, np.zeros(len(new_sess), bool)]),
    )


def _noisy_copies(rng: np.random.Generator, sim: dm.Simulation, source: np.ndarray, drop: np.ndarray,
                  n_seg: np.ndarray) -> tuple[np.ndarray, ...]:
    """For new coding j, a copy of coding `source[j]`'s marks: each segment's rupture markers dropped together
    with `drop[j]`, others
    with the base rate, ~10% re-graded, an extra (usually unclear) rupture marker in about a third; then a
    strategy is kept only at or after the copy's first rupture. Returns (coding j, segment, code, minus)."""
    start = np.searchsorted(sim.mark_coding, source, "left")
    count = np.searchsorted(sim.mark_coding, source, "right") - start
    owner = np.repeat(np.arange(len(source)), count)
    idx = np.repeat(start - np.cumsum(count) + count, count) + np.arange(count.sum())
    code = sim.mark_code[idx]
    # rupture markers go by segment (a coder who stops seeing a rupture misses all its markers there)
    _, seg_of = np.unique(owner * 64 + sim.mark_segment[idx], return_inverse=True)
    u = np.where(dm._IS_RUPTURE[code], rng.random(seg_of.max() + 1 if len(seg_of) else 0)[seg_of],
                 rng.random(len(idx)))
    kept = u >= np.where(dm._IS_RUPTURE[code], drop[owner], BASE_DROP)
    owner, idx, code = owner[kept], idx[kept], code[kept]
    minus = sim.mark_minus[idx] ^ (rng.random(len(idx)) < 0.1)
    extra = np.flatnonzero(rng.random(len(source)) < 0.35)
    extra_code = np.where(rng.random(len(extra)) < 0.75, rng.choice(dm.W_IDX, len(extra)),
                          rng.choice(dm.C_IDX, len(extra)))
    owner = np.concatenate([owner, extra])
    seg = np.concatenate([sim.mark_segment[idx], (rng.random(len(extra)) * n_seg[extra]).astype(np.int64) + 1])
    code = np.concatenate([code, extra_code])
    minus = np.concatenate([minus, rng.random(len(extra)) < 0.6])
    rupture = dm._IS_RUPTURE[code]
    first_rupture = np.full(len(source), 1 << 20)
    np.minimum.at(first_rupture, owner[rupture], seg[rupture])
    keep = np.flatnonzero(rupture | (seg >= first_rupture[owner]))
    key, at = np.unique((owner[keep] * 64 + seg[keep]) * dm.N_CODES + code[keep], return_index=True)
    return key // dm.N_CODES // 64, key // dm.N_CODES % 64, key % dm.N_CODES, minus[keep][at]


def _ratings_for(rng: np.random.Generator, sim: dm.Simulation, marks: tuple[np.ndarray, ...],
                 sessions: np.ndarray) -> np.ndarray:
    """Ratings of the new codings from their own marks (`demo_model._ratings`), one session each."""
    n_sess = np.bincount(sim.session_dyad)
    s_dyad = sim.session_dyad[sessions]
    t = (sim.session_number[sessions] - 1) / np.maximum(n_sess[s_dyad] - 1, 1)
    p = dm._lerp_all(sim.dyad_archetype[s_dyad], t)
    trainee = sim.trainee[sim.dyad_therapist[s_dyad]]
    local = np.arange(len(sessions))
    return dm._ratings(rng, marks, local, np.ones(len(sessions), bool), p, np.ones(len(sessions)), trainee)
