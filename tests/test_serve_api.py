"""The JSON API of `digits serve` through FastAPI's TestClient: answers, limits, errors, concurrency."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from digitcli import data, predict
from digitcli.card import model_card
from digitcli.web import app as web

from conftest import invoke

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client(tiny_model):
    with TestClient(web.create_app(predict.open_classifier(tiny_model))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def pngs(tmp_path_factory) -> dict[str, bytes]:
    """Six MNIST test digits as dark ink on 280x280 white PNGs, as a drawing pad sends them."""
    folder = tmp_path_factory.mktemp("pngs")
    dataset = data.load("bundled")
    files = {}
    for i in range(6):
        path = folder / f"d{i}.png"
        Image.fromarray(255 - dataset.x_test[i]).resize((280, 280), Image.BILINEAR).save(path)
        files[str(path)] = path.read_bytes()
    return files


def blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (280, 280), 255).save(buffer, "PNG")
    return buffer.getvalue()


def upload(client, files: list[tuple[str, bytes]], query: str = ""):
    return client.post(f"/api/predict{query}", files=[("file", (name, content, "image/png")) for name, content in files])


def test_the_api_gives_the_same_digits_as_digits_predict(client, pngs, tiny_model):
    response = upload(client, list(pngs.items()), "?top_k=2")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["file"] for r in results] == list(pngs)  # in the order sent
    cli = invoke("predict", *pngs, "--model", str(tiny_model), "--format", "jsonl", "--top-k", "2")
    assert cli.exit_code == 0, cli.output
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    assert [{"file": e.pop("path"), **e} for e in expected] == results


def test_an_image_with_two_digits_says_so_in_its_record(client):
    seven, two = data.load("bundled").x_test[:2]
    canvas = Image.fromarray(255 - np.hstack([seven, np.zeros((28, 28), np.uint8), two])).resize((840, 280), Image.BILINEAR)
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    response = upload(client, [("two.png", buffer.getvalue())])
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["notes"] == ["more than one digit? predicting the largest"]


def test_show_input_returns_the_28x28_image_the_model_saw(client, pngs):
    name, content = next(iter(pngs.items()))
    response = upload(client, [(name, content)], "?top_k=10&show_input=true")
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert len(result["top"]) == 10 and sorted(d for d, _ in result["top"]) == list(range(10))
    assert abs(sum(p for _, p in result["top"]) - 1) < 1e-4
    pixels = result["input"]
    assert len(pixels) == 28 and all(len(row) == 28 for row in pixels)
    assert max(max(row) for row in pixels) == 255 and pixels[0] == [0] * 28  # white digit, black margin


def test_health_and_model_card(client, tiny_model):
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json() == {
        "status": "ok", "version": health.json()["version"], "model": str(tiny_model), "runtime": "LiteRT",
        "limits": {"max_files": web.MAX_FILES, "max_body_bytes": web.MAX_BODY_BYTES},
    }
    card = client.get("/api/model")
    assert card.status_code == 200
    assert card.json() == json.loads(json.dumps(model_card(tiny_model).to_json()))
    assert card.json()["total_parameters"] == 101_770 and card.json()["architecture"] == "mlp"
    assert [layer["type"] for layer in card.json()["layers"]][-1] == "Dense"


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for element in ('id="pad"', 'id="clear"', 'id="prediction"', "/static/app.js", "/static/style.css"):
        assert element in page.text
    assert "http" not in page.text.replace('name="viewport"', "")  # nothing from a CDN
    script, style = client.get("/static/app.js"), client.get("/static/style.css")
    assert script.status_code == 200 and "setPointerCapture" in script.text
    assert style.status_code == 200 and "touch-action: none" in style.text


BAD_REQUESTS = [
    # (what, how to send it, status, error message)
    ("no file", lambda c, p: c.post("/api/predict", files=[("image", ("x.png", p, "image/png"))]), 400,
     "no file: send one or more multipart parts named file"),
    ("a plain field", lambda c, p: c.post("/api/predict", data={"file": "1"}, files=[("other", ("x", b"x"))]), 400,
     "part 1 named file is a plain field, not a file upload"),
    ("not multipart", lambda c, p: c.post("/api/predict", content=b"hello", headers={"content-type": "text/plain"}), 415,
     "send images as multipart/form-data, one part named file per image"),
    ("no body", lambda c, p: c.post("/api/predict"), 415,
     "send images as multipart/form-data, one part named file per image"),
    ("an empty file", lambda c, p: upload(c, [("empty.png", b"")]), 422, "1 of 1 files failed: empty.png: file is empty"),
    ("a truncated file", lambda c, p: upload(c, [("cut.png", p[: len(p) // 2])]), 422,
     "1 of 1 files failed: cut.png: truncated image data"),
    ("text", lambda c, p: upload(c, [("notes.png", b"just some text\n")]), 422,
     "1 of 1 files failed: notes.png: not an image file"),
    ("a blank image", lambda c, p: upload(c, [("blank.png", blank_png())]), 422,
     "1 of 1 files failed: blank.png: no digit found: the image is blank"),
    ("too many files", lambda c, p: upload(c, [(f"{i}.png", p) for i in range(web.MAX_FILES + 1)]), 400,
     f"too many files: at most {web.MAX_FILES} per request"),
    ("far too many files", lambda c, p: upload(c, [(f"{i}.png", b"x") for i in range(3 * web.MAX_FILES)]), 400,
     f"too many files: at most {web.MAX_FILES} per request"),
    ("a broken multipart body", lambda c, p: c.post("/api/predict", content=b"garbage",
     headers={"content-type": "multipart/form-data; boundary=b0undary"}), 400, "bad multipart body: Invalid multipart data."),
    ("too large", lambda c, p: upload(c, [("big.png", b"\0" * (web.MAX_BODY_BYTES + 1))]), 413,
     re.compile(rf"request body of [\d,]+ bytes is over the {web.MAX_BODY_BYTES:,}-byte limit")),
    ("top_k out of range", lambda c, p: upload(c, [("d.png", p)], "?top_k=11"), 400,
     "top_k: Input should be less than or equal to 10"),
    ("top_k not a number", lambda c, p: upload(c, [("d.png", p)], "?top_k=two"), 400,
     "top_k: Input should be a valid integer, unable to parse string as an integer"),
    ("a wrong method", lambda c, p: c.get("/api/predict"), 405, "GET is not allowed on /api/predict (use POST)"),
    ("a wrong method on the page", lambda c, p: c.delete("/"), 405, "DELETE is not allowed on / (use GET)"),
    ("a wrong path", lambda c, p: c.get("/api/nothing"), 404,
     f"no such page: /api/nothing (there are {web.ROUTES})"),
]


@pytest.mark.parametrize("what, send, status, message", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_every_bad_request_is_a_4xx_with_a_json_error_and_the_server_keeps_serving(client, pngs, what, send, status, message):
    good = next(iter(pngs.values()))
    response = send(client, good)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    if isinstance(message, re.Pattern):  # the body's size depends on the multipart boundary
        assert message.fullmatch(response.json()["error"]), response.json()
    else:
        assert response.json()["error"] == message
    assert upload(client, [("after.png", good)]).status_code == 200


def test_a_body_without_a_length_is_cut_off_at_the_limit(client):
    boundary = "b0undary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'.encode()

    def chunks():
        yield head
        for _ in range(web.MAX_BODY_BYTES // (1 << 20) + 1):
            yield b"\0" * (1 << 20)

    response = client.post("/api/predict", content=chunks(), headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413
    assert response.json() == {"error": f"request body is over the {web.MAX_BODY_BYTES:,}-byte limit"}


def test_failed_files_keep_their_place_and_the_others_get_results(client, pngs):
    (first, a), (second, b) = list(pngs.items())[:2]
    response = upload(client, [(first, a), ("notes.txt", b"text"), (second, b)])
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "1 of 3 files failed: notes.txt: not an image file"
    assert [r["file"] for r in body["results"]] == [first, "notes.txt", second]
    assert body["results"][1] == {"file": "notes.txt", "error": "not an image file"}
    assert set(body["results"][0]) == {"file", "prediction", "confidence", "top"}


def test_concurrent_requests_get_the_same_answers_as_one_at_a_time(client, pngs):
    files = list(pngs.items())
    alone = [upload(client, [item]).json()["results"][0] for item in files]

    def ask(i: int):
        response = upload(client, [files[i % len(files)]])
        return response.status_code, response.json()["results"][0]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(48)))
    assert all(status == 200 for status, _ in answers)
    assert [result for _, result in answers] == [alone[i % len(files)] for i in range(48)]


def test_serving_does_not_import_tensorflow(tiny_model, pngs):
    name = next(iter(pngs))
    code = (
        "import sys\nfrom pathlib import Path\nfrom fastapi.testclient import TestClient\nfrom digitcli.predict import open_classifier\n"
        "from digitcli.web.app import create_app\n"
        f"client = TestClient(create_app(open_classifier(Path({str(tiny_model)!r}))))\n"
        f"response = client.post('/api/predict', files=[('file', open({name!r}, 'rb'))])\n"
        "print(response.status_code, sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.stdout.strip() == "200 []", done.stderr
