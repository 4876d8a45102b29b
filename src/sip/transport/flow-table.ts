/**
 * The connections of one connection-oriented transport, found by flow id and by address.
 *
 * @remarks
 * RFC 3261 §18.2.2: a response goes back on the connection its request came on. RFC 5923 and
 * RFC 7118 §5: a request to a peer that connected to us reuses that connection, found by the
 * peer's address or by an alias such as its Via sent-by (a WebSocket client cannot be reached in
 * any other way). An address names at most one connection; the latest one given that name wins,
 * and a closed connection takes its names with it.
 */

import { addressKey, type FlowId, type TransportAddress } from './transport.js';

/**
 * Connections by flow id and by address key.
 *
 * @typeParam C - the connection type
 */
export class FlowTable<C> {
  readonly #prefix: string;
  readonly #byId = new Map<FlowId, C>();
  readonly #byAddress = new Map<string, C>();
  readonly #names = new Map<FlowId, string[]>();
  #next = 0;

  /** @param prefix - starts every flow id (`'tcp'` → `'tcp-1'`, `'tcp-2'`, …) */
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Open connections. */
  get size(): number {
    return this.#byId.size;
  }

  /** Adds a connection reachable at `remote` and returns its new flow id. */
  add(connection: C, remote: TransportAddress): FlowId {
    const id = `${this.#prefix}-${++this.#next}`;
    this.#byId.set(id, connection);
    this.#names.set(id, []);
    this.alias(id, remote);
    return id;
  }

  /** The connection of a flow, if it is still in the table. */
  get(id: FlowId): C | undefined {
    return this.#byId.get(id);
  }

  /** The connection reachable at `host:port`, by its remote address or an alias. */
  find(host: string, port: number): C | undefined {
    return this.#byAddress.get(addressKey(host, port));
  }

  /** Makes `address` a name of flow `id`; does nothing when the flow is gone. */
  alias(id: FlowId, address: TransportAddress): void {
    const connection = this.#byId.get(id);
    const names = this.#names.get(id);
    if (connection === undefined || names === undefined) return;
    const key = addressKey(address.host, address.port);
    this.#byAddress.set(key, connection);
    if (!names.includes(key)) names.push(key);
  }

  /** Removes a flow and every name that still points at it. */
  remove(id: FlowId): void {
    const connection = this.#byId.get(id);
    if (connection === undefined) return;
    for (const key of this.#names.get(id) ?? []) {
      if (this.#byAddress.get(key) === connection) this.#byAddress.delete(key);
    }
    this.#byId.delete(id);
    this.#names.delete(id);
  }

  /** Every connection, for closing them all. */
  values(): C[] {
    return [...this.#byId.values()];
  }
}
