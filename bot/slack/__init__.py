"""Everything that speaks Slack (with `handlers/`, the only users of slack_sdk and Bolt).

app, client, front_door   the Bolt app, the Web API client, `POST /slack/events`
renderer, pages, writer   one turn's answer: status, steps, streamed text, controls
blocks, profile_blocks    Block Kit builders
surface                   posts that belong to no answer (notices, profiles)
reads, payloads           reading Slack (people, thread history, files) into core types
downloads                 Slack file → model side, streamed, token only to Slack hosts
"""
