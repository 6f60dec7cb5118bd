/**
 * The HTTP face of the sandbox: routes kube-apiserver's URL layout (core and named groups,
 * namespaced and cluster paths, subresources, legacy /watch/), authenticates and authorizes
 * each request, negotiates JSON / YAML / Table answers, and streams watches.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KubeApi, type PatchType, type Target, type WriteOptions, type FieldValidation } from './api.js';
import { Authenticator, forbiddenError, RbacAuthorizer, type Attributes, type UserInfo } from './auth.js';
import { AGGREGATED_CONTENT_TYPE, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from './discovery.js';
import { ApiError, applyNeedsFieldManager, badRequest, methodNotAllowed, serverNotFound, unauthorized, unsupportedMediaType } from './errors.js';
import { decodeAs, decodeObject, MAX_BODY_BYTES, mediaType, negotiate, readBody, send, sendError, type Negotiated } from './http.js';
import { openApiDocument, openApiIndex } from './openapi.js';
import { OPENAPI_V2_PROTOBUF, openApiV2Document, openApiV2Format, openApiV2Protobuf } from './openapi-v2.js';
import { includeObject, toTable } from './table.js';
import { serveWatch, type ActiveWatch } from './watch.js';
import type { Json, KubeObject, ResourceType } from './types.js';

export interface ServerConfig {
  authorization: 'AlwaysAllow' | 'RBAC';
  bookmarkIntervalMs: number;
  maxBodyBytes: number;
  historyLimit?: number;
  /** Called with unexpected (500) errors; they are also answered as InternalError Status. */
  onInternalError?: (err: unknown) => void;
}

/** SelfSubjectReview (`kubectl auth whoami`): who the request authenticated as. */
function selfSubjectReview(user: UserInfo): unknown {
  return { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, status: { userInfo: { username: user.username, groups: user.groups } } };
}

export const KUBE_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-hubspot-operator-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23',
  compiler: 'gc',
  platform: 'linux/amd64',
};

interface ResourceRequest extends Target {
  verb: string;
  watchPath: boolean;
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

const truthy = (v: string | null): boolean => v === 'true' || v === '1';

export class KubeServer {
  readonly api: KubeApi;
  readonly authn = new Authenticator();
  private readonly rbac: RbacAuthorizer;
  private readonly config: ServerConfig;
  private readonly watches = new Set<ActiveWatch>();
  serverAddress = '127.0.0.1:0';

  constructor(config: ServerConfig) {
    this.config = config;
    this.api = new KubeApi(config.historyLimit);
    this.rbac = new RbacAuthorizer(this.api.store);
    // Like kube-apiserver, end the watches of a resource whose CRD was deleted (after its DELETED events).
    this.api.onResourceRemoved = (storeKey) => {
      for (const w of [...this.watches]) if (w.storeKey === storeKey) w.stop();
    };
  }

