#!/usr/bin/env python3
"""Drive every Switchboard service through the gateway, as the spec's test_mock_services.py does.

Standard library only (Python 3.8+), so it runs on any machine with python3:

    python3 examples/python/test_mock_services.py                       # the local stack: URL and tokens found
    python3 examples/python/test_mock_services.py --base-url http://127.0.0.1:3000 \
        --api-token "$API_TOKEN" --admin-token "$ADMIN_TOKEN"

Without options it reads SWITCHBOARD_URL, SWITCHBOARD_API_TOKEN and SWITCHBOARD_ADMIN_TOKEN (what
`npx switchboard env` prints; API_TOKEN and ADMIN_TOKEN too), else the data folder of the stack
started from this folder, with its URL: .switchboard/ (`npx switchboard start`) or .data/
(`./switchboard start` in the repository), or SWITCHBOARD_DATA_DIR.

It sends an email and follows it to `delivered`, sends WhatsApp messages and runs a small campaign,
creates a payment link and pays it, places a call and follows it to `completed`, creates a Zoom
meeting and waits for its recordings, and reads every stats route. Magic values (README, "Forcing
one request's outcome") make each outcome deterministic, so a pass means the integration works.
It prints one line per check, a table per service, then "python: N passed, N failed", and exits 1
when any check failed.
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

FOLLOW_SECONDS = 60


class CheckFailed(Exception):
    pass


class Gateway:
    def __init__(self, base_url, api_token, admin_token):
        self.base_url = base_url.rstrip("/")
        self.api_token = api_token
        self.admin_token = admin_token
        self.timings = {}

    def call(self, service, method, path, body=None, admin=False, headers=None):
        """One request; returns (status, parsed JSON or text). HTTP errors are answers, not exceptions."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + (self.admin_token if admin else self.api_token))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        self.timings.setdefault(service, []).append((time.monotonic() - started) * 1000)
        text = raw.decode("utf-8", "replace")
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def expect_status(answer, wanted, what):
    status, body = answer
    wanted = wanted if isinstance(wanted, tuple) else (wanted,)
    detail = body.get("message", "") if isinstance(body, dict) else str(body)[:200]
    expect(status in wanted, "%s: expected HTTP %s, got %s %s" % (what, "/".join(map(str, wanted)), status, detail))
    return body


def follow(what, probe):
    """Polls probe() until it returns something other than None (the gateway has no push API for these reads)."""
    until = time.monotonic() + FOLLOW_SECONDS
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > until:
            raise CheckFailed("%s: not reached within %d s" % (what, FOLLOW_SECONDS))
        time.sleep(0.25)


class Report:
    def __init__(self):
        self.checks = []

    def check(self, service, name, fn):
        try:
            detail = fn() or ""
            self.checks.append((service, True))
            print("  PASS %-8s %s%s" % (service, name, " - " + detail if detail else ""))
        except Exception as err:  # a failed check must never stop the others
            message = str(err) if isinstance(err, CheckFailed) else "%s: %s" % (type(err).__name__, err)
            self.checks.append((service, False))
            print("  FAIL %-8s %s - %s" % (service, name, message))


def email_checks(gw, report):
    sent = {}

    def send():
        body = expect_status(gw.call("email", "POST", "/api/automation/trigger/email",
                                     {"to_email": "deliver@example.com", "subject": "Hello from Python",
                                      "content": "<p>Sent by test_mock_services.py</p>"}), 202, "send_email")
        sent["id"] = body["id"]
        return "%s mode, %s" % (body["mode"], body["provider_message_id"])

    def delivered():
        expect(sent.get("id"), "no email was sent")
        row = follow("delivered", lambda: (lambda a: a[1] if a[0] == 200 and a[1].get("status") == "delivered" else None)(
            gw.call("email", "GET", "/api/automation/email/" + sent["id"])))
        return "status " + row["status"]

    def bulk():
        email_list = [{"to_email": "python%d@example.com" % i, "subject": "Bulk", "content": "<p>Hi</p>"} for i in range(20)]
        body = expect_status(gw.call("email", "POST", "/api/automation/trigger/email/batch", {"email_list": email_list}), (200, 202), "send_bulk_emails")
        if "accepted" in body:
            expect(body["accepted"] + body["failed"] == 20, "accepted + failed is not 20")
            return "%d accepted" % body["accepted"]
        return "accepted as batch %s" % body.get("id")

    def validate():
        body = expect_status(gw.call("email", "POST", "/api/automation/email/templates/validate",
                                     {"template_data": {"subject": "Hi {{name}}", "html": "<p>{{name}}</p>"}}), 200, "validate_email_template")
        expect("name" in body["placeholders"], "placeholder 'name' not found")

    def stats():
        body = expect_status(gw.call("email", "GET", "/api/automation/email/stats"), 200, "get_email_stats")
        return "%d emails" % body["total"]

    report.check("email", "send_email", send)
    report.check("email", "delivered (signed Event Webhook processed)", delivered)
    report.check("email", "send_bulk_emails (20)", bulk)
    report.check("email", "validate_email_template", validate)
    report.check("email", "get_email_stats", stats)


