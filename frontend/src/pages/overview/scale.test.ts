import { describe, expect, it } from "vitest";
import { labelEvery, niceTicks } from "./scale";

describe("niceTicks", () => {
  it("covers the maximum with round steps from 0", () => {
    expect(niceTicks(3.5)).toEqual([0, 1, 2, 3, 4]);
    expect(niceTicks(95)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(1234)).toEqual([0, 500, 1000, 1500]);
    expect(niceTicks(0.0042)).toEqual([0, 0.002, 0.004, 0.006]);
    expect(niceTicks(100)).toEqual([0, 25, 50, 75, 100]);
  });
  it("has an axis for nothing", () => {
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(Number.NaN)).toEqual([0, 1]);
  });
  it("spaces labels", () => {
    expect(labelEvery(30)).toBe(4);
    expect(labelEvery(7)).toBe(1);
    expect(labelEvery(0)).toBe(1);
  });
});