  /** Ends every open watch stream (clients see the connection close and must re-watch). */
  dropWatches(): void {
    for (const w of [...this.watches]) w.stop();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  authorize(a: Attributes): boolean {
    return this.config.authorization === 'AlwaysAllow' || this.rbac.authorize(a).allowed;
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.route(req, res).catch((err: unknown) => {
      if (err instanceof ApiError) {
        sendError(res, err);
      } else {
        this.config.onInternalError?.(err);
        sendError(res, new ApiError(500, 'InternalError', `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
  };

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const method = (req.method ?? 'GET').toUpperCase();
    const user = this.authn.authenticate(req.headers.authorization);
    if (!user) {
      req.resume();
      throw unauthorized();
    }
    let parts: string[];
    try {
      parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      req.resume();
      throw badRequest(`the request path is not valid percent-encoding: ${url.pathname}`);
    }
    const isResourcePath = (parts[0] === 'api' && parts.length > 2) || (parts[0] === 'apis' && parts.length > 3);
    if (!isResourcePath) {
      req.resume();
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed();
      if (!this.authorize({ user, verb: 'get', path: url.pathname })) throw forbiddenError({ user, verb: 'get', path: url.pathname });
      if ((parts.join('/') === 'api' || parts.join('/') === 'apis') && wantsAggregated(req.headers.accept)) {
        const text = JSON.stringify(aggregatedDiscovery(this.api.registry, parts[0] === 'api'));
        res.writeHead(200, { 'Content-Type': AGGREGATED_CONTENT_TYPE, 'Content-Length': String(Buffer.byteLength(text)), 'Cache-Control': 'no-cache, private' });
        res.end(text);
        return;
      }
      if (parts.join('/') === 'openapi/v2') {
        // kubectl asks for protobuf (client-side validation, e.g. `apply -f` of a kind: List).
        const format = openApiV2Format(req.headers.accept);
        if (!format) {
          res.writeHead(406, { Vary: 'Accept' });
          res.end();
          return;
        }
        const doc = openApiV2Document(this.api.registry);
        const bytes = format === 'protobuf' ? openApiV2Protobuf(doc) : Buffer.from(JSON.stringify(doc));
        res.writeHead(200, { 'Content-Type': format === 'protobuf' ? OPENAPI_V2_PROTOBUF : 'application/json', 'Content-Length': String(bytes.length), Vary: 'Accept' });
        res.end(bytes);
        return;
      }
      const neg = negotiate(req.headers.accept);
      const body = this.nonResource(parts);
      if (typeof body === 'string') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(body);
        return;
      }
      send(res, 200, body, { yaml: neg.yaml });
      return;
    }
    const [group, version, rest] = parts[0] === 'api' ? ['', parts[1], parts.slice(2)] : [parts[1], parts[2], parts.slice(3)];
    const rr = this.parseResourcePath(method, group, version, rest, url.searchParams);
    const attrs: Attributes = {
      user,
      verb: rr.verb,
      resource: { group, resource: rr.rt.plural, subresource: rr.subresource, namespace: rr.namespace, name: rr.name },
    };
    if (!this.authorize(attrs)) {
      req.resume();
      throw forbiddenError(attrs);
    }
    await this.resource(req, res, rr, url.searchParams, user);
  }

  private nonResource(parts: string[]): Json | string {
    const p = parts.join('/');
    if (p === 'healthz' || p === 'livez' || p === 'readyz' || /^(healthz|livez|readyz)\//.test(p)) return 'ok';
    if (p === 'version') return KUBE_VERSION;
    if (p === 'api') return apiVersions(this.serverAddress);
    if (p === 'api/v1') return apiResourceList(this.api.registry, '', 'v1');
    if (p === 'apis') return apiGroupList(this.api.registry);
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = apiGroup(this.api.registry, parts[1]);
      if (g) return g;
    }
    if (parts[0] === 'apis' && parts.length === 3 && this.api.registry.hasGroupVersion(parts[1], parts[2])) {
      return apiResourceList(this.api.registry, parts[1], parts[2]);
    }
    if (p === 'openapi/v3') return openApiIndex(this.api.registry);
    if (parts[0] === 'openapi' && parts[1] === 'v3') {
      if (parts[2] === 'api' && parts[3] === 'v1' && parts.length === 4) return openApiDocument(this.api.registry, '', 'v1');
      if (parts[2] === 'apis' && parts.length === 5 && this.api.registry.hasGroupVersion(parts[3], parts[4])) {
        return openApiDocument(this.api.registry, parts[3], parts[4]);
      }
    }
    throw serverNotFound();
  }

  private parseResourcePath(method: string, group: string, version: string, rest: string[], query: URLSearchParams): ResourceRequest {
    let segs = rest;
    let watchPath = false;
    if (segs[0] === 'watch') {
      watchPath = true;
      segs = segs.slice(1);
    }
    let namespace: string | undefined;
    if (segs[0] === 'namespaces' && segs.length >= 3 && !(segs.length === 3 && (segs[2] === 'status' || segs[2] === 'finalize'))) {
      namespace = segs[1];
      segs = segs.slice(2);
    }
    if (segs.length === 0 || segs.length > 3) throw serverNotFound();
    const [plural, name, subresource] = segs;
    const rt = this.api.registry.lookup(group, version, plural);
    if (!rt) throw serverNotFound();
    if (namespace !== undefined && !rt.namespaced) throw serverNotFound();
    if (name !== undefined && rt.namespaced && namespace === undefined) throw serverNotFound();
    const action = rt.extraSubresources?.find((x) => x.name === subresource);
    if (subresource !== undefined && !(subresource === 'status' && rt.statusSubresource) && !(subresource === 'finalize' && rt.plural === 'namespaces') && !action) {
      throw serverNotFound();
    }
    const isWatch = watchPath || truthy(query.get('watch'));
    let verb: string;
    switch (method) {
      case 'GET':
      case 'HEAD':
        verb = isWatch ? 'watch' : name !== undefined ? 'get' : 'list';
        break;
      case 'POST':
        if (name !== undefined && !action?.verbs.includes('create')) throw methodNotAllowed();
        verb = 'create';
        break;
      case 'PUT':
        if (name === undefined) throw methodNotAllowed();
        verb = 'update';
        break;
      case 'PATCH':
        if (name === undefined) throw methodNotAllowed();
        verb = 'patch';
        break;
      case 'DELETE':
        verb = name !== undefined ? 'delete' : 'deletecollection';
        break;
      default:
        throw methodNotAllowed();
    }
    if (action ? !action.verbs.includes(verb) : !rt.verbs.includes(verb) && !(subresource && ['get', 'update', 'patch'].includes(verb))) throw methodNotAllowed();
    return { rt, namespace, name, subresource, verb, watchPath };
  }

  private writeOptions(query: URLSearchParams, req?: IncomingMessage): WriteOptions {
    const dry = query.getAll('dryRun');
    for (const d of dry) if (d !== 'All' && d !== '') throw badRequest(`Invalid dry run value: ${d}: supported values are "All"`);
    const fv = query.get('fieldValidation');
    if (fv && !['Strict', 'Warn', 'Ignore'].includes(fv)) {
      throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${fv}"`);
    }
    // kube-apiserver names an unnamed field manager after the client's user agent ("kubectl/v1.32 ..." → "kubectl").
    const agent = String(req?.headers['user-agent'] ?? '').split('/')[0].trim();
    const fieldManager = query.get('fieldManager') || agent || 'unknown';
    if (fieldManager.length > 128) throw badRequest('fieldManager must not be longer than 128 characters');
    return { dryRun: dry.includes('All'), fieldValidation: (fv as FieldValidation | null) ?? 'Warn', fieldManager, force: truthy(query.get('force')) };
  }

  private async resource(req: IncomingMessage, res: ServerResponse, rr: ResourceRequest, query: URLSearchParams, user: UserInfo): Promise<void> {
    const rt = rr.rt;
    switch (rr.verb) {
      case 'get':
      case 'list':
      case 'watch': {
        req.resume();
        const neg = negotiate(req.headers.accept);
        if (rr.verb === 'watch') {
          return serveWatch(
            { api: this.api, bookmarkIntervalMs: this.config.bookmarkIntervalMs, watches: this.watches },
            res,
            { rt, namespace: rr.namespace, name: rr.name, query, table: neg.table },
          );
        }
        if (rr.verb === 'get') {
          const obj = this.api.get(rr);
          return send(res, 200, neg.table ? toTable(rt, [obj], undefined, includeObject(query)) : this.asPartial(neg, obj), { yaml: neg.yaml });
        }
        const list = this.api.list(rr, query);
        const listMeta = { resourceVersion: list.resourceVersion, continue: list.continue, remainingItemCount: list.remainingItemCount };
        if (neg.table) return send(res, 200, toTable(rt, list.items, listMeta, includeObject(query)));
        return send(res, 200, this.listBody(rt, list.items, listMeta, neg), { yaml: neg.yaml });
      }
      case 'create': {
        const neg = negotiate(req.headers.accept);
        const body = decodeObject(await readBody(req, this.config.maxBodyBytes), req.headers['content-type']);
        if (rt.plural === 'selfsubjectrulesreviews') return send(res, 201, this.rulesReview(body, user));
        if (rt.group === 'authorization.k8s.io') return send(res, 201, this.accessReview(rt, body, user));
        if (rt.group === 'authentication.k8s.io') return send(res, 201, selfSubjectReview(user));
        if (rr.subresource === 'token') return send(res, 201, this.tokenRequest(rr, body));
        const r = this.api.create(rr, body, this.writeOptions(query, req));
        return send(res, r.code, r.object, { yaml: neg.yaml, warnings: r.warnings });
      }
      case 'update': {
        const neg = negotiate(req.headers.accept);
        const body = decodeObject(await readBody(req, this.config.maxBodyBytes), req.headers['content-type']);
        const r = this.api.update(rr, body, this.writeOptions(query, req));
        return send(res, r.code, r.object, { yaml: neg.yaml, warnings: r.warnings });
      }
      case 'patch': {
        const neg = negotiate(req.headers.accept);
        const type = PATCH_TYPES[mediaType(req.headers['content-type'])];
        const buf = await readBody(req, this.config.maxBodyBytes);
        if (!type) throw unsupportedMediaType(mediaType(req.headers['content-type']), Object.keys(PATCH_TYPES));
        if (type === 'apply' && !query.get('fieldManager')) throw applyNeedsFieldManager();
        const patch = decodeAs(buf, type === 'apply' ? 'yaml' : 'json');
        const r = this.api.patch(rr, type, patch, this.writeOptions(query, req));
        return send(res, r.code, r.object, { yaml: neg.yaml, warnings: r.warnings });
      }
      case 'delete':
      case 'deletecollection': {
        const buf = await readBody(req, this.config.maxBodyBytes);
        let options: Record<string, unknown> = {};
        if (buf.length && buf.toString('utf8').trim()) {
          const type = mediaType(req.headers['content-type']);
          // Typed clients (helm, kubectl) may send DeleteOptions as protobuf.
          const decoded = type === 'application/vnd.kubernetes.protobuf' ? decodeObject(buf, type) : decodeAs(buf, type === 'application/yaml' ? 'yaml' : 'json');
          if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) throw badRequest('DeleteOptions must be a JSON object');
          options = decoded as Record<string, unknown>;
        }
        const opts = this.writeOptions(query, req);
        if (Array.isArray(options.dryRun) && options.dryRun.includes('All')) opts.dryRun = true;
        const policy = query.get('propagationPolicy') ?? options.propagationPolicy;
        if (policy !== undefined && policy !== null && !['Orphan', 'Background', 'Foreground'].includes(String(policy))) {
          throw badRequest(`DeleteOptions.propagationPolicy: Unsupported value: "${String(policy)}": supported values: "Foreground", "Background", "Orphan"`);
        }
        if (rr.verb === 'delete') {
          const r = this.api.delete(rr, options, opts);
          return send(res, r.code, r.object);
        }
        const list = this.api.deleteCollection(rr, query, options, opts);
        return send(res, 200, this.listBody(rt, list.items, { resourceVersion: list.resourceVersion }, { table: false, yaml: false, partialMetadata: false }));
      }
    }
  }

  private asPartial(neg: Negotiated, obj: KubeObject): unknown {
    if (!neg.partialMetadata) return obj;
    return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
  }

  private listBody(rt: ResourceType, items: KubeObject[], meta: { resourceVersion: string; continue?: string; remainingItemCount?: number }, neg: Negotiated): unknown {
    const metadata: Record<string, unknown> = { resourceVersion: meta.resourceVersion };
    if (meta.continue) metadata.continue = meta.continue;
    if (meta.remainingItemCount !== undefined) metadata.remainingItemCount = meta.remainingItemCount;
    if (neg.partialMetadata) {
      return {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata,
        items: items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata })),
      };
    }
    return { apiVersion: rt.group ? `${rt.group}/${rt.version}` : rt.version, kind: rt.listKind, metadata, items };
  }

