"""One quarter's report: the shared tables computed once (:mod:`.data`), the executive tables
and CSVs (:mod:`.executive`), the page sections (:mod:`.pages`), the notebook run and atomic
publication (:mod:`.run`), and :func:`~vipquality.report.build.build_report`, which ties them.

Importing this package loads nothing heavy: the notebook workers import only :mod:`.run`.
"""
