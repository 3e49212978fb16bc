"""The workspace's stored quarters summarised: :func:`summarise_workspace` reads the store and
hands the frames to :func:`vipquality.metrics.summarise.summarise`."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from vipquality.config import Quarter
from vipquality.errors import DataError
from vipquality.metrics.summarise import summarise, summarise_stats

__all__ = ["summarise_workspace"]


def summarise_workspace(workspace, quarters: Sequence[str] | None = None,
                        by: Sequence[str] = ("quarter", "segment"), *,
                        engine: str = "duckdb",
                        memberships: pd.DataFrame | None = None,
                        split: Sequence[str] = (), store: str | None = None,
                        segments: Sequence[str] | None = None,
                        weighted: bool | None = None) -> pd.DataFrame:
    """:func:`~vipquality.metrics.summarise.summarise` over the canonical store of
    ``workspace`` with its own settings.

    Parameters
    ----------
    workspace : vipquality.config.Workspace
        A loaded workspace; its instrument gives the scales, attributes and CSI weights, its
        ``reporting`` block the confidence, base thresholds and adjustment.
    quarters : sequence of str, optional
        Quarters to report (default: all in the store). The quarter before the first one is
        read too, when the workspace has it, so that the first quarter shows its change; its
        rows are not returned.
    by : sequence of str
        Grouping columns. ``segment`` comes from the memberships; other columns that the
        responses lack (e.g. ``branch``, ``manager_id``, ``tier``) are taken from the clients
        table as of each quarter. Compliance is included when the visits carry every grouping
        column (visit ``segment`` is the scenario segment the shopper played).
    memberships : DataFrame, optional
        ``quarter, client_id, segment`` to group the responses by instead of the stored
        memberships (the disclosure atoms of :mod:`vipquality.data.atoms`).
    split : sequence of str, optional
        Grouping columns whose cells list several values separated by ``;`` (a CRM's
        ``products``): a response counts once under each value, as under each of its client's
        segments. Compliance is then left out (a visit has no such column).
    store : str, optional
        With ``engine="spark"``: the store's folder or URL (``s3a://bucket/vq/store``) that
        Spark reads itself (:func:`vipquality.data.store.spark.spark_store_stats`): the
        quarter and segment filters go into the scans, the memberships and clients are joined
        in Spark, and only the group statistics reach this process. Not with ``memberships``
        or ``split``.
    segments : sequence of str, optional
        With ``segment`` in ``by``: only these segments (default all).
    weighted : bool, optional
        ``False``: the answers unweighted (design weights only) even when workspace.yaml
        ``weighting`` is on; default: as the workspace says (:func:`vipquality.data.store.
        load_responses`).

    Examples
    --------
    >>> ws = load_workspace("surveys")                                   # doctest: +SKIP
    >>> summarise_workspace(ws, ["2026Q3"], by=["quarter", "tier", "products"],
    ...                     split=["products"])                         # doctest: +SKIP
    """
    if weighted is False and workspace.weighting.enabled:  # the unweighted figures, on request
        import dataclasses

        workspace = dataclasses.replace(
            workspace, weighting=dataclasses.replace(workspace.weighting, enabled=False))
    store_url, by = store, list(by)  # the argument, before ``store`` names the module
    from vipquality.data import store
    wanted = None if quarters is None else [str(q) for q in quarters]
    load = wanted
    if wanted and "quarter" in by:
        first = min(wanted)
        before = str(Quarter.parse(first).previous())
        if before in set(workspace.quarters()) and before not in wanted:
            load = [before, *wanted]

    inst, rep = workspace.instrument, workspace.reporting
    if store_url is not None:
        if engine != "spark" or memberships is not None or split:
            raise ValueError("store= is read by Spark: it needs engine='spark' and neither "
                             "memberships= nor split=")
        from vipquality.data.store.spark import spark_store_stats

        stats = spark_store_stats(workspace, store_url, load, by, segments=segments)
        table = summarise_stats(
            stats, ces_scale=tuple(inst.ces.scale) if inst.ces is not None else None,
            csi_scale=tuple(inst.csi_scale), csi_weights=inst.csi_weights,
            confidence=rep.confidence, base_suppress=rep.base_suppress,
            base_small=rep.base_small, adjustment=rep.adjustment)
        return _only(table, wanted, by)

    responses = store.load_responses(workspace, quarters=load)
    if "segment" in by and "segment" not in responses.columns and memberships is None:
        memberships = store.load_memberships(workspace, quarters=load)
        if segments is not None:
            memberships = memberships[memberships["segment"].isin([str(x) for x in segments])]
    from_clients = [c for c in by if c not in responses.columns and c != "segment"]
    if from_clients:
        clients = store.load_clients(workspace, quarters=load)
        missing = [c for c in from_clients if c not in clients.columns]
        if missing:
            raise DataError(f"cannot group by {missing}: neither the responses nor the clients "
                            "table has them")
        clients = clients[["quarter", "client_id", *from_clients]].drop_duplicates(
            ["quarter", "client_id"])
        responses = responses.merge(clients, on=["quarter", "client_id"], how="left")
    for column in split:
        if column not in by:
            raise DataError(f"split names {column!r}, which is not a grouping column {by}")
        values = responses[column].astype("string").str.split(";")
        responses = responses.assign(**{column: values}).explode(column, ignore_index=True)
        responses[column] = responses[column].str.strip()
        responses = responses[responses[column].fillna("") != ""]
    visits = store.load_visits(workspace, quarters=load)
    if visits is not None and not set(by) <= set(visits.columns):
        visits = None
    if visits is not None and segments is not None and "segment" in by:
        visits = visits[visits["segment"].isin([str(x) for x in segments])]

    table = summarise(
        responses, by=by, attributes=list(inst.attribute_ids),
        nps_scale=tuple(inst.nps.scale),
        ces_scale=tuple(inst.ces.scale) if inst.ces is not None else None,
        csi_scale=tuple(inst.csi_scale),
        importance_scale=tuple(inst.importance_scale) if inst.importance_scale else None,
        csi_weights=inst.csi_weights, memberships=memberships, visits=visits,
        confidence=rep.confidence, base_suppress=rep.base_suppress,
        base_small=rep.base_small, adjustment=rep.adjustment,
        critical_fails_visit=workspace.critical_item_fails_visit, engine=engine,
    )
    return _only(table, wanted, by)


def _only(table: pd.DataFrame, wanted: list[str] | None, by: list[str]) -> pd.DataFrame:
    """The rows of the wanted quarters (the quarter before was read for the change only)."""
    if wanted is not None and "quarter" in by:
        table = table[table["quarter"].astype(str).isin(wanted)].reset_index(drop=True)
    return table
