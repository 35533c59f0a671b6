"""Notifications: an outbox in the database, sent after commit, re-driven by a sweep.

A notification row is written in the same transaction as the event that causes it, so an
event never happens without its notification. Sending happens after commit through Celery; if
the broker is down the row waits, unsent, until `notifications_redrive` picks it up. Each row
has a unique `dedupe_key`, so the same effect never notifies the same person twice."""

import json
import logging
import time
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appeals.events import Text, notification_body, notification_subject, say
from appeals.models import Appeal, EventCode, Notification, SmsOptOut
from appeals.sms import send_sms
from appeals.validators import normalize_phone
from core.jobs import enqueue
from core.writes import Writes, writing
from departments.audit import audit_record

logger = logging.getLogger(__name__)

# After this many failed sends a notification is left for the office to look at (last_error).
MAX_ATTEMPTS = 5

STAFF_CHANNELS = (Notification.Channel.INAPP, Notification.Channel.EMAIL)

_replaying: ContextVar[bool] = ContextVar("notifications_replaying", default=False)


@contextmanager
def replaying() -> Iterator[None]:
    """For the demo command, which replays months of history through the services: the
    notifications are recorded as delivered then, never sent now."""
    token = _replaying.set(True)
    try:
        yield
    finally:
        _replaying.reset(token)


def _words(subject: Text | str, body: Text | str) -> dict:
    """The columns that store a notification's subject and body: each a text code (rendered
    when read or sent) with the parameters they share, or words stored as they are."""
    params: dict = {}
    for part in (subject, body):
        if isinstance(part, Text):
            for name, value in part.params.items():
                if params.setdefault(name, value) != value:
                    raise ValueError(f"subject and body disagree on {name!r}")
    return {
        "subject_code": subject.code if isinstance(subject, Text) else "",
        "body_code": body.code if isinstance(body, Text) else "",
        "params": params,
        "subject": "" if isinstance(subject, Text) else subject[:200],
        "body": "" if isinstance(body, Text) else body,
    }


def recipient_language(notification: Notification) -> str:
    """The language a notification is sent in (e-mail, SMS; in-app text is rendered when read,
    in the reader's interface language). An enterprise gets the language it chose when it
    filed (Appeal.language, Chinese unless it chose otherwise): the SMS to its number and the
    messages to the account that filed. Staff accounts store no language preference (the
    interface language is a cookie of one browser), so staff get the site's language, Chinese.
    Never the language of whoever caused the message."""
    appeal = notification.appeal
    if appeal is not None and (
        notification.recipient_id is None or notification.recipient_id == appeal.filed_by_id
    ):
        return appeal.language
    return settings.LANGUAGE_CODE


# What the enterprise is told by SMS, by the event that tells it (issue #19 part 5).
# The answers every named filer with a phone gets, opted in or not: the receipt, a request for
# material (its clocks wait on it), and the ends of the loop.
SMS_ALWAYS = frozenset(
    {
        EventCode.FILED,
        EventCode.MATERIAL_REQUESTED,
        EventCode.REPLIED,
        EventCode.NOT_ACCEPTED,
        EventCode.REDIRECTED,
        EventCode.MERGED,
    }
)
# The steps only a filer who opted in is told of.
SMS_OPTED_IN = frozenset(
    {EventCode.ROUTED, EventCode.CLOSED, EventCode.RATING_LAPSED, EventCode.FOLLOWED_UP}
)
# The ends of the loop: the answer the enterprise filed for (seed 004 item 47, "结果有反馈";
# a decline always with a written explanation to it). Sent even to a number that unsubscribed:
# the unsubscribe word stops the progress messages, not the answer itself.
SMS_ANSWERS = frozenset(
    {EventCode.REPLIED, EventCode.NOT_ACCEPTED, EventCode.REDIRECTED, EventCode.MERGED}
)


@dataclass(frozen=True)
class EnterpriseSms:
    """Where an event's SMS to the enterprise goes ("": none) and whether it ends with the
    unsubscribe word."""

    phone: str = ""
    unsubscribe: bool = False


