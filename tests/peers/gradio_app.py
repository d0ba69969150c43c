"""A real Gradio app (the ``gradio`` package), run by the tests as a subprocess on 127.0.0.1.

``python tests/peers/gradio_app.py`` launches it and prints one JSON line, ``{"url": ...}``,
once it serves; it stops when its standard input closes (so it never outlives the test run).

It needs no network: the caller sets ``GRADIO_ANALYTICS_ENABLED=False`` (otherwise Gradio asks
api.gradio.app for the latest version and reports the launch), launches without ``share``
(the tunnel binary is downloaded) and with SSR off (Node). To prove it, an audit hook refuses
every connection and name lookup that is not for this machine and reports each on stderr as an
``outbound:`` line, which the tests check.

Endpoints:
- ``/infer`` (prompt, negative_prompt, style, seed, randomize_seed, width, height,
  guidance_scale, num_inference_steps) -> [picture of width x height, seed]; one preview per
  step beyond the first; a prompt containing "quota" fails with ZeroGPU's quota error.
- ``/edit`` (image, prompt, strength) -> [the picture mirrored, same size, PNG]: an Image
  input (``type="filepath"``), so the function gets the uploaded file itself.
- ``/combine`` (prompt, images) -> [the pictures side by side, PNG]: a Gallery input.

The edit functions report what they received on stderr, one ``received: {json}`` line each:
the endpoint, the prompt, the strength, and per file its size in pixels and the SHA-256 of its
bytes, in order (:func:`received` reads them back from the log).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0", None}
MAX_SEED = 2**31 - 1
QUOTA_MESSAGE = "You have exceeded your GPU quota (60s requested vs. 3s left). Try again in 0:01:05"


def _offline(event: str, args: tuple[Any, ...]) -> None:
    """Refuses (and reports) any connection or lookup that would leave this machine."""
    host: Any = None
    if event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple):
            return  # a Unix socket
        host = address[0]
    elif event == "socket.getaddrinfo":
        host = args[0]
    else:
        return
    if isinstance(host, bytes):
        host = host.decode()
    if host in LOCAL_HOSTS or (isinstance(host, str) and host.startswith("127.")):
        return
    print(f"outbound: {event} {host}", file=sys.stderr, flush=True)
    raise OSError(f"this test app is offline: {host}")


def report(endpoint: str, prompt: str, files: list[str], **values: Any) -> None:
    """One ``received:`` line on stderr: what an edit function was handed."""
    from PIL import Image

    seen = []
    for path in files:
        with Image.open(path) as image:
            size = list(image.size)
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        seen.append({"size": size, "sha256": digest})
    line = {"endpoint": endpoint, "prompt": prompt, "files": seen, **values}
    print(f"received: {json.dumps(line)}", file=sys.stderr, flush=True)


def received(log: Path) -> list[dict[str, Any]]:
    """Every ``received:`` record of the app's log, oldest first."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [json.loads(line.partition(" ")[2]) for line in lines if line.startswith("received: ")]


def build() -> Any:
    import gradio as gr
    from PIL import Image

    def infer(
        prompt: str,
        negative_prompt: str,
        style: str,
        seed: float,
        randomize_seed: bool,
        width: float,
        height: float,
        guidance_scale: float,
        num_inference_steps: float,
    ) -> Any:
        if "quota" in prompt.lower():
            raise gr.Error(QUOTA_MESSAGE, title="ZeroGPU quota exceeded")
        used = random.randint(0, MAX_SEED) if randomize_seed else int(seed)
        for step in range(int(num_inference_steps) - 1):
            yield Image.new("RGB", (64, 64), (step * 30 % 256, 90, 160)), used
        yield Image.new("RGB", (int(width), int(height)), (used % 256, 120, 40)), used

    def edit(image: str, prompt: str, strength: float) -> Any:
        report("/edit", prompt, [image], strength=strength)
        with Image.open(image) as source:
            return source.convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    def combine(prompt: str, images: list[tuple[str, str | None]] | None) -> Any:
        paths = [path for path, _ in images or []]
        report("/combine", prompt, paths)
        pictures: list[Image.Image] = []
        for path in paths:
            with Image.open(path) as opened:
                pictures.append(opened.convert("RGB"))
        width = sum(p.width for p in pictures)
        height = max((p.height for p in pictures), default=1)
        sheet = Image.new("RGB", (max(width, 1), height), (255, 255, 255))
        left = 0
        for picture in pictures:
            sheet.paste(picture, (left, 0))
            left += picture.width
        return sheet

    with gr.Blocks(analytics_enabled=False) as demo:
        prompt = gr.Textbox(label="Prompt")
        negative = gr.Textbox(label="Negative prompt", value="blurry")
        style = gr.Dropdown(["photo", "anime"], value="photo", label="Style")
        seed = gr.Slider(0, MAX_SEED, value=0, step=1, label="Seed")
        randomize = gr.Checkbox(value=True, label="Randomize seed")
        width = gr.Slider(256, 1280, value=1024, step=32, label="Width")
        height = gr.Slider(256, 1280, value=1024, step=32, label="Height")
        guidance = gr.Slider(0.0, 10.0, value=3.5, step=0.1, label="Guidance scale")
        steps = gr.Slider(1, 8, value=1, step=1, label="Number of inference steps")
        result = gr.Image(label="Result")
        used_seed = gr.Number(label="Seed")
        gr.Button("Run").click(
            infer,
            [prompt, negative, style, seed, randomize, width, height, guidance, steps],
            [result, used_seed],
            api_name="infer",
        )
        source = gr.Image(label="Image", type="filepath", image_mode=None)
        strength = gr.Slider(0.0, 1.0, value=0.8, label="Strength")
        edited = gr.Image(label="Edited", format="png")
        gr.Button("Edit").click(edit, [source, prompt, strength], [edited], api_name="edit")
        sources = gr.Gallery(label="Images", type="filepath")
        combined = gr.Image(label="Combined", format="png")
        gr.Button("Combine").click(combine, [prompt, sources], [combined], api_name="combine")
    return demo


def main() -> None:
    sys.addaudithook(_offline)
    demo = build()
    demo.queue()
    demo.launch(server_name="127.0.0.1", share=False, prevent_thread_lock=True, quiet=True)
    print(json.dumps({"url": demo.local_url.rstrip("/")}), flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads stdout from here on
    sys.stdin.read()
    demo.close()


if __name__ == "__main__":
    main()
