/**
 * Last line of defence for secrets: the controller registers every credential value it reads
 * from a Secret, and every log line, Event message and status message passes through `scrub`,
 * which replaces known values (and anything that looks like a bearer token or a URL password)
 * with "[REDACTED]". Structured redaction (pino `redact`) handles known field names; this
 * handles secrets that slipped into free text, e.g. an error message quoting a connection URL.
 */
const MIN_SECRET_LENGTH = 4;
const REDACTED = '[REDACTED]';

export class SecretScrubber {
  private readonly values = new Set<string>();
  private pattern?: RegExp;

  /** Remembers a secret value (and its URL-decoded/encoded forms) so it is never printed. */
  register(value: string | undefined): void {
    if (!value || value.length < MIN_SECRET_LENGTH) return;
    const forms = new Set([value, encodeURIComponent(value)]);
    try {
      forms.add(decodeURIComponent(value));
    } catch {
      /* not URI-encoded */
    }
    // A connection URL's password is a secret on its own.
    const password = urlPassword(value);
    if (password) {
      forms.add(password);
      try {
        forms.add(decodeURIComponent(password));
      } catch {
        /* keep the raw form */
      }
    }
    let changed = false;
    for (const f of forms) {
      if (f.length >= MIN_SECRET_LENGTH && !this.values.has(f)) {
        this.values.add(f);
        changed = true;
      }
    }
    if (changed) this.pattern = undefined;
  }

  scrub(text: string): string {
    if (!text) return text;
    let out = text
      .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]{4,}/gi, `$1${REDACTED}`)
      .replace(/((?:postgres(?:ql)?|mysql|https?):\/\/[^:/@\s]+:)[^@\s]+@/gi, `$1${REDACTED}@`);
    if (this.values.size === 0) return out;
    this.pattern ??= new RegExp([...this.values].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
    out = out.replace(this.pattern, REDACTED);
    return out;
  }
}

function urlPassword(value: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@\s]+)@/i.exec(value);
  return m?.[1];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The process-wide scrubber used by the logger, the Event recorder and the status writer. */
export const secretScrubber = new SecretScrubber();
