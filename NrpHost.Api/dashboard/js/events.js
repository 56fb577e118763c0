// Follows GET /simulation/{id}/events. fetch() rather than EventSource, because EventSource cannot send the
// Authorization header that the Storage Proxy mode needs. The stream is text/event-stream: events separated by a blank
// line, each `event: <name>` and `data: <json>`; lines starting with ':' are keep-alive comments.

import { headers } from "./api.js";

const RETRY_MS = 2000;

/**
 * Opens the stream of simulation `id` and calls `onEvent(name, data)` for each event, until `end` arrives, the
 * returned `close()` is called, or the API refuses the stream (`onStop(reason)` is called then). A dropped
 * connection is opened again after two seconds.
 */
export function follow(id, onEvent, onStop) {
  const controller = new AbortController();
  let stopped = false;

  const stop = (reason) => {
    if (!stopped) {
      stopped = true;
      controller.abort();
      onStop?.(reason);
    }
  };

  const run = async () => {
    while (!stopped) {
      try {
        const response = await fetch(`simulation/${encodeURIComponent(id)}/events`, {
          headers: headers({ Accept: "text/event-stream" }),
          signal: controller.signal,
          cache: "no-store",
        });
        if (!response.ok) {
          stop(`the events stream was refused (${response.status})`);
          return;
        }
        const ended = await read(response.body, onEvent, controller.signal);
        if (ended) {
          stop("end");
          return;
        }
      } catch (error) {
        if (stopped || error.name === "AbortError") {
          return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  };

  run();
  return { close: () => stop("closed") };
}

/** Reads events until the body ends; true when an `end` event was seen. */
async function read(body, onEvent, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) {
        return false;
      }
      buffer += value.replaceAll("\r\n", "\n");
      let boundary;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const parsed = parse(block);
        if (parsed) {
          onEvent(parsed.name, parsed.data);
          if (parsed.name === "end") {
            return true;
          }
        }
      }
    }
    return false;
  } finally {
    reader.releaseLock();
  }
}

function parse(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") {
      name = value;
    } else if (field === "data") {
      data.push(value);
    }
  }
  if (data.length === 0) {
    return null;
  }
  try {
    return { name, data: JSON.parse(data.join("\n")) };
  } catch {
    return null;
  }
}
