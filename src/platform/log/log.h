// Process logging: structured JSON lines (or plain text) on standard output or a file. Two
// streams share one writer: "app" events through spdlog, and "access", one line per HTTP
// request, appended directly. Lines are collected in memory and written by one background
// thread every 100 ms (warnings and errors at once), so the request path never blocks on the
// disk. Values pass through json_escape, so a hostile value cannot forge a log line.
#pragma once

#include <spdlog/spdlog.h>
#include <string>
#include <string_view>

#include "platform/config/config.h"

namespace custos::log {

void init(const Config::Log& config);
// Flushes and stops the background writer; called once at exit.
void shutdown();

spdlog::logger& app();

// True when access logging is on.
bool access_enabled();
// Writes one access record; `fields` are JSON members without braces ("a":1,"b":"x").
void access(std::string_view fields);

// Appends s to out as the inside of a JSON string.
void json_escape(std::string& out, std::string_view s);

// Current UTC time as 2026-11-28T02:00:00.000Z.
void append_utc_now(std::string& out);

}  // namespace custos::log
