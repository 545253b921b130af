/**
 * The renderer's FerryApi over a real backend in this process: what the stores see
 * through IPC or the WebSocket, minus the transport (events arrive in the order the
 * backend sends them, as both transports keep it). Every call is recorded.
 */
import type { Backend } from '../../engine/app/backend.js';
import type { CallArgs, CallName, CallResults, EventName, Events, FerryApi, Result } from '../../shared/common/contract.js';
import type { TransferView } from '../../shared/common/transfer-model.js';

export class BackendApi implements FerryApi {
  readonly platform = 'browser' as const;
  readonly calls: Array<{ name: CallName; args: unknown[] }> = [];

  constructor(private readonly backend: Backend) {}

  call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<Result<CallResults[N]>> {
    this.calls.push({ name, args: [...(args as unknown[])] });
    return this.backend.call(name, args) as Promise<Result<CallResults[N]>>;
  }

  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    return this.backend.on((name, payload) => {
      if ((name as EventName) === event) listener(payload as Events[E]);
    });
  }

  async uploadFiles(): Promise<Result<TransferView[]>> {
    return { ok: false, error: { code: 'EINVAL', message: 'tests upload OS paths with transfers:uploadPaths' } };
  }

  /** The calls made so far with this name. */
  made(name: CallName): Array<{ name: CallName; args: unknown[] }> {
    return this.calls.filter((c) => c.name === name);
  }
}
