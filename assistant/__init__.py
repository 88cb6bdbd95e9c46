"""Troubleshooting assistant: help-center articles as checked flows, walked in a web wizard.

Packages: :mod:`assistant.flow` (flow files), :mod:`assistant.engine` (running them),
:mod:`assistant.store` (sessions and transcripts), :mod:`assistant.web` (the wizard),
:mod:`assistant.cli` (the ``assistant`` command).
"""
