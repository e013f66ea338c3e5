"""``rag bench --only uploads``: no upload can sink the server, measured on a real one.

20 uploads at once (good files, one plainly not a PDF, one holding only a heading line) and 100
questions at once go to a server on loopback over a copy of the corpus, while ``/health`` is polled
from another process (polled from a thread of this one, it measured this process's own GIL queue:
a 4 s "stall" with 120 client threads). It must answer within ``HEALTH_LIMIT_S`` throughout, and
every upload must end ready or refused (a 4xx, or a job failed naming the file): none lost, none
left running.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

UPLOADS = 20
QUESTIONS = 100
HEALTH_LIMIT_S = 1.0
JOBS_TIMEOUT_S = 900
POLL_S = 0.1
_POLLER = """
import sys, time, httpx
with httpx.Client(timeout=30) as client:
    while True:
        started = time.perf_counter()
        ok = client.get(sys.argv[1] + "/health").status_code == 200
        print(round((time.perf_counter() - started) * 1000, 1) if ok else "inf", flush=True)
        time.sleep(float(sys.argv[2]))
"""


def _files() -> list[tuple[str, bytes]]:
    """18 readable texts of 30 paragraphs each, a fake PDF (refused at once) and a heading-only text (its job fails)."""
    good = [(f"report-{n}.txt", "\n\n".join(f"第{n}号园区第{i}项记录：年产值{n * 97 + i}万元，同比增长{i % 9 + 1}%，"
                                          f"由第{i % 7 + 1}车间负责。" for i in range(30)).encode()) for n in range(UPLOADS - 2)]
    return good + [("fake.pdf", b"not a pdf at all"), ("heading.txt", "鹿泉区电子信息产业发展规划\n".encode())]


def bench_uploads(run) -> tuple[dict, str]:
    """20 uploads and 100 questions at once: /health stays under 1 s, every upload ends ready or refused."""
    return (data := check_uploads(run)), report(data)


def check_uploads(run) -> dict:
    """Run the load on ``rag serve`` (a child process) over copies of the bench's corpus and index."""
    from .common import ServedProcess

    settings = run.served
    workdir = Path(tempfile.mkdtemp(prefix="uploads-", dir=run.workdir))
    shutil.copytree(settings.corpus_dir, workdir / "corpus")
    shutil.copytree(settings.index_dir, workdir / "index")
    own = settings.model_copy(update={"corpus_dir": workdir / "corpus", "index_dir": workdir / "index",
                                      "kb_dir": workdir / "kbs", "api_key": None})
    questions = [item["question"] for item in run.items]
    with ServedProcess(own, ("corpus_dir", "index_dir", "kb_dir", "home", "runtime", "threads"), workdir / "serve.log") as live:
        poller = subprocess.Popen([sys.executable, "-c", _POLLER, live.url, str(POLL_S)], stdout=subprocess.PIPE, text=True)
        started = time.perf_counter()
        try:
            outcomes, asks = asyncio.run(_load(live.url, questions))
        finally:
            wall_s = time.perf_counter() - started
            poller.kill()
            health = [float(line) for line in poller.communicate()[0].split()]
    ms = sorted(health)
    return {
        "uploads": UPLOADS, "questions": QUESTIONS, "outcomes": outcomes,
        "ask_errors": sum(code != 200 for code in asks), "wall_s": round(wall_s, 1),
        "health_polls": len(ms), "health_p50_ms": round(statistics.median(ms), 1),
        "health_p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1), "health_max_ms": round(ms[-1], 1),
        "health_ok": ms[-1] < HEALTH_LIMIT_S * 1000, "every_upload_ended": outcomes["other"] == 0,
    }


async def _load(url: str, questions: list[str]) -> tuple[dict, list[int]]:
    """Send everything at once from one thread (asyncio), then follow every upload's job to its end."""
    import httpx

    limits = httpx.Limits(max_connections=UPLOADS + QUESTIONS)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:
        uploads = [client.post("/kbs/default/documents", files=[("files", f)]) for f in _files()]
        asks = [client.post("/ask", json={"question": questions[i % len(questions)]}) for i in range(QUESTIONS)]
        replies = await asyncio.gather(*uploads, *asks)
        outcomes = {"ready": 0, "refused at upload": 0, "job failed (named)": 0, "other": 0}
        deadline = time.time() + JOBS_TIMEOUT_S
        for reply in replies[:UPLOADS]:
            if 400 <= reply.status_code < 500:
                outcomes["refused at upload"] += 1
                continue
            body = reply.json() if reply.status_code == 202 else {}
            if not body.get("job"):
                outcomes["other"] += 1
                continue
            while (state := (await client.get(f"/jobs/{body['job']['id']}")).json())["state"] in ("queued", "running"):
                if time.time() > deadline:
                    break
                await asyncio.sleep(0.5)
            named = state["state"] == "failed" and body["documents"][0]["filename"] in (state["error"] or "")
            outcomes["ready" if state["state"] == "done" else "job failed (named)" if named else "other"] += 1
        return outcomes, [reply.status_code for reply in replies[UPLOADS:]]


def report(data: dict) -> str:
    return (f"{data['uploads']} uploads (18 texts of 30 paragraphs, a fake PDF, a heading-only text) and "
            f"{data['questions']} questions sent at once to a server on loopback, `/health` polled every "
            f"{POLL_S:g} s from another process until every job ended ({data['wall_s']} s).\n\n"
            f"| /health polls | p50 ms | p95 ms | max ms | under {HEALTH_LIMIT_S:g} s | ask errors | outcomes |\n"
            f"|---|---|---|---|---|---|---|\n"
            f"| {data['health_polls']} | {data['health_p50_ms']} | {data['health_p95_ms']} | {data['health_max_ms']} | "
            f"{'yes' if data['health_ok'] else 'NO'} | {data['ask_errors']} | "
            + ", ".join(f"{k} {v}" for k, v in data["outcomes"].items()) + " |")
