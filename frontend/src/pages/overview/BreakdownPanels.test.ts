import { describe, expect, it } from "vitest";
import { donutStops } from "./BreakdownPanels";

describe("donutStops", () => {
  it("lays the shares end to end and fills the rest with grey", () => {
    expect(donutStops([0.5, 0.25], ["red", "blue"], "grey")).toBe(
      "conic-gradient(red 0.000% 50.000%, blue 50.000% 75.000%, grey 75.000% 100%)",
    );
  });
  it("never runs past the whole circle", () => {
    expect(donutStops([0.7, 0.4], ["red", "blue"], "grey")).toBe("conic-gradient(red 0.000% 70.000%, blue 70.000% 100.000%)");
  });
});
