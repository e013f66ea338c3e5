"""The OpenAI-compatible API through the official ``openai`` client against a real server on loopback,
and the optional answer writer against real OpenAI-compatible servers (ours, and a scripted one)."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from rag.serving import LiveServer, free_port
from rag.writer import AnswerWriter, check_markers
from tests.scripted_llm import scripted_llm

SEED = "鹿泉区2024年电子信息产业目标是多少"


@pytest.fixture(scope="module")
def chat(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)


def test_models_lists_the_knowledge_base(chat):
    assert [m.id for m in chat.models.list()] == ["default"]
    assert chat.models.retrieve("default").id == "default"
    with pytest.raises(openai.NotFoundError):
        chat.models.retrieve("gpt-4o")


def test_completion_names_both_dated_values_with_numbered_sources(chat):
    completion = chat.chat.completions.create(model="default", messages=[{"role": "user", "content": SEED}])
    content = completion.choices[0].message.content
    assert completion.object == "chat.completion" and completion.choices[0].finish_reason == "stop"
    assert "1100亿元" in content and "1000亿元" in content
    assert "来源：" in content and "1. 《" in content and "第20段" in content
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    rag = completion.model_extra["rag"]
    assert rag["status"] == "conflict" and rag["written"] is False and rag["writer_note"] is None
    assert [c["value"] for c in rag["conflict"]] == ["1100亿元", "1000亿元"]
    marked = [c["text"][slice(*c["highlight"])] for c in rag["citations"] if c["highlight"]]
    assert "1100亿元" in marked and "1000亿元" in marked


def test_streaming_sends_the_same_reply_in_chunks_then_done(chat, server):
    plain = chat.chat.completions.create(model="default", messages=[{"role": "user", "content": SEED}])
    chunks = list(chat.chat.completions.create(model="default", messages=[{"role": "user", "content": SEED}],
                                               stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 2  # really in pieces
    assert chunks[0].choices[0].delta.role == "assistant"
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finish) == 1 and finish[0].model_extra["rag"]["status"] == "conflict"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == plain.usage.total_tokens
    assert len({c.id for c in chunks}) == 1
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", timeout=60,
                      json={"model": "default", "stream": True, "messages": [{"role": "user", "content": SEED}]}) as raw:
        assert raw.headers["content-type"].startswith("text/event-stream")
        events = [line for line in raw.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)


def test_a_follow_up_reads_the_earlier_user_messages(chat):
    first = "2023年新一代电子信息产业营业收入是多少"
    completion = chat.chat.completions.create(model="default", messages=[
        {"role": "system", "content": "你是助手"},
        {"role": "user", "content": first},
        {"role": "assistant", "content": "1174亿元"},
        {"role": "user", "content": [{"type": "text", "text": "那生物医药呢？"}]},
    ])
    rag = completion.model_extra["rag"]
    assert "生物医药" in rag["rewritten"] and "1078.6亿元" in completion.choices[0].message.content


@pytest.mark.parametrize("messages, param, words", [
    ([{"role": "system", "content": "只有系统消息"}], "messages", "role 'user'"),
    ([{"role": "user", "content": "   "}], "messages", "empty"),
    ([{"role": "user", "content": 123}], "messages", "messages.0.content"),
    ([{"role": "wizard", "content": SEED}], "messages", "role"),
    ([], "messages", "at least 1"),
])
def test_bad_requests_get_openai_shaped_400s(chat, messages, param, words):
    with pytest.raises(openai.BadRequestError) as caught:
        chat.chat.completions.create(model="default", messages=messages)
    error = caught.value.body
    assert caught.value.status_code == 400 and error["type"] == "invalid_request_error"
    assert error["param"].startswith(param) and words in error["message"]


def test_unknown_model_and_wrong_types(chat, server):
    with pytest.raises(openai.NotFoundError) as caught:
        chat.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": SEED}])
    assert caught.value.body["code"] == "model_not_found" and "default" in caught.value.body["message"]
    for body in ({"model": 7, "messages": [{"role": "user", "content": SEED}]},
                 {"model": "default", "messages": "鹿泉区", "stream": False},
                 {"model": "default", "messages": [{"role": "user", "content": SEED}], "stream": "yes"}):
        reply = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=30)
        assert reply.status_code == 400 and set(reply.json()["error"]) == {"message", "type", "param", "code"}, reply.text
    broken = httpx.post(f"{server.url}/v1/chat/completions", content=b"{not json", timeout=30,
                        headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and "JSON" in broken.json()["error"]["message"]
    assert httpx.get(f"{server.url}/v1/embeddings", timeout=30).json()["error"]["type"] == "not_found_error"


def test_the_api_key_is_a_bearer_token(keyed_server):
    good = openai.OpenAI(base_url=f"{keyed_server.url}/v1", api_key="k", max_retries=0)
    assert [m.id for m in good.models.list()] == ["default"]
    with pytest.raises(openai.AuthenticationError) as caught:
        openai.OpenAI(base_url=f"{keyed_server.url}/v1", api_key="wrong", max_retries=0).models.list()
    assert caught.value.body["code"] == "invalid_api_key"


@pytest.fixture(scope="module")
def keyed_server(settings, engine):
    from web.app import create_app

    with LiveServer(create_app(settings.model_copy(update={"api_key": "k"}), engine)) as live:
        yield live


# The answer writer -----------------------------------------------------------------------------

def writing_server(settings, engine, llm_url: str, **extra):
    from web.app import create_app

    return LiveServer(create_app(settings.model_copy(update={"llm_base_url": llm_url, "llm_model": "m", **extra}), engine))


def test_a_written_answer_keeps_its_valid_markers(settings, engine):
    llm, received = scripted_llm("鹿泉区2024年的目标是突破1100亿元[1]，此前提出的是1000亿元【3】[9]。")
    with LiveServer(llm) as fake, writing_server(settings, engine, f"{fake.url}/v1") as live:
        chat = openai.OpenAI(base_url=f"{live.url}/v1", api_key="x", max_retries=0, timeout=60)
        completion = chat.chat.completions.create(model="default", messages=[{"role": "user", "content": SEED}])
        streamed = "".join(c.choices[0].delta.content or "" for c in chat.chat.completions.create(
            model="default", messages=[{"role": "user", "content": SEED}], stream=True) if c.choices)
    content, rag = completion.choices[0].message.content, completion.model_extra["rag"]
    assert content.startswith("鹿泉区2024年的目标是突破1100亿元[1]，此前提出的是1000亿元[3]。")
    assert "[9]" not in content and rag["written"] is True and rag["cited"] == [1, 3]
    assert streamed == content and completion.usage.total_tokens == 18
    prompt = received[0]["messages"]
    assert prompt[-1] == {"role": "user", "content": SEED} and received[0]["model"] == "m"
    assert "[1] 《" in prompt[0]["content"] and "1100亿元（2024-09-02" in prompt[0]["content"]


def test_ask_stream_sends_the_answer_then_the_writing_then_the_checked_text(settings, engine):
    llm, _ = scripted_llm("目标是突破1100亿元[1][6]。")
    with LiveServer(llm) as fake, writing_server(settings, engine, f"{fake.url}/v1") as live:
        with httpx.stream("POST", f"{live.url}/ask/stream", json={"question": SEED}, timeout=60) as raw:
            assert raw.headers["content-type"].startswith("text/event-stream")
            events = [(block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
                      for block in raw.read().decode("utf-8").strip().split("\n\n")]
    names = [name for name, _ in events]
    assert names[0] == "answer" and names[-1] == "written" and set(names[1:-1]) == {"delta"}
    assert events[0][1]["status"] == "conflict" and events[0][1]["citations"]
    assert "".join(data["text"] for name, data in events if name == "delta") == "目标是突破1100亿元[1][6]。"
    assert events[-1][1] == {"text": "目标是突破1100亿元[1]。", "written": True, "note": None, "cited": [1]}


def test_a_reply_citing_nothing_falls_back_to_the_extractive_answer(settings, engine, server):
    # Our own /v1 is a real OpenAI-compatible server; its replies carry no [n] markers.
    with writing_server(settings, engine, f"{server.url}/v1", llm_model="default") as live:
        chat = openai.OpenAI(base_url=f"{live.url}/v1", api_key="x", max_retries=0, timeout=120)
        completion = chat.chat.completions.create(model="default", messages=[{"role": "user", "content": SEED}])
    rag = completion.model_extra["rag"]
    assert rag["written"] is False and "cited no passage" in rag["writer_note"]
    assert completion.choices[0].message.content.startswith(rag["answer"])


def test_refused_connections_and_timeouts_fall_back(engine):
    response = engine.ask(SEED)
    refused = AnswerWriter(f"http://127.0.0.1:{free_port()}/v1", "m", timeout=5)(response)
    assert not refused.written and refused.text == response.answer and "could not be reached" in refused.note
    llm, _ = scripted_llm("1100亿元[1]", delay=3)
    with LiveServer(llm) as slow:
        late = AnswerWriter(f"{slow.url}/v1", "m", timeout=0.5)(response)
    assert not late.written and late.text == response.answer and "within 0.5 s" in late.note
    unanswerable = engine.ask("药明康德在高新区投资了多少亿元")
    assert unanswerable.status == "not_found"
    skipped = AnswerWriter(f"http://127.0.0.1:{free_port()}/v1", "m")(unanswerable)
    assert not skipped.written and "not asked" in skipped.note


def test_markers_outside_the_passages_are_removed():
    assert check_markers("甲[1]乙[2]丙【7】[0]。", passages=2) == ("甲[1]乙[2]丙。", [1, 2])
    assert check_markers("没有引用。", passages=5) == ("没有引用。", [])
