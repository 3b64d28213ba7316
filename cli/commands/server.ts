// faultline server start | stop: the embedded Temporal dev server (left running for the UI links).
import { InvalidInput } from '../../errors.ts';
import { temporalTarget } from '../../config.ts';
import { ensureTemporal, stopEmbeddedTemporal } from '../embedded.ts';
import type { Io } from '../io.ts';

export async function serverCommand(action: string, io: Io): Promise<number> {
  if (action === 'start') {
    const { started } = await ensureTemporal();
    io.out(
      started
        ? `started Temporal at ${temporalTarget().address}`
        : `Temporal already answers at ${temporalTarget().address}`,
    );
    return 0;
  }
  if (action === 'stop') {
    io.out(
      (await stopEmbeddedTemporal())
        ? 'stopped the embedded Temporal server'
        : 'no embedded Temporal server was started by faultline',
    );
    return 0;
  }
  throw new InvalidInput(`server takes "start" or "stop", not "${action}"`);
}
