"""The local profile of a data file dropped in a channel without a question.

    drop        the flow: fetch a bounded prefix, profile it, post it with suggested questions
    formats     which reader a file needs; table, text_source, delimited, json_records,
                workbooks, parquet read rows within a byte budget
    profiler    rows → `DataProfile` (columns, cells: type inference and statistics)
    questions   three questions worth asking; summary: the profile in one paragraph

No OpenAI call happens here. It imports only the core, errors and wording.
"""
