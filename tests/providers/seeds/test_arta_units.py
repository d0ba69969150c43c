"""ARTA without a server: the style catalog, option mapping and request shapes (aioresponses)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aioresponses import aioresponses
from yarl import URL

from providers import (
    ImageRequest,
    ImageResponse,
    Kind,
    ProviderContext,
    ProviderSettings,
    Registry,
    UnknownModel,
)
from providers.seeds.arta import ARTA
from tests.helpers import MockResponse

# Copied by hand from DESIGN.md ("Provider facts", ARTA), independent of providers/arta.py.
DESIGN_STYLES = """
flux Flux, medieval Medieval, vincent_van_gogh Vincent Van Gogh, f_dev F Dev,
low_poly Low Poly, dreamshaper_xl Dreamshaper-xl, anima_pencil_xl Anima-pencil-xl, biomech Biomech,
trash_polka Trash Polka, no_style No Style, cheyenne_xl Cheyenne-xl, chicano Chicano,
embroidery_tattoo Embroidery tattoo, red_and_black Red and Black, fantasy_art Fantasy Art,
watercolor Watercolor, dotwork Dotwork, old_school_colored Old school colored, realistic_tattoo
Realistic tattoo, japanese_2 Japanese_2, realistic_stock_xl Realistic-stock-xl, f_pro F Pro,
revanimated RevAnimated, katayama_mix_xl Katayama-mix-xl, sdxl_l SDXL L, cor_epica_xl Cor-epica-xl,
anime_tattoo Anime tattoo, new_school New School, death_metal Death metal, old_school Old School,
juggernaut_xl Juggernaut-xl, photographic Photographic, sdxl_1_0 SDXL 1.0, graffiti Graffiti,
mini_tattoo Mini tattoo, surrealism Surrealism, neo_traditional Neo-traditional, on_limbs_black On
limbs black, yamers_realistic_xl Yamers-realistic-xl, pony_xl Pony-xl, playground_xl Playground-xl,
anything_xl Anything-xl, flame_design Flame design, kawaii Kawaii, cinematic_art Cinematic Art,
professional Professional, black_ink Black Ink
"""
EXPECTED_ALIASES = dict(
    item.strip().split(" ", 1) for item in " ".join(DESIGN_STYLES.split()).split(",")
)

AUTH_URL = re.compile(
    r"^https://www\.googleapis\.com/identitytoolkit/v3/relyingparty/signupNewUser"
)
REFRESH_URL = re.compile(r"^https://securetoken\.googleapis\.com/v1/token")
API = "https://img-gen-prod.ai-arta.com/api/v1"
PROXY = "http://proxy.example:3128"


@pytest.fixture
async def context(tmp_path: Path) -> AsyncIterator[ProviderContext]:
    settings = ProviderSettings(_env_file=None, data_dir=tmp_path, poll_interval=0)  # type: ignore[call-arg]
    ctx = ProviderContext.from_settings(settings)
    yield ctx
    await ctx.close()


def mock(mocked: aioresponses, method: str, url: Any, payload: Any) -> None:
    mocked.add(url, method, payload=payload, response_class=MockResponse)


def calls(mocked: aioresponses, method: str, pattern: str) -> list[dict[str, Any]]:
    """The keyword arguments of every recorded request whose URL contains ``pattern``."""
    return [
        call.kwargs
        for (verb, url), recorded in mocked.requests.items()
        if verb == method and pattern in str(url)
        for call in recorded
    ]


# --- catalog ------------------------------------------------------------------------------------


def test_every_alias_of_the_design_is_present() -> None:
    # DESIGN.md calls them 48, but its list (like the seed provider's) has 47 entries.
    assert len(EXPECTED_ALIASES) == 47
    assert ARTA.model_aliases == EXPECTED_ALIASES
    assert ARTA.models == list(EXPECTED_ALIASES.values())
    assert ARTA.image_models == ARTA.models
    assert ARTA.default_model == ARTA.default_image_model == "Flux"


def test_seed_class_attributes() -> None:
    assert (ARTA.name, ARTA.label, ARTA.url) == ("arta", "ARTA", "https://ai-arta.com")
    assert ARTA.kind is Kind.IMAGE
    assert AUTH_URL.match(ARTA.auth_url)
    assert REFRESH_URL.match(ARTA.token_refresh_url)
    assert ARTA.image_generation_url == f"{API}/text2image"
    assert ARTA.status_check_url.format(record_id="r1") == f"{API}/text2image/r1/status"


@pytest.mark.parametrize("alias", sorted(EXPECTED_ALIASES))
def test_every_alias_resolves(alias: str) -> None:
    assert ARTA.get_model(alias) == EXPECTED_ALIASES[alias]
    assert ARTA.get_model(EXPECTED_ALIASES[alias]) == EXPECTED_ALIASES[alias]


@pytest.mark.parametrize(
    ("name", "style"),
    [
        ("", "Flux"),
        ("FLUX", "Flux"),
        ("vincent van gogh", "Vincent Van Gogh"),
        ("Vincent-Van-Gogh", "Vincent Van Gogh"),
        ("sdxl 1.0", "SDXL 1.0"),
        ("Japanese_2", "Japanese_2"),
    ],
)
def test_lenient_names(name: str, style: str) -> None:
    assert ARTA.get_model(name) == style


def test_unknown_style_raises_with_suggestions() -> None:
    with pytest.raises(UnknownModel) as caught:
        ARTA.get_model("tattoo")
    assert "arta/anime_tattoo" in caught.value.suggestions
    with pytest.raises(UnknownModel):
        ARTA.get_model("midjourney")


def test_registry_ids() -> None:
    registry = Registry([ARTA])
    assert len(registry.entries) == len(EXPECTED_ALIASES)
    assert registry.resolve("arta/flux").upstream == "Flux"
    assert registry.resolve("vincent_van_gogh").upstream == "Vincent Van Gogh"


# --- option mapping -----------------------------------------------------------------------------


def test_image_kwargs_leave_defaults_alone() -> None:
    assert ARTA.image_kwargs(ImageRequest(prompt="a cat")) == {"prompt": "a cat", "n": 1}


def test_image_kwargs_map_every_option() -> None:
    request = ImageRequest(
        prompt="a cat", negative_prompt="dogs", n=3, seed=9, aspect_ratio="9:16", steps=40, cfg=6.5
    )
    assert ARTA.image_kwargs(request) == {
        "prompt": "a cat",
        "negative_prompt": "dogs",
        "n": 3,
        "seed": 9,
        "aspect_ratio": "9:16",
        "num_inference_steps": 40,
        "guidance_scale": 6.5,
    }


def test_options_cover_the_defaults() -> None:
    options = ARTA.options
    assert options.max_images == 4
    assert options.steps is not None and options.steps[0] <= 30 <= options.steps[1]
    assert options.cfg is not None and options.cfg[0] <= 7 <= options.cfg[1]
    assert "1:1" in options.aspect_ratios


# --- request shapes -----------------------------------------------------------------------------


async def test_sign_up_and_refresh_request_shapes(context: ProviderContext) -> None:
    with aioresponses() as mocked:
        mock(mocked, "POST", AUTH_URL, {"idToken": "id1", "refreshToken": "rt1"})
        mock(mocked, "POST", REFRESH_URL, {"id_token": "id2", "refresh_token": "rt2"})

        data = await ARTA.create_token(ARTA.get_auth_file(context), context)
        pair = await ARTA.refresh_token("rt1", context)

    assert data["idToken"] == "id1"
    assert pair == ("id2", "rt2")
    (signup,) = calls(mocked, "POST", "signupNewUser")
    assert signup["json"] == {"clientType": "CLIENT_TYPE_ANDROID"}
    assert "proxy" not in signup
    (refresh,) = calls(mocked, "POST", "securetoken")
    assert refresh["data"] == {"grant_type": "refresh_token", "refresh_token": "rt1"}
    assert "proxy" not in refresh
    assert json.loads(ARTA.get_auth_file(context).read_text())["idToken"] == "id1"


async def test_generation_request_shapes_and_proxy(context: ProviderContext) -> None:
    with aioresponses() as mocked:
        mock(mocked, "POST", AUTH_URL, {"idToken": "id1", "refreshToken": "rt1"})
        mock(mocked, "POST", f"{API}/text2image", {"record_id": "r1"})
        mock(mocked, "GET", f"{API}/text2image/r1/status", {"status": "IN_PROGRESS"})
        done = {"status": "DONE", "response": [{"url": "https://cdn/1.png"}]}
        mock(mocked, "GET", f"{API}/text2image/r1/status", done)

        stream = ARTA.create_async_generator(
            "low_poly", [], context=context, prompt="a tree", seed=5, proxy=PROXY
        )
        events = [event async for event in stream]

    assert events[-1] == ImageResponse(
        images=["https://cdn/1.png"], alt="a tree", seed=5, model="Low Poly"
    )
    (submit,) = mocked.requests[("POST", URL(f"{API}/text2image"))]
    assert submit.kwargs["data"]["style"] == "Low Poly"
    assert all(isinstance(value, str) for value in submit.kwargs["data"].values())
    assert submit.kwargs["headers"]["Authorization"] == "id1"
    polls = mocked.requests[("GET", URL(f"{API}/text2image/r1/status"))]
    assert len(polls) == 2
    everything = [call.kwargs for recorded in mocked.requests.values() for call in recorded]
    assert len(everything) == 4
    assert all(kwargs.get("proxy") == PROXY for kwargs in everything)
