"""Audit a reward model for exploitability along the known hack directions (``overopt audit-rm``).

Public API: :func:`audit_rm` (orchestration), :class:`AuditResult`, base-response sources
(:func:`lab_base`, :func:`suite_base`, :func:`from_policy`, :func:`from_rows`), the perturbation
directions (:data:`DIRECTIONS`, :class:`Phrasebook`) and the statistics in ``overopt.audit.stats``.
Importing this package does not import torch.
"""

from overopt.audit.audit import AuditResult, DirectionResult, audit_rm, build_pairs
from overopt.audit.base import BaseSet, from_policy, from_rows, lab_base, lab_phrasebook, suite_base
from overopt.audit.perturbations import DIRECTIONS, GENERIC, Direction, Phrasebook

__all__ = [
    "DIRECTIONS", "GENERIC", "AuditResult", "BaseSet", "Direction", "DirectionResult", "Phrasebook",
    "audit_rm", "build_pairs", "from_policy", "from_rows", "lab_base", "lab_phrasebook", "suite_base",
]
