export * from './auth.ts';
export * from './client.ts';
export * from './errors.ts';
export * from './retry.ts';
export * from './transport.ts';
export * from './workspaces.ts';
