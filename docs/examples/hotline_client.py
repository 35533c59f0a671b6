#!/usr/bin/env python3
"""A 12345 hotline system talking to 企呼政应's API: file an appeal taken on the phone, poll its
progress, and print the department's reply once it is published.

Standard library only, so it runs on any Python 3.9+ without installing anything:

    export QIHU_URL=https://qihu.example.gov.cn QIHU_TOKEN=qh_...   # a commissioner token
    python3 hotline_client.py file --ticket 12345-20261205-0042 \
        --enterprise 宣城示范科技有限公司 --contact 张三 --phone 13805630001 \
        --title "厂区门前道路破损" --content "园区三号路多处塌陷，请尽快修复。"
    python3 hotline_client.py status --number XC-2026-000123 --code <query code>
    python3 hotline_client.py wait --number XC-2026-000123 --code <query code> --timeout 600

`file` prints the receipt as JSON (number and query code: keep both, the code is shown once).
The Idempotency-Key is derived from the hotline's own ticket id, so a retry after a timeout,
a 429 or a 503 can never file the same call twice. `wait` exits 0 with the reply printed,
or 3 if no reply was published within the timeout.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

RETRYABLE = {429, 502, 503, 504}


class ApiError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(f"{status} {body.get('code')}: {body.get('message')}")
        self.status = status
        self.body = body


def call(base: str, path: str, body: dict, *, token: str = "", key: str = "", tries: int = 5):
    """POST JSON to the API; retry what the API says is worth retrying, after Retry-After."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    if key:
        headers["Idempotency-Key"] = key
    if not base.startswith(("https://", "http://")):
        raise ValueError(f"QIHU_URL must be an http(s) address, not {base!r}")
    data = json.dumps(body, ensure_ascii=False).encode()
    for attempt in range(1, tries + 1):
        url = base.rstrip("/") + path  # http(s) only, checked above
        request = urllib.request.Request(url, data, headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return json.load(answer)
        except urllib.error.HTTPError as error:
            answer = json.loads(error.read() or b"{}")
            if error.code not in RETRYABLE or attempt == tries:
                raise ApiError(error.code, answer) from None
            time.sleep(min(int(error.headers.get("Retry-After") or 1), 30))
        except urllib.error.URLError:
            if attempt == tries:
                raise
            time.sleep(attempt)
    raise AssertionError("unreachable")


def file_appeal(base: str, token: str, args) -> dict:
    body = {
        "channel": "hotline",
        "title": args.title,
        "content": args.content,
        "enterprise_name": args.enterprise,
        "credit_code": args.credit_code,
        "contact_name": args.contact,
        "contact_phone": args.phone,
    }
    # One hotline ticket, one appeal: the same key on every retry of this ticket.
    return call(base, "/api/v1/appeals/", body, token=token, key=f"hotline-{args.ticket}")


def status(base: str, number: str, code: str) -> dict:
    return call(base, "/api/v1/track/", {"number": number, "code": code})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("QIHU_URL", "http://127.0.0.1:8000"))
    commands = parser.add_subparsers(dest="command", required=True)
    filing = commands.add_parser("file", help="file an appeal taken on the hotline")
    filing.add_argument("--ticket", required=True, help="the hotline's own ticket id")
    filing.add_argument("--title", required=True)
    filing.add_argument("--content", required=True)
    filing.add_argument("--enterprise", default="")
    filing.add_argument("--credit-code", default="")
    filing.add_argument("--contact", default="")
    filing.add_argument("--phone", default="")
    for name in ("status", "wait"):
        sub = commands.add_parser(name, help=f"{name} by number and query code")
        sub.add_argument("--number", required=True)
        sub.add_argument("--code", required=True)
        sub.add_argument("--timeout", type=float, default=600)
        sub.add_argument("--every", type=float, default=30, help="seconds between polls")
    args = parser.parse_args(argv)

    try:
        if args.command == "file":
            token = os.environ.get("QIHU_TOKEN", "")
            if not token:
                parser.error("QIHU_TOKEN is not set")
            receipt = file_appeal(args.url, token, args)
            print(json.dumps(receipt, ensure_ascii=False))
            return 0
        deadline = time.monotonic() + args.timeout
        while True:
            appeal = status(args.url, args.number, args.code)
            if args.command == "status" or appeal["replies"]:
                print(json.dumps(appeal, ensure_ascii=False))
                return 0
            if time.monotonic() >= deadline:
                print(f"{args.number}: {appeal['status_display']}, no reply yet", file=sys.stderr)
                return 3
            time.sleep(args.every)
    except ApiError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
