"""Providers' failures in the user's language, by their codes.

providers/ knows nothing of Telegram or languages: its errors carry an ErrorCode, the values the
sentence names (``params``) and the provider's label; ``str(error)`` is the English sentence.
Here each code has a catalogue text with the same ``{placeholders}``, so English readers get
exactly the providers' sentences and Russian readers their translation, whatever the English
wording becomes. Nothing a provider did not already show the user is added, so the user-safe
rule holds.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.i18n import ENGLISH, N_, Translator
from providers import (
    Adjustment,
    AdjustmentCode,
    AuthError,
    ErrorCode,
    InvalidOption,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Switched,
    UnknownModel,
)
from providers.core.errors import Param
from providers.routing.fallback import AllFailed, reason_sentence
from providers.routing.health import Health

# Every code's text; the English must equal providers.core.errors.SENTENCES (a test checks).
TEXTS: Mapping[ErrorCode, str] = {
    ErrorCode.UNREACHABLE: N_("cannot be reached right now"),
    ErrorCode.TIMEOUT: N_("took too long to answer"),
    ErrorCode.DEADLINE: N_("did not finish within {seconds:g} seconds"),
    ErrorCode.SILENT: N_("sent nothing for {seconds:g} seconds"),
    ErrorCode.STATUS_CHECKS: N_("did not finish the image after {attempts} status checks"),
    ErrorCode.TROUBLE: N_("is having trouble"),
    ErrorCode.TROUBLE_HTTP: N_("is having trouble (HTTP {status})"),
    ErrorCode.REJECTED: N_("rejected the request (HTTP {status})"),
    ErrorCode.REJECTED_DETAIL: N_("rejected the request (HTTP {status}: {detail})"),
    ErrorCode.AUTH_REFUSED: N_("refused our credentials"),
    ErrorCode.KEY_REFUSED: N_("refused our API key (HTTP {status})"),
    ErrorCode.ACCESS_REFUSED: N_("refused access to this model (HTTP {status})"),
    ErrorCode.OUT_OF_CREDIT: N_("says the account is out of credit or over its quota"),
    ErrorCode.NO_QUOTA_LEFT: N_("has no quota or credit left for this key"),
    ErrorCode.SLOW_DOWN: N_("is busy and asked us to slow down; try again in a minute"),
    ErrorCode.SLOW_DOWN_SECONDS: N_(
        "is busy and asked us to slow down; try again in {seconds:g} seconds"
    ),
    ErrorCode.GPU_QUOTA: N_("is out of GPU quota: {reason}"),
    ErrorCode.BROKE_OFF: N_("broke off its answer; please try again"),
    ErrorCode.STOPPED_MIDWAY: N_("stopped answering mid-way; please try again"),
    ErrorCode.STREAM_ENDED: N_("ended the stream before the image was ready"),
    ErrorCode.CONNECTION_CUT: N_("cut the connection before the image was ready"),
    ErrorCode.UNREADABLE_RESPONSE: N_("sent a response we could not read"),
    ErrorCode.UNREADABLE_IMAGE: N_("sent an image we could not read"),
    ErrorCode.UNREADABLE_RESULT: N_("sent a result we could not read"),
    ErrorCode.UNREADABLE_SIGNUP: N_("sent an unreadable sign-up answer"),
    ErrorCode.UNREADABLE_TOKEN: N_("sent an unreadable token answer"),
    ErrorCode.UNREADABLE_JOB_ID: N_("sent an unreadable job id"),
    ErrorCode.UNREADABLE_ERROR: N_("reported an error we could not read"),
    ErrorCode.UNREADABLE_API: N_("sent an API description we could not read"),
    ErrorCode.UNREADABLE_ENDPOINT: N_("described {path} in a way we could not read"),
    ErrorCode.NO_ENDPOINT: N_("has no endpoint {path} (it has: {known})"),
    ErrorCode.NO_PROMPT_INPUT: N_("{endpoint} has no text input for the prompt"),
    ErrorCode.UNFILLABLE_INPUT: N_(
        "{endpoint} needs the input '{name}', which the bot cannot fill"
    ),
    ErrorCode.UNFILLABLE_INPUT_KIND: N_(
        "{endpoint} needs the input '{name}' ({kind}), which the bot cannot fill"
    ),
    ErrorCode.INCOMPLETE: N_("sent an incomplete response (no {key})"),
    ErrorCode.UNKNOWN_STATUS: N_("sent an unknown status '{status}'"),
    ErrorCode.FOREIGN_HOST: N_("sent a {key} on another host"),
    ErrorCode.RESULT_WITHOUT_IMAGE: N_("sent a result without an image"),
    ErrorCode.IMAGE_WITHOUT_URL: N_("sent an image without a URL"),
    ErrorCode.NO_PICTURES: N_("sent no pictures"),
    ErrorCode.RETURNED_NO_IMAGES: N_("returned no images"),
    ErrorCode.FINISHED_WITHOUT_IMAGES: N_("finished without images"),
    ErrorCode.FINISHED_WITHOUT_SENDING: N_("finished without sending the images"),
    ErrorCode.NOT_A_PICTURE: N_("sent something that is not a picture"),
    ErrorCode.UNDECODABLE_PICTURE: N_("sent a picture we could not decode"),
    ErrorCode.EMPTY_ANSWER: N_("gave an empty answer"),
    ErrorCode.SENT_EMPTY_ANSWER: N_("sent an empty answer"),
    ErrorCode.CANNOT_ANSWER: N_("could not answer this question"),
    ErrorCode.CONTENT_FILTER: N_("refused to answer (content filter)"),
    ErrorCode.CONTENT_POLICY: N_("refused this request (content policy)"),
    ErrorCode.SAFETY_CHECKER: N_("withheld the picture (its safety checker flagged it)"),
    ErrorCode.MODERATION: N_("refused this request (its moderation flagged it)"),
    ErrorCode.MODERATION_REASON: N_("refused this request (its moderation flagged it: {reason})"),
    ErrorCode.ANSWERED_WITHOUT_PICTURE: N_("answered in words, without a picture: {reason}"),
    ErrorCode.GENERATION_FAILED: N_("image generation failed"),
    ErrorCode.GENERATION_FAILED_STATUS: N_("generation failed (status {status})"),
    ErrorCode.COULD_NOT_DRAW: N_("could not draw it: {reason}"),
    ErrorCode.FAILED_WITH_REASON: N_("failed: {reason}"),
    ErrorCode.SPACE_FAILED: N_("failed (wrong inputs or an error in the Space)"),
    ErrorCode.CANCELLED: N_("cancelled the prediction"),
    ErrorCode.SLOW_PICTURE: N_("took too long to send the picture"),
    ErrorCode.ADDRESS_REFUSED: N_("sent a picture address we do not fetch"),
    ErrorCode.ADDRESS_UNREACHABLE: N_("sent a picture address that cannot be reached"),
    ErrorCode.ADDRESS_PRIVATE: N_(
        "sent a picture address on a private network, which we do not fetch"
    ),
    ErrorCode.TOO_MANY_REDIRECTS: N_("redirected the picture download too often"),
    ErrorCode.PICTURE_TOO_BIG: N_("sent a picture larger than {mb} MB"),
    ErrorCode.PICTURE_TOO_LARGE: N_("sent a picture too large to handle"),
    ErrorCode.PICTURE_TOO_LARGE_SIZE: N_("sent a picture too large to handle ({width}×{height})"),
    ErrorCode.EMPTY_PROMPT: N_("The prompt is empty."),
    ErrorCode.EMPTY_QUESTION: N_("The question is empty."),
    ErrorCode.EMPTY_IMAGE: N_("The image is empty."),
    ErrorCode.IMAGE_TYPES: N_("Only JPEG, PNG, WebP and GIF images can be asked about."),
    ErrorCode.MODEL_IMAGE_TYPES: N_("{model} reads JPEG, PNG, WebP and GIF images only."),
    ErrorCode.ONE_IMAGE: N_("{model} makes one image at a time."),
    ErrorCode.IMAGE_COUNT: N_("{model} makes 1 to {max} images at a time."),
    ErrorCode.RATIOS: N_("{model} supports the aspect ratios {allowed}."),
    ErrorCode.NO_SUCH_RATIO: N_("{model} has no aspect ratio '{value}'; use {allowed}."),
    ErrorCode.NOT_A_RATIO: N_("'{value}' is not an aspect ratio like 16:9."),
    ErrorCode.NO_SUCH_SAMPLER: N_("{model} has no sampler '{value}'; use {allowed}."),
    ErrorCode.NO_STEPS: N_("{model} does not take a number of steps."),
    ErrorCode.STEPS_RANGE: N_("Steps for {model} must be between {low} and {high}."),
    ErrorCode.STEPS_WHOLE: N_("Steps for {model} must be a whole number from {low} to {high}."),
    ErrorCode.NO_GUIDANCE: N_("{model} does not take a guidance scale."),
    ErrorCode.GUIDANCE_RANGE: N_("Guidance for {model} must be between {low:g} and {high:g}."),
    ErrorCode.NO_NEGATIVE_PROMPT: N_("{model} does not take a negative prompt."),
    ErrorCode.NO_SEED: N_("{model} does not take a seed."),
    ErrorCode.TAKES_RANGE: N_("takes {option} from {low} to {high}"),
    ErrorCode.TAKES_AT_LEAST: N_("takes {option} of at least {low}"),
    ErrorCode.TAKES_AT_MOST: N_("takes {option} of at most {high}"),
    ErrorCode.NEEDS_PICTURE: N_("{model} changes pictures: send it one with your instruction."),
    ErrorCode.TAKES_NO_PICTURES: N_("{model} draws from text only and takes no pictures."),
    ErrorCode.ONE_PICTURE: N_("{model} takes one picture at a time."),
    ErrorCode.PICTURE_COUNT: N_("{model} takes 1 to {max} pictures at a time."),
    ErrorCode.NO_STRENGTH: N_("{model} does not take a strength."),
    ErrorCode.STRENGTH_RANGE: N_("Strength for {model} must be between 0 and 1."),
    ErrorCode.NOT_EDIT_MODEL: N_("{model} is not an edit model."),
    ErrorCode.NOT_IMAGE_MODEL: N_("{model} is not an image model."),
    ErrorCode.NOT_VISION_MODEL: N_("{model} is not a vision model."),
    ErrorCode.DOES_NOT_DRAW: N_("{name} does not draw images."),
    ErrorCode.DOES_NOT_ASK: N_("{name} does not answer questions about images."),
    ErrorCode.UNKNOWN_MODEL: N_("Unknown model '{name}'."),
    ErrorCode.UNKNOWN_MODEL_SUGGESTIONS: N_("Unknown model '{name}'. Did you mean: {suggestions}?"),
    ErrorCode.DOWN: N_("is down"),
    ErrorCode.OVER_BUDGET: N_("has spent its budget for today"),
    ErrorCode.NO_RESULT: N_("finished without a result"),
    ErrorCode.HAD_FAILED: N_("had failed"),
    ErrorCode.ALL_FAILED: N_("No model could take this job right now ({listed})."),
}
# The TAKES_* codes' ``option`` (a Space parameter's role), as providers word it in English.
OPTIONS: Mapping[str, str] = {
    "seed": N_("seeds"),
    "steps": N_("steps"),
    "cfg": N_("a guidance scale"),
}
# How a request was adapted to a fallback model; the counted ones use ngettext (see below).
ADJUSTMENTS: Mapping[AdjustmentCode, str] = {
    AdjustmentCode.RATIO: N_("{ratio} instead of {wanted}"),
    AdjustmentCode.DEFAULT_GUIDANCE: N_("its own default guidance"),
    AdjustmentCode.DEFAULT_STEPS: N_("its own default steps"),
    AdjustmentCode.NO_NEGATIVE_PROMPT: N_("without the negative prompt"),
    AdjustmentCode.RANDOM_SEED: N_("a random seed"),
    AdjustmentCode.ONE_PICTURE: N_("your first picture only, of {wanted}"),
    AdjustmentCode.PICTURES: N_("your first {count} pictures, of {wanted}"),
    AdjustmentCode.NO_STRENGTH: N_("its own default strength"),
}
COUNTED = (AdjustmentCode.ONE_IMAGE, AdjustmentCode.IMAGES)


def _by_type(tr: Translator, error: ProviderError) -> str:
    """A sentence for a failure whose text cannot be filled, from what kind it is."""
    if isinstance(error, ProviderUnavailable):
        return tr.gettext("cannot be reached right now")
    if isinstance(error, ProviderTimeout):
        return tr.gettext("took too long to answer")
    if isinstance(error, RateLimited):
        return tr.gettext("is busy or over its quota; try again later")
    if isinstance(error, AuthError):
        return tr.gettext("refused our credentials")
    if isinstance(error, InvalidOption):
        return tr.gettext("This model cannot take these options.")
    return tr.gettext("failed to do this job")


def code_text(tr: Translator, code: ErrorCode, params: Mapping[str, Param]) -> str | None:
    """``code``'s sentence with ``params`` in ``tr``'s language; None when the params do not
    fill it (a record from another version)."""
    values: dict[str, Param] = dict(params)
    option = values.get("option")
    if isinstance(option, str):
        values["option"] = tr.gettext(OPTIONS[option]) if option in OPTIONS else option
    try:
        return tr.gettext(TEXTS[code]).format(**values)
    except (KeyError, IndexError, ValueError):
        return None


def sentence(tr: Translator, error: ProviderError) -> str:
    """A provider's sentence (without its label) in ``tr``'s language."""
    if tr.language == ENGLISH:
        return str(error)
    if isinstance(error, AllFailed):
        listed = "; ".join(
            f"{entry.id}: {reason_text(tr, reason, entry.provider.label)}"
            for entry, reason in error.tried
        )
        return tr.gettext(TEXTS[ErrorCode.ALL_FAILED]).format(listed=listed)
    return code_text(tr, error.code, error.params) or _by_type(tr, error)


def error_text(tr: Translator, error: ProviderError) -> str:
    """What a provider's failure says to the user, naming the provider when known."""
    if tr.language == ENGLISH:
        return error.user_message
    text = sentence(tr, error)
    return f"{error.provider}: {text}" if error.provider else text


