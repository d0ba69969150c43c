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
- ``/edit`` (image, prompt, strength): needs an input picture.
"""

from __future__ import annotations

import json
import os
import random
import sys
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

    def edit(image: Any, prompt: str, strength: float) -> Any:
        return image

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
        source = gr.Image(label="Image", type="filepath")
        strength = gr.Slider(0.0, 1.0, value=0.8, label="Strength")
        edited = gr.Image(label="Edited")
        gr.Button("Edit").click(edit, [source, prompt, strength], [edited], api_name="edit")
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
