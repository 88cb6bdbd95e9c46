"""``python -m assistant.cli``: the ``assistant`` command."""

from . import main

main()
