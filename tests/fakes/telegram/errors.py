"""Telegram's limits and error texts, and ApiError, the error answer method handlers raise."""

from __future__ import annotations

MiB = 1024 * 1024
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes, UTF-8
ALBUM_LIMIT = 10
PHOTO_UPLOAD_LIMIT = 10 * MiB
PHOTO_URL_LIMIT = 5 * MiB
FILE_URL_LIMIT = 20 * MiB
UPLOAD_LIMIT = 50 * MiB  # api.telegram.org refuses bigger requests with 413
DOWNLOAD_LIMIT = 20 * MiB  # getFile refuses bigger files
PHOTO_DIMENSIONS_LIMIT = 10000  # width + height
PHOTO_RATIO_LIMIT = 20

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
REPLY_NOT_FOUND = "Bad Request: message to be replied not found"
THREAD_NOT_FOUND = "Bad Request: message thread not found"
NOT_A_FORUM = "Bad Request: the chat is not a forum"
TOPIC_RIGHTS = "Bad Request: not enough rights to create a topic"
CHAT_NOT_FOUND = "Bad Request: chat not found"
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
EDIT_TOO_LONG = "Bad Request: MESSAGE_TOO_LONG"
# Drafts are a chat action underneath (TDLib's sendTextMessageDraft -> messages.setTyping), so
# their refusals are MTProto's: a chat that is not a private one, and (assumed: the draft id
# travels as the action's random_id) a zero draft_id.
DRAFT_PEER_INVALID = "Bad Request: TEXTDRAFT_PEER_INVALID"
DRAFT_ID_INVALID = "Bad Request: RANDOM_ID_INVALID"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
BUTTON_URL_INVALID = "Bad Request: BUTTON_URL_INVALID"
BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
URL_FAILED = "Bad Request: failed to get HTTP URL content"
URL_WRONG_TYPE = "Bad Request: wrong type of the web page content"
WRONG_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"
IMAGE_PROCESS_FAILED = "Bad Request: IMAGE_PROCESS_FAILED"
PHOTO_INVALID_DIMENSIONS = "Bad Request: PHOTO_INVALID_DIMENSIONS"
FILE_EMPTY = "Bad Request: file must be non-empty"
ALBUM_EMPTY = "Bad Request: there are no messages to send"
ALBUM_TOO_BIG = "Bad Request: too many messages to send as an album"
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
INLINE_MESSAGE_INVALID = "Bad Request: MESSAGE_ID_INVALID"
# What TDLib answers when an inline message is edited to a file that is not on Telegram yet.
INLINE_UPLOAD_REFUSED = "Bad Request: invalid message content specified"
INLINE_RESULTS_LIMIT = 50
RESULT_ID_LIMIT = 64  # bytes
GET_UPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
BLOCKED = "Forbidden: bot was blocked by the user"


class ApiError(Exception):
    """An error answer of the Bot API (raised inside method handlers)."""

    def __init__(
        self,
        description: str,
        error_code: int = 400,
        *,
        retry_after: int | None = None,
        per_item: bool = False,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id
        # Failures Telegram's servers report per album item ("failed to send message #N ...").
        self.per_item = per_item
