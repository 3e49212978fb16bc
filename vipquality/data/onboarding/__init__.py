"""From one's own files to a workspace: ``vipquality check`` and ``vipquality init``.

:func:`check_workspace` validates a workspace (its YAML, its quarter folders and every file's
header against the mapping) without importing anything. :func:`draft_workspace` drafts the
workspace files from a survey-tool export (and optionally a CRM extract and a mystery-shopping
file): the roles of the survey's columns (:func:`propose_roles`) and the CRM's canonical columns
(:func:`propose_crm`) are guessed with a confidence, personal-looking CRM columns are listed to
be dropped, and every guess is written into the YAML marked ``# REVIEW:``.
"""

from vipquality.data.onboarding._check import CheckReport, Problem, check_workspace
from vipquality.data.onboarding._crm import ColumnGuess, CrmProposal, propose_crm, propose_visits
from vipquality.data.onboarding._draft import Draft, draft_workspace, read_export
from vipquality.data.onboarding._roles import Guess, SurveyProposal, propose_roles

__all__ = ["CheckReport", "ColumnGuess", "CrmProposal", "Draft", "Guess", "Problem",
           "SurveyProposal", "check_workspace", "draft_workspace", "propose_crm",
           "propose_roles", "propose_visits", "read_export"]
