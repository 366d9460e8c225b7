"""What a run tells people: events, live views, summaries, baselines, the browser.

``events`` are what a run emits, ``progress`` the ways to watch them, ``consoles`` the Rich
consoles, ``summary`` the end-of-run figures, ``baselines`` the classic heuristics scored
against references (``discover baselines``), ``browser`` the archive browser with export
wired in.
"""
