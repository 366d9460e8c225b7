"""Prompts for the models: what a template sees, and rendering it.

``context`` holds the operators and the problem and program views a template receives;
``render`` renders the Jinja2 templates of ``prompts/``.
"""
