"""A language model's answer turned into code.

``blocks`` splits an answer into thinking, prose and code blocks; ``extract`` takes the
program and its one-line idea from them, ``repair`` completes and repairs it, ``edits``
applies SEARCH/REPLACE edit blocks to a parent program.
"""