def enterprise_sms(appeal: Appeal, code: str, *, opted_out: bool | None = None) -> EnterpriseSms:
    """The one rule for texting the enterprise about an event of its appeal. Never an anonymous
    filing (it gave no number to be called on). A number that answered TD (SmsOptOut) gets only
    the answers (SMS_ANSWERS), without the word; a filer who opted in gets every step, each
    ending with the word; others get the answers owed to every filer (SMS_ALWAYS). `opted_out`:
    whether the number answered TD, when the caller has read it (the filing, in the statement
    that numbers the appeal); otherwise it is read here."""
    phone = sms_phone(appeal)
    if not phone or code not in SMS_ALWAYS | SMS_OPTED_IN:
        return EnterpriseSms()
    if opted_out is None:
        opted_out = SmsOptOut.objects.filter(phone=phone).exists()
    if opted_out:
        return EnterpriseSms(phone) if code in SMS_ANSWERS else EnterpriseSms()
    if appeal.sms_opt_in:
        return EnterpriseSms(phone, unsubscribe=True)
    return EnterpriseSms(phone) if code in SMS_ALWAYS else EnterpriseSms()


def sms_phone(appeal: Appeal) -> str:
    """The number SMS about the appeal go to: none for an anonymous filing."""
    return "" if appeal.is_anonymous else appeal.contact_phone


# The parameter that marks an SMS as ending with the unsubscribe word (no text uses the name).
UNSUBSCRIBE_PARAM = "_unsubscribe"


def sms_text(notification: Notification) -> str:
    """An SMS's words in the active language, with the unsubscribe word when it carries one."""
    body = notification_body(notification)
    if notification.params.get(UNSUBSCRIBE_PARAM):
        return _("%(text)s回复TD退订") % {"text": body}
    return body


def _sms_words(body: Text | str, unsubscribe: bool) -> dict:
    words = _words(body, body)
    if unsubscribe:
        words["params"] = {**words["params"], UNSUBSCRIBE_PARAM: 1}
    return words


def _delivered_now(channel: str):
    now = timezone.now()
    return now if channel == Notification.Channel.INAPP or _replaying.get() else None


def _staff_channels(users: Iterable, channels: Iterable[str]) -> Iterator[tuple]:
    """(user, channel, address) of each staff message: in-app for everyone, e-mail for those
    with an address."""
    for user in users:
        for channel in channels:
            address = user.email if channel == Notification.Channel.EMAIL else ""
            if channel == Notification.Channel.EMAIL and not address:
                continue
            yield user, channel, address


def notify_users(
    *,
    users: Iterable,
    appeal: Appeal | None,
    event: str,
    key: str,
    subject: Text | str,
    body: Text | str,
    channels: Iterable[str] = STAFF_CHANNELS,
) -> list[Notification]:
    """In-app (and e-mail, for users who have an address) notifications, once per key."""
    created = []
    for user, channel, address in _staff_channels(users, channels):
        notification, was_new = Notification.objects.get_or_create(
            dedupe_key=f"{key}:{user.pk}:{channel}",
            defaults={
                "recipient": user,
                "address": address,
                "channel": channel,
                "appeal": appeal,
                "event": event,
                **_words(subject, body),
                # An in-app message is delivered by being written.
                "sent_at": _delivered_now(channel),
            },
        )
        if was_new:
            created.append(notification)
    _dispatch_after_commit(created)
    return created


@dataclass(frozen=True)
class Notice:
    """One effect's notification to some users (what `notify_users` takes, as a value)."""

    users: Iterable
    appeal: Appeal | None
    event: str
    key: str
    subject: Text | str
    body: Text | str


