"""From one's own files to a workspace: ``vipquality check`` and ``vipquality init``.

:func:`check_workspace` validates a workspace (its YAML, its quarter folders and every file's
header against the mapping) without importing anything. :func:`draft_workspace` drafts the
workspace files from a survey-tool export (and optionally a CRM extract and a mystery-shopping
file): the roles of the survey's columns and the CRM's canonical columns are guessed with a
confidence, personal-looking CRM columns are listed to be dropped, and every guess is written
into the YAML marked ``# REVIEW:``.
"""

from vipquality.data.onboarding._check import CheckReport, Problem, check_workspace

__all__ = ["CheckReport", "Problem", "check_workspace"]
