// The one list of toxic types. A new toxic is one file plus one line here.
import type { AnyToxicType } from '../toxic.ts';
import { latency } from './latency.ts';
import { bandwidth } from './bandwidth.ts';
import { timeout } from './timeout.ts';
import { resetPeer } from './reset-peer.ts';
import { slowClose } from './slow-close.ts';
import { slicer } from './slicer.ts';
import { limitData } from './limit-data.ts';
import { noop } from './noop.ts';
import { httpDelay } from './http-delay.ts';
import { httpAbort } from './http-abort.ts';

export const toxicTypes: readonly AnyToxicType[] = [
  latency,
  bandwidth,
  timeout,
  resetPeer,
  slowClose,
  slicer,
  limitData,
  noop,
  httpDelay,
  httpAbort,
];

const byType = new Map(toxicTypes.map((t) => [t.type, t]));
export const toxicType = (type: string): AnyToxicType | undefined => byType.get(type);
