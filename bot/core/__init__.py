"""The core: from a recorded question to a finished answer, knowing no vendor.

    intake      listeners hand questions here: recorded once, worker woken
    worker      claims runnable turns (one per thread), leases them, runs them concurrently
    service     runs a turn; the one place failures become replies
    answering   the steps of one answer: files, workspace, model stream, outputs
    workspace   a thread's conversation, container and files on the model side
    outputs     files the model produced: downloaded at once, de-duplicated, posted
    controls    what the buttons do (Cancel, Show code, feedback, Retry, suggestions)
    instructions, markdown, tables, files   pure helpers
    turns, records, events                  the value types that cross layers
    ports, storage                          the Protocols the outside world satisfies

It imports nothing from the other `bot` packages, `handlers` or `store`, and no vendor SDK
(tests/test_architecture.py).
"""
