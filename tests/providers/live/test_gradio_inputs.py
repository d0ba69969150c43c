"""Reading a Gradio endpoint's parameters and filling them from an ImageRequest, by name."""

from __future__ import annotations

from typing import Any

import pytest

from providers import ImageRequest, InvalidOption, Media, ResponseError
from providers.live.gradio.info import Endpoint, Parameter, parse_endpoint
from providers.live.gradio.inputs import assign_roles, fill, picture_parameter
from providers.seeds.sd35 import StabilityAI_SD35Large, image_size
from tests.fakes.gradio_app import FLUX_LIKE, IMAGE_EDIT, FakeGradio, Param

LABEL = "myspace"


def endpoint(params: list[Param], name: str = "/infer") -> Endpoint:
    """The endpoint as our parser reads the fake app's info for it."""
    app = FakeGradio()
    app.endpoints = {name: params}
    return parse_endpoint(app.info(), name, LABEL)


def filled(params: list[Param], request: ImageRequest) -> dict[str, Any]:
    """The posted values by parameter name."""
    values = fill(endpoint(params), request, LABEL)
    assert len(values) == len(params)
    return {param.name: value for param, value in zip(params, values, strict=True)}


SD35_LIKE: list[Param] = [
    Param("prompt", "Textbox"),
    Param("negative_prompt", "Textbox", ""),
    Param("seed", "Slider", 0, 0, 2147483647),
    Param("randomize_seed", "Checkbox", True),
    Param("width", "Slider", 1024, 512, 1440),
    Param("height", "Slider", 1024, 512, 1440),
    Param("guidance_scale", "Slider", 4.5, 0, 10),
    Param("num_inference_steps", "Slider", 40, 1, 50),
]


# --- the info ---------------------------------------------------------------------------------

# One parameter exactly as gradio 6 lists it (captured from a real server).
REAL_INFO: dict[str, Any] = {
    "named_endpoints": {
        "/infer": {
            "parameters": [
                {
                    "label": "Prompt",
                    "parameter_name": "prompt",
                    "parameter_has_default": False,
                    "parameter_default": None,
                    "type": {"type": "string"},
                    "python_type": {"type": "str", "description": ""},
                    "component": "Textbox",
                    "example_input": "Hello!!",
                },
                {
                    "label": "Guidance scale",
                    "parameter_name": "guidance_scale",
                    "parameter_has_default": True,
                    "parameter_default": 3.5,
                    "type": {
                        "type": "number",
                        "description": "numeric value between 0.0 and 10.0",
                    },
                    "python_type": {"type": "float", "description": ""},
                    "component": "Slider",
                    "example_input": 0.0,
                },
            ],
            "returns": [],
            "api_visibility": "public",
            "description": "",
        }
    },
    "unnamed_endpoints": {},
}


def test_info_gives_names_defaults_and_slider_ranges() -> None:
    parsed = parse_endpoint(REAL_INFO, "infer", LABEL)
    assert parsed.api_name == "/infer"
    prompt, guidance = parsed.parameters
    assert prompt == Parameter(
        "prompt", "Prompt", "Textbox", "string", has_default=False, default=None
    )
    assert prompt.is_text
    assert (guidance.name, guidance.default, guidance.minimum, guidance.maximum) == (
        "guidance_scale",
        3.5,
        0.0,
        10.0,
    )


def test_json_schema_bounds_and_label_for_a_missing_name() -> None:
    info = {
        "named_endpoints": {
            "/run": {
                "parameters": [
                    {"label": "Number of steps", "type": {"type": "integer", "minimum": 1}},
                    {"component": "Checkbox", "type": {"type": "boolean"}},
                ]
            }
        }
    }
    steps, unnamed = parse_endpoint(info, "/run", LABEL).parameters
    assert (steps.name, steps.type, steps.minimum, steps.maximum) == (
        "number_of_steps",
        "integer",
        1.0,
        None,
    )
    assert unnamed.name == "parameter_1" and not unnamed.has_default