def _staff_rows(notice: Notice, channels: tuple[str, ...]) -> list[Notification]:
    """The unsaved rows of one notice: per user, in-app and (with an address) e-mail."""
    return [
        Notification(
            dedupe_key=f"{notice.key}:{user.pk}:{channel}",
            recipient=user,
            address=address,
            channel=channel,
            appeal=notice.appeal,
            event=notice.event,
            **_words(notice.subject, notice.body),
            # An in-app message is delivered by being written.
            sent_at=_delivered_now(channel),
        )
        for user, channel, address in _staff_channels(notice.users, channels)
    ]


def _staff_tuples(notice: Notice, channels: tuple[str, ...]) -> list[tuple]:
    """The rows of one notice as plain values, in `_insert_many`'s order: what `_staff_rows`
    builds, without a model instance per row (an escalation sweep writes tens of thousands)."""
    words = _words(notice.subject, notice.body)
    params = json.dumps(words["params"])
    appeal_id = notice.appeal.pk if notice.appeal else None
    return [
        (
            f"{notice.key}:{user.pk}:{channel}",
            user.pk,
            address,
            channel,
            appeal_id,
            notice.event,
            words["subject_code"],
            words["body_code"],
            params,
            words["subject"],
            words["body"],
            _delivered_now(channel),
        )
        for user, channel, address in _staff_channels(notice.users, channels)
    ]


_TABLE = Notification._meta.db_table
_COLUMNS = (
    "dedupe_key, recipient_id, address, channel, appeal_id, event, subject_code, body_code, "
    "params, subject, body, sent_at, created_at, attempts, last_error"
)
# PostgreSQL: one statement per 5,000 rows, each column an array unnested on the server (a
# VALUES list of 15,000 parameters cost several times more to build and to parse).
_INSERT_UNNEST = (
    f"INSERT INTO {_TABLE} ({_COLUMNS}) "  # noqa: S608  # nosec B608 (the model's own names)
    "SELECT k, r, a, c, ap, e, sc, bc, p::jsonb, s, b, sa, %s, 0, '' FROM unnest("
    "%s::varchar[], %s::int[], %s::varchar[], %s::varchar[], %s::bigint[], %s::varchar[], "
    "%s::varchar[], %s::varchar[], %s::text[], %s::varchar[], %s::text[], %s::timestamptz[]"
    ") AS x(k, r, a, c, ap, e, sc, bc, p, s, b, sa) "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, sent_at"
)


def _insert_many(rows: list[tuple], created_at) -> list[tuple]:
    """Insert `_staff_tuples` rows, skipping dedupe keys already there. Returns (id, sent_at)
    of the rows inserted, and only those.

    Raw SQL because the ORM cannot say this: bulk_create(ignore_conflicts=True) returns no ids
    on PostgreSQL, and a model instance per row was most of a large sweep's time
    (bench/README.md, issue #16). ON CONFLICT … RETURNING is the same on PostgreSQL and on
    SQLite (3.35+); SQLite, which has no arrays, takes a VALUES list (999 parameters at most)."""
    inserted: list[tuple] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for start in range(0, len(rows), 5000):
                columns = [list(column) for column in zip(*rows[start : start + 5000], strict=True)]
                cursor.execute(_INSERT_UNNEST, [created_at, *columns])
                inserted += cursor.fetchall()
            return inserted
        at = connection.ops.adapt_datetimefield_value
        placeholder = "(" + ", ".join(["%s"] * 15) + ")"
        for start in range(0, len(rows), 66):
            chunk = rows[start : start + 66]
            cursor.execute(
                f"INSERT INTO {_TABLE} ({_COLUMNS}) "  # noqa: S608  # nosec B608
                f"VALUES {', '.join([placeholder] * len(chunk))} "
                "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, sent_at",
                [v for row in chunk for v in (*row[:-1], at(row[-1]), at(created_at), 0, "")],
            )
            inserted += cursor.fetchall()
    return inserted


