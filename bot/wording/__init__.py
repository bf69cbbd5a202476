"""Every sentence a user can read, in one place (this package, one module per surface) so the
wording can be reviewed together.

Error messages say what happened and what to do next; they never contain vendor error text
or stack traces. `{placeholders}` are filled from the facts an error carries.
"""

from __future__ import annotations

from bot.wording.access import *  # noqa: F403
from bot.wording.answers import *  # noqa: F403
from bot.wording.channel import *  # noqa: F403
from bot.wording.cleanup import *  # noqa: F403
from bot.wording.costs import *  # noqa: F403
from bot.wording.doctor import *  # noqa: F403
from bot.wording.drops import *  # noqa: F403
from bot.wording.exports import *  # noqa: F403
from bot.wording.installs import *  # noqa: F403
