// Dates are Chicago-local `YYYY-MM-DD` strings: they compare as strings, and arithmetic on them
// in UTC never crosses a DST edge. The published days come from /api/meta's `published_dates`:
// runs of consecutive days [{first, last}, ...] in date order; a day between two runs is not
// published.

export function shiftDate(isoDate, days) {
  const day = new Date(`${isoDate}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}

export function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

export class PublishedDays {
  constructor(runs) {
    this.runs = runs;
    this.first = runs.length ? runs[0].first : null;
    this.last = runs.length ? runs[runs.length - 1].last : null;
  }

  has(day) {
    return this.runs.some((run) => run.first <= day && day <= run.last);
  }

  // The nearest published day after `day` (step 1) or before it (step -1), or null.
  step(day, step) {
    if (step > 0) {
      const run = this.runs.find((r) => r.last > day);
      return run ? (run.first > day ? run.first : shiftDate(day, 1)) : null;
    }
    const run = [...this.runs].reverse().find((r) => r.first < day);
    return run ? (run.last < day ? run.last : shiftDate(day, -1)) : null;
  }

  // `day` if published, else the published day closest to it (the earlier one on a tie).
  nearest(day) {
    if (this.has(day)) return day;
    const before = this.step(day, -1);
    const after = this.step(day, 1);
    if (!before || !after) return before || after;
    return daysBetween(before, day) <= daysBetween(day, after) ? before : after;
  }

  // How many days between `first` and `last` (both included) are not published.
  missing() {
    return this.runs.slice(1).reduce((sum, run, i) => sum + daysBetween(this.runs[i].last, run.first) - 1, 0);
  }
}

// "2024-05-18" or "2024-05-18 to 2024-05-19": the days strictly between two published days.
export function describeSkipped(from, to) {
  const [a, b] = from < to ? [from, to] : [to, from];
  const first = shiftDate(a, 1);
  const last = shiftDate(b, -1);
  return first === last ? first : `${first} to ${last}`;
}
