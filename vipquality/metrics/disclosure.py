"""Disclosure audit of published sums: which hidden cells can be recomputed exactly from the
published ones, and which further cells to hide so that none can (linear algebra only, no
metric, no file).

Every published cell of a quarter's tables (a segment's NPS, a branch's CES mean, …) is a sum
over *atoms*, the finest groups the tables are built from (clients with the same segments in the
same branch): with ``n`` published, a mean or share gives its sum ``n · value`` away, and a sum
over a group is the sum of its atoms' sums. A hidden cell can be recomputed from what is shown
exactly when its atom-indicator vector is a linear combination of the published cells' vectors,
i.e. lies in their row space (e.g. all clients − premium − private = luxury when the tiers
partition all clients, or a segment's total − its other branches = one branch).

Written here rather than taken from a library: the maintained statistical disclosure control
tools (sdcTable and tau-Argus, R / Java, with no maintained PyPI port; ``sdcMicro`` ports work on
microdata, not on linked tables) solve the cell-suppression problem as an integer programme on
tables declared with explicit hierarchies; here the tables nest in overlapping segments, whose
structure only the atoms state, and a rank test with :func:`numpy.linalg.svd` on a few hundred
atoms per metric and quarter is exact and takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["protect", "recoverable"]

_TOL = 1e-8
_MAX_UNIONS = 4096  # sets of small hidden siblings tried per group


def _basis(published: np.ndarray) -> np.ndarray:
    """An orthonormal basis (rows) of the row space of ``published``."""
    if not len(published):
        return np.zeros((0, published.shape[1]))
    _, s, vt = np.linalg.svd(published, full_matrices=False)
    rank = int((s > _TOL * max(1.0, float(s[0]) if len(s) else 1.0)).sum())
    return vt[:rank]


def _in_span(basis: np.ndarray, targets: np.ndarray) -> np.ndarray:
    targets = np.atleast_2d(np.asarray(targets, dtype=float))
    residual = targets - (targets @ basis.T) @ basis
    scale = np.maximum(1.0, np.linalg.norm(targets, axis=1))
    return np.linalg.norm(residual, axis=1) <= 1e-7 * scale


def recoverable(published: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Which ``targets`` rows are linear combinations of the ``published`` rows.

    Parameters
    ----------
    published : ndarray, shape (p, a)
        The atom-indicator vectors of the published cells (1 where the cell counts the atom).
    targets : ndarray, shape (t, a)
        Vectors of hidden cells (or unions of them) to test.

    Returns
    -------
    ndarray of bool, shape (t,)
        True where the target's sum can be recomputed exactly from the published sums.

    Examples
    --------
    >>> total, a, b = [1, 1, 1], [1, 0, 0], [0, 1, 0]
    >>> recoverable(np.array([total, a, b]), np.array([[0, 0, 1], [1, 1, 0]])).tolist()
    [True, True]
    >>> recoverable(np.array([total, a]), np.array([[0, 0, 1], [0, 1, 0]])).tolist()
    [False, False]
    """
    published = np.asarray(published, dtype=float)
    targets = np.atleast_2d(np.asarray(targets, dtype=float))
    if not len(targets):
        return np.zeros(0, dtype=bool)
    return _in_span(_basis(published.reshape(-1, targets.shape[1])), targets)


def _small_sums(members: np.ndarray, residual: np.ndarray, base: np.ndarray,
                threshold: float) -> np.ndarray | None:
    """The first set of two or more ``members`` (hidden siblings) whose combined ``base`` is
    under ``threshold`` and whose residuals (parts outside the published span) cancel, i.e.
    whose sum is derivable; as a boolean mask over ``members``, or None.

    A set S cancels iff its indicator x lies in the null space N of the residuals (orthonormal
    columns): ‖x − N Nᵀx‖² = |S| − ‖Σ_{i∈S} N_i‖² = 0, so only members with a non-zero row of N
    are tried, and each set costs one small vector sum."""
    if len(members) < 2:
        return None
    values, vectors = np.linalg.eigh(residual @ residual.T)  # a few members: k × k
    null = vectors[:, values <= 1e-9 * max(1.0, float(values.max()))]
    if not null.shape[1]:
        return None  # residuals independent: no combination of them is derivable
    if null.shape[1] == 1:  # one cancelling combination: a set only if its weights are equal
        v = null[:, 0] * np.sign(null[np.argmax(np.abs(null[:, 0])), 0])
        support = np.abs(v) > 1e-6
        equal = np.allclose(v[support], v[support].max(), atol=1e-6)
        if equal and support.sum() > 1 and base[support].sum() < threshold:
            return support
        return None
    order = [i for i in np.argsort(base, kind="stable") if np.linalg.norm(null[i]) > 1e-6]
    tried = 0

    def grow(start: int, chosen: list[int], total: float, acc: np.ndarray):
        nonlocal tried
        for k in range(start, len(order)):
            i = order[k]
            if total + base[i] >= threshold or tried >= _MAX_UNIONS:
                return None  # sorted by base: every later member is at least as large
            tried += 1
            now = acc + null[i]
            if chosen and abs(len(chosen) + 1 - float(now @ now)) <= 1e-6:
                return [*chosen, i]
            found = grow(k + 1, [*chosen, i], total + base[i], now)
            if found is not None:
                return found
        return None

    found = grow(0, [], 0.0, np.zeros(null.shape[1]))
    if found is None:
        return None
    mask = np.zeros(len(members), dtype=bool)
    mask[found] = True
    return mask


