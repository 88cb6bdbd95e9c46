"""Launch tokens at the door: whether a token may start a guide, and which connection it
binds there (see :mod:`assistant.launch` for the token itself). Messages are in the
customer's words (:class:`~.text.Text`, translatable by the view)."""

from __future__ import annotations

import logging

from ..flow import Flow
from ..launch import Launch, LaunchSecretError, LaunchTokenError, LaunchTokenExpired, verify
from . import errors
from .text import _l

log = logging.getLogger(__name__)

REFUSED = _l("This link can't be used to check your connection.")
WITHOUT_CHECK = _l("You can still follow the guide: we'll go through the steps by hand. To "
                   "have your connection checked live, open the guide again from your account.")


def verify_launch(token: str | None, flow: Flow | None, *, secrets, store) -> Launch | None:
    """The launch token checked for starting ``flow`` (None: the list of guides): the
    :class:`~assistant.launch.Launch`, or None without a token. What was wrong is logged,
    never the token.

    Raises:
        LaunchRefused: expired (410), used by a session that has ended (410), tampered
            with, signed with another secret, for another guide, or no secret set (400).
    """
    if not token:
        return None
    try:
        launch = verify(token, secrets or ())
    except LaunchTokenExpired:
        raise errors.LaunchRefused(_l("This link has expired, so it can't be used to "
                                      "check your connection.").then(WITHOUT_CHECK),
                                   410) from None
    except LaunchSecretError:
        log.warning("a launch token was used, but LAUNCH_SECRET is not set")
        raise errors.LaunchRefused(REFUSED.then(WITHOUT_CHECK)) from None
    except LaunchTokenError as e:
        log.info("launch token refused: %s", e)
        raise errors.LaunchRefused(REFUSED.then(WITHOUT_CHECK)) from None
    if flow is not None and launch.flow_id and launch.flow_id != flow.id:
        raise errors.LaunchRefused(_l("This link is for another guide, so it can't be "
                                      "used to check your connection here."
                                      ).then(WITHOUT_CHECK))
    earlier = store.session_by_launch(launch.jti)
    if earlier is not None and earlier.status == "ended":
        raise errors.LaunchRefused(_l("This link was used already, for a guide that has "
                                      "ended.").then(WITHOUT_CHECK), 410)
    return launch

def launch_connection(launch: Launch | None, flow: Flow, connections):
    """``(connection, note)``: the connection a verified token binds in this guide (or
    None) and, if it binds none, why, in the customer's words (None: nothing to say)."""
    if launch is None:
        return None, None
    connection = connections.get(launch.connection_id)
    if connection is None:
        log.warning("a launch token names connection %r, which is not configured",
                    launch.connection_id)
        return None, _l("We can't check your connection live right now, so we'll go "
                        "through the steps by hand.")
    if connection.system != flow.system:
        return None, _l("Your link lets us check %(label)s, which this guide is not "
                        "about, so we'll go through the steps by hand.",
                        label=connection.label)
    return connection, None
