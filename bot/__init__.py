"""Slack Analyst: a Slack thread becomes a data-analysis session on OpenAI's code interpreter.

bot/core/      the turn pipeline; knows no vendor (Protocols in `ports` and `storage`)
bot/slack/     everything that speaks Slack: front door, renderer, notices, reads, files
bot/engine/    the only code that imports `openai`
bot/profile/   the local profile of a data file dropped without a question
bot/           entry point, composition root (`runtime`), settings, errors, wording,
               terminal mode
"""
