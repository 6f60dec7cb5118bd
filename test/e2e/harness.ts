/**
 * End-to-end harness: the operator as a real process (`hubspot-operator run` from source via
 * tsx) against the Kubernetes API sandbox, the HubSpot API sandbox and PostgreSQL, all on
 * loopback. Collects every output line of every operator process for the secret scan.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '../../operator/src/kube/config.js';
import { KubeClient, type KubeObject, type ResourceType } from '../../operator/src/kube/client.js';
import { waitFor } from '../helpers/wait.js';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';

export const R = {
  namespace: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' },
  secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' },
  event: { group: '', version: 'v1', plural: 'events', kind: 'Event' },
  lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' },
  integration: { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'hubspotintegrations', kind: 'HubSpotIntegration' },
  fieldMapping: { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'fieldmappings', kind: 'FieldMapping' },
  syncFilter: { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'syncfilters', kind: 'SyncFilter' },
} satisfies Record<string, ResourceType>;

export function kubeClient(kubeconfig: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  return new KubeClient(kc);
}

/** A password in the database URL (trust auth ignores it) so the secret scan has one to look for. */
export function withPassword(url: string, password: string): string {
  const u = new URL(url);
  if (!u.password) {
    if (!u.username) u.username = 'postgres';
    u.password = password;
  }
  return u.toString();
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(3).toString('hex')}`;
}

export class OperatorProcess {
  readonly lines: string[] = [];
  readonly identity: string;
  private readonly proc: ChildProcess;
  private exited: Promise<number | null>;
  metricsUrl?: string;

  constructor(args: string[], identity: string) {
    this.identity = identity;
    this.proc = spawn(process.execPath, ['--import', 'tsx', 'operator/src/cli.ts', 'run', ...args], {
      cwd: process.cwd(),
      env: { ...process.env, LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.lines.push(line);
        const m = /"metrics":"(http:\/\/[^"]+)"/.exec(line);
        if (m) this.metricsUrl = m[1];
      }
    };
    this.proc.stdout!.on('data', collect);
    this.proc.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async started(): Promise<void> {
    await waitFor(() => this.metricsUrl, { timeoutMs: 30_000, what: `operator ${this.identity} to serve /metrics` });
  }

  logged(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l));
  }

  async metrics(): Promise<string> {
    const res = await fetch(this.metricsUrl!);
    return res.text();
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.alive) this.proc.kill(signal);
    return this.exited;
  }
}

export function startOperator(kubeconfigPath: string, identity: string, extra: string[] = []): OperatorProcess {
  return new OperatorProcess(
    ['--kubeconfig', kubeconfigPath, '--metrics-port', '0', '--webhook-port', '0', '--bind-address', '127.0.0.1', '--lease-namespace', 'default', '--lease-duration', '3s', ...extra],
    identity,
  );
}

export type Obj = KubeObject & { status?: Record<string, unknown> & { conditions?: { type: string; status: string; reason: string; message: string }[] } };

export function condition(o: Obj | undefined, type: string) {
  return o?.status?.conditions?.find((c) => c.type === type);
}
