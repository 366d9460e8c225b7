"""The search: propose, drop duplicates, evaluate, record, select, and when to stop.

The loop (``loop``) receives its collaborators (``collaborators``: evaluator, recorder,
generators, settings) and drives where candidates come from (``proposer``: a model or the
offline engine), duplicate detection (``duplicates``), the evaluation cascade (``cascade``),
the population and its islands (``population``, ``islands``) and the stop criteria
(``stopping``); its slots' values are in ``slots``, what it records of them in
``recording``. :mod:`discover.running.setup` builds them for a run.
"""