def whatsapp_checks(gw, report):
    template = {}

    def templates():
        body = expect_status(gw.call("whatsapp", "GET", "/api/automation/whatsapp/templates"), 200, "get_templates")
        chosen = next((t for t in body["templates"] if t["name"] == "welcome_message"), body["templates"][0])
        template.update(name=chosen["name"], params=["value %d" % (i + 1) for i in range(chosen["params"])])
        return "%d templates" % len(body["templates"])

    def send():
        body = expect_status(gw.call("whatsapp", "POST", "/api/automation/trigger/whatsapp",
                                     {"to_number": "+919000000004", "template_name": template["name"], "params": template["params"]}),
                             (200, 202), "send_message")
        return "%s mode, %s" % (body["mode"], body["status"])

    def campaign():
        contacts = [{"to_number": "96%08d" % (10000000 + i), "params": template["params"]} for i in range(25)]
        created = expect_status(gw.call("whatsapp", "POST", "/api/automation/whatsapp/campaigns",
                                        {"name": "Python campaign", "contacts": contacts, "template_name": template["name"]}),
                                (200, 201, 202), "create_campaign")
        final = ("completed", "completed_with_errors")
        done = follow("campaign finished", lambda: (lambda a: a[1] if a[0] == 200 and a[1].get("status") in final else None)(
            gw.call("whatsapp", "GET", "/api/automation/whatsapp/campaigns/" + created["id"])))
        return "%d sent, %d failed of %d" % (done["sent"], done["failed"], done["total"])

    def stats():
        body = expect_status(gw.call("whatsapp", "GET", "/api/automation/whatsapp/stats"), 200, "get_whatsapp_stats")
        return "%d messages" % body["total"]

    report.check("whatsapp", "get_templates", templates)
    report.check("whatsapp", "send_message", send)
    report.check("whatsapp", "create_campaign (25) runs to the end", campaign)
    report.check("whatsapp", "get_whatsapp_stats", stats)


def payments_checks(gw, report):
    link = {}

    def create():
        # An amount ending in .11 is always created and paid: a magic value.
        body = expect_status(gw.call("payments", "POST", "/api/admin/payment-links",
                                     {"amount": "499.11", "purpose": "Python test", "buyer_name": "Asha Rao",
                                      "email": "asha@example.com", "phone": "9876543210"}, admin=True), (200, 201), "create_payment_link")
        link.update(body)
        return body["longurl"]

    def paid():
        expect(link.get("id"), "no link was created")
        expect_status(gw.call("payments", "POST", "/api/admin/payment-links/%s/simulate" % link["id"], {"outcome": "success"}, admin=True), 200, "simulate")
        row = follow("paid", lambda: (lambda a: a[1] if a[0] == 200 and a[1].get("status") == "paid" else None)(
            gw.call("payments", "GET", "/api/admin/payment-links/" + link["id"], admin=True)))
        return "payment " + str(row.get("payment_id"))

    def stats():
        body = expect_status(gw.call("payments", "GET", "/api/admin/payment-stats", admin=True), 200, "payment stats")
        expect(body["paid"] >= 1, "no paid link in the stats")
        return "%d paid" % body["paid"]

    report.check("payments", "create_payment_link", create)
    report.check("payments", "paid, signed webhook processed", paid)
    report.check("payments", "get_payment_stats", stats)


def voice_checks(gw, report):
    script = {}

    def scripts():
        body = expect_status(gw.call("voice", "GET", "/api/automation/call/scripts"), 200, "get_available_scripts")
        expect(body["scripts"], "no scripts")
        script["id"] = body["scripts"][0]["script_id"]
        return "%d scripts" % len(body["scripts"])

    def call_completed():
        body = expect_status(gw.call("voice", "POST", "/api/automation/trigger/call",
                                     {"to_number": "+919855550100", "script_id": script["id"]}), (200, 202), "make_call")
        done = follow("completed", lambda: (lambda a: a[1] if a[0] == 200 and a[1].get("status") == "completed" else None)(
            gw.call("voice", "GET", "/api/automation/call/status/" + body["id"])))
        return "completed, %s s" % done.get("duration_seconds")

    def logs_and_stats():
        expect_status(gw.call("voice", "GET", "/api/automation/call/logs?limit=5"), 200, "get_call_logs")
        body = expect_status(gw.call("voice", "GET", "/api/automation/call/stats"), 200, "get_call_stats")
        return "%d calls" % body["total"]

    report.check("voice", "get_available_scripts", scripts)
    report.check("voice", "make_call followed to completed", call_completed)
    report.check("voice", "get_call_logs and get_call_stats", logs_and_stats)


