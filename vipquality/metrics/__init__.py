"""Statistics on arrays and frames: no files, no HTML.

One function per statistic on one group's answers (:mod:`.nps`, :mod:`.ces`, :mod:`.csi`,
:mod:`.compliance`, :mod:`.drivers`, :mod:`.pls`), their intervals (:mod:`.intervals`,
:mod:`.estimate`), and :mod:`.summarise`: every group at once from the sufficient statistics
(:mod:`.sufficient`, on DuckDB, pandas or Spark).
"""
