"""Errors raised by providers. Every message is safe to show to an end user.

Each error carries a :class:`ErrorCode` and the values its sentence names (``params``); the
English sentence is :data:`SENTENCES`'s template for the code, filled with the params. The bot
words the same code in the user's language, so rewording a sentence here never breaks a
translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

Param = str | int | float


class ErrorCode(StrEnum):
    """One user-visible failure; :data:`SENTENCES` holds its sentence."""

    # Reaching the upstream
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    DEADLINE = "deadline"
    SILENT = "silent"
    STATUS_CHECKS = "status_checks"
    TROUBLE = "trouble"
    TROUBLE_HTTP = "trouble_http"
    REJECTED = "rejected"
    REJECTED_DETAIL = "rejected_detail"
    AUTH_REFUSED = "auth_refused"
    KEY_REFUSED = "key_refused"
    ACCESS_REFUSED = "access_refused"
    OUT_OF_CREDIT = "out_of_credit"
    NO_QUOTA_LEFT = "no_quota_left"
    SLOW_DOWN = "slow_down"
    SLOW_DOWN_SECONDS = "slow_down_seconds"
    GPU_QUOTA = "gpu_quota"
    BROKE_OFF = "broke_off"
    STOPPED_MIDWAY = "stopped_midway"
    STREAM_ENDED = "stream_ended"
    CONNECTION_CUT = "connection_cut"
    # What the upstream answered
    UNREADABLE_RESPONSE = "unreadable_response"
    UNREADABLE_IMAGE = "unreadable_image"
    UNREADABLE_RESULT = "unreadable_result"
    UNREADABLE_SIGNUP = "unreadable_signup"
    UNREADABLE_TOKEN = "unreadable_token"
    UNREADABLE_JOB_ID = "unreadable_job_id"
    UNREADABLE_ERROR = "unreadable_error"
    UNREADABLE_API = "unreadable_api"
    UNREADABLE_ENDPOINT = "unreadable_endpoint"
    NO_ENDPOINT = "no_endpoint"
    NO_PROMPT_INPUT = "no_prompt_input"
    UNFILLABLE_INPUT = "unfillable_input"
    UNFILLABLE_INPUT_KIND = "unfillable_input_kind"
    INCOMPLETE = "incomplete"
    UNKNOWN_STATUS = "unknown_status"
    FOREIGN_HOST = "foreign_host"
    RESULT_WITHOUT_IMAGE = "result_without_image"
    IMAGE_WITHOUT_URL = "image_without_url"
    NO_PICTURES = "no_pictures"
    RETURNED_NO_IMAGES = "returned_no_images"
    FINISHED_WITHOUT_IMAGES = "finished_without_images"
    FINISHED_WITHOUT_SENDING = "finished_without_sending"
    NOT_A_PICTURE = "not_a_picture"
    UNDECODABLE_PICTURE = "undecodable_picture"
    EMPTY_ANSWER = "empty_answer"
    SENT_EMPTY_ANSWER = "sent_empty_answer"
    CANNOT_ANSWER = "cannot_answer"
    CONTENT_FILTER = "content_filter"
    CONTENT_POLICY = "content_policy"
    SAFETY_CHECKER = "safety_checker"
    MODERATION = "moderation"
    MODERATION_REASON = "moderation_reason"
    ANSWERED_WITHOUT_PICTURE = "answered_without_picture"
    GENERATION_FAILED = "generation_failed"
    GENERATION_FAILED_STATUS = "generation_failed_status"
    COULD_NOT_DRAW = "could_not_draw"
    FAILED_WITH_REASON = "failed_with_reason"
    SPACE_FAILED = "space_failed"
    CANCELLED = "cancelled"
    # Fetching the pictures
    SLOW_PICTURE = "slow_picture"
    ADDRESS_REFUSED = "address_refused"
    ADDRESS_UNREACHABLE = "address_unreachable"
    ADDRESS_PRIVATE = "address_private"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    PICTURE_TOO_BIG = "picture_too_big"
    PICTURE_TOO_LARGE = "picture_too_large"
    PICTURE_TOO_LARGE_SIZE = "picture_too_large_size"
    # The user's request (InvalidOption, UnknownModel)
    EMPTY_PROMPT = "empty_prompt"
    EMPTY_QUESTION = "empty_question"
    EMPTY_IMAGE = "empty_image"
    IMAGE_TYPES = "image_types"
    MODEL_IMAGE_TYPES = "model_image_types"
    ONE_IMAGE = "one_image"
    IMAGE_COUNT = "image_count"
    RATIOS = "ratios"
    NO_SUCH_RATIO = "no_such_ratio"
    NOT_A_RATIO = "not_a_ratio"
    NO_SUCH_SAMPLER = "no_such_sampler"
    NO_STEPS = "no_steps"
    STEPS_RANGE = "steps_range"
    STEPS_WHOLE = "steps_whole"
    NO_GUIDANCE = "no_guidance"
    GUIDANCE_RANGE = "guidance_range"
    NO_NEGATIVE_PROMPT = "no_negative_prompt"
    NO_SEED = "no_seed"
    TAKES_RANGE = "takes_range"
    TAKES_AT_LEAST = "takes_at_least"
    TAKES_AT_MOST = "takes_at_most"
    NEEDS_PICTURE = "needs_picture"
    TAKES_NO_PICTURES = "takes_no_pictures"
    ONE_PICTURE = "one_picture"
    PICTURE_COUNT = "picture_count"
    NO_STRENGTH = "no_strength"
    STRENGTH_RANGE = "strength_range"
    NOT_EDIT_MODEL = "not_edit_model"
    NOT_IMAGE_MODEL = "not_image_model"
    NOT_VISION_MODEL = "not_vision_model"
    DOES_NOT_DRAW = "does_not_draw"
    DOES_NOT_ASK = "does_not_ask"
    UNKNOWN_MODEL = "unknown_model"
    UNKNOWN_MODEL_SUGGESTIONS = "unknown_model_suggestions"
    # Fallback
    DOWN = "down"
    OVER_BUDGET = "over_budget"
    NO_RESULT = "no_result"
    HAD_FAILED = "had_failed"
    ALL_FAILED = "all_failed"


# The English sentence of each code; ``{name}`` is filled from the error's params.
SENTENCES: Mapping[ErrorCode, str] = {
    ErrorCode.UNREACHABLE: "cannot be reached right now",
    ErrorCode.TIMEOUT: "took too long to answer",
    ErrorCode.DEADLINE: "did not finish within {seconds:g} seconds",
    ErrorCode.SILENT: "sent nothing for {seconds:g} seconds",
    ErrorCode.STATUS_CHECKS: "did not finish the image after {attempts} status checks",
    ErrorCode.TROUBLE: "is having trouble",
    ErrorCode.TROUBLE_HTTP: "is having trouble (HTTP {status})",
    ErrorCode.REJECTED: "rejected the request (HTTP {status})",
    ErrorCode.REJECTED_DETAIL: "rejected the request (HTTP {status}: {detail})",
    ErrorCode.AUTH_REFUSED: "refused our credentials",
    ErrorCode.KEY_REFUSED: "refused our API key (HTTP {status})",
    ErrorCode.ACCESS_REFUSED: "refused access to this model (HTTP {status})",
    ErrorCode.OUT_OF_CREDIT: "says the account is out of credit or over its quota",
    ErrorCode.NO_QUOTA_LEFT: "has no quota or credit left for this key",
    ErrorCode.SLOW_DOWN: "is busy and asked us to slow down; try again in a minute",
    ErrorCode.SLOW_DOWN_SECONDS: (
        "is busy and asked us to slow down; try again in {seconds:g} seconds"
    ),
    ErrorCode.GPU_QUOTA: "is out of GPU quota: {reason}",
    ErrorCode.BROKE_OFF: "broke off its answer; please try again",
    ErrorCode.STOPPED_MIDWAY: "stopped answering mid-way; please try again",
    ErrorCode.STREAM_ENDED: "ended the stream before the image was ready",
    ErrorCode.CONNECTION_CUT: "cut the connection before the image was ready",
    ErrorCode.UNREADABLE_RESPONSE: "sent a response we could not read",
    ErrorCode.UNREADABLE_IMAGE: "sent an image we could not read",
    ErrorCode.UNREADABLE_RESULT: "sent a result we could not read",
    ErrorCode.UNREADABLE_SIGNUP: "sent an unreadable sign-up answer",
    ErrorCode.UNREADABLE_TOKEN: "sent an unreadable token answer",
    ErrorCode.UNREADABLE_JOB_ID: "sent an unreadable job id",
    ErrorCode.UNREADABLE_ERROR: "reported an error we could not read",
    ErrorCode.UNREADABLE_API: "sent an API description we could not read",
    ErrorCode.UNREADABLE_ENDPOINT: "described {path} in a way we could not read",
    ErrorCode.NO_ENDPOINT: "has no endpoint {path} (it has: {known})",
    ErrorCode.NO_PROMPT_INPUT: "{endpoint} has no text input for the prompt",
    ErrorCode.UNFILLABLE_INPUT: "{endpoint} needs the input '{name}', which the bot cannot fill",
    ErrorCode.UNFILLABLE_INPUT_KIND: (
        "{endpoint} needs the input '{name}' ({kind}), which the bot cannot fill"
    ),
    ErrorCode.INCOMPLETE: "sent an incomplete response (no {key})",
    ErrorCode.UNKNOWN_STATUS: "sent an unknown status '{status}'",
    ErrorCode.FOREIGN_HOST: "sent a {key} on another host",
    ErrorCode.RESULT_WITHOUT_IMAGE: "sent a result without an image",
    ErrorCode.IMAGE_WITHOUT_URL: "sent an image without a URL",
    ErrorCode.NO_PICTURES: "sent no pictures",
    ErrorCode.RETURNED_NO_IMAGES: "returned no images",
    ErrorCode.FINISHED_WITHOUT_IMAGES: "finished without images",
    ErrorCode.FINISHED_WITHOUT_SENDING: "finished without sending the images",
    ErrorCode.NOT_A_PICTURE: "sent something that is not a picture",
    ErrorCode.UNDECODABLE_PICTURE: "sent a picture we could not decode",
    ErrorCode.EMPTY_ANSWER: "gave an empty answer",
    ErrorCode.SENT_EMPTY_ANSWER: "sent an empty answer",
    ErrorCode.CANNOT_ANSWER: "could not answer this question",
    ErrorCode.CONTENT_FILTER: "refused to answer (content filter)",
    ErrorCode.CONTENT_POLICY: "refused this request (content policy)",
    ErrorCode.SAFETY_CHECKER: "withheld the picture (its safety checker flagged it)",
    ErrorCode.MODERATION: "refused this request (its moderation flagged it)",
    ErrorCode.MODERATION_REASON: "refused this request (its moderation flagged it: {reason})",
    ErrorCode.ANSWERED_WITHOUT_PICTURE: "answered in words, without a picture: {reason}",
    ErrorCode.GENERATION_FAILED: "image generation failed",
    ErrorCode.GENERATION_FAILED_STATUS: "generation failed (status {status})",
    ErrorCode.COULD_NOT_DRAW: "could not draw it: {reason}",
    ErrorCode.FAILED_WITH_REASON: "failed: {reason}",
    ErrorCode.SPACE_FAILED: "failed (wrong inputs or an error in the Space)",
    ErrorCode.CANCELLED: "cancelled the prediction",
    ErrorCode.SLOW_PICTURE: "took too long to send the picture",
    ErrorCode.ADDRESS_REFUSED: "sent a picture address we do not fetch",
    ErrorCode.ADDRESS_UNREACHABLE: "sent a picture address that cannot be reached",
    ErrorCode.ADDRESS_PRIVATE: (
        "sent a picture address on a private network, which we do not fetch"
    ),
    ErrorCode.TOO_MANY_REDIRECTS: "redirected the picture download too often",
    ErrorCode.PICTURE_TOO_BIG: "sent a picture larger than {mb} MB",
    ErrorCode.PICTURE_TOO_LARGE: "sent a picture too large to handle",
    ErrorCode.PICTURE_TOO_LARGE_SIZE: "sent a picture too large to handle ({width}×{height})",
    ErrorCode.EMPTY_PROMPT: "The prompt is empty.",
    ErrorCode.EMPTY_QUESTION: "The question is empty.",
    ErrorCode.EMPTY_IMAGE: "The image is empty.",
    ErrorCode.IMAGE_TYPES: "Only JPEG, PNG, WebP and GIF images can be asked about.",
    ErrorCode.MODEL_IMAGE_TYPES: "{model} reads JPEG, PNG, WebP and GIF images only.",
    ErrorCode.ONE_IMAGE: "{model} makes one image at a time.",
    ErrorCode.IMAGE_COUNT: "{model} makes 1 to {max} images at a time.",
    ErrorCode.RATIOS: "{model} supports the aspect ratios {allowed}.",
    ErrorCode.NO_SUCH_RATIO: "{model} has no aspect ratio '{value}'; use {allowed}.",
    ErrorCode.NOT_A_RATIO: "'{value}' is not an aspect ratio like 16:9.",
    ErrorCode.NO_SUCH_SAMPLER: "{model} has no sampler '{value}'; use {allowed}.",
    ErrorCode.NO_STEPS: "{model} does not take a number of steps.",
    ErrorCode.STEPS_RANGE: "Steps for {model} must be between {low} and {high}.",
    ErrorCode.STEPS_WHOLE: "Steps for {model} must be a whole number from {low} to {high}.",
    ErrorCode.NO_GUIDANCE: "{model} does not take a guidance scale.",
    ErrorCode.GUIDANCE_RANGE: "Guidance for {model} must be between {low:g} and {high:g}.",
    ErrorCode.NO_NEGATIVE_PROMPT: "{model} does not take a negative prompt.",
    ErrorCode.NO_SEED: "{model} does not take a seed.",
    ErrorCode.TAKES_RANGE: "takes {option} from {low} to {high}",
    ErrorCode.TAKES_AT_LEAST: "takes {option} of at least {low}",
    ErrorCode.TAKES_AT_MOST: "takes {option} of at most {high}",
    ErrorCode.NEEDS_PICTURE: "{model} changes pictures: send it one with your instruction.",
    ErrorCode.TAKES_NO_PICTURES: "{model} draws from text only and takes no pictures.",
    ErrorCode.ONE_PICTURE: "{model} takes one picture at a time.",
    ErrorCode.PICTURE_COUNT: "{model} takes 1 to {max} pictures at a time.",
    ErrorCode.NO_STRENGTH: "{model} does not take a strength.",
    ErrorCode.STRENGTH_RANGE: "Strength for {model} must be between 0 and 1.",
    ErrorCode.NOT_EDIT_MODEL: "{model} is not an edit model.",
    ErrorCode.NOT_IMAGE_MODEL: "{model} is not an image model.",
    ErrorCode.NOT_VISION_MODEL: "{model} is not a vision model.",
    ErrorCode.DOES_NOT_DRAW: "{name} does not draw images.",
    ErrorCode.DOES_NOT_ASK: "{name} does not answer questions about images.",
    ErrorCode.UNKNOWN_MODEL: "Unknown model '{name}'.",
    ErrorCode.UNKNOWN_MODEL_SUGGESTIONS: "Unknown model '{name}'. Did you mean: {suggestions}?",
    ErrorCode.DOWN: "is down",
    ErrorCode.OVER_BUDGET: "has spent its budget for today",
    ErrorCode.NO_RESULT: "finished without a result",
    ErrorCode.HAD_FAILED: "had failed",
    ErrorCode.ALL_FAILED: "No model could take this job right now ({listed}).",
}

# What TAKES_* name as ``option``: the role of the Space's parameter, in English.
OPTION_WORDS: Mapping[str, str] = {"seed": "seeds", "steps": "steps", "cfg": "a guidance scale"}


def english(code: ErrorCode, params: Mapping[str, Param]) -> str:
    """The English sentence of ``code`` with ``params`` filled in."""
    values = dict(params)
    if "option" in values:
        values["option"] = OPTION_WORDS.get(str(values["option"]), str(values["option"]))
    return SENTENCES[code].format(**values)


class ProviderError(Exception):
    """Base class: an upstream could not give us what we asked for.

    ``code`` says which failure it is and ``params`` the values its sentence names;
    ``str(error)`` is that sentence in English, fit for a chat message; it never contains
    tokens, headers or raw response bodies. ``provider`` is the provider's label when known.
    """

    def __init__(self, code: ErrorCode, /, *, provider: str | None = None, **params: Param) -> None:
        super().__init__(english(code, params))
        self.code = code
        self.params: Mapping[str, Param] = params
        self.provider = provider

    @property
    def user_message(self) -> str:
        """The text to show a user, naming the provider when known."""
        text = str(self)
        return f"{self.provider}: {text}" if self.provider else text


class ResponseError(ProviderError):
    """The upstream answered, but with a failure or with something we cannot read."""


class RateLimited(ProviderError):
    """The upstream asked us to slow down (HTTP 429 or a quota message)."""

    def __init__(
        self,
        code: ErrorCode,
        /,
        *,
        provider: str | None = None,
        retry_after: float | None = None,
        **params: Param,
    ) -> None:
        super().__init__(code, provider=provider, **params)
        self.retry_after = retry_after


class AuthError(ProviderError):
    """The upstream refused our credentials and getting new ones failed."""


class ProviderTimeout(ProviderError):
    """The upstream took longer than we allow."""


class ProviderUnavailable(ProviderError):
    """The upstream cannot be reached or answered with a server error."""


class UnknownModel(ProviderError):
    """No model matches the name; ``suggestions`` lists close matches."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        if suggestions:
            super().__init__(
                ErrorCode.UNKNOWN_MODEL_SUGGESTIONS, name=name, suggestions=", ".join(suggestions)
            )
        else:
            super().__init__(ErrorCode.UNKNOWN_MODEL, name=name)
        self.name = name
        self.suggestions = suggestions


