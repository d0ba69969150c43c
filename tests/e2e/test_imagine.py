"""/imagine end to end: status message, edits, pictures, failures."""

from __future__ import annotations

from bot.storage import JobStatus
from tests.e2e.conftest import World, runtime
from tests.fakes.arta import png_bytes

USER = 501


async def test_one_image_arrives_as_a_photo_replying_to_the_command(world: World) -> None:
    tg = world.tg
    async with world.bot() as app:
        command = tg.send_text(USER, "/imagine a red fox in the snow")
        [photo] = await world.photos_for(USER, command, 1)
        assert photo.kind == "photo"
        assert photo.photo == png_bytes(0)
        assert photo.caption is not None
        assert photo.caption.startswith("a red fox in the snow")
        seed = world.arta.job_list[0].form["seed"]
        assert photo.caption.endswith(f"🎨 arta/flux · seed {seed}")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: status.deleted)
        job = await runtime(app).storage.get_job(1)
        assert job is not None and job.status == JobStatus.DONE
        assert tg.chat_actions and tg.chat_actions[0][1] == "upload_photo"
