/**
 * The chaos test's record of intent: every write the driver made, per record and field, and the
 * value each field must end with. Pure (no I/O), so the rules can be read and checked alone.
 *
 * EXPECTED VALUE OF A FIELD (what "carries the last write made to it" means per rule)
 *
 * The driver's operations run one at a time, each awaited before the next starts, so the order
 * of the driver's writes is also their order in time on both clocks (table writes are stamped by
 * PostgreSQL's clock_timestamp() — the capture trigger's clock — and HubSpot writes by the
 * sandbox's updatedAt; the driver keeps them at least a few milliseconds apart). Values are
 * unique per write, so "side X shows value v" identifies the write unambiguously.
 *
 * - NewestWins: the value of the LAST write to the field, whichever side made it. Writes to
 *   other fields of the record do not count (DESIGN §3: per-field rules, zero lost updates).
 *
 * - HubSpotWins / TargetWins: the rule only decides a CONFLICT, i.e. a field written on both
 *   sides since the last sync of that field. The driver knows whether a write of one side has
 *   been synced by looking, right before it writes on the other side, at that side's current
 *   value (in the same transaction for the table; the read HubSpot needs anyway to find the
 *   record): if it already shows the other side's pending value, that write was synced and the
 *   new write is an ordinary later edit; otherwise both are pending and the rule will decide.
 *   Per field the model keeps the pending (not yet known synced) write of each side:
 *     - a write on side X when the other side Y has a pending write P:
 *         X shows P's value → P was synced; X's write becomes the only pending one;
 *         else → both pending (a conflict; X's earlier pending write, if any, is replaced).
 *       Exception, a conflict already outstanding and X is the LOSING side: if X shows the
 *       winner's value the operator has resolved it, and X's write is a new single pending one;
 *       otherwise X's write replaces X's pending one and the conflict stands.
 *     - a write on side X with nothing pending on Y: X's write is the only pending one.
 *   Expected: with both sides pending, the winner's pending value (HubSpot's for HubSpotWins,
 *   the table's for TargetWins); with one side pending, its value; else the last synced value.
 *   A write to the winning side needs no look: whether or not the operator resolved an earlier
 *   conflict, the newest winning-side write is what must end up on both sides.
 *
 * The one documented race (HubSpot has no conditional update: a HubSpot edit landing between
 * the operator's read of HubSpot and its write, milliseconds apart) can make the operator lose
 * a HubSpot write the model counts; the failure report prints the write times so such a case is
 * recognisable (a HubSpot write within a few ms of the operator's push).
 *
 * DELETES (Propagate both ways): a record the driver deleted on either side must be gone on
 * both sides, whatever was written to it before, on either side. The driver never writes to a
 * record after deleting it. An operation on a record not present on its side yet (e.g. a table
 * update of a HubSpot-created record the operator has not imported yet, or one down or suspended)
 * is skipped and recorded as skipped: the schedule of operations is a pure function of the seed,
 * their effects depend on timing.
 */

export type Side = 'hubspot' | 'table';
export type Rule = 'HubSpotWins' | 'TargetWins' | 'NewestWins';
export const RULES: readonly Rule[] = ['HubSpotWins', 'TargetWins', 'NewestWins'];

/** Mapped fields: HubSpot property → table column. email is the match key (never changed). */
export const FIELDS = [
  { property: 'firstname', column: 'first_name' },
  { property: 'lastname', column: 'last_name' },
  { property: 'company', column: 'company' },
  { property: 'jobtitle', column: 'job_title' },
  { property: 'city', column: 'city' },
] as const;
export type Property = (typeof FIELDS)[number]['property'];

export interface Write {
  seq: number;
  op: number;
  side: Side;
  value: string;
  /** Wall-clock ms of the write on its side (PostgreSQL clock_timestamp() / HubSpot updatedAt). */
  at: number;
}

export interface HistoryEntry {
  op: number;
  at: number;
  what: string;
}

interface FieldState {
  writes: Write[];
  pending: { hubspot?: Write; table?: Write };
  synced?: Write;
}

export interface RecordState {
  idx: number;
  email: string;
  createdOn?: Side;
  deleted?: { side: Side; op: number; at: number };
  fields: Record<Property, FieldState>;
  history: HistoryEntry[];
  /** IDs the record was seen with (HubSpot record IDs, table keys), for the report. */
  ids: { hubspot: Set<string>; table: Set<string> };
}

function winnerOf(rule: Rule): Side {
  return rule === 'TargetWins' ? 'table' : 'hubspot';
}
const other = (s: Side): Side => (s === 'hubspot' ? 'table' : 'hubspot');

export class Ledger {
  readonly rule: Rule;
  readonly records = new Map<number, RecordState>();
  /** Writes that found the other side's write to the field pending (not seen synced): conflicts exercised. */
  conflicts = 0;
  private seq = 0;

  constructor(rule: Rule) {
    this.rule = rule;
  }

  record(idx: number, email: string): RecordState {
    let r = this.records.get(idx);
    if (!r) {
      const fields = {} as Record<Property, FieldState>;
      for (const f of FIELDS) fields[f.property] = { writes: [], pending: {} };
      r = { idx, email, fields, history: [], ids: { hubspot: new Set(), table: new Set() } };
      this.records.set(idx, r);
    }
    return r;
  }

  note(r: RecordState, op: number, at: number, what: string): void {
    r.history.push({ op, at, what });
  }

  /**
   * A write of `values` on `side`. `current` holds what that side showed for each written field
   * right before the write (read in the same transaction for the table).
   */
  write(r: RecordState, op: number, side: Side, values: Partial<Record<Property, string>>, current: Partial<Record<Property, string | null>>, at: number): void {
    for (const [p, value] of Object.entries(values) as [Property, string][]) {
      const f = r.fields[p];
      const w: Write = { seq: ++this.seq, op, side, value, at };
      f.writes.push(w);
      const y = other(side);
      const py = f.pending[y];
      const cur = current[p] ?? null;
      if (py && f.pending[side]) {
        const win = winnerOf(this.rule);
        if (side !== win && cur === f.pending[win]!.value) {
          // The operator resolved the conflict (the loser shows the winner's value).
          f.synced = f.pending[win];
          f.pending = { [side]: w };
        } else {
          f.pending[side] = w;
        }
      } else if (py) {
        if (cur === py.value) {
          f.synced = py;
          f.pending = { [side]: w };
        } else {
          f.pending[side] = w;
          this.conflicts++;
        }
      } else {
        f.pending = { [side]: w };
      }
    }
  }

  /** The value the field must end with, and why (for the report). */
  expected(r: RecordState, p: Property): { value: string | null; why: string } {
    const f = r.fields[p];
    if (f.writes.length === 0) return { value: null, why: 'never written' };
    if (this.rule === 'NewestWins') {
      const last = f.writes[f.writes.length - 1]!;
      return { value: last.value, why: `NewestWins: last write, op ${last.op} on ${last.side}` };
    }
    const { hubspot, table } = f.pending;
    if (hubspot && table) {
      const w = f.pending[winnerOf(this.rule)]!;
      return { value: w.value, why: `${this.rule}: conflict between op ${table.op} (table) and op ${hubspot.op} (HubSpot), neither seen synced before the other → op ${w.op} on ${w.side}` };
    }
    const one = hubspot ?? table;
    if (one) return { value: one.value, why: `only ${one.side} changed since the last known sync: op ${one.op}` };
    return { value: f.synced!.value, why: `last synced write, op ${f.synced!.op}` };
  }
}
