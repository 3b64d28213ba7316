// The demo target's public surface: image builder and stack lifecycle.
export { ensureDemoImage, proxyAvailable, imageHasProxy, DEMO_REPO } from './image.ts';
export {
  demoUp,
  demoDown,
  proxyDefinitions,
  backendName,
  DEMO_LABEL,
  type DemoOptions,
  type DemoStack,
  type ProxyDefinition,
} from './stack.ts';
