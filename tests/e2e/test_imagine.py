"""/imagine end to end: status message, edits, pictures, failures."""

from __future__ import annotations

import itertools

from bot.storage.records import JobStatus
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


async def test_four_images_arrive_as_one_album_with_the_upstream_bytes(world: World) -> None:
    async with world.bot():
        command = world.tg.send_text(USER, "/imagine four foxes --n 4 --ar 16:9")
        photos = await world.photos_for(USER, command, 4)
        assert [p.photo for p in photos] == [png_bytes(i) for i in range(4)]
        assert len({p.media_group_id for p in photos}) == 1 and photos[0].media_group_id
        assert photos[0].caption and photos[0].caption.startswith("four foxes")
        assert all(p.caption is None for p in photos[1:])
        form = world.arta.job_list[0].form
        assert (form["images_num"], form["aspect_ratio"]) == ("4", "16:9")
        assert len(world.tg.calls("sendMediaGroup")) == 1


async def test_status_follows_the_queue_then_the_drawing(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = arta.progress_polls = 10**6  # held until the test moves it on
    async with world.bot():
        command = tg.send_text(USER, "/imagine a slow fox")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "waiting in line at arta/flux" in (status.text or ""))
        arta.queue_polls = 0
        await tg.wait_for(lambda: "drawing with arta/flux" in (status.text or ""))
        arta.progress_polls = 0
        await world.photos_for(USER, command, 1)
        await tg.wait_for(lambda: status.deleted)
        texts = [v.text or "" for v in status.history]
        waiting = next(i for i, t in enumerate(texts) if "waiting in line" in t)
        drawing = next(i for i, t in enumerate(texts) if "drawing with" in t)
        assert waiting < drawing
        assert all(a != b for a, b in itertools.pairwise(texts))  # never the same twice
        assert not any(c.error and "not modified" in c.error for c in tg.calls("editMessageText"))


async def test_a_failing_provider_is_explained_and_the_next_job_works(world: World) -> None:
    tg = world.tg
    world.arta.fail_next_job("FAILED")
    async with world.bot() as app:
        first = tg.send_text(USER, "/imagine doomed fox")
        status = await world.status_of(USER, first)
        await tg.wait_for(lambda: "generation failed" in (status.text or ""))
        assert status.text and status.text.startswith("⚠️ ARTA")
        assert "/model" in status.text
        second = tg.send_text(USER, "/imagine lucky fox")
        await world.photos_for(USER, second, 1)
        second_status = await world.status_of(USER, second)
        await tg.wait_for(lambda: second_status.deleted)  # the row is closed before this
        jobs = runtime(app).storage
        first_job, second_job = await jobs.get_job(1), await jobs.get_job(2)
        assert first_job and first_job.status == JobStatus.FAILED
        assert first_job.error and "FAILED" in first_job.error
        assert second_job and second_job.status == JobStatus.DONE


async def test_an_unreachable_provider_is_named(world: World) -> None:
    tg = world.tg
    async with world.bot(prodia_api_url="http://127.0.0.1:9"):
        command = tg.send_text(USER, "/imagine a fox --model absolutereality_v181")
        status = await world.status_of(USER, command)
        await tg.wait_for(lambda: "Prodia: cannot be reached" in (status.text or ""))


async def test_bad_flags_get_a_reply_and_start_nothing(world: World) -> None:
    tg = world.tg
    async with world.bot():
        cases = {
            "/imagine": "Tell me what to draw",
            "/imagine fox --n 5": "1 to 4 images",
            "/imagine fox --model sd-3.5 --n 2": "one image at a time",
            "/imagine fox --ar 5:1": "aspect ratios",
            "/imagine fox --model nosuch": "Unknown model 'nosuch'",
            "/imagine fox --steps 99 --model sd-3.5": "between 1 and 50",
            "/imagine fox --wat 3": "Unknown option --wat",
        }
        for text, reason in cases.items():
            command = tg.send_text(USER, text)
            reply = await world.reply_to(USER, command, lambda m: True)
            assert reason in (reply.text or ""), (text, reply.text)
        assert world.arta.job_list == [] and world.sd35.jobs == {}


async def test_a_429_on_the_album_is_waited_out(world: World) -> None:
    tg = world.tg
    tg.fail_next("sendMediaGroup", error_code=429, retry_after=1)
    async with world.bot():
        command = tg.send_text(USER, "/imagine two foxes --n 2")
        photos = await world.photos_for(USER, command, 2)
        assert [p.photo for p in photos] == [png_bytes(0), png_bytes(1)]
        calls = tg.calls("sendMediaGroup")
        assert [c.status for c in calls] == [429, 200]
        assert calls[1].time - calls[0].time >= 1.0


async def test_a_deleted_status_message_does_not_stop_the_job(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot():
        command = tg.send_text(USER, "/imagine a fox")
        status = await world.status_of(USER, command)
        tg.user_deletes(USER, status.message_id)
        arta.queue_polls = arta.progress_polls = 0
        [photo] = await world.photos_for(USER, command, 1)
        assert photo.photo == png_bytes(0)


async def test_webp_results_are_converted_and_huge_ones_sent_as_documents(world: World) -> None:
    import io

    from PIL import Image

    tg = world.tg
    buffer = io.BytesIO()
    Image.new("RGB", (9000, 1500), (10, 20, 30)).save(buffer, format="PNG")
    world.prodia.image = buffer.getvalue()
    async with world.bot():
        webp = tg.send_text(USER, "/imagine a fox --model sd-3.5")
        [photo] = await world.photos_for(USER, webp, 1)
        assert photo.kind == "photo"
        assert photo.photo is not None and photo.photo.startswith(b"\x89PNG")
        huge = tg.send_text(USER, "/imagine a wide fox --model absolutereality_v181")
        [document] = await world.photos_for(USER, huge, 1)
        assert document.kind == "document" and document.document == world.prodia.image


async def test_previews_are_shown_then_replaced_by_the_result(world: World) -> None:
    tg, sd35 = world.tg, world.sd35
    sd35.previews = 2
    async with world.bot():
        command = tg.send_text(USER, "/imagine a fox --model sd-3.5")
        preview = await world.reply_to(USER, command, lambda m: m.caption == "👀 Preview")
        assert preview.photo is not None and preview.photo.startswith(b"\x89PNG")  # WebP converted
        [photo] = await world.photos_for(USER, command, 1)
        await tg.wait_for(lambda: preview.deleted)
        assert photo.caption and "sd35/sd-3.5" in photo.caption


async def test_images_are_uploaded_not_passed_as_provider_urls(world: World) -> None:
    async with world.bot():
        command = world.tg.send_text(USER, "/imagine a fox")
        await world.photos_for(USER, command, 1)
    [call] = world.tg.calls("sendPhoto")
    assert "photo" in call.files  # Telegram never has to reach the provider
    assert world.arta.url not in str(call.params)


async def test_results_arrive_even_if_the_command_was_deleted(world: World) -> None:
    tg, arta = world.tg, world.arta
    arta.queue_polls = 10**6
    async with world.bot():
        command = tg.send_text(USER, "/imagine a shy fox")
        await world.status_of(USER, command)
        tg.user_deletes(USER, command["message_id"])
        arta.queue_polls = arta.progress_polls = 0
        [photo] = await tg.wait_for(lambda: [m for m in tg.bot_messages(USER) if m.kind == "photo"])
        assert photo.photo == png_bytes(0) and photo.caption and "a shy fox" in photo.caption
