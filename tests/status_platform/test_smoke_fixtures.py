"""The fixtures themselves: two organizations, a client per host, a real SMTP server and HTTP receiver."""

import smtplib
import urllib.request
from email.message import EmailMessage


def test_two_organizations_are_created_with_their_pages(web, org_a, org_b):
    assert web.get("/", headers={"Host": org_a.host}).status_code == 200
    assert org_b.name in web.get("/", headers={"Host": org_b.host}).get_data(as_text=True)


def test_smtp_server_captures_what_is_sent(smtp_server):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@x.test", "b@x.test", "Hello"
    message.set_content("body")
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as client:
        client.send_message(message)
    assert [m["Subject"] for m in smtp_server.messages] == ["Hello"]


def test_http_receiver_records_requests_and_answers_in_turn(http_receiver):
    http_receiver.responses = [500]
    request = urllib.request.Request(http_receiver.url + "/hook", data=b"{}", method="POST")
    try:
        urllib.request.urlopen(request)
    except urllib.error.HTTPError as exc:
        assert exc.code == 500
    assert urllib.request.urlopen(request).status == 200
    assert [(r.method, r.path, r.body) for r in http_receiver.requests] == [("POST", "/hook", b"{}")] * 2


def test_staff_client_is_signed_in_as_the_owner(staff_client, org_a):
    response = staff_client.get("/orgs", follow_redirects=True)
    assert response.status_code == 200
    assert org_a.owner_email in response.get_data(as_text=True)


def test_the_public_app_resolves_its_page_from_the_host_by_itself(public_client, org_a, org_b):
    response = public_client.get("/", base_url=f"http://{org_b.host}")
    assert response.status_code == 200 and org_b.name in response.get_data(as_text=True)
    assert public_client.get("/", base_url="http://nowhere.pages.test").status_code == 404
