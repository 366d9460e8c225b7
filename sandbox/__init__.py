"""Run untrusted, model-written candidate code safely and fast.

The loop hands a candidate's source, the problem's candidate contract
(:class:`evaluators.base.CandidateSpec`) and a batch of instance payloads to a
:class:`SandboxPool`; a warm worker forks one locked-down child that runs the
candidate on every payload and sends back raw outputs over a fixed-format
channel; the trusted side validates them and computes objectives
(:func:`evaluate`). See ``docs/sandbox.md`` for the threat model and layers.
"""

from sandbox.errors import SandboxError, SandboxUnavailable
from sandbox.isolation import IsolationReport, LayerStatus
from sandbox.limits import IsolationMode, Layer, Limits, SandboxWarning
from sandbox.outcome import ErrorInfo, Outcome, OutcomeStatus
from sandbox.payloads import PayloadSet
from sandbox.pool import SandboxPool
from sandbox.precheck import PrecheckResult, precheck
from sandbox.scoring import CandidateEvaluation, InstanceScore, evaluate

__all__ = [
    "CandidateEvaluation",
    "ErrorInfo",
    "InstanceScore",
    "IsolationMode",
    "IsolationReport",
    "Layer",
    "LayerStatus",
    "Limits",
    "Outcome",
    "OutcomeStatus",
    "PayloadSet",
    "PrecheckResult",
    "SandboxError",
    "SandboxPool",
    "SandboxUnavailable",
    "SandboxWarning",
    "evaluate",
    "precheck",
]
