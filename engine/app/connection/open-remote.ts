/**
 * The one place the app chooses a transport: a connect's protocol makes a RemoteSession
 * (Ferry's protocol, engine/wire/) or an SftpRemote (engine/sftp/). Everything after it
 * (queue, console, reconnects) knows only the Remote.
 */
import type { ConnectInput } from '../../../shared/common/contract.js';
import type { ScramClientKeys } from '../../../shared/node/scram.js';
import type { Remote } from '../../remote/remote.js';
import { SftpRemote } from '../../sftp/sftp-remote.js';
import { RemoteSession } from '../../wire/session.js';
import type { SshSetup } from '../backend-types.js';
import type { Login } from './credentials.js';

export interface OpenRequest {
  readonly input: ConnectInput;
  readonly login: Login;
  /** Called with each key the server presents, before any credential is sent; throws to refuse. */
  readonly verifyHostKey: (fingerprint: string) => Promise<void>;
  readonly dataConnections: number;
  readonly connectTimeoutMs: number | undefined;
  readonly ssh: SshSetup | undefined;
}

export interface Opened {
  readonly remote: Remote;
  /** Ferry's SCRAM keys of this login (what "remember" keeps); none over SFTP. */
  readonly keys: ScramClientKeys | undefined;
}

export async function openRemote(request: OpenRequest): Promise<Opened> {
  const { input, login, verifyHostKey, dataConnections, connectTimeoutMs, ssh } = request;
  const timeout = connectTimeoutMs !== undefined ? { connectTimeoutMs } : {};
  if (login.protocol === 'sftp') {
    // The agent checkbox: off, on (the configured socket, else SSH_AUTH_SOCK).
    const agent = input.agent === false ? false : (ssh?.agentSocket ?? true);
    const remote = await SftpRemote.connect({
      host: input.host,
      port: input.port,
      user: input.user,
      ...(input.identityFile !== undefined ? { identityFile: input.identityFile } : {}),
      ...(login.password !== undefined ? { password: login.password } : {}),
      ...(login.passphrase !== undefined ? { passphrase: login.passphrase } : {}),
      agent,
      ...(ssh?.home !== undefined ? { home: ssh.home } : {}),
      dataConnections,
      ...timeout,
      // The gate keeps the form's host:port spelling for Ferry's known_hosts, as for Ferry.
      verifyHostKey: (fingerprint) => verifyHostKey(fingerprint),
    });
    return { remote, keys: undefined };
  }
  const session = await RemoteSession.connect({
    host: input.host,
    port: input.port,
    plain: input.plain ?? false,
    insecurePlainOnNetwork: input.insecurePlainOnNetwork ?? false,
    user: input.user,
    credential: login.credential,
    dataConnections,
    ...timeout,
    verifyHostKey,
  });
  return { remote: session, keys: session.keys };
}