def zoom_checks(gw, report):
    meeting = {}

    def create():
        body = expect_status(gw.call("zoom", "POST", "/api/zoom/meetings", {"topic": "Python meeting", "duration": 30}), (200, 201), "create meeting")
        meeting.update(body)
        expect_status(gw.call("zoom", "GET", "/api/zoom/meetings/%s" % body["id"]), 200, "get meeting")
        return "meeting %s" % body["id"]

    def recordings():
        expect(meeting.get("id"), "no meeting was created")
        expect_status(gw.call("zoom", "POST", "/api/zoom/meetings/%s/end" % meeting["id"]), 200, "end meeting")
        body = follow("recordings", lambda: (lambda a: a[1] if a[0] == 200 and len(a[1].get("recording_files", [])) >= 3 else None)(
            gw.call("zoom", "GET", "/api/zoom/meetings/%s/recordings" % meeting["id"])))
        return ", ".join(f["file_type"] for f in body["recording_files"])

    def delete():
        expect_status(gw.call("zoom", "DELETE", "/api/zoom/meetings/%s" % meeting["id"]), (200, 204), "delete meeting")

    report.check("zoom", "create and get a meeting", create)
    report.check("zoom", "meeting ended -> recordings", recordings)
    report.check("zoom", "delete_meeting", delete)


def admin_checks(gw, report):
    def settings():
        body = expect_status(gw.call("admin", "GET", "/api/admin/settings/mock-mode", admin=True), 200, "mock-mode settings")
        return ", ".join("%s %s" % (name, s["mode"]) for name, s in sorted(body["services"].items()))

    report.check("admin", "settings (mode per service)", settings)


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def local_stack():
    """The tokens and the URL of the stack started here: the npm package's state.json says where
    it listens, ./switchboard start's stack.json too (any ports, port 0 included)."""
    env_dir = os.environ.get("SWITCHBOARD_DATA_DIR")
    for data_dir in [env_dir] if env_dir else [".switchboard", ".data"]:
        tokens = read_json(os.path.join(data_dir, "tokens.json"))
        if tokens:
            url = read_json(os.path.join(data_dir, "state.json")).get("url") or \
                (read_json(os.path.join(data_dir, "stack.json")).get("urls") or {}).get("gateway")
            return tokens, url
    return {}, None


def main():
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=env("SWITCHBOARD_URL"))
    parser.add_argument("--api-token", default=env("SWITCHBOARD_API_TOKEN") or env("API_TOKEN"))
    parser.add_argument("--admin-token", default=env("SWITCHBOARD_ADMIN_TOKEN") or env("ADMIN_TOKEN"))
    args = parser.parse_args()
    stored, stored_url = local_stack()
    base_url = args.base_url or stored_url or "http://127.0.0.1:3000"
    api_token = args.api_token or stored.get("apiToken")
    admin_token = args.admin_token or stored.get("adminToken")
    if not api_token or not admin_token:
        print("No tokens: pass --api-token and --admin-token, set SWITCHBOARD_API_TOKEN and "
              "SWITCHBOARD_ADMIN_TOKEN (`npx switchboard env` prints them), or run from the folder "
              "whose .switchboard/ or .data/ holds the tokens.json the stack wrote.", file=sys.stderr)
        return 2

    gw = Gateway(base_url, api_token, admin_token)
    report = Report()
    print("Switchboard from Python against %s\n" % gw.base_url)
    for checks in (email_checks, whatsapp_checks, payments_checks, voice_checks, zoom_checks, admin_checks):
        checks(gw, report)

    print("\n| service | checks | calls | avg ms |")
    print("|---|---|--:|--:|")
    for service in ("email", "whatsapp", "payments", "voice", "zoom", "admin"):
        results = [ok for s, ok in report.checks if s == service]
        timings = gw.timings.get(service, [])
        verdict = "PASS" if results and all(results) else "FAIL"
        average = sum(timings) / len(timings) if timings else 0
        print("| %s | %d/%d %s | %d | %d |" % (service, sum(results), len(results), verdict, len(timings), average))
    passed = sum(1 for _, ok in report.checks if ok)
    failed = len(report.checks) - passed
    print("\npython: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
