"""The ``assistant`` command line.

::

    assistant serve [--host H] [--port N]   run the wizard (development server)
    assistant preview FILE [--port N]       serve one flow for its author, reloaded on each save
    assistant validate [PATH ...]           check flow files; exit 1 on any problem
    assistant test [PATH ...]               run flow tests (NAME.tests.yaml), print coverage
    assistant import ARTICLE [--id ID] [--out DIR]  draft flows from a help-center article
    assistant db upgrade                    apply migrations to DATABASE_URL
    assistant schema                        print the JSON Schema of a flow file
    assistant simulate [--host H] [--port N] serve the vendor-endpoint simulator (loopback only)
    assistant diagnose [FILE|-]             diagnose one case of probe observations (YAML/JSON);
                                            exit 2 on malformed input
    assistant route [TEXT|-]                the guide, step and cause free text leads to (JSON);
                                            exit 2 on unreadable input
    assistant staff add EMAIL --role R      create a console account (password prompted, or
                                            read from stdin when it is not a terminal)
    assistant staff password EMAIL          set a new password (and reactivate the account)
    assistant staff list                    list the console accounts
    assistant staff token EMAIL             print a new API token for the JSON API's staff
                                            endpoints (shown once; only its hash is kept)
    assistant launch-link --connection ID --customer REF [--flow ID] [--minutes N]
                                            print a signed launch link (PUBLIC_URL + path)
"""

from __future__ import annotations

import click

from .admin import db, launch_link, staff
from .authoring import import_command, preview, schema, test_command, validate
from .cases import diagnose, route
from .servers import serve, simulate


class _Group(click.Group):
    """Turns a configuration error into a one-line message and exit status 2, and a database
    that cannot be opened into one with exit status 1."""

    def invoke(self, ctx):
        from sqlalchemy.exc import OperationalError

        from ..config import ConfigError
        try:
            return super().invoke(ctx)
        except ConfigError as e:
            raise click.UsageError(str(e)) from None
        except OperationalError as e:
            raise click.ClickException(f"cannot use the database: {e.orig}") from None


@click.group(cls=_Group, commands=[serve, simulate, preview, validate, test_command,
                                   import_command, schema, db, staff, launch_link, diagnose,
                                   route])
def main() -> None:
    """Troubleshooting assistant: guided flows for customer support."""
