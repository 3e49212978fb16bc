"""Files in and the store: readers of survey-tool exports and spreadsheets (:mod:`.readers`,
:mod:`.importers`), the canonical tables (:mod:`.schema`), validated ingest (:mod:`.ingest`),
the Parquet store (:mod:`.store`), segment membership (:mod:`.segments`), comment scrubbing
(:mod:`.privacy`), the stored quarters summarised (:mod:`.summary`) and the seeded sample
workspace (:mod:`.sample`).
"""
