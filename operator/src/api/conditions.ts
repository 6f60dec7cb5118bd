/**
 * Condition helpers following the Kubernetes API conventions (DESIGN §2.4): one entry per type,
 * lastTransitionTime moves only when status changes, and equality that lets the status writer
 * skip writes that would change nothing. Pure: inputs are never mutated, time is passed in.
 */
import type { Condition } from './types.js';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** RFC 3339 with second precision, the form the apiserver stores metav1.Time in. */
export function formatTime(time: Date | string): string {
  const date = typeof time === 'string' ? new Date(time) : time;
  if (Number.isNaN(date.getTime())) throw new Error(`invalid time: ${String(time)}`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * Returns a new list with `input` set. An existing condition of that type keeps its
 * lastTransitionTime (and position) when its status is unchanged; otherwise `now` is used.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date | string = new Date(),
): Condition[] {
  const list = conditions ?? [];
  const existing = findCondition(list, input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
    lastTransitionTime:
      existing && existing.status === input.status && existing.lastTransitionTime
        ? existing.lastTransitionTime
        : formatTime(now),
  };
  if (!existing) return [...list, next];
  return list.map((c) => (c.type === input.type ? next : { ...c }));
}

/** Returns a new list without the condition of `type` (for the conditions present only while True). */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type).map((c) => ({ ...c }));
}

/**
 * True when both lists hold the same conditions with the same fields, in any order. Every
 * field counts (a changed message or observedGeneration is a change users should see).
 */
export function conditionsEqual(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  return left.every((x) => {
    const y = findCondition(right, x.type);
    return (
      y !== undefined &&
      x.status === y.status &&
      x.reason === y.reason &&
      x.message === y.message &&
      x.observedGeneration === y.observedGeneration &&
      x.lastTransitionTime === y.lastTransitionTime
    );
  });
}
