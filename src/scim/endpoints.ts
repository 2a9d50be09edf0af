import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Sequelize, Transaction } from 'sequelize';
import { isUuid } from '../db/ids';
import { notFound } from './errors';
import { baseUrlOf, connectionOf, handler, notModified, sendScim } from './http';
import { queryParam } from './listParams';
import { etag, parseProjection, type Projection } from './presenter';
import type { JsonObject } from './resource';
import type { ResourceTypeDef } from './schemas';
import { answerPatch, changeLocked } from './writes';

/** A stored User or Group as the endpoints handle it. */
export interface Stored {
  id: string;
  version: number;
  connectionId: string;
}

/** How a resource type is read: by id (locked in a transaction for a change), with what a projection asks. */
export interface ReadOptions {
  tx?: Transaction;
  forUpdate?: boolean;
  projection?: Projection;
}

/**
 * What /Users and /Groups share (RFC 7644 §3): GET by id (304 for a current If-None-Match),
 * DELETE, and every change in one locked transaction checked against If-Match (writes.ts); the
 * answer with its ETag and Location, projected as the request asks. Each type adds its list,
 * create, replace and patch, and how it reads, erases and presents its resources.
 */
export abstract class ResourceEndpoints<R extends Stored> {
  protected abstract readonly list: RequestHandler;
  protected abstract readonly create: RequestHandler;
  protected abstract readonly replace: RequestHandler;
  protected abstract readonly patch: RequestHandler;

  constructor(
    protected readonly type: ResourceTypeDef,
    /** The attribute whose uniqueness a clash is about (`userName`, `displayName`). */
    protected readonly unique: string,
    private readonly common: { sequelize: Sequelize; localBaseUrl: string },
  ) {}

  /** The routes, under the connection's SCIM base. */
  router(): Router {
    return Router({ mergeParams: true })
      .get('/', this.list)
      .get('/:id', this.one)
      .post('/', this.create)
      .put('/:id', this.replace)
      .patch('/:id', this.patch)
      .delete('/:id', this.remove);
  }

  protected abstract read(connectionId: string, id: string, opts: ReadOptions): Promise<R | undefined>;
  protected abstract erase(connectionId: string, id: string, tx: Transaction): Promise<unknown>;
  protected abstract present(req: Request, list: R[], p: Projection): Promise<JsonObject[]>;

  readonly one = handler(async (req, res) => {
    const found = isUuid(req.params.id)
      ? await this.read(connectionOf(res).id, req.params.id, { projection: this.projectionOf(req) })
      : undefined;
    if (!found) throw notFound(this.type.id, req.params.id);
    if (notModified(req, etag(found.version))) {
      res.status(304).set('ETag', etag(found.version)).end();
      return;
    }
    await this.sendOne(req, res, 200, found);
  });

  readonly remove = handler(async (req, res) => {
    const { id: connectionId } = connectionOf(res);
    await this.change(connectionId, req, (current, tx) => this.erase(connectionId, current.id, tx));
    res.status(204).end();
  });

  /** Changes the resource the request names, locked (writes.ts changeLocked). */
  protected change<T>(connectionId: string, req: Request, fn: (current: R, tx: Transaction) => Promise<T>): Promise<T> {
    return changeLocked(
      {
        sequelize: this.common.sequelize,
        what: this.type.id,
        unique: this.unique,
        lock: (id, tx) => this.read(connectionId, id, { tx, forUpdate: true }),
      },
      req,
      fn,
    );
  }

  protected base(req: Request): string {
    return baseUrlOf(req, this.common.localBaseUrl);
  }

  protected projectionOf(req: Request): Projection {
    return parseProjection(this.type, queryParam(req, 'attributes'), queryParam(req, 'excludedAttributes'));
  }

  /** One resource as the answer, with its ETag and Location. */
  protected async sendOne(req: Request, res: Response, status: number, r: R): Promise<void> {
    const [body] = await this.present(req, [r], this.projectionOf(req));
    sendScim(res, status, body, { ETag: etag(r.version), Location: `${this.base(req)}${this.type.endpoint}/${r.id}` });
  }

  /** A PATCH's answer (the resource when asked for attributes, else 204). */
  protected answerPatch(req: Request, res: Response, r: R): Promise<void> {
    return answerPatch(req, res, r, (rq, rs, status, x) => this.sendOne(rq, rs, status, x));
  }
}