def unknown_model(tr: Translator, error: UnknownModel) -> str:
    """ "Unknown model 'x'. Did you mean: …?" in ``tr``'s language."""
    return sentence(tr, error)


def reason_text(tr: Translator, reason: ProviderError, label: str) -> str:
    """Why a job moved on from a provider ("ARTA cannot be reached right now") in ``tr``'s
    language; ``label`` names the provider when the error does not."""
    if tr.language == ENGLISH:
        return reason_sentence(reason, label)
    return f"{reason.provider or label}: {sentence(tr, reason)}"


def recorded_error_text(tr: Translator, health: Health, label: str) -> str | None:
    """A provider's last error as recorded ("ARTA: cannot be reached right now") in ``tr``'s
    language; a record without a code (saved by an older version) stays as recorded."""
    text, code = health.last_error, health.last_error_code
    if tr.language == ENGLISH or text is None or code is None:
        return text
    worded = code_text(tr, code, health.last_error_params)
    return f"{label}: {worded}" if worded is not None else text


def adjustment_text(tr: Translator, note: Adjustment) -> str:
    """How a request was adapted to a fallback model, in ``tr``'s language."""
    if tr.language == ENGLISH:
        return str(note)
    if note.code in COUNTED:
        count = int(note.params["count"])
        text = tr.ngettext(
            "{count} image instead of {wanted}", "{count} images instead of {wanted}", count
        )
        return text.format(count=count, wanted=note.params["wanted"])
    return tr.gettext(ADJUSTMENTS[note.code]).format(**note.params)


def switched_parts(tr: Translator, event: Switched, from_label: str) -> tuple[str, list[str]]:
    """A Switched event's reason and adjustments in ``tr``'s language."""
    return (
        reason_text(tr, event.reason, from_label),
        [adjustment_text(tr, note) for note in event.adjustments],
    )