  /** TokenRequest (`kubectl create token <sa>`): a bearer token for the ServiceAccount, expiring like kube's. */
  private tokenRequest(rr: ResourceRequest, body: unknown): unknown {
    const sa = this.api.get(rr); // 404 when the ServiceAccount does not exist
    const spec = ((body ?? {}) as { spec?: { expirationSeconds?: number; audiences?: string[] } }).spec ?? {};
    const seconds = spec.expirationSeconds ?? 3600;
    if (!Number.isInteger(seconds) || seconds < 600) {
      throw badRequest(`spec.expirationSeconds: Invalid value: ${JSON.stringify(seconds)}: may not specify a duration less than 10 minutes`);
    }
    const expiresAt = Date.now() + seconds * 1000;
    const token = this.authn.issueServiceAccountToken(sa.metadata.namespace ?? '', sa.metadata.name ?? '', expiresAt);
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: sa.metadata.name, namespace: sa.metadata.namespace, creationTimestamp: null },
      spec: { audiences: spec.audiences ?? ['https://kubernetes.default.svc'], expirationSeconds: seconds, boundObjectRef: null },
      status: { token, expirationTimestamp: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    };
  }

  /** SelfSubjectRulesReview: the rules the caller has in a namespace (everything, without RBAC). */
  private rulesReview(body: unknown, user: UserInfo): unknown {
    const namespace = ((body ?? {}) as { spec?: { namespace?: string } }).spec?.namespace ?? '';
    const rules =
      this.config.authorization === 'AlwaysAllow' ? [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }] : this.rbac.rulesFor(user, namespace);
    const resourceRules = rules.filter((r) => r.resources).map((r) => ({ verbs: r.verbs ?? [], apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}) }));
    const nonResourceRules = rules.filter((r) => r.nonResourceURLs).map((r) => ({ verbs: r.verbs ?? [], nonResourceURLs: r.nonResourceURLs ?? [] }));
    return { kind: 'SelfSubjectRulesReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec: { namespace }, status: { resourceRules, nonResourceRules, incomplete: false } };
  }

  /** SelfSubjectAccessReview / SubjectAccessReview: `kubectl auth can-i` against the same authorizer. */
  private accessReview(rt: ResourceType, body: unknown, user: UserInfo): unknown {
    const review = (body ?? {}) as { spec?: { resourceAttributes?: Record<string, string>; nonResourceAttributes?: Record<string, string>; user?: string; groups?: string[] } };
    const spec = review.spec ?? {};
    const subject: UserInfo = rt.plural === 'subjectaccessreviews' ? { username: spec.user ?? '', groups: spec.groups ?? [] } : user;
    const ra = spec.resourceAttributes;
    const na = spec.nonResourceAttributes;
    let attrs: Attributes;
    if (ra) {
      attrs = {
        user: subject,
        verb: ra.verb ?? '',
        resource: { group: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource || undefined, namespace: ra.namespace || undefined, name: ra.name || undefined },
      };
    } else if (na) {
      attrs = { user: subject, verb: na.verb ?? '', path: na.path ?? '' };
    } else {
      throw badRequest('spec.resourceAttributes or spec.nonResourceAttributes is required');
    }
    const allowed = this.authorize(attrs);
    return { apiVersion: 'authorization.k8s.io/v1', kind: rt.kind, metadata: { creationTimestamp: null }, spec, status: { allowed, ...(allowed ? {} : { reason: '' }) } };
  }
}

export { MAX_BODY_BYTES };
