"""Everything that speaks Slack (with `handlers/`, the only users of slack_sdk and Bolt).

app, client, front_door   the Bolt app, the Web API client, `POST /slack/events`
budget                    the workspace's rate limits, spent in priority order
renderer, pages, writer   one turn's answer: steps, streamed text, tables, controls
  page_state, flusher,    what a page holds, its background writes, its Slack calls,
  message_calls/_render   how a message looks
sessions                  the thread's agent session (status, native Stop) or status
delivery                  the outbox: final messages staged, delivered after a restart
uploads                   files into a thread, streamed (three-step upload)
blocks, profile_blocks    Block Kit builders
surface                   posts that belong to no answer (notices, profiles)
home_tab                  the App Home tab: a person's usage, the workspace's for admins
reads, payloads           reading Slack (people, thread history, files) into core types
downloads                 Slack file → model side, streamed, token only to Slack hosts
"""