def test_unknown_endpoint_names_the_ones_the_app_has() -> None:
    with pytest.raises(ResponseError, match=r"has no endpoint /generate \(it has: /infer\)"):
        parse_endpoint(REAL_INFO, "/generate", LABEL)


@pytest.mark.parametrize(
    "info",
    [[], {"detail": "Not Found"}, {"named_endpoints": {"/infer": {"parameters": "x"}}}],
)
def test_unreadable_info_is_a_response_error(info: Any) -> None:
    with pytest.raises(ResponseError, match="could not read"):
        parse_endpoint(info, "/infer", LABEL)


# --- filling by name --------------------------------------------------------------------------


def test_plain_request_keeps_every_default_but_the_prompt() -> None:
    assert filled(FLUX_LIKE, ImageRequest("a fox")) == {
        "prompt": "a fox",
        "seed": 42,
        "randomize_seed": True,
        "width": 1024,
        "height": 1024,
        "num_inference_steps": 4,
        "style": "photo",
    }


def test_a_given_seed_turns_randomize_off() -> None:
    values = filled(FLUX_LIKE, ImageRequest("a fox", seed=7))
    assert (values["seed"], values["randomize_seed"]) == (7, False)


def test_values_the_endpoint_does_not_take_are_ignored() -> None:
    request = ImageRequest("a fox", negative_prompt="blur", cfg=7.5, steps=8)
    values = filled(FLUX_LIKE, request)
    assert values["num_inference_steps"] == 8
    assert "blur" not in values.values() and 7.5 not in values.values()


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        ("1:1", (1024, 1024)),
        ("16:9", (1344, 768)),
        ("9:16", (768, 1344)),
        ("3:2", (1280, 832)),
        ("21:9", (1536, 640)),  # 1564 wide would pass the 1536 maximum: shrunk
        ("9:21", (640, 1536)),
    ],
)
def test_aspect_ratio_near_one_megapixel_inside_the_sliders(
    ratio: str, size: tuple[int, int]
) -> None:
    values = filled(FLUX_LIKE, ImageRequest("a fox", aspect_ratio=ratio))
    assert (values["width"], values["height"]) == size


def test_sizes_are_clamped_to_narrow_sliders_in_multiples_of_8() -> None:
    narrow = [
        Param("prompt", "Textbox"),
        Param("width", "Slider", 512, 300, 700),
        Param("height", "Slider", 512, 300, 700),
    ]
    assert filled(narrow, ImageRequest("x", aspect_ratio="16:9")) == {
        "prompt": "x",
        "width": 696,
        "height": 384,
    }
    assert filled(narrow, ImageRequest("x", aspect_ratio="1:1"))["width"] == 696


def test_sd35s_parameter_list_gets_exactly_the_sd35_providers_sizes() -> None:
    for ratio in StabilityAI_SD35Large.options.aspect_ratios:
        values = filled(SD35_LIKE, ImageRequest("x", aspect_ratio=ratio))
        assert (values["width"], values["height"]) == image_size(ratio, None, None), ratio


def test_sd35s_parameter_list_in_full() -> None:
    request = ImageRequest(
        "a fox", negative_prompt="blur", seed=5, aspect_ratio="9:16", steps=20, cfg=3.0
    )
    # The SD 3.5 provider posts ["a fox", "blur", 5, False, 768, 1344, 3.0, 20] for this.
    assert list(filled(SD35_LIKE, request).values()) == [
        "a fox",
        "blur",
        5,
        False,
        768,
        1344,
        3.0,
        20,
    ]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ImageRequest("x", steps=30), "takes steps from 1 to 12"),
        (ImageRequest("x", seed=2**40), "takes seeds from 0 to 2147483647"),
    ],
)
def test_values_outside_the_apps_range_are_refused(request_: ImageRequest, message: str) -> None:
    with pytest.raises(InvalidOption, match=message) as caught:
        fill(endpoint(FLUX_LIKE), request_, LABEL)
    assert caught.value.user_message.startswith("myspace: ")


