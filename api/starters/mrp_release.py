"""The MrpRelease process (workflows/mrp_release.py): a stored run's planned orders made into orders, once."""

from __future__ import annotations

from api.platform import Platform
from domain.org.people import Actor
from domain.planning import release
from domain.planning.release_rules import ReleaseProgress
from domain.processes import ids
from workflows.common import search_attributes
from workflows.mrp_release import MrpRelease


async def release_run(platform: Platform, actor: Actor, run: str, planned_order_ids: list[str] | None
                      ) -> tuple[str, ReleaseProgress]:
    """Checked and numbered at once (a refusal creates nothing), then one process claims and makes them; answers
    its id and where it stands once the planned orders are claimed."""
    req = await platform.write(release.allocate, run, planned_order_ids, actor.username)
    handle = await platform.start(MrpRelease.run, req, workflow_type="MrpRelease",
                                  id=ids.mrp_release(req.number, platform.id_prefix),
                                  search_attributes=search_attributes("mrp_release", req.number, actor.username,
                                                                      stage="claiming"))
    return handle.id, await platform.recorded(handle, MrpRelease.claimed, ReleaseProgress)
