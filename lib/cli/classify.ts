import type { Command } from './main.ts';
export const classifyCommand: Command = async (_args, io) => { io.stdout.write('todo\n'); return 0; };