def test_guidance_outside_the_range() -> None:
    with pytest.raises(InvalidOption, match="takes a guidance scale from 0 to 10"):
        fill(endpoint(SD35_LIKE), ImageRequest("x", cfg=12.0), LABEL)


def test_prompt_goes_to_the_first_text_box_when_none_is_named_prompt() -> None:
    params = [
        Param("mode", "Dropdown", "fast", choices=("fast", "slow")),
        Param("text", "Textbox"),
        Param("caption", "Textbox", "none"),
    ]
    assert filled(params, ImageRequest("a fox")) == {
        "mode": "fast",
        "text": "a fox",
        "caption": "none",
    }


def test_an_input_we_cannot_fill_is_a_clear_error() -> None:
    with pytest.raises(ResponseError, match=r"needs the input 'Image' \(Image\)") as caught:
        fill(endpoint(IMAGE_EDIT, "/edit"), ImageRequest("a fox"), LABEL)
    assert "cannot fill" in caught.value.user_message


def test_an_endpoint_without_text_input_cannot_take_a_prompt() -> None:
    params = [Param("strength", "Slider", 0.5, 0, 1)]
    with pytest.raises(ResponseError, match="no text input for the prompt"):
        fill(endpoint(params), ImageRequest("a fox"), LABEL)


def test_required_inputs_we_know_get_values_without_defaults() -> None:
    params = [
        Param("prompt", "Textbox"),
        Param("negative_prompt", "Textbox"),
        Param("seed", "Slider", None, 0, 100),
        Param("randomize_seed", "Checkbox"),
        Param("width", "Slider", None, 256, 2048),
        Param("height", "Slider", None, 256, 2048),
    ]
    assert filled(params, ImageRequest("x")) == {
        "prompt": "x",
        "negative_prompt": "",
        "seed": 0,
        "randomize_seed": True,
        "width": 1024,
        "height": 1024,
    }


# --- pictures and strength (edit models) ------------------------------------------------------


def _picture_input(name: str, component: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A picture input as gradio 6 lists it (captured from a real server; descriptions cut)."""
    return {
        "label": name.capitalize(),
        "parameter_name": name,
        "parameter_has_default": component == "Gallery",
        "parameter_default": [] if component == "Gallery" else None,
        "type": schema,
        "component": component,
    }


PICTURE_INFO: dict[str, Any] = {
    "named_endpoints": {
        "/x": {
            "parameters": [
                _picture_input("prompt", "Textbox", {"type": "string"}),
                _picture_input("image", "Image", {"title": "ImageData", "type": "object"}),
                _picture_input("one", "File", {"title": "FileData", "type": "object"}),
                _picture_input("files", "File", {"title": "ListFiles", "type": "array"}),
                _picture_input("gallery", "Gallery", {"title": "GalleryData", "type": "array"}),
                {
                    "label": "Denoise",
                    "parameter_name": "s",
                    "parameter_has_default": True,
                    "parameter_default": 0.5,
                    "type": {"type": "number", "description": "numeric value between 0 and 1"},
                    "component": "Slider",
                },
            ]
        }
    }
}


def test_picture_inputs_are_told_apart_by_component_and_type() -> None:
    parsed = parse_endpoint(PICTURE_INFO, "/x", LABEL)
    assert [p.picture_slot for p in parsed.parameters] == [
        None,
        "one",
        "one",
        "list",
        "gallery",
        None,
    ]
    assert picture_parameter(parsed) == 1
    assert picture_parameter(endpoint(FLUX_LIKE)) is None


def test_a_strength_slider_is_found_by_its_label_when_its_name_is_terse() -> None:
    parsed = parse_endpoint(PICTURE_INFO, "/x", LABEL)
    request = ImageRequest("x", images=(Media(b"\x89PNG\r\n\x1a\n"),), strength=0.2)
    values = fill(parsed, request, LABEL, given={1: "P1", 2: "P2", 3: ["P3"], 4: []})
    assert values == ["x", "P1", "P2", ["P3"], [], 0.2]
    assert assign_roles(parsed.parameters) == {0: "prompt", 5: "strength"}
