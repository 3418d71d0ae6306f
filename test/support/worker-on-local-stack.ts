// Moved to infra/local-stack (the demo uses it too); kept while in-flight work still imports it here.
export * from '../../infra/local-stack/worker-on-local-stack.ts';
