/**
 * zod as the functions use it: the mini API — functions instead of methods (`z.optional(z.string())`),
 * so that a bundle carries only what it calls, about 40 KB of each Lambda bundle where the classic API
 * costs about 95 KB whatever is used — with the English messages. Classic zod loads them by itself;
 * mini does not, and would answer a bare "Invalid input" where every 4xx must name the problem
 * ("expected string, received number").
 *
 * Import it as `import * as z from '../core/zod.ts'`, never `zod` or `zod/mini` directly (biome.json).
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