def notify_users_many(notices: Iterable[Notice], channels: Iterable[str] = STAFF_CHANNELS) -> int:
    """`notify_users` for many effects at once (the escalation fan-out): every row inserted in
    a few statements that skip the dedupe keys already there (ON CONFLICT DO NOTHING), so a
    second run adds nothing, then the unsent rows this call inserted (e-mail) dispatched after
    commit. Returns the rows offered, not the rows inserted."""
    channels = tuple(channels)
    rows = [row for notice in notices for row in _staff_tuples(notice, channels)]
    if not rows:
        return 0
    inserted = _insert_many(rows, timezone.now())
    _publish_inserted(inserted)
    return len(rows)


def _dispatch_many(ids: list[int], chunk: int = 100) -> None:
    """One task per `chunk` notifications: queueing one message per e-mail cost more than
    writing the e-mails (3–6 ms a message on Redis)."""
    for start in range(0, len(ids), chunk):
        try:
            enqueue("appeals.notifications_send", ids[start : start + chunk])
        except Exception:
            logger.warning("%s notifications not dispatched; the sweep will retry", len(ids))
            return


def notify_phone(
    *, phone: str, appeal: Appeal, event: str, key: str, body: Text, unsubscribe: bool = False
) -> None:
    """An SMS to the enterprise's contact number (never with the query code in it)."""
    if not phone:
        return
    notification, was_new = Notification.objects.get_or_create(
        dedupe_key=f"{key}:sms",
        defaults={
            "address": phone,
            "channel": Notification.Channel.SMS,
            "appeal": appeal,
            "event": event,
            **_sms_words(body, unsubscribe),
            "sent_at": _delivered_now(Notification.Channel.SMS),
        },
    )
    if was_new:
        _dispatch_after_commit([notification])


def _dispatch_after_commit(notifications: list[Notification]) -> None:
    _publish_on_commit([n.pk for n in notifications if n.sent_at is None])


def _publish_on_commit(ids: list[int]) -> None:
    """Queue the unsent notifications one call wrote, after commit, in one message to the
    broker: `appeals.notification_send` for one, `appeals.notifications_send` (per 100) for
    more. A filing writes its outbox in one call, so it publishes once when it commits; when
    filings come fast, most publish nothing (_publish)."""
    if ids:
        transaction.on_commit(lambda: _publish(ids))


# A message to the broker costs a request about a millisecond and a half (Celery's message and
# a Redis round trip: a fifth of a filing, bench/README.md). So a process that published less
# than DRAIN_DELAY ago queues one `appeals.notifications_drain` to run DRAIN_DELAY later
# instead, and until then its commits publish nothing: the drain starts after them and sends
# every notification not yet tried, theirs included. Under load a process publishes about
# twice per DRAIN_DELAY, not once per filing; an SMS waits at most that much longer. Only a
# request's own few rows: the escalation fan-out's thousands go out in chunks as before.
DRAIN_DELAY = 0.5  # seconds
# The worker's clock may run ahead of this one's: a commit this close to the drain's start
# publishes as if no drain were queued.
DRAIN_MARGIN = 0.1
# A drain's sends, one after another: well inside the task's time limit at a slow gateway.
DRAIN_BATCH = 100
_FEW = 10


@dataclass
class _Published:
    at: float = float("-inf")  # the last message this process sent (time.time())
    drain_at: float = float("-inf")  # when the drain it queued last starts


_published = _Published()


def _publish(ids: list[int]) -> None:
    now = time.time()
    # Eager (the tests): a task runs when queued, so no drain is ever waiting.
    eager = current_app.conf.task_always_eager
    if len(ids) <= _FEW and not eager:
        if now < _published.drain_at - DRAIN_MARGIN:
            return  # the queued drain starts after this commit and sends these
        if now - _published.at < DRAIN_DELAY:
            try:
                enqueue("appeals.notifications_drain", countdown=DRAIN_DELAY)
            except Exception:
                logger.warning(
                    "notification %s not dispatched; the sweep will retry",
                    ", ".join(map(str, ids)),
                )
                return
            _published.drain_at = now + DRAIN_DELAY
            return
    _published.at = now
    if len(ids) == 1:
        _dispatch(ids)
    else:
        _dispatch_many(ids)


