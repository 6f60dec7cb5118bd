/** ObjectMeta rules kube-apiserver enforces on every write: names, labels, generated names, timestamps. */
import { randomBytes } from 'node:crypto';
import { fieldErrors, type FieldError } from './errors.js';
import type { ObjectMeta } from './types.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export type NameRule = 'subdomain' | 'label' | 'path-segment';

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function generateName(prefix: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(5);
  let suffix = '';
  for (const b of bytes) suffix += alphabet[b % alphabet.length];
  return prefix + suffix;
}

export function validateName(name: string, rule: NameRule): string | undefined {
  if (rule === 'path-segment') {
    if (name === '.' || name === '..') return `may not be '${name}'`;
    if (/[/%]/.test(name)) return "may not contain '/' or '%'";
    return undefined;
  }
  if (rule === 'label') {
    if (name.length > 63) return 'must be no more than 63 characters';
    if (!DNS_LABEL.test(name)) {
      return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    }
    return undefined;
  }
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!DNS_SUBDOMAIN.test(name)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return undefined;
}

export function validateMeta(meta: ObjectMeta, rule: NameRule): FieldError[] {
  const errors: FieldError[] = [];
  const name = meta.name ?? '';
  const problem = validateName(name, rule);
  if (problem) errors.push(fieldErrors.invalid('metadata.name', name, problem));
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    if (!QUALIFIED_NAME.test(key) || key.split('/').pop()!.length > 63) {
      errors.push(fieldErrors.invalid('metadata.labels', key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
    }
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      errors.push(fieldErrors.invalid(`metadata.labels`, value, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
    }
  }
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    if (!QUALIFIED_NAME.test(key)) errors.push(fieldErrors.invalid('metadata.annotations', key, 'name part must consist of alphanumeric characters'));
    if (typeof value !== 'string') errors.push(fieldErrors.invalid(`metadata.annotations[${key}]`, value, 'must be a string'));
  }
  const annotationBytes = Object.entries(meta.annotations ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)), 0);
  if (annotationBytes > 262144) errors.push(fieldErrors.tooLong('metadata.annotations', 262144));
  if (meta.finalizers !== undefined && !Array.isArray(meta.finalizers)) errors.push(fieldErrors.invalid('metadata.finalizers', meta.finalizers, 'must be a list of strings'));
  return errors;
}