class InvalidOption(ProviderError):
    """An option value is outside what the model accepts."""


class Refused(ProviderError):
    """The upstream's moderation refused the request (OpenAI ``moderation_blocked``, fal and
    Pollinations ``content_policy_violation``, Replicate E005): about what was asked, not a
    failure of the provider, so no other model is tried and its health is not marked."""


class AdjustmentCode(StrEnum):
    """How a request was adapted to a fallback model; :data:`ADJUSTMENTS` holds the English."""

    RATIO = "ratio"
    ONE_IMAGE = "one_image"
    IMAGES = "images"
    DEFAULT_GUIDANCE = "default_guidance"
    DEFAULT_STEPS = "default_steps"
    NO_NEGATIVE_PROMPT = "no_negative_prompt"
    RANDOM_SEED = "random_seed"
    ONE_PICTURE = "one_picture"
    PICTURES = "pictures"
    NO_STRENGTH = "no_strength"


ADJUSTMENTS: Mapping[AdjustmentCode, str] = {
    AdjustmentCode.RATIO: "{ratio} instead of {wanted}",
    AdjustmentCode.ONE_IMAGE: "{count} image instead of {wanted}",
    AdjustmentCode.IMAGES: "{count} images instead of {wanted}",
    AdjustmentCode.DEFAULT_GUIDANCE: "its own default guidance",
    AdjustmentCode.DEFAULT_STEPS: "its own default steps",
    AdjustmentCode.NO_NEGATIVE_PROMPT: "without the negative prompt",
    AdjustmentCode.RANDOM_SEED: "a random seed",
    AdjustmentCode.ONE_PICTURE: "your first picture only, of {wanted}",
    AdjustmentCode.PICTURES: "your first {count} pictures, of {wanted}",
    AdjustmentCode.NO_STRENGTH: "its own default strength",
}


@dataclass(frozen=True)
class Adjustment:
    """One change made to a request for a fallback model; ``str()`` is the English note
    ("16:9 instead of 21:9")."""

    code: AdjustmentCode
    params: Mapping[str, Param] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        return ADJUSTMENTS[self.code].format(**self.params)