def protect(cells: np.ndarray, atom_n: np.ndarray, hidden: np.ndarray, *,
            threshold: float, groups: Sequence[np.ndarray] = (),
            cost: np.ndarray | None = None) -> np.ndarray:
    """The published cells to hide as well so that no hidden cell, and no small sum of hidden
    siblings, can be recomputed from the published ones.

    Parameters
    ----------
    cells : ndarray, shape (c, a)
        Atom-indicator vector of every cell of the tables published together (one metric and
        quarter), hidden or not. Atoms outside every cell need no column.
    atom_n : ndarray, shape (a,)
        Base of each atom (0 for an atom the metric has no observation in).
    hidden : ndarray of bool, shape (c,)
        Cells already hidden (primary suppression and any complement chosen before).
    threshold : float
        The base under which a group is suppressed: a sum of two or more hidden cells of one
        group (``groups``) with a combined base in (0, ``threshold``) must not be derivable
        either (all − premium gives luxury + private when both are hidden and small).
    groups : sequence of int arrays
        Sets of disjoint sibling cells (one family of segments in one branch, the branches of
        one segment) whose hidden members' sums are checked.
    cost : ndarray, shape (c,), optional
        Order in which published cells are chosen to hide, lowest first (default: the base).
        The caller puts the cells it prefers to keep (e.g. all clients) last.

    Returns
    -------
    ndarray of bool, shape (c,)
        The cells to hide in addition to ``hidden``.

    Notes
    -----
    Repeated until the audit is clean: find the first hidden cell (then small sum of hidden
    siblings) whose vector lies in the row space of the published cells; solve for the
    combination that recomputes it (least norm); of the published cells in the combination,
    hide the cheapest that every such combination needs (its row of the left null space is
    zero, so hiding it alone makes the target unrecoverable), else the cheapest. Each round hides
    one cell, so it ends; at worst everything is hidden. Cells without atoms are ignored.

    Examples
    --------
    A total with three parts; one part hidden: hiding another part protects it.

    >>> cells = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    >>> protect(cells, np.array([50, 60, 10]), np.array([False, False, False, True]),
    ...         threshold=30, cost=np.array([1e9, 50, 60, 10])).tolist()
    [False, True, False, False]
    """
    atom_n = np.asarray(atom_n, dtype=float)
    cells = np.asarray(cells, dtype=float) * (atom_n > 0)  # an empty atom adds nothing
    hidden = np.asarray(hidden, dtype=bool).copy()
    start = hidden.copy()
    base = cells @ atom_n
    usable = base > 0
    cost = base if cost is None else np.asarray(cost, dtype=float)
    groups = [np.asarray(g, dtype=int) for g in groups]
    while True:
        published = np.flatnonzero(~hidden & usable)
        if not len(published):
            return hidden & ~start
        # U whole (its columns past the rank span the left null space), V only as far as needed
        u, s, vt = np.linalg.svd(cells[published], full_matrices=len(published) > cells.shape[1])
        rank = int((s > _TOL * max(1.0, float(s[0]))).sum()) if len(s) else 0
        basis = vt[:rank]
        target = _first_leak(basis, cells, base, hidden & usable, groups, threshold)
        if target is None:
            return hidden & ~start
        coef = u[:, :rank] @ ((basis @ target) / s[:rank])
        involved = np.flatnonzero(np.abs(coef) > 1e-9 * max(1.0, float(np.abs(coef).max())))
        involved = involved[np.argsort(cost[published[involved]], kind="stable")]
        needed = np.linalg.norm(u[involved, rank:], axis=1) <= 1e-9
        choice = involved[np.argmax(needed)] if needed.any() else involved[0]
        hidden[published[choice]] = True


def _first_leak(basis: np.ndarray, cells: np.ndarray, base: np.ndarray, hidden: np.ndarray,
                groups: Sequence[np.ndarray], threshold: float) -> np.ndarray | None:
    """The first hidden cell, then small sum of hidden siblings, in the published span."""
    rows = np.flatnonzero(hidden)
    if not len(rows):
        return None
    residual = cells[rows] - (cells[rows] @ basis.T) @ basis
    scale = np.maximum(1.0, np.linalg.norm(cells[rows], axis=1))
    found = np.linalg.norm(residual, axis=1) <= 1e-7 * scale
    if found.any():
        return cells[rows[np.argmax(found)]]
    position = np.full(len(cells), -1)
    position[rows] = np.arange(len(rows))
    for group in groups:
        members = group[hidden[group]]
        if len(members) < 2:
            continue
        mask = _small_sums(members, residual[position[members]], base[members], threshold)
        if mask is not None:
            return cells[members[mask]].sum(axis=0)
    return None
