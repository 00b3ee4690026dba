# The console's ModelAdmins are registered on ``tenants.console.console_site``.
from . import console_admin  # noqa: F401
