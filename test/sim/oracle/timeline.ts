/** A setting's values over time, so a check can take the values in force over a window. */
export class Timeline<T> {
  private readonly points: { at: number; value: T }[] = [];
  constructor(value: T) {
    this.points.push({ at: -Infinity, value });
  }
  set(at: number, value: T): void {
    this.points.push({ at, value });
  }
  get now(): T {
    return this.points[this.points.length - 1].value;
  }
  /** Every value in force at some moment of [from, to]. */
  over(from: number, to: number): T[] {
    const inForce = this.points.filter((p, i) => p.at <= to && (i + 1 === this.points.length || this.points[i + 1].at >= from));
    return inForce.map((p) => p.value);
  }
}
