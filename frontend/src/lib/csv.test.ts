import { describe, expect, it } from "vitest";
import { csvCell, csvLine, EVENT_CSV_COLUMNS, eventsCsvHeader } from "./csv";

describe("csv", () => {
  it("quotes only when needed", () => {
    expect(csvCell("gpt-4o")).toBe("gpt-4o");
    expect(csvCell('say "hi", then\nleave')).toBe('"say ""hi"", then\nleave"');
    expect(csvCell(null)).toBe("");
    expect(csvCell(0.0008)).toBe("0.0008");
    expect(csvCell({ env: "prod", team: "a" })).toBe('"{""env"":""prod"",""team"":""a""}"');
  });

  it("defuses spreadsheet formulas but keeps negative numbers", () => {
    expect(csvCell("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvCell("@cmd")).toBe("'@cmd");
    expect(csvCell(-1.5)).toBe("-1.5");
  });

  it("writes lines with CRLF", () => {
    expect(csvLine(["a", 1, null])).toBe("a,1,\r\n");
  });

  it("has a header with every event field once", () => {
    expect(eventsCsvHeader().split(",")[0]).toBe("event_id");
    expect(new Set(EVENT_CSV_COLUMNS).size).toBe(EVENT_CSV_COLUMNS.length);
  });
});
