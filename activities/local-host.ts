// The local Docker host, read from this process: for the CLI's paths that run without a worker (the dry
// run's selection, the in-process sweep), so cli/ reaches the Docker adapters only through activities/
// (lint: the cli/ block). A worker reads the same through the ports it was given (worker/worker.ts).
import type { ContainerInfo, ContainerPort } from '../faults/ports.ts';
import type { KernelPort } from '../faults/kernel-ports.ts';
import { createDockerContainerPort } from './adapters/docker.ts';
import { createDockerKernelPort } from './adapters/kernel.ts';
import { localHostName } from './adapters/warden-container.ts';

/** The local daemon's containers, each tagged with the local host's name. */
export async function localContainers(): Promise<{ host: string; containers: (ContainerInfo & { host: string })[] }> {
  const host = await localHostName();
  const containers = (await createDockerContainerPort().list()).map((c) => ({ ...c, host }));
  return { host, containers };
}

/** The local host's ports (its daemon, its kernel kinds) and its name, looked up on first use. */
export function localHost(): { containers: ContainerPort; kernel: KernelPort; name: () => Promise<string> } {
  return { containers: createDockerContainerPort(), kernel: createDockerKernelPort(), name: localHostName };
}
