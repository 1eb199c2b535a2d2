import { describe, expect, it } from "vitest";
import { ackedBy, alertKindLabel, bellLabel, severityTone, timeAgo, unreadBadge } from "./alerts";

describe("alerts in words", () => {
  it("names kinds, unknown ones readably", () => {
    expect(alertKindLabel("budget_threshold")).toBe("Budget threshold");
    expect(alertKindLabel("new_kind_here")).toBe("new kind here");
  });

  it("maps severities to three tones", () => {
    expect(severityTone("critical")).toBe("critical");
    expect(severityTone("warning")).toBe("warning");
    expect(severityTone("info")).toBe("info");
    expect(severityTone("whatever")).toBe("info");
  });

  it("shows the unread count on the bell, nothing at zero", () => {
    expect(unreadBadge(undefined)).toBeNull();
    expect(unreadBadge(0)).toBeNull();
    expect(unreadBadge(3)).toBe("3");
    expect(unreadBadge(250)).toBe("99+");
    expect(bellLabel(0)).toBe("Alerts");
    expect(bellLabel(2)).toBe("Alerts, 2 unread");
  });

  it("says how long ago, then gives up after a week", () => {
    const now = Date.parse("2026-05-10T12:00:00Z");
    expect(timeAgo("2026-05-10T11:59:30Z", now)).toBe("just now");
    expect(timeAgo("2026-05-10T11:15:00Z", now)).toBe("45 min ago");
    expect(timeAgo("2026-05-10T07:00:00Z", now)).toBe("5 h ago");
    expect(timeAgo("2026-05-09T10:00:00Z", now)).toBe("yesterday");
    expect(timeAgo("2026-05-05T12:00:00Z", now)).toBe("5 days ago");
    expect(timeAgo("2026-04-01T12:00:00Z", now)).toBeNull();
  });

  it("names who acknowledged", () => {
    expect(ackedBy("user:u1", "u1")).toBe("you");
    expect(ackedBy("user:u2", "u1")).toBe("another member");
    expect(ackedBy("api_key:k1", "u1")).toBe("an API key");
    expect(ackedBy(null, "u1")).toBeNull();
  });
});
