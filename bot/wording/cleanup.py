"""`slack-analyst cleanup`: what the retention job prints for the operator who ran it."""

from __future__ import annotations

CLEANUP_RULE = (
    "Retention: {days} day(s). Threads idle since before {cutoff} are deleted, here and at OpenAI."
)
CLEANUP_DRY_RUN = "Dry run: nothing was deleted. A real run would delete what follows."
CLEANUP_RETIRED = "Workspaces that removed the app (all their data goes): {teams}"
CLEANUP_THREADS = {False: "Deleted {count} thread(s):", True: "Would delete {count} thread(s):"}
CLEANUP_THREAD = "  {key}  idle since {since}{retired}"
CLEANUP_THREAD_RETIRED = "  (workspace removed the app)"
CLEANUP_OBJECTS = "      {objects}"
CLEANUP_NO_OBJECTS = "      nothing at OpenAI"
CLEANUP_ORPHANS = {
    False: "Deleted {count} upload(s) no thread used: {objects}",
    True: "Would delete {count} upload(s) no thread used: {objects}",
}
CLEANUP_EARLIER = "Queued by an earlier run, still to be deleted at OpenAI: {objects}"
CLEANUP_OPENAI = "At OpenAI: {deleted} deleted, {gone} already gone, {failed} failed."
CLEANUP_FAILED = "Not deleted yet (the next run tries again): {objects}"
CLEANUP_FORGOTTEN = "Workspace {team}: everything is deleted."
CLEANUP_MORE = "More threads are due than one run deletes: run it again."
CLEANUP_NOTHING = "Nothing to delete."
CLEANUP_KINDS = {
    "conversation": "conversation {id}",
    "container": "container {id}",
    "vector_store": "vector store {id}",
    "file": "file {id}",
}