def _dispatch(ids: list[int]) -> None:
    for notification_id in ids:
        try:
            enqueue("appeals.notification_send", notification_id)
        except Exception:
            # The broker is down: the row stays unsent and the re-drive sweep sends it later.
            logger.warning("notification %s not dispatched; the sweep will retry", notification_id)


def notifications_drain(*, batch: int = DRAIN_BATCH) -> int:
    """Send the notifications never tried yet, oldest first (_publish: those whose commit
    published nothing because a drain was on its way). Safe twice, and beside the tasks of
    single rows: `notification_deliver` locks each row and checks it is still unsent. A row
    that failed once is left to the re-drive sweep, which waits before trying again. A full
    batch queues the next one. A row whose sending raises is logged and passed over: it
    never holds up the rows behind it."""
    ids = list(
        Notification.objects.filter(sent_at__isnull=True, attempts=0)
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    sent = 0
    for pk in ids:
        try:
            sent += notification_deliver(notification_id=pk)
        except Exception:
            logger.exception("notification %s not sent by the drain", pk)
    if len(ids) == batch:
        enqueue("appeals.notifications_drain")
    return sent


def notification_deliver(*, notification_id: int) -> bool:
    """Send one notification if it has not been sent. Safe to run twice and from two workers
    at once: the row is locked (skipped if another worker holds it) and re-checked.

    The row lock is held while sending, so a worker killed mid-send leaves nothing behind: its
    transaction rolls back, the lock goes with its connection, and the task (acks_late) runs
    again on another worker (tests/security/test_faults.py). Exactly once ends at the gateway:
    a worker killed after the gateway accepted a message but before this commit sends it again.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, sent_at__isnull=True)
            .first()
        )
        if notification is None:
            return False
        notification.attempts += 1
        with translation.override(recipient_language(notification)):
            subject = notification_subject(notification)
            if notification.channel == Notification.Channel.SMS:
                body = sms_text(notification)
            else:
                body = notification_body(notification)
        try:
            if notification.channel == Notification.Channel.EMAIL:
                send_mail(subject, body, None, [notification.address])
            elif notification.channel == Notification.Channel.SMS:
                send_sms(notification.address, body)
        except Exception as exc:
            notification.last_error = f"{type(exc).__name__}: {exc}"[:300]
            notification.save(update_fields=["attempts", "last_error"])
            logger.warning("notification %s failed: %s", notification_id, type(exc).__name__)
            return False
        notification.sent_at = timezone.now()
        notification.save(update_fields=["attempts", "sent_at"])
        return True


def notifications_redrive(*, now=None, older_than=timedelta(minutes=2), batch: int = 500) -> int:
    """Send what is still unsent a while after it was written (its dispatch was lost).
    Bounded: the oldest `batch` rows, by the partial index on unsent notifications."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(
            sent_at__isnull=True, created_at__lte=now - older_than, attempts__lt=MAX_ATTEMPTS
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    return sum(notification_deliver(notification_id=pk) for pk in ids)


def notifications_mark_read(*, actor, ids: list[int]) -> None:
    """Mark the actor's own in-app messages read (a receipt, not a workflow status)."""
    if ids:
        Notification.objects.filter(pk__in=ids, recipient=actor, read_at__isnull=True).update(
            read_at=timezone.now()
        )


def notifications_mark_all_read(*, actor, up_to: int | None = None) -> int:
    """Mark every unread in-app message of the actor read; how many were. With `up_to` (the
    newest message id the page showed), only those up to it: a message that arrived after the
    reader looked stays unread, since nobody has seen it."""
    unread = Notification.objects.filter(
        recipient=actor, channel=Notification.Channel.INAPP, read_at__isnull=True
    )
    if up_to is not None:
        unread = unread.filter(pk__lte=up_to)
    return unread.update(read_at=timezone.now())


def notify_event(
    event,
    *,
    users: Iterable = (),
    enterprise: bool = False,
    subject: Text,
    body: Text | str,
    writes: Writes | None = None,
    sms: EnterpriseSms | None = None,
    key: str = "",
):
    """Notifications for one timeline event: staff in-app and by e-mail and, with `enterprise`,
    the enterprise by SMS as far as `enterprise_sms` allows. Keyed on the event, so each event
    notifies each person once. An SMS is always a `Text`: it is sent in the enterprise's
    language, not in the words of whoever caused it.

    Written in one insert, without looking first (no get_or_create): the keys name an event
    recorded in this same transaction, which no row can name yet, and each service calls this
    once per event. A second call for the same event and person would fail on the unique key,
    loudly, rather than notify twice. `writes`: the change's other rows, to go with them
    (core.writes); the notifications are dispatched once they are written and committed.
    `sms`: what `enterprise_sms` said for this event, when the caller asked it beforehand;
    `key`: the notifications' key when the event has no id yet (a filing's: one per appeal)."""
    if sms is None:
        sms = enterprise_sms(event.appeal, event.code) if enterprise else EnterpriseSms()
    if sms.phone and not isinstance(body, Text):
        raise TypeError("an SMS is sent in the enterprise's language: pass a Text")
    if not key:
        if event.pk is None:
            raise ValueError("an event written with the caller's rows has no id: pass a key")
        key = f"event:{event.pk}"
    notice = Notice(
        users=users, appeal=event.appeal, event=event.code, key=key, subject=subject, body=body
    )
    rows = _staff_rows(notice, STAFF_CHANNELS)
    if sms.phone:
        rows.append(
            Notification(
                dedupe_key=f"{key}:sms",
                address=sms.phone,
                channel=Notification.Channel.SMS,
                appeal=event.appeal,
                event=event.code,
                **_sms_words(body, sms.unsubscribe),
                sent_at=_delivered_now(Notification.Channel.SMS),
            )
        )
    if rows:
        # The ids come back from the insert (PostgreSQL, SQLite 3.35+): the dispatch needs them.
        with writing(writes) as w:
            w.insert(rows, returning=("id", "sent_at"), then=_publish_inserted)


def _publish_inserted(inserted: list[tuple]) -> None:
    _publish_on_commit([pk for pk, sent_at in inserted if sent_at is None])


def notify_closed(event) -> None:
    """The enterprise that opted in hears that its appeal closed: rated, closed by staff (销号)
    or no rating in time; one message, on the event that closed it."""
    told = say("closed_sms", n=event.appeal.number)
    notify_event(event, enterprise=True, subject=told, body=told)


# What a reply must say to unsubscribe, after the tolerant cleaning of `_unsubscribe_word`.
UNSUBSCRIBE_WORDS = frozenset({"TD", "退订", "TD退订"})


def _unsubscribe_word(text: str) -> str:
    """The text as a word to compare: full-width letters made half-width (ＴＤ → TD), upper
    case, without spaces or punctuation ("td。", " T D ")."""
    text = unicodedata.normalize("NFKC", text).upper()
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] != "P")


@transaction.atomic
def sms_opt_out_record(*, phone: str, text: str) -> bool:
    """An SMS received from `phone` (the gateway's inbound message): the unsubscribe word
    records an opt-out for that number, with history and an audit record; any other text is
    ignored. Safe to receive twice: the number is opted out once. Whether the text was the
    unsubscribe word."""
    if _unsubscribe_word(text) not in UNSUBSCRIBE_WORDS:
        return False
    phone = normalize_phone(phone)
    if SmsOptOut.objects.filter(phone=phone).exists():
        return True
    opt_out = SmsOptOut(phone=phone, text=text.strip()[:70])
    opt_out._change_reason = "sms_reply"  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            opt_out.save()
            # The gateway acted, not a user. In the opt-out's transaction, as every audit row.
            audit_record(event="sms.opted_out", actor=None, actor_name="sms-gateway", obj=opt_out)
    except IntegrityError:
        return True  # the gateway delivered the same reply twice at once: the first one counts
    return True
