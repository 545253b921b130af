/**
 * The transfers the UI shows, kept as a Map plus an order, updated from the engine's
 * batched events. A row's object changes only when the engine sent a change for it, so a
 * row component that selects its own view re-renders only then. (The totals come with
 * the events, computed by the engine.)
 */
import type { TransferChange, TransferId, TransferView } from '../../../shared/common/transfer-model.js';

export interface TransferTable {
  readonly byId: ReadonlyMap<TransferId, TransferView>;
  readonly order: readonly TransferId[];
}

export const EMPTY_TABLE: TransferTable = { byId: new Map(), order: [] };

export function tableOf(views: readonly TransferView[]): TransferTable {
  return applyTransferEvent(EMPTY_TABLE, { kind: 'added', transfers: views });
}

export function applyTransferEvent(table: TransferTable, event: TransferChange): TransferTable {
  if (event.kind === 'removed') {
    if (event.ids.length === 0) return table;
    const byId = new Map(table.byId);
    let any = false;
    for (const id of event.ids) any = byId.delete(id) || any;
    if (!any) return table;
    return { byId, order: table.order.filter((id) => byId.has(id)) };
  }
  if (event.transfers.length === 0) return table;
  const byId = new Map(table.byId);
  let order: TransferId[] | null = null;
  for (const view of event.transfers) {
    // An update for a row we never saw (we subscribed late) is added, not dropped.
    if (!byId.has(view.id)) (order ??= [...table.order]).push(view.id);
    byId.set(view.id, view);
  }
  return { byId, order: order ?? table.order };
}
