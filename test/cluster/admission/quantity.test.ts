import { describe, expect, test } from "vitest";
import { formatQuantity, parseQuantity } from "./quantity.ts";

describe("quantities", () => {
  test("parse every suffix into milli-units; reject what is not a quantity", () => {
    expect(parseQuantity("100m")).toBe(100);
    expect(parseQuantity("0.5")).toBe(500);
    expect(parseQuantity("2")).toBe(2000);
    expect(parseQuantity("1Ki")).toBe(1024_000);
    expect(parseQuantity("1Gi")).toBe(2 ** 30 * 1000);
    expect(parseQuantity("1e3")).toBe(1_000_000);
    expect(parseQuantity("1k")).toBe(1_000_000);
    expect(parseQuantity(3)).toBe(3000);
    expect(parseQuantity("lots")).toBeUndefined();
    expect(parseQuantity("1 Gi")).toBeUndefined();
  });

  test("format cpu in cores or millicores, bytes with the largest binary suffix that divides", () => {
    expect(formatQuantity("limits.cpu", 500)).toBe("500m");
    expect(formatQuantity("cpu", 2000)).toBe("2");
    expect(formatQuantity("requests.memory", parseQuantity("512Mi")! * 2)).toBe("1Gi");
    expect(formatQuantity("memory", 1000 * 1000)).toBe("1000");
    expect(formatQuantity("pods", 3000)).toBe("3");
  });
});
